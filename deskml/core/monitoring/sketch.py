"""A small mergeable histogram for quantiles (latency, predicted values) that keeps no values.

Values fall into logarithmic buckets (DDSketch's idea): bucket ``i`` holds the values
between ``gamma**(i-1)`` and ``gamma**i``, so any quantile is known to within 1 % of
its value, whatever the range, from a few hundred counts. Two sketches add up (a
minute's into an hour's) and subtract (an erased record's out of its minute), and a
sketch is plain JSON for the store. The ``ddsketch`` library does the first but
neither JSON nor subtraction, which the store needs; this is the dozen lines it takes.
"""
from __future__ import annotations

import math

GAMMA = 1.02
_LOG_GAMMA = math.log(GAMMA)
_TINY = 1e-9  # values closer to zero than this count as zero


class Sketch:
    __slots__ = ("pos", "neg", "zero")

    def __init__(self, pos=None, neg=None, zero=0):
        self.pos = pos or {}
        self.neg = neg or {}
        self.zero = zero

    @property
    def count(self) -> int:
        return self.zero + sum(self.pos.values()) + sum(self.neg.values())

    def add_many(self, values, weight: int = 1) -> None:
        """Add values (any iterable of numbers; None and NaN are skipped)."""
        import numpy as np

        arr = np.asarray([v for v in values if v is not None], dtype=float)
        arr = arr[np.isfinite(arr)]
        if not len(arr):
            return
        small = np.abs(arr) < _TINY
        self.zero += int(small.sum()) * weight
        for side, part in ((self.pos, arr[arr >= _TINY]), (self.neg, -arr[arr <= -_TINY])):
            if len(part):
                keys, counts = np.unique(np.ceil(np.log(part) / _LOG_GAMMA).astype(int), return_counts=True)
                for k, c in zip(keys.tolist(), counts.tolist()):
                    side[k] = side.get(k, 0) + c * weight

    def merge(self, other: "Sketch", sign: int = 1) -> "Sketch":
        """Add ``other`` in (``sign=-1``: take it out); returns self."""
        add_counts(self.pos, other.pos, sign)
        add_counts(self.neg, other.neg, sign)
        self.zero = max(0, self.zero + sign * other.zero)
        return self

    def quantile(self, q: float) -> float | None:
        """The value below which a share ``q`` of the values lie (within 1 %), or None when empty."""
        total = self.count
        if not total:
            return None
        rank = q * (total - 1)
        seen = 0
        for k in sorted(self.neg, reverse=True):  # most negative first
            seen += self.neg[k]
            if seen > rank:
                return -_value(k)
        seen += self.zero
        if seen > rank:
            return 0.0
        for k in sorted(self.pos):
            seen += self.pos[k]
            if seen > rank:
                return _value(k)
        return _value(max(self.pos)) if self.pos else 0.0

    def to_json(self) -> dict:
        out = {}
        if self.pos:
            out["p"] = {str(k): c for k, c in self.pos.items()}
        if self.neg:
            out["n"] = {str(k): c for k, c in self.neg.items()}
        if self.zero:
            out["z"] = self.zero
        return out

    @classmethod
    def from_json(cls, data) -> "Sketch":
        data = data or {}
        return cls({int(k): c for k, c in (data.get("p") or {}).items()},
                   {int(k): c for k, c in (data.get("n") or {}).items()}, int(data.get("z") or 0))


def add_counts(into: dict, more: dict, sign: int = 1) -> dict:
    """Counts added in (``sign=-1``: taken out); a count that falls to zero goes."""
    for k, v in more.items():
        left = into.get(k, 0) + sign * v
        if left > 0:
            into[k] = left
        else:
            into.pop(k, None)
    return into


def _value(k: int) -> float:
    """The middle of bucket k (relative error at most (gamma - 1) / 2)."""
    return 2 * GAMMA ** k / (1 + GAMMA)
