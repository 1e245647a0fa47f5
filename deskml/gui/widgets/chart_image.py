"""A chart drawn off the UI thread (``core.charts.render``) and shown as an image.

Drawing a figure takes tens of milliseconds; done in a worker, the window never waits
for it (the Monitoring tab redraws every second). The image is drawn at the screen's
pixel ratio, so it stays sharp at 200 %.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy


class ChartImage(QLabel):
    def __init__(self, height: int = 160, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(height)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self._height = height
        self.image = None

    def sizeHint(self):
        return QSize(400, self._height)

    def target(self) -> tuple[int, int, float]:
        """(width, height) in device pixels, and the ratio: what the worker should draw."""
        ratio = self.devicePixelRatioF()
        return max(200, int(self.width() * ratio)), int(self._height * ratio), ratio

    def show_rgba(self, data: bytes, width: int, height: int, ratio: float) -> None:
        self.image = QImage(data, width, height, QImage.Format_RGBA8888).copy()  # the bytes are not kept
        pixmap = QPixmap.fromImage(self.image)
        pixmap.setDevicePixelRatio(ratio)
        self.setPixmap(pixmap)
