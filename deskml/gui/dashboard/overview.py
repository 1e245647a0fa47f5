"""The Overview tab: what the model does, whether it runs, where, and start/stop/restart."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from ...core import services
from .. import workers
from ..widgets.message import MessageBanner
from ..widgets.style import button_row, heading

if TYPE_CHECKING:
    from . import ModelDashboard


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
