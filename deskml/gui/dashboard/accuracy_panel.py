"""The Monitoring tab's Accuracy page: how often the model was right, now that real outcomes
are known. Outcomes come from the service (``POST /v1/outcomes``), the command line, or a
file added here; every figure shows its 95% interval and its number of outcomes, and says
"not enough outcomes yet" below 30. Gathered in a worker (``core.quality.view``)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QHeaderView, QPushButton, QTableView, QVBoxLayout

from .. import workers
from ..widgets.chart_image import ChartImage
from ..widgets.message import MessageBanner
from .page import RefreshedWhileShown, summary_label

if TYPE_CHECKING:
    from . import ModelDashboard

NAMES = {"accuracy": "Right answers (accuracy)", "mae": "Average error (MAE)", "rmse": "Typical error (RMSE)",
         "r2": "Share of the variation explained (R²)"}


def figure_cells(name: str, figure, percent: bool) -> list[str]:
    if figure.value is None:
        return [name, "not enough outcomes yet", f"needs 30, has {figure.n}", str(figure.n)]
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
        self.message = MessageBanner()
        self.message.hide()
        self.chart = ChartImage(220)
        self.model = QStandardItemModel(0, 4)
        self.model.setHorizontalHeaderLabels(["Figure", "Value", "95% interval", "Outcomes"])
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((330, 170, 220)):
            header.resizeSection(column, width)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.chart)
        layout.addWidget(self.table, 1)
        self._worker = None
        self._adding = None

    def refresh(self):
        if self._worker is not None:
            return
        from ...core.quality.view import accuracy_for_model

        palette = self.palette()
        self._worker = workers.start(accuracy_for_model, self.dash.settings, self.dash.registry, self.dash.model,
                                     self.chart.target(), palette.windowText().color().name(),
                                     palette.window().color().name(), on_done=self.show_view,
                                     on_error=self.message.show_error, on_finished=self._finished)

    def _finished(self):
        self._worker = None

    def show_view(self, view) -> None:
        report = view.report
        self.summary.setText(report.summary)
        if view.chart:
            data, w, h = view.chart
            self.chart.show_rgba(data, w, h, self.chart.target()[2])
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
        self.shown += 1

    def _row(self, cells):
        items = [QStandardItem(text) for text in cells]
        for item in items:
            item.setEditable(False)
        self.model.appendRow(items)

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
