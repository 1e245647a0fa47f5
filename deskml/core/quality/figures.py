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
    return chi2_from_counts(dict(reference.value_counts()), dict(current.value_counts()))


def psi(reference, current, numeric: bool) -> float:
    """Population stability index. Numbers: bins (-inf, e1], (e1, e2], …, (ek, +inf) with
    e = the reference's deciles (``numpy.quantile`` at 0.1 … 0.9), repeated edges dropped;
    categories: one bin per value seen on either side. A share of exactly 0 becomes 1e-4,
    and the shares are not renormalised."""
    if numeric:
        ref = np.asarray(reference, dtype=float)
        cur = np.asarray(current, dtype=float)
        edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
        ref_share = _shares(np.searchsorted(edges, ref, side="left"), len(edges) + 1)
        cur_share = _shares(np.searchsorted(edges, cur, side="left"), len(edges) + 1)
    else:
        _, ref_n, cur_n = counts(reference, current)
        ref_share, cur_share = ref_n / len(reference), cur_n / len(current)
    return _psi(ref_share, cur_share)


def chi2_from_counts(reference: dict, current: dict) -> tuple[float, float]:
    """``chi2_counts`` on counts ({value: rows}) rather than raw values."""
    from scipy.stats import chisquare

    keys = list(set(reference) | set(current))
    ref = np.array([reference.get(k, 0) for k in keys], dtype=float)
    cur = np.array([current.get(k, 0) for k in keys], dtype=float)
    expected = ref * (cur.sum() / ref.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        result = chisquare(cur, expected)
    return float(result.statistic), float(result.pvalue)


def psi_from_columns(reference, current) -> float:
    """``psi`` on prepared columns (``columns.Column``): the same bins and rules."""
    if reference.kind == "number":  # the same deciles, counted by lookups in the sorted values
        edges = np.unique(np.quantile(reference.values, np.arange(1, 10) / 10))
        return _psi(reference.counts_in(edges) / max(reference.n, 1), current.counts_in(edges) / max(current.n, 1))
    keys = list(set(reference.counts) | set(current.counts))
    ref_share = np.array([reference.counts.get(k, 0) for k in keys], float) / max(reference.n, 1)
    cur_share = np.array([current.counts.get(k, 0) for k in keys], float) / max(current.n, 1)
    return _psi(ref_share, cur_share)


def _shares(bins: np.ndarray, n_bins: int) -> np.ndarray:
    return np.bincount(bins, minlength=n_bins) / max(len(bins), 1)


def _psi(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    ref_share = np.where(ref_share == 0, PSI_EMPTY_SHARE, ref_share)
    cur_share = np.where(cur_share == 0, PSI_EMPTY_SHARE, cur_share)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
