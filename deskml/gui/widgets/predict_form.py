"""A form generated from the model's inputs, a Predict button, and the answer in
words and as a chart of class probabilities. Used by the wizard's last page and
the dashboard's Try-it tab; the prediction goes through the running service."""
from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from ...core import charts, client
from .. import workers
from .message import MessageBanner
from .style import heading


class PredictForm(QWidget):
    answered = Signal(object)   # the service's answer (dict) or the error

    def __init__(self, parent=None):
        super().__init__(parent)
        self.url = None
        self.inputs: list[dict] = []
        self.fields: dict[str, QWidget] = {}
        self._worker = None
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setDefault(True)
        self.predict_button.clicked.connect(self.predict)
        self.answer = heading("", 1.3)
        self.answer.setWordWrap(True)
        self.message = MessageBanner()
        self.message.hide()
        self.figure = Figure(figsize=(4.2, 1.8), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(150)
        self.canvas.hide()

        left = QVBoxLayout()
        left.addLayout(self.form)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.predict_button)
        left.addLayout(row)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.answer)
        right.addWidget(self.message)
        right.addWidget(self.canvas)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 1)
        layout.addSpacing(18)
        layout.addLayout(right, 1)

    def set_model(self, url: str, inputs: list[dict]):
        self.url = url
        self.inputs = inputs
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        unused = [i["name"] for i in inputs if not i.get("used", True)]
        self.inputs = inputs = [i for i in inputs if i.get("used", True)]
        for item in inputs:
            field = _field_for(item)
            field.setObjectName(f"input:{item['name']}")
            label = item["name"].replace("_", " ")
            if item["kind"] == "number" and item.get("min") is not None:
                field.setToolTip(f"In the reference data: {item['min']:g} to {item['max']:g}")
            self.form.addRow(label, field)
            self.fields[item["name"]] = field
        if unused:
            note = QLabel("Not used by the model: " + ", ".join(unused))
            note.setWordWrap(True)
            note.setEnabled(False)  # greyed, in any palette
            self.form.addRow(note)
        self.answer.setText("")
        self.canvas.hide()
        self.message.hide()

    def values(self) -> dict:
        row = {}
        for item in self.inputs:
            field = self.fields[item["name"]]
            if isinstance(field, QDoubleSpinBox):
                v = field.value()
                row[item["name"]] = int(v) if field.decimals() == 0 else v
            elif isinstance(field, QComboBox):
                row[item["name"]] = field.currentData()
            else:
                row[item["name"]] = field.text()
        return row

    def predict(self):
        if self._worker is not None or not self.url:
            return
        self.predict_button.setEnabled(False)
        self.message.hide()
        self._worker = workers.start(client.predict, self.url, [self.values()], on_done=self._show,
                                     on_error=self._failed, on_finished=self._finished)

    def _finished(self):
        self._worker = None
        self.predict_button.setEnabled(True)

    def _show(self, answer: dict):
        pred = answer["predictions"][0]
        probs = (answer.get("probabilities") or [None])[0]
        if probs:
            sure = probs.get(str(pred))
            self.answer.setText(f"Prediction: {pred}" + (f"  ({sure:.0%} sure)" if sure is not None else ""))
            palette = self.palette()
            charts.probabilities(self.figure.gca(), probs,
                                 text=palette.windowText().color().name(), background=palette.window().color().name())
            self.canvas.draw_idle()
            self.canvas.show()
        else:
            self.answer.setText(_in_words(pred))
            self.canvas.hide()
        self.answered.emit(answer)

    def _failed(self, exc):
        self.answer.setText("")
        self.canvas.hide()
        self.message.show_error(exc)
        self.answered.emit(exc)


def _in_words(pred) -> str:
    """A prediction as the form shows it: one value, or the values of a multi-output model."""
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    if isinstance(pred, list):
        shown = ", ".join(fmt(v) for v in pred[:8]) + (f" … ({len(pred)} values)" if len(pred) > 8 else "")
        return f"Predictions: {shown}"
    return f"Prediction: {fmt(pred)}"


def _field_for(item: dict) -> QWidget:
    kind = item["kind"]
    if kind == "category" and item.get("categories"):
        box = QComboBox()
        for c in item["categories"]:
            box.addItem(str(c), c)
        if item.get("example") in item["categories"]:
            box.setCurrentIndex(item["categories"].index(item["example"]))
        return box
    if kind == "number":
        spin = QDoubleSpinBox()
        low, high = item.get("min"), item.get("max")
        example = item.get("example") or 0
        integral = all(isinstance(v, int) or (isinstance(v, float) and v.is_integer())
                       for v in (low, high, example) if v is not None)
        spin.setDecimals(0 if integral else 2)
        if low is not None and high is not None:
            span = max(high - low, 1.0)
            spin.setRange(low - span, high + span)  # a little beyond what the model saw, not forever
        else:
            spin.setRange(-1e9, 1e9)
        spin.setValue(float(example))
        return spin
    line = QLineEdit(str(item.get("example") or ""))
    return line
