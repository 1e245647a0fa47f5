"""The Monitoring tab's Accuracy page: a classifier's predictions over 12 days, outcomes
added from a file in the app; the page shows accuracy with its interval, by day as a chart,
per class and by version, equal to scikit-learn's, and the estimate before outcomes learnt
from the version's labelled reference data; screenshots light and dark."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from conftest import monitoring_page
from sklearn.metrics import accuracy_score
from test_input_store import write_journal

from deskml.core.registry import Registry
from deskml.core.settings import Settings

SETTINGS = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8680)
NAME = "loyalty model"
DAY = 86400


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    from deskml.core.monitoring import live

    rng = np.random.default_rng(31)
    registry = Registry()
    reference = labelled_reference(rng)
    registry.add_version(NAME, "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None, python=None,
                         requirements=[], reference=str(reference),
                         info={"inputs": [{"name": "basket", "kind": "number"}], "task": "classification",
                               "outputs": {"classes": ["leaves", "returns"], "probabilities": True}})
    now = time.time()
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    records, truth, seq = [], [], 0
    for day in range(12, 0, -1):
        n = 45 if day != 6 else 12                     # one quiet day: too few outcomes to judge
        right = 0.85 if day > 4 else 0.65              # it gets worse in the last days
        for i in range(n):
            store = ["Leeds", "York"][i % 2]
            sure = float(rng.uniform(0.55, 0.97))
            pred = str(rng.choice(["returns", "leaves"]))
            p_returns = sure if pred == "returns" else 1 - sure
            records.append({"seq": seq, "n": 1, "t": midnight - day * DAY + 36000 + i * 60,
                            "in": {"basket": [float(rng.lognormal(3, 0.3))]}, "pred": [pred],
                            "proba": [[1 - p_returns, p_returns]], "fields": [{"store": store}],
                            "v": "1" if day > 4 else "2"})
            chance = right - (0.15 if store == "York" else 0)   # York is served worse
            truth.append(pred if rng.random() < chance else ("leaves" if pred == "returns" else "returns"))
            seq += 1
    inst = "%011x%05x" % (int((now - 13 * DAY) * 1000), 9)
    store = live.store(NAME)
    write_journal(store, inst, "1", records, task="classification", classes=["leaves", "returns"])
    sheet = tmp_path_factory.mktemp("outcomes") / "what happened.xlsx"
    pd.DataFrame({"id": [f"{inst}-{r['seq']}" for r in records], "actual": truth}).to_excel(sheet, index=False)
    return registry, sheet, [r["pred"][0] for r in records], truth


def labelled_reference(rng, n=600):
    """Reference data with the real outcome ('actual'), and the version's answers on it as
    the service gives them (kept beside the version, as after a first look): sure 55% to
    97%, right 85% of the time."""
    import json

    from deskml.core.paths import version_folder
    from deskml.core.quality.reference_scores import SCORES_FILE, file_sha256

    folder = version_folder(NAME, "1")
    preds = rng.choice(["returns", "leaves"], n)
    sure = rng.uniform(0.55, 0.97, n)
    actual = np.where(rng.random(n) < 0.85, preds, np.where(preds == "returns", "leaves", "returns"))
    path = folder / "reference.csv"
    pd.DataFrame({"basket": rng.lognormal(3, 0.3, n), "actual": actual}).to_csv(path, index=False)
    p_returns = np.where(preds == "returns", sure, 1 - sure)
    (folder / SCORES_FILE).write_text(json.dumps({
        "reference_sha256": file_sha256(path), "target": "actual", "classes": ["leaves", "returns"],
        "predictions": preds.tolist(), "probabilities": np.column_stack([1 - p_returns, p_returns]).tolist(),
        "actual": actual.tolist(), "refused": 0, "sampled_from": 0}))
    return path


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_accuracy_page(qtbot, predicted, artifacts, dark):
    registry, sheet, preds, truth = predicted
    dash, panel = monitoring_page(qtbot, NAME, SETTINGS, registry, "accuracy", dark, 820)
    qtbot.waitUntil(lambda: panel.shown >= 1 and panel._worker is None, timeout=60_000)
    assert panel.estimate_note.text().startswith("Before outcomes: Estimated accuracy over the last 7 days: 8")
    assert "An estimate, not a measurement" in panel.estimate_note.text()
    if not dark:  # the first time: the outcomes are added from the file, in the app
        assert panel.summary.text().startswith("No outcomes yet")
        assert "Where outcomes are known" not in panel.estimate_note.text()
        panel.add_outcomes(str(sheet))
        qtbot.waitUntil(lambda: panel._adding is None and panel.message.isVisible(), timeout=60_000)
        assert panel.message.headline.text().startswith(f"{len(preds)} of {len(preds)} outcomes joined")
        before = panel.shown
        qtbot.waitUntil(lambda: panel.shown > before and panel._worker is None, timeout=60_000)
    want = accuracy_score(truth, preds)
    assert panel.summary.text().startswith(f"Right {want:.0%} (95% between")
    cells = [[panel.model.item(r, c).text() for c in range(4)] for r in range(panel.model.rowCount())]
    assert cells[0][:2] == ["Right answers (accuracy)", f"{want:.0%}"] and cells[0][3] == str(len(preds))
    assert any(row[0].startswith("Version 2") for row in cells)
    assert ["Version 1: right on its reference data", "600"] == [cells[-2][0], cells[-2][3]]
    assert cells[-1][0] == "Version 1: estimated, last 7 days (an estimate)"
    assert "Where outcomes are known" in panel.estimate_note.text()
    assert panel.chart.image is not None and panel.reliability.image is not None
    assert "Brier score" in panel.calibration_note.text()
    panel.by_box.setCurrentIndex(panel.by_box.findData("store"))
    before = panel.shown
    panel.refresh()
    qtbot.waitUntil(lambda: panel.shown > before and panel._worker is None, timeout=60_000)
    groups = {panel.groups_model.item(r, 0).text(): panel.groups_model.item(r, 1).text()
              for r in range(panel.groups_model.rowCount())}
    assert set(groups) == {"Leeds", "York"}
    assert "right less often for store 'York'" in panel.groups_verdict.text()
    qtbot.wait(200)
    dash.grab().save(str(artifacts / f"dashboard-accuracy-{'dark' if dark else 'light'}.png"))
