"""Small shared pieces of the look: headings scale with the user's font."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel


def heading(text: str = "", scale: float = 1.0) -> QLabel:
    """A bold label, ``scale`` times the system font size (so high DPI and
    large-font settings carry over)."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    if scale != 1.0:
        font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label
