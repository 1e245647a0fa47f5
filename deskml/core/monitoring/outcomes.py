"""Real outcomes: what really happened, joined to the predictions the model made.

They come in three ways: ``POST /v1/outcomes`` on the model's service (journaled like a
prediction, and read in by the store), a CSV or Excel file in the app, or
``deskml outcomes NAME FILE``. Each row names its prediction by id (``id``, as the answer
gave it) or by the user's own key (``key``, given with the prediction as a pass-through
field), and says what really happened (``actual``).

An outcome is kept with a copy of its prediction's time, version and answer, so accuracy
over time and by version stays when single predictions age out of the journal. An id or
key that matches no prediction is reported (and kept in ``outcomes_unmatched`` so the user
can see which), never silently dropped; a second outcome for the same prediction replaces
the first, and the report says so."""
from __future__ import annotations

import json
import time
from contextlib import closing
from dataclasses import dataclass, field

from ..errors import UsageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    pred_id  TEXT PRIMARY KEY,         -- the prediction's id (run-number)
    t        REAL NOT NULL,            -- when it was predicted
    version  TEXT,
    pred     TEXT,                     -- JSON: the answer
    proba    TEXT,                     -- JSON: the probabilities, in the order of classes
    classes  TEXT,                     -- JSON: the class labels
    task     TEXT,
    actual   TEXT NOT NULL,            -- JSON: what really happened
    at       REAL NOT NULL,            -- when DeskML learned it
    source   TEXT,                     -- api, file, command
    key      TEXT
);
CREATE INDEX IF NOT EXISTS outcomes_t ON outcomes (t);
CREATE TABLE IF NOT EXISTS outcomes_unmatched (
    ref      TEXT NOT NULL,            -- the id or key that matched nothing
    by       TEXT NOT NULL,            -- "id" or "key"
    actual   TEXT NOT NULL,
    at       REAL NOT NULL,
    source   TEXT
);
"""


@dataclass
class OutcomeReport:
    received: int = 0
    matched: int = 0
    replaced: int = 0                                # predictions that already had an outcome
    unknown: list = field(default_factory=list)      # ids or keys that match no prediction
    ambiguous: list = field(default_factory=list)    # keys that name several predictions (the newest is used)
    invalid: list = field(default_factory=list)      # (row number, why)

    def words(self) -> str:
        parts = [f"{self.matched} of {self.received} outcomes joined to their predictions"]
        if self.replaced:
            parts.append(f"{self.replaced} replaced an earlier outcome for the same prediction")
        if self.unknown:
            shown = ", ".join(str(u) for u in self.unknown[:5]) + (" …" if len(self.unknown) > 5 else "")
            parts.append(f"{len(self.unknown)} matched no prediction ({shown})")
        if self.ambiguous:
            parts.append(f"{len(self.ambiguous)} keys named several predictions (the newest was used)")
        if self.invalid:
            row, why = self.invalid[0]
            parts.append(f"{len(self.invalid)} rows were not read (row {row}: {why})")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict:
        return {"received": self.received, "matched": self.matched, "replaced": self.replaced,
                "unknown": self.unknown, "ambiguous": self.ambiguous,
                "invalid": [{"row": r, "why": w} for r, w in self.invalid]}


def ensure(db) -> None:
    db.executescript(SCHEMA)


def record(db, rows: list[dict], source: str, at: float | None = None) -> OutcomeReport:
    """Join outcome rows ({"id" or "key", "actual"}) to predictions and keep them, in the
    caller's transaction. Rows that cannot be read are reported with their number."""
    at = time.time() if at is None else at
    report = OutcomeReport(received=len(rows))
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "actual" not in row or not ("id" in row or "key" in row):
            report.invalid.append((number, 'each outcome needs "actual" and an "id" or a "key"'))
            continue
        actual = row["actual"]
        if actual is None or (isinstance(actual, float) and actual != actual) or isinstance(actual, (list, dict)):
            report.invalid.append((number, "the actual value is empty or not a single value"))
            continue
        by, ref = ("id", str(row["id"])) if row.get("id") not in (None, "") else ("key", str(row["key"]))
        found = _find(db, by, ref)
        if len(found) > 1:
            report.ambiguous.append(ref)
        if not found:
            report.unknown.append(ref)
            db.execute("INSERT INTO outcomes_unmatched (ref, by, actual, at, source) VALUES (?, ?, ?, ?, ?)",
                       (ref, by, json.dumps(actual), at, source))
            continue
        pred_id, t, version, pred, proba, classes, task, key = found[0]
        before = db.execute("SELECT 1 FROM outcomes WHERE pred_id = ?", (pred_id,)).fetchone()
        db.execute("INSERT OR REPLACE INTO outcomes (pred_id, t, version, pred, proba, classes, task, actual, at, "
                   "source, key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (pred_id, t, version, pred, proba, classes, task, json.dumps(actual), at, source, key))
        report.matched += 1
        report.replaced += before is not None
    return report


def _find(db, by: str, ref: str) -> list[tuple]:
    """The predictions an id or a key names, newest first."""
    select = ("SELECT i.inst || '-' || p.seq, p.t, p.version, p.pred, p.proba, i.classes, i.task, p.key "
              "FROM predictions p JOIN instances i ON i.id = p.inst ")
    if by == "id":
        inst, _, seq = ref.rpartition("-")
        if not inst or not seq.isdigit():
            return []
        return db.execute(select + "WHERE i.inst = ? AND p.seq = ? AND p.status = 200", (inst, int(seq))).fetchall()
    # a shadow answer shares its key with the live one: the outcome belongs to the live one
    # (the A/B result finds the shadow answer through their pair id)
    return db.execute(select + "WHERE p.key = ? AND p.status = 200 AND (p.variant IS NULL OR p.variant NOT IN ('shadow', 'check')) "
                      "ORDER BY p.t DESC", (ref,)).fetchall()


def read_file(path) -> list[dict]:
    """Outcome rows from a CSV or Excel file: an ``id`` or ``key`` column, and ``actual``."""
    from ..reference import read_table

    frame = read_table(path)
    lower = {c.lower(): c for c in frame.columns}
    ref = lower.get("id") or lower.get("prediction_id") or lower.get("key")
    actual = lower.get("actual") or lower.get("outcome")
    if ref is None or actual is None:
        raise UsageError(f"The file has no '{'actual' if ref else 'id'}' column.",
                         "Give one row per outcome, with a column 'id' (the prediction id) or 'key' (your own "
                         "key), and a column 'actual' (what really happened).")
    by = "key" if ref == lower.get("key") else "id"
    rows = []
    for ref_value, value in zip(frame[ref].tolist(), frame[actual].tolist()):
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and value == value and value.is_integer():
            value = int(value)
        rows.append({by: None if ref_value != ref_value else ref_value, "actual": value})
    return rows


def add_from_file(store, path, source: str = "file") -> OutcomeReport:
    rows = read_file(path)
    with closing(store.connect()) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            report = record(db, rows, source)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return report


def forget(db, pred_ids: list[str], values: list[str]) -> None:
    """An erasure: the outcomes of erased predictions go, and any outcome whose key or id is
    the erased value."""
    for i in range(0, len(pred_ids), 500):
        chunk = pred_ids[i:i + 500]
        db.execute(f"DELETE FROM outcomes WHERE pred_id IN ({','.join('?' * len(chunk))})", chunk)
    if values:
        marks = ",".join("?" * len(values))
        db.execute(f"DELETE FROM outcomes WHERE key IN ({marks})", values)
        db.execute(f"DELETE FROM outcomes_unmatched WHERE ref IN ({marks})", values)


def unmatched(store, limit: int = 100) -> list[dict]:
    with closing(store.connect()) as db:
        return [{"ref": r, "by": b, "actual": json.loads(a), "at": at} for r, b, a, at in
                db.execute("SELECT ref, by, actual, at FROM outcomes_unmatched ORDER BY at DESC LIMIT ?", (limit,))]
