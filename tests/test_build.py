"""Build plans and Dockerfiles, tested as text (no engine needed)."""
from __future__ import annotations

import json

import pytest

from deskml.core import packaging
from deskml.core.intake.inspection import ModelInfo


def _plan(**kw):
    base = dict(name="Coffee shop", version="1", model_path="/x/m.joblib", model_file="m.joblib",
                model_sha256="ab" * 32, sklearn_version="1.9.1", python="3.11",
                base_image="deskml-base/python:3.11", requirements=["scikit-learn==1.9.1"], why="",
                locked=["scikit-learn==1.9.1", "numpy==2.4.6"])
    base.update(kw)
    return packaging.BuildPlan(**base)


def test_dockerfile_is_two_stage_non_root_with_healthcheck():
    text = packaging.dockerfile(_plan(), created="2026-01-01T00:00:00+00:00")
    assert text.count("\nFROM deskml-base/python:3.11") == 2 and "AS builder" in text
    final = text.split("\nFROM deskml-base/python:3.11\n", 1)[1]
    assert "wheels" not in final and "pip install" not in final     # the final stage has no wheelhouse
    assert "--no-index" in text                                      # offline install
    assert "\nUSER 10001\n" in final and "HEALTHCHECK" in final
    instructions = [ln.split()[0] for ln in final.splitlines() if ln and ln[0].isupper()]
    after_model = instructions[instructions.index("COPY", instructions.index("HEALTHCHECK")):]
    assert after_model == ["COPY", "CMD", "LABEL"]   # the model is the last layer; the labels mark the end
    assert '"io.deskml.model.sha256"="' + "ab" * 32 + '"' in text
    assert '"io.deskml.requirements"="scikit-learn==1.9.1 numpy==2.4.6"' in text


def test_model_layer_is_the_only_difference_between_versions():
    a = packaging.dockerfile(_plan(version="1"), created="t").splitlines()
    b = packaging.dockerfile(_plan(version="2"), created="t").splitlines()
    first_diff = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    assert first_diff > a.index("COPY model/ /app/model/")


@pytest.mark.parametrize("name", ['Evil"; RUN rm -rf / #', "new\nline", "ünïcödé shop", "$(whoami)"])
def test_hostile_names_stay_inside_quoted_values(name):
    text = packaging.dockerfile(_plan(name=name, version='1" ; x'), created="t")
    cmd = json.loads(next(ln for ln in text.splitlines() if ln.startswith("CMD ["))[4:])
    assert cmd[cmd.index("--name") + 1] == name
    assert sum(ln.startswith("RUN ") for ln in text.splitlines()) == 3      # no line was injected
    assert "\nRUN rm" not in text
    tag = _plan(name=name).tag
    assert tag.startswith("deskml/") and all(c.isalnum() or c in "/:._-" for c in tag)


def _info(**kw):
    d = dict(path="/x/m.joblib", file_name="m.joblib", size_bytes=1, sha256="0" * 64, format="joblib",
             compression=None, pickle_protocol=5, sklearn_version="1.9.1", installed_sklearn_version="1.9.1",
             loaded=True, note=None, estimator="sklearn.pipeline.Pipeline", estimator_name="Pipeline",
             final_estimator="LogisticRegression", imports=["numpy._core.multiarray._reconstruct"])
    d.update(kw)
    return ModelInfo(**d)


def test_pins_follow_the_file():
    reqs = packaging.pins_for(_info())
    assert "scikit-learn==1.9.1" in reqs and "numpy>=2" in reqs and "httptools" in reqs
    old = packaging.pins_for(_info(sklearn_version="1.0.2", imports=["numpy.core.multiarray._reconstruct"]))
    assert "scikit-learn==1.0.2" in old and "numpy<2" in old
    lgbm = packaging.pins_for(_info(libraries={"lightgbm": "4.7.0"}))
    assert "lightgbm==4.7.0" in lgbm


def test_wheel_cache_is_keyed_by_the_dependency_set():
    a = packaging.wheel_cache_dir(["b", "a"], "3.11", "x86_64")
    assert a == packaging.wheel_cache_dir(["a", "b"], "3.11", "x86_64")
    assert a != packaging.wheel_cache_dir(["a", "b"], "3.9", "x86_64")
    assert a != packaging.wheel_cache_dir(["a", "c"], "3.11", "x86_64")
