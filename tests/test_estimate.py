"""Accuracy before outcomes arrive (CBPE): the estimate equals a direct computation with
scikit-learn's isotonic regression, its band holds the realised accuracy about 95% of the
time when the model's confidence means what it meant on the reference, a changed world
is caught once outcomes come in, and the version's own service gives the reference answers
(run once per reference file, no port, nothing journaled)."""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score

from deskml.core.quality.estimate import MIN_PREDICTIONS, Estimator, confidence

NAME = "DeskML estimate demo"


def reference(n=3000, seed=0):
    """Confidences and right-or-wrong of a model that is over-confident: right c**1.6 of the time."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.5, 1.0, n)
    return conf, rng.random(n) < conf ** 1.6


def test_the_estimate_is_the_mean_of_the_isotonic_calibration_and_its_band_holds():
    conf, right = reference()
    est = Estimator(conf, right)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(conf, right.astype(float))
    rng = np.random.default_rng(1)
    day = rng.uniform(0.5, 1.0, 40)
    figure = est.estimate(day)
    assert figure.value == pytest.approx(iso.predict(day).mean(), abs=1e-12) and figure.n == 40
    assert est.reference.value == pytest.approx(right.mean()) and est.reference.n == 3000
    assert est.estimate(day[:MIN_PREDICTIONS - 1]).value is None  # too few: no figure
    # coverage: 400 days of 40 predictions whose confidence means what it meant on the reference
    inside = 0
    for _ in range(400):
        c = rng.uniform(0.5, 1.0, 40)
        realised = (rng.random(40) < c ** 1.6).mean()
        f = est.estimate(c)
        inside += f.low <= realised <= f.high
    assert 0.92 <= inside / 400 <= 0.99, inside / 400
    # the estimate does not trust the confidence as it is: this model is over-confident
    assert figure.value < day.mean() - 0.05


def test_a_changed_world_shows_when_outcomes_arrive():
    conf, right = reference()
    est = Estimator(conf, right)
    rng = np.random.default_rng(2)
    caught = agreed = 0
    for _ in range(100):
        c = rng.uniform(0.5, 1.0, 200)
        same = est.check(c, rng.random(200) < c ** 1.6)
        changed = est.check(c, rng.random(200) < c ** 1.6 - 0.15)  # right 15 points less often
        agreed += same["agrees"]
        caught += not changed["agrees"] and changed["realised"].value < changed["estimated"].low
    assert agreed >= 90 and caught >= 90, (agreed, caught)
    assert "less often than its confidence says" in changed["words"]
    assert est.check(c[:10], np.ones(10, bool)) is None


def test_confidence_is_the_probability_of_the_class_it_chose():
    conf = confidence([[0.2, 0.8], [0.6, 0.4], None], ["yes", "no", "yes"], ["no", "yes"])
    assert conf[:2].tolist() == [0.8, 0.6] and np.isnan(conf[2])
    assert confidence([[0.1, 0.9]], [1], ["0", "1"])[0] == 0.9  # 1 and "1" are the same class


@pytest.fixture
def local_version(demo, tmp_path, monkeypatch):
    """The demo packaged without a container engine, with its reference data (which has the
    real outcome, 'comes_back', in a column)."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    proc = run_cli("build", demo.model, "--name", NAME, "--reference", demo.reference)
    assert proc.returncode == 0, proc.stderr
    yield


def test_the_estimate_from_the_versions_own_answers_on_its_reference(local_version, demo, monkeypatch):
    import joblib

    from deskml.core import services
    from deskml.core.monitoring import live, outcomes
    from deskml.core.quality import estimate, reference_scores
    from deskml.core.quality.view import estimate_for_model
    from deskml.core.registry import Registry
    from deskml.core.settings import load_settings
    from test_input_store import write_journal

    settings, registry = load_settings()[0], Registry()
    data = pd.read_csv(demo.reference)
    model = joblib.load(demo.model)
    inputs = data.drop(columns="comes_back")

    calls = []
    real_score = services.score
    monkeypatch.setattr(services, "score", lambda *a, **k: calls.append(1) or real_score(*a, **k))
    scores = reference_scores.reference_scores(settings, registry, NAME)
    assert calls == [1] and scores.target == "comes_back" and scores.refused == 0
    assert scores.predictions == [str(p) for p in model.predict(inputs)]   # the served answers
    np.testing.assert_allclose(scores.probabilities, model.predict_proba(inputs), atol=1e-6)
    assert reference_scores.reference_scores(settings, registry, NAME).predictions == scores.predictions
    assert calls == [1]  # kept beside the version: the model is not asked again

    # 60 predictions journaled today (between midnight and now, whatever the hour), 40 with outcomes
    now = time.time()
    midnight = pd.Timestamp.fromtimestamp(now).normalize().timestamp()
    rows = inputs.sample(60, random_state=5)
    proba = model.predict_proba(rows).round(6)
    preds = model.predict(rows)
    times = np.linspace(midnight, now - 1, 60)
    store = live.store(NAME)
    version = registry.get(NAME).version
    records = [{"seq": i, "n": 1, "t": float(times[i]), "in": {"basket": [1.0], "payment": ["card"], "email": ["x"]},
                "pred": [str(preds[i])], "proba": [proba[i].tolist()]} for i in range(60)]
    write_journal(store, "00000000002bbbbb", version, records, task="classification", classes=["no", "yes"])
    store.ingest(live=set(), settle=0)
    truth = data.loc[rows.index, "comes_back"].tolist()
    with store.connect() as db:
        outcomes.record(db, [{"id": f"00000000002bbbbb-{i}", "actual": truth[i]} for i in range(40)], "test")

    view = estimate_for_model(settings, registry, NAME, store, now)
    assert not view.problem and view.target == "comes_back"
    right = np.array(scores.predictions) == np.array(scores.actual)
    assert view.reference.value == pytest.approx(accuracy_score(scores.actual, scores.predictions))
    conf = proba.max(axis=1)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
        confidence(scores.probabilities, scores.predictions, scores.classes), right.astype(float))
    assert view.week.value == pytest.approx(iso.predict(conf).mean(), abs=1e-6) and view.week.n == 60
    assert view.by_day[-1]["n"] == 60 and "An estimate, not a measurement" in view.summary
    assert view.check["realised"].n == 40
    assert view.check["realised"].value == pytest.approx(np.mean(np.array(truth[:40]) == preds[:40]))
    assert estimate.cached_estimator(scores, NAME, version)[0].reference.n == len(data)

    proc = run_cli("accuracy", NAME, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["estimate"]
    assert doc["target"] == "comes_back" and doc["reference"]["n"] == len(data)
    assert "Before outcomes:" in run_cli("accuracy", NAME).stdout


def test_no_estimate_says_why(tmp_path, demo, monkeypatch):
    from deskml.core.quality.view import estimate_for_model
    from deskml.core.registry import Registry
    from deskml.core.settings import load_settings

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    unlabelled = tmp_path / "inputs only.csv"
    pd.read_csv(demo.reference).drop(columns="comes_back").to_csv(unlabelled, index=False)
    name = NAME + " without outcomes"
    assert run_cli("build", demo.model, "--name", name, "--reference", unlabelled).returncode == 0
    view = estimate_for_model(load_settings()[0], Registry(), name)
    assert view.week is None and "no column of real outcomes" in view.problem
    assert run_cli("build", demo.model, "--name", name).returncode == 0
    assert "has no reference data" in estimate_for_model(load_settings()[0], Registry(), name).problem
    no_age = tmp_path / "without age.csv"
    pd.read_csv(demo.reference).drop(columns="age").to_csv(no_age, index=False)
    assert run_cli("build", demo.model, "--name", name, "--reference", no_age).returncode == 0
    assert "has no column 'age'" in estimate_for_model(load_settings()[0], Registry(), name).problem


def test_each_version_keeps_its_own_link(demo):
    from deskml.core.quality import estimate
    from deskml.core.quality.reference_scores import ReferenceScores

    rng = np.random.default_rng(3)
    conf = rng.uniform(0.5, 1, 300)
    preds = ["yes"] * 300
    proba = [[1 - c, c] for c in conf]
    sure = ReferenceScores("f" * 64, "comes_back", ["no", "yes"], preds, proba, ["yes"] * 300)
    unsure = ReferenceScores("f" * 64, "comes_back", ["no", "yes"], preds, proba, ["yes"] * 150 + ["no"] * 150)
    one, _ = estimate.cached_estimator(sure, "shop", "1")
    two, _ = estimate.cached_estimator(unsure, "shop", "2")  # the same reference file, another version
    assert one.reference.value == 1.0 and two.reference.value == 0.5
    assert estimate.cached_estimator(sure, "shop", "1")[0] is one


def test_a_model_that_cannot_answer_is_said_and_not_asked_again(tmp_path, demo, monkeypatch):
    from deskml.core import services
    from deskml.core.errors import ServiceUnhealthy
    from deskml.core.quality.view import estimate_for_model
    from deskml.core.registry import Registry
    from deskml.core.settings import load_settings

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    name = NAME + " that fails"
    assert run_cli("build", demo.model, "--name", name, "--reference", demo.reference).returncode == 0
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise ServiceUnhealthy(f"{name} did not start: the model could not predict its reference data.")

    monkeypatch.setattr(services, "score", broken)
    for _ in range(2):
        view = estimate_for_model(load_settings()[0], Registry(), name)
        assert view.week is None and "could not predict its reference data" in view.problem
    assert calls == [1]
