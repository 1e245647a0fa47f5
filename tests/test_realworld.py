"""Legitimate model files of the kinds published apps ship, and what must never pass.

No container engine here: inspection (scan, allow-list, the loading child), the local-process
runtime (the same allow-list applied again by its loader), and the bytes checked at packaging."""
from __future__ import annotations

import json
import shutil

import joblib
import numpy as np
import pytest
import requests

import realworld
from conftest import run_cli
from deskml.core.errors import ExitCode, ModelFileChanged, NotAModelFile, ServiceUnhealthy
from deskml.core.intake.inspection import inspect_file
from deskml.core.intake.policy import CLASSES_NAMED_LIKE_FUNCTIONS, Policy, Verdict, judge_call


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    """No container engine answers: versions are local, and run as local processes."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")


def _settings():
    from deskml.core.settings import Settings
    return Settings(docker_host="unix:///nonexistent/no-engine.sock")


@pytest.mark.parametrize("make", ["scaler", "pca", "pipeline"])
def test_a_preparation_step_alone_is_told_apart_from_a_threat(make, tmp_path):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.random.default_rng(0).normal(size=(50, 4))
    obj = {"scaler": StandardScaler(), "pca": PCA(2), "pipeline": make_pipeline(StandardScaler(), PCA(2))}[make]
    path = tmp_path / f"{make}.joblib"
    joblib.dump(obj.fit(X), path)
    with pytest.raises(NotAModelFile) as err:
        inspect_file(path)
    e = err.value
    assert e.exit_code == ExitCode.NOT_A_MODEL and e.level == "warning"
    assert "safe to open" in e.headline and "cannot make predictions on its own" in e.headline
    assert {"scaler": "StandardScaler", "pca": "PCA", "pipeline": "pipeline of StandardScaler, PCA"}[make] in e.headline
    assert "harm" not in e.message and "Delete the file" not in e.message
    proc = run_cli("inspect", path)
    assert proc.returncode == 4 and "cannot make predictions on its own" in proc.stderr


def test_old_sklearns_bundled_joblib_is_accepted_and_served(tmp_path, no_engine):
    """scikit-learn up to 0.20 saved arrays with its own copy of joblib
    (sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper): accepted, described, and served
    by the local-process runtime, whose loader maps the name through the same allow-list."""
    path = tmp_path / "bundled.joblib"
    model, X = realworld.bundled_joblib_file(path)
    info = inspect_file(path)
    assert "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper" in info.imports
    assert info.sklearn_version == "0.20.4" and info.loaded and info.task == "classification"
    assert info.outputs["classes"] == [0, 1] and len(info.inputs) == 3 and info.positional
    assert "Saved with scikit-learn 0.20.4" in info.note
    # no Python of today has scikit-learn 0.20 wheels: packaging it into an image says so
    from deskml.core.errors import BuildFailed
    from deskml.core.packaging import resolve_python
    with pytest.raises(BuildFailed, match="No Python version DeskML can use has scikit-learn 0.20.4"):
        resolve_python("0.20.4", "x86_64", candidates=("3.11", "3.9"))
    # as a local process, with this computer's scikit-learn: the same predictions
    from deskml.core import services
    from deskml.core.registry import Registry
    registry = Registry(tmp_path / "r.sqlite3")
    version = _package(services, registry, info, "bundled joblib")
    running = services.start(_settings(), registry, version.model)
    try:
        answer = requests.post(running.url + "/v1/predict", json={"instances": X[:20].tolist()}).json()
        assert answer["predictions"] == model.predict(X[:20]).tolist()
    finally:
        services.stop(_settings(), version.model, registry)


def _package(services, registry, info, name):
    events = services.package(_settings(), registry, info, name)
    while True:
        try:
            next(events)
        except StopIteration as stop:
            return stop.value


def test_names_scikit_learn_and_numpy_really_write_are_allowed():
    policy = Policy()
    allowed = [("_loss", "CyHalfBinomialLoss"), ("_loss", "__pyx_unpickle_CyHalfMultinomialLoss"),
               ("numpy.core._multiarray_umath", "log1p"), ("numpy._core._multiarray_umath", "log1p"),
               ("numpy", "log1p"), ("numpy._core._multiarray_umath", "absolute"),
               ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper")]
    for module, name in allowed:
        j = policy.judge(module, name)
        assert j.verdict == Verdict.ALLOWED and judge_call(module, name) is None, (module, name, j)
    assert policy.judge("_loss", "CyHalfBinomialLoss").module == "sklearn._loss._loss"  # never the author's
    for module, name in [("_loss", "system"), ("numpy._core._multiarray_umath", "_reload_guard"),
                         ("sklearn.externals.joblib", "load"), ("sklearn.externals.joblib.numpy_pickle", "load"),
                         ("numpy.core._multiarray_umath", "frompyfunc")]:
        assert policy.judge(module, name).verdict == Verdict.DANGEROUS or judge_call(module, name), (module, name)
    assert judge_call("sklearn.compose._column_transformer", "make_column_selector") is None
    assert judge_call("sklearn.compose._column_transformer", "make_column_transformer") is not None


def test_the_loader_checks_a_class_that_looks_like_a_function_really_is_one():
    from deskml.core.intake._loadchild import RefusedImport, _make_find_class

    def impostor(*args):
        return None
    impostor.__module__ = "sklearn.compose._column_transformer"  # where it claims to come from
    find = _make_find_class(Policy(), {}, lambda m, n: impostor)
    with pytest.raises(RefusedImport) as err:
        find("sklearn.compose._column_transformer", "make_column_selector")
    assert err.value.reason == "is a function here, not the class the file may call"


def test_every_scikit_learn_class_named_like_a_function_is_known():
    """When a scikit-learn release adds a class whose name looks like a function, this fails,
    so the allow-list learns it (or the list of ones no model keeps) before a user meets it."""
    import importlib
    import pkgutil
    import re
    import warnings

    import sklearn

    constructor = re.compile(r"^(_*[A-Z]|__pyx_unpickle_|_*(new|unpickle))")
    no_model_keeps = {("sklearn.utils.deprecation", "deprecated"),  # a decorator
                      ("sklearn.externals.array_api_compat.common._helpers", "_dask_device"),
                      ("sklearn.externals.array_api_extra._at", "at")}
    found = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in pkgutil.walk_packages(sklearn.__path__, "sklearn."):
            if ".tests" in m.name or "_testing" in m.name or m.name.endswith("conftest"):
                continue
            try:
                mod = importlib.import_module(m.name)
            except Exception:
                continue
            for key, value in vars(mod).items():
                if (isinstance(value, type) and not constructor.match(key)
                        and getattr(value, "__module__", "").startswith("sklearn")):
                    found.add((value.__module__, key))
    assert found <= CLASSES_NAMED_LIKE_FUNCTIONS | no_model_keeps, found - CLASSES_NAMED_LIKE_FUNCTIONS - no_model_keeps


def test_a_file_swapped_after_inspection_is_refused(tmp_path, demo, no_engine):
    from deskml.core import services
    from deskml.core.registry import Registry

    path = tmp_path / "model.joblib"
    shutil.copy(demo.model, path)
    info = inspect_file(path)
    from sklearn.dummy import DummyClassifier
    joblib.dump(DummyClassifier().fit([[0]], [1]), path)  # swapped, minutes later
    registry = Registry(tmp_path / "r.sqlite3")
    with pytest.raises(ModelFileChanged) as err:
        _package(services, registry, info, "swapped")
    e = err.value
    assert e.exit_code == ExitCode.UNSAFE
    assert "model.joblib changed after DeskML checked it, so DeskML did not package it" in e.headline
    assert "Open the file again" in e.what_to_do and info.sha256 in e.details
    assert registry.models() == []


def test_a_model_that_cannot_predict_its_own_example_is_stopped_with_the_reason(tmp_path, no_engine):
    """No restart loop while the user reads 'look at its log': the service is stopped, and the
    message says the model could not predict its example row, and why."""
    from deskml.core import services
    from deskml.core.registry import Registry

    path = realworld.broken_model(tmp_path / "broken.joblib")
    info = inspect_file(path)
    registry = Registry(tmp_path / "r.sqlite3")
    version = _package(services, registry, info, "broken model")
    with pytest.raises(ServiceUnhealthy) as err:
        services.start(_settings(), registry, version.model)
    e = err.value
    assert "broken model did not start: the model could not predict its own example row" in e.headline
    assert "X has 3 features, but LogisticRegression is expecting 5 features" in e.headline
    assert "instead of restarting it" in e.headline and "Traceback" in e.details
    assert services.find(_settings(), version.model) is None  # stopped, not restarting


def test_an_explicit_port_is_used_or_refused(tmp_path, demo, monkeypatch):
    """deskml run NAME --port P: P, or exit 12 naming who holds it; never another port with exit 0."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    from deskml.core.runtimes.base import free_port

    for name in ("port holder", "port taker"):
        assert run_cli("build", demo.model, "--name", name).returncode == 0
    port = free_port()
    try:
        assert run_cli("run", "port holder", "--port", port).returncode == 0
        proc = run_cli("run", "port taker", "--port", port)
        assert proc.returncode == 12, proc.stderr
        assert f"Port {port} is in use by the model port holder" in proc.stderr
        assert "deskml stop 'port holder'" in proc.stderr
        assert run_cli("stop", "port holder").returncode == 0
        proc = run_cli("run", "port taker", "--port", port)  # the stopped model no longer holds it
        assert proc.returncode == 0 and proc.stdout.strip().endswith(f":{port}"), proc.stderr
        assert "kept for port holder, which is not running" in proc.stderr
    finally:
        run_cli("stop", "port holder")
        run_cli("stop", "port taker")


@pytest.mark.parametrize("result,reason", [
    ({"error": "missing-module", "module": "sklearn.utils._tags"}, "it has no module sklearn.utils._tags"),
    ({"error": "load", "type": "AttributeError", "message": "no attribute 'monotonic_cst'"},
     "AttributeError: no attribute 'monotonic_cst'"),
])
def test_why_this_computer_cannot_open_a_file_is_said(monkeypatch, tmp_path, result, reason):
    """A model saved by another scikit-learn that this computer's cannot open: described from the
    file, with the reason in brackets (once it said "(None)")."""
    from deskml.core.intake import inspection
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "m.joblib"
    joblib.dump(LogisticRegression().fit([[0], [1]], [0, 1]), path)
    data = path.read_bytes().replace(b"1.9.1", b"1.3.2") if b"1.9.1" in path.read_bytes() else None
    if data is None:
        pytest.skip("this computer's scikit-learn is not 1.9.1")
    path.write_bytes(data)
    monkeypatch.setattr(inspection, "load_in_child",
                        lambda *a, **k: {"ok": False, **result, "versions": {"scikit-learn": "1.9.1"}})
    info = inspection.inspect_file(path)
    assert not info.loaded and f"which cannot open it ({reason})" in info.note and "None" not in info.note


def test_the_local_runtime_loads_only_the_checked_bytes_with_the_policy(tmp_path, demo, no_engine):
    """No container around a local process: its loader checks the copy's SHA-256 and unpickles
    with the same allow-list as inspection, so a file changed in the data folder never loads."""
    from deskml.core import services
    from deskml.core.registry import Registry

    info = inspect_file(demo.model)
    registry = Registry(tmp_path / "r.sqlite3")
    version = _package(services, registry, info, "local checked")
    copy = version.info["path"]
    with open(copy, "ab") as f:  # changed in the data folder after the version was made
        f.write(b"\0")
    with pytest.raises(ServiceUnhealthy) as err:
        services.start(_settings(), registry, version.model)
    assert "not the file that was checked" in err.value.headline
    assert services.find(_settings(), version.model) is None


def test_a_skops_service_trusts_only_the_types_the_policy_accepted(tmp_path):
    """skops trusts scikit-learn's own types; an imbalanced-learn pipeline needs its types trusted.
    The service trusts those the policy accepted (listed beside the model), never all the file names."""
    import skops.io as sio
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression

    from deskml.server.__main__ import StartFailed, parse_args, prepare

    path = tmp_path / "m.skops"
    model = Pipeline([("balance", RandomOverSampler(random_state=0)), ("classify", LogisticRegression())])
    sio.dump(model.fit([[0.0], [1.0], [0.2]], [0, 1, 0]), path)
    info = inspect_file(path)
    assert info.format == "skops" and "imblearn.pipeline.Pipeline" in info.skops_types
    accepted = tmp_path / "trusted-types.json"
    accepted.write_text(json.dumps(info.skops_types))
    app = prepare(parse_args(["--model", str(path), "--skops-trusted", str(accepted)]))
    assert app.self_test == "passed"
    accepted.write_text(json.dumps([t for t in info.skops_types if t != "imblearn.pipeline.Pipeline"]))
    with pytest.raises(StartFailed) as err:
        prepare(parse_args(["--model", str(path), "--skops-trusted", str(accepted)]))
    assert err.value.stage == "load" and "imblearn.pipeline.Pipeline" in str(err.value)
    with pytest.raises(StartFailed):  # no list: only skops' own defaults are trusted
        prepare(parse_args(["--model", str(path)]))
