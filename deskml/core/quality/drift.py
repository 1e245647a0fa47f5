"""Drift: are today's inputs still like the data the model learned from?

``check(reference, current, method="deskml")`` is DeskML's own verdict, honest at the tens
of rows a small business sees in a day (``method="evidently"`` reproduces Evidently's
defaults instead: ``evidently.py``). DeskML's verdict:

* **Tests whose false-alarm rate holds at any sample size.** A number: the two-sample
  Kolmogorov-Smirnov test (any change of shape) and the Mann-Whitney U test (a shift,
  the most common change, found with fewer rows), Bonferroni-combined. A category, or a
  number with at most 5 values: a chi-square test of the two samples' counts, with the
  categories whose expected count in the current data is under 5 pooled (Cochran's rule),
  so the chi-square approximation holds.
* **Many inputs at once**: Holm's correction over every input of the check, so the chance
  that a check of unchanged data says "drift" is at most ``alpha`` (1%) however many inputs.
* **A change must also matter**: at least ``MIN_EFFECT`` (a K-S distance of 0.1, or a tenth
  of the rows moved to other categories): with a million rows any difference is
  "significant".
* **Not enough data yet**: an input gets no verdict until the current window holds the rows
  a test needs to see a big change (a shift of one standard deviation, 80% of the time;
  for a category, 5 expected rows in each of two groups). The check says how many more.
* **Plain words**: "basket values are about 20% higher than in the reference data".

Data quality (empty values, new categories, numbers out of range) is reported beside
drift, not mixed into it (``data_quality.py``).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import UsageError
from . import data_quality, figures
from .evidently import add_figures, evidently_drift
from .result import ColumnDrift, DriftResult

ALPHA = 0.01          # family-wise false-alarm rate of one check
MIN_EFFECT = 0.1      # K-S D for numbers; share of rows that moved, for categories
FEW_VALUES = 5        # a number with at most this many distinct values is tested as categories
MIN_EXPECTED = 5      # Cochran: each pooled group expects at least this many current rows
DETECT_SHIFT_SD = 1.0
DETECT_POWER = 0.8
MIN_ROWS = 10
METHODS = ("deskml", "evidently")


def check(reference, current, method: str = "deskml", kinds: dict | None = None, alpha: float = ALPHA,
          quality_limit: float = data_quality.DEFAULT_LIMIT) -> DriftResult:
    """Drift of ``current`` against ``reference`` (pandas data frames). ``kinds``: "number" or
    "category" per input, from the model's schema (else taken from the values)."""
    if method == "evidently":
        result = evidently_drift(reference, current)
    elif method == "deskml":
        result = deskml_drift(reference, current, kinds, alpha, quality_limit)
    else:
        raise UsageError(f"'{method}' is not a drift method DeskML knows.", "Use --method deskml or evidently.")
    result.rows_reference, result.rows_current = len(reference), len(current)
    return result


def check_windows(reference, windows: dict, kinds: dict | None = None, alpha: float = ALPHA) -> dict:
    """DeskML's verdict on several windows at once (say today and the last 7 days, as the
    drift alert looks): ``alpha`` is split between them (Bonferroni), so the chance that
    unchanged data raises the alert through any window stays at most ``alpha``.
    {window name: DriftResult}."""
    share = alpha / max(len(windows), 1)
    return {name: check(reference, frame, "deskml", kinds, share) for name, frame in windows.items()}


def kind_of(series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "category"
    return "number"


def deskml_drift(reference, current, kinds=None, alpha=ALPHA, quality_limit=data_quality.DEFAULT_LIMIT) -> DriftResult:
    result = DriftResult(method="deskml")
    names = [c for c in current.columns if c in reference.columns]
    for c in current.columns:
        if c not in reference.columns:
            result.skipped[c] = "not in the reference data"
    if not names:
        raise UsageError("The two tables share no column.",
                         "Choose reference data with the same column names as the current data.")
    m = len(names)
    for name in names:
        kind = (kinds or {}).get(name) or kind_of(reference[name])
        ref_all, cur_all = reference[name], current[name]
        if kind == "number":
            ref_all, cur_all = _numbers(ref_all), _numbers(cur_all)
        result.quality[name] = data_quality.check(name, ref_all, cur_all, kind, alpha / m, quality_limit)
        ref, cur = _clean(ref_all), _clean(cur_all)
        if ref.empty:
            result.skipped[name] = "empty in the reference data"
            continue
        result.columns[name] = _column(name, ref, cur, kind, alpha, m)
    _holm(result, alpha)
    _summarise(result)
    return result


def _numbers(series):
    import pandas as pd

    return pd.to_numeric(series, errors="coerce")


def _clean(series):
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def needed_for_numbers(m: int, alpha: float) -> int:
    """Rows for the Mann-Whitney test to see a one-standard-deviation shift 80% of the time
    at the level one input gets (alpha over 2 tests and m inputs): normal approximation,
    with its efficiency of 3/pi against the t-test."""
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / (4 * m)) + norm.ppf(DETECT_POWER)
    return max(MIN_ROWS, math.ceil((z / DETECT_SHIFT_SD) ** 2 / (3 / math.pi)))


def _column(name, ref, cur, kind, alpha, m) -> ColumnDrift:
    numeric = kind == "number"
    few = not numeric or ref.nunique() <= FEW_VALUES
    col = ColumnDrift(name=name, kind=kind, n_reference=len(ref), n_current=len(cur), threshold=alpha)
    if not cur.empty:
        add_figures(col, ref, cur, numeric)
    if few:
        _categories_test(col, ref, cur)
    else:
        col.needed = needed_for_numbers(m, alpha)
        if len(cur) >= col.needed:
            from scipy.stats import mannwhitneyu

            col.method = "ks+mannwhitney"
            p_mw = float(mannwhitneyu(cur.to_numpy(float), ref.to_numpy(float), method="asymptotic").pvalue)
            col.statistic, col.p_value = col.ks_statistic, min(1.0, 2 * min(col.ks_p_value, p_mw))
            col.effect = col.ks_statistic
    col.change = describe(col, ref, cur)
    return col


def _categories_test(col: ColumnDrift, ref, cur) -> None:
    """Chi-square of the two samples' counts, rare categories pooled (Cochran's rule)."""
    from scipy.stats import chi2_contingency

    ref_s, cur_s = ref.astype(str), cur.astype(str)
    shares = ref_s.value_counts(normalize=True)
    top = float(shares.iloc[0])
    col.needed = MIN_ROWS if top == 1 else max(MIN_ROWS, math.ceil(MIN_EXPECTED / min(top, 1 - top)))
    n = len(cur)
    if n < col.needed:
        return
    kept = [k for k in shares.index if shares[k] * n >= MIN_EXPECTED]
    other = "\0other"
    ref_p, cur_p = ref_s.where(ref_s.isin(kept), other), cur_s.where(cur_s.isin(kept), other)
    if len(kept) >= 2 and (ref_p == other).mean() * n < MIN_EXPECTED:
        # too little left over to stand alone: it joins the rarest category kept
        ref_p, cur_p = ref_p.replace(other, kept[-1]), cur_p.replace(other, kept[-1])
    _, ref_n, cur_n = figures.counts(ref_p, cur_p)
    table = np.vstack([ref_n, cur_n])
    if table.shape[1] < 2:
        return
    stat, p, _, _ = chi2_contingency(table, correction=False)
    col.method, col.statistic, col.p_value = "chisquare", float(stat), float(p)
    _, r, c = figures.counts(ref_s, cur_s)
    col.effect = float(0.5 * np.abs(r / r.sum() - c / c.sum()).sum())


def _holm(result: DriftResult, alpha: float) -> None:
    """Holm's step-down adjustment over the inputs that were tested, then each verdict."""
    tested = sorted((c for c in result.columns.values() if c.p_value is not None), key=lambda c: c.p_value)
    m, running = len(tested), 0.0
    for i, col in enumerate(tested):
        running = max(running, min(1.0, (m - i) * col.p_value))
        col.p_value_adjusted = running
        col.drifted = running < alpha and (col.effect or 0.0) >= MIN_EFFECT
    drifted = sum(1 for c in result.columns.values() if c.drifted)
    result.drift_share = drifted / len(result.columns) if result.columns else 0.0
    result.dataset_drifted = drifted > 0
    lacking = [c.needed - c.n_current for c in result.columns.values() if c.drifted is None and c.needed]
    result.more_needed = max(lacking, default=0)


def describe(col: ColumnDrift, ref, cur) -> str:
    """The change in plain words (whether or not it is a drift: the verdict says that)."""
    if cur.empty:
        return f"no {col.name} values yet"
    if col.kind == "number" and col.method != "chisquare":
        r, c = float(np.median(ref.to_numpy(float))), float(np.median(cur.to_numpy(float)))
        if r > 0 and c >= 0:
            change = c / r - 1
            if abs(change) >= 0.05:
                return (f"{col.name} values are about {abs(change):.0%} {'higher' if change > 0 else 'lower'} "
                        f"than in the reference data (middle value {_short(c)}, was {_short(r)})")
        sd = float(np.std(ref.to_numpy(float)))
        if sd > 0 and abs(c - r) / sd >= 0.1:
            shift = (c - r) / sd
            return (f"{col.name} values are about {abs(shift):.1f} standard deviations "
                    f"{'higher' if shift > 0 else 'lower'} than in the reference data")
        spread_r = float(np.subtract(*np.percentile(ref, [75, 25])))
        spread_c = float(np.subtract(*np.percentile(cur, [75, 25])))
        if spread_r > 0 and abs(spread_c / spread_r - 1) >= 0.2:
            wider = spread_c > spread_r
            return (f"{col.name} values are spread {'more widely' if wider else 'more narrowly'} than in the "
                    f"reference data (about {abs(spread_c / spread_r - 1):.0%} {'wider' if wider else 'narrower'})")
        return f"{col.name} values are like the reference data's"
    ref_share = ref.astype(str).value_counts(normalize=True)
    cur_share = cur.astype(str).value_counts(normalize=True)
    keys = set(ref_share.index) | set(cur_share.index)
    moved = max(keys, key=lambda k: abs(cur_share.get(k, 0.0) - ref_share.get(k, 0.0)))
    was, now = ref_share.get(moved, 0.0), cur_share.get(moved, 0.0)
    if abs(now - was) < 0.05:
        return f"{col.name} is like the reference data's"
    return f"{col.name} is '{moved}' in {now:.0%} of rows, {was:.0%} in the reference data"


def _summarise(result: DriftResult) -> None:
    drifted = [c for c in result.columns.values() if c.drifted]
    if drifted:
        words = "; ".join(c.change for c in drifted[:3])
        more = f" (and {len(drifted) - 3} more inputs)" if len(drifted) > 3 else ""
        result.summary = f"The inputs have changed: {words}{more}."
    elif result.more_needed > 0:
        result.summary = f"Not enough data yet: about {result.more_needed} more predictions."
    else:
        result.summary = "The inputs are like the reference data."


def _short(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1e6 else f"{x:,.0f}"
