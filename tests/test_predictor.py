"""One pass through the model per batch gives exactly what predict() and predict_proba() give."""
from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest

import benign
from deskml.server.predictor import Predictor, predicts_argmax
from deskml.server.service import ModelService

PREDICTING = [f for f in benign.FAMILIES if f.__name__ not in ("pca",)]


def _rows(n_features, n=3000, seed=1):
    return np.random.default_rng(seed).normal(scale=2.0, size=(n, n_features))


@pytest.mark.parametrize("family", PREDICTING, ids=[f.__name__ for f in PREDICTING])
def test_same_answers_as_the_model(family):
    model, task, d = family()
    svc = ModelService(model)
    X = (["great cake", "rude and cold", "coffee", "", "staff staff"] * 200 if family is benign.text_tfidf_svc
         else _rows(d))
    preds, proba = svc.predict_arrays(X)
    assert np.array_equal(preds, model.predict(X))
    if svc.has_proba:
        assert np.array_equal(proba, model.predict_proba(X))
    else:
        assert proba is None


def test_the_demo_pipeline_transforms_once(demo):
    model = joblib.load(demo.model)
    frame = pd.read_csv(demo.reference).drop(columns="comes_back")
    svc = ModelService(model)
    pre = model.steps[0][1]
    calls = []
    real = pre.transform
    pre.transform = lambda X: calls.append(len(X)) or real(X)
    preds, proba = svc.predict_arrays(frame)
    assert calls == [len(frame)]  # once, not once for predict and once for predict_proba
    del pre.transform
    assert np.array_equal(preds, model.predict(frame)) and np.array_equal(proba, model.predict_proba(frame))


def _counting_predict(est):
    calls = []
    real = est.predict
    est.predict = lambda X: calls.append(len(X)) or real(X)
    return calls


def test_ties_are_decided_by_the_model_itself():
    """A row whose two best probabilities tie is decided by predict(), as the model would."""
    from sklearn.linear_model import LogisticRegression

    X, y = benign._xy()
    model = LogisticRegression().fit(X, y)
    assert predicts_argmax(model)
    calls = _counting_predict(model)
    svc = ModelService(model)
    clear = _rows(4, n=50)
    preds, _ = svc.predict_arrays(clear)
    assert calls == []  # no tie: one predict_proba call did it
    tied = np.vstack([clear, np.zeros((1, 4))])
    model.coef_[:] = 0.0
    model.intercept_[:] = 0.0  # every probability is exactly 0.5
    preds, proba = svc.predict_arrays(tied)
    assert calls == [51] and np.allclose(proba, 0.5)
    del model.predict
    assert np.array_equal(preds, model.predict(tied))


def test_models_whose_predict_is_not_the_top_probability_are_asked_predict():
    from sklearn.svm import SVC

    model, _, _ = benign.svc_probability()
    assert isinstance(model, SVC) and not predicts_argmax(model)  # Platt scaling can disagree with predict
    calls = _counting_predict(model)
    Predictor(model, with_proba=True)(_rows(4, n=10))
    assert calls == [10]
