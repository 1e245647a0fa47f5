"""Run a model as a local process: the runtime for computers without a container engine.

The same serving app as in the image (``python -m deskml.server``), started
from this Python, so it uses this computer's scikit-learn (the version note at
build time says when that differs from the file's). Each running model has a
small state file (pid, port, version) in the data folder, so the command line
and the app find it again.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..paths import data_dir, slug
from ...server.contract import SKOPS_TRUSTED_FILE, START_FAILED
from ..errors import ServiceUnhealthy
from .base import Running, choose_port, start_failure, wait_healthy


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
        return True


def run(registry, model: str, version: str | None = None, port: int | None = None,
        default_port: int = 8600, timeout: float = 60.0) -> Running:
    v = registry.get(model, version)
    stop(model)
    chosen, note = choose_port(model, registry, port, default_port)
    log_path = data_dir() / "logs" / f"{_state_file(model).stem}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "deskml.core.runtimes.serve_local", *_loader_args(v), "--",
           "--model", v.info["path"], "--name", model, "--version", v.version, "--port", str(chosen)]
    skops = Path(v.info["path"]).with_name(SKOPS_TRUSTED_FILE)
    if skops.exists():
        cmd += ["--skops-trusted", str(skops)]
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    registry.set_port(model, chosen)
    url = f"http://127.0.0.1:{chosen}"
    state = {"model": model, "pid": proc.pid, "port": chosen, "version": v.version, "url": url, "log": str(log_path),
             "started": time.time()}
    _state_file(model).write_text(json.dumps(state))
    try:
        wait_healthy(url, timeout, alive=lambda: proc.poll() is None)
    except ServiceUnhealthy as err:
        crashed = proc.poll() is not None
        stop(model)
        with open(log_path, "rb") as f:  # this start's lines only
            f.seek(offset)
            log = f.read().decode("utf-8", "replace")[-20000:]
        if crashed or START_FAILED in log:
            raise start_failure(model, log) from None
        err.details = log[-3000:]
        raise
    return Running(model=model, version=v.version, url=url, port=chosen, state="running", health="healthy",
                   container_id=f"pid {proc.pid}", note=note)


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


def status() -> list[Running]:
    out = []
    for f in sorted(_state_dir().glob("*.json")):
        try:
            st = json.loads(f.read_text())
        except ValueError:
            continue
        alive = _alive(st["pid"])
        model = f.stem
        out.append(Running(model=st.get("model", model), version=st["version"], url=st["url"], port=st["port"],
                           state="running" if alive else "stopped", health="healthy" if alive else "none",
                           container_id=f"pid {st['pid']}"))
    return out


def find(model: str) -> Running | None:
    f = _state_file(model)
    if not f.exists():
        return None
    st = json.loads(f.read_text())
    if not _alive(st["pid"]):
        return None
    return Running(model=model, version=st["version"], url=st["url"], port=st["port"], state="running",
                   health="healthy", container_id=f"pid {st['pid']}")


def stop(model: str) -> bool:
    f = _state_file(model)
    if not f.exists():
        return False
    st = json.loads(f.read_text())
    stopped = False
    if _alive(st["pid"]):
        try:
            os.killpg(st["pid"], signal.SIGTERM)
            for _ in range(50):
                if not _alive(st["pid"]):
                    break
                time.sleep(0.1)
            else:
                os.killpg(st["pid"], signal.SIGKILL)
            stopped = True
        except ProcessLookupError:
            pass
    f.unlink(missing_ok=True)
    return stopped


def logs(model: str, tail: int = 200) -> str | None:
    f = _state_file(model)
    if not f.exists():
        return None
    path = Path(json.loads(f.read_text())["log"])
    lines = path.read_text(errors="replace").splitlines()[-tail:] if path.exists() else []
    return "\n".join(lines) + ("\n" if lines else "")
