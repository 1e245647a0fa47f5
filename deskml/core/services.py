"""One entry point for the model services, whichever runtime runs them.

A version built into an image runs as a container; where no container engine
answers (or the version was recorded without one), it runs as a local process.
The command line and the app call these functions and never choose themselves.
"""
from __future__ import annotations

import json
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from .runtimes import container, process
from .errors import DeskMLError, EngineUnavailable, NotFound
from .reference import read_table
from .runtimes.base import Running


def engine(settings):
    """A docker client, or None when no engine answers."""
    from .runtimes.engine import connect

    try:
        return connect(settings.docker_host, timeout=5)
    except EngineUnavailable:
        return None


_locks: dict = {}
#: called with the model's name when a change has to wait for another one under way (the
#: command line says so, instead of seeming to hang); the app's jobs just wait
on_wait = None


@contextmanager
def changing(model: str, timeout: float = 600.0):
    """Hold the model's lock while what runs for it changes (start, stop, switch, resume):
    a Stop clicked while the app's welcome starts models again, or a second window, or the
    command line, waits for the change under way instead of undoing it halfway. The lock is
    a file (other processes see it) and re-entrant in one thread (start inside promote)."""
    from filelock import FileLock, Timeout

    from .errors import Busy
    from .paths import data_dir, slug

    path = data_dir() / "locks" / f"{slug(model)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _locks.get(str(path)) or _locks.setdefault(str(path), FileLock(str(path)))
    try:
        try:
            lock.acquire(timeout=0.5)
        except Timeout:
            if on_wait is not None:
                on_wait(model)
            lock.acquire(timeout=timeout)
    except Timeout:
        raise Busy(f"{model} is being started or stopped by something else.",
                   "Wait a minute, then try again.") from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _engine(settings):
    """engine(), closed afterwards (the app asks every few seconds: no pile of open connections)."""
    client = engine(settings)
    try:
        yield client
    finally:
        if client is not None:
            client.close()


def engine_for(settings, v):
    """The engine a version needs (a context manager): the engine for an image; none for a
    version that runs as a local process."""
    return _engine(settings) if v.tag else nullcontext()


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
    """Start a version (the newest when none is named) behind the model's one address, with
    its prediction journal, and remember that the user wants it running (it comes back after
    a crash or a restart). A model already running switches to it with no failed request."""
    from .experiments import switch

    v = registry.get(model, version)
    journal = prepare_journal(registry, model, v)
    with changing(model):
        with engine_for(settings, v) as client:  # a local version needs no engine
            running = switch.go_live(settings, client, registry, model, v.version, port=port, lan=lan,
                                     journal=journal)
        _started(registry, model, running)  # in the lock: a Stop waiting for it comes after, and wins
    if not (client is not None and v.tag):
        runtime_note = ("No container engine answers, so DeskML runs it as a local process on this computer."
                        if v.tag else "This version was recorded without a container engine: it runs as a local "
                                      "process.")
        running.note = " ".join(n for n in (runtime_note, running.note) if n)
    from . import autostart
    autostart.keep(registry)
    return running


def promote(settings, registry, model: str, version: str, detail: str = "", with_check: bool = False,
            despite_check: bool = False, progress=lambda what, done, total: None) -> Running:
    """Make ``version`` the live one at the model's address (started first; no failed request).
    An A/B or shadow test running ends with it. ``with_check``: the version's pre-release check
    comes first (the one it has, else a new one); a failed one raises CheckFailed unless
    ``despite_check``, and then the audit log says so."""
    from .errors import CheckFailed
    from .report.check import CheckResult
    from .runtimes import front_door

    if with_check:
        v = registry.get(model, version)
        kept = registry.latest_check(model, v.version)
        result = CheckResult.from_dict(kept) if kept else check(settings, registry, model, v.version, progress=progress)
        if not result.passed:
            if not despite_check:
                raise CheckFailed(result.headline(),
                                  f"See the whole check with: deskml check '{model}:{v.version}'. Fix the model, or "
                                  "promote it anyway (the audit log will say so): --despite-check, or 'Make live "
                                  "anyway' in the app.")
            detail = "; ".join(d for d in (detail, "despite a failed pre-release check: " + result.headline()) if d)

    before = _live(settings, model)
    door = front_door.find(model, ask=False)
    tested = door.challenger() if door is not None else None
    running = start(settings, registry, model, version)
    if tested:
        registry.audit(model, "ab-stop" if tested.get("mode") == "split" else "shadow-stop", tested["version"],
                       previous=before, detail=f"ended: version {running.version} was made live")
    registry.audit(model, "promote", running.version, previous=before, detail=detail)
    return running


def rollback(settings, registry, model: str) -> Running:
    """Back to the version that was live before the current one."""
    current = _live(settings, model)
    if current is None:
        raise NotFound(f"{model} is not running, so there is nothing to roll back.",
                       f"Start the version you want: deskml run '{model}:VERSION'")
    target = None
    for entry in reversed(registry.history(model)):
        if entry["action"] in ("promote", "rollback") and entry["version"] == current and entry.get("previous"):
            target = entry["previous"]
            break
    if target is None:
        from .errors import UsageError
        raise UsageError(f"Version {current} of {model} was not promoted over another, so there is no version "
                         "to go back to.", f"Start the version you want: deskml run '{model}:VERSION'")
    running = start(settings, registry, model, target)
    registry.audit(model, "rollback", running.version, previous=current)
    return running


def check(settings, registry, model: str, version: str | None = None, load_seconds: float = 10.0,
          progress=lambda what, done, total: None):
    """The pre-release check of a version (``report/check.py``), against its own running
    service (started for the check when it is not running, and stopped after), compared with
    the live version. Kept with the version and in the audit log."""
    from .experiments import switch
    from .report import check as pre_release
    from .runtimes import front_door

    v = registry.get(model, version)
    journal = prepare_journal(registry, model, v)
    door = front_door.find(model, ask=False)
    door = door if door is not None and door.kept else None
    live = door.config.get("live") if door is not None else None
    tested = (door.challenger() or {}).get("version") if door is not None else None
    lan = door is not None and door.host != "127.0.0.1"
    key = registry.api_key(model) if lan else None
    inputs = list((v.info or {}).get("inputs") or [])
    rows = []
    if v.reference:
        try:
            frame = read_table(v.reference)
            if all(i["name"] in frame.columns for i in inputs):
                rows = json.loads(frame.head(pre_release.AGREEMENT_ROWS).to_json(orient="records"))
        except DeskMLError:
            rows = []  # reference data moved or unreadable: the edge cases come from the inputs alone
    live_info = {}
    if live and live.get("version") != v.version:
        try:
            live_info = registry.get(model, live["version"]).info or {}
        except NotFound:
            live_info = {}
    with engine_for(settings, v) as client:
        before = switch.member_status(client, model, v.version)
        with changing(model):
            member = switch.start_member(settings, client, registry, model, v.version, lan, journal)
        try:
            auth = f"{key}@" if key else ""
            live_url = (f"http://{auth}{live['address']}" if live and live.get("version") != v.version
                        else None)
            result = pre_release.run(model, v.version, f"http://{auth}127.0.0.1:{member.port}", inputs,
                                     bool((v.info or {}).get("positional")), rows, live_url,
                                     live.get("version") if live_url else None, load_seconds, progress,
                                     live_info.get("inputs"), live_info.get("positional"))
        finally:
            kept = before is not None and before.state == "running"
            if not kept and v.version not in ((live or {}).get("version"), tested):
                switch.stop_member(client, model, v.version)
    registry.add_check(model, v.version, result.to_dict())
    registry.audit(model, "check", v.version, detail=result.headline())
    return result


def start_test(settings, registry, model: str, version: str, mode: str, share: float = 0.1) -> dict:
    """An A/B ("split") or shadow test of ``version`` beside the live one, at the same address."""
    from .experiments import switch

    v = registry.get(model, version)
    journal = prepare_journal(registry, model, v)
    with changing(model), _engine(settings) as client:
        started = switch.start_test(settings, client, registry, model, v.version, mode, share, journal)
    registry.audit(model, "ab-start" if mode == "split" else "shadow-start", v.version, previous=started["live"],
                   detail=f"{share:.0%} of prediction requests" if mode == "split" else "a copy of every request")
    return started


def stop_test(settings, registry, model: str) -> str | None:
    from .experiments import switch
    from .runtimes import front_door

    with changing(model), _engine(settings) as client:
        door = front_door.find(model, ask=False)
        mode = (door.challenger() or {}).get("mode") if door else None
        stopped = switch.stop_test(settings, client, model)
    if stopped is not None:
        registry.audit(model, "ab-stop" if mode == "split" else "shadow-stop", stopped,
                       previous=door.live_version())
    return stopped


def behind(settings, model: str) -> list[dict]:
    """Which versions answer behind the model's address, and how."""
    from .experiments import switch

    with _engine(settings) as client:
        return switch.behind(client, model)


def writers(settings, model: str) -> list[Running] | None:
    """The services writing the model's journal now: every version behind its address (the
    live one, a challenger, one kept warm), or None for a model started before the front door."""
    from .experiments import switch
    from .runtimes import front_door

    if front_door.find(model, ask=False) is None:
        return None
    with _engine(settings) as client:
        return switch.writers(client, model)


def _live(settings, model: str) -> str | None:
    from .runtimes import front_door

    door = front_door.find(model, ask=False)
    if door is not None and door.kept:
        return door.live_version()
    found = find(settings, model)
    return found.version if found is not None and found.state in ("running", "restarting") else None


def score(settings, registry, model: str, version: str, rows: list) -> dict:
    """A version's answers for rows that are not traffic (its labelled reference data), from
    the runtime it is served by: its image where an engine answers, else a local process."""
    v = registry.get(model, version)
    with engine_for(settings, v) as client:
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
        try:
            with changing(model):  # a Stop clicked meanwhile waits, then wins: no start after it
                if registry.desired(model)[0] != "running":
                    continue
                found = find(settings, model)
                if found is not None and found.state in ("running", "restarting"):
                    continue
                out.append((model, start(settings, registry, model, registry.desired_version(model))))
        except DeskMLError as err:
            out.append((model, err))
    return out


def find(settings, model: str) -> Running | None:
    """The model's address and the live version behind it (or, for a model started before
    the front door, its own service), as they are now; None when nothing runs."""
    from .experiments import switch
    from .runtimes import front_door

    with _engine(settings) as client:
        if front_door.find(model, ask=False) is not None:
            return switch.find(client, model)
        found = process.find(model)
        if found is not None:
            return found
        c = container.find_container(client, model) if client is not None else None
        return container.status_of(c) if c is not None else None


def url_of(settings, model: str) -> str:
    found = find(settings, model)
    if found is None or found.state not in ("running", "restarting"):
        raise NotFound(f"{model} is not running.", f"Start it with: deskml run '{model}'")
    return found.url


def all_services(settings) -> list[Running]:
    """Every model's service there is: running, restarting, or crashed (one per model)."""
    from .experiments import switch
    from .runtimes import front_door

    with _engine(settings) as client:
        switch.expire_warm(client)
        items = [r for r in (switch.find(client, m) for m in front_door.doors()) if r is not None]
        seen = {r.model for r in items}
        items += [r for r in (container.status(client) if client is not None else []) if r.model not in seen]
    return items + [r for r in process.status() if r.state in ("running", "restarting", "crashed")
                    and r.model not in seen]


def stop(settings, model: str, registry=None) -> bool:
    """Stop the model: its address and every version behind it; remember it was the user."""
    from .experiments import switch

    with changing(model):
        if registry is not None:  # first: a welcome or a resume looking now does not start it again
            registry.set_desired(model, "stopped")
        stopped = process.stop(model)
        with _engine(settings) as client:
            stopped = switch.stop_all(client, model) or stopped
            if client is not None:
                stopped = container.stop(client, model) or stopped
    if registry is not None:
        registry.add_event(model, "stopped", "by you")
        from . import autostart
        autostart.keep(registry)
    return stopped


def logs(settings, model: str, tail: int = 200) -> str:
    """The log of the live version's service (or of the model's own, started before the front door)."""
    from .runtimes import front_door
    from .runtimes.base import member_key

    door = front_door.find(model, ask=False)
    key = member_key(model, door.live_version()) if door is not None and door.live_version() else model
    text = process.logs(key, tail)
    if text is not None:
        return text
    with _engine(settings) as client:
        if client is None:
            raise NotFound(f"{model} is not running.", f"Start it with: deskml run '{model}'")
        if door is not None and door.live_version():
            c = container.member_container(client, model, door.live_version())
            if c is not None:
                return c.logs(tail=tail).decode("utf-8", "replace")
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
