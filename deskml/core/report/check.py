"""The pre-release check: a version tried the way a careful engineer would, before it takes traffic.

It runs against the candidate's own running service (never the live version's), in three parts:

1. **Edge cases**, made from the model's inputs and its reference data: each input missing,
   empty, far out of its range, extreme or not finite, of the wrong type, an unseen category;
   an empty batch, a very large one, a body that is not JSON. Each must get a prediction or a
   clear refusal (4xx) that names the input. A 5xx, a dropped connection or a hang fails it.
2. **A short load test**: about 10 s over a few levels of concurrency; p50/p95/p99 and errors.
3. **Agreement with the live version** on the reference data: the share of rows with the same
   answer, and the biggest differences.

Its requests say ``x-deskml-variant: check``: the services journal them as such, and they are
not counted as traffic (as shadow copies are not).
"""
from __future__ import annotations

import http.client
import json
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

CASE_TIMEOUT = 30.0          # seconds an edge case may take before it counts as a hang
LARGE_BATCH = 10_000
AGREEMENT_ROWS = 1_000
LEVELS = (1, 4, 16)
VARIANT = "check"
HEADERS = {"content-type": "application/json", "x-deskml-variant": VARIANT}


@dataclass
class Case:
    name: str                    # plain words: "'visits' far above its range"
    input: str | None            # the input it is about (its refusal must name it)
    verdict: str = "not run"     # "answered" | "refused clearly" | "failed" | "not run"
    status: int | None = None
    said: str = ""               # what the service said (its refusal, or what went wrong)
    ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.verdict in ("failed", "not run")


@dataclass
class Level:
    concurrency: int
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    per_second: float


@dataclass
class Agreement:
    rows: int
    same: int
    biggest: list = field(default_factory=list)   # [{"row", "candidate", "live", "difference"}]
    live_version: str | None = None

    @property
    def share(self) -> float | None:
        return self.same / self.rows if self.rows else None


@dataclass
class CheckResult:
    model: str
    version: str
    at: float
    cases: list
    load: list
    agreement: Agreement | None
    note: str = ""               # why agreement is missing, or the like

    @property
    def failed_cases(self) -> list:
        return [c for c in self.cases if c.failed]

    @property
    def passed(self) -> bool:
        return not self.failed_cases and not any(level.errors for level in self.load)

    def headline(self) -> str:
        if self.passed:
            return f"Version {self.version} passed its check: {len(self.cases)} edge cases handled, no errors under load."
        bad = self.failed_cases
        if bad:
            more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
            return f"Version {self.version} failed its check: {bad[0].name}: {bad[0].said}{more}."
        errors = sum(level.errors for level in self.load)
        return f"Version {self.version} failed its check: {errors} errors under load."

    def lines(self) -> list[str]:
        """The check in plain words (the command line, the app)."""
        lines = [self.headline()]
        answered = sum(c.verdict == "answered" for c in self.cases)
        refused = sum(c.verdict == "refused clearly" for c in self.cases)
        lines.append(f"  edge cases: {len(self.cases)} tried, {answered} answered, {refused} refused with a clear "
                     f"message, {len(self.failed_cases)} failed")
        for c in self.failed_cases[:10]:
            lines.append(f"    FAILED {c.name}: {c.said}")
        if len(self.failed_cases) > 10:
            lines.append(f"    and {len(self.failed_cases) - 10} more")
        for level in self.load:
            lines.append(f"  load, {level.concurrency} at a time: {level.requests} requests, {level.errors} errors, "
                         f"p50 {level.p50_ms} ms, p95 {level.p95_ms} ms, p99 {level.p99_ms} ms "
                         f"({level.per_second:.0f} a second)")
        a = self.agreement
        if a is not None:
            lines.append(f"  agreement with version {a.live_version}: {a.same} of {a.rows} reference rows the same "
                         f"({a.share:.1%})")
            for d in a.biggest:
                lines.append(f"    row {d['row']}: this version says {d['candidate']}, version {a.live_version} says "
                             f"{d['live']}")
        elif self.note:
            lines.append(f"  agreement: {self.note}")
        return lines

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        if self.agreement is not None:
            d["agreement"]["share"] = self.agreement.share
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CheckResult":
        agreement = d.get("agreement")
        if agreement is not None:
            agreement = Agreement(**{k: v for k, v in agreement.items() if k != "share"})
        return cls(model=d["model"], version=d["version"], at=d["at"], cases=[Case(**c) for c in d["cases"]],
                   load=[Level(**x) for x in d["load"]], agreement=agreement, note=d.get("note", ""))


# -- the edge cases ------------------------------------------------------------------------------
def base_row(inputs: list[dict], reference_rows: list[dict]) -> dict:
    """A row the model should take: the first reference row, else one made from the inputs' examples."""
    names = [i["name"] for i in inputs]
    if reference_rows:
        first = reference_rows[0]
        if all(n in first for n in names):
            return {n: first[n] for n in names}
    row = {}
    for spec in inputs:
        if spec.get("example") is not None:
            row[spec["name"]] = spec["example"]
        elif spec.get("kind") == "category" and spec.get("categories"):
            row[spec["name"]] = spec["categories"][0]
        elif spec.get("kind") == "text":
            row[spec["name"]] = "some text"
        elif spec.get("min") is not None and spec.get("max") is not None:
            row[spec["name"]] = (spec["min"] + spec["max"]) / 2
        else:
            row[spec["name"]] = 0.0
    return row


def edge_cases(inputs: list[dict], positional: bool, row: dict, reference_rows: list[dict]):
    """(Case, JSON body) pairs: every input's edge cases, then the batch's."""
    names = [i["name"] for i in inputs]

    def body(rows):
        if positional:
            return json.dumps({"instances": [[r.get(n) for n in names] if isinstance(r, dict) else r for r in rows]})
        return json.dumps({"inputs": rows})

    out = []
    for spec in inputs:
        name = spec["name"]

        def with_value(label, value):
            out.append((Case(f"'{name}' {label}", name), body([{**row, name: value}])))

        if not positional:
            out.append((Case(f"'{name}' missing", name), body([{k: v for k, v in row.items() if k != name}])))
        with_value("empty (null)", None)
        kind = spec.get("kind")
        if kind == "number":
            low, high = spec.get("min"), spec.get("max")
            span = (high - low) if low is not None and high is not None else 1.0
            with_value("far below its range", (low if low is not None else 0.0) - 1000 * (span or 1.0))
            with_value("far above its range", (high if high is not None else 0.0) + 1000 * (span or 1.0))
            with_value("the largest number", 1.7976931348623157e308)
            with_value("minus the largest number", -1.7976931348623157e308)
            with_value("not a number (NaN)", math.nan)
            with_value("infinite", math.inf)
            with_value("text instead of a number", "abc")
            with_value("empty text", "")
        elif kind == "category":
            with_value("a value never seen", "never-seen-before")
            with_value("empty text", "")
            with_value("a number instead of a category", 12345)
        elif kind == "text":
            with_value("empty text", "")
            with_value("very long text (100,000 characters)", "word " * 20_000)
            with_value("a number instead of text", 12345)
    out.append((Case("an empty batch (no rows)", None), body([])))
    rows = [{n: r.get(n) for n in names} for r in reference_rows if all(n in r for n in names)] or [row]
    large = [rows[i % len(rows)] for i in range(LARGE_BATCH)]
    out.append((Case(f"a large batch ({LARGE_BATCH:,} rows)", None), body(large)))
    out.append((Case("a body that is not JSON", None), "{not json"))
    return out


def _judge(case: Case, status: int, data: bytes, rows: int | None) -> None:
    case.status = status
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    if 200 <= status < 300:
        predictions = doc.get("predictions") if isinstance(doc, dict) else None
        if predictions is None or (rows is not None and len(predictions) != rows):
            case.verdict, case.said = "failed", "the answer has no prediction for every row"
        else:
            case.verdict = "answered"
        return
    message = ""
    if isinstance(doc, dict):
        message = str((doc.get("error") or {}).get("message") or "")
    case.said = message or data[:200].decode("utf-8", "replace")
    if 400 <= status < 500:
        if case.input is not None and case.input.lower() not in message.lower():
            case.verdict = "failed"
            case.said = f"refused ({status}) without naming the input: {case.said}"
        elif not message:
            case.verdict, case.said = "failed", f"refused ({status}) without saying why"
        else:
            case.verdict = "refused clearly"
        return
    case.verdict = "failed"
    case.said = f"the service failed ({status}): {case.said}"


class _Client:
    """One keep-alive connection to a service (http.client: no pool, no retries hiding a crash).
    ``url`` may carry an API key as its user name (a version opened to the network needs one)."""

    def __init__(self, url: str, timeout: float):
        parts = urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self.headers = dict(HEADERS)
        if parts.username:
            self.headers["authorization"] = f"Bearer {parts.username}"
        self.conn = None

    def post(self, path: str, body):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request("POST", path, body.encode() if isinstance(body, str) else body, self.headers)
            r = self.conn.getresponse()
            return r.status, r.read()
        except Exception:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _healthy(url: str, wait: float) -> bool:
    """Does the service answer its health check within ``wait`` seconds (its keeper may be
    bringing it back)? The API key in ``url`` is not needed for that."""
    from ..errors import ServiceUnhealthy
    from ..runtimes.base import wait_healthy

    parts = urlsplit(url)
    try:
        wait_healthy(f"{parts.scheme}://{parts.hostname}:{parts.port}", wait)
        return True
    except ServiceUnhealthy:
        return False


def run_cases(url: str, pairs, recover: float = 20.0, progress=lambda done, total: None) -> list:
    """Send each edge case; a crash or a hang fails that case, and the rest wait for the
    service to come back (its keeper restarts it) or are marked not run."""
    client = _Client(url, CASE_TIMEOUT)
    cases = []
    down = False
    for i, (case, body) in enumerate(pairs):
        cases.append(case)
        progress(i, len(pairs))
        if down:
            case.said = "not run: the service had stopped answering"
            continue
        rows = None
        try:
            doc = json.loads(body)
            rows = len(doc.get("inputs", doc.get("instances", [])))
        except ValueError:
            pass
        t0 = time.perf_counter()
        try:
            status, data = client.post("/v1/predict", body)
        except TimeoutError:
            case.verdict, case.said = "failed", f"no answer within {CASE_TIMEOUT:.0f} s (a hang)"
            down = not _healthy(url, recover)
            continue
        except (OSError, http.client.HTTPException) as exc:
            case.verdict = "failed"
            case.said = f"the service dropped the connection without answering ({type(exc).__name__}); it may have crashed"
            down = not _healthy(url, recover)
            continue
        finally:
            case.ms = round((time.perf_counter() - t0) * 1000, 2)
        _judge(case, status, data, rows)
    client.close()
    return cases


# -- the load test -------------------------------------------------------------------------------
def _quantile(sorted_values, q):
    if not sorted_values:
        return None
    return round(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] * 1000, 3)


def load_test(url: str, body: str, seconds: float = 10.0, levels=LEVELS) -> list:
    """About ``seconds`` in all, split over ``levels`` of concurrency (keep-alive clients)."""
    out = []
    each = seconds / len(levels)
    for level in levels:
        times, errors = [], [0]
        lock = threading.Lock()
        deadline = time.monotonic() + each

        def worker():
            client = _Client(url, 10.0)
            mine, bad = [], 0
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    status, _ = client.post("/v1/predict", body)
                    if status != 200:
                        bad += 1
                    else:
                        mine.append(time.perf_counter() - t0)
                except (OSError, http.client.HTTPException):
                    bad += 1
            client.close()
            with lock:
                times.extend(mine)
                errors[0] += bad

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(level)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(each + CASE_TIMEOUT)
        took = time.monotonic() - start
        times.sort()
        out.append(Level(level, len(times) + errors[0], errors[0], _quantile(times, 0.5), _quantile(times, 0.95),
                         _quantile(times, 0.99), round(len(times) / took, 1) if took > 0 else 0.0))
    return out


# -- agreement with the live version -------------------------------------------------------------
def _predictions(url: str, rows: list[dict], positional: bool, names: list[str]):
    client = _Client(url, 120.0)
    try:
        out = []
        for i in range(0, len(rows), 500):
            chunk = rows[i:i + 500]
            doc = {"instances": [[r.get(n) for n in names] for r in chunk]} if positional else {"inputs": chunk}
            status, data = client.post("/v1/predict", json.dumps(doc, default=str))
            if status != 200:
                return None
            out.extend(json.loads(data)["predictions"])
        return out
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return None
    finally:
        client.close()


def agreement(candidate_url: str, live_url: str, rows: list[dict], positional: bool, names: list[str],
              live_version: str | None = None, live_names: list[str] | None = None,
              live_positional: bool | None = None) -> Agreement | None:
    """How often the candidate answers as the live version does, on the same rows (each given
    the inputs it takes: a new version may take more or fewer)."""
    rows = rows[:AGREEMENT_ROWS]
    live_names = names if live_names is None else live_names
    mine = _predictions(candidate_url, [{n: r.get(n) for n in names} for r in rows], positional, names)
    theirs = _predictions(live_url, [{n: r.get(n) for n in live_names} for r in rows],
                          positional if live_positional is None else live_positional, live_names)
    if mine is None or theirs is None or len(mine) != len(theirs):
        return None
    same, diffs = 0, []
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            gap = abs(float(a) - float(b))
            if gap <= 1e-9 * (1 + abs(float(b))):
                same += 1
            else:
                diffs.append({"row": i + 1, "candidate": a, "live": b, "difference": gap})
        elif a == b:
            same += 1
        else:
            diffs.append({"row": i + 1, "candidate": a, "live": b, "difference": None})
    diffs.sort(key=lambda d: -(d["difference"] or 0))
    return Agreement(len(rows), same, diffs[:5], live_version)


def run(model: str, version: str, url: str, inputs: list[dict], positional: bool, reference_rows: list[dict],
        live_url: str | None = None, live_version: str | None = None, load_seconds: float = 10.0,
        progress=lambda what, done, total: None, live_inputs: list[dict] | None = None,
        live_positional: bool | None = None) -> CheckResult:
    """The whole check against the candidate's service at ``url``. ``reference_rows`` may hold
    more columns than the candidate takes (the live version's inputs, the outcome)."""
    row = base_row(inputs, reference_rows)
    pairs = edge_cases(inputs, positional, row, reference_rows)
    cases = run_cases(url, pairs, progress=lambda d, t: progress("edge cases", d, t))
    progress("load", 0, 1)
    one = json.dumps({"instances": [[row.get(i["name"]) for i in inputs]]} if positional else {"inputs": [row]})
    load = load_test(url, one, load_seconds) if _healthy(url, 5) else []
    note = ""
    agree = None
    names = [i["name"] for i in inputs]
    if live_url is None:
        note = "no live version to compare with"
    elif not reference_rows:
        note = "no reference data to compare on"
    else:
        progress("agreement", 0, 1)
        live_names = [i["name"] for i in live_inputs] if live_inputs is not None else None
        agree = agreement(url, live_url, reference_rows, positional, names, live_version, live_names, live_positional)
        if agree is None:
            note = "the live version and the candidate could not both answer the reference data"
    return CheckResult(model, str(version), time.time(), cases, load, agree, note)
