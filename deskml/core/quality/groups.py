"""Is it as right for every group? Accuracy, prediction shares and calibration per group of
an input or a pass-through field (a store, an age band), from real outcomes.

Groups are compared only when they are big enough to judge (``MIN_GROUP`` outcomes); the
others are listed as too small, never ranked. Two tests, Holm-corrected at ``ALPHA``: are
the groups right equally often (chi-square of right and wrong answers by group; for a
number, Kruskal-Wallis of the errors), and does the model predict the classes in the same
shares (chi-square of predicted classes by group)? The verdict is said in plain words,
with "not enough outcomes to tell" when fewer than two groups can be judged."""
from __future__ import annotations

import json
import math
from contextlib import closing
from dataclasses import asdict, dataclass, field

import numpy as np

from .accuracy import label, wilson
from .calibration import calibration

MIN_GROUP = 30
ALPHA = 0.01


@dataclass
class Group:
    name: str
    n: int
    judged: bool
    accuracy: dict | None = None       # Figure as a dict (classification)
    mae: float | None = None           # regression
    shares: dict = field(default_factory=dict)   # predicted class -> share
    ece: float | None = None


@dataclass
class GroupReport:
    by: str
    task: str | None
    groups: list = field(default_factory=list)
    accuracy_p: float | None = None    # Holm-adjusted
    shares_p: float | None = None
    differs: bool = False
    summary: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def fields_seen(store, limit: int = 50) -> list[str]:
    """The pass-through fields given with predictions (for choosing a grouping)."""
    with closing(store.connect()) as db:
        return [r[0] for r in db.execute(
            "SELECT DISTINCT j.key FROM predictions p, json_each(p.fields) j WHERE p.fields IS NOT NULL "
            "ORDER BY j.key LIMIT ?", (limit,))]


def group_rows(store, by: str, since: float = 0.0) -> list[tuple]:
    """(group value, task, prediction, actual, probabilities, classes) of the outcomes whose
    prediction still has its inputs and fields in the journal."""
    with closing(store.connect()) as db:
        rows = db.execute(
            "SELECT o.task, o.pred, o.actual, o.proba, o.classes, p.inputs, i.inputs, p.fields FROM outcomes o "
            "JOIN instances i ON o.pred_id LIKE i.inst || '-%' "
            "JOIN predictions p ON p.inst = i.id AND p.seq = CAST(substr(o.pred_id, length(i.inst) + 2) AS INTEGER) "
            "WHERE o.t >= ?", (since,)).fetchall()
    out = []
    for task, pred, actual, proba, classes, inputs, names, fields in rows:
        value = None
        if fields:
            value = json.loads(fields).get(by)
        if value is None and inputs:
            names = json.loads(names)
            if by in names:
                value = json.loads(inputs)[names.index(by)]
        if value is None:
            continue
        out.append((label(value), task, json.loads(pred) if pred else None, json.loads(actual),
                    json.loads(proba) if proba else None, json.loads(classes) if classes else None))
    return out


def compare_groups(rows: list[tuple], by: str) -> GroupReport:
    """The groups of ``rows`` ((group, task, prediction, actual, probabilities, classes))."""
    from scipy.stats import kruskal

    tasks = {r[1] for r in rows}
    task = "classification" if "classification" in tasks else ("regression" if "regression" in tasks else None)
    report = GroupReport(by=by, task=task)
    members: dict = {}
    for row in rows:
        members.setdefault(row[0], []).append(row)
    judged = {g: rs for g, rs in members.items() if len(rs) >= MIN_GROUP}
    for g, rs in sorted(members.items(), key=lambda kv: -len(kv[1])):
        group = Group(name=g, n=len(rs), judged=g in judged)
        preds = [label(r[2]) for r in rs]
        if task == "classification":
            right = sum(p == label(r[3]) for p, r in zip(preds, rs))
            figure = wilson(right, len(rs))
            group.accuracy = asdict(figure) if figure.value is not None else {"value": None, "n": len(rs)}
            total = len(preds)
            group.shares = {c: preds.count(c) / total for c in sorted(set(preds))}
            probs = [(r[4], r[5], r[3]) for r in rs if r[4] and r[5] and len(r[4]) == 2]
            if len(probs) >= MIN_GROUP:
                group.ece = calibration(np.array([p[0][1] for p in probs]),
                                        np.array([label(p[2]) == label(p[1][1]) for p in probs], float)).ece
        elif task == "regression":
            errors = [abs(float(r[2]) - float(r[3])) for r in rs if _number(r[2], r[3])]
            group.mae = float(np.mean(errors)) if errors and group.judged else None
        report.groups.append(group)
    if len(judged) < 2:
        report.summary = (f"Not enough outcomes to tell yet: groups of {by} need {MIN_GROUP} outcomes each to be "
                          f"compared ({len(judged)} {'has' if len(judged) == 1 else 'have'} that many).")
        return report
    pvalues = {}
    if task == "classification":
        table = [[sum(label(r[2]) == label(r[3]) for r in rs), sum(label(r[2]) != label(r[3]) for r in rs)]
                 for rs in judged.values()]
        pvalues["accuracy"] = _chi2(np.array(table, float))
        classes = sorted({label(r[2]) for rs in judged.values() for r in rs})
        shares = [[sum(label(r[2]) == c for r in rs) for c in classes] for rs in judged.values()]
        pvalues["shares"] = _chi2(np.array(shares, float)) if len(classes) > 1 else 1.0
    elif task == "regression":
        errors = [[abs(float(r[2]) - float(r[3])) for r in rs if _number(r[2], r[3])] for rs in judged.values()]
        pvalues["accuracy"] = float(kruskal(*errors).pvalue)
    adjusted = _holm(pvalues)
    report.accuracy_p, report.shares_p = adjusted.get("accuracy"), adjusted.get("shares")
    report.differs = any(p < ALPHA for p in adjusted.values())
    report.summary = _words(report, judged, by)
    return report


def _chi2(table: np.ndarray) -> float:
    from scipy.stats import chi2_contingency

    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table, correction=False)[1])


def _holm(pvalues: dict) -> dict:
    out, running = {}, 0.0
    ordered = sorted(pvalues.items(), key=lambda kv: kv[1])
    for i, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - i) * p))
        out[name] = running
    return out


def _number(*values) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def _words(report: GroupReport, judged: dict, by: str) -> str:
    small = [g.name for g in report.groups if not g.judged]
    tail = f" ({len(small)} smaller groups are too small to judge)" if small else ""
    if not report.differs:
        return f"No difference between the groups of {by} beyond chance ({len(judged)} groups compared){tail}."
    parts = []
    if report.task == "classification" and report.accuracy_p is not None and report.accuracy_p < ALPHA:
        ranked = sorted((g for g in report.groups if g.judged), key=lambda g: g.accuracy["value"])
        low, high = ranked[0], ranked[-1]
        parts.append(f"it is right less often for {by} '{low.name}' ({low.accuracy['value']:.0%} of {low.n}) than "
                     f"for '{high.name}' ({high.accuracy['value']:.0%} of {high.n})")
    if report.shares_p is not None and report.shares_p < ALPHA:
        parts.append("it predicts the classes in different shares by group")
    if report.task == "regression":
        ranked = sorted((g for g in report.groups if g.judged), key=lambda g: g.mae)
        parts.append(f"its errors are larger for {by} '{ranked[-1].name}' (off by {ranked[-1].mae:.3g} on average) "
                     f"than for '{ranked[0].name}' ({ranked[0].mae:.3g})")
    return "The groups differ more than chance would explain: " + "; and ".join(parts) + tail + "."
