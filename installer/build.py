"""Build one installer artifact into dist/ (``installer/build TARGET``).

    bundle        dist/deskml/: the app as a PyInstaller one-folder bundle (``deskml`` in it
                  is the program; ``deskml --self-test`` checks it)
    macos-plist   dist/DeskML.app/Contents/Info.plist, with the model files as a document
                  type and an exported UTI, and the app's and the file type's .icns icons

The Linux bundle and .deb, the per-user installer and the Windows (NSIS) installer come
with the rest of the installer issue; their file types come from ``filetypes.py`` too.
"""
from __future__ import annotations

import argparse
import os
import plistlib
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import filetypes  # noqa: E402

ICON_SVG = ROOT / "resources" / "icons" / "deskml.svg"
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def dist() -> Path:
    return Path(os.environ.get("DESKML_DIST") or ROOT / "dist")


def version() -> str:
    from deskml import __version__
    return __version__


def info_plist() -> dict:
    """The app bundle's Info.plist: what it is, and the model files it opens (as their owner)."""
    return {
        "CFBundleName": "DeskML",
        "CFBundleDisplayName": "DeskML",
        "CFBundleIdentifier": filetypes.APP_ID,
        "CFBundleExecutable": "DeskML",
        "CFBundlePackageType": "APPL",
        "CFBundleVersion": version(),
        "CFBundleShortVersionString": version(),
        "CFBundleIconFile": "deskml.icns",
        "CFBundleInfoDictionaryVersion": "6.0",
        "LSMinimumSystemVersion": "11.0",
        "NSHighResolutionCapable": True,
        "CFBundleDocumentTypes": [{
            "CFBundleTypeName": filetypes.DESCRIPTION,
            "CFBundleTypeRole": "Viewer",
            "LSHandlerRank": "Owner",
            "LSItemContentTypes": [filetypes.UTI],
            "CFBundleTypeIconFile": "deskml-model.icns",
        }],
        "UTExportedTypeDeclarations": [{
            "UTTypeIdentifier": filetypes.UTI,
            "UTTypeDescription": filetypes.DESCRIPTION,
            "UTTypeConformsTo": ["public.data"],
            "UTTypeIconFile": "deskml-model.icns",
            "UTTypeTagSpecification": {"public.filename-extension": list(filetypes.EXTENSIONS)},
        }],
    }


def render_icons(size: int = 1024):
    """(app icon, file-type icon) as Pillow images of ``size`` pixels, drawn from the app's SVG:
    the file type is a page with a folded corner and the app's icon on it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPen, QPolygonF
    from PySide6.QtSvg import QSvgRenderer

    QGuiApplication.instance() or QGuiApplication([])
    svg = QSvgRenderer(str(ICON_SVG))

    def image(draw) -> Image.Image:
        img = QImage(size, size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        draw(painter)
        painter.end()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "PNG")
        buf.close()
        from io import BytesIO
        return Image.open(BytesIO(bytes(data))).convert("RGBA")

    def app(p):
        svg.render(p, QRectF(0, 0, size, size))

    def document(p):
        s = size / 64
        fold = 14 * s
        left, top, right, bottom = 10 * s, 2 * s, 54 * s, 62 * s
        page = QPolygonF([QPointF(left, top), QPointF(right - fold, top), QPointF(right, top + fold),
                          QPointF(right, bottom), QPointF(left, bottom)])
        p.setPen(QPen(QColor("#94a3b8"), 1.5 * s))
        p.setBrush(QColor("#ffffff"))
        p.drawPolygon(page)
        p.setBrush(QColor("#e2e8f0"))
        p.drawPolygon(QPolygonF([QPointF(right - fold, top), QPointF(right - fold, top + fold),
                                 QPointF(right, top + fold)]))
        svg.render(p, QRectF(16 * s, 24 * s, 32 * s, 32 * s))
    return image(app), image(document)


def macos_plist() -> Path:
    contents = dist() / "DeskML.app" / "Contents"
    resources = contents / "Resources"
    resources.mkdir(parents=True, exist_ok=True)
    app_icon, doc_icon = render_icons()
    sizes = [(n, n) for n in ICNS_SIZES]
    app_icon.save(resources / "deskml.icns", sizes=sizes)
    doc_icon.save(resources / "deskml-model.icns", sizes=sizes)
    with tempfile.NamedTemporaryFile("wb", dir=contents, delete=False) as f:  # whole or not at all
        plistlib.dump(info_plist(), f, fmt=plistlib.FMT_XML)
    os.chmod(f.name, 0o644)
    os.replace(f.name, contents / "Info.plist")
    return contents / "Info.plist"


def bundle() -> Path:
    """The one-folder bundle. Pickles name modules the code never imports, so every
    scikit-learn submodule goes in (the app unpickles in its inspection child); the serving
    app's sources and the image's helper go in as files, for packaging images. Not
    ``--strip``: stripping breaks numpy's OpenBLAS (its ELF segments are no longer page
    aligned), which ``--self-test`` caught."""
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-r", str(HERE / "requirements-build.txt")],
                   check=True)
    work = Path(tempfile.mkdtemp(prefix="deskml-bundle-"))
    sep = os.pathsep
    args = [str(HERE / "entry.py"), "--name", "deskml", "--onedir", "--noconfirm", "--clean",
            "--distpath", str(dist()), "--workpath", str(work / "build"), "--specpath", str(work),
            "--collect-submodules", "sklearn", "--collect-submodules", "deskml", "--collect-submodules", "skops",
            "--collect-submodules", "pip", "--collect-data", "pip",
            "--add-data", f"{ROOT / 'resources'}{sep}resources",
            "--add-data", f"{ROOT / 'deskml' / 'server'}{sep}deskml/server",
            "--add-data", f"{ROOT / 'deskml' / 'core' / 'packaging' / 'lean_venv.py'}{sep}deskml/core/packaging",
            "--exclude-module", "tkinter", "--exclude-module", "pytest", "--exclude-module", "IPython"]
    subprocess.run([sys.executable, "-m", "PyInstaller", *args], check=True)
    return dist() / "deskml"


TARGETS = {"bundle": bundle, "macos-plist": macos_plist}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="installer/build", description="Build one installer artifact into dist/.")
    ap.add_argument("target", choices=sorted(TARGETS))
    args = ap.parse_args(argv)
    print(TARGETS[args.target]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
