"""The whole path in the app with the demo model: drop the file, walk every wizard page,
package and start (on the real engine, and once with the local-process runtime),
predict from the form. Screenshots of every page go to tests/artifacts/."""
from __future__ import annotations

import joblib
import pandas as pd
import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from deskml.core import services
from deskml.core.registry import Registry
from deskml.core.intake.inspection import ModelInfo
from deskml.core.settings import Settings
from deskml.gui.main_window import MainWindow
from test_gui_home import _drop, _mime


class StallMeter:
    """The event loop's worst stall: a 5 ms timer that should tick on time."""

    def __init__(self):
        self.worst = 0
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        self.worst = max(self.worst, self.clock.restart())

    def __enter__(self):
        self.clock.start()
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()


@pytest.fixture(params=["container", "local process"])
def runtime_kind(request, monkeypatch):
    if request.param == "container":
        request.getfixturevalue("docker_client")  # CI: fails without an engine
    else:
        monkeypatch.setattr(services, "engine", lambda settings: None)
    return request.param


def test_from_a_dropped_file_to_a_prediction(qtbot, demo, artifacts, runtime_kind, monkeypatch):
    tag = "container" if runtime_kind == "container" else "local"
    name = f"Wizard demo {tag}"
    monkeypatch.setattr("deskml.core.settings.load_settings", lambda: (Settings(default_port=8750), None))
    window = MainWindow(demo_provider=lambda: demo)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000) as sig:
        assert _drop(window, _mime(demo.model))
    assert isinstance(sig.args[0], ModelInfo) and window.deploy_button.isVisible()

    wizard = window.deploy()
    qtbot.waitExposed(wizard)
    # 1. Your model: reference data fills in ranges and examples
    page = wizard.model_page
    page.attach_reference(demo.reference)
    qtbot.waitUntil(lambda: page.reference_label.text().startswith("Reference data:"), timeout=30_000)
    age = next(i for i in wizard.info.inputs if i["name"] == "age")
    frame = pd.read_csv(demo.reference)
    assert (age["min"], age["max"]) == (frame["age"].min(), frame["age"].max())
    wizard.grab().save(str(artifacts / f"wizard-1-model-{tag}.png"))

    # 2. Package: name, progress, the choice of Python in words
    wizard.next()
    page = wizard.package_page
    page.name_edit.setText(name)
    try:
        with StallMeter() as stall:
            page.package_button.click()
            assert window.models.state_of(name) == "building"  # the home says so at once
            qtbot.waitUntil(page.isComplete, timeout=900_000)
        print(f"\nworst event-loop stall while packaging ({runtime_kind}): {stall.worst} ms")
        assert page.message.isHidden(), page.message.headline.text()
        assert wizard.version.model == name
        if runtime_kind == "container":
            assert wizard.version.tag and "Python 3.11" in page.why_label.text()
            assert page.log.toPlainText().count("Step ") >= 5
        else:
            assert not wizard.version.tag and "No container engine answers" in page.why_label.text()
        page._toggle_log(True)
        wizard.grab().save(str(artifacts / f"wizard-2-package-{tag}.png"))

        # 3. Start: healthy, the address, ready-made calls
        wizard.next()
        page = wizard.start_page
        qtbot.waitUntil(page.isComplete, timeout=120_000)
        url = page.address.text()
        assert url.startswith("http://127.0.0.1:") and url in page.snippets.toPlainText()
        assert "curl" in page.snippets.toPlainText() and "requests.post" in page.snippets.toPlainText()
        wizard.grab().save(str(artifacts / f"wizard-3-start-{tag}.png"))

        # 4. Try it: the form, the answer in words and as a chart
        wizard.next()
        form = wizard.try_page.form
        assert set(form.fields) == {i["name"] for i in wizard.info.inputs}
        form.fields["visits_per_month"].setValue(9)
        form.fields["store"].setCurrentText("Station")
        with qtbot.waitSignal(form.answered, timeout=30_000) as sig:
            form.predict_button.click()
        answer = sig.args[0]
        assert isinstance(answer, dict), answer
        row = pd.DataFrame([form.values()])
        expected = joblib.load(demo.model).predict(row)[0]
        assert answer["predictions"] == [expected]
        assert form.answer.text().startswith(f"Prediction: {expected}") and form.canvas.isVisible()
        wizard.grab().save(str(artifacts / f"wizard-4-try-{tag}.png"))

        with qtbot.waitSignal(wizard.deployed) as done:
            wizard.accept()
        assert done.args == [name, wizard.version.version]
        _dashboard(qtbot, window, name, url, demo, artifacts, tag)
        window.close()

        # reopen the app: the model is listed, still running, and its dashboard reattaches
        again = MainWindow(demo_provider=lambda: demo)
        qtbot.addWidget(again)
        again.show()
        qtbot.waitUntil(lambda: again.models.state_of(name) == "running", timeout=30_000)
        again.grab().save(str(artifacts / f"home-models-{tag}.png"))
        dash = again.open_dashboard(name)
        qtbot.waitUntil(lambda: dash.overview.address.text() == url, timeout=30_000)
        # the address comes from the live view; Stop is enabled once the overview's own look is done
        qtbot.waitUntil(dash.overview.stop_button.isEnabled, timeout=30_000)
        dash.overview.stop_button.click()
        qtbot.waitUntil(lambda: dash.overview.state.text().startswith("Stopped by you at"), timeout=60_000)
        qtbot.waitUntil(lambda: again.models.state_of(name) == "stopped", timeout=30_000)
        again.close()
    finally:
        services.stop(Settings(), name, Registry())
        _remove_images(name)


def _remove_images(name):
    client = services.engine(Settings())
    if client is not None:
        for image in client.images.list(filters={"label": f"io.deskml.model.name={name}"}):
            client.images.remove(image.id, force=True)


def test_cancel_stops_the_build(qtbot, demo, docker_client):
    """Cancel really stops packaging: a plain message, no image, and the page can start again."""
    from deskml.core.intake.inspection import inspect_file
    from deskml.core.registry import Registry
    from deskml.gui.wizard import DeployWizard

    name = "Wizard cancelled"
    wizard = DeployWizard(inspect_file(demo.model), Settings(), Registry())
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    page = wizard.package_page
    page.name_edit.setText(name)
    page.package_button.click()
    # cancel in the middle of the engine's build, once the wheels are being copied in
    qtbot.waitUntil(lambda: "Step 3/" in page.log.toPlainText() or page._worker is None, timeout=300_000)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: page._worker is None, timeout=300_000)
    assert page.message.headline.text() == "The build was cancelled."
    qtbot.wait(5000)  # the engine stopped too: no image turns up later
    assert wizard.version is None and not page.isComplete()
    assert page.package_button.isEnabled() and page.package_button.text() == "Try again"
    assert not docker_client.images.list(filters={"label": f"io.deskml.model.name={name}"})
    assert Registry().versions(name) == []  # nothing recorded


def _dashboard(qtbot, window, name, url, demo, artifacts, tag):
    """Finishing the wizard opened the dashboard: Overview, Try it, Batch."""
    dash = window.dashboards[name]
    qtbot.waitExposed(dash)
    qtbot.waitUntil(lambda: dash.overview.address.text() == url, timeout=30_000)
    # the address comes from the live view; Stop is enabled once the overview's own look is done
    qtbot.waitUntil(lambda: dash.overview.state.text() == "Running" and dash.overview.stop_button.isEnabled(),
                    timeout=30_000)
    dash.grab().save(str(artifacts / f"dashboard-overview-{tag}.png"))

    dash.tabs.setCurrentWidget(dash.try_tab)
    form = dash.try_tab.form
    with qtbot.waitSignal(form.answered, timeout=30_000) as sig:
        form.predict_button.click()
    assert isinstance(sig.args[0], dict) and form.answer.text().startswith("Prediction:")
    dash.grab().save(str(artifacts / f"dashboard-try-{tag}.png"))

    dash.tabs.setCurrentWidget(dash.batch)
    tab = dash.batch
    tab.set_source(demo.reference)
    assert tab.score_button.isEnabled()
    tab.score_button.click()
    qtbot.waitUntil(lambda: tab.save_button.isEnabled() or tab.message.isVisible(), timeout=60_000)
    assert tab.message.isHidden(), tab.message.headline.text()
    assert "Scored 600 rows" in tab.summary.text() and tab.preview.rowCount() == 50
    assert tab.progress.value() == 1000
    headers = [tab.preview.horizontalHeaderItem(i).text() for i in range(tab.preview.columnCount())]
    assert headers[:3] == ["prediction", "probability_no", "probability_yes"]  # the answers first
    with qtbot.waitSignal(tab.saved, timeout=60_000) as saved:
        tab.save(str(demo.reference.parent / f"scored-{tag}.xlsx"))
    assert len(pd.read_excel(saved.args[0])) == 600
    dash.grab().save(str(artifacts / f"dashboard-batch-{tag}.png"))


def test_a_refused_file_never_reaches_packaging(qtbot, demo, tmp_path):
    """The verdict comes first: a refused file is explained and "Package and start…" is not offered."""
    import malicious

    window = MainWindow(demo_provider=lambda: demo)
    qtbot.addWidget(window)
    window.show()
    evil = malicious.MODEL[0].make(tmp_path, tmp_path / "canary")
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        assert _drop(window, _mime(evil))
    assert window.message.isVisible() and not window.deploy_button.isVisible()
    assert window.current is None or window.current.path != str(evil)
    assert not (tmp_path / "canary").exists()


def test_a_model_that_needs_its_authors_code_is_packaged_with_it(qtbot, demo, tmp_path, monkeypatch):
    """The author's .py file is asked for before packaging; the version carries it and predicts."""
    from test_inspect_models import _custom_model

    monkeypatch.setattr(services, "engine", lambda settings: None)
    monkeypatch.setattr("deskml.core.settings.load_settings", lambda: (Settings(default_port=8760), None))
    path, code = _custom_model(tmp_path, main=False)
    window = MainWindow(demo_provider=lambda: demo)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        window.open_file(path)
    assert window.message.action_button.text() == "Add the model's code…"
    monkeypatch.setattr("deskml.gui.main_window.QFileDialog.getOpenFileNames", lambda *a, **k: ([str(code)], ""))
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        window.message.action_button.click()
    wizard = window.deploy()
    assert wizard.info.code == [str(code.resolve())]
    wizard.next()
    wizard.package_page.name_edit.setText("Wizard custom code")
    wizard.package_page.package_button.click()
    qtbot.waitUntil(wizard.package_page.isComplete, timeout=60_000)
    try:
        wizard.next()
        qtbot.waitUntil(wizard.start_page.isComplete, timeout=60_000)
        import requests

        row = [1.0, 2.0]
        answer = requests.post(wizard.running.url + "/v1/predict", json={"instances": [row]}).json()
        # what the model says where it was made: in a child process, so that the author's module is
        # never imported into this one (the scanner would then take it for an installed library)
        import json
        import subprocess
        import sys
        made = subprocess.run([sys.executable, "-c", "import json, sys, joblib; sys.path.insert(0, sys.argv[1]); "
                               "print(json.dumps(joblib.load(sys.argv[2]).predict([[1.0, 2.0]]).tolist()))",
                               str(tmp_path), str(path)], capture_output=True, text=True, check=True)
        assert answer["predictions"] == json.loads(made.stdout)
    finally:
        services.stop(Settings(), "Wizard custom code", Registry())
