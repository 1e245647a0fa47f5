"""The app's watch over every model: alert rules evaluated every few seconds (off the UI
thread), the models' watched folders looked at (a new model file there becomes a tested
candidate: ``core.experiments.candidate``), new alerts announced on the home page and, for serious ones, as a desktop
notification from the tray; the tray keeps DeskML running when its window closes."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from . import workers
from .resources import icon


class AlertWatcher(QObject):
    alerted = Signal(list)   # the alerts fired at the last look

    INTERVAL_MS = 10_000

    def __init__(self, settings_fn, registry_fn, parent=None):
        super().__init__(parent)
        self.settings_fn = settings_fn
        self.registry_fn = registry_fn
        self.timer = QTimer(self)
        self.timer.setInterval(self.INTERVAL_MS)
        self.timer.timeout.connect(self.look)
        self._worker = None

    def start(self):
        self.timer.start()

    def stop(self):
        self.timer.stop()

    def look(self):
        if self._worker is not None:
            return
        self._worker = workers.start(self._check, self.settings_fn(), self.registry_fn(),
                                     on_done=self._done, on_error=lambda exc: None, on_finished=self._finished)

    @staticmethod
    def _check(settings, registry):
        from ..core.experiments import candidate
        from ..core.monitoring import alerts

        fired = []
        for model in registry.models():
            if registry.desired(model)[0] == "running":
                try:
                    fired += alerts.check(settings, registry, model)
                except Exception:  # one model's trouble must not stop the watch over the others
                    continue
        try:
            fired += [c.alert for c in candidate.scan(settings, registry) if c.alert is not None]
        except Exception:  # a folder's trouble must not stop the alerts
            import logging

            logging.getLogger(__name__).exception("looking at the watched folders failed")
        return fired

    def _done(self, fired):
        if fired:
            self.alerted.emit(fired)

    def _finished(self):
        self._worker = None


class Tray(QSystemTrayIcon):
    """DeskML in the system tray: open the window, mute notifications, quit."""
    open_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(icon("deskml"), parent)
        self.setToolTip("DeskML: your models are running")
        self.muted = False
        menu = QMenu()
        self.open_action = QAction("Open DeskML", menu)
        self.open_action.triggered.connect(self.open_requested.emit)
        self.mute_action = QAction("Mute notifications", menu, checkable=True)
        self.mute_action.toggled.connect(self._mute)
        self.quit_action = QAction("Quit DeskML", menu)
        self.quit_action.triggered.connect(self.quit_requested.emit)
        menu.addAction(self.open_action)
        menu.addAction(self.mute_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        self._menu = menu
        self.setContextMenu(menu)
        self.activated.connect(lambda reason: self.open_requested.emit()
                               if reason == QSystemTrayIcon.Trigger else None)
        self.notified = []   # what was shown (tray notifications may not show on every desktop)

    def _mute(self, on):
        self.muted = on

    def notify(self, alert: dict, enabled: bool = True) -> bool:
        """A serious alert as a desktop notification, unless muted; True when one was shown."""
        if not enabled or self.muted or alert.get("severity") != "serious":
            return False
        self.notified.append(alert)
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            self.showMessage(f"DeskML: {alert['model']}", alert["headline"], QSystemTrayIcon.Critical, 15_000)
        return True
