"""The serving app's ``--score`` mode (the reference data answered by the version's own
service): good rows are answered as a request would be, in one batch even when some rows
are bad; bad rows are refused with the service's message; nothing listens, nothing is
journaled."""
from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from deskml.server import contract
from deskml.server.score import score
from deskml.server.service import ModelService


def _model():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"basket": rng.lognormal(3, 0.4, 300), "visits": rng.poisson(3, 300).astype(float)})
    y = np.where(X["basket"] + 5 * X["visits"] > 35, "returns", "leaves")
    return LogisticRegression(max_iter=500).fit(X, y), X


def test_bad_rows_are_refused_and_the_good_ones_answered_together(monkeypatch):
    model, X = _model()
    service = ModelService(model)
    rows = X.head(50).to_dict("records")
    rows[7] = {"basket": 10.0}                    # an input missing
    rows[30] = {"basket": "lots", "visits": 2.0}  # a text for a number
    calls = []
    real = service.predict_columns
    monkeypatch.setattr(service, "predict_columns", lambda cols: calls.append(len(next(iter(cols.values()))))
                        or real(cols))
    out = score(service, rows)
    assert [r["row"] for r in out["refused"]] == [7, 30] and "visits" in out["refused"][0]["message"]
    good = [i for i in range(50) if i not in (7, 30)]
    assert [out["predictions"][i] for i in good] == model.predict(X.head(50).iloc[good]).tolist()
    np.testing.assert_allclose([out["probabilities"][i] for i in good],
                               model.predict_proba(X.head(50).iloc[good]), atol=1e-6)
    assert out["predictions"][7] is None and out["probabilities"][30] is None
    assert calls == [48]  # the good rows in one batch, not one by one
    assert out["classes"] == ["leaves", "returns"]


def test_the_score_mode_prints_one_line_and_opens_no_port(tmp_path):
    model, X = _model()
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    rows = json.dumps({"rows": X.head(5).to_dict("records")})
    proc = subprocess.run([sys.executable, "-m", "deskml.server", "--model", str(path), "--score", "-"],
                          input=rows, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith(contract.SCORES_MARK)]
    assert json.loads(line[len(contract.SCORES_MARK):])["predictions"] == model.predict(X.head(5)).tolist()
    bad = subprocess.run([sys.executable, "-m", "deskml.server", "--model", str(path), "--score", "-"],
                         input='{"not rows": 1}', capture_output=True, text=True, timeout=120)
    assert bad.returncode == contract.EXIT_START_FAILED and contract.START_FAILED in bad.stderr
