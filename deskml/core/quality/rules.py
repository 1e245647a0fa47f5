"""The alert rules of model quality, added to the monitoring issue's (``monitoring/alerts.py``):

* ``input_drift``: an input has changed, by DeskML's verdict on today and the last 7 days
  against the version's reference data (at most 1 false alarm in 200 days);
* ``data_quality``: empty values, categories never seen, or numbers out of range, above a
  share and beyond chance;
* ``accuracy_drop``: accuracy over the last 7 days below the user's threshold, or lower
  than in the 4 weeks before by more than chance (Fisher's exact test) and by at least a
  few points;
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
    from scipy.stats import fisher_exact

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
    before = _every(("before", str(s.store.path)),
                    lambda: accuracy_report(s.store, since=s.now - 5 * WEEK, until=s.now - WEEK))
    old = before.figures.get("accuracy")
    if old is None or not old.enough or old.n < MIN_OUTCOMES:
        return None
    drop = old.value - figure.value
    table = [[round(figure.value * figure.n), figure.n - round(figure.value * figure.n)],
             [round(old.value * old.n), old.n - round(old.value * old.n)]]
    if drop * 100 >= p["points"] and fisher_exact(table, alternative="less").pvalue < 0.01:
        return Finding(f"{s.model} is right less often: {figure.value:.0%} over the last 7 days "
                       f"({figure.n} outcomes), {old.value:.0%} in the 4 weeks before ({old.n}).",
                       "Look at Monitoring › Inputs for what changed; the model may need retraining on recent "
                       "data.", WARNING)
    return None


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
