"""Drift: are today's inputs still like the data the model learned from?

``check(reference, current, method="deskml")`` is DeskML's own verdict, honest at the tens
of rows a small business sees in a day (``method="evidently"`` reproduces Evidently's
defaults instead: ``evidently.py``). DeskML's verdict:

* **Tests whose false-alarm rate holds at any sample size.** A number: the two-sample
  Kolmogorov-Smirnov test (any change of shape) and the Mann-Whitney U test (a shift,
  the most common change, found with fewer rows), Bonferroni-combined. A category, or a
  number with at most 5 values: a chi-square test of the two samples' counts, with the
  categories whose expected count in the current data is under 5 pooled (Cochran's rule),
  so the chi-square approximation holds; when two groups are left, Fisher's exact test.
* **Many inputs at once**: Holm's correction over every input of the check, so the chance
  that a check of unchanged data says "drift" is at most ``alpha`` (0.5%) however many inputs.
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
from . import columns as cols
from . import data_quality
from .evidently import evidently_drift
from .result import ColumnDrift, DriftResult

ALPHA = 0.005         # family-wise false-alarm rate of one check (or of the daily alert's two windows)
MIN_EFFECT = 0.1      # K-S D for numbers; share of rows that moved, for categories
FEW_VALUES = 5        # a number with at most this many distinct values is tested as categories
MIN_EXPECTED = 5      # Cochran: each pooled group expects at least this many current rows
DETECT_SHIFT_SD = 1.0
DETECT_POWER = 0.8
MIN_ROWS = 10
EXACT_UP_TO = 50_000  # current values compared one by one; above, on the reference's 0.1% quantiles
METHODS = ("deskml", "evidently")


def check(reference, current, method: str = "deskml", kinds: dict | None = None, alpha: float = ALPHA,
          quality_limit: float = data_quality.DEFAULT_LIMIT) -> DriftResult:
    """Drift of ``current`` against ``reference`` (pandas data frames). ``kinds``: "number" or
    "category" per input, from the model's schema (else taken from the values)."""
    if method == "evidently":
        result = evidently_drift(reference, current)
        result.rows_reference, result.rows_current = len(reference), len(current)
        return result
    if method != "deskml":
        raise UsageError(f"'{method}' is not a drift method DeskML knows.", "Use --method deskml or evidently.")
    names = [c for c in current.columns if c in reference.columns]
    if not names:
        raise UsageError("The two tables share no column.",
                         "Choose reference data with the same column names as the current data.")
    kinds = {name: (kinds or {}).get(name) or kind_of(reference[name]) for name in names}
    ref = {name: cols.from_series(reference[name], kinds[name]) for name in names}
    cur = {name: cols.from_series(current[name], kinds[name]) for name in names}
    result = compare(ref, cur, alpha, quality_limit)
    result.skipped.update({c: "not in the reference data" for c in current.columns if c not in reference.columns})
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


def compare(reference: dict, current: dict, alpha: float = ALPHA,
            quality_limit: float = data_quality.DEFAULT_LIMIT) -> DriftResult:
    """DeskML's verdict on prepared columns ({input: columns.Column}, both sides)."""
    result = DriftResult(method="deskml")
    names = [name for name in current if name in reference]
    m = max(len(names), 1)
    for name in names:
        ref, cur = reference[name], current[name]
        result.quality[name] = data_quality.check(name, ref, cur, alpha / m, quality_limit)
        if ref.n == 0:
            result.skipped[name] = "empty in the reference data"
            continue
        result.columns[name] = _column(name, ref, cur, alpha, m)
    _holm(result, alpha)
    _summarise(result)
    if names:
        result.rows_reference = max(c.n_rows for c in reference.values())
        result.rows_current = max(c.n_rows for c in current.values())
    return result


def needed_for_numbers(m: int, alpha: float) -> int:
    """Rows for the Mann-Whitney test to see a one-standard-deviation shift 80% of the time
    at the level one input gets (alpha over 2 tests and m inputs): normal approximation,
    with its efficiency of 3/pi against the t-test."""
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / (4 * m)) + norm.ppf(DETECT_POWER)
    return max(MIN_ROWS, math.ceil((z / DETECT_SHIFT_SD) ** 2 / (3 / math.pi)))


def _column(name, ref: cols.Column, cur: cols.Column, alpha, m) -> ColumnDrift:
    few = ref.kind == "category" or ref.distinct(FEW_VALUES) <= FEW_VALUES
    col = ColumnDrift(name=name, kind=ref.kind, n_reference=ref.n, n_current=cur.n, threshold=alpha)
    if cur.n:
        _figures(col, ref, cur, few)
    if few:
        _categories_test(col, ref.as_counts(), cur.as_counts())
    else:
        col.needed = needed_for_numbers(m, alpha)
        if cur.n >= col.needed:
            col.method = "ks+mannwhitney"
            p_mw = _mannwhitney(ref, cur)
            col.statistic, col.p_value = col.ks_statistic, min(1.0, 2 * min(col.ks_p_value, p_mw))
            col.effect = col.ks_statistic
    col.change = describe(col, ref, cur, few)
    return col


def _figures(col: ColumnDrift, ref: cols.Column, cur: cols.Column, few: bool) -> None:
    """K-S for numbers; chi-square of counts for categories and numbers with few values; PSI."""
    from . import figures

    if ref.kind == "number":
        col.ks_statistic, col.ks_p_value = _ks(ref, cur)
    if few:
        col.chi2_statistic, col.chi2_p_value = figures.chi2_from_counts(ref.as_counts(), cur.as_counts())
    col.psi = figures.psi_from_columns(ref, cur)


def _exact(cur: cols.Column) -> bool:
    return cur.n <= EXACT_UP_TO


def _binned(ref: cols.Column, cur: cols.Column):
    """Counts of both sides in the reference's fine quantile bins (right-closed)."""
    edges = ref.fine_edges()
    return edges, ref.counts_in(edges), cur.counts_in(edges)


def _ks(ref: cols.Column, cur: cols.Column) -> tuple[float, float]:
    if _exact(cur):
        from . import figures

        return figures.ks(ref.values, cur.values)
    from scipy.stats import kstwobign

    _, r, c = _binned(ref, cur)  # D at the bin edges: exact to about 1/1000
    d = float(np.max(np.abs(np.cumsum(r) / ref.n - np.cumsum(c) / cur.n)))
    en = ref.n * cur.n / (ref.n + cur.n)
    return d, float(kstwobign.sf(d * math.sqrt(en)))  # Kolmogorov's limit: tens of thousands of values


def _mannwhitney(ref: cols.Column, cur: cols.Column) -> float:
    from scipy.stats import mannwhitneyu, norm

    if _exact(cur):
        return float(mannwhitneyu(cur.values, ref.values, method="asymptotic").pvalue)
    # on bins: the values of a bin count as tied (a tie-corrected normal approximation)
    _, r, c = _binned(ref, cur)
    n1, n2 = float(cur.n), float(ref.n)
    below = np.concatenate([[0], np.cumsum(r)[:-1]])
    u = float(np.sum(c * (below + 0.5 * r)))
    t = (r + c).astype(float)
    total = n1 + n2
    var = n1 * n2 / 12 * ((total + 1) - np.sum(t ** 3 - t) / (total * (total - 1)))
    z = (u - n1 * n2 / 2) / math.sqrt(var) if var > 0 else 0.0
    return float(2 * norm.sf(abs(z)))


def _categories_test(col: ColumnDrift, ref: dict, cur: dict) -> None:
    """Chi-square of the two samples' counts, rare categories pooled (Cochran's rule)."""
    from scipy.stats import chi2_contingency

    ref_total, n = sum(ref.values()), sum(cur.values())
    ordered = sorted(ref, key=ref.get, reverse=True)
    top = ref[ordered[0]] / ref_total
    col.needed = MIN_ROWS if top == 1 else max(MIN_ROWS, math.ceil(MIN_EXPECTED / min(top, 1 - top)))
    if n < col.needed:
        return
    kept = [k for k in ordered if ref[k] / ref_total * n >= MIN_EXPECTED]
    rest_ref = ref_total - sum(ref[k] for k in kept)
    rest_cur = n - sum(cur.get(k, 0) for k in kept)
    ref_row = [ref[k] for k in kept]
    cur_row = [cur.get(k, 0) for k in kept]
    if len(kept) >= 2 and rest_ref / ref_total * n < MIN_EXPECTED:
        ref_row[-1] += rest_ref  # too little left over to stand alone: it joins the rarest category kept
        cur_row[-1] += rest_cur
    elif rest_ref or rest_cur:
        ref_row.append(rest_ref)
        cur_row.append(rest_cur)
    if len(ref_row) < 2:
        return
    table = np.array([ref_row, cur_row], dtype=float)
    if table.shape[1] == 2:  # two groups: Fisher's exact test (the chi-square's tail is too thin at 40 rows)
        from scipy.stats import fisher_exact

        col.method, col.statistic = "fisher", float(chi2_contingency(table, correction=False)[0])
        col.p_value = float(fisher_exact(table.astype(int)).pvalue)
    else:
        stat, p, _, _ = chi2_contingency(table, correction=False)
        col.method, col.statistic, col.p_value = "chisquare", float(stat), float(p)
    keys = set(ref) | set(cur)
    col.effect = float(0.5 * sum(abs(cur.get(k, 0) / n - ref.get(k, 0) / ref_total) for k in keys))


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


def describe(col: ColumnDrift, ref: cols.Column, cur: cols.Column, few: bool) -> str:
    """The change in plain words (whether or not it is a drift: the verdict says that)."""
    if cur.n == 0:
        return f"no {col.name} values yet"
    if not few:
        r_lo, r, r_hi = (ref.quantile(q) for q in (0.25, 0.5, 0.75))
        c_lo, c, c_hi = (cur.quantile(q) for q in (0.25, 0.5, 0.75))
        if r > 0 and c >= 0:
            change = c / r - 1
            if abs(change) >= 0.05:
                return (f"{col.name} values are about {abs(change):.0%} {'higher' if change > 0 else 'lower'} "
                        f"than in the reference data (middle value {_short(c)}, was {_short(r)})")
        sd = float(np.std(ref.values))
        if sd > 0 and abs(c - r) / sd >= 0.1:
            shift = (c - r) / sd
            return (f"{col.name} values are about {abs(shift):.1f} standard deviations "
                    f"{'higher' if shift > 0 else 'lower'} than in the reference data")
        spread_r, spread_c = r_hi - r_lo, c_hi - c_lo
        if spread_r > 0 and abs(spread_c / spread_r - 1) >= 0.2:
            wider = spread_c > spread_r
            return (f"{col.name} values are spread {'more widely' if wider else 'more narrowly'} than in the "
                    f"reference data (about {abs(spread_c / spread_r - 1):.0%} {'wider' if wider else 'narrower'})")
        return f"{col.name} values are like the reference data's"
    ref_counts, cur_counts = ref.as_counts(), cur.as_counts()
    ref_n, cur_n = sum(ref_counts.values()), sum(cur_counts.values())
    keys = set(ref_counts) | set(cur_counts)
    moved = max(sorted(keys), key=lambda k: abs(cur_counts.get(k, 0) / cur_n - ref_counts.get(k, 0) / ref_n))
    was, now = ref_counts.get(moved, 0) / ref_n, cur_counts.get(moved, 0) / cur_n
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
