"""What the journal says, for the screen, the command line and the report.

``summary`` answers "how is it doing?" over a window (predictions, latency, the share
of errors, the last prediction, what could not be recorded). ``series`` gives what
the charts draw over a range: requests per bucket, latency p50/p95, errors by kind,
and what the model predicts (class shares, or a band of values). Both read the
minute and hour sums, so they stay quick with millions of predictions; ``recent``
reads the newest rows, searchable; ``export`` writes rows to CSV or Excel.

Small numbers are said as such: a share of errors or a p95 from a handful of answers
is marked ``enough=False`` (fewer than ``ENOUGH`` answers) and shown as "not enough
data yet" rather than as an alarming figure.
"""
from __future__ import annotations

import json
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field

from .sketch import Sketch
from .store import JournalStore

ENOUGH = 20  # answers before a share or a percentile is worth saying

#: the words for a refused request's status
ERROR_KINDS = {400: "unreadable request", 401: "no API key", 404: "wrong address", 405: "wrong method",
               413: "too large", 422: "invalid input", 500: "the model failed"}

RANGES = {"hour": 3600, "day": 86400, "week": 7 * 86400, "all": None}


def error_kind(status) -> str:
    return ERROR_KINDS.get(int(status), f"status {status}")


@dataclass
class Summary:
    since: float
    until: float
    predictions: int = 0          # answered rows
    requests: int = 0             # answered requests (a CSV chunk is one)
    errors: int = 0               # refused requests
    error_share: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    latency_count: int = 0
    enough: bool = False          # enough answers for the shares and percentiles to mean something
    last_prediction: float | None = None
    errors_by_kind: dict = field(default_factory=dict)
    not_recorded: int = 0         # answered, but could not be written (a full disk)
    gaps: list = field(default_factory=list)
    traffic: list = field(default_factory=list)   # [(bucket start, predictions)] for a sparkline

    def to_dict(self) -> dict:
        return asdict(self)


def _buckets(db, table: str, since: float, until: float, versions=None):
    width = 60 if table == "minutes" else 3600
    sql = (f"SELECT bucket, version, requests, rows, errors, latency, outputs FROM {table} "
           "WHERE bucket >= ? AND bucket < ?")
    args = [int(since // width), int(until // width) + 1]
    if versions:
        sql += f" AND version IN ({','.join('?' * len(versions))})"
        args += list(versions)
    return db.execute(sql + " ORDER BY bucket", args).fetchall(), width


def _table_for(since: float, until: float) -> str:
    return "minutes" if until - since <= 2 * 86400 else "hours"


def summary(store: JournalStore, since: float, until: float | None = None, traffic_points: int = 60,
            versions=None) -> Summary:
    """How it did in the window (of the given versions only, if any)."""
    until = time.time() if until is None else until
    out = Summary(since, until)
    table = _table_for(since, until)
    latency = Sketch()
    with closing(store.connect()) as db:
        rows, width = _buckets(db, table, since, until, versions)
        per_bucket = {}
        for bucket, _, requests, n, errors, lat, _ in rows:
            out.requests += requests
            out.predictions += n
            for status, count in json.loads(errors).items():
                out.errors += count
                kind = error_kind(status)
                out.errors_by_kind[kind] = out.errors_by_kind.get(kind, 0) + count
            latency.merge(Sketch.from_json(json.loads(lat)))
            per_bucket[bucket] = per_bucket.get(bucket, 0) + n
        last = db.execute("SELECT max(t) FROM predictions WHERE status = 200").fetchone()[0]
        out.last_prediction = last
        for n, a, b in db.execute("SELECT n, t_from, t_to FROM gaps WHERE t_to >= ? AND t_from <= ?",
                                  (since, until)):
            out.not_recorded += n
            out.gaps.append({"n": n, "from": a, "to": b})
    out.latency_count = latency.count
    total = out.requests + out.errors
    out.enough = total >= ENOUGH
    out.error_share = out.errors / total if total else None
    if latency.count:
        out.p50_ms = latency.quantile(0.5)
        out.p95_ms = latency.quantile(0.95)
    step = max(width, int((until - since) / traffic_points // width) * width or width)
    start = int(since // step)
    points = {}
    for bucket, n in per_bucket.items():
        key = (bucket * width) // step
        points[key] = points.get(key, 0) + n
    out.traffic = [(k * step, points.get(k, 0)) for k in range(start, int(until // step) + 1)]
    return out


@dataclass
class Series:
    """What the Monitoring tab draws, bucket by bucket (the same lists go into the report)."""
    width: int                                   # seconds per bucket
    times: list = field(default_factory=list)    # bucket starts (epoch seconds)
    requests: list = field(default_factory=list)
    predictions: list = field(default_factory=list)
    p50_ms: list = field(default_factory=list)
    p95_ms: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)   # kind -> [count per bucket]
    classes: dict = field(default_factory=dict)  # label -> [count per bucket]
    band: dict = field(default_factory=dict)     # {"p10": [...], "p50": [...], "p90": [...]}


def series(store: JournalStore, since: float, until: float | None = None, max_points: int = 240) -> Series:
    until = time.time() if until is None else until
    table = _table_for(since, until)
    with closing(store.connect()) as db:
        rows, width = _buckets(db, table, since, until)
    step = width
    while (until - since) / step > max_points:
        step *= 5 if step == 60 else 2
    step = min(step, max(width, int(until - since) or width))
    first = int(since // step)
    count = int(until // step) - first + 1
    out = Series(step, [(first + i) * step for i in range(count)], [0] * count, [0] * count)
    lat = [Sketch() for _ in range(count)]
    vals = [Sketch() for _ in range(count)]
    for bucket, _, requests, n, errors, latency, outputs in rows:
        i = (bucket * width) // step - first
        if not 0 <= i < count:
            continue
        out.requests[i] += requests
        out.predictions[i] += n
        for status, c in json.loads(errors).items():
            out.errors.setdefault(error_kind(status), [0] * count)[i] += c
        lat[i].merge(Sketch.from_json(json.loads(latency)))
        outputs = json.loads(outputs)
        for label, c in (outputs.get("classes") or {}).items():
            out.classes.setdefault(label, [0] * count)[i] += c
        if outputs.get("values"):
            vals[i].merge(Sketch.from_json(outputs["values"]))
    out.p50_ms = [s.quantile(0.5) for s in lat]
    out.p95_ms = [s.quantile(0.95) for s in lat]
    if any(v.count for v in vals):
        out.band = {q: [v.quantile(p) for v in vals] for q, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))}
    return out


def recent(store: JournalStore, limit: int = 200, search: str = "", since: float = 0.0) -> list[dict]:
    """The newest rows, newest first; ``search`` matches any input, output or message."""
    sql = ("SELECT p.t, i.inst, p.seq, p.version, p.source, p.status, p.ms, p.inputs, p.pred, p.proba, p.error,"
           " i.inputs, i.classes FROM predictions p JOIN instances i ON i.id = p.inst WHERE p.t >= ?")
    args: list = [since]
    if search:
        like = f"%{search}%"
        sql += " AND (p.inputs LIKE ? OR p.pred LIKE ? OR p.error LIKE ?)"
        args += [like, like, like]
    sql += " ORDER BY p.t DESC, p.seq DESC LIMIT ?"
    args.append(int(limit))
    with closing(store.connect()) as db:
        return [_row(r) for r in db.execute(sql, args)]


def _row(r) -> dict:
    t, inst, seq, version, source, status, ms, inputs, pred, proba, error, names, classes = r
    names = json.loads(names)
    values = json.loads(inputs) if inputs else [None] * len(names)
    row = {"id": f"{inst}-{seq}", "time": t, "version": version, "source": source, "status": status,
           "latency_ms": ms, "inputs": {n: v for n, v in zip(names, values) if v is not None}}
    if pred is not None:
        row["prediction"] = json.loads(pred)
    if proba is not None and classes:
        row["probabilities"] = dict(zip(json.loads(classes), json.loads(proba)))
    if error:
        row["error"] = json.loads(error)["message"]
    return row
