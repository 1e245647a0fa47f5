"""The Monitoring tab's Accuracy page: how often the model was right, now that real outcomes
are known. Outcomes come from the service (``POST /v1/outcomes``), the command line, or a
file added here; every figure shows its 95% interval and its number of outcomes, and says
"not enough outcomes yet" below 30. Before outcomes arrive, a classifier's accuracy is
estimated from its confidence (``core.quality.estimate``), labelled as an estimate with its
band, on the chart and in the table, and set against outcomes as they come. Gathered in a
worker (``core.quality.view``)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from .. import workers
from ..widgets.chart_image import ChartImage
from ..widgets.message import MessageBanner
from ..widgets.tables import text_row, text_table
from .page import RefreshedWhileShown, summary_label

if TYPE_CHECKING:
    from . import ModelDashboard

NAMES = {"accuracy": "Right answers (accuracy)", "mae": "Average error (MAE)", "rmse": "Typical error (RMSE)",
         "r2": "Share of the variation explained (R²)"}


def figure_cells(name: str, figure, percent: bool, of: str = "outcomes") -> list[str]:
    if figure.value is None:
        return [name, f"not enough {of} yet", f"needs 30, has {figure.n}", str(figure.n)]
    fmt = (lambda x: f"{x:.0%}") if percent else (lambda x: f"{x:.4g}")
    return [name, fmt(figure.value), f"{fmt(figure.low)} to {fmt(figure.high)}", str(figure.n)]


class AccuracyPanel(RefreshedWhileShown):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.add_button = QPushButton("Add outcomes from a file…")
        self.add_button.setToolTip("A CSV or Excel file with a column 'id' (or 'key') and a column 'actual': "
                                   "what really happened")
        self.add_button.clicked.connect(lambda: self.add_outcomes())
        self.summary = summary_label()
        self.estimate_note = QLabel("")
        self.estimate_note.setWordWrap(True)
        self.message = MessageBanner()
        self.message.hide()
        self.chart = ChartImage(220)
        self.reliability = ChartImage(220)
        self.calibration_note = QLabel("")
        self.calibration_note.setWordWrap(True)
        self.by_box = QComboBox()
        self.by_box.addItem("choose an input or a field…", "")
        self.by_box.activated.connect(lambda _: self.refresh())
        self.groups_verdict = QLabel("Pick an input or a pass-through field (a store, an age band) to see whether "
                                     "the model serves its groups alike.")
        self.groups_verdict.setWordWrap(True)
        self.groups_model, self.groups_table = text_table(["Group", "Right", "95% interval", "Outcomes", "Predicts"],
                                                          widths=(70, 50, 90, 62))
        self.model, self.table = text_table(["Figure", "Value", "95% interval", "Out of"], widths=(270, 80, 110))
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.add_button)
        charts = QHBoxLayout()
        charts.addWidget(self.chart, 3)
        right = QVBoxLayout()
        right.addWidget(self.reliability)
        right.addWidget(self.calibration_note)
        charts.addLayout(right, 2)
        groups = QGroupBox("By group")
        group_layout = QVBoxLayout(groups)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Compare the groups of"))
        pick.addWidget(self.by_box, 1)
        group_layout.addLayout(pick)
        group_layout.addWidget(self.groups_verdict)
        group_layout.addWidget(self.groups_table, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.table, 3)
        bottom.addWidget(groups, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.estimate_note)
        layout.addWidget(self.message)
        layout.addLayout(charts)
        layout.addLayout(bottom, 1)
        self._worker = None
        self._adding = None

    def refresh(self):
        if self._worker is not None:
            return
        from ...core.quality.view import accuracy_for_model

        palette = self.palette()
        self._worker = workers.start(accuracy_for_model, self.dash.settings, self.dash.registry, self.dash.model,
                                     self.chart.target(), palette.windowText().color().name(),
                                     palette.window().color().name(), None, self.reliability.target(),
                                     self.by_box.currentData() or None, on_done=self.show_view,
                                     on_error=self.message.show_error, on_finished=self._finished)

    def _finished(self):
        self._worker = None

    def show_view(self, view) -> None:
        report = view.report
        self.summary.setText(report.summary)
        for image, widget in ((view.chart, self.chart), (view.reliability, self.reliability)):
            if image:
                data, w, h = image
                widget.show_rgba(data, w, h, widget.target()[2])
        self.reliability.setVisible(view.calibration is not None)
        calib = view.calibration
        self.calibration_note.setText(
            (calib.summary + (f" Brier score {calib.brier:.3f}." if calib.brier is not None else "")) if calib else "")
        self._show_choices(view.choices)
        self._show_groups(view.groups)
        self.model.removeRows(0, self.model.rowCount())
        percent = report.task != "regression"
        for name, figure in report.figures.items():
            self._row(figure_cells(NAMES.get(name, name), figure, percent and name != "r2"))
        for c, figures in report.per_class.items():
            for name in ("precision", "recall", "f1"):
                words = {"precision": f"When it says '{c}', it is right (precision)",
                         "recall": f"Of the real '{c}', it finds (recall)", "f1": f"F1 for '{c}'"}[name]
                self._row(figure_cells(words, figures[name], True))
        for version, figures in report.by_version.items():
            main = "accuracy" if percent else "mae"
            self._row(figure_cells(f"Version {version}: {NAMES[main].split(' (')[0].lower()}", figures[main],
                                   percent))
        self._show_estimate(view.estimate)
        self.shown += 1

    def _show_estimate(self, estimate) -> None:
        """The estimate before outcomes: a line under the summary, and its rows in the table."""
        self.estimate_note.setVisible(estimate is not None)
        if estimate is None:
            return
        words = "Before outcomes: " + estimate.summary
        if estimate.check:
            words += " " + estimate.check["words"]
        self.estimate_note.setText(words)
        if estimate.reference is not None:
            self._row(figure_cells(f"Version {estimate.version}: right on its reference data", estimate.reference,
                                   True, "rows"))
        if estimate.week is not None:
            self._row(figure_cells(f"Version {estimate.version}: estimated, last 7 days (an estimate)",
                                   estimate.week, True, "predictions"))

    def _show_choices(self, choices):
        known = [self.by_box.itemData(i) for i in range(1, self.by_box.count())]
        for name in choices:
            if name not in known:
                self.by_box.addItem(name, name)

    def _show_groups(self, report):
        self.groups_model.removeRows(0, self.groups_model.rowCount())
        if report is None:
            return
        self.groups_verdict.setText(report.summary)
        for g in report.groups:
            figure = g.accuracy or {}
            if not g.judged:
                right, interval = "too few to judge", ""
            elif figure.get("value") is not None:
                right, interval = f"{figure['value']:.0%}", f"{figure['low']:.0%} to {figure['high']:.0%}"
            else:
                right, interval = (f"off by {g.mae:.3g}" if g.mae is not None else ""), ""
            shares = ", ".join(f"{c} {v:.0%}" for c, v in g.shares.items())
            self.groups_model.appendRow(text_row((g.name, right, interval, str(g.n), shares)))

    def _row(self, cells):
        self.model.appendRow(text_row(cells))

    def add_outcomes(self, name=None):
        from ...core.monitoring import live, outcomes

        if not name:
            name, _ = QFileDialog.getOpenFileName(self, "Add real outcomes", str(Path.home()),
                                                  "Tables (*.csv *.xlsx *.xls *.xlsm)")
        if not name:
            return
        self.add_button.setEnabled(False)
        self.message.hide()

        def add():
            live.refresh(self.dash.settings, self.dash.model)
            return outcomes.add_from_file(live.store(self.dash.model), name, source="file")

        self._adding = workers.start(add, on_done=self._added, on_error=self.message.show_error,
                                     on_finished=self._add_finished)

    def _added(self, report):
        words = report.words()
        level = "warning" if report.unknown or report.invalid else "info"
        self.message.show_message(words[0].upper() + words[1:], "Ids or keys that matched no prediction are "
                                  "kept aside: check them against the answers the model gave." if report.unknown
                                  else "", level=level)
        self.refresh()

    def _add_finished(self):
        self._adding = None
        self.add_button.setEnabled(True)
