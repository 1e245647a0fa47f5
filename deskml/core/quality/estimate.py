"""Accuracy before outcomes arrive, estimated from the model's own confidence
(confidence-based performance estimation, as NannyML's CBPE does it).

On the labelled reference data, the model's confidence in each answer (the probability it
gave the class it chose) is set against whether the answer was right, and an isotonic
regression (scikit-learn's) learns the link: "when it said 80%, it was right 74% of the
time". Each new prediction's confidence then gives the chance that it is right, and their
mean over a window is the estimated accuracy. It stays an estimate: it holds while that
link holds, which a change in the world can break without the inputs showing it. That is
why, as outcomes come in, the estimate for those very predictions is set against what
really happened (``check``).

The band says where the accuracy of these predictions would fall 95% of the time, from
two doubts: each prediction is right or wrong by chance (a Poisson-binomial spread,
sqrt(sum p(1-p)) / n), and the link was learnt from a finite reference (the spread of the
estimate over bootstrap refits of the reference, fixed seed, so a look does not change it).
Below ``MIN_PREDICTIONS`` predictions there is no figure, as for measured accuracy."""
from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from .accuracy import MIN_OUTCOMES, Figure, label, wilson

MIN_REFERENCE = 100        # labelled reference rows with probabilities, to learn the link from
MIN_PREDICTIONS = MIN_OUTCOMES
Z = 1.959963984540054      # 95%
SEED = 0
NEWEST = 200_000           # predictions read for a window at most (the newest)


def confidence(probabilities, predictions, classes) -> np.ndarray:
    """The probability each answer gave its own class (NaN where it gave none)."""
    index = {c: i for i, c in enumerate(classes)}
    out = np.full(len(predictions), np.nan)
    for k, (row, pred) in enumerate(zip(probabilities, predictions)):
        if row is None or pred is None:
            continue
        i = index.get(label(pred))
        out[k] = row[i] if i is not None and i < len(row) else max(row)
    return out


class Estimator:
    """The link between confidence and being right, learnt from the labelled reference."""

    def __init__(self, conf: np.ndarray, correct: np.ndarray):
        from sklearn.isotonic import IsotonicRegression

        keep = ~np.isnan(conf)
        conf, correct = conf[keep], np.asarray(correct, dtype=float)[keep]
        self.n = n = len(conf)
        self.reference = wilson(int(correct.sum()), n)
        self.mean_confidence = float(conf.mean()) if n else math.nan

        def fit(x, y):
            model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
            return model.X_thresholds_, model.y_thresholds_

        self.curve = fit(conf, correct)
        rng = np.random.default_rng(SEED)
        refits = 200 if n <= 10_000 else 50
        self.curves = [fit(conf[i], correct[i]) for i in (rng.integers(0, n, n) for _ in range(refits))]

    def chance_right(self, conf: np.ndarray) -> np.ndarray:
        return np.interp(conf, *self.curve)

    def estimate(self, conf: np.ndarray) -> Figure:
        """Estimated accuracy of predictions with these confidences, with its 95% band."""
        conf = np.asarray(conf, dtype=float)
        conf = conf[~np.isnan(conf)]
        n = len(conf)
        if n < MIN_PREDICTIONS:
            return Figure(None, n=n)
        p = self.chance_right(conf)
        value = float(p.mean())
        chance = math.sqrt(float((p * (1 - p)).sum())) / n
        learnt = float(np.std([np.interp(conf, *c).mean() for c in self.curves]))
        half = Z * math.hypot(chance, learnt)
        return Figure(value, max(0.0, value - half), min(1.0, value + half), n)

    def check(self, conf: np.ndarray, correct: np.ndarray) -> dict | None:
        """The estimate for predictions whose outcomes are known, against what happened:
        {"estimated", "realised": Figure, "agrees": bool, "words"}; None below the minimum."""
        keep = ~np.isnan(conf)
        conf, correct = conf[keep], np.asarray(correct, dtype=bool)[keep]
        estimated = self.estimate(conf)
        if not estimated.enough:
            return None
        realised = wilson(int(correct.sum()), len(correct))
        low, high = estimated.low, estimated.high
        promised = f"its confidence promised {estimated.value:.0%} ({low:.0%} to {high:.0%})"
        said = f"Where outcomes are known ({realised.n}), it was right {realised.value:.0%}; "
        if low <= realised.value <= high:
            words = said + promised + ": as expected."
        elif realised.value < low:
            words = (said + promised + ". It is right less often than its confidence says: something changed "
                     "that its confidence does not see, so trust the measured accuracy, not the estimate.")
        else:
            words = said + promised + ": it does better than its confidence says."
        return {"estimated": estimated, "realised": realised, "agrees": low <= realised.value <= high,
                "words": words}


def estimator_of(scores) -> tuple[Estimator | None, str]:
    """(the Estimator learnt from a version's ReferenceScores, "") or (None, why not)."""
    if not scores.probabilities:
        return None, "the model gave no probabilities on its reference data"
    conf = confidence(scores.probabilities, scores.predictions, scores.classes)
    correct = np.array([p is not None and p == a for p, a in zip(scores.predictions, scores.actual)])
    usable = int((~np.isnan(conf)).sum())
    if usable < MIN_REFERENCE:
        return None, (f"the reference data has {usable} labelled rows the model could answer; the estimate "
                      f"needs {MIN_REFERENCE} to learn from")
    return Estimator(conf, correct), ""


_estimators: OrderedDict = OrderedDict()
_lock = threading.Lock()
KEPT = 8   # estimators kept: a few models' live versions


def cached_estimator(scores, model: str, version: str) -> tuple[Estimator | None, str]:
    """estimator_of, kept per version and reference file (the bootstrap refits take a
    moment; the app's page and the alert rules ask from different threads)."""
    key = (model, version, scores.reference_sha256, scores.target)
    with _lock:
        if key in _estimators:
            _estimators.move_to_end(key)
            return _estimators[key]
    found = estimator_of(scores)
    with _lock:
        _estimators[key] = found
        while len(_estimators) > KEPT:
            _estimators.popitem(last=False)
    return found


def journal_confidences(store, version: str, since: float, until: float) -> tuple[np.ndarray, np.ndarray]:
    """(times, confidences) of a version's answered predictions in the window (the newest
    ``NEWEST`` at most)."""
    with closing(store.connect()) as db:
        rows = db.execute("SELECT p.t, p.pred, p.proba, i.classes FROM predictions p JOIN instances i "
                          "ON i.id = p.inst WHERE p.status = 200 AND p.version = ? AND p.t >= ? AND p.t < ? "
                          "AND p.proba IS NOT NULL ORDER BY p.t DESC LIMIT ?",
                          (version, since, until, NEWEST)).fetchall()
    times = np.array([t for t, *_ in rows], dtype=float)
    conf = np.full(len(rows), np.nan)
    parsed: dict = {}
    for k, (_, pred, proba, classes) in enumerate(rows):
        if classes not in parsed:
            parsed[classes] = [label(c) for c in json.loads(classes)] if classes else []
        conf[k] = confidence([json.loads(proba)], [json.loads(pred) if pred else None], parsed[classes])[0]
    return times[::-1], conf[::-1]


def outcome_confidences(store, version: str) -> tuple[np.ndarray, np.ndarray]:
    """(confidences, right or not) of a version's predictions whose outcomes are known."""
    with closing(store.connect()) as db:
        rows = db.execute("SELECT pred, proba, classes, actual FROM outcomes WHERE version = ? AND proba IS NOT NULL",
                          (version,)).fetchall()
    conf = np.full(len(rows), np.nan)
    right = np.zeros(len(rows), dtype=bool)
    for k, (pred, proba, classes, actual) in enumerate(rows):
        p = json.loads(pred) if pred else None
        conf[k] = confidence([json.loads(proba)], [p], [label(c) for c in json.loads(classes or "[]")])[0]
        right[k] = p is not None and label(p) == label(json.loads(actual))
    return conf, right


@dataclass
class EstimateView:
    """What the app, the command line and the report show of the estimate."""
    problem: str = ""                 # why there is no estimate, in plain words
    version: str = ""
    target: str = ""                  # the reference's column of real outcomes
    reference: Figure | None = None   # accuracy on the labelled reference data
    week: Figure | None = None        # estimated accuracy of the last 7 days' predictions
    by_day: list = field(default_factory=list)   # [{"day", "n", "figure"}]
    check: dict | None = None         # the estimate against outcomes, where they are known
    summary: str = ""

    def to_dict(self) -> dict:
        from dataclasses import asdict

        from .accuracy import _plain
        return _plain(asdict(self))


def estimate_view(scores, store, model: str, version: str, now: float | None = None, days: int = 14) -> EstimateView:
    """The estimate for a version's predictions: the last 7 days, each of the last ``days``
    days, and the check against outcomes."""
    view = EstimateView(version=version, target=scores.target)
    estimator, why = cached_estimator(scores, model, version)
    if estimator is None:
        view.problem = f"No estimate: {why}."
        view.summary = view.problem
        return view
    view.reference = estimator.reference
    now = time.time() if now is None else now
    today = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    first = (today - timedelta(days=days - 1)).timestamp()
    times, conf = journal_confidences(store, version, min(first, now - 7 * 86400), now + 1)
    view.week = estimator.estimate(conf[times >= now - 7 * 86400])
    for d in range(days):
        start = (today - timedelta(days=days - 1 - d)).timestamp()
        end = (today - timedelta(days=days - 2 - d)).timestamp()
        chosen = conf[(times >= start) & (times < end)]
        if len(chosen):
            view.by_day.append({"day": start, "n": int(len(chosen)), "figure": estimator.estimate(chosen)})
    view.check = estimator.check(*outcome_confidences(store, version))
    ref = estimator.reference
    on_reference = (f"On its labelled reference data it was right {ref.words(of='rows')}." if ref.enough else "")
    if scores.refused:
        on_reference += (f" {scores.refused} reference rows were refused by the model (an empty or unknown value) "
                         "and left out.")
    if view.week.enough:
        view.summary = (f"Estimated accuracy over the last 7 days: {view.week.value:.0%} (95% band "
                        f"{view.week.low:.0%} to {view.week.high:.0%}; {view.week.n} predictions), from how sure "
                        f"the model was. An estimate, not a measurement. {on_reference}").strip()
    else:
        view.summary = (f"Not enough predictions in the last 7 days for an estimate ({view.week.n} of "
                        f"{MIN_PREDICTIONS}). {on_reference}").strip()
    return view
