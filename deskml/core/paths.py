"""Where DeskML keeps its files: the user's data and config folders.

``DESKML_HOME`` puts everything under one folder (tests, portable installs);
otherwise platformdirs gives each OS its usual place.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    home = os.environ.get("DESKML_HOME")
    d = Path(home) / "data" if home else Path(platformdirs.user_data_dir("DeskML", appauthor=False))
    d.mkdir(parents=True, exist_ok=True)
    return d


def config_dir() -> Path:
    home = os.environ.get("DESKML_HOME")
    d = Path(home) / "config" if home else Path(platformdirs.user_config_dir("DeskML", appauthor=False))
    d.mkdir(parents=True, exist_ok=True)
    return d
