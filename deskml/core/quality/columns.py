"""One input's values, made ready for comparing: numbers as a sorted array of the finite
values, categories as counts, with what was missing or not finite counted apart.

The same shape comes from a table's column (``from_series``) or from the journal's
column store (``from_numbers``, ``from_codes``), so a check over a million journaled rows
never builds Python objects per row. The reference side is prepared once and reused
(the app keeps it while a version's reference data is unchanged)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FINE_BINS = 1000   # large samples are compared on the reference's 0.1% quantiles


@dataclass
class Column:
    kind: str                          # "number" or "category"
    n_rows: int                        # every row, missing ones included
    n_missing: int = 0
    n_not_finite: int = 0
    values: np.ndarray | None = None   # numbers: the finite values, sorted
    counts: dict = field(default_factory=dict)   # categories: value (text) -> rows
    _fine_edges: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Values compared (missing and non-finite ones left out)."""
        return len(self.values) if self.kind == "number" else sum(self.counts.values())

    def distinct(self, limit: int) -> int:
        """The number of distinct values, counted up to ``limit + 1`` (enough to tell "few")."""
        if self.kind == "category":
            return len(self.counts)
        v = self.values
        if len(v) == 0:
            return 0
        return int(min(limit + 1, np.count_nonzero(np.diff(v)) + 1))

    def as_counts(self) -> dict:
        """Categories' counts; for a number with few values, the count of each value."""
        if self.kind == "category":
            return self.counts
        uniques, counts = np.unique(self.values, return_counts=True)
        return {_text(u): int(c) for u, c in zip(uniques, counts)}

    def fine_edges(self) -> np.ndarray:
        """Inner edges of about FINE_BINS bins of equal reference share (for large samples)."""
        if self._fine_edges is None:
            q = np.quantile(self.values, np.arange(1, FINE_BINS) / FINE_BINS)
            self._fine_edges = np.unique(q)
        return self._fine_edges

    def counts_in(self, edges: np.ndarray) -> np.ndarray:
        """The values counted in the right-closed bins (-inf, e1], (e1, e2], …, (ek, +inf):
        the edges looked up in the sorted values, so a million values cost k lookups."""
        at_or_below = np.searchsorted(self.values, edges, side="right")
        return np.diff(np.concatenate([[0], at_or_below, [len(self.values)]]))

    def quantile(self, q: float) -> float:
        """numpy's default (linear) quantile, read off the sorted values."""
        v = self.values
        if len(v) == 0:
            return float("nan")
        h = (len(v) - 1) * q
        lo = int(np.floor(h))
        hi = min(lo + 1, len(v) - 1)
        return float(v[lo] + (h - lo) * (v[hi] - v[lo]))


def _text(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def from_series(series, kind: str) -> Column:
    import pandas as pd

    n_rows = len(series)
    if kind == "number":
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return from_numbers(numbers, n_rows)
    present = series.dropna()
    counts = present.astype(str).value_counts()
    return Column("category", n_rows, n_missing=n_rows - len(present),
                  counts={str(k): int(v) for k, v in counts.items()})


def from_numbers(numbers: np.ndarray, n_rows: int | None = None) -> Column:
    """Numbers with NaN where a value is missing (or was not a number). Sorting a million
    values costs about 20 ms; every figure after that is a lookup."""
    numbers = np.asarray(numbers, dtype=float)
    missing = np.isnan(numbers)
    finite = np.isfinite(numbers)
    return Column("number", len(numbers) if n_rows is None else n_rows, n_missing=int(missing.sum()),
                  n_not_finite=int((~finite & ~missing).sum()), values=np.sort(numbers[finite]))


def from_codes(codes: np.ndarray, labels: list[str]) -> Column:
    """Categories as integer codes into ``labels`` (-1: missing)."""
    codes = np.asarray(codes)
    present = codes[codes >= 0]
    counted = np.bincount(present, minlength=len(labels)) if len(present) else np.zeros(len(labels), int)
    counts = {labels[i]: int(c) for i, c in enumerate(counted) if c}
    return Column("category", len(codes), n_missing=int(len(codes) - len(present)), counts=counts)
