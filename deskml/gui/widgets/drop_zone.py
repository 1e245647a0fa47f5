"""The big "drop a model file here" area, and the rule for what a drop may carry."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout

from ..resources import icon
from .style import heading


def dropped_file(mime: QMimeData) -> tuple[Path | None, str]:
    """The one local file a drop carries, or (None, why not) in plain words."""
    if not mime.hasUrls():
        return None, "Drop a file from your computer (not text or a picture from a web page)."
    urls = mime.urls()
    local = [u for u in urls if u.isLocalFile()]
    if not local:
        return None, "That is a web address, not a file on this computer: download the model file first."
    if len(urls) > 1:
        return None, "Drop one model file at a time."
    path = Path(local[0].toLocalFile())
    if path.is_dir():
        return None, f"{path.name} is a folder: drop the model file inside it."
    return path, ""


class DropZone(QFrame):
    """A large target that also opens the file chooser when clicked."""

    choose_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("DropZone")
        self.setMinimumHeight(200)
        self.setCursor(Qt.PointingHandCursor)
        self._set_hover(False)
        art = QLabel()
        art.setPixmap(icon("drop").pixmap(64, 64))
        art.setAlignment(Qt.AlignCenter)
        title = heading("Drop a model file here", 1.5)
        title.setAlignment(Qt.AlignCenter)
        hint = QLabel("scikit-learn models saved with joblib, pickle or skops. "
                      "DeskML checks the file is safe before opening it.")
        hint.setAlignment(Qt.AlignCenter)
        hint.setWordWrap(True)
        self.choose_button = QPushButton("Choose a file…")
        self.choose_button.setAutoDefault(True)
        self.choose_button.clicked.connect(self.choose_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(10)
        layout.addStretch(1)
        layout.addWidget(art)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.choose_button, alignment=Qt.AlignCenter)
        layout.addStretch(1)

    def _set_hover(self, on: bool):
        border = "palette(highlight)" if on else "palette(mid)"
        self.setStyleSheet(f"#DropZone {{ border: 2px dashed {border}; border-radius: 12px; }}")

    def set_hover(self, on: bool):
        self._set_hover(on)

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.LeftButton:
            self.choose_requested.emit()
        super().mouseReleaseEvent(event)
