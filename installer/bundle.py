"""The app as a PyInstaller one-folder bundle (``installer/build bundle``): what goes in,
what stays out, and what the bundle needs from the system it runs on."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import HERE, ROOT, dist, need

# What the bundle leaves out: test suites, which pull in optional libraries and slow the
# analysis down; other GUI toolkits; Qt modules the app does not use; model libraries the
# app never loads itself (a model that needs one is described from its file and served in
# its own image, which installs it).
EXCLUDES = ("tkinter", "pytest", "IPython", "PyQt5", "PyQt6", "PySide2", "lightgbm", "xgboost",
            "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtNetwork", "sklearn.conftest",
            "pandas.io.formats.style", "jinja2", "setuptools", "pkg_resources", "distutils",
            "pyarrow", "yaml", "docutils", "sqlalchemy", "fsspec", "bs4", "lxml", "rich", "pip")
SKIPPED_PACKAGES = {"tests", "_build_utils", "conftest"}


def submodules(package: str) -> list[str]:
    """Every module of an installed package, read from its folder (not imported, which is
    what PyInstaller's --collect-submodules does and most of its cost), test suites left out."""
    import importlib.util

    root = Path(importlib.util.find_spec(package).origin).parent
    names = []
    for path in root.rglob("*"):
        if path.suffix not in (".py", ".so") or path.name.startswith("__main__"):
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        parts[-1] = parts[-1].split(".")[0]  # _foo.cpython-311-x86_64-linux-gnu -> _foo
        if SKIPPED_PACKAGES & set(parts) or any(p.startswith("test_") for p in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join([package, *parts]))
    return sorted(set(names))


def pip_wheel(folder: Path) -> Path:
    """pip's own wheel, of the version installed here, from the package registries. The
    bundle carries pip as this one file and runs it from the wheel (``entry.py``), as
    get-pip does: PyInstaller then neither analyses nor compiles pip's 440 modules (6 s of
    a 124 s build here), and pip costs about 1.4 s more per call to compile itself. (The
    bundle's pip must answer ``-m pip``: the self-test asks it.)"""
    from importlib.metadata import version

    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--dest", str(folder), f"pip=={version('pip')}"], check=True)
    (wheel,) = folder.glob("pip-*.whl")
    return wheel


def stdlib_imports(package: str) -> list[str]:
    """The standard-library modules a package's sources import (read with ``ast``, not
    run), whose package exists on this platform: what pip needs from the bundle's Python."""
    import ast
    import importlib.util

    root = Path(importlib.util.find_spec(package).origin).parent
    names = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    present = {top for top in {name.partition(".")[0] for name in names} & sys.stdlib_module_names
               if importlib.util.find_spec(top) is not None}  # a top-level find_spec imports nothing
    wanted = [name for name in sorted(names) if name.partition(".")[0] in present]
    return wanted


def strip_debug_info(folder: Path) -> int:
    """Remove debug information from the bundle's own binaries (Python's library is 23 MB
    with it, 5 without). Wheels' vendored libraries (``*.libs``) are left alone: their
    ELF layout was rewritten by auditwheel and ``strip`` breaks it (numpy's OpenBLAS no
    longer loads). Returns the bytes saved."""
    saved = 0
    for path in elf_files(folder):
        if ".so" not in path.name or any(p.endswith(".libs") for p in path.parts):
            continue
        sections = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True).stdout
        if ".debug_info" not in sections:
            continue
        before = path.stat().st_size
        subprocess.run(["strip", "--strip-debug", str(path)], check=True)
        saved += before - path.stat().st_size
    return saved


def bundle() -> Path:
    """The one-folder bundle. Pickles name modules the code never imports, so every
    scikit-learn submodule goes in (the app unpickles in its inspection child); pip goes in
    as its wheel (``pip_wheel``), with the standard modules it imports; the serving
    app's sources and the image's helper go in as files, for packaging images. Not
    ``--strip``: stripping breaks numpy's OpenBLAS (its ELF segments are no longer page
    aligned), which ``--self-test`` caught; debug information is removed instead where it
    is safe (``strip_debug_info``)."""
    linux = sys.platform.startswith("linux")
    if linux:
        need("readelf", "binutils")  # and strip, from the same package
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-r", str(HERE / "requirements-build.txt")],
                   check=True)
    work = Path(tempfile.mkdtemp(prefix="deskml-bundle-"))
    sep = os.pathsep
    hidden = [name for package in ("sklearn", "skops", "deskml") for name in submodules(package)]
    hidden += [name for name in stdlib_imports("pip") if name.partition(".")[0] not in EXCLUDES]
    wheel = pip_wheel(work)
    args = [str(HERE / "entry.py"), "--name", "deskml", "--onedir", "--noconfirm",
            "--distpath", str(dist()), "--workpath", str(work / "build"), "--specpath", str(work),
            "--additional-hooks-dir", str(HERE / "hooks"),
            *(f"--hidden-import={name}" for name in hidden),
            "--add-data", f"{wheel}{sep}.",
            "--add-data", f"{ROOT / 'resources'}{sep}resources",
            "--add-data", f"{ROOT / 'deskml' / 'server'}{sep}deskml/server",
            "--add-data", f"{ROOT / 'deskml' / 'core' / 'packaging' / 'lean_venv.py'}{sep}deskml/core/packaging",
            *(f"--exclude-module={name}" for name in EXCLUDES)]
    subprocess.run([sys.executable, "-m", "PyInstaller", *args], check=True)
    shutil.rmtree(work, ignore_errors=True)
    out = dist() / "deskml"
    if linux:
        print(f"debug information removed: {strip_debug_info(out) / 2**20:.0f} MiB")
    return out


def elf_files(folder: Path):
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield path


def glibc_needed(folder: Path) -> tuple[tuple[int, int], Path | None]:
    """The newest glibc symbol version any binary of the bundle asks for (its version needs,
    ``readelf -V``), and the binary that asks: the oldest glibc the bundle runs on
    (PyInstaller does not bundle the C library)."""
    newest, who = (2, 0), None
    for path in elf_files(folder):
        out = subprocess.run(["readelf", "-V", "-W", str(path)], capture_output=True, text=True).stdout
        needs = out.partition(".gnu.version_r")[2]
        for major, minor in re.findall(r"Name: GLIBC_(\d+)\.(\d+)", needs):
            if (int(major), int(minor)) > newest:
                newest, who = (int(major), int(minor)), path
    return newest, who


def system_libraries(folder: Path) -> dict[str, list[Path]]:
    """The shared libraries the bundle's binaries name (DT_NEEDED) but do not carry: they must
    come from the system. {soname: [binaries that need it]}."""
    carried, needed = set(), {}
    for path in folder.rglob("*"):
        carried.add(path.name)
    for path in elf_files(folder):
        out = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True).stdout
        for soname in re.findall(r"\(NEEDED\).*\[(.+?)\]", out):
            needed.setdefault(soname, []).append(path)
    return {name: paths for name, paths in sorted(needed.items()) if name not in carried}
