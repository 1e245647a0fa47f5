"""Run a model as a local process: the runtime for computers without a container engine.

The same serving app as in the image, started from this Python (so it uses this
computer's scikit-learn; the version note at build time says when that differs from
the file's), with the model loaded through DeskML's restricted unpickler
(``serve_local``). A keeper process (``supervise``) watches it and restarts it when it
crashes, as an engine restarts a container; the model's state file in the data folder
(keeper and service pids, port, version, restarts, the last crash and why) lets the
command line and the app find it again, and ``resume`` starts the models the user
left running after the computer restarted.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ...server.contract import SKOPS_TRUSTED_FILE, START_FAILED
from ..errors import ServiceUnhealthy
from ..paths import data_dir, slug
from .base import Running, choose_port, member_key, scores_from, start_failure, wait_healthy
from .supervise import read_state, write_state


def _state_dir() -> Path:
    d = data_dir() / "run"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _state_file(model: str) -> Path:
    return _state_dir() / f"{slug(model)}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        pass
    # nor one of another process (the app started it, the command line stops it): it has
    # ended, and only waits for its parent to read its exit
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def run(registry, model: str, version: str | None = None, port: int | None = None,
        default_port: int = 8600, timeout: float = 60.0, journal=None, member: bool = False) -> Running:
    """Start the model's service under its keeper and wait until it answers its health check.
    ``journal``: the folder its prediction journal goes to (None: no journal). ``member``:
    the version's own service behind the front door, on ``port`` (this computer only)."""
    v = registry.get(model, version)
    key = member_key(model, v.version) if member else model
    stop(key)
    if member:
        chosen, note = port, ""
    else:
        chosen, note = choose_port(model, registry, port, default_port)
        registry.set_port(model, chosen)
    log_path = data_dir() / "logs" / f"{_state_file(key).stem}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = _environment()
    cmd = [*serve_command(model, v), "--port", str(chosen), "--journal", str(journal) if journal is not None else "off"]
    offset = log_path.stat().st_size if log_path.exists() else 0
    url = f"http://127.0.0.1:{chosen}"
    state_path = _state_file(key)
    write_state(state_path, {"model": model, "version": v.version, "port": chosen, "url": url, "log": str(log_path),
                             "cmd": cmd, "env": env, "status": "starting", "restarts": 0, "pid": None,
                             "started": time.time(), "member": member})
    keeper = keep(state_path, env)

    def alive():
        st = read_state(state_path) or {}
        return keeper.poll() is None and st.get("status") in ("starting", "running") and not st.get("restarts")

    try:
        wait_healthy(url, timeout, alive=alive)
    except ServiceUnhealthy as err:
        crashed = not alive()
        stop(key)
        with open(log_path, "rb") as f:  # this start's lines only
            f.seek(offset)
            log = f.read().decode("utf-8", "replace")[-20000:]
        if crashed or START_FAILED in log:
            raise start_failure(model, log) from None
        err.details = log[-3000:]
        raise
    st = read_state(state_path) or {}
    return Running(model=model, version=v.version, url=url, port=chosen, state="running", health="healthy",
                   container_id=f"pid {st.get('pid')}", note=note)


def keep(state_path: Path, env: dict) -> subprocess.Popen:
    """Start a keeper (``supervise``) for what the state file describes, in a session of its own."""
    return subprocess.Popen([sys.executable, "-m", "deskml.core.runtimes.supervise", str(state_path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **env}, start_new_session=True)


def end(state_path: Path) -> bool:
    """Stop the keeper a state file names and what it keeps (gracefully, then for sure); forget the state."""
    st = read_state(state_path)
    if st is None:
        return False
    stopped = False
    for pid in (st.get("keeper"), st.get("pid")):
        if pid and _alive(pid):
            stopped = True
            _end_group(pid)
    Path(state_path).unlink(missing_ok=True)
    return stopped


def _environment() -> dict:
    root = str(Path(__file__).resolve().parents[3])
    return {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def serve_command(model: str, v) -> list[str]:
    """The serving app's command line for a version, loaded through ``serve_local``."""
    cmd = [sys.executable, "-m", "deskml.core.runtimes.serve_local", *_loader_args(v), "--",
           "--model", v.info["path"], "--name", model, "--version", v.version]
    skops = Path(v.info["path"]).with_name(SKOPS_TRUSTED_FILE)
    if skops.exists():
        cmd += ["--skops-trusted", str(skops)]
    return cmd


def score(registry, model: str, version: str, rows: list, timeout: float = 600.0) -> dict:
    """The version's answers for rows that are not traffic (``server/score.py``): no port,
    no journal. Raises ServiceUnhealthy with the reason when the model cannot answer."""
    v = registry.get(model, version)
    try:
        proc = subprocess.run([*serve_command(model, v), "--score", "-"], input=json.dumps({"rows": rows}),
                              capture_output=True, text=True, timeout=timeout, env={**os.environ, **_environment()})
    except subprocess.TimeoutExpired:
        raise ServiceUnhealthy(f"{model} took more than {timeout:.0f} s to answer its reference data.",
                               "Give it a smaller reference file, then look again.") from None
    return scores_from(model, proc.stdout + "\n" + proc.stderr)


def _loader_args(v) -> list[str]:
    """How serve_local loads the version's file: what it was checked as, with the same policy."""
    info = v.info
    args = ["--sha256", v.model_sha256, "--format", info.get("format") or "joblib"]
    if info.get("compression"):
        args += ["--compression", info["compression"]]
    for module in info.get("trusted") or []:
        args += ["--trust", module]
    for code in info.get("code") or []:
        args += ["--code", code]
    return args


def _running(model: str, st: dict) -> Running:
    """What a state file says, checked against the processes that really run."""
    keeper_alive = bool(st.get("keeper")) and _alive(st["keeper"])
    service_alive = bool(st.get("pid")) and _alive(st["pid"])
    status = st.get("status")
    if service_alive and status in ("running", "starting"):
        state, health = "running", "healthy"
    elif keeper_alive and status in ("restarting", "running", "starting"):
        state, health = "restarting", "starting"
    elif status == "gave-up":
        state, health = "crashed", "unhealthy"
    elif not keeper_alive and status in ("running", "restarting", "starting"):
        state, health = "crashed", "none"  # the keeper itself is gone (the computer restarted)
    else:
        state, health = "stopped", "none"
    return Running(model=st.get("model", model), version=st.get("version", "?"), url=st.get("url", ""),
                   port=st.get("port", 0), state=state, health=health, container_id=f"pid {st.get('pid')}",
                   restarts=int(st.get("restarts") or 0), crashed_at=st.get("crashed_at"),
                   reason=st.get("reason") or "")


def status(members: bool = False) -> list[Running]:
    """The services of the state files: the models' own (before the front door), or with
    ``members`` the versions' services behind front doors."""
    out = []
    for f in sorted(_state_dir().glob("*.json")):
        st = read_state(f)
        if st is not None and bool(st.get("member")) == members:
            out.append(_running(f.stem, st))
    return out


def members(model: str) -> list[Running]:
    """The versions' services of ``model`` behind its front door, as they are now."""
    return [r for r in status(members=True) if r.model == model]


def find(model: str) -> Running | None:
    """The model's local service as it is now (running, restarting, crashed), or None."""
    st = read_state(_state_file(model))
    if st is None:
        return None
    r = _running(model, st)
    return r if r.state in ("running", "restarting", "crashed") else None


def stop(model: str) -> bool:
    """Stop the keeper and its service (gracefully, then for sure); forget the state."""
    return end(_state_file(model))


def _end_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    for _ in range(150):
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def logs(model: str, tail: int = 200) -> str | None:
    f = _state_file(model)
    if not f.exists():
        return None
    path = Path(json.loads(f.read_text())["log"])
    lines = path.read_text(errors="replace").splitlines()[-tail:] if path.exists() else []
    return "\n".join(lines) + ("\n" if lines else "")
