"""The Open Inference Protocol (V2 REST), called with Triton's own client library
(tritonclient[http]) the way its users call it: binary tensors by default, JSON when asked.
Its predictions equal /v1/predict's and are journaled the same way. The service runs for
real on 127.0.0.1."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from deskml.core.monitoring import export
from deskml.core.monitoring.store import JournalStore
from test_journal import serving

NAME = "coffee"     # test_journal's service name


@pytest.fixture
def rows(demo):
    return pd.read_csv(demo.reference).drop(columns="comes_back")


def _inputs(frame, binary=True):
    tensors = []
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind in "if":
            data, datatype = col.to_numpy(dtype=np.float64), "FP64"
        else:
            data, datatype = col.astype(str).to_numpy(dtype=object), "BYTES"
        t = triton.InferInput(name, [len(frame)], datatype)
        t.set_data_from_numpy(data, binary_data=binary)
        tensors.append(t)
    return tensors


def test_triton_client_gets_the_same_predictions_as_v1_and_they_are_journaled(demo, rows, tmp_path):
    store = JournalStore(tmp_path / "model")
    batch = rows.head(40)
    with serving(demo.model, store.files) as url:
        v1 = requests.post(url + "/v1/predict", json={"inputs": batch.to_dict("records")}).json()
        client = triton.InferenceServerClient(url.removeprefix("http://"))
        assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(NAME)
        meta = client.get_model_metadata(NAME)
        assert meta["name"] == NAME and meta["versions"] == ["2"]
        types = {t["name"]: t["datatype"] for t in meta["inputs"]}
        assert types["age"] == "FP64" and types["store"] == "BYTES" and set(types) == set(rows.columns)
        assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba", "prediction_id"]

        binary = client.infer(NAME, _inputs(batch))                       # the client's default: binary
        as_json = client.infer(NAME, _inputs(batch, binary=False), request_id="r-1",
                               outputs=[triton.InferRequestedOutput("predict", binary_data=False),
                                        triton.InferRequestedOutput("predict_proba", binary_data=False)])
        by_version = client.infer(NAME, _inputs(batch.head(3)), model_version="2")
        with pytest.raises(InferenceServerException, match="'store' has the unknown value 'Mars'"):
            client.infer(NAME, _inputs(batch.head(2).assign(store="Mars")))
        with pytest.raises(InferenceServerException, match="no model 'tea'"):
            client.infer("tea", _inputs(batch.head(2)))
        with pytest.raises(InferenceServerException, match="'age'"):
            client.infer(NAME, _inputs(batch.head(2).drop(columns="age")))
        client.close()

    expected = v1["predictions"]
    yes = [p["yes"] for p in v1["probabilities"]]
    for result in (binary, as_json):
        got = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict").tolist()]
        assert got == expected
        proba = result.as_numpy("predict_proba")
        assert proba.shape == (40, 2) and np.allclose(proba[:, 1], yes, atol=1e-6)
    assert as_json.get_response()["id"] == "r-1"
    assert as_json.as_numpy("prediction_id") is None                         # not asked for
    ids = [i.decode() for i in binary.as_numpy("prediction_id").tolist()]
    assert len(set(ids)) == 40
    assert [v.decode() for v in by_version.as_numpy("predict").tolist()] == expected[:3]

    store.ingest(live=set())
    frame = export.frame(store).set_index("id")
    oip_rows = frame.loc[ids]
    assert oip_rows["prediction"].tolist() == expected and (oip_rows["source"] == "api").all()
    assert np.allclose(oip_rows["probability_yes"], yes, atol=1e-9)
    assert oip_rows["age"].tolist() == batch["age"].tolist()
    refused = frame[frame.status != 200]
    assert sorted(refused.status.tolist()) == [404, 422, 422]
    assert len(frame) == 40 + 40 + 40 + 3 + 3          # v1, binary, JSON, by version, and the refusals


def test_a_positional_model_takes_one_2d_tensor(tmp_path):
    import joblib
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    joblib.dump(RandomForestRegressor(n_estimators=10, random_state=0).fit(X, X @ [1, 2, 0, -1]),
                tmp_path / "numbers.joblib")
    with serving(tmp_path / "numbers.joblib", tmp_path / "journal") as url:
        v1 = requests.post(url + "/v1/predict", json={"instances": X[:25].tolist()}).json()["predictions"]
        client = triton.InferenceServerClient(url.removeprefix("http://"))
        meta = client.get_model_metadata(NAME)
        assert meta["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 4]}]
        t = triton.InferInput("input", [25, 4], "FP32")                  # any number type will do
        t.set_data_from_numpy(X[:25].astype(np.float32))
        got = client.infer(NAME, [t]).as_numpy("predict")
        assert got.dtype == np.float64 and np.allclose(got, v1, atol=1e-4)
        with pytest.raises(InferenceServerException, match=r"shape \[rows, 4\]"):
            t = triton.InferInput("input", [25, 3], "FP64")
            t.set_data_from_numpy(X[:25, :3])
            client.infer(NAME, [t])
        client.close()
        # plain JSON as the protocol writes it, nested data and all (MLServer's clients send this)
        body = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP64", "data": X[:2].tolist()}]}
        answer = requests.post(f"{url}/v2/models/{NAME}/infer", json=body).json()
        assert answer["model_name"] == NAME and answer["outputs"][0]["data"] == pytest.approx(v1[:2])
        for n in (2, 40):       # true in a number tensor is refused at any size (it was read as 1.0 from 32 rows)
            data = X[:n].tolist()
            data[-1][2] = True
            body = {"inputs": [{"name": "input", "shape": [n, 4], "datatype": "FP64", "data": data}]}
            r = requests.post(f"{url}/v2/models/{NAME}/infer", json=body)
            assert r.status_code == 422 and "must be numbers" in r.json()["error"], (n, r.text)


MISTAKES = [
    (b"", 400, "empty"),
    (b"{not json", 400, "not valid JSON"),
    (b'{"inputs": []}', 400, '"inputs"'),
    (b'{"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1]}]}', 400, "1 values for the shape"),
    (b'{"inputs": [{"name": "age", "shape": [1], "datatype": "COMPLEX", "data": [1]}]}', 400, "datatype"),
    (b'{"inputs": [{"name": "age", "shape": "one", "datatype": "FP64", "data": [1]}]}', 400, "shape"),
    (b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": 8}}]}',
     400, "past the end"),
    (b'{"inputs": [{"name": "age", "shape": [1], "datatype": [1], "data": [1]}]}', 400, "datatype"),
    (b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [true]}]}', 422, "must be numbers"),
]


def test_protocol_mistakes_are_4xx_with_the_protocols_error(demo, tmp_path):
    with serving(demo.model, tmp_path / "journal") as url:
        for body, status, phrase in MISTAKES:
            r = requests.post(f"{url}/v2/models/{NAME}/infer", data=body)
            assert r.status_code == status and phrase in r.json()["error"], (body, r.text)
        wrong = requests.get(f"{url}/v2/models/{NAME}/infer")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST" and "use POST" in wrong.json()["error"]
        assert requests.get(f"{url}/v2/models/tea").status_code == 404
        assert requests.get(f"{url}/v2").json()["extensions"] == ["binary_tensor_data"]


def test_compressed_bodies_are_read_and_a_compression_bomb_is_refused(demo, rows, tmp_path):
    import gzip
    import json

    body = {"inputs": [{"name": n, "shape": [2], "datatype": "FP64" if rows[n].dtype.kind in "if" else "BYTES",
                        "data": rows[n].head(2).tolist()} for n in rows.columns]}
    with serving(demo.model, tmp_path / "journal") as url:
        plain = requests.post(f"{url}/v2/models/{NAME}/infer", json=body).json()
        packed = requests.post(f"{url}/v2/models/{NAME}/infer", data=gzip.compress(json.dumps(body).encode()),
                               headers={"Content-Encoding": "gzip"}).json()
        assert packed["outputs"][0]["data"] == plain["outputs"][0]["data"] and len(plain["outputs"][0]["data"]) == 2
        bomb = gzip.compress(b" " * (30 * 1024 * 1024))          # 30 KB that unpack to 30 MB
        r = requests.post(f"{url}/v2/models/{NAME}/infer", data=bomb, headers={"Content-Encoding": "gzip"})
        assert r.status_code == 413 and "unpacks to over 20 MB" in r.json()["error"]
        assert requests.get(url + "/health").status_code == 200   # and the service goes on


def test_with_an_api_key_the_model_is_not_named_to_strangers(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("DESKML_API_KEY", "s3cret")
    with serving(demo.model, tmp_path / "journal") as url:
        assert requests.get(f"{url}/v2/health/ready").status_code == 200          # probes need no key
        stranger = requests.get(f"{url}/v2/models/tea")
        assert stranger.status_code == 401 and "coffee" not in stranger.text
        meta = requests.get(f"{url}/v2/models/{NAME}", headers={"Authorization": "Bearer s3cret"})
        assert meta.status_code == 200 and meta.json()["name"] == NAME
