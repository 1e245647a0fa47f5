"""Build a model's image through the docker SDK, and record the version.

    for event in package(client, registry, info, name, version, base): ...   # BuildEvents, then the Version

Plan (``plan.py``), download the wheels (``wheels.py``), write the context with
its Dockerfile (``dockerfile.py``), build with progress events and Cancel.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildFailed
from ..intake.inspection import copy_checked
from ..paths import keep_reference, with_reference_name
from ...server.contract import SKOPS_TRUSTED_FILE
from .dockerfile import dockerfile
from .plan import BuildPlan, available_pythons, plan_build
from .wheels import download_wheels


@dataclass
class BuildEvent:
    """One step of a build, for a progress bar and a live log."""
    step: int
    total: int
    message: str
    log: str = ""
    note: bool = False    # a sentence for the person (e.g. why no image was made), not a step


def _server_source() -> Path:
    return Path(__file__).resolve().parents[2] / "server"


def make_context(plan: BuildPlan, wheels: Path, into: Path, created: str | None = None, lean: bool = True) -> Path:
    """The build context: Dockerfile, lock, wheels, the serving app, code, model."""
    into.mkdir(parents=True, exist_ok=True)
    (into / "Dockerfile").write_text(dockerfile(plan, created, lean=lean))
    shutil.copy2(Path(__file__).with_name("lean_venv.py"), into / "lean.py")
    (into / "requirements.lock").write_text("\n".join(plan.locked) + "\n")
    shutil.copytree(wheels, into / "wheels", ignore=shutil.ignore_patterns("requirements.lock"))
    shutil.copytree(_server_source(), into / "server", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (into / "model").mkdir()
    copy_checked(plan.model_path, plan.model_sha256, into / "model" / plan.model_file)
    if plan.skops_types:
        (into / "model" / SKOPS_TRUSTED_FILE).write_text(json.dumps(plan.skops_types))
    if plan.code_files:
        (into / "code").mkdir()
        for f in plan.code_files:
            shutil.copy2(f, into / "code" / Path(f).name)
    return into


_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")


def _stop_if(cancel):
    if cancel():
        raise BuildFailed("The build was cancelled.", "Start it again when you are ready.")


def build_image(client, plan: BuildPlan, wheels: Path, cancel=lambda: False, lean: bool = True):
    """Build the image through the docker SDK, yielding BuildEvents; returns the image id."""
    with tempfile.TemporaryDirectory(prefix="deskml-build-") as tmp:
        ctx = make_context(plan, wheels, Path(tmp) / "ctx", lean=lean)
        yield BuildEvent(0, 1, "Sending the files to the container engine")
        step, total, image_id, log = 0, 1, None, []
        stream = client.api.build(path=str(ctx), tag=plan.tag, rm=True, forcerm=True, decode=True,
                                  pull=False)
        for chunk in stream:
            if cancel():
                _abandon(client, plan)
                _stop_if(cancel)
            if "error" in chunk:
                raise BuildFailed(
                    f"Packaging the model failed: {chunk['error'].strip()[:300]}",
                    "See the build log in the details; if the base image is missing, check Settings.",
                    details="".join(log[-200:]))
            text = chunk.get("stream", "")
            if text:
                log.append(text)
                m = _STEP.match(text.strip())
                if m:
                    step, total = int(m[1]), int(m[2])
                    yield BuildEvent(step, total, m[3][:120], text)
                else:
                    yield BuildEvent(step, total, "", text)
            aux = chunk.get("aux") or {}
            if "ID" in aux:
                image_id = aux["ID"]
        if image_id is None:
            image_id = client.images.get(plan.tag).id
        yield BuildEvent(total, total, "Done", "")
        return image_id


def _abandon(client, plan: BuildPlan, settle: float = 3.0) -> None:
    """A cancelled build: hang up on the engine (it stops building when its client goes), then
    remove what it made of this version before it stopped, so nothing of it turns up later."""
    import time

    from docker.errors import APIError

    from ...server.contract import LABEL_MODEL, LABEL_VERSION

    client.api.close()
    deadline = time.monotonic() + settle
    while True:
        made = client.images.list(all=True, filters={"label": [f"{LABEL_MODEL}={plan.name}",
                                                             f"{LABEL_VERSION}={plan.version}"]})
        for image in made:
            try:
                client.images.remove(image.id, force=True)
            except APIError:  # already gone, or still being committed: the next round
                pass
        if time.monotonic() >= deadline:
            return
        time.sleep(0.5)


def run_to_end(events, on_event=None):
    """Drive a build_image generator; returns the image id."""
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(event)


def package(client, registry, info, name: str, version: str | None, base_template: str,
            reference: str | None = None, code_files=(), cancel=lambda: False, lean: bool = True):
    """Plan, download, build and record a version: BuildEvents, then the registry Version."""
    from ..runtimes.engine import engine_arch

    version = version or registry.next_version(name)
    yield BuildEvent(0, 1, "Choosing the versions of Python and the libraries")
    plan = plan_build(info, name, version, base_template, arch=engine_arch(client),
                      available_pythons=available_pythons(client, base_template), code_files=code_files)
    yield BuildEvent(0, 1, plan.why)
    _stop_if(cancel)
    yield BuildEvent(0, 1, "Downloading the libraries (kept for later builds)")
    wheels, plan.locked = download_wheels(plan.requirements, plan.python, plan.platform_arch)
    _stop_if(cancel)
    image_id = yield from build_image(client, plan, wheels, cancel, lean=lean)
    return registry.add_version(
        name, version, image_id=image_id, tag=plan.tag, model_sha256=info.sha256,
        sklearn_version=plan.sklearn_version, python=plan.python, requirements=plan.locked,
        reference=keep_reference(name, version, reference), info=with_reference_name(info.to_dict(), reference))
