"""The Monitoring tab's Accuracy page: a classifier's predictions over 12 days, outcomes
added from a file in the app; the page shows accuracy with its interval, by day as a chart,
per class and by version, equal to scikit-learn's; screenshots light and dark."""
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
    registry.add_version(NAME, "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None, python=None,
                         requirements=[], reference=None,
                         info={"inputs": [{"name": "basket", "kind": "number"}], "task": "classification"})
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


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_accuracy_page(qtbot, predicted, artifacts, dark):
    registry, sheet, preds, truth = predicted
    dash, panel = monitoring_page(qtbot, NAME, SETTINGS, registry, "accuracy", dark, 820)
    qtbot.waitUntil(lambda: panel.shown >= 1 and panel._worker is None, timeout=60_000)
    if not dark:  # the first time: the outcomes are added from the file, in the app
        assert panel.summary.text().startswith("No outcomes yet")
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
