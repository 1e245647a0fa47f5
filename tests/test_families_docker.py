"""Several estimator families, and a model saved by scikit-learn 1.0.2 on Python 3.9,
build, run in containers and give the same predictions as where they were saved."""
from __future__ import annotations


import joblib
import numpy as np
import pytest
import pandas as pd
import requests
import tritonclient.http as triton

import benign
import oldmodel
from conftest import deployer
from deskml.core.registry import Registry

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return Registry(tmp_path_factory.mktemp("registry") / "r.sqlite3")


@pytest.fixture(scope="module")
def deployed(docker_client, registry):
    with deployer(docker_client, registry, default_port=8700, events=True) as deploy:
        yield deploy


FAMILIES = [benign.text_tfidf_svc, benign.random_forest, benign.hist_gradient_boosting, benign.kmeans,
            benign.lightgbm_classifier]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_family_in_a_container(family, deployed, tmp_path):
    model, task, _ = family()
    path = tmp_path / f"{family.__name__}.joblib"
    joblib.dump(model, path)
    if family is benign.text_tfidf_svc:
        X = [["great coffee and friendly staff"], ["rude and cold"], ["lovely cake"]]
        expected = model.predict([r[0] for r in X]).tolist()
    else:
        X = benign._xy(n=30, seed=5)[0].round(4)
        expected = model.predict(X).tolist()
        X = X.tolist()
    info, version, running, _ = deployed(path, f"family {family.__name__}")
    if family is benign.lightgbm_classifier:
        assert any(r.startswith("lightgbm==") for r in version.requirements)
    body = requests.post(running.url + "/v1/predict", json={"instances": X}, timeout=30)
    assert body.status_code == 200, body.text
    assert body.json()["predictions"] == expected
    assert requests.get(running.url + "/v1/model").json()["task"] == task
    # the same through the Open Inference Protocol: one [rows, inputs] tensor, binary, as Triton's client sends
    tensor = triton.InferInput("input", [len(X), len(X[0])], "BYTES" if isinstance(X[0][0], str) else "FP64")
    tensor.set_data_from_numpy(np.array(X, dtype=object if isinstance(X[0][0], str) else np.float64))
    with triton.InferenceServerClient(running.url.removeprefix("http://")) as client:
        got = client.infer(f"family {family.__name__}", [tensor]).as_numpy("predict").tolist()
    assert [g.decode() if isinstance(g, bytes) else g for g in got] == expected


def test_model_saved_with_old_sklearn_runs_on_python_39(docker_client, deployed, tmp_path_factory):
    path, saved = oldmodel.make_old_model(docker_client, tmp_path_factory.mktemp("old"))
    info, version, running, events = deployed(path, "old breast cancer")
    assert info.sklearn_version == "1.0.2" and version.python == "3.9"
    why = next(e.message for e in events if e.message.startswith("Python "))
    assert why.startswith("Python 3.9: the newest Python with scikit-learn 1.0.2 wheels (not 3.11)"), why
    assert "scikit-learn==1.0.2" in version.requirements
    body = requests.post(running.url + "/v1/predict", json={"inputs": saved["rows"]}, timeout=30).json()
    assert body["predictions"] == saved["predictions"]
    got = [p["malignant"] for p in body["probabilities"]]  # classes_ sort: benign, malignant
    assert np.allclose(got, saved["proba"], atol=1e-6)
    # the Open Inference Protocol on the model's own Python 3.9: one tensor per named input
    rows = pd.DataFrame(saved["rows"])
    tensors = []
    for name in rows.columns:
        t = triton.InferInput(name, [len(rows)], "FP64")
        t.set_data_from_numpy(rows[name].to_numpy(dtype=np.float64))
        tensors.append(t)
    with triton.InferenceServerClient(running.url.removeprefix("http://")) as client:
        result = client.infer("old breast cancer", tensors)
    assert [v.decode() for v in result.as_numpy("predict").tolist()] == saved["predictions"]
    assert np.allclose(result.as_numpy("predict_proba")[:, 1], saved["proba"], atol=1e-6)
