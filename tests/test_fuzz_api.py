"""A fuzzer against the service's own OpenAPI document (schemathesis, every check).

Each model below is served by the real server on 127.0.0.1; schemathesis sends what the
document allows (and what it forbids) and checks every answer: no 5xx, documented status
codes and content types, answers that match their schema, valid data accepted, invalid
data refused, 405 with an Allow header for other methods. The document is the one the
server serves, made by the same function from the same model.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from deskml.core.runtimes.base import free_port, wait_healthy
from deskml.server.__main__ import load_model
from deskml.server.openapi import openapi
from deskml.server.service import ModelService

EXAMPLES = int(os.environ.get("DESKML_FUZZ_EXAMPLES", "30"))
FOLDER = Path(tempfile.mkdtemp(prefix="deskml-fuzz-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)


def _models():
    """Models of the shapes the document must describe: named inputs with choices, an input the
    model does not use, several outputs per row, inputs given by position only."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from deskml.core.demo import ensure_demo

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80), "unused": rng.normal(size=80),
                          "c": rng.choice(["x", "y z", "w,v"], 80)})
    dropper = make_pipeline(ColumnTransformer([("n", StandardScaler(), ["b", "a"]), ("c", OneHotEncoder(), ["c"])],
                                              remainder="drop"), LogisticRegression())
    joblib.dump(dropper.fit(frame, frame.a > 0), FOLDER / "dropper.joblib")
    multi = RandomForestRegressor(n_estimators=5, random_state=0).fit(frame[["a", "b"]], frame[["a", "b", "unused"]])
    joblib.dump(multi, FOLDER / "multi_output.joblib")
    joblib.dump(LogisticRegression().fit(frame[["a", "b"]].to_numpy(), frame.a > 0), FOLDER / "positional.joblib")
    return {"demo": ensure_demo(FOLDER / "demo").model, "dropper": FOLDER / "dropper.joblib",
            "multi_output": FOLDER / "multi_output.joblib", "positional": FOLDER / "positional.joblib"}


MODELS = _models()
# a row limit is answered 413 ("too large"): a refusal too
CONFIG = schemathesis.Config.from_str("""
[checks.negative_data_rejection]
expected-statuses = [400, 401, 404, 405, 413, 422]
""")


def _schema(path):
    service = ModelService(load_model(path))
    service.self_test()
    schema = schemathesis.openapi.from_dict(openapi(service), config=CONFIG)
    schema.config.checks.update(included_check_names=["all"])
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    schema.config.generation.update(max_examples=EXAMPLES, modes=["positive", "negative"])
    return schema


SCHEMAS = {name: _schema(path) for name, path in MODELS.items()}
SERVERS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def servers(tmp_path_factory):
    procs = []
    for name, path in MODELS.items():
        port = free_port()
        journal = tmp_path_factory.mktemp(f"journal-{name}")  # journaling: outcomes are kept, not refused
        procs.append(subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(path), "--port",
                                       str(port), "--journal", str(journal)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        SERVERS[name] = f"http://127.0.0.1:{port}"
        wait_healthy(SERVERS[name], 60, alive=lambda p=procs[-1]: p.poll() is None)
        # the document the fuzzer uses is the one the service serves
        assert requests.get(SERVERS[name] + "/openapi.json").json() == SCHEMAS[name].raw_schema
    yield
    for p in procs:
        p.terminate()
        p.wait(20)


def _fuzz(name):
    @SCHEMAS[name].parametrize()
    @settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def test(case):
        case.call_and_validate(base_url=SERVERS[name])
    return test


test_demo = _fuzz("demo")
test_an_input_the_model_does_not_use = _fuzz("dropper")
test_several_outputs_per_row = _fuzz("multi_output")
test_inputs_by_position = _fuzz("positional")
