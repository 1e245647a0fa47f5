"""The Monitoring tab's Inputs page: are the inputs still like the data the model learned from?

One row per input: a light (green: like the reference; amber: not enough data yet, or a
data quality finding; red: changed; grey: not compared), the change in plain words, the
last 14 days as a sparkline of the change's size, and data quality. The window (today,
the last 7 days, since this version) and the baseline (the reference data, or a past week
of predictions) are the user's choice. Gathered in a worker (``core.quality.view``), about
once a minute while the page is shown."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QCalendarWidget,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
)

from ...core.quality.view import EVIDENCE_LINE
from .. import workers
from ..widgets.message import MessageBanner
from .page import RefreshedWhileShown, summary_label

if TYPE_CHECKING:
    from . import ModelDashboard

WINDOWS = [("Today", "today"), ("The last 7 days", "week"), ("Since this version", "version")]
BASELINES = [("the reference data", "reference"), ("the 7 days before", "week_before"),
             ("this version's first week", "version_start"), ("a week you choose…", "chosen")]
LIGHTS = {"green": "#3aa55d", "amber": "#d4a72c", "red": "#d9534f", "grey": "#9aa7b8"}
COLUMNS = ["", "Input", "Verdict", "What changed", "Last 14 days", "Data quality"]
TREND = Qt.UserRole + 1
LINE = EVIDENCE_LINE  # -log10(alpha): the evidence a change must show


def light_icon(color: str, size: int = 14) -> QIcon:
    pixmap = QPixmap(size * 2, size * 2)
    pixmap.setDevicePixelRatio(2)
    pixmap.fill(Qt.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.Antialiasing)
    p.setBrush(QColor(LIGHTS[color]))
    p.setPen(Qt.NoPen)
    p.drawEllipse(QRectF(2, 2, size - 4, size - 4))
    p.end()
    return QIcon(pixmap)


class SparklineDelegate(QStyledItemDelegate):
    """The evidence of a change per day as a line, with the line a change must cross dashed;
    a gap where a day could not be judged."""

    def paint(self, painter, option, index):
        super().paint(painter, option, index)
        values = index.data(TREND) or []
        if not any(v is not None for v in values):
            return
        rect = option.rect.adjusted(4, 5, -4, -5)
        top = max(LINE * 1.5, max(v for v in values if v is not None))
        step = rect.width() / max(len(values) - 1, 1)

        def y(v):
            return rect.bottom() - v / top * rect.height()

        painter.save()
        painter.setRenderHint(QPainter.Antialiasing)
        pen = QPen(option.palette.placeholderText().color(), 1, Qt.DashLine)
        painter.setPen(pen)
        painter.drawLine(rect.left(), y(LINE), rect.right(), y(LINE))
        path, drawing = QPainterPath(), False
        for i, v in enumerate(values):
            if v is None:
                drawing = False
                continue
            point = (rect.left() + i * step, y(v))
            if drawing:
                path.lineTo(*point)
            else:
                path.moveTo(*point)
                drawing = True
        last = values[-1]
        color = QColor(LIGHTS["red"] if last is not None and last >= LINE else "#2f6fde")
        painter.setPen(QPen(color, 1.6))
        painter.drawPath(path)
        if last is not None:
            painter.setBrush(color)
            painter.drawEllipse(rect.left() + (len(values) - 1) * step - 2, y(last) - 2, 4, 4)
        painter.restore()


class WeekDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare with a week of predictions")
        self.calendar = QCalendarWidget()
        self.calendar.setMaximumDate(QDate.currentDate())
        self.calendar.setSelectedDate(QDate.currentDate().addDays(-14))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The week that starts on:"))
        layout.addWidget(self.calendar)
        layout.addWidget(buttons)

    def start(self) -> float:
        d = self.calendar.selectedDate()
        return datetime(d.year(), d.month(), d.day()).timestamp()


class DriftPanel(RefreshedWhileShown):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.chosen: float | None = None
        self.window_box = QComboBox()
        for label, name in WINDOWS:
            self.window_box.addItem(label, name)
        self.baseline_box = QComboBox()
        for label, name in BASELINES:
            self.baseline_box.addItem(label, name)
        self.window_box.currentIndexChanged.connect(lambda _: self.refresh())
        self.baseline_box.activated.connect(self._baseline_chosen)
        self.summary = summary_label()
        self.problem = MessageBanner()
        self.problem.hide()
        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        self.table.setItemDelegateForColumn(4, SparklineDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((28, 120, 150, 330, 120)):
            header.resizeSection(column, width)
        self.table.verticalHeader().setDefaultSectionSize(40)
        self.note = QLabel("Each line shows how strong the evidence of a change was on each of the last 14 days: "
                           "above the dashed line, that day counted as a change. Amber: not enough data yet, or a "
                           "data quality finding. On unchanged data, \"changed\" comes at most 1 day in 200.")
        self.note.setWordWrap(True)
        self.note.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(QLabel("Compare"))
        top.addWidget(self.window_box)
        top.addWidget(QLabel("with"))
        top.addWidget(self.baseline_box)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.problem)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        self._worker = None
        self._again = False

    def _baseline_chosen(self, _index):
        if self.baseline_box.currentData() == "chosen":
            dialog = WeekDialog(self)
            if dialog.exec() != QDialog.Accepted:
                self.baseline_box.setCurrentIndex(0)
            else:
                self.chosen = dialog.start()
                self.baseline_box.setItemText(3, f"the week from {datetime.fromtimestamp(self.chosen):%d %b %Y}")
        self.refresh()

    def refresh(self):
        if self._worker is not None:
            self._again = True
            return
        from ...core.quality.view import for_model

        self._worker = workers.start(for_model, self.dash.settings, self.dash.registry, self.dash.model,
                                     self.window_box.currentData(), self.baseline_box.currentData(), self.chosen,
                                     on_done=self.show_view, on_error=self.problem.show_error,
                                     on_finished=self._finished)

    def _finished(self):
        self._worker = None
        if self._again:
            self._again = False
            QTimer.singleShot(0, self, self.refresh)

    def show_view(self, view) -> None:
        self.summary.setText(view.summary)
        if view.problem:
            self.problem.show_message(view.problem, "", level="info")
        else:
            self.problem.hide()
        self.model.removeRows(0, self.model.rowCount())
        for row in view.rows:
            light = QStandardItem(light_icon(row.light), "")
            light.setToolTip(row.verdict)
            light.setAccessibleText(row.verdict)
            items = [light, QStandardItem(row.name), QStandardItem(row.verdict), QStandardItem(row.change),
                     QStandardItem(""), QStandardItem("; ".join(row.quality) or ("" if row.light == "grey" else "fine"))]
            items[4].setData(row.trend, TREND)
            items[4].setToolTip("How strong the evidence of a change was on each of the last 14 days; "
                                "above the dashed line, that day counted as a change")
            for item in items[1:]:
                item.setToolTip(row.details or item.text())
            for item in items:
                item.setEditable(False)
            self.model.appendRow(items)
        self.shown += 1
