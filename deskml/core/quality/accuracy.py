"""How often was it right? Accuracy from real outcomes, over time and by version.

Each figure comes with a 95% confidence interval and the number of outcomes behind it,
and below ``MIN_OUTCOMES`` it is "not enough outcomes yet" rather than a number that
would swing from one outcome to the next. Outcomes count for the time and version of
their prediction, however late they come (``monitoring/outcomes.py`` keeps those with
each outcome).

* Classification: accuracy, and precision, recall and F1 per class (Wilson intervals for
  the proportions, a bootstrap for F1), and the confusion matrix.
* Regression: MAE, RMSE and R² (bootstrap intervals).

The figures themselves are scikit-learn's (``sklearn.metrics``); the intervals are scipy's
Wilson interval and a bootstrap with a fixed seed, so a figure does not change between
two looks at the same outcomes."""
from __future__ import annotations

import json
import math
from contextlib import closing
from dataclasses import asdict, dataclass, field

import numpy as np

MIN_OUTCOMES = 30
CONFIDENCE = 0.95
BOOTSTRAP = 2000
SEED = 0


@dataclass
class Figure:
    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0

    @property
    def enough(self) -> bool:
        return self.value is not None

    def words(self, percent: bool = True, of: str = "outcomes") -> str:
        if self.value is None:
            return f"not enough {of} yet ({self.n} of {MIN_OUTCOMES})"
        fmt = (lambda x: f"{x:.0%}") if percent else (lambda x: f"{x:.4g}")
        return f"{fmt(self.value)} (95% between {fmt(self.low)} and {fmt(self.high)}; {self.n} {of})"


@dataclass
class AccuracyReport:
    task: str | None
    n: int = 0
    more_needed: int = 0
    figures: dict = field(default_factory=dict)      # name -> Figure (accuracy | mae, rmse, r2)
    per_class: dict = field(default_factory=dict)    # label -> {precision, recall, f1: Figure, support}
    confusion: dict = field(default_factory=dict)    # {"labels": [...], "matrix": [[actual x predicted]]}
    by_day: list = field(default_factory=list)       # [{"day": start, "n", "figure": Figure}]
    by_version: dict = field(default_factory=dict)   # version -> {"n", name: Figure}
    unreadable: int = 0                              # outcomes that could not be compared (a text for a number)
    summary: str = ""

    def to_dict(self) -> dict:
        return _plain(asdict(self))


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    return x


def label(value) -> str:
    """A class label as text, so that 1, 1.0 and "1", or true and "True", are the same class."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text.lower() if text.lower() in ("true", "false") else text


def wilson(k: int, n: int) -> Figure:
    from scipy.stats import binomtest

    if n < MIN_OUTCOMES:
        return Figure(None, n=n)
    ci = binomtest(int(k), int(n)).proportion_ci(CONFIDENCE, method="wilson")
    return Figure(k / n, float(ci.low), float(ci.high), n)


def _weights(n: int) -> np.ndarray:
    """Bootstrap resamples as counts per outcome (resamples x n), fixed seed."""
    rng = np.random.default_rng(SEED)
    b = int(max(200, min(BOOTSTRAP, 20_000_000 // max(n, 1))))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.nanpercentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)


def classification_figures(actual: list[str], predicted: list[str]) -> tuple[dict, dict, dict]:
    """(figures, per class, confusion) for the pairs."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    n = len(actual)
    labels = sorted(set(actual) | set(predicted))
    correct = int(round(accuracy_score(actual, predicted) * n)) if n else 0
    figures = {"accuracy": wilson(correct, n)}
    per_class, confusion = {}, {"labels": labels, "matrix": []}
    if not n:
        return figures, per_class, confusion
    precision, recall, f1, support = precision_recall_fscore_support(actual, predicted, labels=labels,
                                                                     zero_division=0)
    a, p = np.array(actual), np.array(predicted)
    weights = _weights(n) if n >= MIN_OUTCOMES else None
    for i, c in enumerate(labels):
        tp = int(((a == c) & (p == c)).sum())
        said, true = int((p == c).sum()), int((a == c).sum())
        f1_figure = Figure(None, n=true)
        if weights is not None and true >= MIN_OUTCOMES:
            tps = weights @ ((a == c) & (p == c))
            fps = weights @ ((a != c) & (p == c))
            fns = weights @ ((a == c) & (p != c))
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = np.where(2 * tps + fps + fns > 0, 2 * tps / (2 * tps + fps + fns), 0.0)
            f1_figure = Figure(float(f1[i]), *_interval(boot), true)
        per_class[c] = {"precision": _with(wilson(tp, said), precision[i]), "recall": _with(wilson(tp, true), recall[i]),
                        "f1": f1_figure, "support": int(support[i])}
    confusion["matrix"] = confusion_matrix(actual, predicted, labels=labels).tolist()
    return figures, per_class, confusion


def _with(figure: Figure, value) -> Figure:
    """A Wilson interval around scikit-learn's own value (the same proportion)."""
    if figure.value is not None:
        figure.value = float(value)
    return figure


def regression_figures(actual: np.ndarray, predicted: np.ndarray) -> dict:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    n = len(actual)
    if n < MIN_OUTCOMES:
        return {name: Figure(None, n=n) for name in ("mae", "rmse", "r2")}
    e = actual - predicted
    w = _weights(n)
    mae = w @ np.abs(e) / n
    mse = w @ (e * e) / n
    mean = w @ actual / n
    ss_tot = w @ (actual * actual) - n * mean * mean
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1 - (mse * n) / ss_tot
    return {"mae": Figure(float(mean_absolute_error(actual, predicted)), *_interval(mae), n),
            "rmse": Figure(float(math.sqrt(mean_squared_error(actual, predicted))), *_interval(np.sqrt(mse)), n),
            "r2": Figure(float(r2_score(actual, predicted)), *_interval(r2), n)}


def outcome_pairs(store, since: float = 0.0, until: float = math.inf, versions=None) -> list[tuple]:
    """(prediction time, version, task, prediction, actual, probabilities, classes) of the
    outcomes whose predictions were made in the window."""
    sql = "SELECT t, version, task, pred, actual, proba, classes FROM outcomes WHERE t >= ? AND t < ?"
    args: list = [since, until if math.isfinite(until) else 1e18]
    if versions:
        sql += f" AND version IN ({','.join('?' * len(versions))})"
        args += list(versions)
    with closing(store.connect()) as db:
        rows = db.execute(sql + " ORDER BY t", args).fetchall()
    return [(t, v, task, json.loads(pred) if pred else None, json.loads(actual),
             json.loads(proba) if proba else None, json.loads(classes) if classes else None)
            for t, v, task, pred, actual, proba, classes in rows]


def accuracy_report(store, since: float = 0.0, until: float = math.inf, versions=None,
                    day_starts=None) -> AccuracyReport:
    """Accuracy of the outcomes of predictions made in the window: overall, by day (local
    days, or the given ``day_starts``) and by version."""
    from datetime import datetime

    pairs = outcome_pairs(store, since, until, versions)
    tasks = {task for _, _, task, *_ in pairs if task}
    task = "classification" if "classification" in tasks else ("regression" if "regression" in tasks else None)
    report = AccuracyReport(task=task, n=len(pairs))
    if not pairs:
        report.summary = "No outcomes yet: tell DeskML what really happened, and accuracy appears here."
        report.more_needed = MIN_OUTCOMES
        return report
    if task is None:
        report.summary = "Accuracy needs a model that classifies or estimates a number."
        return report
    compute, figures_of = _figures_for(task, report)
    kept = [(t, v, pred, actual) for t, v, _, pred, actual, *_ in pairs if compute(pred, actual) is not None]
    report.unreadable = len(pairs) - len(kept)
    a, p = _columns(task, kept)
    overall = figures_of(a, p)
    report.figures = overall[0] if task == "classification" else overall
    if task == "classification":
        report.per_class, report.confusion = overall[1], overall[2]
    main = "accuracy" if task == "classification" else "mae"
    days: dict = {}
    for t, v, pred, actual in kept:
        day = datetime.fromtimestamp(t).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        days.setdefault(day, []).append((t, v, pred, actual))
        report.by_version.setdefault(v, []).append((t, v, pred, actual))
    for day in sorted(days):
        a_d, p_d = _columns(task, days[day])
        fig = figures_of(a_d, p_d)
        report.by_day.append({"day": day, "n": len(days[day]), "figure": (fig[0] if task == "classification"
                                                                           else fig)[main]})
    for v, rows in list(report.by_version.items()):
        a_v, p_v = _columns(task, rows)
        fig = figures_of(a_v, p_v)
        report.by_version[v] = {"n": len(rows), **(fig[0] if task == "classification" else fig)}
    report.more_needed = max(0, MIN_OUTCOMES - len(kept))
    head = report.figures[main]
    if not head.enough:
        report.summary = f"Not enough outcomes yet: {len(kept)} of the {MIN_OUTCOMES} a figure needs."
    elif task == "classification":
        report.summary = f"Right {head.words()}."
    else:
        report.summary = f"Off by {head.value:.4g} on average (95% between {head.low:.4g} and {head.high:.4g}; " \
                         f"{head.n} outcomes)."
    return report


def _figures_for(task: str, report: AccuracyReport):
    if task == "classification":
        return (lambda pred, actual: True if pred is not None else None), classification_figures

    def number(pred, actual):
        try:
            return float(pred), float(actual)
        except (TypeError, ValueError):
            return None
    return number, regression_figures


def _columns(task: str, rows: list[tuple]):
    if task == "classification":
        return [label(actual) for *_, actual in rows], [label(pred) for _, _, pred, _ in rows]
    return (np.array([float(actual) for *_, actual in rows]), np.array([float(pred) for _, _, pred, _ in rows]))
