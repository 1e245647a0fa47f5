"""A one-line text field that does not type the letters of Alt shortcuts.

Qt's line edit inserts the letter of Alt+letter when no enabled shortcut takes it:
in the wizard, Alt+N with Next disabled typed "n" into the model's name. On Linux
and Windows Alt+letter is never meant as text (AltGr arrives as Ctrl+Alt or as its
own key), so the field leaves such keys alone. On macOS, Option+letter types
accents, and is kept.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit


class TextField(QLineEdit):
    def keyPressEvent(self, event):
        mods = event.modifiers()
        if (sys.platform != "darwin" and mods & Qt.AltModifier and not mods & Qt.ControlModifier
                and event.text() and event.text().isprintable()):
            event.ignore()  # a shortcut's letter (the shortcut may be disabled right now): not text
            return
        super().keyPressEvent(event)
