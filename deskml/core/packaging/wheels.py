"""The wheels an image installs, downloaded on the host for the image's platform.

Containers cannot reach a package index here, and builds should repeat: ``pip
download`` runs on the host into a cache keyed by the dependency set, and the
image installs from it with no index.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from ..errors import BuildFailed
from ..paths import data_dir
from .plan import _pip, platform_args


def wheel_cache_dir(requirements: list[str], python: str, arch: str) -> Path:
    key = hashlib.sha256(json.dumps([sorted(requirements), python, arch]).encode()).hexdigest()[:16]
    return data_dir() / "wheels" / f"py{python}-{arch}-{key}"


_WHEEL = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)-")


def download_wheels(requirements: list[str], python: str, arch: str) -> tuple[Path, list[str]]:
    """Wheels for the image's platform, cached; returns (folder, exact pins)."""
    folder = wheel_cache_dir(requirements, python, arch)
    lock = folder / "requirements.lock"
    if lock.exists():
        return folder, lock.read_text().split()
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    wanted = list(requirements)
    for _ in range(6):  # pip evaluates markers for this computer's Python: close the set for the image's
        proc = _pip(["download", "-q", "-d", str(tmp), *platform_args(python, arch), *wanted])
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise BuildFailed(
                f"DeskML could not download the libraries the model needs for Python {python}.",
                "Check the internet connection and try again; the libraries are kept for later builds.",
                details=proc.stderr[-3000:])
        wanted = missing_requirements(tmp, python, arch)
        if not wanted:
            break
    pins = []
    for whl in sorted(tmp.glob("*.whl")):
        m = _WHEEL.match(whl.name)
        if m:
            pins.append(f"{m['name'].replace('_', '-').lower()}=={m['version']}")
    (tmp / "requirements.lock").write_text("\n".join(pins) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder, pins


def _target_environment(python: str, arch: str) -> dict:
    return {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": arch, "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


def missing_requirements(folder: Path, python: str, arch: str) -> list[str]:
    """Requirements of the downloaded wheels, as the image's Python sees them, that no
    downloaded wheel satisfies (pip download judges markers like python_version < "3.11"
    by the Python running pip, not by --python-version)."""
    import email.parser
    import zipfile

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    env = _target_environment(python, arch)
    have, needs = {}, []
    for whl in folder.glob("*.whl"):
        m = _WHEEL.match(whl.name)
        if not m:
            continue
        have[canonicalize_name(m["name"])] = m["version"]
        with zipfile.ZipFile(whl) as z:
            meta = next((n for n in z.namelist() if n.endswith(".dist-info/METADATA")), None)
            if meta is None:
                continue
            headers = email.parser.Parser().parsestr(z.read(meta).decode("utf-8", "replace"), headersonly=True)
        for text in headers.get_all("Requires-Dist") or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate(env):
                needs.append(req)
    missing = []
    for req in needs:
        version = have.get(canonicalize_name(req.name))
        if version is None or (req.specifier and not req.specifier.contains(version, prereleases=True)):
            missing.append(f"{req.name}{req.specifier}")
    return sorted(set(missing))
