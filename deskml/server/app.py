"""The HTTP app inside a model's container, served by the lean server in ``http.py``.

No web framework: the request path is a dictionary lookup, a JSON parse, the
input check and one ``predict``, answered with one socket write; the OpenAPI
document is generated from the model's own input schema. Concurrent requests are combined: while one batch is
being predicted, new requests queue up, and the next ``predict`` call takes them
all at once (one call for many rows costs little more than for one).

Endpoints: GET /health, GET /v1/model, POST /v1/predict, POST /v1/predict/csv,
GET /metrics, GET /openapi.json, GET /docs.
"""
import asyncio
import csv
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor

from .service import ClientError

try:  # orjson is installed in the image; the stdlib is the fallback
    import orjson

    def dumps(obj):
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)

    loads = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    def dumps(obj):
        return json.dumps(obj, separators=(",", ":")).encode()

    loads = json.loads

MAX_BODY = 20 * 1024 * 1024          # JSON requests
CSV_CHUNK_ROWS = 20_000
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Prometheus counters and a latency histogram, kept in memory."""

    def __init__(self):
        self.requests = {}          # (endpoint, status) -> count
        self.rows = 0
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0
        self.batches = 0

    def observe(self, endpoint, status, seconds):
        key = (endpoint, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        if endpoint.startswith("/v1/predict"):
            self.count += 1
            self.total += seconds
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    self.buckets[i] += 1

    def text(self, name, version):
        lab = f'model="{name}",version="{version}"'
        out = ["# HELP deskml_requests_total HTTP requests by endpoint and status.",
               "# TYPE deskml_requests_total counter"]
        for (ep, st), n in sorted(self.requests.items()):
            out.append(f'deskml_requests_total{{{lab},endpoint="{ep}",status="{st}"}} {n}')
        errors = sum(n for (ep, st), n in self.requests.items() if st >= 400)
        out += ["# HELP deskml_errors_total Requests answered with an error.", "# TYPE deskml_errors_total counter",
                f"deskml_errors_total{{{lab}}} {errors}",
                "# HELP deskml_rows_predicted_total Rows predicted.", "# TYPE deskml_rows_predicted_total counter",
                f"deskml_rows_predicted_total{{{lab}}} {self.rows}",
                "# HELP deskml_predict_batches_total predict() calls (concurrent requests share one).",
                "# TYPE deskml_predict_batches_total counter",
                f"deskml_predict_batches_total{{{lab}}} {self.batches}",
                "# HELP deskml_request_seconds Prediction request latency.",
                "# TYPE deskml_request_seconds histogram"]
        for b, n in zip(BUCKETS, self.buckets):
            out.append(f'deskml_request_seconds_bucket{{{lab},le="{b}"}} {n}')
        out += [f'deskml_request_seconds_bucket{{{lab},le="+Inf"}} {self.count}',
                f"deskml_request_seconds_sum{{{lab}}} {self.total:.6f}",
                f"deskml_request_seconds_count{{{lab}}} {self.count}"]
        return ("\n".join(out) + "\n").encode()


class Batcher:
    """Combine the rows of concurrent requests into one predict call.

    Requests parsed in the same turn of the event loop are collected; one
    callback scheduled with ``call_soon`` predicts them all at once, in the loop
    (no thread hop, no future for a lone request). While it predicts, new
    requests wait in the sockets and are read, together, in the next turn: the
    next batch. Each request gets ``done(result, error)`` called.
    """

    def __init__(self, service, metrics, max_rows=4096):
        self.service = service
        self.metrics = metrics
        self.max_rows = max_rows
        self.pending = []
        self.scheduled = False
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")  # big CSV chunks

    def submit(self, cols, n, done):
        self.pending.append((cols, n, done))
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self):
        self.scheduled = False
        items, self.pending = self.pending, []
        while items:
            batch, rows = [], 0
            while items and (not batch or rows + items[0][1] <= self.max_rows):
                batch.append(items.pop(0))
                rows += batch[-1][1]
            self._predict_batch(batch, rows)

    def _predict_batch(self, items, rows):
        keys = set(items[0][0])
        if any(set(cols) != keys for cols, _, _ in items):  # rows of different widths: one by one
            for item in items:
                self._predict_batch([item], item[1])
            return
        if len(items) == 1:
            merged = items[0][0]
        else:
            merged = {k: [] for k in items[0][0]}
            for cols, _, _ in items:
                for k, v in cols.items():
                    merged[k].extend(v)
        try:
            result = self.service.predict(merged)
        except Exception as exc:  # the model failed on valid input: tell every waiting request
            for _, _, done in items:
                done(None, exc)
            return
        self.metrics.batches += 1
        self.metrics.rows += rows
        if len(items) == 1:
            items[0][2](result, None)
            return
        start = 0
        for _, n, done in items:
            done({k: v[start:start + n] for k, v in result.items()}, None)
            start += n


class App:
    """Routes, checks and answers; the HTTP server (``http.py``) calls ``handle``."""

    def __init__(self, service, api_key=None, model_sha256=None):
        self.service = service
        self.api_key = api_key.encode() if api_key else None
        self.sha256 = model_sha256
        self.metrics = Metrics()
        self.batcher = Batcher(service, self.metrics)
        self.ready = False
        self.self_test = "not run"
        self.started = time.time()
        self._openapi = dumps(openapi(service))
        self._info = dumps(service.info())
        self._docs = docs_page(service).encode()
        self._ids = 0
        self.routes = {
            ("GET", "/health"): self.health,
            ("GET", "/v1/model"): self.model_info,
            ("POST", "/v1/predict"): self.predict,
            ("GET", "/metrics"): self.prometheus,
            ("GET", "/openapi.json"): self.openapi,
            ("GET", "/docs"): self.docs,
            ("GET", "/"): self.docs,
        }
        self.paths = {p for _, p in self.routes} | {"/v1/predict/csv"}

    def start(self):
        """Self-test before answering /health as ready."""
        self.self_test = "passed" if self.service.self_test() is not None else "skipped: the inputs are not known"
        self.ready = True

    # -- the server's side of the contract ---------------------------------------------
    def streams(self, method, path):
        return method == "POST" and path == "/v1/predict/csv"

    def handle(self, req):
        method = "GET" if req.method == "HEAD" else req.method
        handler = self.routes.get((method, req.path))
        try:
            if handler is None:
                if req.path in self.paths:
                    raise ClientError(405, f"{req.method} is not allowed on {req.path}")
                raise ClientError(404, f"there is no {req.path} here; see /docs")
            req.endpoint = req.path
            if self.api_key is not None and req.path != "/health" and not self._authorised(req):
                raise ClientError(401, "this service needs an API key: send it as 'Authorization: Bearer KEY'")
            handler(req)
        except ClientError as err:
            req.respond(err.status, dumps(err.to_dict()))
        except Exception as exc:  # a bug or a model failure: 500, and the server keeps going
            req.respond(500, _failure(exc))

    async def handle_stream(self, req):
        req.endpoint = req.path
        try:
            if self.api_key is not None and not self._authorised(req):
                raise ClientError(401, "this service needs an API key: send it as 'Authorization: Bearer KEY'")
            await self.predict_csv(req)
        except ClientError as err:
            if req.started:
                req.abort_stream(err.status, b"\n#DESKML-ERROR " + dumps(err.to_dict()) + b"\n")
            else:
                req.respond(err.status, dumps(err.to_dict()))
        except Exception as exc:
            if req.started:
                req.abort_stream(500, b"\n#DESKML-ERROR " + _failure(exc) + b"\n")
            else:
                req.respond(500, _failure(exc))

    def too_large(self, req):
        req.endpoint = req.path if req.path in self.paths else "other"
        err = ClientError(413, f"the request is too large (over {MAX_BODY // (1024 * 1024)} MB); "
                               "send large batches as CSV to /v1/predict/csv")
        req.respond(413, dumps(err.to_dict()))

    def finished(self, req, status):
        self.metrics.observe(req.endpoint, status, time.perf_counter() - req.t0)

    def _authorised(self, req):
        return req.headers.get(b"authorization") == b"Bearer " + self.api_key

    # -- endpoints ---------------------------------------------------------------
    def health(self, req):
        if not self.ready:
            req.respond(503, dumps({"status": "starting"}))
            return
        req.respond(200, dumps({"status": "ok", "model": self.service.name, "version": self.service.version,
                                "self_test": self.self_test, "uptime_s": round(time.time() - self.started, 1)}))

    def model_info(self, req):
        req.respond(200, self._info)

    def openapi(self, req):
        req.respond(200, self._openapi)

    def docs(self, req):
        req.respond(200, self._docs, b"text/html; charset=utf-8")

    def prometheus(self, req):
        req.respond(200, self.metrics.text(self.service.name, self.service.version),
                    b"text/plain; version=0.0.4")

    def predict(self, req):
        body = req.body
        if not body.strip():
            raise ClientError(400, "the request body is empty; send JSON like "
                                   '{"inputs": [{"name": value, ...}]}')
        try:
            doc = loads(body)
        except ValueError as exc:
            try:  # NaN and Infinity: the stdlib reads them, so the check can name the input
                doc = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise ClientError(400, f"the request body is not valid JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise ClientError(400, 'the request body must be a JSON object with "inputs" or "instances"')
        if "inputs" in doc:
            cols = self.service.columns_from_named(doc["inputs"])
        elif "instances" in doc:
            cols = self.service.columns_from_positional(doc["instances"])
        else:
            raise ClientError(400, 'the JSON object needs "inputs" (rows of named values) '
                                   'or "instances" (rows of values in order)')
        n = len(next(iter(cols.values()))) if cols else 0
        version = self.service.version

        def done(result, error):
            if error is not None:
                req.respond(500, _failure(error))
                return
            first = self._ids
            self._ids += n
            result["model_version"] = version
            result["ids"] = [f"{version}-{first + i}" for i in range(n)]
            req.respond(200, dumps(result))
        self.batcher.submit(cols, n, done)

    async def predict_csv(self, req):
        """CSV in, the same CSV with prediction columns out, chunk by chunk."""
        svc = self.service
        reader = _CsvChunks(req.stream)
        header = await reader.header()
        if header is None:
            raise ClientError(400, "the CSV is empty; send a header row with the input names, then data rows")
        names = next(csv.reader([header]))
        missing = [n for n in svc.names if n not in names]
        if missing:
            raise ClientError(422, f"the CSV has no column '{missing[0]}' (it needs: {', '.join(svc.names)})",
                              missing[0])
        extra_cols = ["prediction"] + ([f"probability_{c}" for c in svc.classes] if svc.has_proba and svc.classes
                                       else [])
        loop = asyncio.get_running_loop()
        row0 = 0
        async for lines in reader.chunks(CSV_CHUNK_ROWS):
            X = svc.check_frame(_parse_csv(header, lines, names), row0)
            preds, proba = await loop.run_in_executor(self.batcher.pool, svc.predict_arrays, X)
            extra = _extra_lines(preds, proba)
            out = io.StringIO()
            if not req.started:
                out.write(header.rstrip("\r\n") + "," + ",".join(extra_cols) + "\n")
            for line, tail in zip(lines, extra):
                out.write(line.rstrip("\r\n"))
                out.write(",")
                out.write(tail)
            if not req.started:
                req.start_stream(200, b"text/csv; charset=utf-8")
            await req.send_chunk(out.getvalue().encode())
            self.metrics.rows += len(lines)
            row0 += len(lines)
        if not req.started:
            raise ClientError(400, "the CSV has a header but no data rows")
        await req.end_stream(200)


def _failure(exc):
    return dumps({"error": {"message": f"the model failed: {type(exc).__name__}: {exc}"}})


def _extra_lines(preds, proba):
    """The prediction columns of a chunk as CSV text, one line per row."""
    import pandas as pd

    cols = {"p": preds}
    if proba is not None:
        for j in range(proba.shape[1]):
            cols[j] = proba[:, j].round(6)
    return pd.DataFrame(cols).to_csv(header=False, index=False, lineterminator="\n").splitlines(True)


class _CsvChunks:
    """Read a streamed request body as CSV lines without holding all of it."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = b""
        self.more = True

    async def _fill(self):
        data = await self.stream.read()
        if data:
            self.buf += data
        else:
            self.more = False

    async def header(self):
        while b"\n" not in self.buf and self.more:
            await self._fill()
        if not self.buf.strip():
            return None
        line, _, self.buf = self.buf.partition(b"\n")
        return _decode(line).lstrip("\ufeff").rstrip("\r")

    async def chunks(self, rows):
        while True:
            while self.buf.count(b"\n") < rows and self.more:
                await self._fill()
            if not self.buf:
                return
            if self.more:
                cut = 0
                for _ in range(rows):
                    nxt = self.buf.find(b"\n", cut)
                    if nxt < 0:
                        break
                    cut = nxt + 1
                data, self.buf = self.buf[:cut], self.buf[cut:]
            else:
                data, self.buf = self.buf, b""
            lines = [ln for ln in _decode(data).splitlines(True) if ln.strip()]
            if lines:
                yield lines


def _decode(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientError(400, "the CSV is not UTF-8 text; save it as 'CSV UTF-8'") from None


def _parse_csv(header, lines, names):
    """A chunk of CSV lines as a DataFrame of text (the checks convert numbers)."""
    import pandas as pd

    try:
        return pd.read_csv(io.StringIO(header + "\n" + "".join(lines)), dtype=str, keep_default_na=False,
                           na_values=[""], skip_blank_lines=True, engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise ClientError(422, f"the CSV cannot be read: {exc}") from None


def openapi(service):
    props, required = {}, []
    for i in service.inputs:
        if i["kind"] == "number":
            schema = {"type": "number"}
            if i.get("min") is not None:
                schema["minimum"] = i["min"]
            if i.get("max") is not None:
                schema["maximum"] = i["max"]
        elif i["kind"] == "category" and i.get("categories"):
            schema = {"enum": i["categories"]}
        else:
            schema = {"type": "string"}
        props[i["name"]] = schema
        required.append(i["name"])
    row = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    err = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "message": {"type": "string"}, "input": {"type": "string"}, "row": {"type": "integer"}}}}}
    answer = {"type": "object", "properties": {
        "predictions": {"type": "array", "items": {}},
        "probabilities": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "number"}}},
        "model_version": {"type": "string"}, "ids": {"type": "array", "items": {"type": "string"}}}}
    errors = {str(c): {"description": d, "content": {"application/json": {"schema": err}}}
              for c, d in ((400, "Bad request"), (413, "Too large"), (422, "Invalid input"))}
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{service.name} (DeskML)", "version": service.version,
                 "description": f"Predictions of the model '{service.name}', version {service.version}."},
        "paths": {
            "/v1/predict": {"post": {
                "summary": "Predict", "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"oneOf": [
                        {"type": "object", "properties": {"inputs": {"type": "array", "items": row}},
                         "required": ["inputs"]},
                        {"type": "object", "properties": {"instances": {"type": "array", "items": {"type": "array"}}},
                         "required": ["instances"]}]},
                    "example": {"inputs": [service.example_row()]}}}},
                "responses": {"200": {"description": "Predictions",
                                      "content": {"application/json": {"schema": answer}}}, **errors}}},
            "/v1/predict/csv": {"post": {"summary": "Score a CSV file",
                                         "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}},
                                         "responses": {"200": {"description": "The CSV with prediction columns",
                                                               "content": {"text/csv": {}}}, **errors}}},
            "/v1/model": {"get": {"summary": "The model and its inputs", "responses": {"200": {"description": "OK"}}}},
            "/health": {"get": {"summary": "Ready when the model answered a self-test",
                                "responses": {"200": {"description": "Ready"}, "503": {"description": "Starting"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "OK"}}}},
        },
    }


def docs_page(service):
    import html
    rows = "".join(
        f"<tr><td>{html.escape(str(i['name']))}</td><td>{i['kind']}</td>"
        f"<td>{html.escape(', '.join(map(str, i.get('categories') or [])))}</td></tr>" for i in service.inputs)
    example = html.escape(json.dumps({"inputs": [service.example_row()]}))
    return (f"<!doctype html><meta charset=utf-8><title>{html.escape(service.name)}</title>"
            "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}td,th{padding:.2em .8em;"
            "border-bottom:1px solid #ddd;text-align:left}code,pre{background:#f4f4f4;padding:.2em}</style>"
            f"<h1>{html.escape(service.name)} <small>version {html.escape(service.version)}</small></h1>"
            f"<p>Task: {service.task}. Send a POST to <code>/v1/predict</code>:</p><pre>{example}</pre>"
            f"<table><tr><th>Input</th><th>Kind</th><th>Values</th></tr>{rows}</table>"
            "<p><a href='/openapi.json'>OpenAPI document</a> · <a href='/metrics'>metrics</a></p>")
