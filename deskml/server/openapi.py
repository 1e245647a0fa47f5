"""The OpenAPI document and the small HTML page at ``/docs``, generated from the model's inputs."""
import json


def input_schema(item):
    """The JSON Schema of one input: exactly what the service accepts for it. Ranges seen in
    the data are hints (the service accepts numbers beyond them), so they are no limits."""
    kind = item["kind"]
    if not item.get("used", True):
        return {"description": "Not used by the model: it may be left out, and any value is ignored."}
    if kind == "number":
        schema = {"type": "number"}
        if item.get("min") is not None and item.get("max") is not None:
            schema["description"] = f"In the data the model learned from: {item['min']} to {item['max']} (a hint)."
            schema["x-deskml-range"] = [item["min"], item["max"]]
    elif kind == "category" and item.get("categories"):
        schema = {"enum": list(item["categories"])}
    elif kind == "text":
        schema = {"type": "string"}
    else:  # unknown, or a category whose choices the file does not list: a number or text
        schema = {"anyOf": [{"type": "number"}, {"type": "string"}]}
    if item.get("example") is not None and kind in ("number", "category", "text"):
        schema["example"] = item["example"]
    return schema


def _csv_cell(value):
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


def _regex_literal(text):
    return "".join("\\" + ch if ch in "\\^$.|?*+()[]{}/" else ch for ch in text)


def csv_pattern(inputs):
    """A regular expression for a CSV the service accepts (the header in the model's order, then
    rows): a hint for generated clients. The service also takes columns in any order, extra
    columns, CRLF line ends and quoting."""
    header = ",".join(_regex_literal(_csv_cell(i["name"])) for i in inputs)
    cells = []
    for i in inputs:
        if i.get("used", True) and i["kind"] == "number":
            cells.append(r"-?[0-9]{1,6}(\.[0-9]{1,4})?")
        elif i.get("used", True) and i["kind"] == "category" and i.get("categories"):
            cells.append("(" + "|".join(_regex_literal(_csv_cell(c)) for c in i["categories"]) + ")")
        else:
            cells.append(r"[A-Za-z0-9 ]{0,20}")
    return f"^{header}\\n({','.join(cells)}\\n){{1,20}}$"


def openapi(service, api_key=False):
    """The service's OpenAPI 3.1 document, generated from the model's inputs so that a generated
    client (or a fuzzer) sends what the service accepts: names, kinds, choices, required inputs,
    and the value of each position of an ``instances`` row."""
    from .service import MAX_ROWS

    inputs = service.inputs
    row = {"type": "object", "properties": {i["name"]: input_schema(i) for i in inputs},
           "required": list(service.required), "additionalProperties": False}
    if service.inputs_known:
        instance = {"type": "array", "minItems": len(inputs), "maxItems": len(inputs),
                    "prefixItems": [input_schema(i) for i in inputs], "items": False,
                    "description": "The values in this order: " + ", ".join(i["name"] for i in inputs)}
    else:  # the file names no inputs: rows of numbers, as many as the model was fitted with
        instance = {"type": "array", "minItems": 1, "items": {"type": "number"}}
    passthrough = {  # kept with the prediction, never given to the model (a list: one per row)
        "key": {"type": "string", "maxLength": 200,
                "description": "Your own key for this prediction (an order number, say), to send its real "
                               "outcome by later (kept with each row of the request)"},
        "fields": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                   "description": "Fields kept with the prediction (a store, an age band), never given to "
                                  "the model"}}
    named = {"type": "object", "required": ["inputs"], "additionalProperties": False, "properties": {
        "inputs": {"type": "array", "items": row, "minItems": 1, "maxItems": MAX_ROWS}, **passthrough}}
    ordered = {"type": "object", "required": ["instances"], "additionalProperties": False, "properties": {
        "instances": {"type": "array", "items": instance, "minItems": 1, "maxItems": MAX_ROWS}, **passthrough}}
    body = {"oneOf": [named, ordered]} if service.inputs_known else ordered
    example = ({"inputs": [service.example_row()]} if service.inputs_known and not service.positional
               else {"instances": [[service.example_row().get(i["name"], 0) for i in inputs]]}
               if service.inputs_known else {"instances": [[0]]})

    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message"], "properties": {
            "message": {"type": "string"}, "input": {"type": "string"}, "row": {"type": "integer"}}}}}
    value = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]}
    prediction = {"type": "array", "items": value} if service.n_outputs > 1 else value
    answer = {"type": "object", "required": ["predictions", "model_version", "ids"], "properties": {
        "predictions": {"type": "array", "items": prediction},
        "probabilities": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "number"}}},
        "model_version": {"type": "string"},
        "ids": {"type": "array", "items": {"type": "string"}}}}

    def errors(*codes):
        words = {400: "The request is not valid JSON or CSV", 401: "The API key is missing or wrong",
                 413: f"Too large: more than {MAX_ROWS} rows, or a body over 20 MB",
                 409: "This service keeps no journal, so it cannot keep outcomes",
                 422: "An input is missing, unknown or of the wrong kind"}
        return {str(c): {"description": words[c], "content": {"application/json": {"schema": error}}}
                for c in codes if c != 401 or api_key}

    names = [i["name"] for i in inputs]
    csv_example = (",".join(_csv_cell(n) for n in names) + "\n"
                   + ",".join(_csv_cell(service.example_row().get(n, "")) for n in names) + "\n")
    json_object = {"application/json": {"schema": {"type": "object"}}}
    doc = {
        "openapi": "3.1.0",
        "info": {"title": f"{service.name} (DeskML)", "version": service.version,
                 "description": f"Predictions of the model '{service.name}', version {service.version}."},
        "paths": {
            "/v1/predict": {"post": {
                "summary": "Predict", "operationId": "predict",
                "requestBody": {"required": True, "content": {"application/json": {"schema": body,
                                                                                     "example": example}}},
                "responses": {"200": {"description": "Predictions",
                                      "content": {"application/json": {"schema": answer}}},
                              **errors(400, 401, 413, 422)}}},
            "/v1/predict/csv": {"post": {
                "summary": "Score a CSV file: a header row with the input names, then one row per case",
                "operationId": "predict_csv",
                "requestBody": {"required": True, "content": {"text/csv": {
                    "schema": {"type": "string", "minLength": 1, "pattern": csv_pattern(inputs),
                               "description": "A header row naming the inputs (any order; other columns are "
                                              "kept), then one row per case. UTF-8, LF or CRLF line ends."},
                    "example": csv_example}}},
                "responses": {"200": {"description": "The CSV with prediction columns added",
                                      "content": {"text/csv": {"schema": {"type": "string"}}}},
                              **errors(400, 401, 422)}}},
            "/v1/outcomes": {"post": {
                "summary": "Real outcomes: what really happened, for predictions made before",
                "operationId": "outcomes",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "array", "minItems": 1, "maxItems": 10_000, "items": {
                        "type": "object", "additionalProperties": False, "required": ["actual"],
                        "properties": {"id": {"type": "string", "description": "The prediction id an answer gave"},
                                       "key": {"type": "string", "description": "Your own key, given with the "
                                                                                "prediction"},
                                       "actual": {"type": ["string", "number", "boolean"]}},
                        "oneOf": [{"required": ["id"]}, {"required": ["key"]}]}},
                    "example": [{"id": "0190a1b2c3d4e5f6a-0", "actual": "yes"}]}}},
                "responses": {"200": {"description": "Received: DeskML joins them to their predictions",
                                      "content": json_object},
                              **errors(400, 401, 409, 413, 422)}}},
            "/v1/model": {"get": {"summary": "The model and its inputs", "operationId": "model",
                                  "responses": {"200": {"description": "OK", "content": json_object},
                                                **errors(401)}}},
            "/health": {"get": {"summary": "Ready when the model answered a self-test", "operationId": "health",
                                "responses": {"200": {"description": "Ready", "content": json_object},
                                              "503": {"description": "Starting", "content": json_object}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                                 "responses": {"200": {"description": "OK",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}},
                                               **errors(401)}}},
        },
    }
    if api_key:
        doc["components"] = {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}}
        for path, ops in doc["paths"].items():
            if path != "/health":
                for op in ops.values():
                    op["security"] = [{"apiKey": []}]
    return doc


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
