"""The Versions tab's "Export for a server…": the files to run the selected version on
Kubernetes, KServe, Swarm or Compose, or its image as a file, written into a folder with a
page for the IT person (``core.export``); the image may be pushed to a registry first."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QVBoxLayout)

from .. import workers
from ..widgets.message import MessageBanner

TARGETS = [("kubernetes", "Kubernetes"), ("kserve", "Kubernetes with KServe"),
           ("swarm", "Docker Swarm (several machines)"), ("compose", "Docker Compose (one machine)"),
           ("image-tar", "An image file (for a machine without a registry)")]
JOURNALS = [("stdout", "In each copy's output (the cluster's log tools collect it)"),
            ("volume", "In files on a shared volume")]


class ExportDialog(QDialog):
    def __init__(self, parent, settings, registry, model: str, version: str):
        super().__init__(parent)
        from ...core.paths import slug

        self.settings, self.registry, self.model, self.version = settings, registry, model, version
        self.setWindowTitle(f"Export {model}, version {version}")
        self.message = MessageBanner()
        self.message.hide()
        self.target = QComboBox()
        for key, words in TARGETS:
            self.target.addItem(words, key)
        self.journal = QComboBox()
        for key, words in JOURNALS:
            self.journal.addItem(words, key)
        self.image = QLineEdit()
        self.image.setPlaceholderText("registry.example.com/team/model:2 (optional)")
        self.push = QCheckBox("Push the image there first")
        self.folder = QLineEdit(str(Path.home() / f"{slug(model)}-{slug(version)}-export"))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Where will it run?", self.target)
        form.addRow("Its predictions are kept", self.journal)
        form.addRow("Image name in your registry", self.image)
        form.addRow("", self.push)
        form.addRow("Into the folder", where)
        self.progress = QLabel("DeskML measures the image's memory and speed on this computer to size it (about "
                               "20 seconds), and writes a page for the IT person (README.md) beside the files.")
        self.progress.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Export")
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self.target.currentIndexChanged.connect(self._enable)
        self.image.textChanged.connect(self._enable)
        self._enable()
        self._worker = None
        self.done_export = None
        self.open_folder = True
        self.cancelled = False

    def reject(self) -> None:
        """Cancel: an export under way finishes in the background (a push cannot be taken back
        half way), but nothing more is done with it here."""
        self.cancelled = True
        super().reject()

    def _enable(self) -> None:
        tar = self.target.currentData() == "image-tar"
        self.journal.setEnabled(not tar)
        self.push.setEnabled(bool(self.image.text().strip()))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def start(self) -> None:
        if self._worker is not None:
            return
        self.message.hide()
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)
        self._worker = workers.start(_export, self.settings, self.registry, self.model, self.version,
                                     self.target.currentData(), self.folder.text().strip(),
                                     self.image.text().strip() or None, self.journal.currentData(),
                                     self.push.isChecked() and self.push.isEnabled(),
                                     on_progress=self.progress.setText, on_done=self._done,
                                     on_error=self._failed, on_finished=self._idle)

    def _done(self, exported) -> None:
        if self.cancelled:
            return
        self.done_export = exported
        if self.open_folder:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(exported.folder)))
        self.accept()

    def _failed(self, error) -> None:
        self.message.show_error(error)
        self.progress.setText("No file was half written: change what the message says, then export again.")

    def _idle(self) -> None:
        self._worker = None
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(True)


def _export(settings, registry, model, version, to, folder, image, journal, push_first):
    """A generator for the worker: what it is doing (for the dialog), then the export."""
    from ...core import export

    if push_first:
        yield f"Pushing the image to {image}…"
        export.push(settings, registry, model, version, image)
    yield ("Writing the image to a file…" if to == "image-tar" else
           "Measuring the image's memory and CPU per prediction, then writing the files…")
    return export.export(settings, registry, model, version, to, folder or ".", image=image, journal=journal)
