"""One model's dashboard: a window of tabs, one module per tab.

``overview`` (status, address, start/stop/restart, log), ``try_it`` (the
prediction form), ``batch`` (score a CSV or Excel file). Monitoring, Versions
and Report come as more tabs of this QTabWidget.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ...core import reference
from ..resources import icon
from ..widgets.style import heading


def inputs_of(version) -> list[dict]:
    """The version's inputs, with hints from its reference data when it has some."""
    inputs = (version.info or {}).get("inputs") or []
    if version.reference and Path(version.reference).is_file():
        try:
            return reference.with_hints(inputs, reference.read_table(version.reference))
        except Exception:  # reference data moved or changed: the model's own description will do
            pass
    return inputs


class ModelDashboard(QWidget):
    changed = Signal()   # started, stopped: the home refreshes its list

    def __init__(self, model: str, settings, registry, parent=None):
        super().__init__(parent, Qt.Window)
        self.model = model
        self.settings = settings
        self.registry = registry
        self.running = None
        self.setWindowTitle(f"{model} — DeskML")
        self.setWindowIcon(icon("deskml"))
        self.resize(860, 620)
        from .batch import BatchTab
        from .overview import OverviewTab
        from .try_it import TryTab

        self.tabs = QTabWidget()
        self.overview = OverviewTab(self)
        self.try_tab = TryTab(self)
        self.batch = BatchTab(self)
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.try_tab, "Try it")
        self.tabs.addTab(self.batch, "Batch")
        layout = QVBoxLayout(self)
        layout.addWidget(heading(model, 1.4))
        layout.addWidget(self.tabs)
        self.overview.refresh()

    def set_running(self, running):
        self.running = running
        self.try_tab.update_service()
        self.batch.update_service()
