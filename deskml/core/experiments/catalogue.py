"""Every version of a model, as the Versions tab and the report list them: when it was made,
from which file (name and SHA-256), with which scikit-learn and Python, its reference data,
the user's notes, its latest pre-release check, and which version is live."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class VersionRow:
    version: str
    made: str               # "2026-12-02 10:31"
    built_at: float
    file: str               # the model file's name
    sha256: str
    sklearn: str
    python: str
    runs_as: str            # "image" or "local process"
    reference: str          # the reference data's file name, or ""
    notes: str
    live: bool              # the version the user wants running (the one that answers)
    check: dict | None = None   # its latest pre-release check (report.check.CheckResult.to_dict()), if any

    def check_words(self) -> str:
        if self.check is None:
            return "not checked"
        return "passed" if self.check["passed"] else "FAILED"


def catalogue(registry, model: str) -> list[VersionRow]:
    """The model's versions, newest first."""
    live = registry.live_version(model)
    rows = []
    for v in reversed(registry.versions(model)):
        info = v.info or {}
        rows.append(VersionRow(
            version=v.version, made=time.strftime("%Y-%m-%d %H:%M", time.localtime(v.built_at)), built_at=v.built_at,
            file=Path(info.get("path") or info.get("file_name") or "").name, sha256=v.model_sha256,
            sklearn=v.sklearn_version or "?", python=v.python or "?", runs_as="image" if v.tag else "local process",
            reference=(info.get("reference_file") or Path(v.reference).name) if v.reference else "", notes=v.notes,
            live=v.version == live, check=registry.latest_check(model, v.version)))
    return rows
