"""Files as published apps ship them, made by the versions that made them, packaged and run in
containers: they give the answers they gave where they were saved. Also a service that cannot
start is stopped with its reason, not restarted forever."""
from __future__ import annotations

import os

import joblib
import numpy as np
import pandas as pd
import pytest
import requests

import realworld
from conftest import deployer
from deskml.core import packaging
from deskml.core.errors import ModelFileChanged, ServiceUnhealthy
from deskml.core.intake.inspection import inspect_file
from deskml.core.registry import Registry
from deskml.core.runtimes import container as runtime

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("realworld")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return Registry(tmp_path_factory.mktemp("registry") / "r.sqlite3")


@pytest.fixture(scope="module")
def deploy(docker_client, registry):
    with deployer(docker_client, registry, default_port=8720) as deploy:
        yield deploy


def _same_answers(running, saved, named=True):
    body = {"inputs": saved["rows"]} if named else {"instances": [list(r.values()) for r in saved["rows"]]}
    answer = requests.post(running.url + "/v1/predict", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    if all(isinstance(p, float) for p in saved["predictions"]):
        assert np.allclose(got["predictions"], saved["predictions"], rtol=1e-9, atol=1e-9)
    else:
        assert got["predictions"] == saved["predictions"]
    if "proba" in saved and got.get("probabilities"):
        last = list(got["probabilities"][0])[-1]
        assert np.allclose([p[last] for p in got["probabilities"]], saved["proba"], atol=1e-6)


@pytest.mark.parametrize("env,name,refs", [
    ("SKLEARN_16", "gradient_boosting", ["_loss.CyHalfBinomialLoss"]),
    ("SKLEARN_16", "log1p", ["numpy._core._multiarray_umath.log1p"]),
    ("SKLEARN_16", "column_selector", ["sklearn.compose._column_transformer.make_column_selector"]),
    ("SKLEARN_13", "log1p_numpy1", ["numpy.core._multiarray_umath.log1p"]),
    ("SKLEARN_13", "imblearn", ["imblearn.pipeline.Pipeline"]),
    ("SKLEARN_024", "pipeline_024", ["sklearn.compose._column_transformer.ColumnTransformer"]),
])
def test_files_made_by_their_own_versions_serve_their_answers(docker_client, folder, deploy, env, name, refs):
    script = {"SKLEARN_16": realworld.MAKE_16, "SKLEARN_13": realworld.MAKE_13, "SKLEARN_024": realworld.MAKE_024}[env]
    path, saved = realworld.made(docker_client, folder, getattr(realworld, env), script, name)
    info, version, running = deploy(path, f"real {name}")
    assert set(refs) <= set(info.imports), info.imports
    assert info.sklearn_version == saved["sklearn"]
    assert f"scikit-learn=={saved['sklearn']}" in version.requirements
    if name == "imblearn":  # this computer's imbalanced-learn is not for scikit-learn 1.3: pip picks one that is
        assert "imbalanced-learn" in [r.split("==")[0] for r in version.requirements]
    if name == "pipeline_024":  # fitted on age, city, income, visits; named city, visits, income, age
        assert [i["name"] for i in info.inputs] == ["age", "city", "income", "visits"]
        assert version.python == "3.9"
    _same_answers(running, saved)


def test_an_xgboost_regressor_serves(docker_client, deploy, tmp_path):
    """Its names are numpy strings (the OpenAPI document once crashed on them); its image gets
    XGBoost's CPU build (6 MB) instead of the CUDA one (about 480 MB)."""
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(200, 4)), columns=["rooms", "area", "age", "floor"])
    model = xgboost.XGBRegressor(n_estimators=20, max_depth=3).fit(X, X.area * 3 + X.rooms)
    path = tmp_path / "xgb.joblib"
    joblib.dump(model, path)
    info, version, running = deploy(path, "real xgboost regressor")
    assert any(r.startswith("xgboost-cpu==") for r in version.requirements), version.requirements
    rows = X.head(10)
    got = requests.post(running.url + "/v1/predict", json={"inputs": rows.to_dict("records")}).json()
    assert np.allclose(got["predictions"], model.predict(rows), rtol=1e-6)


def test_a_multi_output_regressor_and_unused_inputs_serve(deploy, tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(150, 18)), columns=[f"c{i}" for i in range(18)])
    used = [f"c{i}" for i in range(16)]
    model = make_pipeline(ColumnTransformer([("n", StandardScaler(), used)], remainder="drop"),
                          RandomForestRegressor(n_estimators=10, random_state=0))
    model.fit(X, np.column_stack([X.c0 * k for k in range(12)]))
    path = tmp_path / "multi.joblib"
    joblib.dump(model, path)
    info, version, running = deploy(path, "real multi output")
    got = requests.post(running.url + "/v1/predict", json={"inputs": X[used].head(5).to_dict("records")}).json()
    assert all(isinstance(p, list) and len(p) == 12 for p in got["predictions"])
    assert np.allclose(got["predictions"], model.predict(X.head(5)))


def test_a_service_that_cannot_start_is_stopped_with_its_reason(docker_client, registry, tmp_path):
    path = realworld.broken_model(tmp_path / "broken.joblib")
    info = inspect_file(path)
    name = "real broken"
    packaging.run_to_end(packaging.package(docker_client, registry, info, name, None,
                                           os.environ["DESKML_BASE_IMAGE"]))
    try:
        with pytest.raises(ServiceUnhealthy) as err:
            runtime.run(docker_client, registry, name, default_port=8740, timeout=120)
        e = err.value
        assert "the model could not predict its own example row" in e.headline
        assert "X has 3 features, but LogisticRegression is expecting 5 features" in e.headline
        assert runtime.find_container(docker_client, name) is None  # stopped: no restart loop
    finally:
        runtime.stop(docker_client, name)
        for image in docker_client.images.list(filters={"label": f"io.deskml.model.name={name}"}):
            docker_client.images.remove(image.id, force=True)


def test_a_file_swapped_before_the_image_build_is_refused(docker_client, registry, demo, tmp_path):
    import shutil

    path = tmp_path / "coffee.joblib"
    shutil.copy(demo.model, path)
    info = inspect_file(path)
    path.write_bytes(path.read_bytes() + b"\0")  # changed after the check
    with pytest.raises(ModelFileChanged, match="changed after DeskML checked it"):
        packaging.run_to_end(packaging.package(docker_client, registry, info, "real swapped", None,
                                               os.environ["DESKML_BASE_IMAGE"]))
    assert "real swapped" not in registry.models()
    assert not docker_client.images.list(filters={"label": "io.deskml.model.name=real swapped"})
