"""What a drift check says, for the command line (``--json``, docs/drift.md), the app and
the alert rules: a verdict per column and for the data set, with the figures behind it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

#: the fields of a column in the JSON output, in order (docs/drift.md)
JSON_FIELDS = ("method", "statistic", "p_value", "distance", "drifted", "ks_statistic", "ks_p_value",
               "chi2_statistic", "chi2_p_value", "psi")


@dataclass
class ColumnDrift:
    name: str
    kind: str                        # "number" or "category"
    method: str | None = None        # the test or distance the verdict comes from
    statistic: float | None = None   # K-S D, chi-square, |z| or the distance
    p_value: float | None = None     # for tests
    distance: float | None = None    # for distances
    threshold: float | None = None
    drifted: bool | None = None      # None: not decided (not enough data)
    ks_statistic: float | None = None
    ks_p_value: float | None = None
    chi2_statistic: float | None = None
    chi2_p_value: float | None = None
    psi: float | None = None
    n_reference: int = 0             # values compared (missing ones left out)
    n_current: int = 0
    # DeskML's method only
    p_value_adjusted: float | None = None   # Holm's, over every column of the check
    needed: int | None = None                # current values this column needs for a verdict
    change: str = ""                         # the change in plain words
    effect: float | None = None              # how big the change is (K-S D, or the share that moved)


@dataclass
class DriftResult:
    method: str                              # "deskml" or "evidently"
    columns: dict[str, ColumnDrift] = field(default_factory=dict)
    dataset_drifted: bool = False
    drift_share: float = 0.0
    skipped: dict[str, str] = field(default_factory=dict)   # column -> why it was left out
    rows_reference: int = 0
    rows_current: int = 0
    more_needed: int = 0                     # DeskML: predictions still needed before every input has a verdict
    quality: dict = field(default_factory=dict)   # column -> data quality (data_quality.check)
    summary: str = ""                        # one plain sentence

    @property
    def drifted_columns(self) -> list[str]:
        return [name for name, c in self.columns.items() if c.drifted]


def _number(x):
    if x is None:
        return None
    if isinstance(x, bool):
        return x
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def to_json(result: DriftResult) -> dict:
    """The documented JSON shape (docs/drift.md). Infinite values are the string "inf"."""
    columns = {}
    for name, col in result.columns.items():
        out = {key: _number(getattr(col, key)) if key not in ("method", "drifted") else getattr(col, key)
               for key in JSON_FIELDS}
        out["n_reference"], out["n_current"] = col.n_reference, col.n_current
        if result.method == "deskml":
            out.update(p_value_adjusted=_number(col.p_value_adjusted), effect=_number(col.effect),
                       needed=col.needed, change=col.change)
        columns[name] = out
    doc = {"method": result.method, "dataset_drifted": result.dataset_drifted,
           "drift_share": _number(result.drift_share), "columns": columns}
    if result.skipped:
        doc["skipped"] = dict(result.skipped)
    if result.method == "deskml":
        doc.update(more_needed=result.more_needed, summary=result.summary,
                   quality={name: {k: _number(v) if isinstance(v, float) else v for k, v in q.items()}
                            for name, q in result.quality.items()})
    return doc
