"""What a newcomer noticed: the demo opens with its reference data attached, Alt+N on a
disabled Next types nothing, and inputs a model does not use are shown as such."""
from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from deskml.core.intake.inspection import inspect_file
from deskml.core.settings import Settings
from deskml.gui.main_window import MainWindow
from deskml.gui.widgets.model_report import ModelReport
from deskml.gui.widgets.predict_form import PredictForm
from deskml.gui.wizard import DeployWizard


def test_the_demo_opens_with_its_reference_data(qtbot, demo, monkeypatch, artifacts):
    monkeypatch.setattr("deskml.core.settings.load_settings", lambda: (Settings(default_port=8755), None))
    window = MainWindow(demo_provider=lambda: demo)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.inspection_finished, timeout=60_000):
        window.open_demo()
    wizard = window.deploy()
    qtbot.addWidget(wizard)
    page = wizard.model_page
    qtbot.waitUntil(lambda: page.reference_label.text().startswith("Reference data:"), timeout=30_000)
    assert page.reference_label.text() == f"Reference data: {demo.reference.name}"
    frame = pd.read_csv(demo.reference)
    age = next(i for i in wizard.info.inputs if i["name"] == "age")
    assert (age["min"], age["max"]) == (frame["age"].min(), frame["age"].max())
    assert wizard.reference_path == str(demo.reference.resolve())
    wizard.grab().save(str(artifacts / "wizard-1-demo-with-reference.png"))


def test_alt_letters_on_a_disabled_button_type_nothing(qtbot, demo):
    info = inspect_file(demo.model)
    wizard = DeployWizard(info, Settings(), None)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    page = wizard.package_page
    assert not page.isComplete()  # Next is disabled until the model is packaged
    page.name_edit.setText("Coffee")
    page.name_edit.setFocus()
    QTest.keyClick(page.name_edit, Qt.Key_N, Qt.AltModifier)
    QTest.keyClick(page.version_edit, Qt.Key_B, Qt.AltModifier)
    assert page.name_edit.text() == "Coffee" and page.version_edit.text() == ""
    QTest.keyClick(page.name_edit, Qt.Key_S)  # plain typing still types
    assert page.name_edit.text() == "Coffees"


def test_inputs_the_model_does_not_use_are_shown_as_such(qtbot, tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "day"])
    model = make_pipeline(ColumnTransformer([("n", StandardScaler(), ["a", "b"])], remainder="drop"),
                          LogisticRegression()).fit(frame, frame.a > 0)
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    info = inspect_file(path)
    assert "It needs 2 inputs" in info.needs and "1 more is not used by the model" in info.needs
    report = ModelReport()
    qtbot.addWidget(report)
    report.show_info(info)
    assert report.inputs_title.text() == "It needs 2 inputs, and 1 more that it does not use"
    assert report.inputs.item(2, 0).text() == "day" and report.inputs.item(2, 1).text() == "Not used"
    form = PredictForm()
    qtbot.addWidget(form)
    form.set_model("http://127.0.0.1:1", info.inputs)
    assert set(form.fields) == {"a", "b"} and set(form.values()) == {"a", "b"}


def test_the_first_start_without_an_engine_says_what_that_means(qtbot, monkeypatch, tmp_path, artifacts):
    """After an install, on a computer with no container engine: a short page says models run
    as local processes, how to get an engine, and that DeskML works meanwhile; once only."""
    from PySide6.QtCore import QSettings

    QSettings("DeskML", "DeskML").remove("first_start_done")
    no_engine = Settings(docker_host=f"unix://{tmp_path}/no-engine.sock", default_port=8757)
    monkeypatch.setattr("deskml.core.settings.load_settings", lambda: (no_engine, None))
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.welcomed, timeout=60_000):
        pass
    page = window.engine_page
    assert page.isVisible()
    said = page.headline.text() + " " + page.what_to_do.text()
    assert "works without one" in said and "local processes" in said
    assert "Docker" in said and "Podman" in said or "Docker Desktop" in said
    assert "terminal" not in said.lower() and "sudo" not in said
    window.grab().save(str(artifacts / "home-first-start-no-engine.png"))
    page.action_button.click()
    assert not page.isVisible()

    again = MainWindow()  # the next start: said once is enough
    qtbot.addWidget(again)
    again.show()
    with qtbot.waitSignal(again.welcomed, timeout=60_000):
        pass
    assert not again.engine_page.isVisible()


def test_the_no_engine_advice_fits_the_computer():
    from deskml.core.runtimes.engine import no_engine_advice

    for system in ("Windows", "Darwin"):
        assert "Docker Desktop" in no_engine_advice(system)[1]
    linux = no_engine_advice("Linux")[1]
    assert "docker.io" in linux and "Podman" in linux and "local processes" in linux
