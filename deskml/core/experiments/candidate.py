"""A hands-off path from a new model file to a tested candidate, and the watched folders
that feed it.

``candidate`` takes one file through every step a careful engineer would, each in the audit
log: the file is inspected (the safety scan) and packaged as a new version; that version
starts beside the live one; it gets its pre-release check; and, when it passes and a version
is live, it goes into a shadow test. The user only approves the promotion. A failure at any
step is a plain alert, the live version untouched, and the candidate's service stopped.

A model may name a **watched folder** (``deskml watch NAME FOLDER``, kept in the model's
settings). ``scan`` looks at each one: a model file there whose SHA-256 no version has, and
that has not changed for ``SETTLE`` seconds (not still being copied), becomes a candidate.
Each file is tried once (its SHA-256 is remembered with the outcome), so a broken file
raises one alert, not one per scan.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle", ".skops")
SETTLE = 2.0          # seconds a file must stay unchanged before it is taken


@dataclass
class Candidate:
    model: str
    file: str
    version: str | None = None
    step: str = ""                 # the step it reached: packaged, started, checked, shadow
    ok: bool = False
    words: str = ""                # what happened, in plain words
    steps: list = field(default_factory=list)
    alert: dict | None = None      # the alert it raised: {model, rule, severity, headline, what_to_do}


_SHAS: dict = {}   # (path, size, mtime) -> SHA-256: a folder looked at every few seconds is read once


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _SHAS:
        return _SHAS[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    _SHAS[key] = h.hexdigest()
    return _SHAS[key]


def candidate(settings, registry, model: str, path, reference: str | None = None, trust=(), code=(),
              progress=lambda words: None) -> Candidate:
    """Inspect, package, start beside the live version, check, then shadow. Never raises for
    what the file or the model does: the result (and an alert) says it."""
    from .. import services
    from ..errors import DeskMLError
    from ..intake.inspection import inspect_file
    from ..runtimes import front_door
    from . import switch

    path = Path(path)
    out = Candidate(model, path.name)

    def step(name, words):
        out.step = name
        out.steps.append(words)
        progress(words)
        registry.audit(model, "candidate", out.version, detail=words)

    try:
        info = inspect_file(path, trust=trust, code=code)
        if reference is None:
            try:
                reference = registry.get(model, registry.live_version(model)).reference
            except DeskMLError:
                reference = None
        events = services.package(settings, registry, info, model, reference=reference, code_files=code)
        while True:
            try:
                next(events)
            except StopIteration as stop:
                v = stop.value
                break
        out.version = v.version
        step("packaged", f"{path.name} was inspected and packaged as version {v.version}")
        door = front_door.find(model, ask=False)
        live = door.live_version() if door is not None and door.kept else None
        with services.engine_for(settings, v) as client:
            lan = door is not None and door.host != "127.0.0.1"
            with services.changing(model):
                switch.start_member(settings, client, registry, model, v.version, lan,
                                    services.prepare_journal(registry, model, v))
        step("started", f"version {v.version} started beside "
                        + (f"the live version {live}" if live else "no live version (the model is not running)"))
        result = services.check(settings, registry, model, v.version)
        out.step = "checked"
        if not result.passed:
            _stop(settings, model, v)
            return _failed(registry, out, f"version {v.version} failed its pre-release check: "
                                          f"{result.headline().split(': ', 1)[-1]}",
                           f"See the check in the Versions tab (or deskml check '{model}:{v.version}'). The live "
                           "version is untouched.")
        if live is None:
            _stop(settings, model, v)
            out.ok = True
            out.words = (f"Version {v.version} passed its check. Start the model to test it on real traffic: no "
                         "version is live, so no shadow test could start.")
            return out
        services.start_test(settings, registry, model, v.version, "shadow")
        step("shadow", f"version {v.version} passed its check and answers a copy of every request in a shadow test")
        out.ok = True
        out.words = (f"Version {v.version}, from {path.name}, passed its check and is in a shadow test beside version "
                     f"{live}. Promote it from the Versions tab when its result says so.")
        _alert(registry, out, "info", f"A new version ({v.version}) is being tested in the shadow of version {live}.",
               "Look at its result in the Versions tab; promote it when you are satisfied.")
        return out
    except DeskMLError as err:
        if out.version is not None:
            _stop(settings, model, registry.get(model, out.version))
        return _failed(registry, out, f"{path.name} did not become a candidate ({_at(out)}): {err.headline}",
                       err.what_to_do or "The live version is untouched.")


def _at(out: Candidate) -> str:
    return {"": "inspecting it", "packaged": "starting it", "started": "checking it",
            "checked": "testing it"}.get(out.step, out.step)


def _failed(registry, out: Candidate, headline: str, what_to_do: str) -> Candidate:
    out.ok = False
    out.words = headline
    out.steps.append(headline)
    registry.audit(out.model, "candidate", out.version, detail="failed: " + headline)
    _alert(registry, out, "warning", headline[0].upper() + headline[1:], what_to_do)
    return out


def _alert(registry, out: Candidate, severity: str, headline: str, what_to_do: str) -> None:
    out.alert = {"model": out.model, "rule": "candidate", "severity": severity, "headline": headline,
                 "what_to_do": what_to_do}
    registry.fire_alert(out.model, "candidate", severity, headline, what_to_do)


def _stop(settings, model: str, v) -> None:
    """The candidate's own service, unless it is live or the challenger of a running test."""
    from .. import services
    from ..runtimes import front_door
    from . import switch

    door = front_door.find(model, ask=False)
    if door is not None and v.version in (door.live_version(), (door.challenger() or {}).get("version")):
        return
    with services.engine_for(settings, v) as client:
        switch.stop_member(client, model, v.version)


# -- watched folders ---------------------------------------------------------------------------
def watch(registry, model: str, folder: str | None) -> dict:
    """Name (or, with None, forget) the model's watched folder."""
    from ..errors import UsageError

    if folder is not None:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise UsageError(f"There is no folder {path}.", "Choose a folder that exists; new model files put there "
                                                            "become candidates.")
        folder = str(path.resolve())
    registry.get(model)  # a clear message when there is no such model
    return registry.update_settings(model, watch_folder=folder)


def new_files(registry, model: str, now: float | None = None) -> list[Path]:
    """The model files in the model's watched folder not yet tried and no longer changing."""
    folder = registry.settings(model).get("watch_folder")
    if not folder or not Path(folder).is_dir():
        return []
    now = time.time() if now is None else now
    known = {v.model_sha256 for v in registry.versions(model)} | set(registry.settings(model).get("watch_seen") or {})
    out = []
    for path in sorted(Path(folder).iterdir()):
        try:
            if (not path.is_file() or path.suffix.lower() not in MODEL_SUFFIXES or path.name.startswith(".")
                    or now - path.stat().st_mtime < SETTLE):
                continue
            if _sha256(path) not in known:
                out.append(path)
        except OSError:
            continue  # gone or unreadable now: the next scan looks again
    return out


def scan(settings, registry, progress=lambda words: None) -> list[Candidate]:
    """Every model's watched folder, once: each new file becomes a candidate."""
    done = []
    for model in registry.models():
        for path in new_files(registry, model):
            try:
                sha = _sha256(path)
            except OSError:
                continue
            result = candidate(settings, registry, model, path, progress=progress)
            seen = dict(registry.settings(model).get("watch_seen") or {})
            seen[sha] = {"file": path.name, "at": time.time(), "ok": result.ok, "version": result.version}
            registry.update_settings(model, watch_seen=seen)
            done.append(result)
    return done
