"""The journal store on the host: the service's appended files, made queryable.

One SQLite database per model (``journal.sqlite3`` in the model's data folder) holds

* ``predictions``: one row per answered row or refused request (its time, prediction
  id, version, source, status, latency, inputs as checked, outputs);
* ``minutes`` and ``hours``: what the charts need (traffic, latency, errors by kind,
  what the model predicts), summed as each record comes in, so that raw rows can age
  out later and the history stays;
* ``gaps``: predictions answered but not recorded (a full disk), as the service said;
* ``files``: how far each appended file has been read.

**Ingest** (``ingest``) reads each file from where it stopped, up to its last whole
line, and stores the rows *and* the new offset in one transaction: a crash in the
middle rolls both back, so nothing is lost and nothing counted twice (and the
prediction id is unique, as a second guard). Several DeskML processes may ingest at
once (the app, a command): the transactions take turns. A file is deleted once
read to its end and finished (a later part of the same run exists, or that run of the
service is over).

Only DeskML on the host opens this database; the service only appends to files.
"""
from __future__ import annotations

import gc
import json
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from . import input_store, outcomes
from .sketch import Sketch, add_counts

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id       INTEGER PRIMARY KEY,
    inst     TEXT NOT NULL UNIQUE,     -- one run of the service
    version  TEXT,
    started  REAL,
    inputs   TEXT NOT NULL,            -- JSON: the input names, in the model's order
    classes  TEXT,                     -- JSON: the class labels of the probabilities
    task     TEXT,
    masked   TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS predictions (
    t        REAL NOT NULL,
    inst     INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    version  TEXT,
    source   TEXT,
    status   INTEGER NOT NULL,
    ms       REAL,
    inputs   TEXT,                     -- JSON array, as instances.inputs (null where not stored)
    masked   TEXT,                     -- JSON array of bins, as instances.masked
    pred     TEXT,                     -- JSON value (a list for several outputs)
    proba    TEXT,                     -- JSON array, as instances.classes
    error    TEXT                      -- JSON {message, input, row} for a refused request
);
CREATE UNIQUE INDEX IF NOT EXISTS predictions_id ON predictions (inst, seq);
CREATE INDEX IF NOT EXISTS predictions_t ON predictions (t);
CREATE TABLE IF NOT EXISTS minutes (
    bucket   INTEGER NOT NULL,         -- minutes since 1970 (UTC)
    version  TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,   -- answered requests (a CSV chunk counts as one)
    rows     INTEGER NOT NULL DEFAULT 0,   -- answered rows (predictions)
    errors   TEXT NOT NULL DEFAULT '{}',   -- JSON {status: count} of refused requests
    latency  TEXT NOT NULL DEFAULT '{}',   -- sketch of the latency (ms) of single answers
    outputs  TEXT NOT NULL DEFAULT '{}',   -- JSON {"classes": {label: n}} or {"values": sketch}
    sources  TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (bucket, version)
);
CREATE TABLE IF NOT EXISTS hours (
    bucket   INTEGER NOT NULL,         -- hours since 1970 (UTC)
    version  TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    rows     INTEGER NOT NULL DEFAULT 0,
    errors   TEXT NOT NULL DEFAULT '{}',
    latency  TEXT NOT NULL DEFAULT '{}',
    outputs  TEXT NOT NULL DEFAULT '{}',
    sources  TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (bucket, version)
);
CREATE TABLE IF NOT EXISTS gaps (
    inst     TEXT NOT NULL,
    at       REAL NOT NULL,
    n        INTEGER NOT NULL,
    t_from   REAL,
    t_to     REAL
);
CREATE TABLE IF NOT EXISTS files (
    name     TEXT PRIMARY KEY,
    offset   INTEGER NOT NULL,
    done     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS erasures (
    at       REAL NOT NULL,
    rows     INTEGER NOT NULL,
    input    TEXT                      -- which input was matched (never the value)
);
CREATE TABLE IF NOT EXISTS summarised (
    before   REAL NOT NULL             -- raw rows older than this aged out; their sums stay
);
"""

LATENCY_SOURCES = ("api", "form")   # a CSV chunk's time is not one answer's latency
READ_CHUNK = 32 << 20               # bytes read from a file per transaction

NOT_TRAFFIC = ("shadow", "check")   # variants that are not the model's traffic: shadow copies, pre-release checks


@dataclass
class IngestResult:
    rows: int = 0          # answered rows and refused requests stored
    files_done: int = 0    # files read to their end and removed
    gaps: int = 0          # predictions the service could not record


def journal_folder(model_folder: Path) -> Path:
    return Path(model_folder) / "journal"


#: one opening (making or upgrading the schema) at a time in this process: the app's pages and
#: the report open a model's store in workers of their own
_OPENING = threading.RLock()


class JournalStore:
    def __init__(self, model_folder: Path):
        self.folder = Path(model_folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "journal.sqlite3"
        self.files = journal_folder(self.folder)
        self.files.mkdir(exist_ok=True)
        with _OPENING, closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            if db.execute("PRAGMA page_count").fetchone()[0] == 0:
                db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only before the first table: files can shrink
        with _OPENING, closing(self.connect()) as db:
            db.executescript(SCHEMA)
            db.executescript(input_store.SCHEMA)
            outcomes.ensure(db)
            # later columns (an older store gets them), added under the write lock: two threads or
            # processes opening an older store at once (a page's worker and the report's) would
            # otherwise both add the same column, and the second would fail
            db.execute("BEGIN IMMEDIATE")
            known = {r[1] for r in db.execute("PRAGMA table_info(predictions)")}
            for column in ("key", "fields", "variant", "pair"):
                if column not in known:
                    db.execute(f"ALTER TABLE predictions ADD COLUMN {column} TEXT")
            db.execute("CREATE INDEX IF NOT EXISTS predictions_key ON predictions (key) WHERE key IS NOT NULL")
            db.execute("COMMIT")

    def connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        for attempt in range(50):  # going to WAL takes the whole file: another opener may hold it a moment
            try:
                db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    db.close()
                    raise
                time.sleep(0.02)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA journal_size_limit=8388608")
        return db

    # -- ingest ------------------------------------------------------------------
    def ingest(self, live: set[str] | None = frozenset(), settle: float = 5.0) -> IngestResult:
        """Read what the service appended since last time. ``live``: the runs of the service
        still writing (their newest file is kept); None when that cannot be told (then no
        newest file is deleted). ``settle``: how long a run's last file must have been still
        before it counts as finished."""
        result = IngestResult()
        names = sorted(p.name for p in self.files.glob("journal-*.jsonl"))
        newest = {}
        for name in names:
            newest[_inst_of(name)] = name  # parts sort in order: the last is the newest
        with closing(self.connect()) as db:
            for name in names:
                while True:
                    more = self._ingest_file(db, name, result)
                    if not more:
                        break
                finished = (newest[_inst_of(name)] != name
                            or (live is not None and _inst_of(name) not in live
                                and time.time() - _mtime(self.files / name) >= settle))
                if finished and self._read_to_end(db, name):
                    (self.files / name).unlink(missing_ok=True)
                    db.execute("UPDATE files SET done = 1 WHERE name = ?", (name,))
                    result.files_done += 1
        return result

    def _read_to_end(self, db, name) -> bool:
        row = db.execute("SELECT offset FROM files WHERE name = ?", (name,)).fetchone()
        try:
            size = (self.files / name).stat().st_size
        except FileNotFoundError:
            return False
        return row is not None and row[0] >= size

    def _ingest_file(self, db, name, result: IngestResult) -> bool:
        """One transaction: rows and the new offset together. True when there may be more."""
        path = self.files / name
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT offset, done FROM files WHERE name = ?", (name,)).fetchone()
            offset = row[0] if row else 0
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read(READ_CHUNK)
            except FileNotFoundError:
                db.execute("ROLLBACK")
                return False
            end = data.rfind(b"\n") + 1   # whole lines only: the last may still be being written
            if end <= 0:
                db.execute("ROLLBACK")
                return False
            paused = gc.isenabled()
            gc.disable()  # a piece's records stay alive until stored: scanning them over and over
            try:         # would cost as much as storing them (the piece is bounded by READ_CHUNK)
                self._store_lines(db, data[:end], result)
            finally:
                if paused:
                    gc.enable()
            db.execute("INSERT INTO files (name, offset) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                       "offset = excluded.offset", (name, offset + end))
            db.execute("COMMIT")
            return len(data) == READ_CHUNK
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _store_lines(self, db, data: bytes, result: IngestResult) -> None:
        instances = {}
        rows = []
        passed = []     # (key, fields, inst, seq) of rows that came with pass-through fields
        tested = []     # (variant, pair, inst, seq) of rows answered in an A/B or shadow test
        answers = []    # outcome rows, in their order
        aggregates = _Aggregates()
        pieces = input_store.Pieces()
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # never written whole by the service: nothing to keep
            kind = rec.get("k")
            if kind == "start":
                instances[rec["inst"]] = self._instance(db, rec)
                continue
            inst = rec.get("inst")
            if inst not in instances:
                instances[inst] = self._known_instance(db, inst, rec)
            iid, names, masked, task = instances[inst]
            if kind == "p":
                new = _prediction_rows(rec, iid, names, masked)
                rows.extend(new)
                variant = rec.get("var")
                shadow = variant in NOT_TRAFFIC  # a copy of live traffic, or a check: not traffic, nor its inputs
                if variant is not None:  # an A/B or shadow test (the front door told the service)
                    tested.extend((variant, rec.get("pair"), iid, rec["seq"] + i) for i in range(rec["n"]))
                if rec.get("in") and not shadow:
                    pieces.add([r[0] for r in new], rec.get("v"), rec["in"], rec["n"])
                if "keys" in rec or "fields" in rec:
                    keys = rec.get("keys") or [None] * rec["n"]
                    fields = rec.get("fields") or [None] * rec["n"]
                    passed.extend((None if k is None else str(k), None if f is None else json.dumps(f), iid,
                                   rec["seq"] + i) for i, (k, f) in enumerate(zip(keys, fields)))
                if not shadow:
                    aggregates.add_predictions(rec, task)
            elif kind == "e":
                error = {"message": rec.get("msg", "")}
                for key in ("input", "row"):
                    if rec.get(key) is not None:
                        error[key] = rec[key]
                rows.append((rec["t"], iid, rec["seq"], rec.get("v"), rec.get("src"), rec.get("st", 500),
                             rec.get("ms"), None, None, None, None, json.dumps(error)))
                if rec.get("var") is not None:
                    tested.append((rec["var"], None, iid, rec["seq"]))
                if rec.get("var") not in NOT_TRAFFIC:
                    aggregates.add_refusal(rec)
            elif kind == "o":  # outcomes told to the service: joined once the rows before are stored
                answers.append((rec.get("rows") or [], rec.get("t")))
            elif kind == "gap":
                db.execute("INSERT INTO gaps (inst, at, n, t_from, t_to) VALUES (?, ?, ?, ?, ?)",
                           (inst, rec["t"], rec["n"], rec.get("from"), rec.get("to")))
                result.gaps += rec["n"]
        if rows:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO predictions (t, inst, seq, version, source, status, ms, inputs,"
                           " masked, pred, proba, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            result.rows += db.total_changes - before
        if passed:
            db.executemany("UPDATE predictions SET key = ?, fields = ? WHERE inst = ? AND seq = ?", passed)
        if tested:
            db.executemany("UPDATE predictions SET variant = ?, pair = ? WHERE inst = ? AND seq = ?", tested)
        aggregates.save(db)
        pieces.save(db)
        for told, at in answers:
            outcomes.record(db, told, "api", at=at)

    def _instance(self, db, rec):
        db.execute("INSERT OR IGNORE INTO instances (inst, version, started, inputs, classes, task, masked) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (rec["inst"], rec.get("version"), rec.get("t"), json.dumps(rec.get("inputs") or []),
                    json.dumps(rec.get("classes")), rec.get("task"), json.dumps(rec.get("masked") or [])))
        return self._known_instance(db, rec["inst"], rec)

    def _known_instance(self, db, inst, rec):
        row = db.execute("SELECT id, inputs, masked, task FROM instances WHERE inst = ?", (inst,)).fetchone()
        if row is None:  # its first file is gone before it was read (should not happen): learn from the record
            names = sorted((rec.get("in") or {}).keys())
            db.execute("INSERT INTO instances (inst, version, inputs, classes, masked) VALUES (?, ?, ?, ?, ?)",
                       (inst, rec.get("v"), json.dumps(names), "null", json.dumps(sorted(rec.get("mask") or {}))))
            row = db.execute("SELECT id, inputs, masked, task FROM instances WHERE inst = ?", (inst,)).fetchone()
        return row[0], json.loads(row[1]), json.loads(row[2]), row[3]

    # -- keeping the disk bounded --------------------------------------------------------
    def enforce(self, max_bytes: int, raw_days: float, minute_days: float = 400, now: float | None = None) -> dict:
        """Keep the journal within its limits. Raw rows older than ``raw_days`` go; then, while
        every file together is over ``max_bytes``, the oldest raw rows go, then the oldest minute
        sums (hour sums last). Their sums were made when they came in, so the history stays:
        nothing is dropped unsummarised. Returns what was removed."""
        now = time.time() if now is None else now
        removed = {"rows": 0, "minutes": 0, "hours": 0}
        with closing(self.connect()) as db:
            removed["rows"] += self._delete_rows(db, "t < ?", (now - raw_days * 86400,))
            input_store.delete_before(db, now - raw_days * 86400)
            removed["minutes"] += db.execute("DELETE FROM minutes WHERE bucket < ?",
                                             (int((now - minute_days * 86400) // 60),)).rowcount
            self._compact(db)
            for table, key in (("predictions", "t"), ("minutes", "bucket"), ("hours", "bucket")):
                while self.size_bytes() > max_bytes:
                    count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    if not count:
                        break
                    oldest = f"rowid IN (SELECT rowid FROM {table} ORDER BY {key} LIMIT ?)"
                    step = (max(1, count // 5),)
                    if table == "predictions":
                        removed["rows"] += self._delete_rows(db, oldest, step)
                    else:
                        removed[table] += db.execute(f"DELETE FROM {table} WHERE {oldest}", step).rowcount
                    self._compact(db)
        return removed

    def _delete_rows(self, db, where: str, args: tuple) -> int:
        newest = db.execute(f"SELECT max(t) FROM predictions WHERE {where}", args).fetchone()[0]
        if newest is None:
            return 0
        n = db.execute(f"DELETE FROM predictions WHERE {where}", args).rowcount
        db.execute("INSERT INTO summarised (before) VALUES (?)", (newest,))
        input_store.delete_before(db, float(np.nextafter(newest, np.inf)))
        return n

    def _compact(self, db) -> None:
        """Give freed pages back to the disk, and empty the write-ahead log."""
        if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # a store made without it: once, in full
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("VACUUM")
        db.executescript("PRAGMA incremental_vacuum;")  # a page per step: executescript steps to the end
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def summarised_before(self) -> float | None:
        """Raw rows older than this aged out (their minute and hour sums stay)."""
        with closing(self.connect()) as db:
            return db.execute("SELECT max(before) FROM summarised").fetchone()[0]

    # -- erasing a person's records (GDPR Art. 17) -----------------------------------------
    def erase(self, value: str, input_name: str | None = None) -> int:
        """Delete every record whose inputs hold ``value`` (in ``input_name``, or in any input or
        pass-through field), with the real outcomes told for them; take them out of the minute
        and hour sums, and leave no copy in the database's files. The erasure is logged
        without the value. Read the appended files first (``ingest``)."""
        candidates = [value]
        try:
            number = float(value)
            candidates.append(number)
        except ValueError:
            pass
        with closing(self.connect()) as db:
            db.execute("PRAGMA secure_delete = ON")  # freed space is overwritten, not left readable
            marks = ",".join("?" * len(candidates))
            texts = sorted({str(c) if not isinstance(c, float) else input_store._text(c) for c in candidates})
            found = db.execute(
                "SELECT p.rowid, p.t, p.version, p.source, p.ms, p.pred, p.inputs, i.inputs, i.task, i.inst, p.seq "
                "FROM predictions p JOIN instances i ON i.id = p.inst WHERE (p.inputs IS NOT NULL AND EXISTS "
                f"(SELECT 1 FROM json_each(p.inputs) WHERE json_each.value IN ({marks})))"
                # pass-through fields given with a prediction (a key, a store) may hold it too
                f" OR p.key IN ({','.join('?' * len(texts))}) OR (p.fields IS NOT NULL AND EXISTS "
                f"(SELECT 1 FROM json_each(p.fields) WHERE json_each.value IN ({marks})))",
                [*candidates, *texts, *candidates]).fetchall()
            # a refused request keeps no inputs, but its reason may quote the value it refused
            quoted = db.execute(
                "SELECT rowid, t, version, status, error FROM predictions WHERE error IS NOT NULL AND instr(error, ?) > 0",
                (json.dumps(str(value))[1:-1],)).fetchall()
            doomed, sums, records, ids = [], _Aggregates(), set(), []
            for rowid, t, version, source, ms, pred, inputs, names, task, inst, seq in found:
                if input_name is not None:
                    names = json.loads(names)
                    if (inputs is None or input_name not in names
                            or json.loads(inputs)[names.index(input_name)] not in candidates):
                        continue
                doomed.append(rowid)
                ids.append(f"{inst}-{seq}")
                first = (inst, t) not in records  # the rows of one request share its run and time
                records.add((inst, t))
                sums.add_predictions({"n": 1, "t": t, "v": version, "src": source,
                                      "ms": ms if first else None, "pred": [json.loads(pred)] if pred else []}, task)
                if not first:
                    sums.uncount_request(t, version)
            for rowid, t, version, status, error in quoted:
                if input_name is not None and json.loads(error).get("input") != input_name:
                    continue
                doomed.append(rowid)
                sums.add_refusal({"t": t, "v": version, "st": status})
            db.execute("BEGIN IMMEDIATE")
            for i in range(0, len(doomed), 500):
                chunk = doomed[i:i + 500]
                db.execute(f"DELETE FROM predictions WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)
            sums.save(db, sign=-1)
            outcomes.forget(db, ids, texts)
            input_store.rewrite_days(db, {int(t // 86400) for _, t, *_ in found})
            input_store.forget_label(db, texts, input_name)
            db.execute("INSERT INTO erasures (at, rows, input) VALUES (?, ?, ?)", (time.time(), len(doomed), input_name))
            db.execute("COMMIT")
            db.execute("VACUUM")  # rewrite the file: no page keeps an old copy
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(doomed)

    def erasures(self) -> list[dict]:
        with closing(self.connect()) as db:
            return [{"at": at, "rows": n, "input": inp} for at, n, inp in
                    db.execute("SELECT at, rows, input FROM erasures ORDER BY at")]

    # -- what the app and the commands ask ----------------------------------------------
    def gaps(self, since: float = 0.0) -> list[dict]:
        with closing(self.connect()) as db:
            return [{"n": n, "from": a, "to": b, "at": at} for n, a, b, at in
                    db.execute("SELECT n, t_from, t_to, at FROM gaps WHERE at >= ? ORDER BY at", (since,))]

    def count(self, since: float = 0.0) -> int:
        with closing(self.connect()) as db:
            return db.execute("SELECT count(*) FROM predictions WHERE t >= ?", (since,)).fetchone()[0]

    def ids(self) -> set[str]:
        """Every prediction id in the store (for checks: each one a client was given is here)."""
        with closing(self.connect()) as db:
            return {f"{inst}-{seq}" for inst, seq in
                    db.execute("SELECT i.inst, p.seq FROM predictions p JOIN instances i ON i.id = p.inst")}

    def size_bytes(self) -> int:
        """Every file of the journal: the database with its side files, and the appended files."""
        total = 0
        for path in [self.path, self.path.with_name(self.path.name + "-wal"),
                     self.path.with_name(self.path.name + "-shm"), *self.files.iterdir()]:
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total


def _inst_of(name: str) -> str:
    return name[len("journal-"):].rsplit("-", 1)[0]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _prediction_rows(rec, iid, names, masked):
    """The rows of one 'p' record, ready for the predictions table."""
    n = rec["n"]
    cols = rec.get("in") or {}
    mask = rec.get("mask") or {}
    dumps = orjson.dumps
    t, seq, v, src, ms = rec["t"], rec["seq"], rec.get("v"), rec.get("src"), rec.get("ms")
    preds = rec.get("pred") or [None] * n
    probas = rec.get("proba")
    if n == 1:  # one request, one row: the usual record, kept short
        get = cols.get
        inputs = dumps([(c[0] if c is not None else None) for c in map(get, names)]).decode() if cols else None
        masks = dumps([(mask.get(name) or [None])[0] for name in masked]).decode() if masked and mask else None
        return [(t, iid, seq, v, src, 200, ms, inputs, masks, dumps(preds[0]).decode(),
                 dumps(probas[0]).decode() if probas is not None else None, None)]
    columns = [cols.get(name) for name in names]
    if columns and any(c is not None for c in columns):
        filled = [c if c is not None else [None] * n for c in columns]
        inputs = [dumps(list(values)).decode() for values in zip(*filled)]
    else:
        inputs = [None] * n
    if masked and mask:
        bins = [mask.get(name) or [None] * n for name in masked]
        masks = [dumps(list(b)).decode() for b in zip(*bins)]
    else:
        masks = [None] * n
    preds = [dumps(p).decode() for p in preds]
    probas = [dumps(p).decode() for p in probas] if probas is not None else [None] * n
    if "reqs" in rec:  # the requests of one batch: a time and a latency each, for each of its rows
        ts, mss = [], []
        for t_i, ms_i, n_i in zip(t, ms, rec["reqs"]):
            ts.extend([t_i] * n_i)
            mss.extend([ms_i] * n_i)
        return [(ts[i], iid, seq + i, v, src, 200, mss[i], inputs[i], masks[i], preds[i], probas[i], None)
                for i in range(n)]
    return [(t, iid, seq + i, v, src, 200, ms, inputs[i], masks[i], preds[i], probas[i], None) for i in range(n)]


class _Aggregates:
    """Sums by minute and by hour, built while a batch of records is stored, then merged
    into the tables (read, add, write) in the same transaction. Records are counted into
    their minute only, with latencies and values kept as plain lists; the sketches and
    the hours are made once per batch, in :meth:`save` (the per-record cost is what
    limits how fast the host keeps up)."""

    def __init__(self):
        self.minutes = {}  # (minute, version) -> sums

    def _minute(self, t, version):
        key = (int(t // 60), version or "?")
        b = self.minutes.get(key)
        if b is None:
            b = self.minutes[key] = {"requests": 0, "rows": 0, "errors": {}, "latency": [],
                                     "classes": {}, "values": [], "sources": {}}
        return b

    def add_predictions(self, rec, task):
        if "reqs" in rec:  # the requests of one batch, each in its minute
            preds, start = rec.get("pred") or [], 0
            for t, ms, n in zip(rec["t"], rec["ms"], rec["reqs"]):
                self.add_predictions({"n": n, "t": t, "v": rec.get("v"), "src": rec.get("src"), "ms": ms,
                                      "pred": preds[start:start + n]}, task)
                start += n
            return
        n = rec["n"]
        preds = rec.get("pred")
        b = self._minute(rec["t"], rec.get("v"))
        b["requests"] += 1
        b["rows"] += n
        src = rec.get("src") or "api"
        sources = b["sources"]
        sources[src] = sources.get(src, 0) + n
        ms = rec.get("ms")
        if ms is not None and src in LATENCY_SOURCES:
            b["latency"].append(ms)
        if not preds:
            return
        if task in ("classification", "clustering", "anomaly_detection") or isinstance(preds[0], str):
            classes = b["classes"]
            for p in preds:
                if not isinstance(p, list):
                    key = str(p)
                    classes[key] = classes.get(key, 0) + 1
        elif not isinstance(preds[0], list):
            b["values"].extend(p for p in preds if isinstance(p, (int, float)) and not isinstance(p, bool))

    def uncount_request(self, t, version):
        """One request fewer in its minute (an erased row that shared its request with another)."""
        self._minute(t, version)["requests"] -= 1

    def add_refusal(self, rec):
        errors = self._minute(rec["t"], rec.get("v"))["errors"]
        key = str(rec.get("st", 500))
        errors[key] = errors.get(key, 0) + 1

    def _sums(self):
        """(table, bucket, version, sums with sketches) for each minute, then each hour."""
        hours = {}
        for (minute, version), b in self.minutes.items():
            latency, values = Sketch(), Sketch()
            latency.add_many(b["latency"])
            values.add_many(b["values"])
            sums = dict(b, latency=latency, values=values)
            yield "minutes", minute, version, sums
            h = hours.get((minute // 60, version))
            if h is None:
                h = hours[(minute // 60, version)] = {"requests": 0, "rows": 0, "errors": {}, "latency": Sketch(),
                                                      "classes": {}, "values": Sketch(), "sources": {}}
            h["requests"] += sums["requests"]
            h["rows"] += sums["rows"]
            for key in ("errors", "classes", "sources"):
                add_counts(h[key], sums[key])
            h["latency"].merge(latency)
            h["values"].merge(values)
        for (hour, version), h in hours.items():
            yield "hours", hour, version, h

    def save(self, db, sign: int = 1):
        for table, bucket, version, b in self._sums():
            row = db.execute(f"SELECT requests, rows, errors, latency, outputs, sources FROM {table} "
                             "WHERE bucket = ? AND version = ?", (bucket, version)).fetchone()
            if row is None:
                row = (0, 0, "{}", "{}", "{}", "{}")
            errors = add_counts(json.loads(row[2]), b["errors"], sign)
            latency = Sketch.from_json(json.loads(row[3])).merge(b["latency"], sign)
            outputs = json.loads(row[4])
            if b["classes"]:
                outputs["classes"] = add_counts(outputs.get("classes") or {}, b["classes"], sign)
            if b["values"].count:
                outputs["values"] = Sketch.from_json(outputs.get("values")).merge(b["values"], sign).to_json()
            sources = add_counts(json.loads(row[5]), b["sources"], sign)
            db.execute(f"INSERT INTO {table} (bucket, version, requests, rows, errors, latency, outputs, sources) "
                       "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(bucket, version) DO UPDATE SET requests = excluded.requests,"
                       " rows = excluded.rows, errors = excluded.errors, latency = excluded.latency,"
                       " outputs = excluded.outputs, sources = excluded.sources",
                       (bucket, version, max(0, row[0] + sign * b["requests"]), max(0, row[1] + sign * b["rows"]),
                        json.dumps(errors), json.dumps(latency.to_json()), json.dumps(outputs), json.dumps(sources)))
