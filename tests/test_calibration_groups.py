"""Calibration (reliability, Brier, ECE) and the view by group, from real outcomes: equal to
a direct computation with scikit-learn on the same pairs; a planted gap between two groups
is found, and equal groups are not said to differ."""
from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import accuracy_score, brier_score_loss
from test_input_store import write_journal

from deskml.core.monitoring.outcomes import record
from deskml.core.monitoring.store import JournalStore
from deskml.core.quality.calibration import calibration, from_outcomes
from deskml.core.quality.groups import MIN_GROUP, compare_groups, group_rows


def test_reliability_brier_and_ece_equal_scikit_learns():
    rng = np.random.default_rng(1)
    p = rng.random(600)
    y = (rng.random(600) < p ** 1.6).astype(float)   # over-confident: right less often than it says
    got = calibration(p, y)
    assert got.brier == pytest.approx(brier_score_loss(y, p))
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10)
    assert [b["observed"] for b in got.bins] == pytest.approx(list(prob_true))
    assert [b["confidence"] for b in got.bins] == pytest.approx(list(prob_pred))
    ece = sum(b["n"] / 600 * abs(b["observed"] - b["confidence"]) for b in got.bins)
    assert got.ece == pytest.approx(ece) and got.ece > 0.05
    assert got.summary.startswith("When it says about")
    assert calibration(p[:12], y[:12]).summary.startswith("Not enough outcomes")


def _store_with_outcomes(tmp_path, rows):
    """rows: (store field, predicted, actual, p of 'yes'): predictions journaled with their
    fields, then their outcomes."""
    store = JournalStore(tmp_path)
    now = time.time() - 3600
    records = [{"seq": k, "n": 1, "t": now + k, "in": {"basket": [1.0]}, "pred": [pred], "proba": [[1 - p, p]],
                "fields": [{"store": group}]} for k, (group, pred, _, p) in enumerate(rows)]
    write_journal(store, "00000000008aaaaa", "1", records, task="classification", classes=["no", "yes"])
    store.ingest(live=set(), settle=0)
    from contextlib import closing

    with closing(store.connect()) as db:
        report = record(db, [{"id": f"00000000008aaaaa-{k}", "actual": a} for k, (_, _, a, _) in enumerate(rows)],
                        "test")
        db.commit()
    assert report.matched == len(rows)
    return store


def test_a_planted_gap_between_two_stores_is_found(tmp_path):
    rng = np.random.default_rng(2)
    rows = []
    for group, right in (("Leeds", 0.88), ("York", 0.62), ("Hull", 0.9)):
        for _ in range(150 if group != "Hull" else 12):   # Hull: too few to judge
            pred = str(rng.choice(["no", "yes"]))
            actual = pred if rng.random() < right else ("no" if pred == "yes" else "yes")
            rows.append((group, pred, actual, float(rng.uniform(0.55, 0.95) if pred == "yes" else rng.uniform(0.05, 0.45))))
    store = _store_with_outcomes(tmp_path, rows)
    report = compare_groups(group_rows(store, "store"), "store")
    assert report.differs and "right less often for store 'York'" in report.summary
    assert "1 smaller groups are too small to judge" in report.summary
    groups = {g.name: g for g in report.groups}
    assert not groups["Hull"].judged
    for name in ("Leeds", "York"):
        mine = [(p, a) for g, p, a, _ in rows if g == name]
        assert groups[name].accuracy["value"] == pytest.approx(accuracy_score([a for _, a in mine],
                                                                              [p for p, _ in mine]))
        assert groups[name].n == 150
    binary = from_outcomes(store)
    assert binary.kind == "binary" and binary.positive == "yes" and binary.n == len(rows)
    assert binary.brier == pytest.approx(brier_score_loss([a == "yes" for _, _, a, _ in rows],
                                                          [p for *_, p in rows]))


def test_equal_groups_are_not_said_to_differ_at_small_volume():
    """40 outcomes a day, two stores, the same accuracy: 200 days judged as a day (groups of
    20: too small, so nothing is claimed) and 200 weeks (groups of 140): at most a few
    weeks in 200 may differ by chance (Holm at 1%)."""
    rng = np.random.default_rng(3)

    def period(n):
        rows = []
        for _ in range(n):
            pred = str(rng.choice(["no", "yes"]))
            actual = pred if rng.random() < 0.8 else ("no" if pred == "yes" else "yes")
            rows.append((str(rng.choice(["Leeds", "York"])), "classification", pred, actual, None, None))
        return rows

    days = [compare_groups(period(40), "store") for _ in range(200)]
    assert not any(d.differs for d in days)
    assert all(d.summary.startswith("Not enough outcomes to tell yet") or len([g for g in d.groups if g.judged]) >= 2
               for d in days)
    weeks = [compare_groups(period(280), "store") for _ in range(200)]
    assert sum(w.differs for w in weeks) <= 6   # binomial(200, 0.01): 7 or more has a chance under 1%
    assert MIN_GROUP == 30


def test_the_accuracy_command_shows_calibration_and_groups(tmp_path):
    import json

    from conftest import run_cli

    from deskml.core.monitoring import live
    from deskml.core.registry import Registry

    Registry().add_version("group shop", "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None,
                           python=None, requirements=[], reference=None, info={"inputs": [], "task": "classification"})
    rng = np.random.default_rng(4)
    rows = []
    for group, right in (("Leeds", 0.9), ("York", 0.55)):
        for _ in range(120):
            pred = str(rng.choice(["no", "yes"]))
            rows.append((group, pred, pred if rng.random() < right else ("no" if pred == "yes" else "yes"),
                         float(rng.uniform(0.6, 0.95) if pred == "yes" else rng.uniform(0.05, 0.4))))
    store = live.store("group shop")
    _store_with_outcomes(store.folder, rows)
    proc = run_cli("accuracy", "group shop", "--by", "store")
    assert proc.returncode == 0, proc.stderr
    assert "By store: The groups differ more than chance would explain" in proc.stdout
    assert "Calibration:" in proc.stdout
    doc = json.loads(run_cli("accuracy", "group shop", "--by", "store", "--json").stdout)
    assert doc["groups"]["differs"] is True and doc["calibration"]["n"] == 240
