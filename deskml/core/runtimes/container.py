"""Run a built model as a container with a stable local address.

Containers listen on 127.0.0.1 only, restart unless stopped, and are
found again by their labels, so the app reattaches to what is running.

Two ways to reach a container, chosen per engine:

* **host network** where the engine runs the container on this very computer
  (Docker Engine or Podman on Linux): the service listens on 127.0.0.1:PORT of
  the host itself. No proxy sits between the caller and the model; Docker's
  userland proxy on a published port costs about 0.15 ms a request, as much as
  the model's own prediction.
* **a published port** (127.0.0.1:PORT -> 8000) everywhere else: Docker Desktop
  and Podman machines run containers in a VM, and rootless Docker in a network
  namespace of its own, where the "host" network is not this computer's.
"""
from __future__ import annotations

import os
import socket

from ...server import contract
from ...server.contract import HEALTH_PATH, SERVER_PORT
from ..errors import EngineUnavailable, NotFound, ServiceUnhealthy
from ..paths import slug
from ..registry import Registry
from .base import Running, choose_port, member_key, scores_from, start_failure, wait_healthy

LABEL = contract.LABEL_MODEL
PORT_LABEL = contract.LABEL_PORT
MEMBER = "member"   # contract.LABEL_ROLE of a version's container behind the model's front door


def engine_kind(client) -> str | None:
    """"Docker Engine", "Docker Desktop", "Podman", or None when the engine cannot say."""
    from .engine import engine_info

    try:
        return engine_info(client).kind
    except Exception:
        return None


def host_network_ok(client, kind: str | None) -> bool:
    """Does the engine run containers in this computer's own network? (see the module's notes)"""
    import platform

    if platform.system() != "Linux" or kind is None:
        return False
    try:
        info = client.info()
    except Exception:  # an engine that cannot say: the safe choice
        return False
    rootless = any("rootless" in str(o) for o in info.get("SecurityOptions") or [])
    if kind == "Docker Desktop" or (kind == "Docker Engine" and rootless):
        return False  # a VM, or rootless Docker's network namespace
    return info.get("Name") == socket.gethostname()  # the engine is on this computer (not a podman machine)


def network_mode(client, image, setting: str = "auto", kind: str | None = None) -> str:
    """"host" or "published" for this engine and image (images older than the
    DESKML_PORT label only know how to listen on 8000 inside a container)."""
    if setting == "published" or image.labels.get(contract.LABEL_LISTEN) != "env":
        return "published"
    return "host" if host_network_ok(client, kind or engine_kind(client)) else "published"


def _ulimits(kind: str | None):
    """Podman asks for the host's largest limits on open files and processes, which
    some machines refuse ("error setting rlimit"); ask for what this computer allows."""
    if kind != "Podman":
        return None
    try:
        import resource
        from docker.types import Ulimit
    except ImportError:  # no resource module (Windows)
        return None

    def allowed(kind, wanted):
        hard = resource.getrlimit(kind)[1]
        return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    return [Ulimit(name="nofile", soft=allowed(resource.RLIMIT_NOFILE, 65536),
                   hard=allowed(resource.RLIMIT_NOFILE, 65536)),
            Ulimit(name="nproc", soft=allowed(resource.RLIMIT_NPROC, 4096),
                   hard=allowed(resource.RLIMIT_NPROC, 4096))]


def container_name(model: str) -> str:
    return f"deskml-{slug(model)}"


def find_container(client, model: str):
    """The model's own container (a model started before the front door), or None."""
    found = [c for c in _services(client.containers.list(all=True, filters={"label": f"{LABEL}={model}"}))
             if (c.labels or {}).get(contract.LABEL_ROLE) != MEMBER]
    return found[0] if found else None


def member_containers(client, model: str | None = None) -> list:
    """The containers of versions behind front doors (of ``model``, or of every model)."""
    wanted = f"{LABEL}={model}" if model is not None else LABEL
    return client.containers.list(all=True, filters={"label": [wanted, f"{contract.LABEL_ROLE}={MEMBER}"]})


def member_container(client, model: str, version: str):
    from docker.errors import NotFound as Missing

    try:
        return client.containers.get(container_name(member_key(model, version)))
    except Missing:
        return None


def _services(containers) -> list:
    """The model services among containers (a one-off scoring container carries the
    image's labels too)."""
    return [c for c in containers if (c.labels or {}).get(contract.LABEL_ROLE) != "score"]


def journal_mount(client, kind: str | None, folder) -> dict:
    """How a container writes the model's journal into ``folder`` on the host: the folder
    mounted at contract.JOURNAL_MOUNT, and, where the engine runs containers on this very
    computer, the service running as this computer's user (so its files are the user's,
    and the folder need not be open to everyone). Engines in a VM (Docker Desktop, podman
    machines) map the owner of shared folders themselves."""
    import os

    spec = {"volumes": {str(folder): {"bind": contract.JOURNAL_MOUNT, "mode": "rw,z"}},
            "environment": {contract.ENV_JOURNAL: contract.JOURNAL_MOUNT}}
    if not hasattr(os, "getuid") or not host_network_ok(client, kind):
        return spec
    try:
        rootless = any("rootless" in str(o) for o in client.info().get("SecurityOptions") or [])
    except Exception:
        rootless = False
    if kind == "Podman" and os.getuid() != 0:
        spec.update(userns_mode="keep-id", user=f"{os.getuid()}:{os.getgid()}")
    elif rootless:
        spec["user"] = "0:0"  # rootless Docker: the container's root is this user
    else:
        spec["user"] = f"{os.getuid()}:{os.getgid()}"
    return spec


def run(client, registry: Registry, model: str, version: str | None = None, port: int | None = None,
        default_port: int = 8600, timeout: float = 60.0, lan: bool = False, network: str = "auto",
        journal=None, member: bool = False) -> Running:
    """Start the model's container. ``lan``: listen on every network interface, which
    requires an API key (made once per model, kept in the registry). ``network``:
    "auto" (the host's network where that is this computer's) or "published".
    ``journal``: the host folder its prediction journal goes to (None: no journal).
    ``member``: the version's own container behind the model's front door, on ``port``
    of this computer only (``lan`` then only asks for the API key: the front door listens)."""
    v = registry.get(model, version)
    old = member_container(client, model, v.version) if member else find_container(client, model)
    if old is not None:  # replace the container, keeping its port
        old.remove(force=True)
    if member:
        chosen, note = port, ""
    else:
        chosen, note = choose_port(model, registry, port, default_port)
    env = {contract.ENV_API_KEY: registry.api_key(model, create=True)} if lan else {}
    listen_all = lan and not member
    kind = engine_kind(client)
    mode = network_mode(client, client.images.get(v.tag), network, kind)
    if mode == "host":
        env.update({contract.ENV_HOST: "0.0.0.0" if listen_all else "127.0.0.1", contract.ENV_PORT: str(chosen)})
        if hasattr(os, "getuid"):  # the front door, run by this user, may hand it connections (server/http.py)
            env["DESKML_HANDOFF_UID"] = str(os.getuid())
        where = {"network_mode": "host"}
    else:
        where = {"ports": {f"{SERVER_PORT}/tcp": ("0.0.0.0" if listen_all else "127.0.0.1", chosen)}}
    if journal is not None:
        mount = journal_mount(client, kind, journal)
        env.update(mount.pop("environment"))
        where.update(mount)
    from docker.errors import APIError

    try:
        container = client.containers.run(
            v.tag, name=container_name(member_key(model, v.version) if member else model), detach=True,
            restart_policy={"Name": "unless-stopped"}, environment=env, ulimits=_ulimits(kind),
            labels={LABEL: model, contract.LABEL_VERSION: v.version, contract.LABEL_MANAGED: "true",
                    contract.LABEL_LAN: "true" if lan else "false", PORT_LABEL: str(chosen),
                    contract.LABEL_NETWORK: mode, **({contract.LABEL_ROLE: MEMBER} if member else {})}, **where)
    except APIError as exc:
        stale = member_container(client, model, v.version) if member else find_container(client, model)
        if stale is not None:  # created but not started: leave nothing behind
            stale.remove(force=True)
        raise EngineUnavailable(f"The container engine could not start {model}.",
                                "Look at the details; check that the engine works (deskml engine) and try "
                                "again, or choose another engine in Settings.",
                                details=str(exc.explanation or exc)) from None
    if not member:
        registry.set_port(model, chosen)
    url = f"http://127.0.0.1:{chosen}"

    def alive():  # a service that stopped or was restarted will not become ready: stop waiting
        container.reload()
        return container.status in ("created", "running") and not container.attrs.get("RestartCount")

    try:
        wait_healthy(url, timeout, alive)
    except ServiceUnhealthy as err:
        crashed = not alive()
        log = container.logs(tail=400).decode("utf-8", "replace")
        container.remove(force=True)  # stopped, with the reason: never left restarting forever
        if crashed or contract.START_FAILED in log:
            raise start_failure(model, log) from None
        err.details = log
        raise
    return status_of(container, note=note)


SCORE_DIR = "/tmp/deskml-score"
SCORE_PACKAGE = "deskml_score_server"


def score(client, registry: Registry, model: str, version: str, rows: list, timeout: float = 600.0) -> dict:
    """The version's answers for rows that are not traffic, from its own image
    (``server/score.py``): a one-off container with no network, no port and no journal.
    This DeskML's serving app is copied in with the rows and run on the image's Python and
    libraries, so images made before ``--score`` existed answer too. Raises
    ServiceUnhealthy with the reason when the model cannot answer."""
    import json

    from docker.errors import DockerException, ImageNotFound
    from requests.exceptions import ReadTimeout, RequestException

    from ..packaging.image import _server_source

    v = registry.get(model, version)
    try:
        cmd = list(client.images.get(v.tag).attrs["Config"]["Cmd"] or [])
    except ImageNotFound:
        raise NotFound(f"The image of {model} version {v.version} is no longer in the container engine.",
                       "Package the model again to make it.") from None
    if "-m" not in cmd:
        raise ServiceUnhealthy(f"The image of {model} version {v.version} was not made by DeskML's packaging.",
                               "Package the model again to make it.")
    args = cmd[cmd.index("-m") + 2:]  # after "-m deskml_server": the model file, its name, version, code
    command = [cmd[0], "-m", SCORE_PACKAGE, *args, "--score", f"{SCORE_DIR}/rows.json"]
    files = {f"{SCORE_PACKAGE}/{p.name}": p.read_bytes() for p in sorted(_server_source().glob("*.py"))}
    files["rows.json"] = json.dumps({"rows": rows}).encode()
    _remove_score_boxes(client, model)  # left by a DeskML that was closed while one ran
    box = None
    try:
        box = client.containers.create(v.tag, command=command, network_mode="none",
                                       environment={"PYTHONPATH": SCORE_DIR, "PYTHONDONTWRITEBYTECODE": "1"},
                                       labels={contract.LABEL_ROLE: "score"})
        box.put_archive("/tmp", _tar("deskml-score", files))
        box.start()
        box.wait(timeout=timeout)
        log = box.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    except ReadTimeout:
        raise ServiceUnhealthy(f"{model} took more than {timeout:.0f} s to answer its reference data.",
                               "Give it a smaller reference file, then look again.") from None
    except (DockerException, RequestException) as exc:  # the engine failed
        raise EngineUnavailable(f"The container engine could not run {model} on its reference data.",
                                "Check that the engine works (deskml engine), then look again.",
                                details=str(exc)) from None
    finally:
        if box is not None:
            try:
                box.remove(force=True)
            except (DockerException, RequestException):
                pass  # the next score removes it (_remove_score_boxes)
    return scores_from(model, log)


def _remove_score_boxes(client, model: str) -> None:
    from docker.errors import DockerException

    for box in client.containers.list(all=True, filters={"label": [f"{contract.LABEL_ROLE}=score",
                                                                    f"{LABEL}={model}"]}):
        try:
            box.remove(force=True)
        except DockerException:
            pass


def _tar(folder: str, files: dict) -> bytes:
    """A tar archive of ``files`` ({path: bytes}) under ``folder``, readable by any user."""
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        dirs = {folder} | {f"{folder}/{name.rpartition('/')[0]}" for name in files if "/" in name}
        for d in sorted(dirs):
            entry = tarfile.TarInfo(d)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(entry)
        for name, data in files.items():
            entry = tarfile.TarInfo(f"{folder}/{name}")
            entry.size, entry.mode = len(data), 0o644
            tar.addfile(entry, io.BytesIO(data))
    return out.getvalue()


def status_of(container, note: str = "") -> Running:
    container.reload()
    attrs = container.attrs
    state = attrs["State"]
    port = container.labels.get(PORT_LABEL)
    if not port:  # containers started before the label
        ports = (attrs.get("HostConfig", {}).get("PortBindings") or {}).get(f"{SERVER_PORT}/tcp") or [{}]
        port = ports[0].get("HostPort") or 0
    port = int(port)
    run_state = "restarting" if state.get("Restarting") else state.get("Status", "?")
    health = (state.get("Health") or {}).get("Status", "none")
    if run_state == "running" and health in ("starting", "none"):
        # The engine has not judged yet, or never will (Podman without systemd runs no
        # health checks): ask the service itself.
        health = _probe(f"http://127.0.0.1:{port}", health)
    restarts = int(attrs.get("RestartCount") or 0)
    crashed_at, reason = None, ""
    if restarts or run_state in ("exited", "dead"):
        crashed_at = _epoch(state.get("FinishedAt"))
        reason = ("it ran out of memory" if state.get("OOMKilled")
                  else f"it exited with code {state.get('ExitCode')}" if state.get("ExitCode") is not None else "")
    if run_state in ("exited", "dead") and state.get("ExitCode") not in (0, None):
        run_state = "crashed"
    return Running(
        model=container.labels.get(LABEL, "?"), version=container.labels.get(contract.LABEL_VERSION, "?"),
        url=f"http://127.0.0.1:{port}", port=port, state=run_state, health=health,
        container_id=container.id[:12], note=note, lan=container.labels.get(contract.LABEL_LAN) == "true",
        restarts=restarts, crashed_at=crashed_at, reason=reason)


def status_if_there(container) -> Running | None:
    """status_of, or None for a container removed meanwhile (a switch stopping it)."""
    from docker.errors import NotFound as Missing

    try:
        return status_of(container)
    except Missing:
        return None


def _epoch(text) -> float | None:
    """Docker's times (RFC 3339 with nanoseconds) as seconds since 1970; None for 'never'."""
    import re
    from datetime import datetime

    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", text or "")
    if not m or text.startswith("0001-"):
        return None
    zone = m.group(3) or "Z"
    moment = datetime.fromisoformat(f"{m.group(1)}.{(m.group(2) or '0')[:6].ljust(6, '0')}"
                                    + ("+00:00" if zone == "Z" else zone))
    return moment.timestamp()


def _probe(url: str, otherwise: str) -> str:
    import requests

    try:
        return "healthy" if requests.get(url + HEALTH_PATH, timeout=0.5).status_code == 200 else otherwise
    except requests.RequestException:
        return otherwise


def status(client) -> list[Running]:
    """The models' own containers (started before the front door)."""
    return [status_of(c) for c in _services(client.containers.list(all=True, filters={"label": LABEL}))
            if (c.labels or {}).get(contract.LABEL_ROLE) != MEMBER]


def stop(client, model: str) -> bool:
    c = find_container(client, model)
    if c is None:
        return False
    c.remove(force=True)
    return True


def logs(client, model: str, tail: int = 200) -> str:
    c = find_container(client, model)
    if c is None:
        raise NotFound(f"{model} is not running.", f"Start it with: deskml run {model}")
    return c.logs(tail=tail).decode("utf-8", "replace")
