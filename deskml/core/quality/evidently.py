"""Evidently's default data drift (``DataDriftPreset()`` with no options, evidently 0.7),
reproduced column by column for people who know it: ``deskml drift --method evidently``.

Its rules, as evidently 0.7.23 applies them (``tests/test_drift_evidently.py`` runs
evidently itself on generated data and checks every statistic to 1e-6 and every verdict):

* **Column types**, from the *current* data: float → number; integer → category when it
  has at most 10 distinct values, else number; text → "text" when more than half of its
  values are distinct, else category; bool and pandas categories → category; dates and
  anything else are left out.
* **Cleaning**: infinite values become missing, and missing values are dropped, on each
  side; an empty side is an error (evidently stops there too).
* **Method**, from the number of non-missing reference values and the number of distinct
  values on both sides together:

  ============  ==================================  ==================================
  reference      number                              category
  ============  ==================================  ==================================
  ≤ 1,000 rows   K-S (> 5 values), chi-square        chi-square (> 2 values), z-test
                 (3–5 values), z-test (≤ 2 values)   (≤ 2 values)
  > 1,000 rows   Wasserstein distance / std          Jensen-Shannon distance
                 (> 5 values), Jensen-Shannon (≤ 5)
  ============  ==================================  ==================================

* **Thresholds**: K-S p ≤ 0.05; chi-square and z p < 0.05; Wasserstein (divided by the
  reference's standard deviation, at least 0.001) ≥ 0.1; Jensen-Shannon (natural log,
  over the share of each value) ≥ 0.1.
* **The data set drifts** when at least half of the columns drift.

Text columns get Evidently's text-content drift, which trains a classifier: DeskML does
not reproduce it, and leaves such a column out with that reason (``skipped``).
"""
from __future__ import annotations

import numpy as np

from ..errors import UsageError
from . import figures
from .result import ColumnDrift, DriftResult

INTEGER_CARDINALITY_LIMIT = 10
SMALL_REFERENCE = 1000
DRIFT_SHARE = 0.5
THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1}


def column_type(series) -> str | None:
    """Evidently's type for a column: "number", "category", "text", or None (left out)."""
    name = series.dtype.name
    if name.startswith("float"):
        return "number"
    if name.startswith("int"):
        return "category" if series.nunique() <= INTEGER_CARDINALITY_LIMIT else "number"
    if name in ("string", "str", "object"):
        present = series.dropna()
        if name == "object" and (present.empty or not (isinstance(present.iloc[0], str)
                                                      and isinstance(present.iloc[-1], str))):
            return None
        return "text" if series.nunique() > series.count() * 0.5 else "category"
    if name in ("bool", "category"):
        return "category"
    return None


def choose_method(reference, current, kind: str) -> str:
    distinct = len(set(reference.unique()) | set(current.unique()))
    if len(reference) <= SMALL_REFERENCE:
        if kind == "number" and distinct > 5:
            return "ks"
        return "chisquare" if distinct > 2 else "z"
    if kind == "number" and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def clean(series):
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def z_test(reference, current) -> tuple[float, float]:
    """Two-proportion z-test of "not the first value" (values sorted): (|z|, p-value)."""
    from scipy.stats import norm

    if reference.nunique() == 1 and current.nunique() == 1 and reference.unique()[0] == current.unique()[0]:
        return 0.0, 1.0
    first = min(set(reference.unique()) | set(current.unique()))
    n1, n2 = len(reference), len(current)
    p1 = float((reference != first).sum()) / n1
    p2 = float((current != first).sum()) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(abs(z)), float(2 * (1 - norm.cdf(np.abs(z))))


def jensenshannon(reference, current) -> float:
    """Jensen-Shannon distance (natural log) between the shares of each value."""
    from scipy.spatial import distance

    _, ref, cur = figures.counts(reference, current)
    return float(distance.jensenshannon(ref / len(reference), cur / len(current)))


def wasserstein(reference, current) -> float:
    from scipy.stats import wasserstein_distance

    ref = np.asarray(reference, dtype=float)
    return float(wasserstein_distance(ref, np.asarray(current, dtype=float)) / max(float(np.std(ref)), 0.001))


def column_drift(name: str, reference, current, kind: str) -> ColumnDrift:
    ref, cur = clean(reference), clean(current)
    if ref.empty or cur.empty:
        side = "reference" if ref.empty else "current"
        raise UsageError(f"The column '{name}' has no values in the {side} data.",
                         "Evidently stops at an empty column too: leave the column out, or choose data with values.")
    numeric = kind == "number"
    if numeric and not (_is_numeric(ref) and _is_numeric(cur)):
        raise UsageError(f"The column '{name}' holds numbers in one file and text in the other.",
                         "Choose files whose columns hold the same kind of values.")
    method = choose_method(ref, cur, kind)
    col = ColumnDrift(name=name, kind=kind, method=method, threshold=THRESHOLDS[method],
                      n_reference=len(ref), n_current=len(cur))
    add_figures(col, ref, cur, numeric)  # K-S and chi-square once: the verdict reuses them
    if method == "ks":
        col.statistic, col.p_value = col.ks_statistic, col.ks_p_value
        col.drifted = col.p_value <= col.threshold
    elif method == "chisquare":
        col.statistic, col.p_value = col.chi2_statistic, col.chi2_p_value
        col.drifted = col.p_value < col.threshold
    elif method == "z":
        col.statistic, col.p_value = z_test(ref, cur)
        col.drifted = bool(col.p_value < col.threshold)  # a NaN p (one value everywhere) is no drift
    else:
        col.distance = wasserstein(ref, cur) if method == "wasserstein" else jensenshannon(ref, cur)
        col.statistic = col.distance
        col.drifted = col.distance >= col.threshold
    col.drifted = bool(col.drifted)
    return col


def add_figures(col: ColumnDrift, ref, cur, numeric: bool) -> None:
    """The scipy figures reported beside any verdict: K-S for numbers; chi-square for
    categories and for numbers with at most 5 distinct values; PSI for all."""
    if numeric:
        col.ks_statistic, col.ks_p_value = figures.ks(ref, cur)
    if not numeric or len(set(ref.unique()) | set(cur.unique())) <= 5:
        col.chi2_statistic, col.chi2_p_value = figures.chi2_counts(ref, cur)
    col.psi = figures.psi(ref, cur, numeric)


def _is_numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series)


def evidently_drift(reference, current) -> DriftResult:
    """Evidently's default data drift of ``current`` against ``reference`` (data frames)."""
    missing = [c for c in current.columns if c not in reference.columns]
    if missing:
        raise UsageError(f"The reference data has no column '{missing[0]}'.",
                         "Choose reference data with the same columns as the current data.")
    result = DriftResult(method="evidently")
    for name in current.columns:
        kind = column_type(current[name])
        if kind is None:
            result.skipped[name] = "not a number or a category (left out, as Evidently does)"
        elif kind == "text":
            result.skipped[name] = ("text: Evidently's text drift trains a classifier, which DeskML does not "
                                    "reproduce")
        else:
            result.columns[name] = column_drift(name, reference[name], current[name], kind)
    drifted = sum(c.drifted for c in result.columns.values())
    result.drift_share = drifted / len(result.columns) if result.columns else 0.0
    result.dataset_drifted = bool(result.columns) and result.drift_share >= DRIFT_SHARE
    return result
