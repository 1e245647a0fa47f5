"""Models of the shapes that published apps use, served for real on 127.0.0.1: inputs the
model does not use, several values per row, columns fitted in another order than the
ColumnTransformer names them, names the model keeps as numpy strings, and CSVs whose
quoted values hold line ends. Also the client mistakes that once came back as 500."""
from __future__ import annotations

import io
import subprocess
import sys
from contextlib import contextmanager

import joblib
import numpy as np
import pandas as pd
import pytest
import requests

from deskml.core.errors import ServiceUnhealthy
from deskml.core.runtimes.base import free_port, wait_healthy
from deskml.server.app import App
from deskml.server.service import ModelService


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(11)
    n = 200
    cols = {f"f{i:02d}": rng.normal(size=n).round(3) for i in range(16)}
    cols["diagnosis_day"] = rng.integers(1, 28, n)
    cols["clinic"] = rng.choice(["north", "south"], n)
    return pd.DataFrame(cols)


@contextmanager
def served(model, folder):
    """The model saved in ``folder`` and served by a real server on 127.0.0.1: its address."""
    path = folder / "model.joblib"
    joblib.dump(model, path)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(path), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(url, 60, alive=lambda: proc.poll() is None)
        except ServiceUnhealthy:
            raise RuntimeError(proc.stdout.read().decode()) from None
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def dropper(frame, tmp_path_factory):
    """Fitted on 18 columns, uses 16: remainder='drop' leaves out diagnosis_day and clinic."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    used = [f"f{i:02d}" for i in range(16)]
    model = make_pipeline(ColumnTransformer([("n", StandardScaler(), used[::-1])], remainder="drop"),
                          LogisticRegression()).fit(frame, frame.f00 + frame.f01 > 0)
    with served(model, tmp_path_factory.mktemp("dropper")) as url:
        yield model, url, used


def test_inputs_the_model_does_not_use_may_be_left_out(dropper, frame):
    model, url, used = dropper
    info = requests.get(url + "/v1/model").json()
    assert [i["name"] for i in info["inputs"] if not i["used"]] == ["diagnosis_day", "clinic"]
    assert set(info["example"]) == set(used)
    rows = frame[used].head(20)
    answer = requests.post(url + "/v1/predict", json={"inputs": rows.to_dict("records")}).json()
    assert answer["predictions"] == model.predict(frame.head(20)).tolist()
    # sent anyway, they are ignored; a name that is no input at all is still refused
    full = requests.post(url + "/v1/predict", json={"inputs": frame.head(20).to_dict("records")}).json()
    assert full["predictions"] == answer["predictions"]
    wrong = requests.post(url + "/v1/predict", json={"inputs": [{**rows.iloc[0].to_dict(), "colour": 1}]})
    assert wrong.status_code == 422 and "'colour' is not an input" in wrong.json()["error"]["message"]
    missing = requests.post(url + "/v1/predict", json={"inputs": [rows.iloc[0].drop("f03").to_dict()]})
    assert missing.status_code == 422 and "input 'f03' is missing" in missing.json()["error"]["message"]
    scored = requests.post(url + "/v1/predict/csv", data=rows.to_csv(index=False).encode())
    assert scored.status_code == 200
    assert pd.read_csv(io.StringIO(scored.text))["prediction"].tolist() == answer["predictions"]
    doc = requests.get(url + "/openapi.json").json()
    row = doc["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert row["properties"]["inputs"]["items"]["required"] == used


@pytest.fixture(scope="module")
def multi(frame, tmp_path_factory):
    """12 values per row, as a published app's regressor predicted."""
    from sklearn.linear_model import LinearRegression
    from sklearn.multioutput import MultiOutputRegressor

    X = frame[["f00", "f01", "f02"]]
    y = np.column_stack([X.f00 * k + 2700 for k in range(12)])
    model = MultiOutputRegressor(LinearRegression()).fit(X, y)
    with served(model, tmp_path_factory.mktemp("multi")) as url:
        yield model, url, X


def test_a_multi_output_model_answers_lists_of_numbers(multi):
    model, url, X = multi
    answer = requests.post(url + "/v1/predict", json={"inputs": X.head(5).to_dict("records")}).json()
    assert all(isinstance(p, list) and len(p) == 12 and all(isinstance(v, float) for v in p)
               for p in answer["predictions"])
    assert np.allclose(answer["predictions"], model.predict(X.head(5)))
    assert requests.get(url + "/v1/model").json()["outputs"]["n_outputs"] == 12
    scored = pd.read_csv(io.StringIO(requests.post(url + "/v1/predict/csv",
                                                   data=X.head(5).to_csv(index=False).encode()).text))
    assert [c for c in scored.columns if c.startswith("prediction")] == [f"prediction_{k}" for k in range(1, 13)] + [
        "prediction_id"]
    assert np.allclose(scored[[f"prediction_{k}" for k in range(1, 13)]].to_numpy(), model.predict(X.head(5)))


def test_input_names_kept_as_numpy_strings_serve(frame):
    """XGBoost keeps feature_names_in_ as numpy strings: the OpenAPI document once crashed on them
    (orjson: "Dict key must be str")."""
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(frame[["f00", "f01"]], frame.f02)
    model.feature_names_in_ = np.array(["f00", "f01"], dtype=np.str_)
    app = App(ModelService(model))
    app.start()
    assert app.self_test == "passed" and b'"f00"' in app._openapi


@pytest.fixture(scope="module")
def demo_server(demo, tmp_path_factory):
    with served(joblib.load(demo.model), tmp_path_factory.mktemp("demo")) as url:
        yield url


def test_quoted_line_ends_stay_inside_their_row(demo_server, demo):
    """A quoted value may hold a newline or a Unicode line separator: the row stays whole, each
    row gets its own prediction, and none is lost."""
    ref = pd.read_csv(demo.reference).drop(columns="comes_back").head(4)
    ref["note"] = ["plain", "two\nlines", "line\u2028separator", 'a "quoted", comma']
    text = ref.to_csv(index=False)
    scored = requests.post(demo_server + "/v1/predict/csv", data=text.encode())
    assert scored.status_code == 200, scored.text
    back = pd.read_csv(io.StringIO(scored.text))
    assert back["note"].tolist() == ref["note"].tolist() and len(back) == 4
    direct = requests.post(demo_server + "/v1/predict",
                           json={"inputs": ref.drop(columns="note").to_dict("records")}).json()
    assert back["prediction"].tolist() == direct["predictions"]


@pytest.mark.parametrize("body,status,phrase", [
    ({"inputs": [{"store": {}}]}, 422, "'store' must be one of its choices, not a list or object"),
    ({"inputs": [{"store": ["Campus"]}]}, 422, "'store' must be one of its choices"),
    ({"inputs": [{"visits_per_month": 10 ** 400}]}, 422, "'visits_per_month' is too large a number"),
    ({"inputs": [{}], "instances": [[1]]}, 400, 'with "inputs" (rows of named values) or "instances"'),
    ({"rows": []}, 400, 'with "inputs" (rows of named values) or "instances"'),
])
def test_client_mistakes_found_by_fuzzing_are_4xx(demo_server, demo, body, status, phrase):
    ref = pd.read_csv(demo.reference).drop(columns="comes_back")
    if "inputs" in body and body["inputs"] and not body.get("instances"):
        body = {"inputs": [{**ref.iloc[0].to_dict(), **body["inputs"][0]}]}
    import json
    r = requests.post(demo_server + "/v1/predict", data=json.dumps(body).encode(),
                      headers={"content-type": "application/json"})
    assert r.status_code == status and phrase in r.json()["error"]["message"], r.text


def test_other_methods_get_405_with_allow(demo_server):
    r = requests.request("TRACE", demo_server + "/v1/predict")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = requests.delete(demo_server + "/v1/model")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


def test_a_csv_with_old_mac_line_ends_is_explained(demo_server, demo):
    text = pd.read_csv(demo.reference).drop(columns="comes_back").head(3).to_csv(index=False, lineterminator="\r")
    r = requests.post(demo_server + "/v1/predict/csv", data=text.encode())
    assert r.status_code == 400 and "old Mac format" in r.json()["error"]["message"]
