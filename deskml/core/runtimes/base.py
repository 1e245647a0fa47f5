"""What every runtime shares: a running service's description, its port, its health.

A model keeps its port across restarts (the registry remembers it); a port
taken by something else is detected and the next free one chosen, with a message.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from ...server.contract import HEALTH_PATH, START_FAILED
from ..errors import PortInUse, ServiceUnhealthy, UsageError
from ..registry import Registry


@dataclass
class Running:
    model: str
    version: str
    url: str
    port: int
    state: str          # "running", "starting", "restarting", "stopped", …
    health: str         # "healthy", "starting", "unhealthy", "none"
    container_id: str
    note: str = ""
    lan: bool = False   # reachable from the network (with an API key), not only this computer
    restarts: int = 0   # times it was restarted after crashing
    crashed_at: float | None = None   # when it last crashed
    reason: str = ""    # why it last crashed, or why it was given up

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def member_key(model: str, version: str) -> str:
    """The name of a version's own service behind the model's front door (a state file, a container)."""
    return f"{model}@{version}"


def wait_healthy(url: str, timeout: float = 60.0, alive=lambda: True, interval: float = 0.05,
                 path: str = HEALTH_PATH) -> float:
    """Poll ``url`` + ``path`` until it answers 200; seconds waited. Raises ServiceUnhealthy."""
    import requests

    start = time.perf_counter()
    last = ""
    while time.perf_counter() - start < timeout:
        try:
            r = requests.get(url + path, timeout=1)
            if r.status_code == 200:
                return time.perf_counter() - start
            last = f"{path} answered {r.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        if not alive():
            break
        time.sleep(interval)
    raise ServiceUnhealthy(f"The model's service at {url} did not become ready.",
                           "Look at its log (deskml logs NAME) for the reason; the model may fail on its own "
                           "example input.", details=last)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port() -> int:
    """A port nothing listens on now (the system's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def choose_port(model: str, registry: Registry, wanted: int | None, default: int) -> tuple[int, str]:
    """(port, note). A port asked for is used, or refused with a PortInUse that names its
    holder; otherwise the model's own port, else the first free one from the default."""
    if wanted is not None:
        return _wanted_port(model, registry, wanted)
    taken_by_models = registry.ports_in_use()
    first = registry.port(model) or default
    port = first
    while not port_is_free(port) or taken_by_models.get(port, model) != model:
        port += 1
        if port > 65535:
            raise UsageError("No free local port was found.", "Stop a model or another program and try again.")
    if port == first:
        return port, ""
    holder = taken_by_models.get(first)
    by = f"the model {holder}" if holder and holder != model else "another program"
    return port, f"Port {first} is in use by {by}, so {model} uses {port}."


def _wanted_port(model: str, registry: Registry, wanted: int) -> tuple[int, str]:
    if not 1024 <= wanted <= 65535:
        raise UsageError(f"Port {wanted} cannot be used.", "Choose a port between 1024 and 65535.")
    holder = registry.ports_in_use().get(wanted)
    if port_is_free(wanted):
        if holder is None or holder == model:
            return wanted, ""
        registry.set_port(holder, None)  # a model that is not running does not keep a port asked for
        return wanted, (f"Port {wanted} was kept for {holder}, which is not running; it is {model}'s now, "
                        f"and {holder} gets another port when it starts.")
    if holder is not None and holder != model:
        raise PortInUse(f"Port {wanted} is in use by the model {holder}.",
                        f"Stop it first (deskml stop '{holder}'), or choose another port.",
                        app_hint=f"Stop {holder} first, or choose another port.")
    program = program_listening(wanted)
    raise PortInUse(f"Port {wanted} is in use by {program or 'another program'}.",
                    "Close that program, or choose another port; without --port DeskML picks a free one.",
                    app_hint="Close that program, or choose another port.")


def program_listening(port: int) -> str | None:
    """Which program listens on the local ``port`` ("nginx (process 1234)"), when this
    computer lets DeskML see it; None otherwise."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return f"{psutil.Process(conn.pid).name()} (process {conn.pid})"
    except Exception:  # no permission to look, or the program just ended
        return None
    return None


_STAGES = {
    "load": "the model file could not be opened by its own libraries",
    "describe": "DeskML could not work out the model's inputs and outputs",
    "self-test": "the model could not predict its own example row",
    "score": "the model could not predict its reference data",
}


def _failure_reason(log: str) -> tuple[dict | None, str]:
    """(the reason the serving app wrote on its ``contract.START_FAILED`` line, or None; the
    log's last lines, for the details)."""
    import json

    reason = None
    for line in reversed(log.splitlines()):
        at = line.find(START_FAILED)
        if at >= 0:
            try:
                reason = json.loads(line[at + len(START_FAILED):])
            except ValueError:
                pass
            break
    return reason, "\n".join(log.splitlines()[-60:])


def scores_from(model: str, log: str) -> dict:
    """The answers a ``--score`` run printed (``contract.SCORES_MARK``), or ServiceUnhealthy
    saying why the model could not answer (its reason, from ``contract.START_FAILED``)."""
    import json

    from ...server.contract import SCORES_MARK

    for line in log.splitlines():
        if line.startswith(SCORES_MARK):
            return json.loads(line[len(SCORES_MARK):])
    reason, tail = _failure_reason(log)
    if reason is None:
        why = "it stopped without an answer"
    else:
        message = str(reason.get("message") or "").strip().rstrip(".")
        why = f"{_STAGES.get(reason.get('stage'), 'it failed')} ({reason.get('type')}: {message})"
    raise ServiceUnhealthy(f"{model} could not answer its reference data: {why}.",
                           "Look at the details; the reference data may not suit the model (other columns, other "
                           "kinds of values), or the model may need more memory.", details=tail)


def start_failure(model: str, log: str) -> ServiceUnhealthy:
    """Why a service did not start, in plain words, from the line it writes to its log
    (``contract.START_FAILED``); the log itself goes to the details."""
    reason, tail = _failure_reason(log)
    if reason is None:
        return ServiceUnhealthy(
            f"{model} did not start: its service stopped before it was ready, so DeskML stopped it.",
            "Look at the log in the details for the reason; the model may need a library or code that is "
            "missing, or more memory.", details=tail)
    stage = _STAGES.get(reason.get("stage"), "the service failed while starting")
    message = str(reason.get("message") or "").strip().rstrip(".")
    why = f"{reason.get('type')}: {message}" if message else str(reason.get("type"))
    return ServiceUnhealthy(
        f"{model} did not start: {stage} ({why}). DeskML stopped it instead of restarting it again and again.",
        "The model file may be incomplete or need inputs its file does not describe: ask its author, with "
        "the details below. Other models are not affected.", details=tail)
