"""The page for the IT person, written into the export folder as README.md: what each file
is, how to apply it, what to watch, and how to roll back."""
from __future__ import annotations

import time
from urllib.parse import quote

from ...server.contract import SERVER_PORT
from .manifests import CPU_LIMIT, JOURNAL_DIR, MEMORY_HEADROOM, MEMORY_LIMIT, PLANNED_RATE, SCALE_AT, Spec


def page(to: str, spec: Spec, files: list[str], image_note: str) -> str:
    """The README.md; ``files`` are the names written beside it (an archive's first)."""
    f = spec.footprint
    lines = [f"# {spec.model}, version {spec.version}: how to run it on {_where(to)}", "",
             f"Made by DeskML on {time.strftime('%Y-%m-%d %H:%M')}. The image is the one DeskML tested and runs on "
             f"its own computer: `{spec.image}` (model file SHA-256 `{spec.sha256}`).", "",
             image_note, "", "## The files", ""]
    lines += [f"- `{name}`: {_what(name, spec)}" for name in files] + ["- `README.md`: this page.", ""]
    lines += _apply(to, spec, files) + [""]
    if to != "image-tar":
        lines += ["## Sizes", "",
                  f"{f.how[0].upper() + f.how[1:]}.", "",
                  f"- Memory: request {f.memory_request()} MiB ({MEMORY_HEADROOM}× the memory at rest), limit "
                  f"{f.memory_limit()} MiB ({MEMORY_LIMIT}×: a large batch or CSV briefly holds more).",
                  f"- CPU: request {f.cpu_request()}m (enough for about {PLANNED_RATE} predictions a second), limit "
                  f"{CPU_LIMIT} CPU (the service predicts on one thread).",
                  f"- Replicas: {spec.replicas}" + (f"; the autoscaler adds more when CPU use passes {SCALE_AT}% of the "
                                                    "request." if to in ("kubernetes", "kserve") else "."), ""]
    lines += _watch(to, spec) + [""] + _rollback(to, spec)
    return "\n".join(lines) + "\n"


def _where(to: str) -> str:
    return {"kubernetes": "Kubernetes", "kserve": "KServe", "compose": "Docker Compose", "swarm": "Docker Swarm",
            "image-tar": "a machine without a registry"}[to]


def _what(name: str, spec: Spec) -> str:
    if name == "kubernetes.yaml":
        return ("a ConfigMap of settings, the Deployment (probes, resources, non-root, read-only file system), "
                "a Service on port 80, a HorizontalPodAutoscaler"
                + (", and a PersistentVolumeClaim for the journal" if spec.journal == "volume" else "") + ".")
    if name == "kserve.yaml":
        return "an InferenceService whose predictor is the image itself (it speaks the Open Inference Protocol, V2)."
    if name == "stack.yaml":
        return "a compose file for `docker stack deploy`: replicas, health check, updates that start the new " \
               "replica before the old one stops."
    if name == "compose.yaml":
        return "a compose file for `docker compose up` on one machine."
    if name.endswith(".tar"):
        return "the image, as `docker save` writes it."
    return ""


def _apply(to: str, spec: Spec, files: list[str]) -> list:
    n = spec.name
    if to == "kubernetes":
        return ["## Apply", "", "```sh", "kubectl apply -f kubernetes.yaml",
                f"kubectl rollout status deployment/{n}", "```", "",
                f"Inside the cluster the model answers at `http://{n}/v1/predict` (and the Open Inference Protocol at "
                f"`http://{n}/v2/models/{quote(spec.model, safe='')}/infer`). To require an API key, create the secret before "
                f"applying: `kubectl create secret generic {n}-api-key --from-literal=api-key=YOUR-KEY`; clients "
                "then send `Authorization: Bearer YOUR-KEY`."]
    if to == "kserve":
        return ["## Apply", "", "```sh", "kubectl apply -f kserve.yaml",
                f"kubectl get inferenceservice {n}", "```", "",
                f"Clients written for KServe call `/v2/models/{quote(spec.model, safe='')}/infer` (the model's own "
                "name, as DeskML shows it, URL-encoded) as they do for any V2 model; `/v1/predict` (DeskML's own) "
                "answers too."]
    if to == "swarm":
        return ["## Apply", "", "```sh", f"docker stack deploy -c stack.yaml {n}",
                f"docker service ls --filter name={n}", "```", "",
                f"Every machine of the swarm answers on port {spec.port} (the routing mesh). Set `DESKML_API_KEY` in "
                "the environment of `docker stack deploy` to require a key.", "",
                "The routing mesh needs IPVS in the machines' kernels (`/proc/net/ip_vs`). Where it is missing (some "
                "virtual machines, WSL), put `endpoint_mode: dnsrr` under `deploy`, drop `ports`, and let clients on "
                f"the stack's network spread their requests over the addresses of `tasks.{spec.name}` (DeskML's own "
                "test does so)."]
    if to == "compose":
        return ["## Apply", "", "```sh", "docker compose -f compose.yaml up -d", "```", "",
                f"It answers on this machine only, at http://127.0.0.1:{spec.port}."]
    return ["## Load it", "", "```sh", f"docker load -i {files[0]}", "```", "",
            f"Then run it: `docker run -d -p 127.0.0.1:{spec.port}:{SERVER_PORT} {spec.image}`, or use the other "
            "exports (Kubernetes, Swarm) with the image name it prints."]


def _watch(to: str, spec: Spec) -> list:
    where = ("the replicas' standard output: one JSON line per request (the cluster's log tools collect it)"
             if spec.journal == "stdout" else f"files in {JOURNAL_DIR} on the volume (one file per replica)")
    return ["## What to watch", "",
            "- `/health` answers 200 once the model is loaded and its self-test passed; the probes use it.",
            "- `/metrics` gives Prometheus metrics: requests, errors and latency per endpoint.",
            f"- Every prediction is journaled to {where}.",
            "- A replica that runs out of memory is restarted: raise the memory limit if that repeats."]


def _rollback(to: str, spec: Spec) -> list:
    n = spec.name
    steps = {"kubernetes": ["kubectl rollout undo deployment/" + n],
             "kserve": ["kubectl apply -f the-earlier-export/kserve.yaml"],
             "swarm": [f"docker service rollback {n}_{n}"],
             "compose": ["docker compose -f the-earlier-export/compose.yaml up -d"],
             "image-tar": ["docker load -i the-earlier-version.tar"]}[to]
    return ["## Roll back", "",
            "Each version is an image of its own. To go back, run the earlier one again:", "", "```sh", *steps, "```",
            "", "Export the earlier version from DeskML (Versions tab, or `deskml export NAME:VERSION`) if you do not "
            "have its files."]
