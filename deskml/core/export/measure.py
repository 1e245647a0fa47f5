"""The image's footprint, measured on this computer: start a container of it (on a free
loopback port, no journal), let it settle, read the memory it holds from the engine's
statistics, then send predictions of its example row and divide the CPU time the
container used by their number. What the manifests' requests and limits come from."""
from __future__ import annotations

import time

from .manifests import Footprint

PREDICTIONS = 300


def footprint(client, tag: str, predictions: int = PREDICTIONS) -> Footprint:
    """Measure the image ``tag`` through the engine ``client`` (docker SDK)."""
    import requests

    from ...server.contract import ENV_JOURNAL, SERVER_PORT
    from ..runtimes.base import free_port, wait_healthy

    port = free_port()
    container = client.containers.run(tag, detach=True, environment={ENV_JOURNAL: "off"},
                                      ports={f"{SERVER_PORT}/tcp": ("127.0.0.1", port)},
                                      labels={"io.deskml.role": "measure"}, auto_remove=False)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, 120, alive=lambda: _running(container))
        example = requests.get(url + "/v1/model", timeout=10).json().get("example")
        body = {"inputs": [example]} if example else None
        with requests.Session() as http:
            for _ in range(20):  # the first predictions warm up caches and allocate buffers
                _predict(http, url, body)
            time.sleep(0.5)
            memory = _memory_mib(container.stats(stream=False))
            before = _cpu_ns(container.stats(stream=False))
            for _ in range(predictions):
                _predict(http, url, body)
            after = _cpu_ns(container.stats(stream=False))
        cpu_ms = (after - before) / 1e6 / predictions if before is not None and after is not None and after > before \
            else None
        said = [f"memory at rest {memory:.0f} MiB" if memory else "memory not reported by the engine",
                f"{cpu_ms:.2f} ms of CPU per prediction ({predictions} predictions of the example row)"
                if cpu_ms else "CPU per prediction not reported by the engine"]
        return Footprint(memory, cpu_ms, "measured on this computer: " + "; ".join(said))
    finally:
        try:
            container.remove(force=True)
        except Exception:  # already gone: nothing to clean
            pass


def _running(container) -> bool:
    container.reload()
    return container.status in ("created", "running")


def _predict(http, url: str, body) -> None:
    if body is None:
        http.get(url + "/health", timeout=10)
    else:
        http.post(url + "/v1/predict", json=body, timeout=10).raise_for_status()


def _memory_mib(stats: dict) -> float | None:
    """What the container holds, without the page cache the kernel may take back (as
    ``docker stats`` shows it): cgroup v2's inactive_file, v1's total_inactive_file."""
    mem = stats.get("memory_stats") or {}
    usage = mem.get("usage")
    if not usage:
        return None
    extra = mem.get("stats") or {}
    cache = extra.get("inactive_file", extra.get("total_inactive_file", 0)) or 0
    return (usage - cache) / 2**20


def _cpu_ns(stats: dict) -> int | None:
    return ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
