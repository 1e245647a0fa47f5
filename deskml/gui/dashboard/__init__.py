"""One model's dashboard: a window of tabs, one module per tab.

``overview`` (status, address, start/stop/restart, log, a live summary),
``monitoring`` (charts and the newest predictions), ``try_it`` (the prediction
form), ``batch`` (score a CSV or Excel file), ``privacy`` (inputs never stored,
erasure, alert rules), ``versions`` (every version, notes, two compared, the audit
log). Report comes as one more tab of this QTabWidget.
The live view is gathered in a worker (``live.snapshot``) about once a second.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ...core import reference
from .. import workers
from ..resources import icon
from ..widgets.message import MessageBanner
from ..widgets.style import heading


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
    changed = Signal()     # started, stopped: the home refreshes its list
    refreshed = Signal(object)  # a Snapshot was put on screen (for tests)

    REFRESH_MS = 1000

    def __init__(self, model: str, settings, registry, parent=None):
        super().__init__(parent, Qt.Window)
        self.model = model
        self.settings = settings
        self.registry = registry
        self.running = None
        self.setWindowTitle(f"{model} — DeskML")
        self.setWindowIcon(icon("deskml"))
        self.resize(980, 760)
        from .batch import BatchTab
        from .monitoring import MonitoringTab
        from .overview import OverviewTab
        from .privacy import PrivacyTab
        from .report import ReportTab
        from .try_it import TryTab
        from .versions import VersionsTab

        self.alert = MessageBanner()
        self.alert.hide()
        self.tabs = QTabWidget()
        self.overview = OverviewTab(self)
        self.monitoring = MonitoringTab(self)
        self.try_tab = TryTab(self)
        self.batch = BatchTab(self)
        self.privacy = PrivacyTab(self)
        self.versions = VersionsTab(self)
        self.report = ReportTab(self)
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.monitoring, "Monitoring")
        self.tabs.addTab(self.try_tab, "Try it")
        self.tabs.addTab(self.batch, "Batch")
        self.tabs.addTab(self.privacy, "Privacy and alerts")
        self.tabs.addTab(self.versions, "Versions")
        self.tabs.addTab(self.report, "Report")
        self.tabs.currentChanged.connect(lambda _: self.refresh_now())
        self.tabs.currentChanged.connect(lambda _: self.tabs.currentWidget() is self.versions
                                         and self.versions.refresh())
        self.tabs.currentChanged.connect(lambda _: self.tabs.currentWidget() is self.report
                                         and self.report.refresh())
        layout = QVBoxLayout(self)
        layout.addWidget(heading(model, 1.4))
        layout.addWidget(self.alert)
        layout.addWidget(self.tabs)
        self.overview.refresh()
        self._live_worker = None
        self._again = False
        self.timer = QTimer(self)
        self.timer.setInterval(self.REFRESH_MS)
        self.timer.timeout.connect(self.refresh_now)
        self.timer.start()
        self.refresh_now()

    def set_running(self, running):
        self.running = running
        self.try_tab.update_service()
        self.batch.update_service()

    # -- the live view: gathered in a worker, about once a second ---------------------------
    def refresh_now(self):
        """Gather a new snapshot now (or as soon as the one under way is done)."""
        if self._live_worker is not None:
            self._again = True
            return
        from .live import Request, snapshot

        palette = self.palette()
        req = Request(range_name=self.monitoring.range_name, search=self.monitoring.search.text(),
                      sparkline=self.overview.sparkline.target() if self.tabs.currentWidget() is self.overview
                      else None,
                      charts=self.monitoring.chart_sizes() if self.tabs.currentWidget() is self.monitoring else None,
                      text=palette.windowText().color().name(), background=palette.window().color().name())
        self._live_worker = workers.start(snapshot, self.settings, self.registry, self.model, req,
                                          on_done=self._show_snapshot, on_error=self._live_failed,
                                          on_finished=self._live_finished)

    def _show_snapshot(self, snap):
        self.overview.show_snapshot(snap)
        if snap.charts:
            self.monitoring.show_snapshot(snap)
        self._show_alert(snap.alerts)
        self.refreshed.emit(snap)

    def _show_alert(self, alerts):
        unseen = [a for a in alerts if not a["seen"]]
        if not unseen:
            self.alert.hide()
            return
        a = unseen[-1]
        self.alert.show_message(a["headline"], a["what_to_do"], level="error" if a["severity"] == "serious" else
                                "warning", action=("Dismiss", self._dismiss))

    def _dismiss(self):
        self.registry.mark_alerts_seen(self.model)
        self.alert.hide()

    def _live_failed(self, exc):
        import logging
        logging.getLogger(__name__).warning("the live view could not be refreshed: %s", exc)

    def _live_finished(self):
        self._live_worker = None
        if self._again:
            self._again = False
            QTimer.singleShot(0, self, self.refresh_now)  # with self as context: dropped if the window goes

    def closeEvent(self, event):
        self.timer.stop()
        super().closeEvent(event)
