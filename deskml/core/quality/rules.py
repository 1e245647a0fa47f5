"""The alert rules of model quality, added to the monitoring issue's (``monitoring/alerts.py``):

* ``input_drift``: an input has changed, by DeskML's verdict on today and the last 7 days
  against the version's reference data (at most 1 false alarm in 200 days);
* ``data_quality``: empty values, categories never seen, or numbers out of range, above a
  share and beyond chance;
* ``accuracy_drop``: accuracy over the last 7 days below the user's threshold, or lower
  than on the version's labelled reference data or in the 4 weeks before, by more than
  chance (Fisher's exact test) and by at least a few points;
* ``group_gap``: a group (of an input or a pass-through field the user picks) is served
  worse than the others beyond chance, among groups big enough to judge.
"""
from __future__ import annotations

import time

from ..monitoring.alerts import WARNING, Finding, Rule, Situation, register

WEEK = 7 * 86400
FRESH_S = 60.0   # the app checks alerts every 10 s; these checks read days of the journal
_recent: dict = {}


def _every(key: tuple, fn):
    """``fn()``, or its result from the last minute: two rules share one drift check, and a
    check of a busy week's journal is not run again every 10 seconds."""
    hit = _recent.get(key)
    if hit is not None and time.monotonic() - hit[0] < FRESH_S:
        return hit[1]
    value = fn()
    _recent[key] = (time.monotonic(), value)
    return value


def _windows(s: Situation) -> dict:
    from .view import drift_windows

    return _every(("drift", str(s.store.path), s.reference),
                  lambda: drift_windows(s.store, s.inputs, s.reference, s.now))


def _input_drift(s: Situation, p: dict) -> Finding | None:
    if s.store is None or not s.inputs or not s.reference:
        return None
    results = _windows(s)
    for window, words in (("today", "today"), ("week", "over the last 7 days")):
        result = results.get(window)
        if result is not None and result.drifted_columns:
            changes = "; ".join(result.columns[c].change for c in result.drifted_columns[:3])
            return Finding(f"{s.model}'s inputs have changed {words}: {changes}.",
                           "Look at Monitoring › Inputs. If the change is real and lasting, the model may need "
                           "retraining on recent data; if it is a mistake in what is sent (a form, a spreadsheet, "
                           "a program), fix that.", WARNING)
    return None


def _data_quality(s: Situation, p: dict) -> Finding | None:
    if s.store is None or not s.inputs or not s.reference:
        return None
    today = _windows(s).get("today")
    if today is None:
        return None
    issues = [i for q in today.quality.values() for i in q.get("issues", [])
              if _share_of(i) is None or _share_of(i) >= p["empty_share"]]
    if not issues:
        return None
    return Finding(f"{s.model}'s inputs look wrong today: {issues[0]}" + (f" (and {len(issues) - 1} more)"
                                                                         if len(issues) > 1 else "") + ".",
                   "Check the form, spreadsheet or program that sends the inputs: empty values and unknown "
                   "categories are answered, but the model has to guess.", WARNING)


def _share_of(issue: str) -> float | None:
    head = issue.split("%")[0].split()[-1] if "%" in issue else None
    try:
        return float(head) / 100 if head is not None else None
    except ValueError:
        return None


def _accuracy_drop(s: Situation, p: dict) -> Finding | None:
    from .accuracy import MIN_OUTCOMES, accuracy_report

    if s.store is None:
        return None
    recent = _every(("recent", str(s.store.path)),
                    lambda: accuracy_report(s.store, since=s.now - WEEK, until=s.now + 1))
    figure = recent.figures.get("accuracy")
    if recent.task != "classification" or figure is None or not figure.enough:
        return None
    if p["accuracy_below"] > 0 and figure.value < p["accuracy_below"]:
        return Finding(f"{s.model} was right only {figure.value:.0%} of the time over the last 7 days "
                       f"({figure.n} outcomes; your limit: {p['accuracy_below']:.0%}).",
                       "Look at Monitoring › Accuracy and › Inputs: something may have changed in the data.", WARNING)
    reference = _reference_accuracy(s)
    if reference is not None:
        mine = _every(("recent", str(s.store.path), s.version),
                      lambda: accuracy_report(s.store, since=s.now - WEEK, until=s.now + 1, versions=[s.version]))
        own = mine.figures.get("accuracy")
        if own is not None and own.enough and _lower(own, reference, p["points"]):
            return Finding(f"{s.model} is right less often than on the data it was checked on: {own.value:.0%} over "
                           f"the last 7 days ({own.n} outcomes), {reference.value:.0%} on its reference data "
                           f"({reference.n} rows).",
                           "Look at Monitoring › Inputs for what changed; the model may need retraining on recent "
                           "data. (If the reference data is the data it learned from, it is right more often there "
                           "than anywhere: give held-out data as reference for a fair comparison.)", WARNING)
    before = _every(("before", str(s.store.path)),
                    lambda: accuracy_report(s.store, since=s.now - 5 * WEEK, until=s.now - WEEK))
    old = before.figures.get("accuracy")
    if old is None or not old.enough or old.n < MIN_OUTCOMES:
        return None
    if _lower(figure, old, p["points"]):
        return Finding(f"{s.model} is right less often: {figure.value:.0%} over the last 7 days "
                       f"({figure.n} outcomes), {old.value:.0%} in the 4 weeks before ({old.n}).",
                       "Look at Monitoring › Inputs for what changed; the model may need retraining on recent "
                       "data.", WARNING)
    return None


def _lower(now, then, points: float) -> bool:
    """Whether accuracy ``now`` is below ``then`` by at least ``points`` and by more than
    chance (Fisher's exact test, one-sided, p < 0.01)."""
    from scipy.stats import fisher_exact

    right_now, right_then = round(now.value * now.n), round(then.value * then.n)
    table = [[right_now, now.n - right_now], [right_then, then.n - right_then]]
    return (then.value - now.value) * 100 >= points and fisher_exact(table, alternative="less").pvalue < 0.01


def _reference_accuracy(s: Situation):
    """The live version's accuracy on its labelled reference data, if it has been measured
    (the Accuracy page or ``deskml accuracy`` measures it; a rule never starts the model)."""
    from .estimate import cached_estimator
    from .reference_scores import cached

    if not s.version or not s.reference:
        return None
    def look():
        scores = cached(s.model, s.version, s.reference)
        if scores is None:
            return None
        estimator, _ = cached_estimator(scores, s.model, s.version)
        return estimator.reference if estimator is not None and estimator.reference.enough else None
    return _every(("reference accuracy", s.model, s.version, s.reference), look)


def _group_gap(s: Situation, p: dict) -> Finding | None:
    from .groups import compare_groups, group_rows

    by = (p.get("by") or "").strip()
    if s.store is None or not by:
        return None
    report = _every(("groups", str(s.store.path), by),
                    lambda: compare_groups(group_rows(s.store, by, since=s.now - 4 * WEEK), by))
    if not report.differs:
        return None
    return Finding(f"{s.model} serves the groups of {by} unequally: {report.summary[0].lower()}{report.summary[1:]}",
                   "Look at the groups in Monitoring › Accuracy; a model that is unfair to a group may need more "
                   "data of that group to learn from.", WARNING)


register(Rule("input_drift", "An input has changed (against the reference data)", _input_drift, {}))
register(Rule("data_quality", "Inputs look wrong (empty values, unknown categories)", _data_quality,
              {"empty_share": 0.1}))
register(Rule("accuracy_drop", "It is right less often (from real outcomes)", _accuracy_drop,
              {"accuracy_below": 0.0, "points": 5.0}))
register(Rule("group_gap", "A group is served worse than the others", _group_gap, {"by": ""}, enabled=False))
