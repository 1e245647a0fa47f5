"""When the model says "80% sure", is it right 80% of the time? Calibration from real
outcomes: a reliability table (confidence bins against how often it was right), the Brier
score and the expected calibration error (ECE), each with its number of outcomes.

For a model with two classes, the probability of the second class (scikit-learn's order)
against whether that class happened, as ``sklearn.calibration.calibration_curve`` does;
with more classes, the confidence of the predicted class against whether it was right
(top-label calibration). Bins with fewer than ``MIN_PER_BIN`` outcomes are shown, marked,
and left out of nothing: the ECE weighs each bin by its outcomes."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .accuracy import MIN_OUTCOMES, label, outcome_pairs, wilson

BINS = 10
MIN_PER_BIN = 10


@dataclass
class Calibration:
    n: int = 0
    kind: str = ""                 # "binary" (positive class) or "top-label"
    positive: str | None = None    # the class whose probability is plotted, for two classes
    brier: float | None = None
    ece: float | None = None
    bins: list = field(default_factory=list)  # {"low", "high", "n", "confidence", "observed", "ci": [lo, hi]}
    summary: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def calibration(probability: np.ndarray, happened: np.ndarray, bins: int = BINS, event: str | None = None
                ) -> Calibration:
    """Reliability of probabilities ``probability`` for events ``happened`` (0/1). ``event``:
    the class whose chance it is (two classes), for the words; else the chance of being right."""
    p = np.asarray(probability, dtype=float)
    y = np.asarray(happened, dtype=float)
    out = Calibration(n=len(p))
    if len(p) < MIN_OUTCOMES:
        out.summary = f"Not enough outcomes with probabilities yet: {len(p)} of {MIN_OUTCOMES}."
        return out
    out.brier = float(np.mean((p - y) ** 2))
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], p)  # the bins of sklearn's calibration_curve (uniform)
    ece = 0.0
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        if not n:
            continue
        conf, observed = float(p[inside].mean()), float(y[inside].mean())
        ece += n / len(p) * abs(observed - conf)
        ci = wilson(int(y[inside].sum()), n) if n >= MIN_OUTCOMES else None
        out.bins.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": n, "confidence": conf,
                         "observed": observed, "ci": [ci.low, ci.high] if ci else None,
                         "enough": n >= MIN_PER_BIN})
    out.ece = float(ece)
    worst = max((b for b in out.bins if b["enough"]), key=lambda b: abs(b["observed"] - b["confidence"]),
                default=None)
    if worst is not None and abs(worst["observed"] - worst["confidence"]) >= 0.1:
        said = (f"When it gives '{event}' a {worst['confidence']:.0%} chance, '{event}' happens {worst['observed']:.0%}"
                if event else f"When it says about {worst['confidence']:.0%} sure, it is right {worst['observed']:.0%}")
        out.summary = f"{said} of the time ({worst['n']} outcomes); off by {out.ece:.0%} on average."
    else:
        out.summary = (f"The chances it gives match what happens (off by {out.ece:.0%} on average; "
                       f"{len(p)} outcomes).")
    return out


def from_outcomes(store, since: float = 0.0, until: float = float("inf"), versions=None) -> Calibration:
    """Calibration of the outcomes whose predictions carried probabilities."""
    probs, happened, positive, kind = [], [], None, "top-label"
    for _, _, task, pred, actual, proba, classes in outcome_pairs(store, since, until, versions):
        if task != "classification" or not proba or not classes or len(proba) != len(classes):
            continue
        names = [label(c) for c in classes]
        if len(names) == 2:
            kind, positive = "binary", names[1]
            probs.append(float(proba[1]))
            happened.append(1.0 if label(actual) == names[1] else 0.0)
        else:
            probs.append(float(max(proba)))
            happened.append(1.0 if label(actual) == label(pred) else 0.0)
    out = calibration(np.array(probs), np.array(happened), event=positive)
    out.kind, out.positive = kind, positive
    return out
