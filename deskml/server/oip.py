"""The Open Inference Protocol (KServe's V2 REST, which MLServer and Triton speak), beside
/v1, so that clients written for those servers call a DeskML model unchanged.

    GET  /v2                                   the server's metadata
    GET  /v2/health/live, /v2/health/ready
    GET  /v2/models/{name}[/versions/{v}]      the model's metadata: its input and output tensors
    GET  /v2/models/{name}[/versions/{v}]/ready
    POST /v2/models/{name}[/versions/{v}]/infer

A model with named inputs takes one tensor per input, named after it, of shape [N] or
[N, 1] (BYTES for text and categories, FP64 or INT64 for numbers), as MLServer's pandas
codec sends them; a model with positional inputs takes one tensor of shape [N, inputs].
The answer holds ``predict`` (and ``predict_proba``, one column per class, where the model
gives probabilities), and ``prediction_id``: the journal's id of each row, to tell DeskML
the real outcome later. Tensors come and go as JSON or in the binary tensor data extension
(``Inference-Header-Content-Length``), which Triton's client uses by default. The rows are
checked by the same code as /v1/predict, so a mistake names the input, and the prediction
is journaled the same way.

Errors are ``{"error": "..."}``, as the protocol says.
"""
import struct
import zlib
from urllib.parse import unquote

from .jsonio import dumps
from .service import ClientError, json_body

#: numeric tensor types and their little-endian numpy dtypes
NUMERIC = {"BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "<i1",
           "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}
HEADER_LENGTH = b"inference-header-content-length"
INFER = "/v2/models/{name}/infer"      # the endpoint's name in the metrics and the journal


def route(path):
    """(what, model name, version) for a /v2 path, or None when it is not one of the
    protocol's: what is 'server', 'live', 'ready', 'model', 'model_ready' or 'infer'."""
    parts = path.rstrip("/").split("/")[1:]
    if parts == ["v2"]:
        return "server", None, None
    if len(parts) == 3 and parts[:2] == ["v2", "health"] and parts[2] in ("live", "ready"):
        return parts[2], None, None
    if len(parts) < 3 or parts[:2] != ["v2", "models"]:
        return None
    name, rest, version = unquote(parts[2]), parts[3:], None
    if rest[:1] == ["versions"] and len(rest) >= 2:
        version, rest = unquote(rest[1]), rest[2:]
    if not rest:
        return "model", name, version
    if rest == ["ready"]:
        return "model_ready", name, version
    if rest == ["infer"]:
        return "infer", name, version
    return None


def server_metadata(version):
    return dumps({"name": "deskml", "version": version, "extensions": ["binary_tensor_data"]})


def _input_type(spec):
    if spec["kind"] in ("text",):
        return "BYTES"
    if spec["kind"] == "category":
        cats = spec.get("categories") or []
        return "INT64" if cats and all(type(c) is int for c in cats) else "BYTES"
    return "FP64"


def _output_type(values):
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def model_metadata(service):
    """The model's tensors, as /v2/models/{name} gives them (-1: any number of rows)."""
    if service.positional:
        kinds = {_input_type(i) for i in service.used}
        inputs = [{"name": "input", "datatype": "FP64" if kinds <= {"FP64", "INT64"} else "BYTES",
                   "shape": [-1, len(service.names) if service.inputs_known else -1]}]
    else:
        inputs = [{"name": i["name"], "datatype": _input_type(i), "shape": [-1]} for i in service.used]
    classes = service.classes or []
    if service.task == "classification" and classes:
        predict = _output_type(classes)
    elif service.task == "clustering" or service.task == "anomaly_detection":
        predict = "INT64"
    else:
        predict = "FP64"
    outputs = [{"name": "predict", "datatype": predict,
                "shape": [-1] if service.n_outputs == 1 else [-1, service.n_outputs]}]
    if service.has_proba:
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(classes)]})
    outputs.append({"name": "prediction_id", "datatype": "BYTES", "shape": [-1]})
    meta = {"name": service.name, "versions": [service.version], "platform": "sklearn",
            "inputs": inputs, "outputs": outputs}
    if service.has_proba:  # which class each column of predict_proba is
        meta["parameters"] = {"classes": ",".join(str(c) for c in classes)}
    return meta


# -- the request ---------------------------------------------------------------------

def read_request(body, headers, limit):
    """The request's JSON header and its input tensors as {name: (datatype, shape, flat values)};
    a compressed body may unpack to at most ``limit`` bytes."""
    encoding = headers.get(b"content-encoding")
    if encoding in (b"gzip", b"deflate"):
        unpack = zlib.decompressobj(31 if encoding == b"gzip" else 15)
        try:
            body = unpack.decompress(body, limit + 1)
        except zlib.error:
            raise ClientError(400, f"the request body is not valid {encoding.decode()} data") from None
        if len(body) > limit or unpack.unconsumed_tail:
            raise ClientError(413, f"the request unpacks to over {limit // (1024 * 1024)} MB; send fewer rows "
                                   "at a time")
    size = headers.get(b"inference-header-content-length")
    if size is not None:
        try:
            size = int(size)
        except ValueError:
            size = -1
        if not 0 < size <= len(body):
            raise ClientError(400, "Inference-Header-Content-Length must be the length of the JSON header, "
                                   "within the body")
        header, binary = body[:size], memoryview(body)[size:]
    else:
        header, binary = body, memoryview(b"")
    doc = json_body(header, '{"inputs": [{"name", "shape", "datatype", "data"}]}')
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise ClientError(400, 'the request needs "inputs": a list of tensors, each with "name", "shape", '
                               '"datatype" and "data"')
    tensors, offset = {}, 0
    for t in doc["inputs"]:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise ClientError(400, 'each input tensor needs a "name"')
        name, datatype, shape = t["name"], t.get("datatype"), t.get("shape")
        if not isinstance(datatype, str) or datatype not in NUMERIC and datatype != "BYTES":
            raise ClientError(400, f"input '{name}' has the datatype {datatype!r}; use FP64, FP32, INT64, INT32, "
                                   "BOOL or BYTES", name)
        if (not isinstance(shape, list) or not shape
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise ClientError(400, f"input '{name}' needs a \"shape\": a list of sizes, like [3] or [3, 1]", name)
        count = 1
        for d in shape:
            count *= d
        params = t.get("parameters") or {}
        if isinstance(params, dict) and params.get("binary_data_size") is not None:
            n = params["binary_data_size"]
            if not isinstance(n, int) or n < 0 or offset + n > len(binary):
                raise ClientError(400, f"input '{name}': binary_data_size goes past the end of the body", name)
            values = _from_binary(name, datatype, binary[offset:offset + n])
            offset += n
        elif "data" in t:
            values = _flat(t["data"])
            if datatype == "BOOL" and not all(isinstance(v, bool) for v in values):
                raise ClientError(422, f"input '{name}' is BOOL: its data must be true or false", name)
            if datatype in NUMERIC and datatype != "BOOL" and any(isinstance(v, bool) for v in values):
                raise ClientError(422, f"input '{name}' is {datatype}: its data must be numbers, not true or "
                                       "false", name)
        else:
            raise ClientError(400, f"input '{name}' has no \"data\"", name)
        if len(values) != count:
            raise ClientError(400, f"input '{name}' has {len(values)} values for the shape {shape} "
                                   f"({count} values)", name)
        if name in tensors:
            raise ClientError(400, f"input '{name}' is given twice", name)
        tensors[name] = (datatype, shape, values)
    return doc, tensors


def _flat(data):
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(v, list) for v in data):
        return data
    out = []
    for v in data:
        out.extend(_flat(v))
    return out


def _from_binary(name, datatype, chunk):
    if datatype != "BYTES":
        import numpy as np

        dtype = np.dtype(NUMERIC[datatype])
        if len(chunk) % dtype.itemsize:
            raise ClientError(400, f"input '{name}': {len(chunk)} bytes is not a whole number of {datatype} values",
                              name)
        return np.frombuffer(chunk, dtype=dtype).tolist()
    values, i = [], 0
    while i < len(chunk):
        if i + 4 > len(chunk):
            raise ClientError(400, f"input '{name}': the BYTES data ends inside an element's length", name)
        (n,) = struct.unpack_from("<I", chunk, i)
        i += 4
        if i + n > len(chunk):
            raise ClientError(400, f"input '{name}': a BYTES element goes past the end of its data", name)
        try:
            values.append(bytes(chunk[i:i + n]).decode("utf-8"))
        except UnicodeDecodeError:
            raise ClientError(422, f"input '{name}': its text is not UTF-8", name) from None
        i += n
    return values


def columns(service, tensors):
    """The checked columns for the model, from the request's tensors, and the number of rows."""
    if service.positional:
        if len(tensors) != 1:
            raise ClientError(400, f"this model takes one tensor of shape [rows, {len(service.names)}] (its inputs "
                                   f"have no names), not {len(tensors)}")
        ((datatype, shape, values),) = tensors.values()
        width = len(service.names) if service.inputs_known else (shape[1] if len(shape) == 2 else 0)
        if len(shape) != 2 or shape[1] != width or not width:
            raise ClientError(422, f"this model takes a tensor of shape [rows, {width or 'inputs'}], not {shape}")
        rows = [values[i:i + width] for i in range(0, len(values), width)]
        return service.columns_from_positional(rows, bools_possible=datatype == "BOOL"), len(rows)
    n = None
    for name, (_, shape, _) in tensors.items():
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise ClientError(422, f"input '{name}' must have the shape [rows] or [rows, 1], not {shape}", name)
        if n is None:
            n = shape[0]
        elif shape[0] != n:
            raise ClientError(422, f"the input tensors have different numbers of rows ({n} and {shape[0]} for "
                                   f"'{name}')", name)
    names = list(tensors)
    data = [tensors[k][2] for k in names]
    rows = [dict(zip(names, values)) for values in zip(*data)] if n else []
    return service.columns_from_named(rows), n


def wanted_outputs(service, doc):
    """[(output name, binary?)] the request asks for (all of them when it names none)."""
    known = ["predict"] + (["predict_proba"] if service.has_proba else []) + ["prediction_id"]
    params = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else {}
    binary_all = bool(params.get("binary_data_output"))
    asked = doc.get("outputs")
    if not asked:
        return [(k, binary_all) for k in known]
    out = []
    for o in asked if isinstance(asked, list) else [asked]:
        name = o.get("name") if isinstance(o, dict) else None
        if name not in known:
            raise ClientError(400, f"there is no output {name!r}; this model gives {', '.join(known)}")
        p = o.get("parameters") if isinstance(o.get("parameters"), dict) else {}
        out.append((name, bool(p.get("binary_data", binary_all))))
    return out


# -- the answer ----------------------------------------------------------------------

def response(service, doc, wanted, predictions, probas, ids):
    """(body, extra headers, content type) of the answer to an infer request."""
    outputs, blobs = [], []
    for name, binary in wanted:
        if name == "predict":
            rows = predictions
            width = len(rows[0]) if rows and isinstance(rows[0], list) else None
        elif name == "prediction_id":
            rows, width = [str(i) for i in ids], None
        else:
            rows, width = probas, len(service.labels)
        flat = [v for row in rows for v in row] if width is not None else list(rows)
        datatype = "FP64" if name == "predict_proba" else _output_type(flat) if flat else "FP64"
        tensor = {"name": name, "datatype": datatype, "shape": [len(rows)] + ([width] if width is not None else [])}
        if binary:
            blob = _to_binary(datatype, flat)
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = [str(v) for v in flat] if datatype == "BYTES" else flat
        outputs.append(tensor)
    answer = {"model_name": service.name, "model_version": service.version, "outputs": outputs}
    if isinstance(doc.get("id"), str):
        answer["id"] = doc["id"]
    head = dumps(answer)
    if not blobs:
        return head, b"", b"application/json"
    return head + b"".join(blobs), b"inference-header-content-length: %d\r\n" % len(head), b"application/octet-stream"


def _to_binary(datatype, flat):
    if datatype == "BYTES":
        parts = []
        for v in flat:
            b = str(v).encode("utf-8")
            parts.append(struct.pack("<I", len(b)) + b)
        return b"".join(parts)
    import numpy as np

    return np.asarray(flat, dtype=NUMERIC[datatype]).tobytes()
