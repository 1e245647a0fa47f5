"""Two versions side by side: inputs removed, the same libraries, each version's own speed
from the journal, how often they agree on the same reference rows (equal to asking the two
models directly), accuracy by version from outcomes; kept, so the services are not asked
again; in words and by ``deskml compare``."""
from __future__ import annotations

import json
import time

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from test_input_store import write_journal

NAME = "DeskML compare demo"


def make_two_versions(name, demo, folder):
    """Version 1: the demo (logistic regression, 7 inputs). Version 2: a random forest that
    no longer takes 'age'. Both packaged without a container engine, with the reference data.
    (the two models, and the reference's inputs)"""
    import os

    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from deskml.core.demo import CATEGORICAL, NUMERIC, TARGET

    data = pd.read_csv(demo.reference)
    numbers = [n for n in NUMERIC if n != "age"]
    forest = Pipeline([("prepare", ColumnTransformer([("numbers", "passthrough", numbers),
                                                      ("categories", OneHotEncoder(handle_unknown="ignore"),
                                                       CATEGORICAL)])),
                       ("classify", RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0))])
    forest.fit(data[numbers + CATEGORICAL], data[TARGET])
    path = folder / "forest.joblib"
    joblib.dump(forest, path)
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = f"unix://{folder}/no-engine.sock"
    try:
        for model_file in (demo.model, path):
            proc = run_cli("build", model_file, "--name", name, "--reference", demo.reference)
            assert proc.returncode == 0, proc.stderr
    finally:
        if old is None:
            os.environ.pop("DOCKER_HOST")
        else:
            os.environ["DOCKER_HOST"] = old
    return joblib.load(demo.model), forest, data.drop(columns=TARGET)


@pytest.fixture(scope="module")
def two_versions(demo, tmp_path_factory):
    return make_two_versions(NAME, demo, tmp_path_factory.mktemp("compare"))


def test_two_versions_side_by_side(two_versions, monkeypatch):
    from deskml.core import services
    from deskml.core.experiments.compare import compare
    from deskml.core.monitoring import live
    from deskml.core.monitoring.outcomes import record
    from deskml.core.registry import Registry
    from deskml.core.settings import load_settings

    logistic, forest, inputs = two_versions
    settings, registry = load_settings()[0], Registry()
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/no-engine.sock")
    now = time.time()
    store = live.store(NAME)
    inst = "%011x%05x" % (int((now - 3600) * 1000), 21)
    records = [{"seq": i, "n": 1, "t": now - 1800 + i, "v": "1" if i < 40 else "2", "ms": 2.0 if i < 40 else 6.0,
                "in": {"basket": [1.0], "payment": ["card"], "email": ["x"]}, "pred": ["yes" if i % 2 else "no"]}
               for i in range(80)]
    write_journal(store, inst, "1", records, task="classification", classes=["no", "yes"])
    store.ingest(live=set(), settle=0)
    with store.connect() as db:  # version 1 right on 30 of 40, version 2 on 36 of 40
        record(db, [{"id": f"{inst}-{i}", "actual": records[i]["pred"][0] if (i % 40) < (30 if i < 40 else 36)
                     else ("no" if records[i]["pred"][0] == "yes" else "yes")} for i in range(80)], "test")

    calls = []
    real = services.score
    monkeypatch.setattr(services, "score", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    c = compare(settings, registry, NAME, "1", "2", store=store, now=now)
    assert c.inputs_removed == ["age"] and not c.inputs_added and not c.inputs_changed
    assert c.libraries == [] and c.outputs["classes_added"] == [] and calls == ["1", "2"]
    direct = (logistic.predict(inputs) == forest.predict(inputs)).mean()
    assert c.agreement["rows"] == len(inputs) and c.agreement["share"] == pytest.approx(direct)
    assert c.agreement["share"] < 1 and c.agreement["biggest"][0]["a"] != c.agreement["biggest"][0]["b"]
    assert c.latency["1"]["p50_ms"] == pytest.approx(2.0, rel=0.05) and c.latency["2"]["p50_ms"] == pytest.approx(
        6.0, rel=0.05)
    assert c.accuracy["1"]["value"] == pytest.approx(0.75) and c.accuracy["2"]["value"] == pytest.approx(0.9)
    words = " ".join(c.words)
    assert "version 2 no longer takes age" in words and "Libraries: the same versions." in words
    assert f"they give the same answer {direct:.1%} of the time" in words
    assert "version 1 right 75% (40 outcomes), version 2 right 90% (40)" in words
    from deskml.core.quality.on_journal import journal_drift, kinds_of
    from deskml.core.quality.view import prepared_reference

    for v in ("1", "2"):  # each version's drift against its own reference, as the Monitoring tab says it
        ver = registry.get(NAME, v)
        own = journal_drift(store, ver.info["inputs"], prepared_reference(ver.reference, kinds_of(ver.info["inputs"])[0]),
                            window="week", now=now, versions=[v])
        assert c.drift[v]["rows"] == own.rows_current and c.drift[v]["summary"] == own.summary.rstrip(".")
    assert "Drift in the last 7 days, each against its own reference data: version 1: " in words

    again = compare(settings, registry, NAME, "1", "2", store=store, now=now)
    assert calls == ["1", "2"] and again.agreement == c.agreement   # kept: the services are not asked again

    proc = run_cli("compare", NAME, "1", "2")
    assert proc.returncode == 0, proc.stderr
    assert "version 2 no longer takes age" in proc.stdout and "Where they differ most:" in proc.stdout
    doc = json.loads(run_cli("compare", NAME, "1", "2", "--json").stdout)
    assert doc["inputs_removed"] == ["age"] and doc["agreement"]["share"] == pytest.approx(direct)
    assert run_cli("compare", NAME, "1", "9").returncode == 9
    assert np.isfinite(c.agreement["biggest"][0]["difference"])
