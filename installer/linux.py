"""Linux: the .deb (``installer/build deb``) and a per-user installer for other distributions
(``installer/build run``), both from the one-folder bundle.

Both install the same desktop files: the freedesktop entry (``deskml.desktop``), the
shared-mime-info package for the model files (``deskml-mime.xml``) and the hicolor icons of
the app and of the file type. The .deb needs no maintainer scripts: the triggers of
shared-mime-info, desktop-file-utils and hicolor-icon-theme refresh their caches when
files land in their folders, and again when they go."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bundle import glibc_needed, system_libraries
from common import HERE, dist, need, version
from icons import hicolor

# The Debian/Ubuntu package that gives each library the bundle takes from the system.
# Alternatives cover the 64-bit time_t renames (Debian 13, Ubuntu 24.04).
GLIB = "libglib2.0-0t64 | libglib2.0-0"
SONAME_PACKAGES = {
    "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1", "libOpenGL.so.0": "libopengl0",
    "libxcb.so.1": "libxcb1", "libX11.so.6": "libx11-6", "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shape.so.0": "libxcb-shape0", "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1", "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libwayland-client.so.0": "libwayland-client0", "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": GLIB, "libgobject-2.0.so.0": GLIB, "libgio-2.0.so.0": GLIB, "libgthread-2.0.so.0": GLIB,
    "libgmodule-2.0.so.0": GLIB,
    "libz.so.1": "zlib1g", "libexpat.so.1": "libexpat1", "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1",
}
# Part of libc6, whose version the glibc check gives.
LIBC = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libresolv.so.2",
        "ld-linux-x86-64.so.2", "libutil.so.1", "libcrypt.so.1"}
# Plugins Qt loads only where their system is present: the GTK look on GNOME (where GTK is
# installed), and full-screen EGL on a console with no desktop (libdrm, libgbm).
OPTIONAL = {"libgtk-3.so.0", "libgdk-3.so.0", "libdrm.so.2", "libgbm.so.1"}
# What Qt's xcb platform plugin needs, whatever the building machine happened to carry.
QT_XCB = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0",
          "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0", "libxcb-sync1", "libxcb-xfixes0", "libxcb-xkb1",
          "libxkbcommon-x11-0", "libx11-xcb1", "libxcb1", "libgl1", "libegl1")
# a container engine; a font for Chinese, Japanese and Korean names on the report (Latin, Greek,
# Cyrillic, Arabic and Hebrew come with the bundle)
RECOMMENDS = "docker.io | docker-ce | podman, fonts-noto-cjk | fonts-wqy-microhei"
MAINTAINER = "DeskML <deskml@localhost>"
SUMMARY = "Put a machine-learning model file to work on this computer, safely"
DESCRIPTION = (" DeskML checks a scikit-learn model file (joblib, pickle, skops) is safe to open, says what\n"
               " it predicts and which inputs it needs, and runs it at a local address: in Docker or\n"
               " Podman with the library versions it was saved with, or as a local process.")


def depends(bundle_dir: Path) -> str:
    """The .deb's Depends: libc6 at the glibc the bundle needs, and a package for every library
    it takes from the system. A library with no known package stops the build, naming it,
    so that the list is never silently short."""
    (major, minor), _who = glibc_needed(bundle_dir)
    packages = set(QT_XCB)
    unknown = []
    for soname, users in system_libraries(bundle_dir).items():
        if soname in LIBC or soname in OPTIONAL:
            continue
        if soname not in SONAME_PACKAGES:
            unknown.append(f"{soname} (needed by {users[0].relative_to(bundle_dir)})")
            continue
        packages.add(SONAME_PACKAGES[soname])
    if unknown:
        raise SystemExit("The bundle needs libraries the .deb does not know a package for: " + ", ".join(unknown)
                         + ". Add them to SONAME_PACKAGES in installer/linux.py.")
    return ", ".join([f"libc6 (>= {major}.{minor})", *sorted(packages)])


def desktop_files(share: Path) -> list[Path]:
    """The desktop entry, the MIME package and the icons under ``share`` (…/share)."""
    entry = share / "applications" / "deskml.desktop"
    entry.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "deskml.desktop", entry)
    mime = share / "mime" / "packages" / "deskml.xml"
    mime.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "deskml-mime.xml", mime)
    return [entry, mime, *hicolor(share)]


def normalise_modes(root: Path) -> None:
    """Folders 755, programs and libraries 755, other files 644 (what a package installs)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir() or path.stat().st_mode & 0o111:
            path.chmod(0o755)
        else:
            path.chmod(0o644)


def bundle_or_build(bundle_dir: Path | None) -> Path:
    if bundle_dir is not None:
        return bundle_dir
    from bundle import bundle
    return bundle()


def deb(bundle_dir: Path | None = None) -> Path:
    """dist/deskml_VERSION_amd64.deb: the bundle in /opt/deskml, ``deskml`` on the PATH, the
    desktop files in /usr/share, compressed with xz at its default level (6: 101 MiB for the
    354 MiB bundle; level 4 builds in two thirds of the time but gives 107 MiB, too close
    to the 110 MiB goal)."""
    bundle_dir = bundle_or_build(bundle_dir)
    work = Path(tempfile.mkdtemp(prefix="deskml-deb-"))
    try:
        root = work / "root"
        shutil.copytree(bundle_dir, root / "opt" / "deskml", symlinks=True)
        (root / "usr" / "bin").mkdir(parents=True)
        (root / "usr" / "bin" / "deskml").symlink_to("/opt/deskml/deskml")
        desktop_files(root / "usr" / "share")
        doc = root / "usr" / "share" / "doc" / "deskml"
        doc.mkdir(parents=True)
        (doc / "copyright").write_text("DeskML, and the Python libraries in /opt/deskml/_internal under their own "
                                       "licences (see each library's *.dist-info folder).\n")
        normalise_modes(root)
        size_kib = sum(p.lstat().st_size for p in root.rglob("*")) // 1024
        control = root / "DEBIAN" / "control"
        control.parent.mkdir()
        control.write_text(
            f"Package: deskml\nVersion: {version()}\nArchitecture: amd64\nMaintainer: {MAINTAINER}\n"
            f"Installed-Size: {size_kib}\nDepends: {depends(bundle_dir)}\nRecommends: {RECOMMENDS}\n"
            f"Section: science\nPriority: optional\nDescription: {SUMMARY}\n{DESCRIPTION}\n")
        normalise_modes(control.parent)
        out = dist() / f"deskml_{version()}_amd64.deb"
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([need("dpkg-deb", "dpkg"), "--root-owner-group", "-Zxz", "--build", str(root), str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(bundle_dir: Path | None = None, deb_file: Path | None = None) -> Path:
    """dist/deskml-VERSION-linux.run: a shell script followed by the .deb's own payload (its
    data.tar.xz: the same files, compressed once). Run as the user, it installs into ~/.local
    (no root), makes DeskML the program for model files, and ``--uninstall`` takes all of it
    away again. The .deb is built first unless ``deb_file`` is one already built."""
    deb_file = deb_file or deb(bundle_dir)
    payload = subprocess.run([need("ar", "binutils"), "p", str(deb_file), "data.tar.xz"], capture_output=True,
                             check=True).stdout
    out = dist() / f"deskml-{version()}-linux.run"
    out.parent.mkdir(parents=True, exist_ok=True)
    script = (HERE / "install-user.sh").read_text().replace("@VERSION@", version())
    with open(out, "wb") as f:
        f.write(script.encode())
        f.write(payload)
    os.chmod(out, 0o755)
    return out
