"""The Privacy and alerts tab: inputs never stored, a person's erasure request, the alert
rules of this model, and its alert history."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton, QScrollArea,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ...core.monitoring import alerts as alert_rules
from .. import workers
from ..widgets.message import MessageBanner

if TYPE_CHECKING:
    from . import ModelDashboard

#: the words for each rule's parameters: (label, suffix, minimum, maximum, decimals, factor to show)
PARAMS = {
    "restarts": ("after", "restarts", 1, 100, 0, 1),
    "minutes": ("within", "minutes", 1, 1440, 0, 1),
    "p95_ms": ("over", "ms", 1, 600_000, 0, 1),
    "share": ("over", "% of requests", 1, 100, 0, 100),
    "hours": ("for", "hours", 1, 720, 0, 1),
    "free_mb": ("less than", "MB free", 10, 1_000_000, 0, 1),
    "of_limit": ("or over", "% of its limit", 1, 100, 0, 100),
    "empty_share": ("over", "% of rows", 1, 100, 0, 100),
    "accuracy_below": ("below", "% right (0: off)", 0, 100, 0, 100),
    "points": ("or down by", "points", 1, 100, 0, 1),
}
TEXT_PARAMS = {"by": ("by", "an input or a field, e.g. store")}


class PrivacyTab(QWidget):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.message = MessageBanner()
        self.message.hide()
        inputs = [i["name"] for i in (dash.registry.get(dash.model).info or {}).get("inputs") or []]
        masked = set(dash.registry.settings(dash.model).get("masked_inputs") or [])

        # inputs never stored
        self.mask_boxes = {}
        mask_group = QGroupBox("Inputs never stored")
        grid = QGridLayout()
        for k, name in enumerate(inputs):
            box = QCheckBox(name)
            box.setChecked(name in masked)
            self.mask_boxes[name] = box
            grid.addWidget(box, k // 3, k % 3)
        explain = QLabel("Inputs about people (a name, an email, an exact age) can be left out of the journal: "
                         "only which range or choice each value falls in is kept, for watching drift. "
                         "This takes effect when the model starts again.")
        explain.setWordWrap(True)
        self.save_mask = QPushButton("Save and restart the model")
        self.save_mask.clicked.connect(self.save_masked)
        mask_layout = QVBoxLayout(mask_group)
        mask_layout.addWidget(explain)
        mask_layout.addLayout(grid)
        mask_layout.addWidget(self.save_mask)

        # a person's erasure request
        erase_group = QGroupBox("Erase a person's records")
        self.erase_value = QLineEdit()
        self.erase_value.setPlaceholderText("the value, e.g. an email address or a customer number")
        self.erase_input = QComboBox()
        self.erase_input.addItem("in any input", None)
        for name in inputs:
            self.erase_input.addItem(f"in {name}", name)
        self.erase_button = QPushButton("Erase…")
        self.erase_button.clicked.connect(lambda: self.erase())
        row = QHBoxLayout()
        row.addWidget(self.erase_value, 2)
        row.addWidget(self.erase_input, 1)
        row.addWidget(self.erase_button)
        erase_note = QLabel("Every record holding the value is deleted from the journal and its totals, "
                            "leaving no copy on the disk. The erasure is logged without the value.")
        erase_note.setWordWrap(True)
        erase_layout = QVBoxLayout(erase_group)
        erase_layout.addWidget(erase_note)
        erase_layout.addLayout(row)

        # alert rules
        rules_group = QGroupBox("Alerts")
        self.rule_widgets = {}
        form = QFormLayout(rules_group)
        current = alert_rules.rule_settings(dash.registry.settings(dash.model))
        for name, rule in alert_rules.all_rules().items():
            enabled = QCheckBox(rule.title)
            enabled.setChecked(current[name]["enabled"])
            fields = {}
            line = QHBoxLayout()
            line.addWidget(enabled, 1)
            for key in rule.defaults:
                if key in TEXT_PARAMS:
                    label, hint = TEXT_PARAMS[key]
                    edit = QLineEdit(current[name][key])
                    edit.setPlaceholderText(hint)
                    line.addWidget(QLabel(label))
                    line.addWidget(edit)
                    fields[key] = (edit, None)
                    continue
                label, suffix, lo, hi, decimals, factor = PARAMS[key]
                spin = QDoubleSpinBox()
                spin.setRange(lo, hi)
                spin.setDecimals(decimals)
                spin.setValue(current[name][key] * factor)
                spin.setSuffix(" " + suffix)
                line.addWidget(QLabel(label))
                line.addWidget(spin)
                fields[key] = (spin, factor)
            self.rule_widgets[name] = (enabled, fields)
            form.addRow(line)
        self.save_rules = QPushButton("Save the alert rules")
        self.save_rules.clicked.connect(self.save_alerts)
        form.addRow(self.save_rules)

        # history
        history_group = QGroupBox("Alert history")
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["When", "How serious", "What happened", "Over"])
        self.history.verticalHeader().setVisible(False)
        self.history.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        QVBoxLayout(history_group).addWidget(self.history)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.message)
        layout.addWidget(mask_group)
        layout.addWidget(erase_group)
        layout.addWidget(rules_group)
        layout.addWidget(history_group, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._worker = None
        self.show_history()

    def masked(self) -> list[str]:
        return [name for name, box in self.mask_boxes.items() if box.isChecked()]

    def save_masked(self):
        d = self.dash
        d.registry.update_settings(d.model, masked_inputs=self.masked())
        shown = ", ".join(self.masked()) or "nothing"
        if d.running is not None:
            self.message.show_message(f"Never stored from now on: {shown}. The model is restarting to apply it.",
                                      level="info")
            d.overview.start()
        else:
            self.message.show_message(f"Never stored: {shown}. It applies when the model starts.", level="info")

    def erase(self, confirm=True):
        value = self.erase_value.text().strip()
        if not value:
            self.message.show_message("Type the value to erase first.", level="warning")
            return
        if confirm and QMessageBox.question(
                self, "Erase records", "Erase every record holding this value? This cannot be undone.") \
                != QMessageBox.Yes:
            return
        from ...core.monitoring import live

        d = self.dash
        name = self.erase_input.currentData()
        self.erase_button.setEnabled(False)
        self._worker = workers.start(live.erase, d.settings, d.registry, d.model, value, name,
                                     on_done=self._erased, on_error=self.message.show_error,
                                     on_finished=self._erase_finished)

    def _erased(self, n):
        self.erase_value.clear()
        self.message.show_message(f"Erased {n:,} record{'s' if n != 1 else ''}.",
                                  "The erasure is logged without the value.", level="info")

    def _erase_finished(self):
        self._worker = None
        self.erase_button.setEnabled(True)

    def save_alerts(self):
        d = self.dash
        rules = {}
        for name, (enabled, fields) in self.rule_widgets.items():
            rules[name] = {"enabled": enabled.isChecked(),
                           **{key: (widget.text().strip() if factor is None else widget.value() / factor)
                              for key, (widget, factor) in fields.items()}}
        d.registry.update_settings(d.model, alerts=rules)
        self.message.show_message("The alert rules are saved.", level="info")

    def show_history(self):
        history = list(reversed(self.dash.registry.alerts(self.dash.model)))[:200]
        self.history.setRowCount(len(history))
        for r, a in enumerate(history):
            over = datetime.fromtimestamp(a["resolved_at"]).strftime("%d %b %H:%M") if a["resolved_at"] else "not yet"
            for c, text in enumerate((datetime.fromtimestamp(a["fired_at"]).strftime("%d %b %H:%M"), a["severity"],
                                      a["headline"], over)):
                item = QTableWidgetItem(text)
                item.setToolTip(a["what_to_do"] if c == 2 else text)
                self.history.setItem(r, c, item)
