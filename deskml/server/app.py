"""The HTTP app inside a model's container, served by the lean server in ``http.py``.

No web framework: the request path is a dictionary lookup, a JSON parse, the
input check and one ``predict``, answered with one socket write. The jobs
around it live beside it: ``batching`` (concurrent requests share a predict
call), ``csv_stream`` (the streamed CSV route), ``metrics`` (Prometheus),
``openapi`` (the document and /docs), ``jsonio``.

Endpoints: GET /health, GET /v1/model, POST /v1/predict, POST /v1/predict/csv,
GET /metrics, GET /openapi.json, GET /docs; and the Open Inference Protocol's /v2 routes
(``oip``), whose predictions take the same path as /v1/predict's.
"""
import json
import time

from . import contract, oip
from .batching import Batcher
from .csv_stream import predict_csv
from .journal import Answered, Journal, source_of
from .jsonio import dumps, loads
from .metrics import Metrics
from .openapi import docs_page, openapi
from .service import ClientError, json_body

MAX_BODY = 20 * 1024 * 1024          # JSON requests
JSON = b"application/json"
#: the routes whose answers (and refusals) go into the journal, with their default source
PREDICT_PATHS = {"/v1/predict": "api", "/v1/predict/csv": "csv", oip.INFER: "api"}


class App:
    """Routes, checks and answers; the HTTP server (``http.py``) calls ``handle``."""

    def __init__(self, service, api_key=None, model_sha256=None, journal=None):
        self.service = service
        self.api_key = api_key.encode() if api_key else None
        self.sha256 = model_sha256
        self.metrics = Metrics()
        # the journal also gives the prediction ids; kept 'off', it writes nothing
        self.journal = journal or Journal("off", service.name, service.version, service.names, service.classes,
                                          task=service.task)
        self.journaling = self.journal.where != "off"
        self.batcher = Batcher(service, self.metrics, self.journal)
        self.ready = False
        self.self_test = "not run"
        self.started = time.time()
        self._describe()
        self.routes = {
            ("GET", contract.HEALTH_PATH): self.health,
            ("GET", "/v1/model"): self.model_info,
            ("POST", "/v1/predict"): self.predict,
            ("POST", "/v1/outcomes"): self.outcomes,
            ("POST", "/v1/journal/rotate"): self.rotate_journal,
            ("GET", "/metrics"): self.prometheus,
            ("GET", "/openapi.json"): self.openapi,
            ("GET", "/docs"): self.docs,
            ("GET", "/"): self.docs,
        }
        self.paths = {p for _, p in self.routes} | {"/v1/predict/csv"}

    def _describe(self):
        """The documents that describe the service (after the self-test: its outputs are known)."""
        self._openapi = dumps(openapi(self.service, api_key=self.api_key is not None))
        self._info = dumps(self.service.info())
        self._docs = docs_page(self.service).encode()

    def start(self):
        """Self-test before answering /health as ready."""
        self.self_test = "passed" if self.service.self_test() is not None else "skipped: the inputs are not known"
        self._describe()
        self.ready = True

    def allowed(self, path):
        """The methods a path answers (for 405's Allow header)."""
        methods = {m for m, p in self.routes if p == path} | ({"POST"} if path == "/v1/predict/csv" else set())
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)

    # -- the server's side of the contract ---------------------------------------------
    def streams(self, method, path):
        return method == "POST" and path == "/v1/predict/csv"

    def handle(self, req):
        method = "GET" if req.method == "HEAD" else req.method
        handler = self.routes.get((method, req.path))
        try:
            if handler is None and req.path.startswith("/v2"):
                handler = self._oip(req, method)
            if handler is None:
                if req.path in self.paths:
                    allowed = self.allowed(req.path)
                    req.respond(405, dumps(ClientError(405, f"{req.method} is not allowed on {req.path}; "
                                                            f"use {', '.join(allowed)}").to_dict()),
                                extra=b"allow: %s\r\n" % ", ".join(allowed).encode())
                    return
                raise ClientError(404, f"there is no {req.path} here; see /docs")
            if not req.path.startswith("/v2"):
                req.endpoint = req.path
            if (self.api_key is not None and req.path != contract.HEALTH_PATH
                    and not req.path.startswith("/v2/health/") and not self._authorised(req)):
                raise ClientError(401, "this service needs an API key: send it as 'Authorization: Bearer KEY'")
            handler(req)
        except ClientError as err:
            self._refused(req, err.status, err.message, err.input, err.row)
            req.respond(err.status, dumps({"error": err.message} if req.path.startswith("/v2") else err.to_dict()))
        except Exception as exc:  # a bug or a model failure: 500, and the server keeps going
            body = _failure(exc)
            message = loads(body)["error"]["message"]
            self._refused(req, 500, message)
            req.respond(500, dumps({"error": message}) if req.path.startswith("/v2") else body)

    def _refused(self, req, status, message, input_name=None, row=None):
        """A refused prediction request goes into the journal too, with its status and reason."""
        default = PREDICT_PATHS.get(req.path) or PREDICT_PATHS.get(req.endpoint)
        if self.journaling and default:
            line = self.journal.refused(time.time(), source_of(req, default),
                                        (time.perf_counter() - req.t0) * 1000, status, message, input_name, row,
                                        req.headers.get(b"x-deskml-variant"))
            self.journal.write(line, 1)

    async def handle_stream(self, req):
        req.endpoint = req.path
        try:
            if self.api_key is not None and not self._authorised(req):
                raise ClientError(401, "this service needs an API key: send it as 'Authorization: Bearer KEY'")
            await self.predict_csv(req)
        except ClientError as err:
            self._refused(req, err.status, err.message, err.input, err.row)
            if req.started:
                req.abort_stream(err.status, b"\n#DESKML-ERROR " + dumps(err.to_dict()) + b"\n")
            else:
                req.respond(err.status, dumps(err.to_dict()))
        except Exception as exc:
            self._refused(req, 500, f"the model failed: {type(exc).__name__}: {exc}")
            if req.started:
                req.abort_stream(500, b"\n#DESKML-ERROR " + _failure(exc) + b"\n")
            else:
                req.respond(500, _failure(exc))

    def too_large(self, req):
        found = oip.route(req.path) if req.path.startswith("/v2") else None
        req.endpoint = oip.INFER if found and found[0] == "infer" else req.path if req.path in self.paths else "other"
        err = ClientError(413, f"the request is too large (over {MAX_BODY // (1024 * 1024)} MB); "
                               "send large batches as CSV to /v1/predict/csv")
        self._refused(req, 413, err.message)
        req.respond(413, dumps({"error": err.message} if req.path.startswith("/v2") else err.to_dict()))

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
                                "self_test": self.self_test, "uptime_s": round(time.time() - self.started, 1),
                                "journal": self.journal.state() if self.journaling else None}))

    def rotate_journal(self, req):
        """Start a new journal file now, so that the host can take the old one whole."""
        req.respond(200, dumps({"file": self.journal.rotate() if self.journaling else None}))

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
        if (not isinstance(doc, dict) or not (("inputs" in doc) ^ ("instances" in doc))
                or not set(doc) <= PREDICT_KEYS):
            raise ClientError(400, 'the request body must be a JSON object with "inputs" (rows of named values) '
                                   'or "instances" (rows of values in order), and optionally "key" and "fields" '
                                   '(kept with the prediction, never given to the model)')
        if "inputs" in doc:
            cols = self.service.columns_from_named(doc["inputs"])
        else:
            cols = self.service.columns_from_positional(doc["instances"],
                                                        bools_possible=b"true" in body or b"false" in body)
        n = len(next(iter(cols.values()))) if cols else 0
        extra = passthrough(doc, n) if len(doc) > 1 else None
        service = self.service

        def reply(predictions, rows, ids):
            answer = service.answer_of(predictions, rows)
            answer["model_version"] = service.version
            answer["ids"] = ids
            return 200, dumps(answer), JSON, b""
        self._submit(req, cols, n, extra, reply)

    def _submit(self, req, cols, n, extra, reply):
        """Predict checked columns with the batcher, journal them, and answer with
        ``reply(predictions, probabilities, ids) -> (status, body, content type, headers)``."""
        variant = req.headers.get(b"x-deskml-variant")
        if variant is not None:  # behind DeskML's front door, in an A/B or shadow test
            extra = variant_of(extra, variant, req.headers.get(b"x-deskml-request"))
        journal, journaling = self.journal, self.journaling
        source = source_of(req, "api")
        v2 = req.path.startswith("/v2")

        def finish(predictions, rows, error):
            """What the journal keeps of this request, and the sending of its answer (the
            batcher writes the journal for a whole batch first, then sends the answers)."""
            now = time.time()
            ms = (time.perf_counter() - req.t0) * 1000
            if error is not None:
                body = _failure(error)
                message = loads(body)["error"]["message"]
                line = journal.refused(now, source, ms, 500, message) if journaling else b""
                body = dumps({"error": message}) if v2 else body
                return line, lambda: req.respond(500, body)
            first = journal.take(n)
            status, body, content_type, headers = reply(predictions, rows, journal.ids(first, n))
            return (Answered(first, n, now, source, ms, cols, predictions, rows, extra),
                    lambda: req.respond(status, body, content_type, headers))
        self.batcher.submit(cols, n, finish)

    # -- the Open Inference Protocol (oip.py) ---------------------------------------------
    def _oip(self, req, method):
        """The handler of a /v2 route (None when it is not one), its endpoint named for the
        metrics without the model's name."""
        found = oip.route(req.path)
        if found is None:
            return None
        what, name, version = found
        req.endpoint = {"server": "/v2", "live": "/v2/health/live", "ready": "/v2/health/ready",
                        "model": "/v2/models/{name}", "model_ready": "/v2/models/{name}/ready",
                        "infer": oip.INFER}[what]
        if (method == "POST") != (what == "infer"):
            allowed = "POST" if what == "infer" else "GET, HEAD"
            req.respond(405, dumps({"error": f"{req.method} is not allowed on {req.path}; use {allowed}"}),
                        extra=b"allow: %s\r\n" % allowed.encode())
            return lambda req: None
        if self.api_key is not None and what not in ("live", "ready") and not self._authorised(req):
            raise ClientError(401, "this service needs an API key: send it as 'Authorization: Bearer KEY'")
        if name is not None and name != self.service.name:
            raise ClientError(404, f"there is no model {name!r} here; this service answers for "
                                   f"{self.service.name!r}")
        if version is not None and version != self.service.version:
            raise ClientError(404, f"there is no version {version!r} of {name!r} here; this service is version "
                                   f"{self.service.version}")
        return getattr(self, "_oip_" + what)

    def _oip_server(self, req):
        req.respond(200, oip.server_metadata(self.service.version))

    def _oip_live(self, req):
        req.respond(200, dumps({"live": True}))

    def _oip_ready(self, req):
        req.respond(200 if self.ready else 503, dumps({"ready": self.ready}))

    _oip_model_ready = _oip_ready

    def _oip_model(self, req):
        req.respond(200, dumps(oip.model_metadata(self.service)))

    def _oip_infer(self, req):
        doc, tensors = oip.read_request(req.body, req.headers, MAX_BODY)
        cols, n = oip.columns(self.service, tensors)
        wanted = oip.wanted_outputs(self.service, doc)
        service = self.service

        def reply(predictions, rows, ids):
            body, headers, content_type = oip.response(service, doc, wanted, predictions, rows, ids)
            return 200, body, content_type, headers
        self._submit(req, cols, n, None, reply)

    def outcomes(self, req):
        """Real outcomes: a list of ``{"id" or "key", "actual"}`` rows, journaled for the host
        to join to their predictions."""
        rows = outcome_rows(req.body)
        if not self.journaling:
            raise ClientError(409, "this service keeps no journal, so it cannot keep outcomes; give them to "
                                   "DeskML on the computer instead (deskml outcomes NAME FILE)")
        if not self.journal.write(self.journal.outcomes(time.time(), rows)):
            raise ClientError(507, "the disk is full: the outcomes were not kept; send them again later")
        req.respond(200, dumps({"received": len(rows)}))

    async def predict_csv(self, req):
        await predict_csv(req, self.service, self.batcher.pool, self.metrics, self.journal, self.journaling,
                          source_of(req, "csv"))


PREDICT_KEYS = {"inputs", "instances", "key", "fields"}
MAX_OUTCOMES = 10_000
MAX_KEY = 200


def passthrough(doc, n):
    """The pass-through fields of a prediction request, kept with each of its rows and never
    given to the model: ``key`` (your own key, for joining real outcomes later) and
    ``fields`` (an object of plain values: a store, an age band)."""
    extra = {}
    if "key" in doc:
        key = doc["key"]
        if not isinstance(key, str) or len(key) > MAX_KEY:
            raise ClientError(422, f'"key" must be a text of at most {MAX_KEY} characters (your own key)')
        extra["keys"] = [key] * n
    if "fields" in doc:
        fields = doc["fields"]
        if not isinstance(fields, dict) or not all(v is None or isinstance(v, (str, int, float, bool))
                                                   for v in fields.values()):
            raise ClientError(422, '"fields" must be an object of plain values, like {"store": "Leeds"}')
        extra["fields"] = [fields] * n
    return extra or None


def variant_of(extra, variant, pair):
    """The pass-through fields plus the test's variant ("a"/"b" in a split, "live"/"shadow"
    in a shadow test) and, in a shadow test, the id pairing the two answers to one request."""
    extra = dict(extra or {})
    extra["var"] = variant.decode("latin-1")[:16]
    if pair:
        extra["pair"] = pair.decode("latin-1")[:32]
    return extra


def outcome_rows(body):
    """Outcome rows, checked as the OpenAPI document describes them."""
    rows = json_body(body, '[{"id": "…", "actual": …}]')
    if not isinstance(rows, list) or not rows:
        raise ClientError(400, 'send a list of outcome rows: [{"id": "…", "actual": …}] (or "key" instead of "id")')
    if len(rows) > MAX_OUTCOMES:
        raise ClientError(413, f"at most {MAX_OUTCOMES:,} outcomes per request; send the rest in another")
    for i, row in enumerate(rows):
        where = f"outcome row {i + 1}"
        if not isinstance(row, dict):
            raise ClientError(422, f"{where} is not an object", row=i)
        extra = set(row) - {"id", "key", "actual"}
        if extra:
            raise ClientError(422, f"{where} has fields this route does not know: {', '.join(sorted(extra))}", row=i)
        if ("id" in row) == ("key" in row):
            raise ClientError(422, f'{where} needs either "id" (the prediction id) or "key" (your own key)', row=i)
        ref = row.get("id", row.get("key"))
        if not isinstance(ref, str):
            raise ClientError(422, f'{where}: "id" and "key" are texts', row=i)
        actual = row.get("actual")
        if actual is None or not isinstance(actual, (str, int, float, bool)):
            raise ClientError(422, f'{where} has no "actual" value (what really happened: a text, number or '
                                   'true/false)', row=i)
    return rows


def _failure(exc):
    return dumps({"error": {"message": f"the model failed: {type(exc).__name__}: {exc}"}})
