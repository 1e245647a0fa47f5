"""The pre-release check (core/report/check.py): edge cases made from the inputs and the
reference data, a short load test and agreement with the live version, against real
serving apps; kept with the version; a failed one stops a promotion until the user says so."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import requests

from conftest import run_cli
from deskml.core import services
from deskml.core.errors import CheckFailed
from deskml.core.report import check
from deskml.core.runtimes.base import free_port, wait_healthy
from test_switch import NAME, SETTINGS, two_versions  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fragile(request, tmp_path):
    """A service whose model ends its process on any number over 1e300 (no keeper to restart it),
    or, parametrized "stuck", hangs for 8 s on any number below -1e300."""
    sys.path.insert(0, str(Path(__file__).parent))
    import fragile as models

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"height": rng.normal(170, 10, 200), "weight": rng.normal(70, 12, 200)})
    kind = models.Stuck if getattr(request, "param", "") == "stuck" else models.Fragile
    model = kind().fit(frame, (frame["weight"] > 70).astype(int))
    path = tmp_path / "fragile.joblib"
    joblib.dump(model, path)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(path), "--name", "fragile",
                             "--version", "1", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{Path(__file__).parent}"})
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, 60, alive=lambda: proc.poll() is None)
    yield url, requests.get(url + "/v1/model").json(), json.loads(frame.head(50).to_json(orient="records"))
    proc.kill()
    proc.wait()


def test_a_candidate_that_crashes_on_one_edge_case_fails_with_that_case_named(fragile):
    url, info, rows = fragile
    result = check.run("fragile", "1", url, info["inputs"], info["positional"], rows, load_seconds=1)
    assert not result.passed
    first = result.failed_cases[0]
    assert first.name == "'height' the largest number" and first.verdict == "failed"
    assert "crashed" in first.said
    tried = [c for c in result.cases if c.verdict != "not run"]
    assert tried[-1] is first                      # nothing after it ran: the service was gone
    assert all(c.said.startswith("not run") for c in result.cases[len(tried):])
    assert result.headline().startswith("Version 1 failed its check: 'height' the largest number")
    # the cases before it were judged for real: refusals name the input, out-of-range numbers answered
    by_name = {c.name: c for c in tried}
    assert by_name["'height' missing"].verdict == "refused clearly" and by_name["'height' missing"].status == 422
    assert by_name["'height' far above its range"].verdict == "answered"


@pytest.mark.parametrize("fragile", ["stuck"], indirect=True)
def test_a_candidate_that_hangs_on_one_edge_case_fails_with_that_case_named(fragile, monkeypatch):
    url, info, rows = fragile
    monkeypatch.setattr(check, "CASE_TIMEOUT", 2.0)
    result = check.run("stuck", "1", url, info["inputs"], info["positional"], rows, load_seconds=1)
    assert not result.passed
    hung = [c for c in result.failed_cases]
    assert [c.name for c in hung] == ["'height' minus the largest number", "'weight' minus the largest number"]
    assert all("no answer within 2 s (a hang)" in c.said for c in hung)
    # the service came back after each hang: the cases after it were judged, not skipped
    assert not any(c.verdict == "not run" for c in result.cases)
    assert next(c for c in result.cases if c.name == "'weight' infinite").verdict == "refused clearly"


def test_the_demo_passes_its_check_and_agrees_with_the_live_version(two_versions, demo):  # noqa: F811
    registry = two_versions
    running = services.start(SETTINGS, registry, NAME, "1")
    result = services.check(SETTINGS, registry, NAME, "2", load_seconds=3)
    assert result.passed, [(c.name, c.said) for c in result.failed_cases]
    names = [c.name for c in result.cases]
    assert "'store' a value never seen" in names and "a large batch (10,000 rows)" in names
    assert "'visits_per_month' not a number (NaN)" in names and "an empty batch (no rows)" in names
    assert [level.concurrency for level in result.load] == [1, 4, 16]
    assert all(level.requests > 0 and level.errors == 0 and level.p50_ms <= level.p99_ms for level in result.load)
    assert result.agreement.live_version == "1" and result.agreement.rows == 600
    assert result.agreement.share == 1.0                  # the same file packaged twice
    kept = registry.latest_check(NAME, "2")
    assert kept["passed"] and kept["user"] and kept["cases"][0]["name"] == result.cases[0].name
    assert registry.history(NAME)[-1]["action"] == "check"
    # checked beside the live version, never instead of it: the address still answers with 1, and
    # the candidate's service started for the check is gone again
    row = pd.read_csv(demo.reference).drop(columns="comes_back").iloc[0].to_dict()
    assert requests.post(running.url + "/v1/predict", json={"inputs": [row]}).json()["model_version"] == "1"
    from deskml.core.experiments import switch
    assert switch.member_status(None, NAME, "2") is None
    proc = run_cli("check", f"{NAME}:2", "--seconds", "1")
    assert proc.returncode == 0, proc.stderr
    assert "\nVersion 2 passed its check: 58 edge cases handled, no errors under load." in proc.stdout
    assert "agreement with version 1: 600 of 600 reference rows the same (100.0%)" in proc.stdout
    assert "load, 16 at a time:" in proc.stdout
    history = run_cli("history", NAME).stdout
    assert "pre-release check of version 2 by" in history


def test_a_failed_check_stops_a_promotion_until_the_user_says_so(two_versions):  # noqa: F811
    registry = two_versions
    services.start(SETTINGS, registry, NAME, "1")
    failed = check.CheckResult(NAME, "2", 0.0, [check.Case("'store' a value never seen", "store", "failed", 500,
                                                           "the service failed (500): boom")], [], None)
    registry.add_check(NAME, "2", failed.to_dict())
    with pytest.raises(CheckFailed) as caught:
        services.promote(SETTINGS, registry, NAME, "2", with_check=True)
    assert "'store' a value never seen" in caught.value.headline
    assert services.find(SETTINGS, NAME).version == "1"          # the live version untouched
    proc = run_cli("promote", NAME, "2")
    assert proc.returncode == 15 and "--despite-check" in proc.stderr + proc.stdout
    proc = run_cli("promote", NAME, "2", "--despite-check")
    assert proc.returncode == 0, proc.stderr
    last = registry.history(NAME)[-1]
    assert last["action"] == "promote" and last["version"] == "2"
    assert "despite a failed pre-release check" in last["detail"]
