"""The statistics both drift methods report beside their verdict: Kolmogorov-Smirnov,
chi-square on counts and the population stability index (PSI), from scipy and numpy.

A column here is a pandas Series with missing and infinite values already taken out."""
from __future__ import annotations

import numpy as np

PSI_EMPTY_SHARE = 1e-4   # a bin share of exactly 0 becomes this (no renormalisation)


def counts(reference, current) -> tuple[list, np.ndarray, np.ndarray]:
    """(keys, reference counts, current counts) over the values seen on either side."""
    ref_counts = reference.value_counts()
    cur_counts = current.value_counts()
    keys = list(set(ref_counts.index) | set(cur_counts.index))
    ref = np.array([ref_counts.get(k, 0) for k in keys], dtype=float)
    cur = np.array([cur_counts.get(k, 0) for k in keys], dtype=float)
    return keys, ref, cur


def ks(reference, current) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov: (D, p-value), scipy's default method."""
    from scipy.stats import ks_2samp

    result = ks_2samp(np.asarray(reference, dtype=float), np.asarray(current, dtype=float))
    return float(result.statistic), float(result.pvalue)


def chi2_counts(reference, current) -> tuple[float, float]:
    """Chi-square of the current counts against the reference counts scaled to the current
    size (Evidently's ``chisquare`` test): (statistic, p-value). A value never seen in the
    reference gives an infinite statistic and p = 0."""
    from scipy.stats import chisquare

    _, ref, cur = counts(reference, current)
    expected = ref * (len(current) / len(reference))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = chisquare(cur, expected)
    return float(result.statistic), float(result.pvalue)


def psi(reference, current, numeric: bool) -> float:
    """Population stability index. Numbers: bins (-inf, e1], (e1, e2], …, (ek, +inf) with
    e = the reference's deciles (``numpy.quantile`` at 0.1 … 0.9), repeated edges dropped;
    categories: one bin per value seen on either side. A share of exactly 0 becomes 1e-4,
    and the shares are not renormalised."""
    if numeric:
        ref = np.asarray(reference, dtype=float)
        cur = np.asarray(current, dtype=float)
        edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
        ref_share = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1) / len(ref)
        cur_share = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1) / len(cur)
    else:
        _, ref_n, cur_n = counts(reference, current)
        ref_share, cur_share = ref_n / len(reference), cur_n / len(current)
    ref_share = np.where(ref_share == 0, PSI_EMPTY_SHARE, ref_share)
    cur_share = np.where(cur_share == 0, PSI_EMPTY_SHARE, cur_share)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
