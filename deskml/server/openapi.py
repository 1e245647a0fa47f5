"""The OpenAPI document and the small HTML page at ``/docs``, generated from the model's inputs."""
import json


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
