"""What the app shows of drift for one model: the verdict on the chosen window, each input's
light and words, and how each input's change moved over the last days (a sparkline).

Gathered in a worker (it reads the journal's column store and runs the tests); the
window only shows it. The reference data's prepared columns are kept between calls while
its file is unchanged."""
from __future__ import annotations

import math
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from .on_journal import kinds_of, reference_columns, window_columns, window_span
from .drift import ALPHA, compare
from .result import DriftResult

BASELINES = ("reference", "week_before", "version_start", "chosen")
EVIDENCE_LINE = -math.log10(ALPHA)
TREND_DAYS = 14
_cache: dict = {}


@dataclass
class InputRow:
    name: str
    light: str             # "green", "amber" (not enough data, or a data quality finding), "red" (drift)
    verdict: str           # "like the reference", "changed", "not enough data yet (needs N rows)"
    change: str            # in plain words
    quality: list          # plain sentences
    trend: list            # the evidence of a change per day (``evidence``), oldest first; None: no verdict
    details: str           # the figures, for a tooltip


@dataclass
class DriftView:
    summary: str
    rows: list = field(default_factory=list)
    window_words: str = ""
    baseline_words: str = ""
    problem: str = ""       # why nothing could be compared (no reference data, no predictions)
    result: DriftResult | None = None
    trend_days: list = field(default_factory=list)   # day starts of the sparkline points


def prepared_reference(path: str | None, kinds: dict) -> dict | None:
    """The version's reference data as prepared columns, kept while the file is unchanged."""
    if not path or not Path(path).is_file():
        return None
    from ..reference import read_table

    stat = Path(path).stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, tuple(sorted(kinds.items())))
    if key not in _cache:
        _cache.clear()  # one model's reference at a time is what a dashboard needs
        _cache[key] = reference_columns(read_table(path), kinds)
    return _cache[key]


def baseline_span(baseline: str, now: float, version_since: float | None, chosen: float | None):
    """(since, until, words) of a past window of the journal used as the baseline."""
    if baseline == "week_before":
        end = (datetime.fromtimestamp(now) - timedelta(days=7)).timestamp()
        return end - 7 * 86400, end, "the 7 days before"
    if baseline == "version_start":
        start = version_since or 0.0
        return start, start + 7 * 86400, "this version's first 7 days"
    if baseline == "chosen" and chosen is not None:
        return chosen, chosen + 7 * 86400, f"the week from {datetime.fromtimestamp(chosen):%d %b %Y}"
    raise ValueError(f"unknown baseline {baseline!r}")


def drift_view(store, inputs: list[dict], reference_path: str | None, window: str = "today",
               baseline: str = "reference", now: float | None = None, versions=None,
               version_since: float | None = None, chosen: float | None = None,
               trend_days: int = TREND_DAYS, alpha: float = ALPHA) -> DriftView:
    now = time.time() if now is None else now
    kinds, skipped = kinds_of(inputs)
    span = window_span(window, now, version_since)
    view = DriftView(summary="", window_words=span.words)
    with closing(store.connect()) as db:
        if baseline == "reference":
            reference = prepared_reference(reference_path, kinds)
            view.baseline_words = "the reference data"
            if reference is None:
                view.problem = ("This version has no reference data to compare with. Add the data it learned "
                                "from when you package it, or compare with a past week of predictions.")
                view.summary = "Nothing to compare with yet."
                return view
        else:
            since, until, view.baseline_words = baseline_span(baseline, now, version_since, chosen)
            reference, rows = window_columns(db, kinds, since, until, versions)
            if not rows:
                view.problem = f"There are no predictions in {view.baseline_words} to compare with."
                view.summary = "Nothing to compare with yet."
                return view
        current, rows = window_columns(db, kinds, span.since, span.until, versions)
        result = compare(reference, current, alpha) if rows else DriftResult(method="deskml")
        if not rows:
            result.summary = f"No predictions {span.words} yet."
        result.skipped.update(skipped)
        trends = _trends(db, kinds, reference, now, trend_days, versions, alpha)
    view.result = result
    view.summary = result.summary
    view.trend_days = trends.pop("_days")
    for name in kinds:
        col = result.columns.get(name)
        quality = (result.quality.get(name) or {}).get("issues", [])
        if col is None:
            why = result.skipped.get(name) or "no predictions yet"
            view.rows.append(InputRow(name, "amber" if rows else "grey", why, "", quality, trends.get(name, []), ""))
            continue
        if col.drifted:
            light, verdict = "red", "changed"
        elif col.drifted is None:
            light, verdict = "amber", f"not enough data yet (needs {col.needed} rows, has {col.n_current})"
        else:
            light, verdict = ("amber" if quality else "green"), "like the reference"
        view.rows.append(InputRow(name, light, verdict, col.change, quality, trends.get(name, []), _details(col)))
    for name, why in skipped.items():
        view.rows.append(InputRow(name, "grey", why, "", [], [], ""))
    return view


def evidence(p_adjusted: float | None) -> float | None:
    """How strong the evidence of a change is: -log10 of the adjusted p-value (EVIDENCE_LINE,
    -log10 of alpha, is the line a verdict of "changed" must cross), capped at 6."""
    if p_adjusted is None:
        return None
    return float(min(6.0, -math.log10(max(p_adjusted, 1e-6))))


def _trends(db, kinds, reference, now, days, versions, alpha) -> dict:
    """Each input's evidence of a change per day over the last ``days`` days (``evidence``):
    comparable from day to day whatever the number of predictions, None where a day could
    not be judged."""
    out: dict = {name: [] for name in kinds}
    starts = []
    today = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    for k in range(days - 1, -1, -1):
        start = (today - timedelta(days=k)).timestamp()
        end = (today - timedelta(days=k - 1)).timestamp()
        starts.append(start)
        current, rows = window_columns(db, kinds, start, end, versions)
        result = compare(reference, current, alpha) if rows else None
        for name in kinds:
            col = result.columns.get(name) if result else None
            out[name].append(evidence(col.p_value_adjusted) if col is not None else None)
    out["_days"] = starts
    return out


def _details(col) -> str:
    parts = [f"{col.method or 'no test yet'}"]
    if col.p_value is not None:
        parts.append(f"p = {col.p_value:.3g} (adjusted {col.p_value_adjusted:.3g})")
    if col.effect is not None:
        parts.append(f"change size {col.effect:.2f} (drift from 0.10)")
    if col.psi is not None:
        parts.append(f"PSI {col.psi:.3f}")
    parts.append(f"{col.n_current} rows against {col.n_reference}")
    return "; ".join(parts)


def first_seen(store, version: str) -> float | None:
    """When the version first answered (its first run's start), from the journal."""
    with closing(store.connect()) as db:
        row = db.execute("SELECT min(started) FROM instances WHERE version = ?", (str(version),)).fetchone()
    return row[0] if row else None


def for_model(settings, registry, model: str, window: str = "today", baseline: str = "reference",
              chosen: float | None = None, now: float | None = None) -> DriftView:
    """The drift view of a model's live (or newest) version: the journal read in first."""
    from ..monitoring import live

    live.refresh(settings, model)
    store = live.store(model)
    version = registry.get(model, registry.desired_version(model))
    since = first_seen(store, version.version)
    return drift_view(store, (version.info or {}).get("inputs") or [], version.reference, window, baseline, now,
                      versions=[version.version] if window == "version" else None, version_since=since,
                      chosen=chosen)


@dataclass
class AccuracyView:
    report: object
    chart: tuple | None = None         # (rgba, w, h): accuracy by day
    calibration: object = None         # calibration.Calibration (classifiers with probabilities)
    reliability: tuple | None = None   # (rgba, w, h)
    groups: object = None              # groups.GroupReport, when a field was chosen
    choices: list = field(default_factory=list)   # inputs and pass-through fields to group by
    estimate: object = None            # estimate.EstimateView: accuracy before outcomes (classifiers)


def accuracy_for_model(settings, registry, model: str, chart: tuple | None = None, text: str = "black",
                       background: str = "white", now: float | None = None, reliability: tuple | None = None,
                       by: str | None = None) -> AccuracyView:
    """Accuracy from real outcomes, calibration and the groups of ``by``; the charts drawn
    off the window's thread (in the chart process)."""
    from .. import chart_process
    from ..monitoring import live
    from . import calibration, groups
    from .accuracy import accuracy_report

    version = registry.get(model, registry.live_version(model))
    live.refresh(settings, model)
    store = live.store(model)
    report = accuracy_report(store)
    view = AccuracyView(report)
    view.choices = [i["name"] for i in (version.info or {}).get("inputs") or []
                    if i.get("kind") in ("category", "number")] + groups.fields_seen(store)
    if (version.info or {}).get("task") == "classification":
        view.estimate = estimate_for_model(settings, registry, model, store, now)
    if report.task == "classification":
        view.calibration = calibration.from_outcomes(store)
    if by:
        view.groups = groups.compare_groups(groups.group_rows(store, by), by)
    jobs, sizes = [], []
    options = {"text": text, "background": background}
    if chart:
        w, h, ratio = chart
        main = "accuracy" if report.task != "regression" else "mae"
        points = [(d["day"], d["n"], d["figure"].value, d["figure"].low, d["figure"].high) for d in report.by_day]
        overall = report.figures.get(main).value if report.figures.get(main) else None
        name = "Accuracy" if main == "accuracy" else "Mean absolute error"
        estimated = [(d["day"], d["figure"].value, d["figure"].low, d["figure"].high)
                     for d in (view.estimate.by_day if view.estimate is not None else []) if d["figure"].enough]
        jobs.append(("accuracy_chart", (points,), {"name": name, "percent": main == "accuracy", "overall": overall,
                                                    "estimated": estimated, **options},
                     w, h, {"dpi": 96 * ratio, **options}))
        sizes.append("chart")
    if reliability and view.calibration is not None:
        w, h, ratio = reliability
        jobs.append(("reliability_chart", (view.calibration.bins,), {"positive": view.calibration.positive,
                                                                      **options}, w, h, {"dpi": 96 * ratio, **options}))
        sizes.append("reliability")
    for name, image in zip(sizes, chart_process.render(jobs) if jobs else []):
        setattr(view, name, image)
    return view


def estimate_for_model(settings, registry, model: str, store=None, now: float | None = None):
    """Accuracy before outcomes for the live version (``estimate.py``), learnt from its
    answers on its labelled reference data; the model runs once per reference file to give
    them (``reference_scores``). An EstimateView whose ``problem`` says why when there is none."""
    from ..errors import DeskMLError
    from ..monitoring import live
    from .estimate import EstimateView, estimate_view
    from .reference_scores import reference_scores

    version = registry.get(model, registry.live_version(model))  # the live one, else the newest
    try:
        scores = reference_scores(settings, registry, model, version.version)
        return estimate_view(scores, store if store is not None else live.store(model), model, version.version, now)
    except DeskMLError as err:
        words = " ".join(x for x in (err.headline, err.what_to_do) if x)
    except Exception:  # a bug here must not take the measured accuracy off the page
        import logging

        logging.getLogger(__name__).exception("the estimate before outcomes failed")
        words = "The estimate could not be made (a problem in DeskML, written to its log)."
    return EstimateView(problem=words, version=version.version, summary=words)


def drift_windows(store, inputs: list[dict], reference_path: str | None, now: float | None = None,
                  alpha: float = ALPHA) -> dict:
    """The daily drift alert's look: today and the last 7 days against the reference data,
    the false-alarm budget split between them. {window: DriftResult}; empty without
    reference data."""
    kinds, _ = kinds_of(inputs)
    reference = prepared_reference(reference_path, kinds)
    if not reference:
        return {}
    now = time.time() if now is None else now
    out = {}
    with closing(store.connect()) as db:
        for window in ("today", "week"):
            span = window_span(window, now)
            current, rows = window_columns(db, kinds, span.since, span.until)
            if rows:
                out[window] = compare(reference, current, alpha / 2)
    return out
