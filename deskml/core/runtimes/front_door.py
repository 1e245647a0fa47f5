"""The front door's control, on the host: one stable address per model (``server/router.py``).

The front door reads its settings from a JSON file; this module writes that file (whole,
then renamed into place, with a higher ``generation``) and waits until the front door
says it has taken it (``GET /_deskml/front-door``), then until the versions it no longer
sends to have finished what they were answering, and have given back the connections the
front door had handed to them. Only then is a switch done, and only
then may the old version be stopped: no request fails, and no answer from the old
version comes after the switch is reported done.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ServiceUnhealthy
from .supervise import read_state, write_state

read_config = read_state  # the settings file is written whole and renamed, as a state file

STATUS_PATH = "/_deskml/front-door"


@dataclass
class Member:
    """A version's service behind the front door."""
    version: str
    address: str            # host:port of the version's own service (this computer only)

    def spec(self) -> dict:
        return {"version": str(self.version), "address": self.address}


@dataclass
class Challenger(Member):
    mode: str = "split"     # "split" (A/B) or "shadow"
    share: float = 0.5      # in a split: the share of prediction requests it answers

    def spec(self) -> dict:
        return {**super().spec(), "mode": self.mode, "share": self.share}


def write_config(path: Path, port: int, live: Member | None, challenger: Challenger | None = None,
                 host: str = "127.0.0.1") -> int:
    """Write the front door's settings whole (a reader never sees half of them); the new generation."""
    path = Path(path)
    old = read_config(path) or {}
    generation = int(old.get("generation", 0)) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    write_state(path, {"generation": generation, "host": host, "port": int(port),
                       "live": live.spec() if live else None, "challenger": challenger.spec() if challenger else None})
    return generation


def status(url: str, timeout: float = 2.0) -> dict | None:
    """What the front door at ``url`` says of itself, or None when it does not answer."""
    import requests

    try:
        r = requests.get(url + STATUS_PATH, timeout=timeout)
        return r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def apply(path: Path, url: str, port: int, live: Member | None, challenger: Challenger | None = None,
          host: str = "127.0.0.1", timeout: float = 30.0) -> dict:
    """Switch: new settings, taken by the front door, and every request sent to a version it
    no longer uses answered. Returns the front door's status at that moment."""
    generation = write_config(path, port, live, challenger, host)
    deadline = time.monotonic() + timeout
    taken = False
    while time.monotonic() < deadline:
        st = status(url)
        if st is not None and st.get("generation", -1) >= generation:
            taken = True
            if not st.get("handing_back") and not any(d.get("busy") or d.get("handing_back")
                                                      for d in st.get("draining") or []):
                return st
        time.sleep(0.02)
    if not taken:
        raise ServiceUnhealthy("The model's front door did not take the new settings.",
                               "Stop the model and start it again; its address stays the same.")
    raise ServiceUnhealthy("The old version is still answering requests after the switch.",
                           "Wait a moment and look again; the new version already takes every new request.")


# -- the model's front door, kept running like a local service ------------------------------------
def folder() -> Path:
    from ..paths import data_dir

    d = data_dir() / "front-door"
    d.mkdir(parents=True, exist_ok=True)
    return d


def config_file(model: str) -> Path:
    from ..paths import slug

    return folder() / f"{slug(model)}.json"


def _state_file(model: str) -> Path:
    from ..paths import slug

    return folder() / f"{slug(model)}.state.json"


@dataclass
class Door:
    """A model's front door as it is now."""
    model: str
    url: str
    port: int
    host: str
    config: dict            # what it was told
    status: dict | None     # what it says (None: it does not answer)
    kept: bool              # its keeper runs (it comes back if it crashes)

    def live_version(self) -> str | None:
        return (self.config.get("live") or {}).get("version")

    def challenger(self) -> dict | None:
        return self.config.get("challenger")


def find(model: str, ask: bool = True) -> Door | None:
    from .process import _alive

    st = read_state(_state_file(model))
    config = read_config(config_file(model))
    if st is None or config is None:
        return None
    kept = bool(st.get("keeper")) and _alive(st["keeper"])
    return Door(model, st["url"], int(config["port"]), config.get("host", "127.0.0.1"), config,
                status(st["url"], 1.0) if ask and kept else None, kept)


def launch(model: str, port: int, host: str, live: Member, challenger: Challenger | None = None,
           timeout: float = 15.0) -> Door:
    """Start the model's front door under a keeper, at ``host:port``, with ``live`` behind it."""
    from ..paths import data_dir
    from .process import keep

    halt(model)
    path = config_file(model)
    write_config(path, port, live, challenger, host)
    log = data_dir() / "logs" / f"{_state_file(model).name.removesuffix('.state.json')}.front-door.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    offset = log.stat().st_size if log.exists() else 0
    url = f"http://127.0.0.1:{port}"
    state_path = _state_file(model)
    env = {"PYTHONPATH": _environment()["PYTHONPATH"]}
    write_state(state_path, {"model": model, "url": url, "port": port, "log": str(log),
                             "cmd": [sys.executable, "-m", "deskml.server.router", str(path)], "env": env,
                             "status": "starting", "restarts": 0, "pid": None, "started": time.time()})
    keeper = keep(state_path, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = status(url, 0.5)
        if st is not None and st.get("pid") == (read_state(state_path) or {}).get("pid"):
            return find(model)
        if keeper.poll() is not None or (read_state(state_path) or {}).get("restarts"):
            break
        time.sleep(0.05)
    halt(model)
    with open(log, "rb") as f:
        f.seek(offset)
        said = f.read().decode("utf-8", "replace")[-3000:]
    raise ServiceUnhealthy(f"The address of {model} (port {port}) could not be opened.",
                           "Another program may have taken the port: close it, or start the model with another "
                           "port.", details=said)


def halt(model: str) -> bool:
    """Stop the model's front door; its address closes."""
    from .process import end

    stopped = end(_state_file(model))
    config_file(model).unlink(missing_ok=True)
    return stopped


def doors() -> list[str]:
    """The models that have a front door (running or not)."""

    out = []
    for f in sorted(folder().glob("*.state.json")):
        st = read_state(f)
        if st is not None and st.get("model"):
            out.append(st["model"])
    return out


def start(path: Path, log: Path, url: str, timeout: float = 15.0) -> subprocess.Popen:
    """The front door as a process of its own (tests and benchmarks; the app keeps it under a keeper)."""
    log = open(log, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server.router", str(path)], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_environment())
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if status(url, 0.5) is not None:
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise ServiceUnhealthy("The model's front door did not start.",
                           "Another program may use its port; choose another port and try again.")


def _environment() -> dict:
    root = str(Path(__file__).resolve().parents[3])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
