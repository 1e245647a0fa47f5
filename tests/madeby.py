"""Model files made by the library versions that made them in the wild.

``made_by(client, folder, base, python, requirements, script)`` runs ``script`` in one of
DeskML's offline base images (Debian bullseye: Python 3.9; bookworm: 3.11), in a fresh
virtual environment with exactly ``requirements``, installed from wheels downloaded on
the host, with the network off, and returns the folder it wrote its files in: model
files and the predictions they gave where they were saved, which the tests compare
with what DeskML's service answers. Results are kept per folder.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"]


def made_by(client, folder: Path, base: str, python: str, requirements: list[str], script: str) -> Path:
    script = textwrap.dedent(script)
    key = hashlib.sha256(json.dumps([base, python, requirements, script]).encode()).hexdigest()[:12]
    work = Path(folder) / key
    out = work / "out"
    if (out / ".done").exists():
        return out
    wheels = work / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    out.mkdir(exist_ok=True)
    tag = python.replace(".", "")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels), "--only-binary=:all:",
         "--python-version", python, "--implementation", "cp", "--abi", f"cp{tag}",
         *[a for p in PLATFORMS for a in ("--platform", p)], *requirements],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (work / "make.py").write_text(script)
    quoted = " ".join(f"'{r}'" for r in requirements)
    command = (f"python3 -m venv /tmp/v && /tmp/v/bin/pip install -q --no-index --find-links /work/wheels {quoted}"
               " && cd /work/out && /tmp/v/bin/python /work/make.py && touch /work/out/.done")
    client.containers.run(base, ["sh", "-c", command], volumes={str(work): {"bind": "/work", "mode": "rw"}},
                          network_disabled=True, remove=True)
    return out
