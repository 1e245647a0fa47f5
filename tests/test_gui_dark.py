"""Readable in a dark palette too: screenshots to look at, and the colours DeskML picks itself."""
from __future__ import annotations

from conftest import palette
from PySide6.QtWidgets import QApplication

from deskml.core.errors import UsageError
from deskml.gui.widgets.model_list import state_color
from deskml.gui.widgets.predict_form import PredictForm


def test_dark_palette(qtbot, artifacts):
    app = QApplication.instance()
    old_palette, old_style = app.palette(), app.style().name()
    app.setStyle("Fusion")
    app.setPalette(palette(dark=True))
    try:
        for state in ("running", "failed", "building"):  # words stay readable on a dark background
            assert state_color(state, app.palette()).lightness() > 150
        form = PredictForm()
        qtbot.addWidget(form)
        form.set_model("http://127.0.0.1:1", [
            {"name": "age", "kind": "number", "min": 18, "max": 79, "example": 40},
            {"name": "store", "kind": "category", "categories": ["Campus", "Centre"], "example": "Centre"}])
        form._show({"predictions": ["yes"], "probabilities": [{"no": 0.2, "yes": 0.8}]})
        form.resize(760, 300)
        form.show()
        form.grab().save(str(artifacts / "dark-try-it.png"))
        form.message.show_error(UsageError("The model did not accept the input: 'age' must be a number.",
                                           "Fix the input named in the message and try again."))
        form.grab().save(str(artifacts / "dark-message.png"))
        assert form.answer.text() == "Prediction: yes  (80% sure)"
    finally:
        app.setPalette(old_palette)
        app.setStyle(old_style)


def test_high_dpi(tmp_path, artifacts):
    """At 200 % scaling the window draws at twice the pixels (crisp icons and text), laid out the same."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = f"""
import sys
from PySide6.QtWidgets import QApplication
from deskml.gui.main_window import MainWindow
app = QApplication(sys.argv)
w = MainWindow()
w.resize(900, 700)
w.show()
app.processEvents()
shot = w.grab()
shot.save({str(artifacts / "home-200-percent.png")!r})
print(shot.devicePixelRatio(), shot.width(), shot.height(), w.width(), w.height())
w.models.timer.stop()
"""
    env = dict(os.environ, QT_SCALE_FACTOR="2", QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    ratio, pw, ph, w, h = out.stdout.split()[-5:]
    assert float(ratio) == 2.0 and (int(pw), int(ph)) == (2 * int(w), 2 * int(h))
