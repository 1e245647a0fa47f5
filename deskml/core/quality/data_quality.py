"""Data quality, watched apart from drift: empty values, categories the reference data never
had, and numbers outside its range. Evidently drops missing values before it tests, so a
column that is 60% empty is "no drift" there; here it is a finding of its own.

A finding needs both a share above the user's limit and more than chance: a one-sided
binomial test against what the reference data itself would give (its own share of empty
values; for new categories the Good-Turing estimate, the share of values seen once in the
reference; for numbers out of range 2 / (reference rows + 1), the chance that one more
value from the same data falls outside the range it spans)."""
from __future__ import annotations

import numpy as np

DEFAULT_LIMIT = 0.1   # a share this much above the reference's is worth saying


def check(name: str, ref, cur, alpha: float = 0.01, limit: float = DEFAULT_LIMIT) -> dict:
    """The quality figures of one input (prepared ``columns.Column`` on both sides), with
    ``issues``: plain sentences of what is wrong."""
    out = {"missing_reference": _share(ref.n_missing, ref.n_rows),
           "missing_current": _share(cur.n_missing, cur.n_rows), "issues": []}
    if _unusual(cur.n_missing, cur.n_rows, out["missing_reference"], limit, alpha):
        out["issues"].append(f"{name} is empty in {out['missing_current']:.0%} of rows "
                             f"({out['missing_reference']:.0%} in the reference data)")
    if ref.kind == "number":
        out["not_finite_current"] = _share(cur.n_not_finite, cur.n_rows)
        if ref.n and cur.n + cur.n_not_finite:
            lo, hi = float(ref.values.min()), float(ref.values.max())
            values = cur.values
            outside = int(np.count_nonzero((values < lo) | (values > hi))) + cur.n_not_finite
            seen = cur.n + cur.n_not_finite
            out["out_of_range_current"] = _share(outside, seen)
            out["reference_range"] = [lo, hi]
            if _unusual(outside, seen, 2 / (ref.n + 1), limit / 2, alpha):
                out["issues"].append(f"{out['out_of_range_current']:.0%} of {name} values are outside the "
                                     f"reference data's range ({lo:.4g} to {hi:.4g})")
    else:
        new = {k: v for k, v in cur.counts.items() if k not in ref.counts}
        new_rows = sum(new.values())
        out["new_categories_current"] = _share(new_rows, cur.n)
        out["new_values"] = sorted(new, key=new.get, reverse=True)[:3]
        singletons = sum(1 for v in ref.counts.values() if v == 1)
        if _unusual(new_rows, cur.n, singletons / max(ref.n, 1), limit / 2, alpha):
            shown = ", ".join(f"'{v}'" for v in out["new_values"])
            out["issues"].append(f"{out['new_categories_current']:.0%} of {name} values were never in the "
                                 f"reference data ({shown})")
    return out


def _unusual(count: int, n: int, base: float, share_limit: float, alpha: float) -> bool:
    """More than ``share_limit`` above ``base``, and more than chance would give."""
    from scipy.stats import binomtest

    if n == 0 or count / n < min(1.0, base + share_limit):
        return False
    return binomtest(int(count), n, min(max(base, 1e-12), 1 - 1e-12), alternative="greater").pvalue < alpha


def _share(count, n) -> float:
    return float(count) / n if n else 0.0
