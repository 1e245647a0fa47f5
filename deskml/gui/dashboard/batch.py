"""The Batch tab: score a whole CSV or Excel file through the running model."""
from __future__ import annotations

from typing import TYPE_CHECKING

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...core import batch
from .. import workers
from ..widgets.message import MessageBanner
from ..widgets.style import button_row

TABLES = "Tables (*.csv *.txt *.xlsx *.xlsm *.xls)"

if TYPE_CHECKING:
    from . import ModelDashboard


class _Progress(QObject):
    moved = Signal(int, int)   # bytes sent, of total: emitted from the scoring thread, shown on the UI thread


class BatchTab(QWidget):
    PREVIEW_ROWS = 50
    saved = Signal(str)   # where the result was saved

    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.source = None
        self.result = None
        self.pick_button = QPushButton("Choose a CSV or Excel file…")
        self.pick_button.clicked.connect(self.choose)
        self.score_button = QPushButton("Score it")
        self.score_button.setEnabled(False)
        self.score_button.clicked.connect(lambda: self.score())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button = QPushButton("Save as…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.file_label = QLabel("No file chosen.")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.summary = QLabel("")
        self.preview = QTableWidget()
        self.message = MessageBanner()
        self.message.hide()
        self._progress = _Progress()
        self._progress.moved.connect(self._moved)
        self._cancel = threading.Event()
        self._worker = None
        self._scratch = None  # the folder of the last scored copy
        row = button_row(self.pick_button, self.score_button, self.cancel_button, self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.file_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview, 1)

    def update_service(self):
        # both wait for the job under way to be over, its last callback included: a click in
        # between would otherwise be dropped (the job is still the tab's one job)
        idle = self._worker is None
        self.score_button.setEnabled(self.dash.running is not None and self.source is not None and idle)
        self.save_button.setEnabled(self.result is not None and idle)

    def choose(self):
        name, _ = QFileDialog.getOpenFileName(self, "Choose the data to score", str(Path.home()), TABLES)
        if name:
            self.set_source(name)

    def set_source(self, path):
        self.source = Path(path)
        self.file_label.setText(f"To score: {self.source.name}")
        self.update_service()

    def score(self, into=None):
        import tempfile

        if self.dash.running is None or self.source is None or self._worker is not None:
            return
        self._cancel.clear()
        self.message.hide()
        self.summary.setText("")
        self.progress.setValue(0)
        self.cancel_button.show()
        self.score_button.setEnabled(False)
        self.save_button.setEnabled(False)
        self.result = None  # a failed or cancelled scoring leaves nothing to save, not the last one
        # the scored copy lives until the next scoring or the app's end (the folder goes with
        # the object that holds it: a result dropped here is not left on the disk)
        self._scratch = tempfile.TemporaryDirectory(prefix="deskml-scored-")
        self._tmp = Path(self._scratch.name) / f"{self.source.stem}-scored.csv"
        self._worker = workers.start(
            batch.score_file, self.dash.running.url, self.source, self._tmp,
            progress=self._progress.moved.emit, cancel=self._cancel.is_set,
            on_done=self._scored, on_error=self._failed, on_finished=self._finished)

    def cancel(self):
        self._cancel.set()
        self.cancel_button.setEnabled(False)

    def _moved(self, done, total):
        self.progress.setValue(int(1000 * done / max(total, 1)))

    def _scored(self, rows):
        import pandas as pd

        self.result = self._tmp
        self.progress.setValue(1000)
        self.summary.setText(f"Scored {rows:,} rows. The first {min(rows, self.PREVIEW_ROWS)} are below; "
                             "save the whole result as CSV or Excel.")
        frame = pd.read_csv(self.result, nrows=self.PREVIEW_ROWS)
        answers = [c for c in frame.columns if c == "prediction" or str(c).startswith("probability_")]
        frame = frame[answers + [c for c in frame.columns if c not in answers]]  # the answers first
        self.preview.setColumnCount(len(frame.columns))
        self.preview.setRowCount(len(frame))
        self.preview.setHorizontalHeaderLabels([str(c) for c in frame.columns])
        for r, values in enumerate(frame.itertuples(index=False)):
            for c, v in enumerate(values):
                self.preview.setItem(r, c, QTableWidgetItem(str(v)))
        self.preview.resizeColumnsToContents()  # every input's name whole, not clipped at both ends

    def _failed(self, exc):
        self.progress.setValue(0)
        self.message.show_error(exc)

    def _finished(self):
        self._worker = None
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)
        self.update_service()

    def save(self, name=None):
        """Save the whole result as CSV or Excel (written off the UI thread: a big sheet takes seconds)."""
        if self.result is None or self._worker is not None:
            return
        if not name:
            name, _ = QFileDialog.getSaveFileName(self, "Save the scored data",
                                                  str(Path.home() / self.result.name),
                                                  "CSV (*.csv);;Excel (*.xlsx)")
        if not name:
            return
        self.save_button.setEnabled(False)
        self.summary.setText(f"Saving {Path(name).name}…")
        self._worker = workers.start(batch.write_result, self.result, Path(name), on_done=self._saved,
                                     on_error=self._failed, on_finished=self._finished)

    def _saved(self, dst):
        self.summary.setText(f"Saved as {dst}.")
        self.saved.emit(str(dst))
