"""The serving app, run for real as a local process on 127.0.0.1."""
from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import pandas as pd
import pytest
import requests

from deskml.core.errors import ServiceUnhealthy
from deskml.core.runtimes.base import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(demo):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(demo.model),
                             "--name", "coffee", "--version", "3", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 60, alive=lambda: proc.poll() is None)
    except ServiceUnhealthy:
        raise RuntimeError(proc.stderr.read().decode()) from None
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def reference(demo):
    return pd.read_csv(demo.reference)


def _rows(reference, n):
    cols = [c for c in reference.columns if c != "comes_back"]
    return reference[cols].head(n)


def test_health_and_model(server):
    h = requests.get(server + "/health").json()
    assert h["status"] == "ok" and h["version"] == "3"
    m = requests.get(server + "/v1/model").json()
    assert m["name"] == "coffee" and m["task"] == "classification"
    assert [i["name"] for i in m["inputs"]][:2] == ["visits_per_month", "avg_basket_eur"]
    assert set(m["example"]) == {i["name"] for i in m["inputs"]}


def test_predictions_match_the_model(server, demo, reference):
    model = joblib.load(demo.model)
    X = _rows(reference, 50)
    r = requests.post(server + "/v1/predict", json={"inputs": X.to_dict("records")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["predictions"] == model.predict(X).tolist()
    proba = model.predict_proba(X)
    assert [round(p["yes"], 6) for p in body["probabilities"]] == [round(p, 6) for p in proba[:, 1]]
    assert body["model_version"] == "3" and len(set(body["ids"])) == 50


def test_concurrent_requests_each_get_their_own_answer(server, demo, reference):
    model = joblib.load(demo.model)
    X = _rows(reference, 64)
    expected = model.predict(X).tolist()
    rows = X.to_dict("records")

    def one(i):
        return requests.post(server + "/v1/predict", json={"inputs": [rows[i]]}).json()["predictions"][0]

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(one, range(64)))
    assert got == expected


def test_csv_scoring(server, demo, reference):
    model = joblib.load(demo.model)
    data = Path(demo.reference).read_bytes()
    r = requests.post(server + "/v1/predict/csv", data=data, headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    out = pd.read_csv(io.StringIO(r.text))
    assert list(out.columns) == list(reference.columns) + ["prediction", "probability_no", "probability_yes",
                                                           "prediction_id"]
    X = _rows(reference, len(reference))
    assert out["prediction"].tolist() == model.predict(X).tolist()
    assert len(out) == 600 and out["prediction_id"].nunique() == 600


BAD = [
    ("missing input", {"inputs": [{"visits_per_month": 3}]}, 422, "avg_basket_eur"),
    ("unknown input", "extra", 422, "shoe_size"),
    ("wrong type", "wrong_type", 422, "must be a number"),
    ("not finite", "not_finite", 422, "finite"),
    ("unknown category", "bad_category", 422, "unknown value 'Airport'"),
    ("empty list", {"inputs": []}, 422, "non-empty"),
    ("no inputs key", {"rows": []}, 400, '"inputs"'),
    ("not an object", [1, 2], 400, "JSON object"),
    ("row not an object", {"inputs": [[1, 2]]}, 422, "object of input names"),
    ("positional wrong length", {"instances": [[1, 2]]}, 422, "list of 7 values"),
]


@pytest.mark.parametrize("label,payload,status,phrase", BAD, ids=[b[0] for b in BAD])
def test_client_mistakes_are_4xx_and_name_the_input(server, reference, label, payload, status, phrase):
    good = _rows(reference, 1).to_dict("records")[0]
    if payload == "extra":
        payload = {"inputs": [{**good, "shoe_size": 42}]}
    elif payload == "wrong_type":
        payload = {"inputs": [{**good, "age": "forty"}]}
    elif payload == "not_finite":
        payload = {"inputs": [{**good, "age": 1e999}]}
    elif payload == "bad_category":
        payload = {"inputs": [{**good, "store": "Airport"}]}
    data = json.dumps(payload).replace("Infinity", "1e999")
    r = requests.post(server + "/v1/predict", data=data, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert phrase in r.json()["error"]["message"]
    assert requests.get(server + "/health").status_code == 200  # still answering


@pytest.mark.parametrize("body,status,phrase", [
    (b"", 400, "empty"), (b"{not json", 400, "not valid JSON"), (b"\xff\xfe", 400, "not valid JSON")])
def test_body_mistakes(server, body, status, phrase):
    r = requests.post(server + "/v1/predict", data=body)
    assert r.status_code == status and phrase in r.json()["error"]["message"]


def test_too_large(server):
    r = requests.post(server + "/v1/predict", data=b"[" + b"1," * (11 * 1024 * 1024) + b"1]")
    assert r.status_code == 413 and "too large" in r.json()["error"]["message"]
    assert requests.get(server + "/health").status_code == 200


def test_csv_mistakes(server):
    r = requests.post(server + "/v1/predict/csv", data=b"")
    assert r.status_code == 400
    r = requests.post(server + "/v1/predict/csv", data=b"age,store\n30,Centre\n")
    assert r.status_code == 422 and "visits_per_month" in r.json()["error"]["message"]


def test_unknown_path_and_method(server):
    assert requests.get(server + "/v2/nothing").status_code == 404
    assert requests.get(server + "/v1/predict").status_code == 405


def test_metrics_and_openapi(server):
    text = requests.get(server + "/metrics").text
    assert 'deskml_requests_total{model="coffee",version="3",endpoint="/v1/predict",status="200"}' in text
    assert "deskml_request_seconds_bucket" in text and "deskml_errors_total" in text
    spec = requests.get(server + "/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/v1/predict" in spec["paths"]
    row = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert set(row["inputs"][0]) >= {"store", "age"}
    assert "coffee" in requests.get(server + "/docs").text


def test_batcher_combines_waiting_requests(demo):
    """Ten requests waiting at once are answered by one predict call."""
    from deskml.server.app import Batcher, Metrics
    from deskml.server.service import ModelService

    from deskml.server.journal import Journal

    svc = ModelService(joblib.load(demo.model))
    calls = []
    real = svc.predict_columns
    svc.predict_columns = lambda cols: calls.append(len(next(iter(cols.values())))) or real(cols)
    metrics = Metrics()
    batcher = Batcher(svc, metrics, Journal("off", "m", "1", svc.names))
    row = svc.columns_from_named([svc.example_row()])

    async def go():
        answers = []

        def finish(preds, proba, error):
            return b"", lambda: answers.append(svc.answer(preds, proba))
        for _ in range(10):  # ten requests parsed in one loop turn
            batcher.submit(row, 1, finish)
        await asyncio.sleep(0)  # the turn ends: one predict call answers them all
        return answers

    results = asyncio.run(go())
    assert calls == [10] and metrics.batches == 1 and len(results) == 10
    assert all(r["predictions"] == results[0]["predictions"] for r in results)


def test_refuses_lan_without_api_key(demo):
    proc = subprocess.run([sys.executable, "-m", "deskml.server", "--model", str(demo.model), "--host", "0.0.0.0"],
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "API key" in proc.stderr


@pytest.mark.parametrize("change,phrase", [
    (("age", "forty"), "'age' must be a finite number, not 'forty' (CSV row 4)"),
    (("age", ""), "'age' must be a finite number, not empty (CSV row 4)"),
    (("store", "Airport"), "'store' has the unknown value 'Airport' in CSV row 4"),
])
def test_csv_cell_mistakes_name_the_input_and_row(server, reference, change, phrase):
    frame = reference.drop(columns="comes_back").head(5).astype(object)
    frame.loc[2, change[0]] = change[1]
    r = requests.post(server + "/v1/predict/csv", data=frame.to_csv(index=False).encode())
    assert r.status_code == 422 and phrase in r.json()["error"]["message"], r.text
    assert requests.get(server + "/health").status_code == 200


def test_csv_ragged_row(server, reference):
    text = reference.drop(columns="comes_back").head(3).to_csv(index=False) + "1,2,3,4,5,6,7,8,9\n"
    r = requests.post(server + "/v1/predict/csv", data=text.encode())
    assert r.status_code == 400 and "cannot be read" in r.json()["error"]["message"]


def test_a_malformed_csv_header_is_the_clients_mistake(server, reference):
    """A bare carriage return inside the header row (found by schemathesis): 400, not 500."""
    header = ",".join(reference.columns[:-1]).replace(",age", ",a\rge")
    r = requests.post(server + "/v1/predict/csv", data=(header + "\n1,2,3,4,yes,tea,Centre\n").encode())
    assert r.status_code == 400, r.text
    assert "header row cannot be read" in r.json()["error"]["message"]
    assert requests.get(server + "/health").status_code == 200


def test_a_large_batch_of_numbers_is_checked_as_closely_as_a_small_one(tmp_path):
    """Rows of plain numbers are converted in one go (the fast path of large JSON batches);
    whatever is not a plain finite number among them (true, a text, null, a list) is still
    refused with the input and the row named, and the answers are the model's own."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4)) * [1, 10, 100, 1000]
    model = LogisticRegression(max_iter=2000).fit(X, (X[:, 0] + X[:, 1] / 10 > 0).astype(int))
    path = tmp_path / "numbers.joblib"
    joblib.dump(model, path)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(path), "--port", str(port),
                             "--journal", str(tmp_path / "journal")], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 60, alive=lambda: proc.poll() is None)
        rows = X[:300].tolist()
        rows[7][2] = int(rows[7][2])  # whole numbers are numbers too
        answer = requests.post(url + "/v1/predict", json={"instances": rows}).json()
        expected = np.asarray(rows, dtype=float)
        assert answer["predictions"] == model.predict(expected).tolist()
        assert np.allclose([p["1"] for p in answer["probabilities"]], model.predict_proba(expected)[:, 1], atol=1e-6)
        for bad, phrase in ((True, "x2"), ("12.5", "x2"), (None, "x2"), ([1.0], "x2")):
            wrong = [list(r) for r in rows]
            wrong[123][2] = bad
            refused = requests.post(url + "/v1/predict", json={"instances": wrong})
            assert refused.status_code == 422, (bad, refused.text)
            error = refused.json()["error"]
            assert phrase in error["message"] and error.get("row") == 123, (bad, error)
        text = json.dumps({"instances": rows}).replace(json.dumps(rows[50][1]), "Infinity", 1)
        refused = requests.post(url + "/v1/predict", data=text, headers={"Content-Type": "application/json"})
        assert refused.status_code == 422 and "finite" in refused.json()["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(10)
    lines = [json.loads(line) for f in (tmp_path / "journal").glob("journal-*.jsonl")
             for line in f.read_bytes().splitlines()]
    kept = next(r for r in lines if r["k"] == "p" and r["n"] == 300)
    assert kept["in"]["x2"][7] == rows[7][2] and kept["in"]["x0"][:3] == [r[0] for r in rows[:3]]
