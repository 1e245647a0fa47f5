"""A version without an image, for computers without a container engine.

The model file is copied into DeskML's data folder, and the version runs as a
local process (``runtimes/process.py``) with this computer's scikit-learn.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from ...server.contract import SKOPS_TRUSTED_FILE
from ..intake.inspection import copy_checked
from ..paths import keep_reference, version_folder, with_reference_name


def record_local(registry, info, name: str, version: str | None, reference: str | None = None, code_files=()):
    """A version without an image (no container engine here): the model file is
    copied into DeskML's data folder, and the version runs as a local process."""
    import sklearn

    version = version or registry.next_version(name)
    folder = version_folder(name, version)
    model_copy = copy_checked(info.path, info.sha256, folder / Path(info.path).name)
    if info.skops_types:
        (folder / SKOPS_TRUSTED_FILE).write_text(json.dumps(info.skops_types))
    code_copies = []
    for f in code_files:
        shutil.copy2(f, folder / Path(f).name)
        code_copies.append(str(folder / Path(f).name))
    stored = {**info.to_dict(), "path": str(model_copy), "code": code_copies}
    return registry.add_version(
        name, version, image_id="", tag="", model_sha256=info.sha256, sklearn_version=info.sklearn_version,
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        requirements=[f"scikit-learn=={sklearn.__version__}"],
        reference=keep_reference(name, version, reference), info=with_reference_name(stored, reference))
