"""What the Monitoring tab's slower pages share: they gather in a worker, every minute while
they are on screen (and once as they come on screen), never while hidden."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from ..widgets.style import heading


class RefreshedWhileShown(QWidget):
    REFRESH_MS = 60_000

    def __init__(self):
        super().__init__()
        self.shown = 0          # views put on screen (for tests)
        self.timer = QTimer(self)
        self.timer.setInterval(self.REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    def showEvent(self, event):
        super().showEvent(event)
        self.timer.start()
        QTimer.singleShot(0, self, self.refresh)  # once laid out: charts are drawn at their size

    def hideEvent(self, event):
        self.timer.stop()
        super().hideEvent(event)

    def refresh(self):
        raise NotImplementedError


def summary_label() -> QLabel:
    """The page's verdict in one plain sentence, a little larger than the text."""
    label = heading("", 1.15)
    label.setWordWrap(True)
    return label
