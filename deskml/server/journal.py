"""The prediction journal, as the service writes it: append-only files the host reads.

Every answer (and every refused request) of the prediction routes becomes one line
of JSON, written with one ``write`` to a file opened for appending, *before* the
answer is sent: what a client was told is on the disk (at least in the operating
system's hands) even if the process is killed a moment later. The service never
opens a database and never locks a file, so the folder may be shared into a VM
(Docker Desktop, Podman machines); DeskML on the host turns the files into its
store (``deskml.core.monitoring``). The line format is part of the contract
between host and service (``contract.JOURNAL_FORMAT``):

``{"k": "start", "j", "inst", "t", "model", "version", "inputs": [names], "classes", "task", "masked", "pid"}``
    first line of each file: who writes it
``{"k": "p", "inst", "seq", "n", "t", "v", "src", "ms", "st": 200, "in": {name: [values]},
  "mask": {name: [bins]}, "pred": [...], "proba": [[...]]}``
    ``n`` answered rows (one request, or a chunk of a CSV), columns as checked; their
    prediction ids are ``inst-seq`` … ``inst-(seq+n-1)``. Since format 2, the requests
    answered together by one pass through the model may share one record: then ``t`` and
    ``ms`` are lists, one per request, and ``reqs`` lists each request's number of rows
    (serialising the batch once costs less than a record per request). Pass-through fields
    given with the request (never to the model) come as ``keys`` and ``fields``, one per row.
    Behind the front door in a test (``router.py``), ``var`` is the variant ("a"/"b" in a
    split, "live"/"shadow" in a shadow test) and ``pair`` the id both answers to one
    request share in a shadow test
``{"k": "e", "inst", "seq", "n": 1, "t", "v", "src", "ms", "st", "msg", "input", "row"}``
    a refused request (a client's mistake, or the model failing)
``{"k": "o", "inst", "t", "rows": [{"id" or "key", "actual"}]}``
    real outcomes told to the service (``POST /v1/outcomes``), for the host to join
``{"k": "gap", "inst", "t", "n", "from", "to"}``
    ``n`` predictions were answered between ``from`` and ``to`` but could not be written
    (a full disk): the service kept answering and says so as soon as it can write again

Masked inputs (personal data the user chose never to store) are not written: only
a bin of each value (numbers, against edges the host chose) or its place among the
model's known choices, enough for drift statistics and no more.

``DESKML_JOURNAL`` (or ``--journal``) is a folder, ``-`` for standard output (for
Kubernetes' log collectors), or ``off``.
"""
import os
import random
import sys
import time
from bisect import bisect_right
from collections import namedtuple

from .contract import JOURNAL_FORMAT, JOURNAL_ROTATE_BYTES
from .jsonio import dumps, loads

SOURCES = frozenset({"api", "csv", "form", "batch"})
FULL = (28, 122, 27, 5)  # ENOSPC, EDQUOT, EFBIG, EIO: the disk cannot take more


def new_instance():
    """A name for this run of the service, unique across restarts, versions and replicas,
    and sortable by start time: 11 hex digits of milliseconds, then 5 random ones."""
    return "%011x%05x" % (int(time.time() * 1000), random.SystemRandom().getrandbits(20))


#: what the journal keeps of an answered request until its batch is written
Answered = namedtuple("Answered", "first n t source ms cols preds proba extra", defaults=(None,))


class Journal:
    def __init__(self, where, model, version, inputs, classes=None, config=None, task=None):
        self.where = where
        self.model = model
        self.version = str(version)
        self.inst = new_instance()
        self.seq = 0
        self.part = 0
        self.fd = None
        self.size = 0
        self.inputs = list(inputs)
        self.classes = classes
        self.task = task
        config = config or {}
        self.masked = {name: spec for name, spec in (config.get("mask") or {}).items() if name in self.inputs}
        self.missed = 0            # rows answered but not written since the last successful write
        self.missed_total = 0
        self.missed_from = None
        self.missed_to = None
        self.written = 0
        self.busy = 0.0            # seconds spent journaling (making lines, writing): its cost, measured

    @classmethod
    def open(cls, where, model, version, inputs, classes=None, task=None):
        """The journal the service was told to keep (None for 'off'), with the host's
        config (masked inputs) from ``config.json`` in the folder."""
        if not where or where == "off":
            return None
        config = None
        if where != "-":
            try:
                with open(os.path.join(where, "config.json"), "rb") as f:
                    config = loads(f.read())
            except OSError:
                config = None
        return cls(where, model, version, inputs, classes, config, task)

    # -- ids -------------------------------------------------------------------
    def take(self, n):
        """The sequence number of the first of ``n`` new prediction ids."""
        first = self.seq
        self.seq += n
        return first

    def ids(self, first, n):
        inst = self.inst
        return ["%s-%d" % (inst, first + i) for i in range(n)]

    # -- lines -----------------------------------------------------------------
    def predictions(self, first, n, t, source, ms, cols, preds, proba, extra=None):
        """The line for ``n`` answered rows: their inputs as checked, their outputs."""
        t0 = time.perf_counter()
        line = self._line(first, n, t, source, ms, cols, preds, proba, extra)
        self.busy += time.perf_counter() - t0
        return line

    def _line(self, first, n, t, source, ms, cols, preds, proba, extra=None):
        rec = {"k": "p", "inst": self.inst, "seq": first, "n": n, "t": t, "v": self.version, "src": source,
               "ms": round(ms, 4), "st": 200}
        self._inputs(rec, cols)
        rec["pred"] = preds
        if proba is not None:
            rec["proba"] = proba
        if extra:
            rec.update(extra)  # pass-through fields: "keys" and "fields", one per row
        return dumps(rec) + b"\n"

    def batch(self, kept, merged=None, preds=None, proba=None):
        """The lines of a batch: what ``finish`` returned for each of its requests (an
        :data:`Answered`, or a refusal's line). Answered requests that came one after
        another from the same source, with their columns merged into ``merged`` (plain
        lists) and their outputs into ``preds``/``proba``, make one record."""
        t0 = time.perf_counter()
        try:
            return self._batch(kept, merged, preds, proba)
        finally:
            self.busy += time.perf_counter() - t0

    def _batch(self, kept, merged, preds, proba):
        if (merged is not None and len(kept) > 1 and all(type(k) is Answered and k.extra is None for k in kept)
                and len({k.source for k in kept}) == 1
                and all(b.first == a.first + a.n for a, b in zip(kept, kept[1:]))
                and all(type(v) is list for v in merged.values())):
            first = kept[0]
            rec = {"k": "p", "inst": self.inst, "seq": first.first, "n": len(preds), "t": [k.t for k in kept],
                   "v": self.version, "src": first.source, "ms": [round(k.ms, 4) for k in kept],
                   "reqs": [k.n for k in kept], "st": 200}
            self._inputs(rec, merged)
            rec["pred"] = preds
            if proba is not None:
                rec["proba"] = proba
            return dumps(rec) + b"\n"
        return b"".join(k if type(k) is bytes else self._line(*k) for k in kept)

    def outcomes(self, t, rows):
        """The line for outcomes told to the service: the host joins them to their predictions."""
        return dumps({"k": "o", "inst": self.inst, "t": t, "rows": rows}) + b"\n"

    def _inputs(self, rec, cols):
        """The inputs as checked into ``rec``; masked ones only as their bins."""
        if self.masked:
            rec["in"] = {k: v for k, v in cols.items() if k not in self.masked}
            mask = {k: self._bins(k, cols[k]) for k in self.masked if k in cols}
            if mask:
                rec["mask"] = mask
        else:
            rec["in"] = cols

    def refused(self, t, source, ms, status, message, input_name=None, row=None, variant=None):
        t0 = time.perf_counter()
        first = self.take(1)
        if input_name is not None and input_name in self.masked:  # the message may quote the value
            message = f"'{input_name}' was refused (the value is not recorded: this input is never stored)"
        rec = {"k": "e", "inst": self.inst, "seq": first, "n": 1, "t": t, "v": self.version, "src": source,
               "ms": round(ms, 4), "st": status, "msg": message[:500]}
        if input_name is not None:
            rec["input"] = input_name
        if row is not None:
            rec["row"] = row
        if variant:
            rec["var"] = variant.decode("latin-1")[:16]
        line = dumps(rec) + b"\n"
        self.busy += time.perf_counter() - t0
        return line

    def _bins(self, name, values):
        """A masked input as drift statistics only: the bin of each number, the place of each
        choice among the model's known ones (-1: another value); nothing for text."""
        spec = self.masked[name]
        if spec.get("kind") == "number" and spec.get("edges"):
            edges = spec["edges"]
            return [bisect_right(edges, v) if isinstance(v, (int, float)) else -1 for v in values]
        if spec.get("kind") == "category" and spec.get("categories"):
            where = {c: i for i, c in enumerate(spec["categories"])}
            return [where.get(v, -1) if not isinstance(v, (list, dict)) else -1 for v in values]
        return [-1] * len(values)

    # -- writing ---------------------------------------------------------------
    def write(self, data, rows=0, t=None):
        """Append ``data`` (whole lines) with one write. On a full disk the service goes on:
        the rows are counted, and a gap line is written as soon as writing works again."""
        if not data:
            return True
        t0 = time.perf_counter()
        try:
            if self.missed:
                data = self._gap_line() + data
            if self.fd is None or (self.where != "-" and self.size >= JOURNAL_ROTATE_BYTES):
                self._next_file()
            view = memoryview(data)
            while view:  # regular files take a whole write; a pipe (stdout) may take less
                done = os.write(self.fd, view)
                view = view[done:]
            self.size += len(data)
            self.written += rows
            self.missed = 0
            self.busy += time.perf_counter() - t0
            return True
        except OSError:
            now = t if t is not None else time.time()
            if not self.missed:
                self.missed_from = now
            self.missed += rows
            self.missed_total += rows
            self.missed_to = now
            if self.where != "-" and self.fd is not None:
                try:  # part of the lines may have gone in before the disk filled up: take them out
                    os.ftruncate(self.fd, self.size)
                except OSError:
                    pass
                self._close()  # opened afresh next time (the folder may be back, or space freed)
            return False

    def _gap_line(self):
        return dumps({"k": "gap", "inst": self.inst, "t": time.time(), "n": self.missed,
                      "from": self.missed_from, "to": self.missed_to}) + b"\n"

    def _next_file(self):
        if self.where == "-":
            self.fd = sys.stdout.fileno()
            if self.size == 0:
                self.size = 1
                os.write(self.fd, self._start_line())
            return
        if self.fd is not None:
            self._close()
            self.part += 1
        os.makedirs(self.where, exist_ok=True)
        path = os.path.join(self.where, "journal-%s-%04d.jsonl" % (self.inst, self.part))
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.size = os.fstat(self.fd).st_size
        if self.size == 0:
            start = self._start_line()
            os.write(self.fd, start)
            self.size = len(start)

    def _start_line(self):
        return dumps({"k": "start", "j": JOURNAL_FORMAT, "inst": self.inst, "t": time.time(), "model": self.model,
                      "version": self.version, "inputs": self.inputs, "classes": self.classes, "task": self.task,
                      "masked": sorted(self.masked), "pid": os.getpid()}) + b"\n"

    def rotate(self):
        """Start a new file now (the host can then take the old one whole: erasure, retention)."""
        if self.where == "-":
            return None
        self._close()
        self.part += 1
        self._next_file()
        return "journal-%s-%04d.jsonl" % (self.inst, self.part)

    def current_file(self):
        if self.where == "-" or self.fd is None:
            return None
        return "journal-%s-%04d.jsonl" % (self.inst, self.part)

    def _close(self):
        if self.fd is not None and self.where != "-":
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd = None
        self.size = 0

    def state(self):
        """For /health: where the journal is, and what it could not write."""
        return {"instance": self.inst, "file": self.current_file(), "written": self.written,
                "not_recorded": self.missed_total, "busy_seconds": round(self.busy, 6)}


def source_of(req, default):
    """Where a request came from: the app says so in a header (its form, its Batch tab)."""
    value = req.headers.get(b"x-deskml-source")
    if value:
        value = value.decode("latin-1").strip().lower()
        if value in SOURCES:
            return value
    return default
