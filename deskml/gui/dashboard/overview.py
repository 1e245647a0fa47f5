"""The Overview tab: what the model does, whether it runs, where, and start/stop/restart."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from ...core import services
from .. import workers
from ...core.monitoring.queries import ENOUGH
from ..widgets.chart_image import ChartImage
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
        # the live summary, refreshed by the dashboard about once a second
        self.last_hour = QLabel("…")
        self.today = QLabel("…")
        self.speed = QLabel("…")
        self.errors = QLabel("…")
        self.last_alert = QLabel("none")
        self.last_alert.setWordWrap(True)
        self.sparkline = ChartImage(80)
        live = QFormLayout()
        live.addRow("Last hour", self.last_hour)
        live.addRow("Today", self.today)
        live.addRow("Speed", self.speed)
        live.addRow("Errors", self.errors)
        live.addRow("Last alert", self.last_alert)
        live_row = QHBoxLayout()
        live_row.addLayout(live, 3)
        spark = QVBoxLayout()
        spark.addWidget(QLabel("Predictions, the last hour"))
        spark.addWidget(self.sparkline)
        spark.addStretch(1)
        live_row.addLayout(spark, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(heading("How it is doing", 1.1))
        layout.addLayout(live_row)
        layout.addWidget(self.logs, 1)
        layout.addStretch(1)
        self._worker = None

    def show_snapshot(self, snap) -> None:
        """The live summary from the dashboard's worker."""
        h, t = snap.hour, snap.today
        self.last_hour.setText(f"{h.predictions:,} prediction{'s' if h.predictions != 1 else ''}"
                               + (f", the last at {datetime.fromtimestamp(h.last_prediction):%H:%M:%S}"
                                  if h.last_prediction else ""))
        self.today.setText(f"{t.predictions:,} prediction{'s' if t.predictions != 1 else ''}")
        if not h.latency_count:
            self.speed.setText("no answers in the last hour")
        elif h.latency_count < ENOUGH:
            self.speed.setText(f"half of the answers within {h.p50_ms:.1f} ms (not enough data yet for more)")
        else:
            self.speed.setText(f"half within {h.p50_ms:.1f} ms, 95 % within {h.p95_ms:.1f} ms")
        total = h.requests + h.errors
        if not total:
            self.errors.setText("none")
        else:
            share = f"{h.error_share:.1%}" + ("" if h.enough else "; not enough data yet to judge")
            self.errors.setText(f"{h.errors} of {total} requests ({share})")
        alerts = snap.alerts
        if alerts:
            a = alerts[-1]
            self.last_alert.setText(f"{datetime.fromtimestamp(a['fired_at']):%H:%M}: {a['headline']}")
        else:
            last = self.dash.registry.alerts(self.dash.model)
            self.last_alert.setText(f"{datetime.fromtimestamp(last[-1]['fired_at']):%d %b %H:%M}: "
                                    f"{last[-1]['headline']} (resolved)" if last else "none")
        if snap.sparkline:
            self.sparkline.show_rgba(*snap.sparkline)

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
        self._run(lambda: services.stop(d.settings, d.model, d.registry) and None, self._show)

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
        desired, desired_at = d.registry.desired(d.model)
        if running is not None:
            state = "starting" if running.state == "restarting" else running.state
            words = services.state_words(state, running, desired, desired_at)
            self.state.setText(words[0].upper() + words[1:])
            self.version.setText(running.version)
            self.address.setText(running.url if running.state in ("running", "restarting") else "")
        else:
            words = services.state_words("stopped", None, desired, desired_at)
            self.state.setText(words[0].upper() + words[1:])
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
