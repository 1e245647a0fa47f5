"""The result of the latest A/B or shadow test, from the journal and the outcomes.

The test's time is read from the audit log (its start, and its stop if it ended). Each
journaled prediction says its variant (``a``/``b`` in a split, ``live``/``shadow`` in a
shadow test), and in a shadow test both answers to one request share a ``pair`` id, so:

* latency, errors and what each version predicts come from its own predictions in the test;
* agreement is counted on the very same inputs (shadow), or not at all (a split has none);
* accuracy comes from real outcomes: in a split each version's own; in a shadow test an
  outcome told for the live answer is also the outcome of the shadow answer of its pair;
* the verdict is ``sequential.verdict`` (valid however often it is looked at).
"""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from contextlib import closing
from dataclasses import asdict, dataclass, field

import numpy as np

from ..quality.accuracy import label
from .sequential import Verdict, verdict

STARTS = {"ab-start": "split", "shadow-start": "shadow"}
STOPS = ("ab-stop", "shadow-stop", "promote", "rollback")


@dataclass
class Side:
    version: str
    role: str                    # "live" or "challenger"
    requests: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    predicts: dict = field(default_factory=dict)   # {label: share}, the most common first
    outcomes: int = 0
    right: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.right / self.outcomes if self.outcomes else None


@dataclass
class TestResult:
    model: str
    mode: str                    # "split" or "shadow"
    share: float | None          # the challenger's share in a split
    started: float
    ended: float | None          # None: still running
    live: Side
    challenger: Side
    compared: int = 0            # inputs both answered (shadow)
    agreed: int = 0
    verdict: Verdict | None = None
    note: str = ""               # why there is no verdict (a model that predicts numbers)

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["agreement"] = self.agreement
        d["live"]["accuracy"] = self.live.accuracy
        d["challenger"]["accuracy"] = self.challenger.accuracy
        return d


def latest_test(registry, model: str) -> tuple[dict, dict | None] | None:
    """(the audit entry that started the latest test, the one that ended it or None)."""
    start, end = None, None
    for entry in registry.history(model):
        if entry["action"] in STARTS:
            start, end = entry, None
        elif start is not None and end is None and entry["action"] in STOPS:
            end = entry
    return None if start is None else (start, end)


def test_result(store, registry, model: str, now: float | None = None) -> TestResult | None:
    """The latest test's result, or None when the model never had one."""
    found = latest_test(registry, model)
    if found is None:
        return None
    start, end = found
    mode = STARTS[start["action"]]
    since, until = start["at"], (end["at"] if end else (now or time.time()) + 1)
    names = ("a", "b") if mode == "split" else ("live", "shadow")
    live = Side(start.get("previous") or "?", "live")
    challenger = Side(start["version"], "challenger")
    share = None
    if mode == "split" and start.get("detail", "").endswith("of prediction requests"):
        try:
            share = float(start["detail"].split("%")[0]) / 100
        except ValueError:
            share = None
    result = TestResult(model, mode, share, since, end["at"] if end else None, live, challenger)
    with closing(store.connect()) as db:
        for side, variant in ((live, names[0]), (challenger, names[1])):
            rows = db.execute("SELECT status, ms, pred FROM predictions WHERE variant = ? AND t >= ? AND t < ?",
                              (variant, since, until)).fetchall()
            _describe(side, rows)
        if mode == "shadow":
            pairs = db.execute(
                "SELECT l.pred, s.pred FROM predictions l JOIN predictions s ON s.pair = l.pair "
                "AND s.variant = 'shadow' WHERE l.variant = 'live' AND l.pair IS NOT NULL AND l.status = 200 "
                "AND s.status = 200 AND l.t >= ? AND l.t < ?", (since, until)).fetchall()
            result.compared = len(pairs)
            result.agreed = sum(_same(a, b) for a, b in pairs)
        task = (db.execute("SELECT task FROM instances WHERE task IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
                or [None])[0]
        if task == "regression":
            result.note = ("This model predicts numbers: the verdict counts right and wrong answers, so compare "
                           "the two versions' errors in the Accuracy page instead.")
            return result
        right_a, right_b = _outcomes(db, mode, names, since, until)
    live.outcomes, live.right = len(right_a), sum(right_a)
    challenger.outcomes, challenger.right = len(right_b), sum(right_b)
    result.verdict = verdict(mode, right_a, right_b, names=(f"version {live.version}", f"version {challenger.version}"),
                             share_b=share or 0.5)
    return result


def _describe(side: Side, rows) -> None:
    side.requests = len(rows)
    side.errors = sum(1 for status, _, _ in rows if status != 200)
    ms = [m for status, m, _ in rows if status == 200 and m is not None]
    if ms:
        side.p50_ms, side.p95_ms = (float(x) for x in np.percentile(ms, [50, 95]))
    counts = Counter()
    for status, _, pred in rows:
        if status == 200 and pred is not None:
            counts[label(_first(json.loads(pred)))] += 1
    total = sum(counts.values())
    side.predicts = {k: n / total for k, n in counts.most_common(6)} if total else {}


def _first(value):
    return value[0] if isinstance(value, list) and value else value


def _same(a, b) -> bool:
    x, y = _first(json.loads(a)), _first(json.loads(b))
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    return label(x) == label(y)


def _outcomes(db, mode, names, since, until) -> tuple[list[bool], list[bool]]:
    """Was each version right, in the order the outcomes came: (a, b)."""
    rows = db.execute(
        "SELECT p.variant, p.pair, p.pred, o.actual FROM outcomes o "
        "JOIN instances i ON i.inst = substr(o.pred_id, 1, instr(o.pred_id, '-') - 1) "
        "JOIN predictions p ON p.inst = i.id AND p.seq = CAST(substr(o.pred_id, instr(o.pred_id, '-') + 1) AS INTEGER) "
        "WHERE p.variant IN (?, ?) AND o.t >= ? AND o.t < ? ORDER BY o.at",
        (*names, since, until)).fetchall()
    a, b = [], []
    if mode == "split":
        for variant, _, pred, actual in rows:
            right = label(_first(json.loads(pred))) == label(json.loads(actual))
            (a if variant == names[0] else b).append(right)
        return a, b
    for variant, pair, pred, actual in rows:
        if variant != "live" or pair is None:
            continue
        twin = db.execute("SELECT pred FROM predictions WHERE pair = ? AND variant = 'shadow' AND status = 200",
                          (pair,)).fetchone()
        if twin is None:
            continue  # the shadow copy was not answered (skipped, or the challenger failed)
        truth = label(json.loads(actual))
        a.append(label(_first(json.loads(pred))) == truth)
        b.append(label(_first(json.loads(twin[0]))) == truth)
    return a, b
