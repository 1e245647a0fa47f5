"""The main window: drop a model file (anywhere), learn safely what it is.

The Package, Start and Try-it steps, the model list and the dashboard come
with later work (issues 3 and 4); this window is the home they build on.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QMainWindow, QProgressBar, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from ..core.errors import NeedsCode, UnsafeModelFile
from ..core.intake.inspection import ModelInfo, inspect_file
from . import workers
from .resources import icon
from .widgets.drop_zone import DropZone, dropped_file
from .widgets.message import MessageBanner
from .widgets.model_list import ModelList
from .widgets.model_report import ModelReport
from .widgets.style import heading

log = logging.getLogger(__name__)


def _settings():
    from ..core.settings import load_settings
    return load_settings()[0]


def _registry():
    from ..core.registry import Registry
    return Registry()
MODEL_FILTER = "Model files (*.joblib *.pkl *.pickle *.skops *.gz *.z *.bz2 *.xz *.lzma);;All files (*)"
MAX_RECENT = 8


class MainWindow(QMainWindow):
    inspection_finished = Signal(object)   # ModelInfo or DeskMLError: for tests and later pages
    welcomed = Signal()                    # models left running are back; what happened meanwhile is shown
    closed_for_good = Signal()             # the window closed (not into the tray): the app ends

    def __init__(self, demo_provider=None, welcome: bool = True):
        """``welcome``: bring back the models left running and say what happened meanwhile
        (False for ``deskml --self-test``, which must change nothing)."""
        super().__init__()
        self.setWindowTitle("DeskML")
        self.setWindowIcon(icon("deskml"))
        self.setAcceptDrops(True)
        self.resize(900, 760)
        self._demo_provider = demo_provider
        self._worker = None
        self._outcome = None
        self._last = (None, [], [])
        self.current: ModelInfo | None = None
        self._references: dict[str, str] = {}  # model file -> reference data known to go with it (the demo's)
        self.settings = QSettings("DeskML", "DeskML")

        title = heading("Put a model to work on your computer", 1.6)
        subtitle = QLabel("Drop the model file you were given. DeskML checks it is safe, "
                          "then tells you what it predicts and which inputs it needs.")
        subtitle.setWordWrap(True)

        self.drop_zone = DropZone()
        self.drop_zone.choose_requested.connect(self.choose_file)
        self.demo_button = QPushButton("Try the demo model")
        self.demo_button.setToolTip("A coffee shop's model that predicts whether a customer comes back")
        self.demo_button.clicked.connect(self.open_demo)
        demo_row = QHBoxLayout()
        demo_row.addStretch(1)
        demo_row.addWidget(QLabel("No model at hand?"))
        demo_row.addWidget(self.demo_button)

        self.busy = QWidget()
        self.busy_label = QLabel()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(220)
        busy_row = QHBoxLayout(self.busy)
        busy_row.setContentsMargins(0, 0, 0, 0)
        busy_row.addWidget(self.busy_bar)
        busy_row.addWidget(self.busy_label, 1)
        self.busy.hide()

        self.message = MessageBanner()
        self.message.hide()
        self.alert_banner = MessageBanner()   # alerts, and what happened while the app was closed
        self.alert_banner.hide()
        self.engine_page = MessageBanner()    # the first start on a computer with no container engine
        self.engine_page.hide()
        self.report = ModelReport()
        self.report.hide()
        self.deploy_button = QPushButton("Package and start…")
        self.deploy_button.setToolTip("Package the model with its own library versions and run it on this computer")
        self.deploy_button.clicked.connect(self.deploy)
        self.deploy_button.hide()
        self.wizard = None
        self.dashboards = {}
        self.models_title = heading("Your models", 1.15)
        self.models = ModelList(_settings, _registry)
        self.models.open_model.connect(self.open_dashboard)
        self.models.setMinimumHeight(120)
        self.models_empty = QLabel("No models yet: drop a model file above, or try the demo model.")
        self.models_empty.setEnabled(False)  # greyed, in any palette
        self.models.refreshed.connect(lambda states: self._show_models(bool(states)))
        self._show_models(False)
        deploy_row = QHBoxLayout()
        deploy_row.addStretch(1)
        deploy_row.addWidget(self.deploy_button)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(14)
        layout.addWidget(self.alert_banner)
        layout.addWidget(self.engine_page)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addWidget(self.drop_zone)
        layout.addLayout(demo_row)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.report, 1)
        layout.addLayout(deploy_row)
        layout.addWidget(self.models_title)
        layout.addWidget(self.models_empty)
        layout.addWidget(self.models)
        layout.addStretch(0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(page)
        self.setCentralWidget(scroll)
        self._build_menu()
        self.statusBar().showMessage("Ready")
        self.models.start()
        from .watcher import AlertWatcher, Tray

        self.tray = Tray(self)
        self.tray.open_requested.connect(self.bring_back)
        self.tray.quit_requested.connect(self.quit)
        self.tray.show()
        self.watcher = AlertWatcher(_settings, _registry, self)
        self.watcher.alerted.connect(self.show_alerts)
        self.watcher.start()
        self._quitting = False
        self._welcome_worker = None
        if welcome:
            QTimer.singleShot(0, self.welcome_back)

    # -- menu --------------------------------------------------------------
    def _build_menu(self):
        menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open model file…", self, shortcut=QKeySequence.Open)
        open_action.triggered.connect(self.choose_file)
        menu.addAction(open_action)
        self.recent_menu = menu.addMenu("Open &recent")
        demo_action = QAction("Try the &demo model", self)
        demo_action.triggered.connect(self.open_demo)
        menu.addAction(demo_action)
        menu.addSeparator()
        settings_action = QAction("&Settings…", self, shortcut=QKeySequence.Preferences)
        settings_action.triggered.connect(self.open_settings)
        menu.addAction(settings_action)
        menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)
        self._refresh_recent()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def _remember(self, path: Path):
        files = [str(path)] + [f for f in self.recent_files() if f != str(path)]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self):
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            action = self.recent_menu.addAction(Path(f).name)
            action.setToolTip(f)
            action.triggered.connect(lambda _=False, f=f: self.open_file(Path(f)))
        self.recent_menu.setEnabled(bool(files))

    # -- drag and drop anywhere on the window --------------------------------
    def dragEnterEvent(self, event):
        # Take any drop of files, so a wrong one gets an explanation rather
        # than a silent "forbidden" cursor.
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
            self.drop_zone.set_hover(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event):
        self.drop_zone.set_hover(False)

    def dropEvent(self, event):
        self.drop_zone.set_hover(False)
        path, why = dropped_file(event.mimeData())
        if path is None:
            self.message.show_message("DeskML cannot open that.", why, level="warning")
            return
        event.acceptProposedAction()
        self.open_file(path)

    # -- opening -------------------------------------------------------------
    def choose_file(self):
        start = str(Path(self.recent_files()[0]).parent) if self.recent_files() else str(Path.home())
        name, _ = QFileDialog.getOpenFileName(self, "Choose a model file", start, MODEL_FILTER)
        if name:
            self.open_file(Path(name))

    def open_demo(self):
        """The demo model, with its reference data ready for the wizard (ranges and choices)."""
        provider = self._demo_provider
        if provider is None:
            from ..core.demo import ensure_demo
            provider = ensure_demo

        def job():
            demo = provider()
            info = inspect_file(demo.model)
            self._references[info.path] = str(demo.reference)
            return info
        self._run(job, "Preparing the demo model…")

    def open_file(self, path: Path, code=(), trust=()):
        path = Path(path)
        self._remember(path)
        self._last = (path, list(code), list(trust))
        self._run(lambda: inspect_file(path, code=code, trust=trust), f"Checking that {path.name} is safe…")

    def add_code(self):
        """The model needs its author's .py file(s): choose them, then look again."""
        path, code, trust = self._last
        names, _ = QFileDialog.getOpenFileNames(self, "Choose the model's Python code", str(path.parent),
                                                "Python files (*.py)")
        if names:
            self.open_file(path, code=code + [Path(n) for n in names], trust=trust)

    def trust_modules(self, modules):
        path, code, trust = self._last
        self.open_file(path, code=code, trust=trust + list(modules))

    def _run(self, job, text: str):
        if self._worker is not None:
            return  # one inspection at a time; the button state says so
        self.message.hide()
        self.report.hide()
        self.deploy_button.hide()
        self.busy_label.setText(text)
        self.busy.show()
        self.drop_zone.setEnabled(False)
        self.demo_button.setEnabled(False)
        self.statusBar().showMessage(text)
        self._worker = workers.start(job, on_done=self._show_info, on_error=self._show_error,
                                     on_finished=self._job_finished)

    def _job_finished(self):
        self._worker = None
        self.busy.hide()
        self.drop_zone.setEnabled(True)
        self.demo_button.setEnabled(True)
        outcome, self._outcome = self._outcome, None
        self.inspection_finished.emit(outcome)

    def _show_info(self, info: ModelInfo):
        self.current = self._outcome = info
        self.report.show_info(info)
        self.deploy_button.show()
        self.deploy_button.setDefault(True)
        self.deploy_button.setFocus()
        self.statusBar().showMessage(f"{info.file_name}: safe to open")
        self.setWindowTitle(f"{info.file_name} — DeskML")  # the task bar says which file is open

    def deploy(self):
        """Open the deploy wizard for the model on screen."""
        from ..core.registry import Registry
        from ..core.settings import load_settings
        from .wizard import DeployWizard

        if self.current is None:
            return
        settings, _ = load_settings()
        self.wizard = DeployWizard(self.current, settings, Registry(), self,
                                   reference=self._references.get(self.current.path))
        self.wizard.deployed.connect(lambda model, _version: self.open_dashboard(model))
        self.wizard.finished.connect(lambda _result: self.models.refresh())
        self.wizard.packaging.connect(self.models.set_building)
        self.wizard.show()
        return self.wizard


    def _show_models(self, any_models: bool):
        self.models.setVisible(any_models)
        self.models_empty.setVisible(not any_models)

    def open_settings(self):
        from .settings_dialog import SettingsDialog

        dialog = SettingsDialog(self)
        dialog.open()
        return dialog

    def open_dashboard(self, model: str):
        from .dashboard import ModelDashboard

        dash = self.dashboards.get(model)
        if dash is None:
            dash = ModelDashboard(model, _settings(), _registry())
            dash.changed.connect(self.models.refresh)
            self.dashboards[model] = dash
        dash.show()
        dash.raise_()
        dash.activateWindow()
        return dash

    # -- alerts, the tray, and what happened while the app was closed ------------------------
    def show_alerts(self, fired: list):
        """New alerts: a banner on the home page (always), a desktop notification (serious ones)."""
        a = fired[-1]
        more = f" (and {len(fired) - 1} more)" if len(fired) > 1 else ""
        self.alert_banner.show_message(f"{a['headline']}{more}", a["what_to_do"],
                                       level="error" if a["severity"] == "serious" else "warning",
                                       action=("Open the model", lambda: self.open_dashboard(a["model"])))
        enabled = _settings().notifications
        for alert in fired:
            self.tray.notify(alert, enabled)
        self.models.refresh()

    def welcome_back(self):
        """Start again what the user left running, and say what happened while the app was closed."""
        import time as _time

        if self._welcome_worker is not None:
            return
        closed = self.settings.value("last_closed_at", None)
        since = float(closed) if closed not in (None, "") else None
        first = not self.settings.value("first_start_done", False, type=bool)

        def job(settings, registry):
            from ..core import services
            from ..core.monitoring import meanwhile

            lines = meanwhile.since(settings, registry, since) if since else []
            services.resume(settings, registry)
            no_engine = False
            if first:  # the first start: is there a container engine at all?
                client = services.engine(settings)
                no_engine = client is None
                if client is not None:
                    client.close()
            return lines, no_engine
        self.settings.setValue("last_closed_at", "")
        self._welcome_started = _time.time()
        self._welcome_worker = workers.start(job, _settings(), _registry(), on_done=lambda found: self._welcome(
            since, *found), on_error=lambda exc: None, on_finished=self._welcomed)

    def _welcome(self, since, lines, no_engine=False):
        self.settings.setValue("first_start_done", True)
        if no_engine:
            from ..core.runtimes.engine import no_engine_advice

            headline, what_to_do = no_engine_advice()
            self.engine_page.show_message(headline, what_to_do, level="info",
                                          action=("Got it", self.engine_page.hide))
        if lines:
            from ..core.monitoring.meanwhile import headline
            self.alert_banner.show_message(headline(since, lines), "\n".join(lines), level="info")
        self.models.refresh()

    def _welcomed(self):
        self._welcome_worker = None
        self.welcomed.emit()

    def bring_back(self):
        self.show()
        self.raise_()
        self.activateWindow()

    def quit(self):
        self._quitting = True
        self.close()

    def closeEvent(self, event):
        import time as _time

        from PySide6.QtWidgets import QSystemTrayIcon

        running = any(s.state in ("running", "starting") for s in self.models._last)
        if (not self._quitting and running and _settings().keep_in_tray
                and QSystemTrayIcon.isSystemTrayAvailable()):
            self.hide()  # the models keep running either way; the tray keeps the alerts coming
            self.tray.showMessage("DeskML", "DeskML keeps watching your models from here.", QSystemTrayIcon.Information,
                                  5000)
            event.ignore()
            return
        self.settings.setValue("last_closed_at", str(_time.time()))
        self.models.timer.stop()
        self.watcher.stop()
        self.tray.hide()
        for dash in self.dashboards.values():
            dash.close()
        super().closeEvent(event)
        self.closed_for_good.emit()

    def _show_error(self, exc: Exception):
        if isinstance(exc, NeedsCode):
            self.message.show_message(exc.headline, exc.app_hint, "\n".join(exc.missing), level="warning",
                                      action=("Add the model's code…", self.add_code))
        elif isinstance(exc, UnsafeModelFile) and exc.trustable:
            mods = exc.trustable
            self.message.show_message(exc.headline, exc.app_hint, exc.details or "\n".join(exc.offenders),
                                      action=(f"Trust {', '.join(mods)} and open", lambda: self.trust_modules(mods)))
        else:
            self.message.show_error(exc)
        self.statusBar().showMessage("The file was not opened")
        self.setWindowTitle("DeskML")
        self._outcome = exc
