"""What other engines need to run a version's very image: Kubernetes manifests, a KServe
InferenceService, and a compose file for ``docker compose`` or ``docker stack deploy``.
Pure functions of a ``Spec``: plain dicts, written as YAML by ``write``.

Resources come from the image's own footprint (``measure.py``): the memory it holds at rest
and the CPU time one prediction takes. The assumptions turning those into requests and
limits are the constants below, said again on the IT person's page (``guide.py``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ...server.contract import ENV_API_KEY, ENV_JOURNAL, HEALTH_PATH, JOURNAL_DIR, LABEL_SHA256, SERVER_PORT
MEMORY_HEADROOM = 1.5      # request: the memory at rest, plus room for batches of requests
MEMORY_LIMIT = 3.0         # limit: a large CSV or batch may briefly hold several times as much
MIN_MEMORY_MIB = 128
PLANNED_RATE = 20          # predictions a second one replica is sized for (the request)
MIN_CPU_MILLI = 50
CPU_LIMIT = "1"            # the service predicts on one thread: more than one CPU goes unused
SCALE_AT = 70              # the autoscaler adds replicas when CPU use passes 70% of the request
HEALTH_CHECK = ("import os,sys,urllib.request;sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s"
                f"{HEALTH_PATH}'%os.environ.get('DESKML_PORT','{SERVER_PORT}'),timeout=2).status==200 else 1)")


@dataclass
class Footprint:
    memory_mib: float | None     # at rest, after start and a few predictions
    cpu_ms: float | None         # CPU time per prediction (one row)
    how: str                     # how it was measured, in words

    def memory_request(self) -> int:
        return _round_up(max(MIN_MEMORY_MIB, (self.memory_mib or 256) * MEMORY_HEADROOM), 16)

    def memory_limit(self) -> int:
        return _round_up(max(2 * MIN_MEMORY_MIB, (self.memory_mib or 256) * MEMORY_LIMIT), 16)

    def cpu_request(self) -> int:
        """Milli-CPU for PLANNED_RATE predictions a second."""
        return _round_up(max(MIN_CPU_MILLI, (self.cpu_ms or 5.0) * PLANNED_RATE), 10)


def _round_up(x: float, step: int) -> int:
    return int(math.ceil(x / step) * step)


@dataclass
class Spec:
    model: str
    version: str
    image: str
    sha256: str
    footprint: Footprint
    replicas: int = 2
    journal: str = "stdout"      # "stdout": the cluster's log tools collect it; "volume": files on a volume
    port: int = SERVER_PORT      # the published port (compose and swarm)

    @property
    def name(self) -> str:
        """A DNS-1123 label: lower case letters, digits and '-', at most 63, a letter first."""
        s = re.sub(r"[^a-z0-9-]+", "-", self.model.lower()).strip("-")
        s = re.sub(r"-{2,}", "-", s)
        if len(s) < 3:  # a name in another script: a short sign of it keeps two such models apart
            import hashlib

            s = (s + "-" if s else "") + hashlib.sha256(self.model.encode()).hexdigest()[:8]
        if not s[0].isalpha():
            s = "model-" + s
        return s[:50].rstrip("-")

    def labels(self) -> dict:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/version": _label(self.version),
                "app.kubernetes.io/managed-by": "deskml"}

    def env(self) -> dict:
        return {ENV_JOURNAL: "-" if self.journal == "stdout" else JOURNAL_DIR}


def _label(value: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(value)).strip("-_.")
    return s[:63] or "1"


# -- Kubernetes ----------------------------------------------------------------------

def _probes() -> dict:
    return {
        # starting: the model is loaded and its self-test passed before any probe counts
        "startupProbe": {"httpGet": {"path": HEALTH_PATH, "port": "http"}, "periodSeconds": 2,
                         "failureThreshold": 60},
        "readinessProbe": {"httpGet": {"path": HEALTH_PATH, "port": "http"}, "periodSeconds": 5,
                           "timeoutSeconds": 3, "failureThreshold": 2},
        # alive: the process answers at all (a busy service is slow, not dead)
        "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": "http"}, "periodSeconds": 10,
                          "timeoutSeconds": 5, "failureThreshold": 6},
    }


def _container(spec: Spec, name: str = "model") -> dict:
    f = spec.footprint
    container = {
        "name": name,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}],
        "env": [{"name": ENV_API_KEY, "valueFrom": {"secretKeyRef": {
            "name": f"{spec.name}-api-key", "key": "api-key", "optional": True}}}],
        "resources": {"requests": {"cpu": f"{f.cpu_request()}m", "memory": f"{f.memory_request()}Mi"},
                      "limits": {"cpu": CPU_LIMIT, "memory": f"{f.memory_limit()}Mi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if spec.journal == "volume":
        container["volumeMounts"].append({"name": "journal", "mountPath": JOURNAL_DIR})
    return container


def kubernetes(spec: Spec) -> list[dict]:
    """A ConfigMap of settings, a Deployment, a Service, a HorizontalPodAutoscaler, and with
    the journal on a volume, its PersistentVolumeClaim."""
    labels, name = spec.labels(), spec.name
    container = _container(spec)
    container["envFrom"] = [{"configMapRef": {"name": f"{name}-settings"}}]
    container.update(_probes())
    volumes = [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
    docs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-settings", "labels": labels},
             "data": spec.env()}]
    if spec.journal == "volume":
        volumes.append({"name": "journal", "persistentVolumeClaim": {"claimName": f"{name}-journal"}})
        docs.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": f"{name}-journal", "labels": labels},
                     # every replica writes files of its own into the same folder
                     "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "5Gi"}}}})
    docs.append({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "annotations": {LABEL_SHA256: spec.sha256}},
        "spec": {
            # no "replicas": the autoscaler owns it (minReplicas below), and applying the next
            # version's export must not reset the count in the middle of a rollout
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            # a new version starts and is ready before an old replica goes: no failed request
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                        "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 30,   # the service finishes what is in flight
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    })
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
                 "spec": {"selector": {"app.kubernetes.io/name": name},
                          "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}})
    docs.append({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": spec.replicas, "maxReplicas": max(spec.replicas * 3, 6),
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": SCALE_AT}}}]},
    })
    return docs


def kserve(spec: Spec) -> dict:
    """An InferenceService whose predictor is the image itself (a custom container), which
    speaks the Open Inference Protocol that KServe routes."""
    container = _container(spec, "kserve-container")
    container["env"] = [{"name": k, "value": v} for k, v in spec.env().items()] + container["env"]
    container["readinessProbe"] = {"httpGet": {"path": "/v2/health/ready", "port": SERVER_PORT},
                                   "periodSeconds": 5, "failureThreshold": 2}
    container["ports"] = [{"containerPort": SERVER_PORT, "protocol": "TCP"}]
    predictor = {"minReplicas": spec.replicas, "maxReplicas": max(spec.replicas * 3, 6),
                 "scaleMetric": "cpu", "scaleTarget": SCALE_AT, "containers": [container],
                 "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]}
    if spec.journal == "volume":
        predictor["volumes"].append({"name": "journal", "persistentVolumeClaim": {"claimName": f"{spec.name}-journal"}})
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": spec.name, "labels": spec.labels(),
                         "annotations": {LABEL_SHA256: spec.sha256,
                                         "serving.kserve.io/deploymentMode": "RawDeployment"}},
            "spec": {"predictor": predictor}}


# -- Compose and Swarm ---------------------------------------------------------------

def compose(spec: Spec, swarm: bool) -> dict:
    """A compose file. For Swarm (``docker stack deploy``): replicas behind the published
    port, updates that start the new replica before the old one stops, a roll back when
    an update fails. For ``docker compose up``: one replica, on this computer only."""
    f = spec.footprint
    service = {
        "image": spec.image,
        "environment": {**spec.env(), ENV_API_KEY: "${DESKML_API_KEY:-}"},
        "healthcheck": {"test": ["CMD", "/opt/venv/bin/python", "-c", HEALTH_CHECK], "interval": "5s",
                        "timeout": "3s", "retries": 3, "start_period": "60s"},
        "read_only": True,
        "tmpfs": ["/tmp"],
        "stop_grace_period": "30s",
    }
    if spec.journal == "volume":
        service["volumes"] = [f"journal:{JOURNAL_DIR}"]
    resources = {"limits": {"cpus": CPU_LIMIT, "memory": f"{f.memory_limit()}M"},
                 "reservations": {"cpus": f"{f.cpu_request() / 1000:g}", "memory": f"{f.memory_request()}M"}}
    if swarm:
        service["ports"] = [{"target": SERVER_PORT, "published": spec.port, "protocol": "tcp", "mode": "ingress"}]
        service["deploy"] = {
            "replicas": spec.replicas,
            # a replica counts as updated once healthy (checked every 5 s) and still so 10 s later
            "update_config": {"parallelism": 1, "order": "start-first", "delay": "2s",
                              "failure_action": "rollback", "monitor": "10s"},
            "rollback_config": {"parallelism": 1, "order": "start-first"},
            "restart_policy": {"condition": "any", "delay": "2s"},
            "resources": resources,
        }
    else:
        service["ports"] = [f"127.0.0.1:{spec.port}:{SERVER_PORT}"]
        service["restart"] = "unless-stopped"
        service["deploy"] = {"resources": resources}
    # "version": Docker 20.10's `docker stack deploy` asks for it (Compose v2 ignores it)
    doc = {"version": "3.8", "services": {spec.name: service}}
    if swarm:  # attachable: the IT person can start a container beside the replicas to look at them
        doc["networks"] = {"default": {"driver": "overlay", "attachable": True}}
    if spec.journal == "volume":
        doc["volumes"] = {"journal": {}}
    return doc


def to_yaml(docs) -> str:
    import yaml

    docs = docs if isinstance(docs, list) else [docs]
    return "---\n".join(yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=120) for d in docs)
