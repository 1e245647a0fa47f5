"""The app's and the model file type's icons, drawn from the app's SVG with Qt, for every
platform's installer (hicolor PNGs, .icns, .ico)."""
from __future__ import annotations

import os
from pathlib import Path

from common import ROOT

ICON_SVG = ROOT / "resources" / "icons" / "deskml.svg"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
MIME_ICON = "application-x-deskml-model"  # the icon name shared-mime-info derives from the type


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


def hicolor(share: Path) -> list[Path]:
    """The hicolor theme's icons under ``share`` (…/share): the app (PNGs and the SVG) and the
    model file type (PNGs), at the sizes desktops ask for."""
    import shutil

    from PIL import Image

    app_icon, doc_icon = render_icons()
    written = []
    for n in HICOLOR_SIZES:
        for image, kind, name in ((app_icon, "apps", "deskml"), (doc_icon, "mimetypes", MIME_ICON)):
            path = share / "icons" / "hicolor" / f"{n}x{n}" / kind / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            image.resize((n, n), Image.LANCZOS).save(path)
            written.append(path)
    svg = share / "icons" / "hicolor" / "scalable" / "apps" / "deskml.svg"
    svg.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ICON_SVG, svg)
    return [*written, svg]
