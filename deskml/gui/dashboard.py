"""One model's dashboard: Overview, Try it, Batch.

Monitoring, Versions and Report are later issues: they will be more tabs of this
QTabWidget, each a page class like the ones here.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from ..core import batch, reference, services
from . import workers
from .resources import icon
from .widgets.message import MessageBanner
from .widgets.predict_form import PredictForm
from .widgets.style import button_row, heading

TABLES = "Tables (*.csv *.txt *.xlsx *.xlsm *.xls)"


def inputs_of(version) -> list[dict]:
    """The version's inputs, with hints from its reference data when it has some."""
    inputs = (version.info or {}).get("inputs") or []
    if version.reference and Path(version.reference).is_file():
        try:
            return reference.with_hints(inputs, reference.read_table(version.reference))
        except Exception:  # reference data moved or changed: the model's own description will do
            pass
    return inputs


class ModelDashboard(QWidget):
    changed = Signal()   # started, stopped: the home refreshes its list

    def __init__(self, model: str, settings, registry, parent=None):
        super().__init__(parent, Qt.Window)
        self.model = model
        self.settings = settings
        self.registry = registry
        self.running = None
        self.setWindowTitle(f"{model} — DeskML")
        self.setWindowIcon(icon("deskml"))
        self.resize(860, 620)
        self.tabs = QTabWidget()
        self.overview = OverviewTab(self)
        self.try_tab = TryTab(self)
        self.batch = BatchTab(self)
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.try_tab, "Try it")
        self.tabs.addTab(self.batch, "Batch")
        layout = QVBoxLayout(self)
        layout.addWidget(heading(model, 1.4))
        layout.addWidget(self.tabs)
        self.overview.refresh()

    def set_running(self, running):
        self.running = running
        self.try_tab.update_service()
        self.batch.update_service()


class OverviewTab(QWidget):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.state = heading("…")
        self.address = QLineEdit()
        self.address.setReadOnly(True)
        self.version = QLabel()
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.address.text()))
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.restart_button = QPushButton("Restart")
        self.logs_button = QPushButton("Show the log")
        self.start_button.clicked.connect(self.start)
        self.restart_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.logs_button.clicked.connect(self.show_logs)
        self.message = MessageBanner()
        self.message.hide()
        self.logs = QPlainTextEdit()
        self.logs.setReadOnly(True)
        self.logs.hide()
        address_row = QHBoxLayout()
        address_row.addWidget(self.address, 1)
        address_row.addWidget(self.copy_button)
        versions = dash.registry.versions(dash.model)
        newest = versions[-1] if versions else None
        self.what = QLabel((newest.info or {}).get("summary", "") if newest else "")
        self.what.setWordWrap(True)
        self.runs_as = QLabel((f"a container ({newest.tag}), Python {newest.python}, scikit-learn "
                               f"{newest.sklearn_version}" if newest.tag else "a local process on this computer")
                              if newest else "")
        form = QFormLayout()
        form.addRow("What it does", self.what)
        form.addRow("Status", self.state)
        form.addRow("Version", self.version)
        form.addRow("Runs as", self.runs_as)
        form.addRow("Address", address_row)
        buttons = button_row(self.start_button, self.stop_button, self.restart_button, self.logs_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.logs, 1)
        layout.addStretch(0)
        self._worker = None

    def refresh(self):
        d = self.dash
        self._run(lambda: services.find(d.settings, d.model), self._show)

    def start(self):
        d = self.dash
        self.state.setText("Starting…")
        self._run(lambda: services.start(d.settings, d.registry, d.model), self._show)

    def stop(self):
        d = self.dash
        self.state.setText("Stopping…")
        self._run(lambda: services.stop(d.settings, d.model) and None, self._show)

    def show_logs(self):
        d = self.dash
        self._run(lambda: services.logs(d.settings, d.model), self._show_logs)

    def _run(self, job, on_done):
        if self._worker is not None:
            return
        self.message.hide()
        for b in (self.start_button, self.stop_button, self.restart_button):
            b.setEnabled(False)
        self._worker = workers.start(job, on_done=on_done, on_error=self._failed, on_finished=self._finished)

    def _show(self, running):
        d = self.dash
        ok = running is not None and running.state == "running"
        d.set_running(running if ok else None)
        versions = d.registry.versions(d.model)
        latest = versions[-1].version if versions else "?"
        if ok:
            self.state.setText(f"Running ({running.health})" if running.health not in ("healthy", "none")
                               else "Running")
            self.version.setText(running.version)
            self.address.setText(running.url)
        else:
            self.state.setText("Stopped")
            self.version.setText(f"{latest} (newest)")
            self.address.setText("")
        d.changed.emit()

    def _show_logs(self, text):
        self.logs.setPlainText(text or "(nothing yet)")
        self.logs.show()

    def _failed(self, exc):
        self.message.show_error(exc)
        self.state.setText("Not running")

    def _finished(self):
        self._worker = None
        running = self.dash.running is not None
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.restart_button.setEnabled(running)


class TryTab(QWidget):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.form = PredictForm()
        self.not_running = QLabel("Start the model (Overview) to try it.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.not_running)
        layout.addWidget(self.form, 1)

    def update_service(self):
        r = self.dash.running
        self.not_running.setVisible(r is None)
        self.form.setEnabled(r is not None)
        if r is not None and self.form.url != r.url:
            self.form.set_model(r.url, inputs_of(self.dash.registry.get(self.dash.model, r.version)))


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
        row = button_row(self.pick_button, self.score_button, self.cancel_button, self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.file_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview, 1)

    def update_service(self):
        self.score_button.setEnabled(self.dash.running is not None and self.source is not None
                                     and self._worker is None)

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
        self._tmp = Path(tempfile.mkdtemp(prefix="deskml-scored-")) / f"{self.source.stem}-scored.csv"
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
        self.save_button.setEnabled(True)

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

