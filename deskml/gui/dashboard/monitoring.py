"""The Monitoring tab. Activity: traffic, speed, errors and what the model predicts, live; the
newest predictions, searchable and exportable. Inputs: drift and data quality
(``drift_panel``). Accuracy: from real outcomes (``accuracy_panel``). Everything it shows is gathered and drawn in a
worker (``live.snapshot``); this page only puts it on the screen."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QTableView, QTabWidget, QVBoxLayout, QWidget)

from .. import workers
from ..widgets.chart_image import ChartImage
from ..widgets.message import MessageBanner
from ..widgets.style import heading
from .accuracy_panel import AccuracyPanel
from .drift_panel import DriftPanel

if TYPE_CHECKING:
    from . import ModelDashboard

RANGES = [("Last hour", "hour"), ("Last day", "day"), ("Last week", "week"), ("All", "all")]
COLUMNS = ["Time", "Prediction", "Status", "From", "Time to answer", "Prediction id", "Inputs"]


def cells(row: dict) -> list[str]:
    """One prediction as the table's cells, in words."""
    if "error" in row:
        answer = f"refused: {row['error']}"
    else:
        pred = row.get("prediction")
        sure = (row.get("probabilities") or {}).get(str(pred))
        answer = f"{pred}" + (f" ({sure:.0%})" if sure is not None else "")
    source = {"api": "a program", "csv": "a CSV file", "form": "the app's form",
              "batch": "the Batch tab"}.get(row["source"], row["source"])
    return [datetime.fromtimestamp(row["time"]).strftime("%d %b %H:%M:%S"), answer,
            "answered" if row["status"] == 200 else f"refused ({row['status']})", source or "",
            "" if row["latency_ms"] is None else f"{row['latency_ms']:.1f} ms", row["id"],
            ", ".join(f"{k}={v}" for k, v in row["inputs"].items())]


class RecentModel(QStandardItemModel):
    """The newest predictions, as plain items: the view paints them without calling Python
    (a Python model's data() would wait for the interpreter each cell, while the worker draws)."""

    def __init__(self):
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(COLUMNS)
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.rows = rows
        self.removeRows(0, self.rowCount())
        for row in rows:
            items = []
            for text in cells(row):
                item = QStandardItem(text)
                item.setEditable(False)
                item.setToolTip(text)
                items.append(item)
            self.appendRow(items)


class MonitoringTab(QWidget):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.range_box = QComboBox()
        for label, name in RANGES:
            self.range_box.addItem(label, name)
        self.range_box.currentIndexChanged.connect(lambda _: dash.refresh_now())
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the predictions of this time range as CSV or Excel")
        self.export_button.clicked.connect(self.export)
        self.gaps = MessageBanner()
        self.gaps.hide()
        self.message = MessageBanner()
        self.message.hide()
        self.charts = [ChartImage(170) for _ in range(4)]
        grid = QGridLayout()
        for i, chart in enumerate(self.charts):
            grid.addWidget(chart, i // 2, i % 2)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search inputs, answers and errors")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _: dash.refresh_now())
        self.table_model = RecentModel()
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # widths set once, from a few rows: sizing every column to all its rows at each refresh
        # (ResizeToContents) costs the window most of a second with long inputs
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setResizeContentsPrecision(20)
        header.setStretchLastSection(True)  # the inputs
        header.setMaximumSectionSize(240)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.ElideRight)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self._sized = False
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.range_box)
        top.addStretch(1)
        top.addWidget(self.export_button)
        search_row = QHBoxLayout()
        search_row.addWidget(heading("Newest predictions"))
        search_row.addStretch(1)
        search_row.addWidget(self.search, 1)
        activity = QWidget()
        layout = QVBoxLayout(activity)
        layout.addLayout(top)
        layout.addWidget(self.gaps)
        layout.addWidget(self.message)
        layout.addLayout(grid)
        layout.addLayout(search_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        self.drift = DriftPanel(dash)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(activity, "Activity")
        self.pages.addTab(self.drift, "Inputs")
        self.pages.setTabToolTip(1, "Are the inputs still like the data the model learned from?")
        self.accuracy = AccuracyPanel(dash)
        self.pages.addTab(self.accuracy, "Accuracy")
        self.pages.setTabToolTip(2, "How often was it right, now that real outcomes are known?")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)
        self._worker = None
        self.updates = 0

    @property
    def range_name(self) -> str:
        return self.range_box.currentData()

    def chart_sizes(self):
        return [c.target() for c in self.charts]

    def show_snapshot(self, snap) -> None:
        for chart, (data, w, h, ratio) in zip(self.charts, snap.charts):
            chart.show_rgba(data, w, h, ratio)
        self.table_model.set_rows(snap.recent)
        if self.table_model.rows and not self._sized:
            self.table.resizeColumnsToContents()  # looks at 20 rows (the precision above), once
            self._sized = True
        gaps = snap.hour.gaps if self.range_name == "hour" else snap.today.gaps
        if gaps:
            g = gaps[-1]
            when = f"{datetime.fromtimestamp(g['from']):%H:%M} and {datetime.fromtimestamp(g['to']):%H:%M}"
            self.gaps.show_message(f"{sum(x['n'] for x in gaps):,} predictions were not recorded between {when}: "
                                   "the disk was full.", "They were answered; free some space on the disk so "
                                   "that what the model answers is kept.", level="warning")
        else:
            self.gaps.hide()
        note = f"Showing the newest {len(snap.recent)} predictions" if snap.recent else "No predictions yet"
        if snap.summarised_before:
            note += (f". Single predictions before {datetime.fromtimestamp(snap.summarised_before):%d %b %Y} "
                     "were summarised to keep the disk within its limit; the charts still count them.")
        self.note.setText(note + ".")
        self.updates += 1

    def export(self, name=None):
        from ...core.monitoring import export, live, queries

        if not name:
            name, _ = QFileDialog.getSaveFileName(self, "Export the predictions",
                                                  str(Path.home() / f"{self.dash.model} predictions.csv"),
                                                  "CSV (*.csv);;Excel (*.xlsx)")
        if not name:
            return
        span = queries.RANGES.get(self.range_name)
        since = time.time() - span if span else 0.0
        self.export_button.setEnabled(False)
        self.message.hide()
        self._worker = workers.start(lambda: export.export(live.store(self.dash.model), name, since),
                                     on_done=lambda n: self._exported(n, name), on_error=self.message.show_error,
                                     on_finished=self._export_finished)

    def _exported(self, n, name):
        self.message.show_message(f"Exported {n:,} predictions into {Path(name).name}.", str(Path(name).parent),
                                  level="info")

    def _export_finished(self):
        self._worker = None
        self.export_button.setEnabled(True)
