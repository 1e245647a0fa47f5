"""The Versions tab: every version of the model (when it was made, from which file, with
which libraries and reference data, the user's notes), which one is live, making a version
live and rolling back (no failed request: ``core.experiments.switch``), two versions
compared side by side (``core.experiments.compare``, in a worker: it asks both versions to
answer the reference data), A/B and shadow tests (``experiment.TestPanel``), and the audit log."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QPlainTextEdit, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from ...core.experiments.catalogue import catalogue
from ...core.registry import AUDIT_WORDS as ACTIONS
from .. import workers
from ..widgets.message import MessageBanner
from ..widgets.tables import text_row, text_table
from .experiment import TestPanel

if TYPE_CHECKING:
    from . import ModelDashboard

COLUMNS = ["Version", "Made", "File", "SHA-256", "scikit-learn", "Python", "Runs as", "Reference data", "Check",
           "Notes"]


class VersionsTab(QWidget):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.message = MessageBanner()
        self.message.hide()
        self.live_label = QLabel("")
        self.live_label.setWordWrap(True)
        self.model, self.table = text_table(COLUMNS, QHeaderView.ResizeToContents, wrap=False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_notes())
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes on this version: what changed, what it was trained on, who asked for it…")
        self.notes.setMaximumHeight(70)
        self.save_notes = QPushButton("Save notes")
        self.save_notes.clicked.connect(self.store_notes)
        self.promote_button = QPushButton("Make this version live")
        self.promote_button.setToolTip("It starts beside the live one, and takes over only once it answers; "
                                       "no request fails.")
        self.promote_button.clicked.connect(self.promote)
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.setToolTip("Back to the version that was live before.")
        self.rollback_button.clicked.connect(self.rollback)
        self.check_button = QPushButton("Check this version")
        self.check_button.setToolTip("Tries it with unusual inputs and a short load, beside the live version, and "
                                     "compares their answers. About 20 seconds.")
        self.check_button.clicked.connect(self.check)
        self.export_button = QPushButton("Export for a server…")
        self.export_button.setToolTip("Files to run this version's image on Kubernetes, KServe, Docker Swarm or "
                                      "Compose, or the image as a file, with a page for the IT person.")
        self.export_button.clicked.connect(lambda: self.export())
        self.check_view = QLabel("")
        self.check_view.setWordWrap(True)
        self.check_view.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.check_view.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        check_scroll = QScrollArea()
        check_scroll.setWidget(self.check_view)
        check_scroll.setWidgetResizable(True)
        check_scroll.setFrameShape(QFrame.NoFrame)
        check_scroll.setMaximumHeight(92)
        self.watch_label = QLabel("")
        self.watch_label.setWordWrap(True)
        self.watch_button = QPushButton("Watch a folder…")
        self.watch_button.setToolTip("A model file put in that folder becomes a new version by itself: inspected, "
                                     "packaged, started beside the live one, checked, and tested in its shadow. "
                                     "You only approve the promotion.")
        self.watch_button.clicked.connect(lambda: self.watch_folder())
        self.unwatch_button = QPushButton("Stop watching")
        self.unwatch_button.clicked.connect(lambda: self.watch_folder(None))
        watch_row = QHBoxLayout()
        watch_row.addWidget(self.watch_label, 1)
        watch_row.addWidget(self.watch_button)
        watch_row.addWidget(self.unwatch_button)
        notes_row = QHBoxLayout()
        notes_row.addWidget(self.notes, 1)
        side = QVBoxLayout()
        for button in (self.save_notes, self.check_button, self.promote_button, self.rollback_button,
                       self.export_button):
            side.addWidget(button)
        notes_row.addLayout(side)
        self.tests = TestPanel(self)

        self.a_box, self.b_box = QComboBox(), QComboBox()
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.compare)
        self.comparison = QLabel("Choose two versions to see what changed between them and whether they answer "
                                 "alike.")
        self.comparison.setWordWrap(True)
        self.comparison.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        compare_box = QGroupBox("Compare two versions")
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Version"))
        pick.addWidget(self.a_box)
        pick.addWidget(QLabel("with version"))
        pick.addWidget(self.b_box)
        pick.addWidget(self.compare_button)
        pick.addStretch(1)
        compare_layout = QVBoxLayout(compare_box)
        compare_layout.addLayout(pick)
        compare_layout.addWidget(self.comparison, 1)

        self.history, self.history_table = text_table(["When", "What", "Who", "Details"],
                                                      QHeaderView.ResizeToContents, wrap=False)
        history_box = QGroupBox("Audit log")
        QVBoxLayout(history_box).addWidget(self.history_table)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.live_label)
        top_layout.addLayout(watch_row)
        top_layout.addWidget(self.table, 1)
        top_layout.addLayout(notes_row)
        top_layout.addWidget(check_scroll)
        middle = QSplitter()
        middle.addWidget(compare_box)
        middle.addWidget(self.tests)
        middle.setSizes([450, 550])
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(middle)
        split.addWidget(history_box)
        split.setSizes([330, 320, 130])
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        self._rows = []
        self._worker = None
        self._switching = None
        self._checking = None
        self.compared = 0
        self.refresh()

    def refresh(self) -> None:
        registry, model = self.dash.registry, self.dash.model
        selected = self._selected()
        self._rows = catalogue(registry, model)
        self.model.removeRows(0, self.model.rowCount())
        for row in self._rows:
            self.model.appendRow(text_row([f"{row.version}  ● live" if row.live else row.version, row.made, row.file,
                                         row.sha256[:12] + "…", row.sklearn, row.python, row.runs_as,
                                         row.reference or "none", row.check_words(), row.notes.replace("\n", " ")],
                                           bold=row.live,
                                           tooltips=True))
        folder = registry.settings(model).get("watch_folder")
        self.watch_label.setText(f"New model files in {folder} become tested candidates." if folder else
                                 "No folder is watched for new model files.")
        self.unwatch_button.setVisible(bool(folder))
        live = next((r for r in self._rows if r.live), None)
        self.live_label.setText(f"Version {live.version} is live: it answers at the model's address." if live else
                                "No version is live: start the model on the Overview tab.")
        versions = [r.version for r in self._rows]
        for box, default in ((self.a_box, 1), (self.b_box, 0)):
            current = box.currentText()
            box.clear()
            box.addItems(versions)
            if current in versions:
                box.setCurrentText(current)
            elif len(versions) > default:
                box.setCurrentIndex(default)
        self._select(selected or (versions[0] if versions else None))
        self.tests.refresh(versions, live.version if live else None)
        self.rollback_button.setEnabled(self._switching is None and any(
            e["action"] in ("promote", "rollback") for e in registry.history(model)))
        self.history.removeRows(0, self.history.rowCount())
        for e in reversed(registry.history(model)):
            what = ACTIONS.get(e["action"], e["action"]) + (f" version {e['version']}" if e.get("version") else "")
            if e.get("previous"):
                what += f" (was {e['previous']})"
            self.history.appendRow(text_row([time.strftime("%Y-%m-%d %H:%M", time.localtime(e["at"])), what,
                                             e.get("user") or "(before the audit log)", e.get("detail") or ""],
                                            tooltips=True))

    def live_version(self) -> str | None:
        return next((r.version for r in self._rows if r.live), None)

    def promote(self, despite_check: bool = False, version: str | None = None, detail: str = "") -> None:
        """Make the chosen version live, after its pre-release check (its latest, else a new one)."""
        version = version or self._selected()
        if version is None or self._switching is not None:
            return
        from ...core import services

        self.message.hide()
        self._switch(f"Checking version {version}, then starting it; it takes over once it answers…",
                     services.promote, self.dash.settings, self.dash.registry, self.dash.model, version, detail,
                     with_check=True, despite_check=despite_check,
                     on_error=lambda error: self._promote_failed(error, version, detail))

    def _promote_failed(self, error, version: str, detail: str) -> None:
        from ...core.errors import CheckFailed

        if isinstance(error, CheckFailed):
            self.message.show_message(error.headline, "Read what failed below. If you still want it live, the audit "
                                      "log will say it went live despite its check.", level="warning",
                                      action=("Make live anyway", lambda: self.promote(True, version, detail)))
            return
        self.message.show_error(error)

    def watch_folder(self, folder: str | None = "") -> None:
        """Name the model's watched folder ("" asks which), or stop watching (None)."""
        from ...core.errors import DeskMLError
        from ...core.experiments import candidate

        if folder == "":
            from PySide6.QtWidgets import QFileDialog

            folder = QFileDialog.getExistingDirectory(self, "The folder where new model files arrive")
            if not folder:
                return
        try:
            candidate.watch(self.dash.registry, self.dash.model, folder)
        except DeskMLError as err:
            self.message.show_error(err)
            return
        self.refresh()

    def check(self) -> None:
        version = self._selected()
        if version is None or self._checking is not None:
            return
        from ...core import services

        self.check_button.setEnabled(False)
        self.check_view.setText(f"Checking version {version}: unusual inputs, a short load, and its answers against "
                                "the live version's…")
        self._checking = workers.start(services.check, self.dash.settings, self.dash.registry, self.dash.model,
                                       version, on_done=lambda _: None, on_error=self.message.show_error,
                                       on_finished=self._checked)

    def export(self):
        """The export dialog for the selected version; the dialog (for tests), or None."""
        version = self._selected()
        if version is None:
            return None
        from .export_dialog import ExportDialog

        dialog = ExportDialog(self, self.dash.settings, self.dash.registry, self.dash.model, version)
        dialog.finished.connect(lambda _: self._exported(dialog))
        dialog.open()
        return dialog

    def _exported(self, dialog) -> None:
        done = dialog.done_export
        dialog.deleteLater()  # one dialog per export, gone once it is closed
        if done is not None:
            self.message.show_message(f"Version {dialog.version} is exported into {done.folder.name}.",
                                      "The README.md there says how to run it.", level="info")
            self.refresh()

    def _checked(self) -> None:
        self._checking = None
        self.check_button.setEnabled(True)
        self.refresh()
        self._show_notes()

    def rollback(self) -> None:
        if self._switching is not None:
            return
        from ...core import services

        self._switch("Rolling back…", services.rollback, self.dash.settings, self.dash.registry, self.dash.model)

    def _switch(self, words: str, fn, *args, on_error=None, **kwargs) -> None:
        self.live_label.setText(words)
        self.promote_button.setEnabled(False)
        self.rollback_button.setEnabled(False)
        self._switching = workers.start(fn, *args, on_done=lambda _: None, on_error=on_error or self.message.show_error,
                                        on_finished=self._switched, **kwargs)

    def _switched(self) -> None:
        self._switching = None
        self.refresh()
        self._show_notes()

    def _selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()].version if rows and rows[0].row() < len(self._rows) else None

    def _select(self, version: str | None) -> None:
        for i, row in enumerate(self._rows):
            if row.version == version:
                self.table.selectRow(i)
                return

    def _show_notes(self) -> None:
        version = self._selected()
        row = next((r for r in self._rows if r.version == version), None)
        self.notes.setPlainText(row.notes if row else "")
        self.save_notes.setEnabled(row is not None)
        self.check_button.setEnabled(row is not None and self._checking is None)
        if self._checking is None:
            self.check_view.setText(_check_text(row))
        self.promote_button.setEnabled(row is not None and not row.live and self._switching is None)

    def store_notes(self) -> None:
        version = self._selected()
        if version is None:
            return
        self.dash.registry.set_notes(self.dash.model, version, self.notes.toPlainText().strip())
        self.refresh()

    def compare(self) -> None:
        a, b = self.a_box.currentText(), self.b_box.currentText()
        if not a or not b or a == b or self._worker is not None:
            if a == b:
                self.comparison.setText("Choose two different versions.")
            return
        from ...core.experiments.compare import compare

        self.compare_button.setEnabled(False)
        self.comparison.setText(f"Comparing version {a} with version {b}: each answers the reference data…")
        self._worker = workers.start(compare, self.dash.settings, self.dash.registry, self.dash.model, a, b,
                                     on_done=self._show_comparison, on_error=self._compare_failed,
                                     on_finished=self._compared)

    def _compare_failed(self, error) -> None:
        self.comparison.setText("The comparison could not be made: see the message above.")
        self.message.show_error(error)

    def _compared(self) -> None:
        self._worker = None
        self.compare_button.setEnabled(True)

    def _show_comparison(self, result) -> None:
        lines = [f"• {line}" for line in result.words]
        if result.agreement and result.agreement["biggest"]:
            lines.append("• Where they differ most: " + "; ".join(
                f"row {d['row'] + 1}: {result.a} says {d['a']}, {result.b} says {d['b']}"
                for d in result.agreement["biggest"][:3]) + ".")
        self.comparison.setText("\n".join(lines))
        self.compared += 1


def _check_text(row) -> str:
    if row is None:
        return ""
    if row.check is None:
        return (f"Version {row.version} has no pre-release check yet. 'Check this version' tries it with unusual "
                "inputs and a short load before it takes traffic (making it live runs the check first).")
    from ...core.report.check import CheckResult

    result = CheckResult.from_dict(row.check)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(result.at))
    return f"Pre-release check, {when} by {row.check.get('user') or '?'}:\n" + "\n".join(
        line.strip() for line in result.lines())
