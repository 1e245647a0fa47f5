"""Read-only tables of text, as the dashboard's pages show them: a model of rows and its view
with no row numbers, the last column stretched."""
from __future__ import annotations

from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QTableView


def text_table(columns: list[str], resize=QHeaderView.Interactive, wrap: bool = True,
               widths=()) -> tuple[QStandardItemModel, QTableView]:
    """(model, view) for rows of text under ``columns``; ``widths`` of the first columns."""
    model = QStandardItemModel(0, len(columns))
    model.setHorizontalHeaderLabels(columns)
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(wrap)
    header = view.horizontalHeader()
    header.setSectionResizeMode(resize)
    header.setStretchLastSection(True)
    for column, width in enumerate(widths):
        header.resizeSection(column, width)
    return model, view


def text_row(texts, bold: bool = False, tooltips: bool = False) -> list[QStandardItem]:
    """Read-only cells for one row (bold, or with the whole text on hover, if asked)."""
    items = []
    for text in texts:
        item = QStandardItem(text)
        item.setEditable(False)
        if tooltips:
            item.setToolTip(text)
        if bold:
            font = QFont()
            font.setBold(True)
            item.setFont(font)
        items.append(item)
    return items
