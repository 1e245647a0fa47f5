"""Where DeskML keeps its files: the user's data and config folders.

``DESKML_HOME`` puts everything under one folder (tests, portable installs);
otherwise platformdirs gives each OS its usual place.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """``DESKML_HOME``/data, else the folder chosen in Settings, else the OS's usual place."""
    home = os.environ.get("DESKML_HOME")
    d = Path(home) / "data" if home else (_chosen_data_folder()
                                          or Path(platformdirs.user_data_dir("DeskML", appauthor=False)))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _chosen_data_folder() -> Path | None:
    """The settings' data folder, read here directly (settings.py builds on this module)."""
    import json

    try:
        chosen = json.loads((config_dir() / "settings.json").read_text(encoding="utf-8")).get("data_folder")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(chosen).expanduser() if isinstance(chosen, str) and chosen.strip() else None


def config_dir() -> Path:
    home = os.environ.get("DESKML_HOME")
    d = Path(home) / "config" if home else Path(platformdirs.user_config_dir("DeskML", appauthor=False))
    d.mkdir(parents=True, exist_ok=True)
    return d


def cache_dir() -> Path:
    """``DESKML_HOME``/cache, else the OS's usual cache folder: what can be made again."""
    home = os.environ.get("DESKML_HOME")
    d = Path(home) / "cache" if home else Path(platformdirs.user_cache_dir("DeskML", appauthor=False))
    d.mkdir(parents=True, exist_ok=True)
    return d


def slug(text: str) -> str:
    """A name safe for image tags, container names and folder names."""
    s = re.sub(r"[^a-z0-9_.-]+", "-", str(text).lower()).strip("-.")
    return s[:100] or "model"


def model_folder(model: str) -> Path:
    """A model's own folder in the data folder: its local versions, its reference data, its
    prediction journal."""
    d = data_dir() / "models" / slug(model)
    d.mkdir(parents=True, exist_ok=True)
    return d


def version_folder(model: str, version: str) -> Path:
    d = model_folder(model) / slug(version)
    d.mkdir(parents=True, exist_ok=True)
    return d


def keep_reference(model: str, version: str, reference) -> str | None:
    """The reference data given when a version was made, copied beside the version (the
    baseline its drift is measured against: a file the user later moves is no loss)."""
    import shutil

    if not reference:
        return None
    src = Path(reference).expanduser()
    dst = version_folder(model, version) / ("reference" + src.suffix.lower())
    shutil.copyfile(src, dst)
    return str(dst)


def with_reference_name(info: dict, reference) -> dict:
    """The version's info, with the name the reference data had when it was given (its copy
    beside the version is called reference.csv or reference.xlsx)."""
    return {**info, "reference_file": Path(reference).name} if reference else info


def write_whole(path: Path, data: bytes) -> Path:
    """Write a file whole: a half-written file never takes the name of a good one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
