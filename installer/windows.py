"""Windows: the NSIS installer (``installer/build nsis --bundle DIR``), compiled with Debian's
makensis from ``windows/deskml.nsi``."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import filetypes
from common import HERE, dist, need, version
from icons import render_icons

ICO_SIZES = [(n, n) for n in (16, 24, 32, 48, 64, 128, 256)]


def compile_nsi(script: Path, out: Path, **defines: str) -> Path:
    makensis = need("makensis", "nsis")
    args = [makensis, "-V2", "-NOCD", f"-DOUTFILE={out}", *(f"-D{k}={v}" for k, v in defines.items()), str(script)]
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(args, check=True, cwd=script.parent)
    return out


def nsis(bundle_dir: Path | None = None) -> Path:
    """dist/deskml-VERSION-setup.exe from a Windows bundle (a folder with deskml.exe, built on
    Windows with ``python installer\\build.py bundle``: PyInstaller does not cross-compile)."""
    if bundle_dir is None or not (Path(bundle_dir) / "deskml.exe").is_file():
        raise SystemExit("The Windows installer packs a Windows bundle: build it on Windows with "
                         "`python installer\\build.py bundle`, then run `installer/build nsis --bundle DIR` "
                         "with the folder that holds deskml.exe.")
    work = Path(tempfile.mkdtemp(prefix="deskml-nsis-"))
    try:
        app_icon, doc_icon = render_icons(256)
        app_icon.save(work / "deskml.ico", sizes=ICO_SIZES)
        doc_icon.save(work / "deskml-model.ico", sizes=ICO_SIZES)
        (work / "filetypes.nsh").write_text("".join(f'!insertmacro ${{ASSOCIATE}} "{ext}"\n'
                                                    for ext in filetypes.EXTENSIONS))
        return compile_nsi(HERE / "windows" / "deskml.nsi", dist() / f"deskml-{version()}-setup.exe",
                           VERSION=version(), BUNDLE=str(Path(bundle_dir).resolve()), ICONS=str(work),
                           FILETYPES=str(work / "filetypes.nsh"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def standin(out: Path, stay_ms: int = 0) -> Path:
    """A small stand-in deskml.exe (``windows/standin.nsi``) for testing the installer under
    Wine; with stay_ms, it stays open that long (an app still open during an update)."""
    return compile_nsi(HERE / "windows" / "standin.nsi", out, **({"STAY": str(stay_ms)} if stay_ms else {}))
