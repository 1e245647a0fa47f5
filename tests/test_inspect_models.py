"""Benign models load and are described right, in every container and protocol."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import joblib
import pytest
import sklearn

import benign
from conftest import run_cli
from deskml.core.errors import ExitCode, NeedsCode, UnsafeModelFile
from deskml.core.intake.inspection import ModelInfo, inspect_file


@pytest.mark.parametrize("family", benign.FAMILIES, ids=lambda f: f.__name__)
def test_family_loads_and_is_described(family, tmp_path):
    model, task, n_inputs = family()
    path = tmp_path / f"{family.__name__}.joblib"
    joblib.dump(model, path)
    info = inspect_file(path)
    assert info.loaded and info.task == task
    assert len(info.inputs) == n_inputs
    assert info.sklearn_version == sklearn.__version__
    assert info.format == "joblib"
    if task == "classification":
        assert info.outputs["classes"] == model.classes_.tolist()


def test_known_libraries_are_recognised_not_refused(tmp_path):
    for family, lib in ((benign.lightgbm_classifier, "lightgbm"), (benign.imblearn_pipeline, "imbalanced-learn")):
        path = tmp_path / f"{lib}.joblib"
        joblib.dump(family()[0], path)
        info = inspect_file(path)
        assert lib in info.libraries and info.libraries[lib]  # version recorded


def test_known_library_not_installed_is_described_from_the_file(tmp_path):
    """An XGBoost model on a computer without xgboost: recognised, not refused;
    the note says the container will install it."""
    try:
        import xgboost  # noqa: F401
        pytest.skip("xgboost is installed here")
    except ImportError:
        pass
    import numpy as np

    class XGBClassifier:  # stands in for xgboost's class in the pickle only
        pass

    fake = XGBClassifier()
    fake.__dict__.update(n_features_in_=3, classes_=np.array([0, 1]), _sklearn_version="1.5.2")
    XGBClassifier.__module__, XGBClassifier.__qualname__ = "tests_fake_xgb", "XGBClassifier"
    sys.modules["tests_fake_xgb"] = type(sys)("tests_fake_xgb")
    sys.modules["tests_fake_xgb"].XGBClassifier = XGBClassifier
    raw = pickle.dumps(fake, protocol=2).replace(b"ctests_fake_xgb\n", b"cxgboost.sklearn\n")
    path = tmp_path / "xgb.pkl"
    path.write_bytes(raw)
    info = inspect_file(path)
    assert info.libraries == {"xgboost": None}
    assert not info.loaded and "xgboost" in info.note and "container will install" in info.note
    assert info.estimator == "xgboost.sklearn.XGBClassifier" and info.task == "classification"
    assert len(info.inputs) == 3


CONTAINERS = [0, 3, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3)]


@pytest.mark.parametrize("compress", CONTAINERS, ids=str)
def test_demo_in_every_joblib_container(demo, compress, tmp_path):
    model = joblib.load(demo.model)
    path = tmp_path / "demo.joblib"
    joblib.dump(model, path, compress=compress)
    info = inspect_file(path)
    assert info.loaded and info.format == "joblib"
    assert info.compression == (None if compress == 0 else "zlib" if compress == 3 else compress[0])
    assert [i["name"] for i in info.inputs][:2] == ["visits_per_month", "avg_basket_eur"]


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_demo_in_every_pickle_protocol(demo, protocol, tmp_path):
    model = joblib.load(demo.model)
    path = tmp_path / f"demo_p{protocol}.pkl"
    path.write_bytes(pickle.dumps(model, protocol=protocol))
    info = inspect_file(path)
    assert info.loaded and info.format == "pickle" and info.pickle_protocol == protocol
    assert info.task == "classification" and info.outputs["classes"] == ["no", "yes"]


def test_demo_description(demo):
    info = inspect_file(demo.model)
    assert info.estimator == "sklearn.pipeline.Pipeline"
    assert [s["class"] for s in info.steps] == ["ColumnTransformer", "LogisticRegression"]
    by_name = {i["name"]: i for i in info.inputs}
    assert by_name["store"] == {**by_name["store"], "kind": "category",
                                "categories": ["Campus", "Centre", "Station"]}
    assert by_name["age"]["kind"] == "number" and 30 < by_name["age"]["example"] < 60
    assert info.outputs["probabilities"] is True
    assert "one of 2 groups: no, yes" in info.summary
    assert len(info.sha256) == 64 and info.size_bytes == demo.model.stat().st_size


def test_inputs_carry_the_models_own_weights(tmp_path):
    """The report lists the main inputs first: a share of the model's own weights per input,
    summed over the columns made from it (one per category), traced through a pipeline;
    none where the weights say nothing comparable (a linear model on unscaled inputs)."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"noise": rng.normal(size=400), "colour": rng.choice(["red", "green", "blue", "grey"], 400),
                      "note": rng.choice(["late again", "on time", "fine"], 400), "spend": rng.normal(size=400)})
    y = (X.colour.isin(["red", "green"])).astype(int)
    cases = {
        "forest": make_pipeline(make_column_transformer(
            (OneHotEncoder(), ["colour"]), (TfidfVectorizer(), "note"), remainder="passthrough"),
            RandomForestClassifier(n_estimators=20, random_state=0)),
        "scaled linear": make_pipeline(make_column_transformer(
            (OneHotEncoder(), ["colour"]), (StandardScaler(), ["noise", "spend"]), (TfidfVectorizer(), "note")),
            LogisticRegression()),
        "unscaled linear": LogisticRegression(),
    }
    for name, model in cases.items():
        data = X[["noise", "spend"]] if name == "unscaled linear" else X
        joblib.dump(model.fit(data, y), tmp_path / "m.joblib")
        weights = {i["name"]: i.get("importance") for i in inspect_file(tmp_path / "m.joblib").inputs}
        if name == "unscaled linear":
            assert weights == {"noise": None, "spend": None}
            continue
        assert set(weights) == {"noise", "colour", "note", "spend"}, name
        assert sum(weights.values()) == pytest.approx(1, abs=0.001), name
        assert max(weights, key=weights.get) == "colour" and weights["colour"] > 0.5, (name, weights)


def test_skops_file(tmp_path):
    import skops.io as sio

    model, _, _ = benign.random_forest()
    path = tmp_path / "forest.skops"
    sio.dump(model, path)
    info = inspect_file(path)
    assert info.format == "skops" and info.loaded and info.task == "classification"
    assert info.sklearn_version == sklearn.__version__


def test_json_output_matches_model_info(demo):
    proc = run_cli("inspect", demo.model, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["schema_version"] == 1
    info = ModelInfo.from_dict(doc)
    assert info.inputs == doc["inputs"] and info.summary == doc["summary"]
    assert doc["imports"] and all("." in i for i in doc["imports"])


def test_human_output(demo):
    proc = run_cli("inspect", demo.model)
    assert proc.returncode == 0
    assert "favourite_product" in proc.stdout and "coffee, pastries, sandwiches, tea" in proc.stdout
    assert "Safety      passed" in proc.stdout


# --- the author's own code ------------------------------------------------------

CUSTOM_MODULE = textwrap.dedent("""
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin

    class BasketRatio(BaseEstimator, TransformerMixin):
        def fit(self, X, y=None):
            return self
        def transform(self, X):
            X = np.asarray(X, dtype=float)
            return np.c_[X, X[:, 0] / (1 + X[:, 1])]
""")


def _custom_model(tmp_path, main: bool):
    """Save a model that uses a class from the author's module, or from __main__."""
    mod = tmp_path / "shop_features.py"
    mod.write_text(CUSTOM_MODULE)
    out = tmp_path / ("main_model.joblib" if main else "custom_model.joblib")
    script = ("exec(open('shop_features.py').read())\n" if main else "from shop_features import BasketRatio\n") + \
        textwrap.dedent(f"""
        import joblib, numpy as np
        from sklearn.pipeline import make_pipeline
        from sklearn.linear_model import LogisticRegression
        X = np.random.default_rng(0).normal(size=(50, 2)); y = (X[:, 0] > 0).astype(int)
        joblib.dump(make_pipeline(BasketRatio(), LogisticRegression()).fit(X, y), {str(out)!r})
    """)
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    return out, mod


@pytest.mark.parametrize("main", [False, True], ids=["own-module", "__main__"])
def test_needs_code_then_loads_with_it(tmp_path, main):
    path, code = _custom_model(tmp_path, main)
    with pytest.raises(NeedsCode) as err:
        inspect_file(path)
    msg = err.value.message
    assert "BasketRatio" in msg and "--code" in msg
    assert ("__main__" in msg) if main else ("shop_features" in msg)
    assert "did not open" not in msg  # not called malicious
    proc = run_cli("inspect", path)
    assert proc.returncode == ExitCode.NEEDS_CODE and "Traceback" not in proc.stderr
    info = inspect_file(path, code=[code])
    assert info.loaded and info.steps[0]["class"] == "BasketRatio" and info.code == [str(code.resolve())]


def test_untrusted_library_can_be_trusted_explicitly(tmp_path):
    """A module that is installed but unknown (here: pytest) is refused with a
    hint; --trust lets it through to the (still limited) loading step."""
    path = tmp_path / "odd.pkl"
    path.write_bytes(b"\x80\x02c_pytest.outcomes\nExit\n)\x81.")
    with pytest.raises(UnsafeModelFile) as err:
        inspect_file(path)
    assert "--trust _pytest" in err.value.message
    with pytest.raises(Exception) as err2:
        inspect_file(path, trust=["_pytest"])
    assert not isinstance(err2.value, UnsafeModelFile)  # got past the scan: it is just not a model


# --- a file saved with another scikit-learn ----------------------------------------

def _retarget(pickle_text: bytes, version: str, module_renames=()) -> bytes:
    out = pickle_text.replace(sklearn.__version__.encode(), version.encode())
    for old, new in module_renames:
        out = out.replace(old.encode(), new.encode())
    return out


def test_older_version_that_still_loads(tmp_path):
    model, _, _ = benign.logistic()
    path = tmp_path / "old.pkl"
    path.write_bytes(_retarget(pickle.dumps(model, protocol=0), "1.0.2"))
    info = inspect_file(path)
    assert info.loaded and info.sklearn_version == "1.0.2"
    assert "container will run scikit-learn 1.0.2" in info.note


def test_version_this_computer_cannot_load_is_described_statically(tmp_path):
    """A file from scikit-learn 0.21 names modules that no longer exist
    (sklearn.linear_model.logistic): the installed scikit-learn cannot load it,
    so inspection reports what the scan knows and what the container will run."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"height": [1.0, 2, 3, 4], "colour": [0.0, 1, 0, 1]})
    model = LogisticRegression().fit(X, ["small", "small", "big", "big"])
    raw = pickle.dumps(model, protocol=0)  # text opcodes: names can change length
    raw = raw.replace(b"sklearn.linear_model._logistic", b"sklearn.linear_model.logistic")
    raw = raw.replace(sklearn.__version__.encode(), b"0.21.3")
    path = tmp_path / "from_0_21.pkl"
    path.write_bytes(raw)
    info = inspect_file(path)
    assert not info.loaded
    assert info.sklearn_version == "0.21.3"
    assert "container will run scikit-learn 0.21.3" in info.note
    assert info.estimator == "sklearn.linear_model.logistic.LogisticRegression"
    assert [i["name"] for i in info.inputs] == ["height", "colour"]
    assert info.outputs["classes"] == ["big", "small"] and info.task == "classification"
