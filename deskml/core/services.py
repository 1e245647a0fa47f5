"""One entry point for the model services, whichever runtime runs them.

A version built into an image runs as a container; where no container engine
answers (or the version was recorded without one), it runs as a local process.
The command line and the app call these functions and never choose themselves.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from .runtimes import container, process
from .errors import DeskMLError, EngineUnavailable, NotFound
from .runtimes.base import Running


def engine(settings):
    """A docker client, or None when no engine answers."""
    from .runtimes.engine import connect

    try:
        return connect(settings.docker_host, timeout=5)
    except EngineUnavailable:
        return None


@contextmanager
def _engine(settings):
    """engine(), closed afterwards (the app asks every few seconds: no pile of open connections)."""
    client = engine(settings)
    try:
        yield client
    finally:
        if client is not None:
            client.close()


def package(settings, registry, info, name: str, version: str | None = None, reference: str | None = None,
            code_files=(), cancel=lambda: False):
    """Make a new version: an image when an engine answers, else a version recorded to run
    as a local process. Yields BuildEvents (the last local one says why); returns the Version."""
    from . import packaging
    from .errors import UsageError

    name = (name or "").strip()
    if not name:
        raise UsageError("The model needs a name.", 'Give it one, e.g. "Returning customers".')
    with _engine(settings) as client:
        if client is None:
            v = packaging.record_local(registry, info, name, version, reference, code_files)
            yield packaging.BuildEvent(1, 1, local_note(info), note=True)
        else:
            v = yield from packaging.package(client, registry, info, name, version,
                                             settings.base_image_for("{python}"), reference=reference,
                                             code_files=code_files, cancel=cancel)
    registry.audit(name, "deploy", v.version, detail=deploy_words(v))
    return v


def deploy_words(v) -> str:
    """What a deploy line of the audit log says of the version made."""
    from pathlib import Path

    made = "an image" if v.tag else "a local process (no container engine)"
    file = Path((v.info or {}).get("path") or (v.info or {}).get("file_name") or "?").name
    return (f"{file} (SHA-256 {v.model_sha256[:12]}…), scikit-learn {v.sklearn_version or '?'}, "
            f"Python {v.python or '?'}, as {made}" + (", with reference data" if v.reference else ""))


def local_note(info) -> str:
    """Why a version was recorded without an image, in plain words."""
    other = (f" (with scikit-learn {info.installed_sklearn_version}, not the file's {info.sklearn_version})"
             if info.sklearn_version and info.sklearn_version != info.installed_sklearn_version else "")
    return ("No container engine answers, so DeskML did not package the model into an image: it will run "
            f"as a local process on this computer{other}. Install or start Docker, then package it again, "
            "to get an image with the file's own versions.")


def start(settings, registry, model: str, version: str | None = None, port: int | None = None,
          lan: bool = False) -> Running:
    """Start a version (the newest when none is named) with its prediction journal, and
    remember that the user wants it running (it comes back after a crash or a restart)."""
    v = registry.get(model, version)
    journal = prepare_journal(registry, model, v)
    with _engine(settings) if v.tag else nullcontext() as client:  # a local version needs no engine
        if client is not None:
            process.stop(model)
            running = container.run(client, registry, model, v.version, port=port,
                                    default_port=settings.default_port, lan=lan, network=settings.network,
                                    journal=journal)
            _started(registry, model, running)
            return running
    if lan:
        from .errors import UsageError
        raise UsageError("Network access is available for models running in a container.",
                         "Start Docker and build the model again, then use --lan.")
    runtime_note = ("No container engine answers, so DeskML runs it as a local process on this computer."
                    if v.tag else "This version was recorded without a container engine: it runs as a local process.")
    running = process.run(registry, model, v.version, port=port, default_port=settings.default_port, journal=journal)
    running.note = " ".join(n for n in (runtime_note, running.note) if n)
    _started(registry, model, running)
    from . import autostart
    autostart.keep(registry)
    return running


def score(settings, registry, model: str, version: str, rows: list) -> dict:
    """A version's answers for rows that are not traffic (its labelled reference data), from
    the runtime it is served by: its image where an engine answers, else a local process."""
    v = registry.get(model, version)
    with _engine(settings) if v.tag else nullcontext() as client:
        if client is not None:
            return container.score(client, registry, model, v.version, rows)
    return process.score(registry, model, v.version, rows)


def _started(registry, model: str, running: Running) -> None:
    registry.set_desired(model, "running", running.version)
    registry.add_event(model, "started", f"version {running.version} at {running.url}")


def prepare_journal(registry, model: str, version):
    """The model's journal folder, with what the service must know (inputs never stored)."""
    from .monitoring.config import journal_config, write_config
    from .monitoring.store import journal_folder
    from .paths import model_folder

    folder = journal_folder(model_folder(model))
    masked = registry.settings(model).get("masked_inputs") or []
    write_config(folder, journal_config(version, masked))
    return folder


def resume(settings, registry) -> list[tuple[str, Running | Exception]]:
    """Start again every model the user left running that is not running now (after the
    computer restarted, or a crash the keeper gave up on is not retried: only what is gone)."""
    out = []
    for model in registry.wanted_running():
        found = find(settings, model)
        if found is not None and found.state in ("running", "restarting"):
            continue
        try:
            out.append((model, start(settings, registry, model, registry.desired_version(model))))
        except DeskMLError as err:
            out.append((model, err))
    return out


def find(settings, model: str) -> Running | None:
    found = process.find(model)
    if found is not None:
        return found
    with _engine(settings) as client:
        c = container.find_container(client, model) if client is not None else None
        return container.status_of(c) if c is not None else None


def url_of(settings, model: str) -> str:
    found = find(settings, model)
    if found is None or found.state not in ("running", "restarting"):
        raise NotFound(f"{model} is not running.", f"Start it with: deskml run '{model}'")
    return found.url


def all_services(settings) -> list[Running]:
    """Every model's service there is: running, restarting, or crashed."""
    with _engine(settings) as client:
        items = container.status(client) if client is not None else []
    return items + [r for r in process.status() if r.state in ("running", "restarting", "crashed")]


def stop(settings, model: str, registry=None) -> bool:
    """Stop the model's service, and remember it was the user who stopped it."""
    stopped = process.stop(model)
    with _engine(settings) as client:
        if client is not None:
            stopped = container.stop(client, model) or stopped
    if registry is not None:
        registry.set_desired(model, "stopped")
        registry.add_event(model, "stopped", "by you")
        from . import autostart
        autostart.keep(registry)
    return stopped


def logs(settings, model: str, tail: int = 200) -> str:
    text = process.logs(model, tail)
    if text is not None:
        return text
    with _engine(settings) as client:
        if client is None:
            raise NotFound(f"{model} is not running.", f"Start it with: deskml run '{model}'")
        return container.logs(client, model, tail)


@dataclass
class ModelState:
    """One line of the home's model list (and of ``deskml status``)."""
    model: str
    version: str           # the newest version
    versions: int
    state: str             # "running", "stopped", "starting", "restarting", "failed", "crashed"
    url: str = ""
    running_version: str = ""
    detail: str = ""       # in words: "stopped by you at 14:02", "crashed at 13:55, restarted 2 times"
    restarts: int = 0
    crashed_at: float | None = None


def overview(settings, registry) -> list[ModelState]:
    """Every model of the registry with what runs now (one engine query for all)."""
    running = {r.model: r for r in all_services(settings)}
    out = []
    for model in registry.models():
        versions = registry.versions(model)
        if not versions:
            continue
        r = running.get(model)
        desired, desired_at = registry.desired(model)
        if r is None:
            state = "stopped"
        elif r.state == "running":
            state = "running" if r.health in ("healthy", "none") else (
                "failed" if r.health == "unhealthy" else "starting")
        elif r.state in ("restarting", "created"):
            state = "starting"
        elif r.state == "crashed":
            state = "crashed"
        else:
            state = "failed" if r.state in ("exited", "dead") else r.state
        out.append(ModelState(model, versions[-1].version, len(versions), state, r.url if r else "",
                              r.version if r else "", detail=state_words(state, r, desired, desired_at),
                              restarts=r.restarts if r else 0, crashed_at=r.crashed_at if r else None))
    return out


def state_words(state: str, r: Running | None, desired: str, desired_at: float | None) -> str:
    """A model's state in plain words, telling "stopped by you" from "crashed", with when."""
    from datetime import datetime

    def when(t):
        if not t:
            return ""
        moment = datetime.fromtimestamp(t)
        return (f" at {moment:%H:%M}" if moment.date() == datetime.now().date()
                else f" on {moment:%d %b} at {moment:%H:%M}")
    restarts = f", restarted {r.restarts} time{'s' if r.restarts != 1 else ''}" if r and r.restarts else ""
    if state == "running":
        return ("running" + (f" (it crashed{when(r.crashed_at)}{restarts})" if r and r.crashed_at else "")).strip()
    if state in ("starting", "restarting") and r is not None and r.crashed_at:
        return f"crashed{when(r.crashed_at)}, restarting{restarts}"
    if state == "crashed" and r is not None:
        return f"crashed{when(r.crashed_at)} and DeskML gave up{restarts}" + (f": {r.reason}" if r.reason else "")
    if state in ("stopped",) and desired == "stopped":
        return f"stopped by you{when(desired_at)}" if desired_at else "stopped"
    if state == "stopped" and desired == "running":
        return "not running (it was running before; DeskML starts it again)"
    return state
