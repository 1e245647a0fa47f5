"""The quality alert rules: an input that changed, inputs that look wrong, accuracy that
drops, a group served worse; each fires on its condition and stays quiet without it."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from test_input_store import one, write_journal

from deskml.core.monitoring import alerts
from deskml.core.monitoring.outcomes import record
from deskml.core.monitoring.store import JournalStore
from deskml.core.registry import Registry

DAY = 86400
INPUTS = [{"name": "basket", "kind": "number"}, {"name": "payment", "kind": "category"}]


def _shop(tmp_path, factor=1.0, empty=0.0):
    rng = np.random.default_rng(8)
    tmp_path.mkdir(parents=True, exist_ok=True)
    reference = tmp_path / "orders.csv"
    pd.DataFrame({"basket": rng.lognormal(3, 0.3, 1500), "payment": rng.choice(["card", "cash"], 1500)}).to_csv(
        reference, index=False)
    store = JournalStore(tmp_path / "model")
    now = time.time()
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    start = max(midnight + 1, now - 1800)  # today's rows, whatever the hour the test runs
    records = []
    for i in range(60):
        rec = one(i, start + i * (now - start) / 61, float(rng.lognormal(3, 0.3) * factor),
                  str(rng.choice(["card", "cash"])))
        if rng.random() < empty:
            rec["in"]["payment"] = [None]
        records.append(rec)
    write_journal(store, "%011x%05x" % (int((now - 2 * 3600) * 1000), 3), "1", records)
    store.ingest(live=set(), settle=0)
    return store, str(reference), now


def _situation(store, reference, now, **kw):
    return alerts.Situation("shop", now, desired="running", state="running", store=store, inputs=INPUTS,
                            reference=reference, **kw)


def _fired(tmp_path, situation, **rules):
    tmp_path.mkdir(parents=True, exist_ok=True)
    reg = Registry(tmp_path / "registry.sqlite3")
    reg.add_version("shop", "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None, python=None,
                    requirements=[], reference=None, info={"inputs": INPUTS})
    if rules:
        reg.update_settings("shop", alerts=rules)
    return {a["rule"]: a for a in alerts.evaluate(reg, situation)}


def test_a_changed_input_raises_an_alert_and_unchanged_ones_do_not(tmp_path):
    store, reference, now = _shop(tmp_path / "a", factor=1.5)
    fired = _fired(tmp_path / "a", _situation(store, reference, now))
    assert "input_drift" in fired and "basket values are about" in fired["input_drift"]["headline"]
    store, reference, now = _shop(tmp_path / "b")
    assert "input_drift" not in _fired(tmp_path / "b", _situation(store, reference, now))


def test_inputs_that_look_wrong_raise_a_data_quality_alert(tmp_path):
    store, reference, now = _shop(tmp_path, empty=0.6)
    fired = _fired(tmp_path, _situation(store, reference, now))
    assert "data_quality" in fired and "payment is empty in" in fired["data_quality"]["headline"]


def _outcomes_store(tmp_path, now, rates, by_store=None):
    """Predictions with outcomes: ``rates`` = [(days ago, how many, share right)]."""
    rng = np.random.default_rng(9)
    tmp_path.mkdir(parents=True, exist_ok=True)
    store = JournalStore(tmp_path / "outcomes")
    records, answers, seq = [], [], 0
    for days_ago, n, right in rates:
        for i in range(n):
            pred = str(rng.choice(["no", "yes"]))
            group = by_store(seq) if by_store else "Leeds"
            records.append({"seq": seq, "n": 1, "t": now - days_ago * DAY + i, "in": {"basket": [1.0]},
                            "pred": [pred], "fields": [{"store": group}]})
            answers.append(pred if rng.random() < (right(group) if callable(right) else right)
                           else ("no" if pred == "yes" else "yes"))
            seq += 1
    write_journal(store, "%011x%05x" % (int((now - 40 * DAY) * 1000), 4), "1", records, task="classification")
    store.ingest(live=set(), settle=0)
    from contextlib import closing

    with closing(store.connect()) as db:
        record(db, [{"id": f"{'%011x%05x' % (int((now - 40 * DAY) * 1000), 4)}-{k}", "actual": a}
                    for k, a in enumerate(answers)], "test")
        db.commit()
    return store


def test_accuracy_that_drops_raises_an_alert(tmp_path):
    now = time.time()
    store = _outcomes_store(tmp_path, now, [(d, 40, 0.9) for d in range(8, 30)] + [(d, 40, 0.6) for d in range(1, 7)])
    fired = _fired(tmp_path, _situation(store, None, now))
    assert "accuracy_drop" in fired and "is right less often" in fired["accuracy_drop"]["headline"]
    steady = _outcomes_store(tmp_path / "steady", now, [(d, 40, 0.85) for d in range(1, 30)])
    assert "accuracy_drop" not in _fired(tmp_path / "steady", _situation(steady, None, now))
    assert "accuracy_drop" in _fired(tmp_path / "limit", _situation(steady, None, now),
                                     accuracy_drop={"enabled": True, "accuracy_below": 0.95, "points": 5})


def test_a_group_served_worse_raises_an_alert_once_the_user_picks_the_field(tmp_path):
    now = time.time()
    store = _outcomes_store(tmp_path, now, [(d, 40, lambda g: 0.9 if g == "Leeds" else 0.6) for d in range(1, 10)],
                            by_store=lambda k: ["Leeds", "York"][k % 2])
    assert "group_gap" not in _fired(tmp_path / "off", _situation(store, None, now))  # off until a field is picked
    fired = _fired(tmp_path, _situation(store, None, now), group_gap={"enabled": True, "by": "store"})
    assert "group_gap" in fired and "'York'" in fired["group_gap"]["headline"]


def _labelled_reference(tmp_path, accuracy, n=500):
    """Reference data with its outcomes, and the version's kept answers on it, right
    ``accuracy`` of the time (as the Accuracy page leaves them after its first look)."""
    import json

    from deskml.core.paths import version_folder
    from deskml.core.quality.reference_scores import SCORES_FILE, file_sha256

    rng = np.random.default_rng(10)
    preds = rng.choice(["no", "yes"], n)
    actual = np.where(rng.random(n) < accuracy, preds, np.where(preds == "yes", "no", "yes"))
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "labelled.csv"
    pd.DataFrame({"basket": rng.lognormal(3, 0.3, n), "actual": actual}).to_csv(path, index=False)
    sure = rng.uniform(0.5, 1.0, n)
    (version_folder("shop", "1") / SCORES_FILE).write_text(json.dumps({
        "reference_sha256": file_sha256(path), "target": "actual", "classes": ["no", "yes"],
        "predictions": preds.tolist(), "probabilities": [[1 - s, s] if p == "yes" else [s, 1 - s]
                                                         for p, s in zip(preds, sure)],
        "actual": actual.tolist(), "refused": 0, "sampled_from": 0}))
    return str(path)


def test_accuracy_below_the_reference_data_raises_an_alert(tmp_path):
    now = time.time()
    store = _outcomes_store(tmp_path, now, [(d, 40, 0.75) for d in range(1, 7)])  # no weeks before to compare
    checked_high = _labelled_reference(tmp_path / "high", 0.92)
    fired = _fired(tmp_path, _situation(store, checked_high, now, version="1"))
    assert "on the data it was checked on" in fired["accuracy_drop"]["headline"]
    assert "(500 rows)" in fired["accuracy_drop"]["headline"]
    assert "accuracy_drop" not in _fired(tmp_path / "b", _situation(store, checked_high, now))  # no version: no look
    checked_alike = _labelled_reference(tmp_path / "alike", 0.77)
    assert "accuracy_drop" not in _fired(tmp_path / "c", _situation(store, checked_alike, now, version="1"))
