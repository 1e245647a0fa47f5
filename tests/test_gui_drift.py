"""The Monitoring tab's Inputs page: a journal of 14 ordinary days and a today with dearer
baskets and many empty ages, against the version's reference data. The page shows a red
light and the change in words for the basket, amber for the ages (data quality), green for
the rest; its window and baseline can be changed; screenshots in light and dark."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from conftest import monitoring_page
from test_input_store import one, write_journal

from deskml.core.registry import Registry
from deskml.core.settings import Settings
from deskml.gui.dashboard.drift_panel import TREND

SETTINGS = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8670)
NAME = "corner shop"
DAY = 86400
INPUTS = [{"name": "basket", "kind": "number"}, {"name": "age", "kind": "number"},
          {"name": "payment", "kind": "category"}, {"name": "email", "kind": "text"}]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from deskml.core.monitoring import live

    rng = np.random.default_rng(21)
    folder = tmp_path_factory.mktemp("drift-gui")
    reference = folder / "orders.csv"
    pd.DataFrame({"basket": rng.lognormal(3, 0.3, 2000), "age": rng.integers(18, 80, 2000),
                  "payment": rng.choice(["card", "cash"], 2000, p=[0.7, 0.3]),
                  "email": [f"p{i}@x.y" for i in range(2000)]}).to_csv(reference, index=False)
    registry = Registry()
    registry.add_version(NAME, "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None, python=None,
                         requirements=[], reference=str(reference), info={"inputs": INPUTS, "task": "regression"})
    now = time.time()
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    records, seq = [], 0
    for day in range(14, 0, -1):
        for i in range(45):
            rec = one(seq, midnight - day * DAY + 36000 + i * 300, float(rng.lognormal(3, 0.3)),
                      str(rng.choice(["card", "cash"], p=[0.7, 0.3])))
            rec["in"]["age"] = [int(rng.integers(18, 80))]
            records.append(rec)
            seq += 1
    start_today = max(midnight, now - 3 * 3600)
    for i in range(50):
        rec = one(seq, start_today + i * (now - start_today) / 60, float(rng.lognormal(3, 0.3) * 1.4),
                  str(rng.choice(["card", "cash"], p=[0.7, 0.3])))
        rec["in"]["age"] = [None if i % 2 else int(rng.integers(18, 80))]  # half the ages left empty
        records.append(rec)
        seq += 1
    store = live.store(NAME)
    write_journal(store, "%011x%05x" % (int((now - 15 * DAY) * 1000), 7), "1", records)
    return registry


def _rows(panel) -> dict:
    """{input: (verdict, change, data quality, trend)} as the table shows them."""
    model = panel.model
    return {model.item(r, 1).text(): (model.item(r, 0).toolTip(), model.item(r, 3).text(), model.item(r, 5).text(),
                                      model.item(r, 4).data(TREND)) for r in range(model.rowCount())}


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_inputs_page_shows_what_changed(qtbot, shop, artifacts, dark):
    dash, panel = monitoring_page(qtbot, NAME, SETTINGS, shop, "drift", dark, 700)
    qtbot.waitUntil(lambda: panel.shown >= 1, timeout=60_000)
    rows = _rows(panel)
    assert panel.summary.text().startswith("The inputs have changed: basket values are about")
    verdict, change, quality, trend = rows["basket"]
    assert verdict == "changed" and "% higher than in the reference data" in change
    assert len(trend) == 14 and trend[-1] > 2 and all(x is None or x < 2 for x in trend[:-1])
    verdict, _, quality, _ = rows["age"]
    assert verdict == "like the reference" and "age is empty in" in quality  # amber: data quality
    assert rows["payment"][0] == "like the reference" and rows["email"][0].startswith("free text")
    tag = "dark" if dark else "light"
    qtbot.wait(200)  # the summary's new height is laid out on the next turns of the event loop
    dash.grab().save(str(artifacts / f"dashboard-drift-{tag}.png"))
    # the window and the baseline are the user's: the last 7 days against the 7 days before
    before = panel.shown
    panel.window_box.setCurrentIndex(1)
    panel.baseline_box.setCurrentIndex(1)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.shown > before + 1 and panel._worker is None, timeout=60_000)
    assert "the 7 days before" in panel.baseline_box.currentText()
    assert panel.model.rowCount() == 4
