"""What a model file is, in plain words: the safety verdict, what it predicts,
and the inputs it needs. Shows a core ``ModelInfo``; knows nothing else."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QFormLayout, QFrame, QHBoxLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ...core.intake.inspection import ModelInfo
from ..resources import icon
from .message import MessageBanner
from .style import heading

KIND_WORDS = {"number": "Number", "category": "Choice", "text": "Text", "unknown": "Unknown"}


def input_rows(info: ModelInfo) -> list[tuple[str, str, str]]:
    """(name, kind, allowed values or example) for each input, in words."""
    rows = []
    for item in sorted(info.inputs, key=lambda i: not i.get("used", True)):  # the unused ones last
        if not item.get("used", True):
            rows.append((str(item["name"]), "Not used", "not used by the model: it may be left out"))
            continue
        kind = KIND_WORDS.get(item.get("kind"), item.get("kind", ""))
        if item.get("categories"):
            cats = [str(c) for c in item["categories"]]
            values = ", ".join(cats[:10]) + (f" … ({len(cats)} in all)" if len(cats) > 10 else "")
        elif item.get("min") is not None and item.get("max") is not None:
            values = f"{item['min']} to {item['max']}"
        elif item.get("example") not in (None, ""):
            values = f"for example {item['example']}"
        else:
            values = ""
        rows.append((str(item["name"]), kind, values))
    return rows


class ModelReport(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ModelReport")
        self.verdict_icon = QLabel()
        self.verdict_icon.setFixedSize(44, 44)
        self.verdict = heading("", 1.25)
        self.verdict_detail = QLabel()
        self.verdict_detail.setWordWrap(True)
        head_text = QVBoxLayout()
        head_text.setSpacing(2)
        head_text.addWidget(self.verdict)
        head_text.addWidget(self.verdict_detail)
        head = QHBoxLayout()
        head.setSpacing(12)
        head.addWidget(self.verdict_icon, alignment=Qt.AlignTop)
        head.addLayout(head_text, 1)

        self.what = QLabel()
        self.what.setWordWrap(True)
        self.what.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.note = MessageBanner()
        self.note.hide()

        self.inputs_title = heading()
        self.inputs = QTableWidget(0, 3)
        self.inputs.setHorizontalHeaderLabels(["Input", "Kind", "Values"])
        self.inputs.verticalHeader().setVisible(False)
        self.inputs.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.inputs.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.inputs.setAlternatingRowColors(True)
        hh = self.inputs.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        hh.setStretchLastSection(True)

        self.facts = QFormLayout()
        self.facts.setLabelAlignment(Qt.AlignRight)
        self.facts.setHorizontalSpacing(16)
        self.facts.setVerticalSpacing(4)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(12)
        layout.addLayout(head)
        layout.addWidget(self.what)
        layout.addWidget(self.note)
        layout.addWidget(self.inputs_title)
        layout.addWidget(self.inputs, 1)
        layout.addLayout(self.facts)

    def show_info(self, info: ModelInfo):
        self.verdict_icon.setPixmap(icon("safe").pixmap(44, 44))
        self.verdict.setText(f"{info.file_name} is safe to open")
        libs = sorted({i.split(".", 1)[0] for i in info.imports})
        self.verdict_detail.setText(
            f"DeskML checked all {len(info.imports)} things the file asks Python to load: "
            f"they come only from {', '.join(libs)}.")
        self.what.setText(info.what)
        if info.note:
            self.note.show_message(info.note, level="warning")
        else:
            self.note.hide()
        rows = input_rows(info)
        if rows:
            used = sum(1 for i in info.inputs if i.get("used", True))
            unused = len(rows) - used
            self.inputs_title.setText(f"It needs {used} input{'s' if used != 1 else ''}"
                                      + (" (given by position, without names)" if info.positional else "")
                                      + (f", and {unused} more that it does not use" if unused else ""))
        else:
            self.inputs_title.setText(info.needs)
        self.inputs.setVisible(bool(rows))
        self.inputs.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.inputs.setItem(r, c, item)
        row_h = self.inputs.verticalHeader().defaultSectionSize()
        header_h = self.inputs.horizontalHeader().sizeHint().height()
        self.inputs.setMinimumHeight(min(10, max(len(rows), 2)) * row_h + header_h + 4)
        while self.facts.rowCount():
            self.facts.removeRow(0)
        model = info.estimator_name + (": " + " → ".join(s["class"] for s in info.steps) if info.steps else "")
        saved = info.sklearn_version or "unknown"
        for label, text in (
            ("Model", model),
            ("Saved with", f"scikit-learn {saved}" + (", " + ", ".join(info.libraries) if info.libraries else "")),
            ("File", f"{info.format}{' (' + info.compression + ')' if info.compression else ''}, "
                     f"{info.size_bytes / 1024:,.1f} KB"),
            ("Fingerprint", f"SHA-256 {info.sha256[:16]}…"),
        ):
            value = QLabel(text)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            value.setToolTip(info.sha256 if label == "Fingerprint" else text)
            self.facts.addRow(label + ":", value)
        self.show()
