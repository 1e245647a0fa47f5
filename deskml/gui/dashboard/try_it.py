"""The Try it tab: the prediction form for the running version."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..widgets.predict_form import PredictForm
from . import inputs_of

if TYPE_CHECKING:
    from . import ModelDashboard


class TryTab(QWidget):
    def __init__(self, dash: ModelDashboard):
        super().__init__()
        self.dash = dash
        self.form = PredictForm()
        self.not_running = QLabel("Start the model (Overview) to try it.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.not_running)
        layout.addWidget(self.form, 1)

    def update_service(self):
        r = self.dash.running
        self.not_running.setVisible(r is None)
        self.form.setEnabled(r is not None)
        if r is not None and self.form.url != r.url:
            self.form.set_model(r.url, inputs_of(self.dash.registry.get(self.dash.model, r.version)))
