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


def check(name: str, reference, current, kind: str, alpha: float = 0.01, limit: float = DEFAULT_LIMIT) -> dict:
    """The quality figures of one column, with ``issues``: plain sentences of what is wrong."""
    from scipy.stats import binomtest

    n_ref, n_cur = len(reference), len(current)
    out = {"missing_reference": _share(reference.isna().sum(), n_ref),
           "missing_current": _share(current.isna().sum(), n_cur), "issues": []}
    present_ref, present_cur = reference.dropna(), current.dropna()

    def unusual(count: int, n: int, base: float, share_limit: float) -> bool:
        if n == 0 or count / n < min(1.0, base + share_limit):
            return False
        return binomtest(int(count), n, min(max(base, 1e-12), 1 - 1e-12), alternative="greater").pvalue < alpha

    if unusual(int(current.isna().sum()), n_cur, out["missing_reference"], limit):
        out["issues"].append(f"{name} is empty in {out['missing_current']:.0%} of rows "
                             f"({out['missing_reference']:.0%} in the reference data)")
    if kind == "number":
        import pandas as pd

        ref_num = pd.to_numeric(present_ref, errors="coerce").dropna()
        cur_num = pd.to_numeric(present_cur, errors="coerce")
        finite = cur_num[np.isfinite(cur_num)]
        out["not_finite_current"] = _share(len(cur_num) - len(finite), n_cur)
        if not ref_num.empty and len(cur_num):
            lo, hi = float(ref_num.min()), float(ref_num.max())
            outside = int(((cur_num < lo) | (cur_num > hi)).sum())
            out["out_of_range_current"] = _share(outside, len(cur_num))
            out["reference_range"] = [lo, hi]
            if unusual(outside, len(cur_num), 2 / (len(ref_num) + 1), limit / 2):
                out["issues"].append(f"{out['out_of_range_current']:.0%} of {name} values are outside the "
                                     f"reference data's range ({_short(lo)} to {_short(hi)})")
    else:
        ref_counts = present_ref.astype(str).value_counts()
        cur_str = present_cur.astype(str)
        new = cur_str[~cur_str.isin(ref_counts.index)]
        out["new_categories_current"] = _share(len(new), len(cur_str))
        out["new_values"] = new.value_counts().index[:3].tolist()
        singletons = int((ref_counts == 1).sum())
        if unusual(len(new), len(cur_str), singletons / max(len(present_ref), 1), limit / 2):
            shown = ", ".join(f"'{v}'" for v in out["new_values"])
            out["issues"].append(f"{out['new_categories_current']:.0%} of {name} values were never in the "
                                 f"reference data ({shown})")
    return out


def _share(count, n) -> float:
    return float(count) / n if n else 0.0


def _short(x: float) -> str:
    return f"{x:.4g}"
