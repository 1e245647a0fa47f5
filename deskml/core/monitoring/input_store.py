"""The journal's inputs kept column by column, for drift over any window in a second.

The ``predictions`` table keeps each row's inputs as JSON, which is right for reading one
row and slow for a million: parsing them costs seconds. So while the journal is read in
(``JournalStore.ingest``, in the same transaction), the answered rows' inputs are also
appended here, as arrays:

* ``input_chunks``: one row per piece of ingested records of one day and one version:
  the rows' times, and per input either numbers (float64, NaN where missing) or codes
  (int32, -1 where missing) into ``input_labels``. Pieces of a day are merged once there
  are many, so a window of a year is a few hundred reads.
* ``input_labels``: each input's category labels and their codes (at most
  ``MAX_LABELS`` per input; more distinct values, free text, share one label).

It is a copy of what the ``predictions`` table holds, and follows it: rows aged out or
erased go from here too (an erased day is written again from the rows that remain).
Masked inputs never reach either table.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS input_chunks (
    id       INTEGER PRIMARY KEY,
    day      INTEGER NOT NULL,         -- days since 1970 (UTC)
    version  TEXT NOT NULL,
    t_min    REAL NOT NULL,
    t_max    REAL NOT NULL,
    n        INTEGER NOT NULL,
    data     BLOB NOT NULL             -- times and inputs, column by column (input_store.py)
);
CREATE INDEX IF NOT EXISTS input_chunks_t ON input_chunks (t_max);
CREATE INDEX IF NOT EXISTS input_chunks_day ON input_chunks (day, version);
CREATE TABLE IF NOT EXISTS input_labels (
    input    TEXT NOT NULL,
    label    TEXT NOT NULL,
    code     INTEGER NOT NULL,
    PRIMARY KEY (input, label)
);
"""

MAX_LABELS = 5000          # distinct values kept per input; the rest share OTHER
OTHER = "(other values)"
MERGE_AT = 24              # pieces of one day and version before they are merged
NUMBER, CODE = "f8", "i4"


@dataclass
class Window:
    """The inputs of the rows in a window: times, and per input numbers or codes."""
    t: np.ndarray
    numbers: dict = field(default_factory=dict)    # input -> float64 array (NaN: missing)
    codes: dict = field(default_factory=dict)      # input -> int32 array (-1: missing)
    labels: dict = field(default_factory=dict)     # input -> [label of code 0, 1, …]

    @property
    def rows(self) -> int:
        return len(self.t)


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Labels:
    """Each input's category codes, read and extended inside the caller's transaction."""

    def __init__(self, db):
        self.db = db
        self.codes: dict[str, dict[str, int]] = {}

    def of(self, name: str) -> dict[str, int]:
        known = self.codes.get(name)
        if known is None:
            known = self.codes[name] = dict(
                self.db.execute("SELECT label, code FROM input_labels WHERE input = ?", (name,)).fetchall())
        return known

    def code(self, name: str, label: str) -> int:
        known = self.of(name)
        code = known.get(label)
        if code is None:
            if len(known) >= MAX_LABELS - 1 and label != OTHER:
                label = OTHER
                code = known.get(label)
            if code is None:
                code = max(known.values(), default=-1) + 1  # an erased label leaves a gap: never reuse it
                self.db.execute("INSERT INTO input_labels (input, label, code) VALUES (?, ?, ?)", (name, label, code))
                known[label] = code
        return code


class Pieces:
    """The inputs of records being stored, gathered per (day, version, inputs), then written
    as chunks. This runs for every record the host reads in: a record becomes one tuple of
    its values, and the columns are made by one transposition per piece in :meth:`save`
    (the caller pauses Python's garbage collector meanwhile: it would scan the kept tuples
    again and again)."""

    def __init__(self):
        self.parts: dict[tuple, dict] = {}

    def add(self, ts: list[float], version: str | None, columns: dict, n: int) -> None:
        """``n`` rows at times ``ts`` (one per row), ``columns``: {input: [values]} (absent: not stored)."""
        day = int(ts[0] // 86400)
        if n > 1 and int(ts[-1] // 86400) != day:
            for day, start, end in _day_runs(ts):
                self.add(ts[start:end], version, {k: v[start:end] for k, v in columns.items()}, end - start)
            return
        key = (day, version or "?", tuple(columns))
        part = self.parts.get(key)
        if part is None:
            part = self.parts[key] = {"t": [], "rows": []}
        if n == 1:
            part["t"].append(ts[0])
            part["rows"].append(tuple([v[0] for v in columns.values()]))
        else:
            part["t"].extend(ts)
            part["rows"].extend(zip(*columns.values()))

    def save(self, db) -> None:
        labels = Labels(db)
        for (day, version, names), part in self.parts.items():
            t = np.asarray(part["t"], dtype=float)
            columns = zip(*part["rows"]) if names else ()
            arrays = {name: _array(name, list(values), labels) for name, values in zip(names, columns)}
            write_chunk(db, day, version, t, arrays)
            merge_if_many(db, day, version)


def _day_runs(ts: list[float]):
    """(day, start, end) for each run of rows within one UTC day."""
    start, n = 0, len(ts)
    while start < n:
        day = int(ts[start] // 86400)
        end = start + 1
        while end < n and int(ts[end] // 86400) == day:
            end += 1
        yield day, start, end
        start = end


def _array(name: str, values: list, labels: Labels) -> np.ndarray:
    """Numbers as float64 (None: NaN), anything else as codes of its text (None: -1)."""
    first = next((v for v in values if v is not None), None)
    if _is_number(first):
        try:
            return np.array(values, dtype=np.float64)  # numpy reads None as NaN
        except (TypeError, ValueError):
            pass  # text among the numbers: all of them are labels
    import pandas as pd

    found, uniques = pd.factorize(pd.Series(values, dtype=object))  # C speed; None is -1
    table = np.array([labels.code(name, u if type(u) is str else _text(u)) for u in uniques] + [-1], np.int32)
    return table[found]  # -1 indexes the trailing -1: missing stays missing


def encode(t: np.ndarray, arrays: dict) -> bytes:
    header = json.dumps({"n": len(t), "cols": [[name, a.dtype.str[1:]] for name, a in arrays.items()]}).encode()
    parts = [struct.pack("<I", len(header)), header, t.astype("<f8").tobytes()]
    parts += [a.astype("<" + a.dtype.str[1:]).tobytes() for a in arrays.values()]
    return b"".join(parts)


def decode(blob: bytes) -> tuple[np.ndarray, dict]:
    (size,) = struct.unpack_from("<I", blob)
    header = json.loads(blob[4:4 + size])
    n, offset = header["n"], 4 + size
    t = np.frombuffer(blob, "<f8", n, offset)
    offset += 8 * n
    arrays = {}
    for name, kind in header["cols"]:
        dtype = np.dtype("<" + kind)
        arrays[name] = np.frombuffer(blob, dtype, n, offset)
        offset += dtype.itemsize * n
    return t, arrays


def write_chunk(db, day: int, version: str, t: np.ndarray, arrays: dict) -> None:
    if len(t):
        db.execute("INSERT INTO input_chunks (day, version, t_min, t_max, n, data) VALUES (?, ?, ?, ?, ?, ?)",
                   (day, version, float(t.min()), float(t.max()), len(t), encode(t, arrays)))


def merge_if_many(db, day: int, version: str, at: int = MERGE_AT) -> None:
    rows = db.execute("SELECT id, data FROM input_chunks WHERE day = ? AND version = ? ORDER BY id",
                      (day, version)).fetchall()
    if len(rows) < at:
        return
    t, arrays = _concat([decode(blob) for _, blob in rows], Labels(db))
    db.execute(f"DELETE FROM input_chunks WHERE id IN ({','.join('?' * len(rows))})", [r[0] for r in rows])
    write_chunk(db, day, version, t, arrays)


def _concat(pieces: list[tuple[np.ndarray, dict]], labels: Labels) -> tuple[np.ndarray, dict]:
    """Pieces as one. An input absent from a piece is missing there; an input that is
    numbers in one piece and labels in another becomes labels (a number's text)."""
    t = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0)
    coded = {name for _, arrays in pieces for name, a in arrays.items() if a.dtype.kind != "f"}
    names = dict.fromkeys(name for _, arrays in pieces for name in arrays)
    out = {}
    for name in names:
        filled = []
        for pt, arrays in pieces:
            a = arrays.get(name)
            if a is None:
                a = np.full(len(pt), -1, np.int32) if name in coded else np.full(len(pt), np.nan)
            elif name in coded and a.dtype.kind == "f":
                a = np.array([-1 if np.isnan(v) else labels.code(name, _text(float(v))) for v in a], np.int32)
            filled.append(a)
        out[name] = np.concatenate(filled)
    return t, out


def delete_before(db, t: float) -> None:
    """The rows older than ``t`` go (they aged out of the predictions table): whole chunks,
    and the older part of a chunk that spans ``t``."""
    db.execute("DELETE FROM input_chunks WHERE t_max < ?", (t,))
    for cid, day, version, blob in db.execute("SELECT id, day, version, data FROM input_chunks "
                                              "WHERE t_min < ? AND t_max >= ?", (t, t)).fetchall():
        times, arrays = decode(blob)
        keep = times >= t
        db.execute("DELETE FROM input_chunks WHERE id = ?", (cid,))
        write_chunk(db, day, version, times[keep], {k: a[keep] for k, a in arrays.items()})


def forget_label(db, labels: list[str], input_name: str | None = None) -> None:
    """An erased value is no input's label any more (its code stays unused)."""
    marks = ",".join("?" * len(labels))
    if input_name is None:
        db.execute(f"DELETE FROM input_labels WHERE label IN ({marks})", labels)
    else:
        db.execute(f"DELETE FROM input_labels WHERE input = ? AND label IN ({marks})", [input_name, *labels])


def rewrite_days(db, days: set[int]) -> None:
    """Write the chunks of these days again from the rows the predictions table still holds
    (after an erasure)."""
    for day in days:
        db.execute("DELETE FROM input_chunks WHERE day = ?", (day,))
        pieces = Pieces()
        rows = db.execute(
            "SELECT p.t, p.version, p.inputs, i.inputs, i.masked FROM predictions p JOIN instances i ON i.id = p.inst "
            "WHERE p.t >= ? AND p.t < ? AND p.status = 200 AND p.inputs IS NOT NULL ORDER BY p.t",
            (day * 86400, (day + 1) * 86400)).fetchall()
        for t, version, values, names, masked in rows:
            names, hidden = json.loads(names), set(json.loads(masked))
            pieces.add([t], version, {name: [v] for name, v in zip(names, json.loads(values)) if name not in hidden}, 1)
        pieces.save(db)


def load(db, since: float, until: float, versions=None, names=None) -> Window:
    """The inputs of the answered rows with ``since <= t < until`` (of ``versions``, if given)."""
    sql = "SELECT data FROM input_chunks WHERE t_max >= ? AND t_min < ?"
    args: list = [since, until]
    if versions:
        sql += f" AND version IN ({','.join('?' * len(versions))})"
        args += list(versions)
    ts, per_name = [], {}
    for (blob,) in db.execute(sql + " ORDER BY t_min", args):
        t, arrays = decode(blob)
        keep = (t >= since) & (t < until)
        if not keep.all():
            t = t[keep]
            arrays = {k: a[keep] for k, a in arrays.items()}
        if not len(t):
            continue
        offset = sum(len(x) for x in ts)
        ts.append(t)
        for name, a in arrays.items():
            if names is not None and name not in names:
                continue
            per_name.setdefault(name, []).append((offset, a))
    t = np.concatenate(ts) if ts else np.zeros(0)
    window = Window(t=t)
    labels = {}
    for name, parts in per_name.items():
        if any(a.dtype.kind != "f" for _, a in parts):
            if name not in labels:
                labels[name] = _labels(db, name)
            codes = np.full(len(t), -1, np.int32)
            for offset, a in parts:
                if a.dtype.kind == "f":  # numbers among labels: their text is their label
                    a = np.array([-1 if np.isnan(v) else _label_code(labels[name], _text(float(v))) for v in a],
                                 np.int32)
                codes[offset:offset + len(a)] = a
            window.codes[name] = codes
            window.labels[name] = labels[name]
        else:
            numbers = np.full(len(t), np.nan)
            for offset, a in parts:
                numbers[offset:offset + len(a)] = a
            window.numbers[name] = numbers
    return window


def _labels(db, name: str) -> list[str]:
    rows = db.execute("SELECT label, code FROM input_labels WHERE input = ? ORDER BY code", (name,)).fetchall()
    out = [""] * (rows[-1][1] + 1 if rows else 0)
    for label, code in rows:
        out[code] = label
    return out


def _label_code(labels: list[str], label: str) -> int:
    try:
        return labels.index(label)
    except ValueError:
        labels.append(label)
        return len(labels) - 1
