"""The user's models with their live status; polled off the UI thread."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ...core import services
from .. import workers

STATE_WORDS = {"running": "Running", "stopped": "Stopped", "starting": "Starting", "failed": "Failed",
               "building": "Packaging", "crashed": "Crashed"}
STATE_COLORS = {"running": "#1e7b34", "failed": "#b3261e", "crashed": "#b3261e", "starting": "#8a6d00",
                "building": "#8a6d00"}
STATE_COLORS_DARK = {"running": "#7ee29a", "failed": "#ff8a80", "crashed": "#ff8a80", "starting": "#ffd54f",
                     "building": "#ffd54f"}


def state_color(state: str, palette) -> QColor | None:
    """The colour of a state's word, readable on the palette's light or dark background."""
    dark = palette.base().color().lightness() < 128
    value = (STATE_COLORS_DARK if dark else STATE_COLORS).get(state)
    return QColor(value) if value else None


def _missed(exc) -> None:
    """A poll that failed (the engine went away mid-answer): the next one, in a few seconds,
    tries again; the reason goes to the log for the developers."""
    import logging

    logging.getLogger("deskml").debug("the model list's poll failed", exc_info=exc)


class ModelList(QTableWidget):
    open_model = Signal(str)     # a model's name: open its dashboard
    refreshed = Signal(list)     # the ModelStates shown

    def __init__(self, settings_provider, registry_provider, interval_ms=3000, parent=None):
        super().__init__(0, 4, parent)
        self.setHorizontalHeaderLabels(["Model", "Version", "Status", "Address"])
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeToContents)
        self.itemActivated.connect(lambda item: self.open_model.emit(self.item(item.row(), 0).text()))
        self._settings = settings_provider
        self._registry = registry_provider
        self._worker = None
        self.building: set[str] = set()   # models being packaged by this app now
        self._last = []                   # the ModelStates of the last poll
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.destroyed.connect(self.timer.stop)

    def start(self):
        self.refresh()
        self.timer.start()

    def refresh(self):
        if self._worker is not None:
            return  # the last poll is still out (a slow engine): skip a beat
        self._worker = workers.start(services.overview, self._settings(), self._registry(),
                                     on_done=self._show, on_error=_missed, on_finished=self._done)

    def _done(self):
        self._worker = None

    def set_building(self, model: str, busy: bool):
        """Show (or stop showing) "Packaging" for a model at once, then ask the engine again."""
        (self.building.add if busy else self.building.discard)(model)
        self._show(self._last)
        self.refresh()

    def _show(self, states):
        self._last = states
        selected = self.selected_model()
        known = {s.model for s in states}
        states = list(states) + [services.ModelState(m, "new", 0, "building")  # a first version on its way
                                 for m in sorted(self.building - known)]
        self.setRowCount(len(states))
        for row, s in enumerate(states):
            state = "building" if s.model in self.building else s.state
            words = STATE_WORDS.get(state, state.capitalize())
            if state != "building" and s.detail and s.detail != state:
                words = s.detail[0].upper() + s.detail[1:]  # "Stopped by you at 14:02", "Crashed at 13:55, …"
            cells = [s.model, s.running_version or s.version, words, s.url]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                color = state_color(state, self.palette()) if col == 2 else None
                if color is not None:
                    item.setForeground(color)
                item.setData(Qt.UserRole, state)
                self.setItem(row, col, item)
            if s.model == selected:
                self.selectRow(row)
        self.refreshed.emit(states)

    def selected_model(self):
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return self.item(rows[0].row(), 0).text() if rows else None

    def state_of(self, model):
        for row in range(self.rowCount()):
            if self.item(row, 0).text() == model:
                return self.item(row, 2).data(Qt.UserRole)
        return None
