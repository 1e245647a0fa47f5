"""Settings: the container engine, base images, default port, network, data folder, the
prediction journal's limits, the tray and notifications.

Saved by the core (``settings.json``); a bad value is explained inline and
nothing is saved until every value is right.
"""
from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout)

from ..core.runtimes import engine as core_engine
from ..core.errors import SettingsError
from ..core.settings import DEFAULT_BASE_IMAGE, Settings, load_settings, save_settings
from . import workers
from .widgets.message import MessageBanner

NETWORK_WORDS = {"auto": "Automatic (fastest on this computer)", "published": "Always through a published port"}


class SettingsDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(640)
        self.settings, warning = load_settings()
        s = self.settings
        self.engine_edit = QLineEdit(s.docker_host)
        self.engine_edit.setPlaceholderText("automatic: DOCKER_HOST, or the usual Docker socket")
        self.engine_edit.setToolTip("e.g. unix:///run/user/1000/podman/podman.sock for Podman")
        self.test_button = QPushButton("Test")
        self.test_button.clicked.connect(self.test_engine)
        self.engine_result = QLabel("")
        self.engine_result.setWordWrap(True)
        self.base_edit = QLineEdit(s.base_image)
        self.base_edit.setPlaceholderText(DEFAULT_BASE_IMAGE)
        self.base_edit.setToolTip("{python} is replaced by the Python version chosen for each model")
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1024, 65535)
        self.port_spin.setValue(int(s.default_port))
        self.network_box = QComboBox()
        for key, words in NETWORK_WORDS.items():
            self.network_box.addItem(words, key)
        self.network_box.setCurrentIndex(list(NETWORK_WORDS).index(s.network))
        self.folder_edit = QLineEdit(s.data_folder)
        self.folder_edit.setPlaceholderText("the usual place on this computer")
        self.folder_button = QPushButton("Choose…")
        self.folder_button.clicked.connect(self.choose_folder)
        self.journal_mb = QSpinBox()
        self.journal_mb.setRange(10, 10_000_000)
        self.journal_mb.setSuffix(" MB per model")
        self.journal_mb.setValue(int(s.journal_max_mb))
        self.journal_mb.setToolTip("Every file of a model's journal together. Over it, the oldest single "
                                   "predictions are summarised: totals per minute and hour stay.")
        self.journal_days = QSpinBox()
        self.journal_days.setRange(1, 36500)
        self.journal_days.setSuffix(" days")
        self.journal_days.setValue(int(s.journal_raw_days))
        self.journal_days.setToolTip("How long single predictions are kept; their totals stay longer.")
        self.tray_box = QCheckBox("Keep DeskML in the tray when the window closes while models run")
        self.tray_box.setChecked(bool(s.keep_in_tray))
        self.notify_box = QCheckBox("Show serious alerts as desktop notifications")
        self.notify_box.setChecked(bool(s.notifications))
        self.message = MessageBanner()
        self.message.hide()
        if warning:
            self.message.show_message("Your settings file could not be read.", warning, level="warning")

        engine_row = QHBoxLayout()
        engine_row.addWidget(self.engine_edit, 1)
        engine_row.addWidget(self.test_button)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.folder_button)
        form = QFormLayout()
        form.addRow("Container engine", engine_row)
        form.addRow("", self.engine_result)
        form.addRow("Base image", self.base_edit)
        form.addRow("First port for models", self.port_spin)
        form.addRow("How models are reached", self.network_box)
        form.addRow("Data folder", folder_row)
        form.addRow("Prediction journal, at most", self.journal_mb)
        form.addRow("Single predictions kept for", self.journal_days)
        form.addRow("", self.tray_box)
        form.addRow("", self.notify_box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._worker = None

    def values(self) -> Settings:
        return dataclasses.replace(
            self.settings, docker_host=self.engine_edit.text().strip(),
            base_image=self.base_edit.text().strip() or DEFAULT_BASE_IMAGE, default_port=self.port_spin.value(),
            network=self.network_box.currentData(), data_folder=self.folder_edit.text().strip(),
            journal_max_mb=float(self.journal_mb.value()), journal_raw_days=float(self.journal_days.value()),
            keep_in_tray=self.tray_box.isChecked(), notifications=self.notify_box.isChecked())

    def save(self):
        try:
            save_settings(self.values())
        except SettingsError as exc:
            self.message.show_error(exc)
            return
        self.accept()

    def choose_folder(self):
        name = QFileDialog.getExistingDirectory(self, "Choose where DeskML keeps models and versions")
        if name:
            self.folder_edit.setText(name)

    def test_engine(self):
        if self._worker is not None:
            return
        host = self.engine_edit.text().strip()
        self.engine_result.setText("Asking the engine…")

        def job():
            client = core_engine.connect(host, timeout=5)
            try:
                return core_engine.engine_info(client)
            finally:
                client.close()
        self._worker = workers.start(job, on_done=self._engine_ok, on_error=self._engine_failed,
                                     on_finished=self._tested)

    def _engine_ok(self, info):
        self.engine_result.setText(f"✔ {info.kind} {info.version} answers ({info.os}/{info.arch}).")

    def _engine_failed(self, exc):
        self.engine_result.setText("")
        self.message.show_error(exc)

    def _tested(self):
        self._worker = None
