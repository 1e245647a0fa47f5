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
        if path.suffix not in (".py", ".so", ".pyd") or path.name.startswith("__main__"):
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
    """pip, the version installed here, as one zip with ``pip/`` at its root (what a wheel
    is, less its metadata). The bundle carries pip as this one file and runs it from the
    zip (``entry.py``), as get-pip does: PyInstaller then neither analyses nor compiles
    pip's 440 modules (6 s of a 124 s build here), and pip costs about 1.4 s more per call
    to compile itself. Zipped from the installed files, not downloaded: no registry is
    needed, and 1.4 s less. (The bundle's pip must answer ``-m pip``: the self-test asks it.)"""
    import importlib.util
    import zipfile
    from importlib.metadata import version

    root = Path(importlib.util.find_spec("pip").origin).parent
    wheel = folder / f"pip-{version('pip')}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, Path("pip") / path.relative_to(root))
    return wheel


IMPORT_LINE = re.compile(rb"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import\b|import[ \t]+([\w., \t]+))", re.M)


def stdlib_imports(package: str) -> list[str]:
    """The standard-library modules a package's sources import (read, not run: each
    ``import`` and ``from … import`` line, relative ones aside), whose package exists on
    this platform: what pip needs from the bundle's Python."""
    import importlib.util

    root = Path(importlib.util.find_spec(package).origin).parent
    names = set()
    for path in root.rglob("*.py"):
        for absolute, plain in IMPORT_LINE.findall(path.read_bytes()):
            if absolute:
                names.add(absolute.decode())
            else:
                names.update(n.strip().split()[0] for n in plain.decode().split(",") if n.strip())
    present = {top for top in {name.partition(".")[0] for name in names} & sys.stdlib_module_names
               if importlib.util.find_spec(top) is not None}  # a top-level find_spec imports nothing
    return [name for name in sorted(names) if name.partition(".")[0] in present]


def strip_debug_info(folder: Path) -> int:
    """Remove debug information from the bundle's own binaries (Python's library is 23 MB
    with it, 5 without). Wheels' vendored libraries (``*.libs``) are left alone: their
    ELF layout was rewritten by auditwheel and ``strip`` breaks it (numpy's OpenBLAS no
    longer loads). Returns the bytes saved."""
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> int:
        sections = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True).stdout
        if ".debug_info" not in sections:
            return 0
        before = path.stat().st_size
        subprocess.run(["strip", "--strip-debug", str(path)], check=True)
        return before - path.stat().st_size

    paths = [path for path in elf_files(folder)
             if ".so" in path.name and not any(p.endswith(".libs") for p in path.parts)]
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:  # one readelf or strip per core
        return sum(pool.map(one, paths))


def requirements_met(path: Path) -> bool:
    """Whether every ``name==version`` line of a requirements file is installed as pinned
    (then pip, which takes a second to say so, is not asked)."""
    from importlib.metadata import PackageNotFoundError, version

    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, sep, pinned = line.partition("==")
        if not sep or ";" in line or "[" in name:
            return False  # not a plain pin: let pip decide
        try:
            if version(name.strip()) != pinned.strip():
                return False
        except PackageNotFoundError:
            return False
    return True


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
    if not requirements_met(HERE / "requirements-build.txt"):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-r",
                        str(HERE / "requirements-build.txt")], check=True)
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
