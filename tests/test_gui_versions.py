"""The Versions tab: every version with its file, SHA-256, libraries and reference data, the
live one marked, notes kept, two versions compared (each answering the reference data), the
audit log; screenshots light and dark."""
from __future__ import annotations

import json

import pytest
from conftest import palette
from test_compare import make_two_versions

from deskml.core.registry import Registry
from deskml.core.settings import Settings

SETTINGS = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8690)
NAME = "DeskML versions tab demo"


@pytest.fixture(scope="module")
def two_versions(demo, tmp_path_factory):
    return make_two_versions(NAME, demo, tmp_path_factory.mktemp("versions-tab"))


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_versions_tab(qtbot, two_versions, artifacts, dark):
    from deskml.gui.dashboard import ModelDashboard

    registry = Registry()
    registry.set_desired(NAME, "running", "2")
    try:
        dash = ModelDashboard(NAME, SETTINGS, registry)
        qtbot.addWidget(dash)
        dash.setPalette(palette(dark))
        dash.resize(1100, 760)
        dash.show()
        dash.tabs.setCurrentWidget(dash.versions)
        tab = dash.versions
        cells = [[tab.model.item(r, c).text() for c in range(tab.model.columnCount())]
                 for r in range(tab.model.rowCount())]
        assert [row[0] for row in cells] == ["2  ● live", "1"]
        assert cells[0][2] == "forest.joblib" and cells[1][2] == "coffee_shop_returning_customers.joblib"
        assert cells[0][3] == registry.get(NAME, "2").model_sha256[:12] + "…" and cells[0][6] == "local process"
        assert cells[0][7] == "coffee_shop_reference.csv"
        assert tab.live_label.text().startswith("Version 2 is live")
        assert tab.watch_label.text() == "No folder is watched for new model files."
        assert not tab.unwatch_button.isVisibleTo(tab)
        if not dark:
            tab.table.selectRow(0)
            tab.notes.setPlainText("A random forest; no longer asks the customer's age.")
            tab.save_notes.click()
            assert registry.get(NAME, "2").notes == "A random forest; no longer asks the customer's age."
        assert "no longer asks" in tab.model.item(0, 9).text()
        assert tab.model.item(0, 8).text() == "not checked"
        assert tab.a_box.currentText() == "1" and tab.b_box.currentText() == "2"
        tab.compare_button.click()
        qtbot.waitUntil(lambda: tab.compared == 1, timeout=120_000)
        text = tab.comparison.text()
        assert "version 2 no longer takes age" in text and "they give the same answer" in text
        assert "Where they differ most" in text
        made = [tab.history.item(r, 1).text() for r in range(tab.history.rowCount())]
        assert made[:2] == ["made version 2", "made version 1"]
        qtbot.wait(200)
        dash.grab().save(str(artifacts / f"dashboard-versions-{'dark' if dark else 'light'}.png"))
    finally:
        registry.set_desired(NAME, "stopped", None)


def _versions_tab(qtbot, registry):
    """The model's dashboard on its Versions tab: (dashboard, tab, test panel)."""
    from deskml.gui.dashboard import ModelDashboard

    dash = ModelDashboard(NAME, SETTINGS, registry)
    qtbot.addWidget(dash)
    dash.resize(1100, 860)
    dash.show()
    dash.tabs.setCurrentWidget(dash.versions)
    return dash, dash.versions, dash.versions.tests


@pytest.fixture(scope="module")
def third_version(two_versions, demo, tmp_path_factory):
    """Version 3: a random forest on the same inputs as version 1 (version 2 refuses 'age')."""
    return _third_version(demo, tmp_path_factory.mktemp("third"))


def _third_version(demo, folder):
    import os

    import joblib
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from conftest import run_cli
    from deskml.core.demo import CATEGORICAL, NUMERIC, TARGET

    data = pd.read_csv(demo.reference)
    forest = Pipeline([("prepare", ColumnTransformer([("numbers", "passthrough", NUMERIC),
                                                      ("categories", OneHotEncoder(handle_unknown="ignore"),
                                                       CATEGORICAL)])),
                       ("classify", RandomForestClassifier(n_estimators=20, max_depth=3, random_state=1))])
    forest.fit(data[NUMERIC + CATEGORICAL], data[TARGET])
    path = folder / "forest-with-age.joblib"
    joblib.dump(forest, path)
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = f"unix://{folder}/no-engine.sock"
    try:
        proc = run_cli("build", path, "--name", NAME, "--reference", demo.reference)
    finally:
        if old is None:
            os.environ.pop("DOCKER_HOST")
        else:
            os.environ["DOCKER_HOST"] = old
    assert proc.returncode == 0, proc.stderr
    return "3"


def test_a_shadow_test_its_result_and_promoting_the_winner(qtbot, third_version, artifacts, demo):
    """Started from the panel; 150 requests answered by version 1 with version 3 in its shadow;
    outcomes that side with version 3 wherever they differ: the result says so, and one
    click makes version 3 live."""
    import time

    import pandas as pd
    import requests

    from deskml.core import services
    from deskml.core.demo import TARGET
    from deskml.core.monitoring import live, outcomes
    from deskml.core.runtimes import front_door

    registry = Registry()
    third = third_version
    running = services.start(SETTINGS, registry, NAME, "1")
    try:
        dash, tab, panel = _versions_tab(qtbot, registry)
        assert "No test yet" in panel.summary.text()
        panel.version_box.setCurrentText(third)
        panel.shadow_radio.setChecked(True)
        panel.start_button.click()
        qtbot.waitUntil(lambda: panel.running_test is not None, timeout=60_000)
        rows = pd.read_csv(demo.reference).drop(columns=TARGET).head(150).to_dict("records")
        session = requests.Session()
        for i, row in enumerate(rows):
            assert session.post(running.url + "/v1/predict", json={"inputs": [row], "key": f"k{i}"}).json()[
                "model_version"] == "1"
        deadline = time.monotonic() + 20
        while front_door.status(running.url)["challenger"]["answered"] < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        live.refresh(SETTINGS, NAME)
        store = live.store(NAME)
        with store.connect() as db:
            said = dict(db.execute("SELECT key, pred FROM predictions WHERE variant = 'shadow'").fetchall())
            report = outcomes.record(db, [{"key": k, "actual": json.loads(p)} for k, p in said.items()], "api")
        assert report.matched == 150 and not report.ambiguous
        tab.refresh()
        r = panel.result
        assert r.mode == "shadow" and r.compared == 150 and r.live.requests == r.challenger.requests == 150
        assert r.challenger.right == 150 and r.verdict.winner == "B", r.verdict.words
        cells = {panel.table_model.item(i, 0).text(): panel.table_model.item(i, 2).text()
                 for i in range(panel.table_model.rowCount())}
        assert cells["Right, from real outcomes"] == "100% of 150"
        assert "Version 3 is right more often than version 1" in panel.verdict.text()
        assert panel.promote_button.isVisible() and panel.promote_button.text() == "Promote version 3"
        qtbot.wait(200)
        dash.grab().save(str(artifacts / "dashboard-shadow-result.png"))
        panel.promote_button.click()
        qtbot.waitUntil(lambda: tab.live_version() == "3", timeout=60_000)
        assert services.find(SETTINGS, NAME).url == running.url
        assert requests.post(running.url + "/v1/predict", json={"inputs": [rows[0]]}).json()["model_version"] == "3"
        actions = [e["action"] for e in registry.history(NAME)]
        assert actions[-4:] == ["shadow-start", "check", "shadow-stop", "promote"]  # checked, then promoted
        assert registry.latest_check(NAME, "3")["passed"]
        assert "shadow test stopped version 3" in tab.history.item(1, 1).text()
    finally:
        services.stop(SETTINGS, NAME, registry)


def test_an_ab_test_from_the_panel_with_real_outcomes(qtbot, third_version, artifacts, demo):
    """A 50/50 split started from the panel, 200 customers, their real outcomes from the
    reference data: each side's figures and the verdict equal a direct count."""
    import pandas as pd
    import requests

    from deskml.core import services
    from deskml.core.demo import TARGET
    from deskml.core.experiments.sequential import verdict
    from deskml.core.monitoring import live, outcomes

    registry = Registry()
    running = services.start(SETTINGS, registry, NAME, "1")
    try:
        dash, tab, panel = _versions_tab(qtbot, registry)
        panel.version_box.setCurrentText(third_version)
        panel.split_radio.setChecked(True)
        panel.share_spin.setValue(50)
        panel.start_button.click()
        qtbot.waitUntil(lambda: panel.running_test is not None and panel.running_test["mode"] == "split",
                        timeout=60_000)
        data = pd.read_csv(demo.reference).tail(200).reset_index(drop=True)
        session = requests.Session()
        told = []
        for i, row in enumerate(data.drop(columns=TARGET).to_dict("records")):
            answer = session.post(running.url + "/v1/predict", json={"inputs": [row], "key": f"s{i}"}).json()
            told.append((f"s{i}", answer["model_version"], answer["predictions"][0], data[TARGET][i]))
        live.refresh(SETTINGS, NAME)
        with live.store(NAME).connect() as db:
            report = outcomes.record(db, [{"key": k, "actual": t} for k, _, _, t in told], "api")
        assert report.matched == 200
        tab.refresh()
        r = panel.result
        a = [p == t for _, v, p, t in told if v == "1"]
        b = [p == t for _, v, p, t in told if v == third_version]
        assert r.mode == "split" and r.share == 0.5 and 60 <= len(b) <= 140
        assert (r.live.requests, r.challenger.requests) == (len(a), len(b))
        assert (r.live.outcomes, r.live.right, r.challenger.outcomes, r.challenger.right) == (
            len(a), sum(a), len(b), sum(b))
        expected = verdict("split", a, b, names=("version 1", f"version {third_version}"), share_b=0.5)
        assert r.verdict.words == expected.words and panel.verdict.text().endswith(expected.words[1:])
        assert panel.promote_button.isVisible() == (expected.winner == "B")
        assert "A/B test, version 3 answering 50% of prediction requests" in panel.summary.text()
        qtbot.wait(200)
        dash.grab().save(str(artifacts / "dashboard-ab-result.png"))
        panel.end_button.click()
        qtbot.waitUntil(lambda: panel.running_test is None, timeout=60_000)
        assert "ended" in panel.summary.text()
    finally:
        services.stop(SETTINGS, NAME, registry)


def test_a_version_checked_from_the_tab_then_made_live_despite_a_failed_check(qtbot, two_versions, artifacts):
    """'Check this version' runs the real pre-release check beside the live version and shows it;
    making a version live whose latest check failed stops with a warning, and 'Make live anyway'
    goes ahead, which the audit log says."""
    from deskml.core import services
    from deskml.core.report.check import Case, CheckResult

    registry = Registry()
    services.start(SETTINGS, registry, NAME, "2")
    try:
        dash, tab, _ = _versions_tab(qtbot, registry)
        tab._select("1")  # the module's other tests may have made more versions
        assert tab._selected() == "1" and "has no pre-release check yet" in tab.check_view.text()
        tab.check_button.click()
        qtbot.waitUntil(lambda: tab._checking is None and "passed its check" in tab.check_view.text(),
                        timeout=120_000)
        row = next(i for i, r in enumerate(tab._rows) if r.version == "1")
        assert tab.model.item(row, 8).text() == "passed"
        text = tab.check_view.text()
        # each version answers with the inputs it takes (version 2 no longer takes 'age')
        assert "load, 16 at a time" in text and "agreement with version 2: " in text and "of 600 reference rows" in text
        tab.watch_folder(str(artifacts))
        assert tab.watch_label.text() == f"New model files in {artifacts.resolve()} become tested candidates."
        assert registry.settings(NAME)["watch_folder"] == str(artifacts.resolve())
        qtbot.wait(200)
        dash.grab().save(str(artifacts / "dashboard-versions-check.png"))
        tab.watch_folder(None)
        assert registry.settings(NAME)["watch_folder"] is None and not tab.unwatch_button.isVisibleTo(tab)

        failed = CheckResult(NAME, "1", registry.latest_check(NAME, "1")["at"] + 1,
                             [Case("'age' far above its range", "age", "failed", 500, "the service failed (500): boom")],
                             [], None)
        registry.add_check(NAME, "1", failed.to_dict())
        tab.refresh()
        tab._select("1")
        tab.promote_button.click()
        qtbot.waitUntil(lambda: tab._switching is None and tab.message.isVisible(), timeout=60_000)
        assert "failed its check: 'age' far above its range" in tab.message.headline.text()
        assert tab.live_version() == "2" and tab.message.action_button.text() == "Make live anyway"
        qtbot.wait(200)
        dash.grab().save(str(artifacts / "dashboard-versions-check-failed.png"))
        tab.message.action_button.click()
        qtbot.waitUntil(lambda: tab._switching is None and tab.live_version() == "1", timeout=60_000)
        last = registry.history(NAME)[-1]
        assert last["action"] == "promote" and "despite a failed pre-release check" in last["detail"]
    finally:
        services.stop(SETTINGS, NAME, registry)


def test_a_version_without_an_image_cannot_be_exported_and_says_so(qtbot, two_versions, tmp_path):
    """The demo's versions here run as local processes: the export says what to do instead."""
    from deskml.gui.dashboard import ModelDashboard

    dash = ModelDashboard(NAME, SETTINGS, Registry())
    qtbot.addWidget(dash)
    dash.show()
    tab = dash.versions
    tab.table.selectRow(0)
    dialog = tab.export()
    dialog.open_folder = False
    dialog.folder.setText(str(tmp_path / "export"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog._worker is None and dialog.message.isVisible(), timeout=30_000)
    assert "has no image: it runs as a local process here" in dialog.message.headline.text()
    assert "Build it again where Docker or Podman runs" in dialog.message.what_to_do.text()
    assert dialog.isVisible() and dialog.done_export is None
    dialog.reject()
