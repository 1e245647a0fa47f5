"""Small shared pieces of the look: headings scale with the user's font."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel


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


def button_row(*widgets) -> QHBoxLayout:
    """Buttons side by side, from the left, the rest of the row left free."""
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    return row
