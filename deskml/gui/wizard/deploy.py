"""The deploy wizard and its pages (see the package's docstring)."""
from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QProgressBar, QPushButton, QToolButton, QVBoxLayout, QWizard, QWizardPage)

from ...core import reference, services
from ...core.intake.inspection import ModelInfo
from .. import workers
from ..resources import icon
from ..widgets.message import MessageBanner
from ..widgets.model_report import ModelReport
from ..widgets.predict_form import PredictForm
from ..widgets.style import heading
from ..widgets.text_field import TextField

REFERENCE_FILTER = "Tables (*.csv *.txt *.xlsx *.xlsm *.xls);;All files (*)"


def default_name(info: ModelInfo) -> str:
    stem = Path(info.file_name).name.split(".")[0]
    return stem.replace("_", " ").replace("-", " ").strip().capitalize() or "My model"


class DeployWizard(QWizard):
    """From an inspected model file to a running, tried service."""
    deployed = Signal(str, str)   # model name, version: the wizard finished with a running service
    packaging = Signal(str, bool)  # model name, True while its build runs (the home shows "Packaging")

    def __init__(self, info: ModelInfo, settings, registry, parent=None, reference: str | None = None):
        super().__init__(parent)
        self.suggested_reference = reference   # attached on the first page (the demo's own data)
        self.setWindowTitle("Put a model to work")
        self.setWindowIcon(icon("deskml"))
        self.setWizardStyle(QWizard.ModernStyle)
        self.setOption(QWizard.NoBackButtonOnLastPage, True)
        self.resize(820, 640)
        self.info = info                 # inputs enriched by reference data, when given
        self.settings = settings
        self.registry = registry
        self.reference_path: str | None = None
        self.version = None              # the registry Version made on the Package page
        self.running = None              # the Running service from the Start page
        self.model_page = ModelPage()
        self.package_page = PackagePage()
        self.start_page = StartPage()
        self.try_page = TryPage()
        for page in (self.model_page, self.package_page, self.start_page, self.try_page):
            self.addPage(page)
        self.setButtonText(QWizard.FinishButton, "Done")

    def accept(self):
        if self.version is not None:
            self.deployed.emit(self.version.model, self.version.version)
        super().accept()


class ModelPage(QWizardPage):
    """Is it safe, what does it predict, which inputs? Reference data fills in the gaps."""

    def __init__(self):
        super().__init__()
        self.setTitle("Your model")
        self.setSubTitle("Checked, and safe to open. Attach data like the data it learned from, if you have it: "
                         "it fills in examples, ranges and choices, and is the baseline for watching it later.")
        self.report = ModelReport()
        self.reference_button = QPushButton("Attach reference data…")
        self.reference_button.setIcon(icon("drop"))
        self.reference_button.clicked.connect(self.choose_reference)
        self.reference_label = QLabel("No reference data (optional).")
        self.reference_label.setWordWrap(True)
        self.message = MessageBanner()
        self.message.hide()
        row = QHBoxLayout()
        row.addWidget(self.reference_button)
        row.addWidget(self.reference_label, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.report, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self._worker = None

    def initializePage(self):
        wizard = self.wizard()
        self.report.show_info(wizard.info)
        if wizard.suggested_reference and wizard.reference_path is None and self._worker is None:
            self.attach_reference(wizard.suggested_reference)

    def choose_reference(self):
        name, _ = QFileDialog.getOpenFileName(self, "Choose reference data", str(Path.home()), REFERENCE_FILTER)
        if name:
            self.attach_reference(name)

    def attach_reference(self, path):
        wizard = self.wizard()
        self.message.hide()
        self.reference_label.setText(f"Reading {Path(path).name}…")
        self.reference_button.setEnabled(False)

        def job():
            return reference.with_hints(wizard.info.inputs, reference.read_table(path))
        self._worker = workers.start(job, on_done=lambda inputs: self._attached(path, inputs),
                                     on_error=self._failed, on_finished=self._finished)

    def _attached(self, path, inputs):
        wizard = self.wizard()
        wizard.info = dataclasses.replace(wizard.info, inputs=inputs)
        wizard.reference_path = str(Path(path).resolve())
        self.report.show_info(wizard.info)
        self.reference_label.setText(f"Reference data: {Path(path).name}")

    def _failed(self, exc):
        self.reference_label.setText("No reference data (optional).")
        self.message.show_error(exc)

    def _finished(self):
        self._worker = None
        self.reference_button.setEnabled(True)


class PackagePage(QWizardPage):
    """What name and version? Then the build, with a real progress bar and Cancel."""

    def __init__(self):
        super().__init__()
        self.setTitle("Package")
        self.setSubTitle("DeskML packages the model with the library versions it was saved with, so it gives "
                         "the same answers here as where it was made.")
        self.name_edit = TextField()
        self.version_edit = TextField()
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Version", self.version_edit)
        self.package_button = QPushButton("Package")
        self.package_button.clicked.connect(self.package)
        self.cancel_button = QPushButton("Cancel packaging")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.step_label = QLabel("")
        self.step_label.setWordWrap(True)
        self.why_label = QLabel("")
        self.why_label.setWordWrap(True)
        self.log_button = QToolButton()
        self.log_button.setText("Show the build log")
        self.log_button.setCheckable(True)
        self.log_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.log_button.setArrowType(Qt.RightArrow)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.hide()
        self.log_button.toggled.connect(self._toggle_log)
        self.message = MessageBanner()
        self.message.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.package_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.step_label)
        layout.addWidget(self.why_label)
        layout.addWidget(self.message)
        layout.addWidget(self.log_button)
        layout.addWidget(self.log, 1)
        layout.addStretch(0)
        self._worker = None
        self._cancel = threading.Event()

    def initializePage(self):
        wizard = self.wizard()
        if not self.name_edit.text():
            self.name_edit.setText(default_name(wizard.info))
        self.version_edit.setPlaceholderText("automatic (1, 2, 3…)")
        self.package_button.setDefault(True)

    def _toggle_log(self, on):
        self.log.setVisible(on)
        self.log_button.setArrowType(Qt.DownArrow if on else Qt.RightArrow)
        self.log_button.setText("Hide the build log" if on else "Show the build log")

    def isComplete(self):
        return self.wizard() is not None and self.wizard().version is not None and self._worker is None

    def package(self):
        wizard = self.wizard()
        self._cancel.clear()
        self.message.hide()
        self.log.clear()
        self.why_label.setText("")
        self.progress.setRange(0, 0)  # busy until the engine says how many steps
        self.step_label.setText("Starting…")
        self.package_button.setEnabled(False)
        self.name_edit.setEnabled(False)
        self.version_edit.setEnabled(False)
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        wizard.version = None
        self.completeChanged.emit()
        self._name = self.name_edit.text().strip()
        wizard.packaging.emit(self._name, True)
        self._worker = workers.start(
            services.package, wizard.settings, wizard.registry, wizard.info, self.name_edit.text(),
            self.version_edit.text().strip() or None, reference=wizard.reference_path,
            code_files=wizard.info.code, cancel=self._cancel.is_set,
            on_progress=self._event, on_done=self._built, on_error=self._failed, on_finished=self._finished)

    def cancel(self):
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.step_label.setText("Cancelling…")

    def _event(self, event):
        if event.total > 1:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.step)
        if event.note:
            self.why_label.setText(event.message)
        elif event.message.startswith("Python "):
            self.why_label.setText(event.message)
        elif event.message:
            self.step_label.setText(event.message)
        if event.log:
            self.log.appendPlainText(event.log.rstrip("\n"))

    def _built(self, version):
        self.wizard().version = version
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        what = f"an image ({version.tag})" if version.tag else "a version that runs as a local process"
        self.step_label.setText(f"{version.model} version {version.version} is ready: {what}.")

    def _failed(self, exc):
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.step_label.setText("")
        self.message.show_error(exc)
        self.package_button.setText("Try again")

    def _finished(self):
        self._worker = None
        self.cancel_button.hide()
        self.wizard().packaging.emit(self._name, False)
        done = self.wizard().version is not None
        self.package_button.setEnabled(not done)
        self.name_edit.setEnabled(not done)
        self.version_edit.setEnabled(not done)
        self.completeChanged.emit()


class StartPage(QWizardPage):
    """Where is it? Starts the service, shows it becoming healthy, then the address."""

    def __init__(self):
        super().__init__()
        self.setTitle("Start")
        self.setSubTitle("The model runs on this computer and answers at a local address that stays the same.")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.state_label = heading("")
        self.state_label.setWordWrap(True)
        self.note_label = QLabel("")
        self.note_label.setWordWrap(True)
        self.address = QLineEdit()
        self.address.setReadOnly(True)
        self.copy_button = QPushButton("Copy address")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.address.text()))
        self.snippets = QPlainTextEdit()
        self.snippets.setReadOnly(True)
        self.snippets.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.copy_snippets = QPushButton("Copy examples")
        self.copy_snippets.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.snippets.toPlainText()))
        self.message = MessageBanner()
        self.message.hide()
        self.retry_button = QPushButton("Start again")
        self.retry_button.clicked.connect(self.start)
        self.retry_button.hide()
        row = QHBoxLayout()
        row.addWidget(QLabel("Address"))
        row.addWidget(self.address, 1)
        row.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.note_label)
        layout.addWidget(self.message)
        layout.addWidget(self.retry_button)
        layout.addLayout(row)
        layout.addWidget(QLabel("Call it from other programs:"))
        layout.addWidget(self.snippets, 1)
        layout.addWidget(self.copy_snippets, 0, Qt.AlignRight)
        self._worker = None

    def initializePage(self):
        if self.wizard().running is None:
            self.start()

    def isComplete(self):
        return self.wizard() is not None and self.wizard().running is not None

    def start(self):
        wizard = self.wizard()
        v = wizard.version
        self.message.hide()
        self.retry_button.hide()
        self.progress.show()
        self.state_label.setText(f"Starting {v.model}…")
        self.address.clear()
        self.snippets.clear()
        self._worker = workers.start(services.start, wizard.settings, wizard.registry, v.model, v.version,
                                     on_done=self._started, on_error=self._failed, on_finished=self._finished)

    def _started(self, running):
        wizard = self.wizard()
        wizard.running = running
        self.progress.hide()
        self.state_label.setText(f"{running.model} version {running.version} is running and healthy.")
        self.note_label.setText(running.note)
        self.address.setText(running.url)
        self.snippets.setPlainText(snippets(running.url, wizard.info))
        self.completeChanged.emit()

    def _failed(self, exc):
        self.progress.hide()
        self.state_label.setText("The model did not start.")
        self.message.show_error(exc)
        self.retry_button.show()

    def _finished(self):
        self._worker = None


def snippets(url: str, info: ModelInfo) -> str:
    """Ready-made calls: curl, Python, and a whole spreadsheet saved as CSV."""
    row = {i["name"]: i.get("example") for i in info.inputs if i.get("used", True)}
    body = json.dumps({"inputs": [row]})
    return (
        "# curl\n"
        f"curl -s {url}/v1/predict -H 'content-type: application/json' -d '{body}'\n\n"
        "# Python\n"
        "import requests\n"
        f"answer = requests.post('{url}/v1/predict', json={{'inputs': [{row!r}]}}).json()\n"
        "print(answer['predictions'])\n\n"
        "# A spreadsheet: save it as CSV (one column per input), then\n"
        f"curl -s {url}/v1/predict/csv --data-binary @customers.csv -o scored.csv\n"
        "# scored.csv is your sheet with prediction columns added; open it in your spreadsheet program.\n\n"
        f"# All the details: {url}/docs"
    )


class TryPage(QWizardPage):
    """What does it say for these inputs?"""

    def __init__(self):
        super().__init__()
        self.setTitle("Try it")
        self.setSubTitle("Change the inputs and press Predict. The answer comes from the running model.")
        self.form = PredictForm()
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)

    def initializePage(self):
        wizard = self.wizard()
        self.form.set_model(wizard.running.url, wizard.info.inputs)
