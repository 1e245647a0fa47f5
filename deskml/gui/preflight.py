"""Can the window open here? Checked before Qt tries, because Qt itself aborts.

On Linux, Qt draws through a platform plugin (xcb for X11, wayland). When the
system libraries the plugin needs are missing, Qt prints "Could not load the Qt
platform plugin" and aborts the process. libxcb-cursor0 is missing on many
Debian and Ubuntu desktops, and servers lack more. This module finds that out
first, with ``ldd`` on the plugin (nothing is loaded), and says in one paragraph
which packages to install and how. Without a screen at all it says that.

Nothing here imports Qt. The installer makes these libraries the package's
dependencies; the check stays for people who run DeskML from source.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..core.errors import ExitCode

#: Platforms that need no screen and no system window libraries.
HEADLESS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs")

#: Libraries Qt's plugins load -> (Debian/Ubuntu package, Fedora package).
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}


def plugin_folder(env=os.environ) -> Path | None:
    """Where Qt looks for platform plugins: QT_QPA_PLATFORM_PLUGIN_PATH, else PySide6's own."""
    if env.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        return Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"])
    spec = importlib.util.find_spec("PySide6")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms"


def missing_libraries(plugin: Path) -> list[str] | None:
    """The libraries ``plugin`` needs that the system cannot find (as ``ldd`` reports them),
    in order; None when that cannot be told (no ldd, no plugin)."""
    ldd = shutil.which("ldd")
    if ldd is None or not plugin.is_file():
        return None
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", out, re.MULTILINE)
    return list(dict.fromkeys(found))


def _distro(os_release: Path = Path("/etc/os-release")) -> str:
    try:
        text = os_release.read_text()
    except OSError:
        return ""
    ids = " ".join(re.findall(r'^(?:ID|ID_LIKE)="?([^"\n]*)"?', text, re.MULTILINE)).lower()
    if any(d in ids for d in ("debian", "ubuntu")):
        return "apt"
    if any(d in ids for d in ("fedora", "rhel", "centos")):
        return "dnf"
    return ""


def install_command(libraries: list[str], manager: str) -> tuple[list[str], str | None]:
    """(the packages that hold ``libraries``, the command that installs them, or None)."""
    debian = list(dict.fromkeys(PACKAGES.get(lib, (_debian_name(lib), ""))[0] for lib in libraries))
    if manager == "dnf" and all(lib in PACKAGES for lib in libraries):
        fedora = list(dict.fromkeys(PACKAGES[lib][1] for lib in libraries))
        return fedora, "sudo dnf install " + " ".join(fedora)
    if manager == "apt":
        return debian, "sudo apt install " + " ".join(debian)
    return debian, None


def _debian_name(library: str) -> str:
    """Debian's rule for a library's package: libfoo.so.1 -> libfoo1, libfoo-2.so.0 -> libfoo-2-0."""
    m = re.match(r"^(.*)\.so\.(\d+)", library)
    if not m:
        return library
    name, major = m.group(1).lower(), m.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def window_problem(env=os.environ, platform: str = sys.platform, manager: str | None = None) -> str | None:
    """A paragraph saying why the window cannot open here and what to do, or None when it can
    (or when that cannot be told: then Qt tries)."""
    if not platform.startswith("linux"):
        return None
    chosen = (env.get("QT_QPA_PLATFORM") or "").split(":")[0].strip().lower()
    if chosen in HEADLESS:
        return None
    wayland = bool(env.get("WAYLAND_DISPLAY")) and chosen in ("", "wayland")
    x11 = bool(env.get("DISPLAY"))
    if not wayland and not x11:
        return ("DeskML cannot open its window: there is no screen here (no desktop session, so DISPLAY "
                "and WAYLAND_DISPLAY are not set). Start DeskML from your desktop; over SSH, connect with "
                "ssh -X. The command line works without a screen: deskml --help.")
    folder = plugin_folder(env)
    if folder is None:
        return None
    plugin = folder / ("libqwayland.so" if wayland and chosen != "xcb" else "libqxcb.so")
    missing = missing_libraries(plugin)
    if not missing and wayland and chosen == "" and x11:
        return None
    if not missing:
        return None
    kind = "a Wayland" if plugin.name == "libqwayland.so" else "an X11"
    packages, command = install_command(missing, manager if manager is not None else _distro())
    where = (f"(from the packages {', '.join(packages)})" if command else
             f"(on Debian and Ubuntu, the packages {', '.join(packages)}; use your system's names for them)")
    return (f"DeskML cannot open its window: this computer lacks system libraries that Qt, the toolkit "
            f"that draws the window, needs on {kind} desktop: {', '.join(missing)} {where}. Install them, "
            "then start DeskML again. The command line works meanwhile: deskml --help."
            + (f"\n\n    {command}\n" if command else ""))


def check_or_explain(stream=sys.stderr) -> int | None:
    """None when the window can open; otherwise the paragraph is written and the exit code returned."""
    problem = window_problem()
    if problem is None:
        return None
    import textwrap

    paragraph, _, command = problem.partition("\n\n")
    print(textwrap.fill(paragraph, width=100) + ("\n\n" + command.rstrip() if command else ""), file=stream)
    return int(ExitCode.NO_WINDOW)
