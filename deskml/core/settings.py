"""User settings, kept as JSON in the config folder.

Bad values get a clear message and the file is never overwritten behind the
user's back: a settings file that cannot be read is set aside (``.bad``) with
a warning, and defaults are used.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import SettingsError
from .paths import config_dir

DEFAULT_BASE_IMAGE = "python:{python}-slim"


@dataclass
class Settings:
    base_image: str = DEFAULT_BASE_IMAGE   # {python} is replaced by e.g. 3.11
    docker_host: str = ""                  # empty: the environment's (DOCKER_HOST) or the default socket
    default_port: int = 8600
    data_folder: str = ""                  # empty: the usual place for the OS (models, registry, logs)
    network: str = "auto"                  # "auto": the host's network on Linux engines; "published": always a proxy port
    load_timeout_s: float = 60.0
    load_memory_gb: float = 0.0            # 0: automatic (3 GB + 10x the file size)
    journal_max_mb: float = 1024.0         # every file of a model's prediction journal together, at most
    journal_raw_days: float = 90.0         # predictions kept one by one this long; their sums stay after
    keep_in_tray: bool = True              # closing the window while models run keeps DeskML in the tray
    notifications: bool = True             # serious alerts also as a desktop notification
    keep_warm_minutes: float = 10.0        # after a switch, the old version keeps running this long (instant roll back)

    def validate(self) -> "Settings":
        if "{python}" not in self.base_image and ":" not in self.base_image:
            raise SettingsError(
                f"The base image '{self.base_image}' has no tag.",
                "Use a name with {python} where the Python version goes, e.g. python:{python}-slim.")
        if not (1024 <= int(self.default_port) <= 65535):
            raise SettingsError(f"The default port {self.default_port} is out of range.",
                                "Choose a number between 1024 and 65535.")
        if self.data_folder.strip():
            folder = Path(self.data_folder).expanduser()
            if not folder.is_absolute():
                raise SettingsError(f"The data folder '{self.data_folder}' is not a full path.",
                                    "Choose the folder with the Choose… button, or leave it empty for the usual place.")
            if folder.exists() and not folder.is_dir():
                raise SettingsError(f"'{self.data_folder}' is a file, not a folder.", "Choose a folder.")
        if self.network not in ("auto", "published"):
            raise SettingsError(f"The network setting '{self.network}' is not known.",
                                "Use 'auto' (recommended) or 'published'.")
        if not (1 <= float(self.load_timeout_s) <= 3600):
            raise SettingsError(f"The time limit {self.load_timeout_s} s is out of range.",
                                "Choose between 1 and 3600 seconds.")
        if float(self.load_memory_gb) < 0:
            raise SettingsError("The memory limit cannot be negative.", "Use 0 for automatic.")
        if not (10 <= float(self.journal_max_mb) <= 10_000_000):
            raise SettingsError(f"The journal's size limit of {self.journal_max_mb} MB is out of range.",
                                "Choose at least 10 MB (1024 MB keeps about three million predictions).")
        if not (1 <= float(self.journal_raw_days) <= 36500):
            raise SettingsError(f"Keeping predictions for {self.journal_raw_days} days is out of range.",
                                "Choose between 1 and 36500 days; totals per minute and hour stay longer.")
        if not (0 <= float(self.keep_warm_minutes) <= 1440):
            raise SettingsError(f"Keeping the old version ready for {self.keep_warm_minutes} minutes is out of range.",
                                "Choose between 0 (stop it at once) and 1440 minutes (a day).")
        return self

    def base_image_for(self, python: str) -> str:
        """The base image for a Python version; DESKML_BASE_IMAGE overrides the setting."""
        template = os.environ.get("DESKML_BASE_IMAGE") or self.base_image
        return template.replace("{python}", python)


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings() -> tuple[Settings, str | None]:
    """The saved settings, and a warning when the file had to be set aside."""
    path = settings_path()
    if not path.exists():
        return Settings(), None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in fields(Settings)}
        s = Settings(**{k: v for k, v in raw.items() if k in known})
        return s.validate(), None
    except (ValueError, TypeError, SettingsError, OSError) as exc:
        bad = path.with_suffix(".json.bad")
        path.replace(bad)
        return Settings(), (f"Your settings file could not be read ({exc}); DeskML uses the defaults "
                            f"and kept the old file as {bad}.")


def save_settings(s: Settings) -> None:
    s.validate()
    path = settings_path()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(s), indent=2), encoding="utf-8")
    tmp.replace(path)
