"""What every runtime shares: a running service's description, its port, its health.

A model keeps its port across restarts (the registry remembers it); a port
taken by something else is detected and the next free one chosen, with a message.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from ...server.contract import HEALTH_PATH
from ..errors import ServiceUnhealthy, UsageError
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

    def to_dict(self) -> dict:
        return dict(self.__dict__)


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
    """(port, note): the wanted port, else the model's own, else the first free from the default."""
    if wanted is not None and not 1024 <= wanted <= 65535:
        raise UsageError(f"Port {wanted} cannot be used.", "Choose a port between 1024 and 65535.")
    taken_by_models = registry.ports_in_use()
    first = wanted or registry.port(model) or default
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
