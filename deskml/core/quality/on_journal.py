"""Drift on the journal: today's (or this week's, or this version's) inputs against the
reference data kept with the version, or against a past window of the journal.

The kinds come from the model's schema (``ModelInfo.inputs``): numbers, categories; free
text and inputs of unknown kind are left out, with the reason."""
from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ..monitoring import input_store
from . import columns as cols
from .drift import ALPHA, compare
from .result import DriftResult

WINDOWS = ("today", "week", "version")
WINDOW_WORDS = {"today": "today", "week": "the last 7 days", "version": "since this version went live"}


@dataclass
class Span:
    since: float
    until: float
    words: str


def window_span(window: str, now: float | None = None, version_since: float | None = None) -> Span:
    """The times a window covers: "today" (since local midnight), "week" (the last 7 days),
    "version" (since the version's first answer)."""
    now = time.time() if now is None else now
    if window == "today":
        midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
        return Span(midnight.timestamp(), now + 1, WINDOW_WORDS["today"])
    if window == "week":
        return Span((datetime.fromtimestamp(now) - timedelta(days=7)).timestamp(), now + 1, WINDOW_WORDS["week"])
    if window == "version":
        return Span(version_since or 0.0, now + 1, WINDOW_WORDS["version"])
    raise ValueError(f"unknown window {window!r}")


def kinds_of(inputs: list[dict]) -> tuple[dict, dict]:
    """({input: "number" | "category"}, {input: why it is left out}) from the model's schema."""
    kinds, skipped = {}, {}
    for item in inputs:
        kind = item.get("kind")
        if kind in ("number", "category"):
            kinds[item["name"]] = kind
        else:
            skipped[item["name"]] = "free text: not compared" if kind == "text" else "its kind is not known"
    return kinds, skipped


def reference_columns(frame, kinds: dict) -> dict:
    """The reference data (a table) as prepared columns: made once per version and kept."""
    return {name: cols.from_series(frame[name], kind) for name, kind in kinds.items() if name in frame.columns}


def window_columns(db, kinds: dict, since: float, until: float, versions=None) -> tuple[dict, int]:
    """({input: prepared column}, rows) for the journal's answered rows in the window."""
    window = input_store.load(db, since, until, versions, names=set(kinds))
    out = {}
    for name, kind in kinds.items():
        if name in window.numbers:
            values = window.numbers[name]
            out[name] = (cols.from_numbers(values) if kind == "number"
                         else _numbers_as_categories(values))
        elif name in window.codes:
            codes, labels = window.codes[name], window.labels[name]
            out[name] = (cols.from_codes(codes, labels) if kind == "category"
                         else cols.from_numbers(_labels_as_numbers(codes, labels)))
        elif window.rows:
            out[name] = cols.from_numbers(np.full(window.rows, np.nan)) if kind == "number" else \
                cols.from_codes(np.full(window.rows, -1, np.int32), [])
    return out, window.rows


def _numbers_as_categories(values: np.ndarray) -> cols.Column:
    present = values[~np.isnan(values)]
    uniques, counts = np.unique(present, return_counts=True)
    return cols.Column("category", len(values), n_missing=len(values) - len(present),
                       counts={cols._text(u): int(c) for u, c in zip(uniques, counts)})


def _labels_as_numbers(codes: np.ndarray, labels: list[str]) -> np.ndarray:
    table = np.array([_as_float(label) for label in labels] + [np.nan])
    return table[np.where(codes >= 0, codes, len(labels))]


def _as_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def journal_drift(store, inputs: list[dict], reference: dict | None, window: str = "today",
                  now: float | None = None, versions=None, version_since: float | None = None,
                  baseline: tuple[float, float] | None = None, alpha: float = ALPHA) -> DriftResult:
    """DeskML's verdict on a window of the journal. ``reference``: the prepared reference
    columns (``reference_columns``); or ``baseline``: a past window (since, until) of the
    journal to compare with instead."""
    kinds, skipped = kinds_of(inputs)
    span = window_span(window, now, version_since)
    with closing(store.connect()) as db:
        current, rows = window_columns(db, kinds, span.since, span.until, versions)
        if baseline is not None:
            reference, _ = window_columns(db, kinds, baseline[0], baseline[1], versions)
    reference = reference or {}
    result = compare(reference, current, alpha) if current and reference else DriftResult(method="deskml")
    result.skipped.update(skipped)
    for name in kinds:
        if name not in reference:
            result.skipped[name] = "not in the reference data"
    result.rows_current = rows
    if not rows:
        result.summary = f"No predictions {span.words} yet."
    return result
