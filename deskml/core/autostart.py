"""Bring running models back after the computer restarts or the user logs in again.

Containers come back by themselves (the engine restarts them: ``unless-stopped``).
A model that runs as a local process has no engine behind it, so while the user
wants any model running, DeskML keeps a login entry that runs ``deskml resume``
(the freedesktop autostart folder, on Linux desktops); when none is wanted running,
the entry goes. The app runs the same resume when it opens.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ENTRY = "deskml-resume.desktop"


def autostart_folder() -> Path | None:
    if not sys.platform.startswith("linux"):
        return None  # macOS (a LaunchAgent) and Windows (the Startup folder) are left to the installer
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart"


def resume_command() -> list[str]:
    if getattr(sys, "frozen", False):  # the installed bundle
        return [sys.executable, "resume"]
    return [sys.executable, "-m", "deskml", "resume"]


def keep(registry) -> Path | None:
    """Write the login entry while any model is wanted running; remove it otherwise."""
    folder = autostart_folder()
    if folder is None:
        return None
    path = folder / ENTRY
    if not registry.wanted_running():
        path.unlink(missing_ok=True)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    env = f"env DESKML_HOME={_quote(os.environ['DESKML_HOME'])} " if os.environ.get("DESKML_HOME") else ""
    text = ("[Desktop Entry]\nType=Application\nName=DeskML: start your models again\n"
            "Comment=Starts the models you left running, after the computer restarts\n"
            f"Exec={env}{' '.join(_quote(a) for a in resume_command())} --quiet\n"
            "NoDisplay=true\nX-GNOME-Autostart-enabled=true\nTerminal=false\n")
    tmp = path.with_name("." + ENTRY + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def _quote(arg: str) -> str:
    """Quoting for the Exec key of a desktop entry."""
    if not any(c in arg for c in ' \t"\'\\$`'):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`") + '"'
