"""The window: drop a file anywhere, see the verdict and the inputs; the UI never stalls."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

import malicious
from deskml.core.errors import UnsafeModelFile
from deskml.core.intake.inspection import ModelInfo
from deskml.gui.main_window import MainWindow
from deskml.gui.widgets.drop_zone import dropped_file
from deskml.gui.widgets.model_report import input_rows


def _mime(*paths, url=None):
    mime = QMimeData()
    mime.setUrls([QUrl(url)] if url else [QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _drop(window, mime):
    pos = QPoint(window.width() // 2, window.height() // 2)
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    drop = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, drop)
    return enter.isAccepted()


@pytest.fixture
def window(qtbot, demo):
    w = MainWindow(demo_provider=lambda: demo)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_drop_predicate_is_a_pure_function(tmp_path):
    f = tmp_path / "m.joblib"
    f.write_bytes(b"x")
    assert dropped_file(_mime(f)) == (f, "")
    assert dropped_file(_mime(f, f))[0] is None and "one model file" in dropped_file(_mime(f, f))[1]
    assert "web address" in dropped_file(_mime(url="https://example.org/m.pkl"))[1]
    assert "folder" in dropped_file(_mime(tmp_path))[1]
    text = QMimeData()
    text.setText("hello")
    assert dropped_file(text)[0] is None


def test_drop_demo_model_shows_verdict_and_inputs(window, qtbot, demo, artifacts):
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000) as sig:
        assert _drop(window, _mime(demo.model))
    info = sig.args[0]
    assert isinstance(info, ModelInfo)
    report = window.report
    assert report.isVisible() and not window.message.isVisible()
    assert "is safe to open" in report.verdict.text()
    assert report.inputs.rowCount() == 7
    names = [report.inputs.item(r, 0).text() for r in range(7)]
    assert names[0] == "visits_per_month" and "store" in names
    assert report.inputs.item(names.index("store"), 2).text() == "Campus, Centre, Station"
    assert "one of 2 groups: no, yes" in report.what.text()
    assert window.recent_files()[0] == str(demo.model)
    qtbot.wait(50)  # let posted layout requests run, as the event loop would
    window.grab().save(str(artifacts / "home-demo-model.png"))


def test_malicious_drop_is_refused_inline(window, qtbot, tmp_path, artifacts):
    canary = tmp_path / "CANARY"
    path = malicious.MODEL[0].make(tmp_path, canary)
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000) as sig:
        _drop(window, _mime(path))
    assert isinstance(sig.args[0], UnsafeModelFile)
    assert window.message.isVisible() and not window.report.isVisible()
    assert "did not open" in window.message.headline.text() and "posix.system" in window.message.headline.text()
    assert window.message.what_to_do.text().startswith("Delete the file")
    assert not canary.exists()
    window.message.details_button.setChecked(True)
    qtbot.wait(50)
    window.grab().save(str(artifacts / "home-refused-file.png"))


def test_two_files_dropped_get_a_message(window):
    _drop(window, _mime(__file__, __file__))
    assert window.message.isVisible() and "one model file at a time" in window.message.what_to_do.text()


def test_demo_button_and_event_loop_never_stalls(window, qtbot):
    """While the inspection runs (child process + scan), the UI thread keeps
    ticking: the worst gap between 5 ms timer ticks stays under 100 ms."""
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        qtbot.mouseClick(window.demo_button, Qt.LeftButton)
        assert not window.demo_button.isEnabled()  # busy while working
    timer.stop()
    worst = max(gaps[1:]) * 1000
    print(f"worst UI stall during inspection: {worst:.1f} ms over {len(gaps)} ticks")
    assert worst < 100
    assert window.demo_button.isEnabled() and window.report.isVisible()


def test_input_rows_in_words(demo):
    from deskml.core.intake.inspection import inspect_file

    rows = input_rows(inspect_file(demo.model))
    assert rows[0][1] == "Number" and rows[0][2].startswith("for example")
    assert ("loyalty_card", "Choice", "no, yes") in rows


def test_needs_code_offers_to_add_it(window, qtbot, tmp_path, monkeypatch, artifacts):
    from PySide6.QtWidgets import QFileDialog

    from test_inspect_models import _custom_model

    path, code = _custom_model(tmp_path, main=False)
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        window.open_file(path)
    banner = window.message
    assert banner.isVisible() and "BasketRatio" in banner.headline.text()
    assert banner.action_button.isVisible() and banner.action_button.text() == "Add the model's code…"
    qtbot.wait(50)
    window.grab().save(str(artifacts / "home-needs-code.png"))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(code)], "Python files (*.py)"))
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000) as sig:
        qtbot.mouseClick(banner.action_button, Qt.LeftButton)
    assert isinstance(sig.args[0], ModelInfo) and window.report.isVisible()
    # its first step is the author's own class, which does not record its inputs
    assert window.report.inputs_title.text() == "The file does not say which inputs it needs; reference data can tell."


def test_unknown_library_offers_trust_dangerous_does_not(window, qtbot, tmp_path):
    odd = tmp_path / "odd.pkl"
    odd.write_bytes(b"\x80\x02c_pytest.outcomes\nExit\n)\x81.")
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        window.open_file(odd)
    assert window.message.action_button.isVisible()
    assert window.message.action_button.text() == "Trust _pytest and open"
    canary = tmp_path / "CANARY"
    evil = malicious.RAW[0].make(tmp_path, canary)
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        window.open_file(evil)
    assert not window.message.action_button.isVisible()  # no way to trust os.system


@pytest.fixture
def app_run(qtbot, monkeypatch):
    """Replace the app's event loop by: wait until the model report shows, note what
    it says, close the window. Returns the notes."""
    seen = {}

    def fake_exec(self):
        window = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, MainWindow) and w.isVisible())
        qtbot.waitUntil(lambda: window.report.isVisible(), timeout=60_000)
        seen["title"] = window.report.verdict.text()
        seen["rows"] = window.report.inputs.rowCount()
        seen["window"] = window.windowTitle()
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    return seen


def test_app_opens_the_file_given_on_the_command_line(app_run, demo):
    """`deskml FILE` (what double-clicking a model file will run) opens it."""
    from deskml.gui import app as app_module

    assert app_module.run_app(file=str(demo.model)) == 0
    assert app_run["title"] == f"{demo.model.name} is safe to open"
    assert app_run["window"] == f"{demo.model.name} — DeskML"  # what the task bar shows


def test_app_starts_with_the_demo_model(app_run):
    """What `./dev app` runs: `deskml --demo` makes the demo model and shows it."""
    from deskml.cli.main import main

    assert main(["--demo"]) == 0
    assert app_run == {"rows": 7, "title": "coffee_shop_returning_customers.joblib is safe to open",
                       "window": "coffee_shop_returning_customers.joblib — DeskML"}


def test_mistyped_command_is_not_opened_as_a_file(capsys):
    from deskml.cli.main import main

    assert main(["inspct", "x.joblib"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'deskml inspect'" in err


def test_keyboard_shortcuts_and_default_buttons(window, qtbot, demo):
    """Open, Settings and Quit have the platform's shortcuts; after a model opens, Enter packages it."""
    from PySide6.QtGui import QKeySequence

    actions = {a.text().replace("&", ""): a for a in window.menuBar().actions()[0].menu().actions()}
    assert actions["Open model file…"].shortcut() == QKeySequence(QKeySequence.Open)
    assert actions["Quit"].shortcut() == QKeySequence(QKeySequence.Quit)
    assert actions["Settings…"].shortcut() == QKeySequence(QKeySequence.Preferences)
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        window.open_file(demo.model)
    assert window.deploy_button.isDefault() and window.deploy_button.hasFocus()
    # every control of the home can be reached with Tab
    for w in (window.drop_zone, window.demo_button, window.deploy_button, window.models):
        assert w.focusPolicy() & Qt.TabFocus or any(c.focusPolicy() & Qt.TabFocus for c in w.findChildren(QWidget))
