"""An inline message: icon, headline, what to do next, and a Details expander."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QToolButton,
                               QVBoxLayout, QWidget)

from ..resources import icon
from .style import heading


class MessageBanner(QFrame):
    """Shows a DeskMLError (or any error) in plain words; technical text hides
    behind Details."""

    STYLES = {
        "error": ("refused", "#fef2f2", "#991b1b"),
        "warning": ("warning", "#fffbeb", "#92400e"),
        "info": ("safe", "#eff6ff", "#1e3a8a"),
    }

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MessageBanner")
        self.setFrameShape(QFrame.StyledPanel)
        self._icon = QLabel()
        self._icon.setFixedSize(40, 40)
        self.headline = heading()
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.what_to_do = QLabel()
        self.what_to_do.setWordWrap(True)
        self.details_button = QToolButton(text="Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.RightArrow)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.details.setMaximumHeight(140)
        self.details_button.toggled.connect(self._toggle_details)
        self.action_button = QPushButton()
        self.action_button.hide()
        self._action = None
        self.action_button.clicked.connect(lambda: self._action and self._action())

        text = QVBoxLayout()
        text.setSpacing(6)
        text.addWidget(self.headline)
        text.addWidget(self.what_to_do)
        buttons = QHBoxLayout()
        buttons.addWidget(self.action_button)
        buttons.addWidget(self.details_button)
        buttons.addStretch(1)
        text.addLayout(buttons)
        text.addWidget(self.details)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 12, 14, 12)
        row.setSpacing(12)
        row.addWidget(self._icon, alignment=Qt.AlignTop)
        row.addLayout(text, 1)

    def _toggle_details(self, on: bool):
        self.details.setVisible(on)
        self.details_button.setArrowType(Qt.DownArrow if on else Qt.RightArrow)

    def show_message(self, headline: str, what_to_do: str = "", details: str = "", level: str = "error",
                     action: tuple[str, object] | None = None):
        """action: (button text, callable) for the one thing the user can do here."""
        icon_name, bg, fg = self.STYLES[level]
        self._icon.setPixmap(icon(icon_name).pixmap(40, 40))
        self.setStyleSheet(f"#MessageBanner {{ background: {bg}; border: 1px solid {fg}; border-radius: 8px; }}"
                           f"#MessageBanner QLabel {{ color: {fg}; background: transparent; }}")
        self.headline.setText(headline)
        self.what_to_do.setText(what_to_do)
        self.what_to_do.setVisible(bool(what_to_do))
        self.details.setPlainText(details)
        self.details_button.setVisible(bool(details))
        self.details_button.setChecked(False)
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(action is not None)
        self.show()

    def show_error(self, exc: BaseException, action: tuple[str, object] | None = None):
        """Any failure of a job, in plain words: a DeskMLError as it is; anything else is
        called a bug, logged, and its traceback kept under Details (never shown up front)."""
        from ...core.errors import DeskMLError

        if isinstance(exc, DeskMLError):
            self.show_message(exc.headline, exc.app_hint, exc.details or "", level=exc.level, action=action)
            return
        import logging
        import traceback

        logging.getLogger(__name__).error("a job failed", exc_info=exc)
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.show_message("DeskML hit an unexpected problem (a bug, not your doing).",
                          "Please send the details below to the DeskML developers.", details)
