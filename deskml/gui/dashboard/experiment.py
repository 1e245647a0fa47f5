"""The Versions tab's test panel: start an A/B or shadow test of a version beside the live one,
read its result (``core.experiments.ab_result``: speed, agreement, what each predicts,
accuracy from outcomes and the verdict), end it, and promote the winner in one click."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QRadioButton, QSpinBox, QVBoxLayout)

from .. import workers
from ..widgets.tables import text_row, text_table

if TYPE_CHECKING:
    from .versions import VersionsTab


def _ms(x):
    return "–" if x is None else f"{x:.1f} ms"


def _share(x):
    return "–" if x is None else f"{x:.0%}"


class TestPanel(QGroupBox):
    """A/B and shadow tests of the model's versions."""

    def __init__(self, tab: VersionsTab):
        super().__init__("Test a version on real traffic")
        self.tab = tab
        self.version_box = QComboBox()
        self.split_radio = QRadioButton("A/B: it answers")
        self.shadow_radio = QRadioButton("Shadow: it answers a copy of every request, never seen by anyone")
        self.split_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.split_radio)
        group.addButton(self.shadow_radio)
        self.share_spin = QSpinBox()
        self.share_spin.setRange(1, 99)
        self.share_spin.setValue(10)
        self.share_spin.setSuffix(" % of requests")
        self.start_button = QPushButton("Start test")
        self.start_button.clicked.connect(self.start_test)
        self.end_button = QPushButton("End test")
        self.end_button.clicked.connect(self.end_test)
        self.promote_button = QPushButton("Promote the winner")
        self.promote_button.clicked.connect(self.promote_winner)
        self.promote_button.hide()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.table_model, self.table = text_table(["", "Live version", "Tested version"], QHeaderView.Stretch)
        self.table.setMinimumHeight(150)

        pick = QHBoxLayout()
        pick.addWidget(QLabel("Version"))
        pick.addWidget(self.version_box)
        pick.addWidget(self.split_radio)
        pick.addWidget(self.share_spin)
        pick.addWidget(self.shadow_radio)
        pick.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.end_button)
        buttons.addStretch(1)
        buttons.addWidget(self.promote_button)
        layout = QVBoxLayout(self)
        layout.addLayout(pick)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.verdict)
        self.result = None
        self.running_test = None   # {"mode", "version"} while a test runs
        self._worker = None

    # -- reading ----------------------------------------------------------------------------------
    def refresh(self, versions: list[str], live: str | None) -> None:
        current = self.version_box.currentText()
        self.version_box.clear()
        others = [v for v in versions if v != live]
        self.version_box.addItems(others)
        if current in others:
            self.version_box.setCurrentText(current)
        dash = self.tab.dash
        from ...core.experiments.ab_result import latest_test, test_result
        from ...core.monitoring import live as live_store

        found = latest_test(dash.registry, dash.model)
        self.running_test = None
        if found is not None and found[1] is None:
            self.running_test = {"mode": "split" if found[0]["action"] == "ab-start" else "shadow",
                                 "version": found[0]["version"]}
        self.result = test_result(live_store.store(dash.model), dash.registry, dash.model) if found else None
        self._show()

    def _show(self) -> None:
        r = self.result
        running = self.running_test is not None
        self.start_button.setEnabled(not running and self.version_box.count() > 0 and self._worker is None)
        self.end_button.setEnabled(running and self._worker is None)
        self.table_model.removeRows(0, self.table_model.rowCount())
        self.promote_button.hide()
        if r is None:
            self.summary.setText("No test yet. Start one to see how another version does on your real requests: "
                                 "an A/B test sends it a share of them; a shadow test lets it answer a copy of "
                                 "each, which nobody sees.")
            self.verdict.setText("")
            self.table.hide()
            return
        self.table.show()
        kind = (f"A/B test, version {r.challenger.version} answering {_share(r.share)} of prediction requests"
                if r.mode == "split" else f"Shadow test of version {r.challenger.version}")
        self.summary.setText(f"{kind}, against live version {r.live.version}"
                             + (" — running." if r.ended is None else " — ended."))
        rows = [("Requests answered", f"{r.live.requests:,}", f"{r.challenger.requests:,}"),
                ("Speed (middle / slowest 5%)", f"{_ms(r.live.p50_ms)} / {_ms(r.live.p95_ms)}",
                 f"{_ms(r.challenger.p50_ms)} / {_ms(r.challenger.p95_ms)}"),
                ("Errors", f"{r.live.errors:,}", f"{r.challenger.errors:,}"),
                ("What it predicts", _predicts(r.live.predicts), _predicts(r.challenger.predicts)),
                ("Right, from real outcomes", _right(r.live), _right(r.challenger))]
        if r.mode == "shadow":
            rows.insert(3, ("Same answer on the same input", _share(r.agreement) +
                            (f" of {r.compared:,}" if r.compared else ""), ""))
        for row in rows:
            self.table_model.appendRow(text_row(list(row), tooltips=True))
        if r.verdict is None:
            self.verdict.setText(r.note)
            return
        words = r.verdict.words[:1].upper() + r.verdict.words[1:]
        self.verdict.setText(("✔ " if r.verdict.decided else "") + words)
        winner = {"A": r.live.version, "B": r.challenger.version}.get(r.verdict.winner or "")
        if winner is not None and winner != self.tab.live_version():
            self.promote_button.setText(f"Promote version {winner}")
            self.promote_button.show()

    # -- acting -----------------------------------------------------------------------------------
    def start_test(self) -> None:
        version = self.version_box.currentText()
        if not version:
            return
        from ...core import services

        dash = self.tab.dash
        mode = "split" if self.split_radio.isChecked() else "shadow"
        self._run(services.start_test, dash.settings, dash.registry, dash.model, version, mode,
                  self.share_spin.value() / 100)

    def end_test(self) -> None:
        from ...core import services

        dash = self.tab.dash
        self._run(services.stop_test, dash.settings, dash.registry, dash.model)

    def promote_winner(self) -> None:
        r = self.result
        if r is None or r.verdict is None or not r.verdict.decided:
            return

        winner = r.challenger.version if r.verdict.winner == "B" else r.live.version
        detail = f"the winner of the {'A/B' if r.mode == 'split' else 'shadow'} test"
        self.tab.promote(version=winner, detail=detail)  # its pre-release check first, as any promotion

    def _run(self, fn, *args) -> None:
        if self._worker is not None:
            return
        self.start_button.setEnabled(False)
        self.end_button.setEnabled(False)
        self.promote_button.setEnabled(False)
        self._worker = workers.start(fn, *args, on_done=lambda _: None, on_error=self.tab.message.show_error,
                                     on_finished=self._done)

    def _done(self) -> None:
        self._worker = None
        self.promote_button.setEnabled(True)
        self.tab.refresh()


def _predicts(shares: dict) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in list(shares.items())[:3]) or "–"


def _right(side) -> str:
    if not side.outcomes:
        return "no outcomes yet"
    return f"{side.accuracy:.0%} of {side.outcomes:,}"
