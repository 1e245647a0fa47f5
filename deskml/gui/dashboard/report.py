"""The Report tab: the intended use and limitations the user writes (kept per model), a
preview that is the one page itself (``core.report.export.preview``: the PDF made and drawn
in a worker), and one click to export the PDF, which then opens in the computer's viewer."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from .. import workers
from ..widgets.message import MessageBanner

if TYPE_CHECKING:
    from . import ModelDashboard


class ReportTab(QWidget):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.message = MessageBanner()
        self.message.hide()
        self.use = QPlainTextEdit()
        self.use.setPlaceholderText("What the model is for, and who relies on it: e.g. 'Choose which customers get "
                                    "a loyalty voucher each month.'")
        self.limits = QPlainTextEdit()
        self.limits.setPlaceholderText("Where it should not be trusted: e.g. 'Trained on one shop's customers in "
                                       "2025; not for other shops.'")
        for box in (self.use, self.limits):
            box.setMaximumHeight(60)
        words = QGroupBox("In your words (kept with the model, printed on the report)")
        form = QFormLayout(words)
        form.addRow("Intended use", self.use)
        form.addRow("Limitations", self.limits)
        self.export_button = QPushButton("Export the report (PDF)…")
        self.export_button.setToolTip("One page for a boss, a client or an auditor: what the model is, how it "
                                      "works, and whether it can be trusted today.")
        self.export_button.clicked.connect(lambda: self.export())
        self.card_button = QPushButton("Export as a model card…")
        self.card_button.setToolTip("The same facts in full, as Markdown or JSON (Model Card Toolkit sections).")
        self.card_button.clicked.connect(lambda: self.export(card=True))
        self.refresh_button = QPushButton("Refresh the preview")
        self.refresh_button.clicked.connect(self.refresh)
        self.zoom = QComboBox()
        self.zoom.addItems(["Whole page", "Page width"])
        self.zoom.setAccessibleName("Zoom")
        buttons = QHBoxLayout()
        for b in (self.export_button, self.card_button, self.refresh_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.zoom)
        self.preview = PageView()
        self.zoom.currentIndexChanged.connect(lambda i: self.preview.set_whole(i == 0))
        self.note = QLabel("The page as it will print (A4 or Letter, as your computer is set). Type the "
                           "intended use and limitations above, then refresh to see them on it.")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(words)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.preview, 1)
        kept = dash.registry.settings(dash.model)
        self.use.setPlainText(kept.get("intended_use") or "")
        self.limits.setPlainText(kept.get("limitations") or "")
        self._worker = None
        self.facts = None
        self.page_pdf = b""      # the PDF the preview shows
        self.exported = None     # the path of the last file written
        self.previews = 0

    def save_words(self) -> None:
        self.dash.registry.update_settings(self.dash.model, intended_use=self.use.toPlainText().strip(),
                                           limitations=self.limits.toPlainText().strip())

    def refresh(self) -> None:
        if self._worker is not None:
            return
        from ...core.report.export import preview

        self.save_words()
        self.refresh_button.setEnabled(False)
        self._worker = workers.start(preview, self.dash.settings, self.dash.registry, self.dash.model,
                                     on_done=self._show, on_error=self.message.show_error, on_finished=self._idle)

    def _show(self, made) -> None:
        self.facts, self.page_pdf, png = made
        self.preview.show_page(png)
        self.previews += 1

    def _idle(self) -> None:
        self._worker = None
        self.refresh_button.setEnabled(True)
        self.export_button.setEnabled(True)
        self.card_button.setEnabled(True)

    def export(self, name: str | None = None, card: bool = False, open_it: bool = True) -> None:
        """Write the PDF (or the model card) in a worker; the file opens once it is written."""
        if self._worker is not None:
            return
        if not name:
            default = str(Path.home() / f"{self.dash.model} report.{'md' if card else 'pdf'}")
            filters = "Markdown (*.md);;JSON (*.json)" if card else "PDF (*.pdf)"
            name, _ = QFileDialog.getSaveFileName(self, "Save the model card" if card else "Save the report",
                                                  default, filters)
        if not name:
            return
        self.save_words()
        self.message.hide()
        self.export_button.setEnabled(False)
        self.card_button.setEnabled(False)
        self._worker = workers.start(_write, self.dash.settings, self.dash.registry, self.dash.model, name,
                                     on_done=lambda path: self._written(path, open_it),
                                     on_error=self.message.show_error, on_finished=self._idle)

    def _written(self, path, open_it: bool) -> None:
        self.exported = Path(path)
        self.message.show_message(f"The report is in {self.exported.name}.", str(self.exported.parent), level="info")
        if open_it:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.exported)))


class PageView(QScrollArea):
    """The report's page on a grey desk, like a viewer's: the whole page (the default), or as
    wide as the tab."""

    def __init__(self):
        super().__init__()
        self.page = QLabel()
        self.page.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
        self.page.setAccessibleName("The report's page")
        self.setWidget(self.page)
        self.setWidgetResizable(True)
        self.setStyleSheet("QScrollArea { background: #8a8d91; } QLabel { background: #8a8d91; }")
        self.image = QPixmap()
        self.whole = True

    def set_whole(self, whole: bool) -> None:
        self.whole = whole
        self._fit()

    def show_page(self, png: bytes) -> None:
        self.image.loadFromData(png, "PNG")
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self.image.isNull():
            return
        width = max(200, self.viewport().width() - 40)
        if self.whole:
            height = max(200, self.viewport().height() - 16)
            width = min(width, round(height * self.image.width() / self.image.height()))
        self.page.setPixmap(self.image.scaledToWidth(width, Qt.SmoothTransformation))


def _write(settings, registry, model: str, name: str) -> Path:
    """A PDF, or a model card by the name's ending (.md, .json)."""
    from ...core.report.export import export

    path = Path(name)
    if path.suffix.lower() not in (".pdf", ".md", ".json"):
        path = path.with_suffix(".pdf")
    export(settings, registry, model, None, path)
    return path
