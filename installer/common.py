"""What every installer target shares: where artifacts go, the version they carry, and the
tools they need (installed from the package registry where they are missing)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def dist() -> Path:
    """Where artifacts are built: dist/ in the project, or $DESKML_DIST."""
    return Path(os.environ.get("DESKML_DIST") or ROOT / "dist")


def version() -> str:
    from deskml import __version__
    return __version__


def need(tool: str, package: str) -> str:
    """The path of ``tool``; where it is missing, Debian's ``package`` is installed with apt
    (as root), or the build stops saying what to install."""
    found = shutil.which(tool)
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        print(f"installing {package} (for {tool})…", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        found = shutil.which(tool)
    if not found:
        raise SystemExit(f"This build needs {tool}: install the package {package} (on Debian or Ubuntu: "
                         f"sudo apt-get install {package}), then run it again.")
    return found
