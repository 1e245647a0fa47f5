"""Without a container engine: build records a local version, run serves it as a local process."""
from __future__ import annotations

import json

import pytest
import requests

from conftest import run_cli

NAME = "DeskML local demo"


@pytest.fixture
def no_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    yield
    run_cli("stop", NAME)


def test_build_run_predict_stop_without_docker(no_engine, demo, tmp_path):
    proc = run_cli("build", demo.model, "--name", NAME)
    assert proc.returncode == 0, proc.stderr
    assert "No container engine answers" in proc.stderr and "(local process)" in proc.stdout

    proc = run_cli("run", NAME)
    assert proc.returncode == 0, proc.stderr
    assert "runs it as a local process" in proc.stderr or "recorded without a container engine" in proc.stderr
    url = proc.stdout.strip().rsplit(" ", 1)[-1]
    assert requests.get(url + "/health").json()["status"] == "ok"

    row = {"visits_per_month": 5, "avg_basket_eur": 9.5, "days_since_last_visit": 3, "age": 31,
           "loyalty_card": "yes", "favourite_product": "coffee", "store": "Centre"}
    proc = run_cli("predict", NAME, "--input", json.dumps(row))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["predictions"] == ["yes"]
    out = tmp_path / "scored.csv"
    assert run_cli("score", NAME, demo.reference, "-o", out).returncode == 0
    assert out.read_text().count("\n") == 601

    services = json.loads(run_cli("status", "--json").stdout)["services"]
    mine = [s for s in services if s["model"] == NAME]
    assert mine and mine[0]["state"] == "running" and mine[0]["url"] == url
    assert "Stopped" in run_cli("stop", NAME).stdout
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/health", timeout=2)
    assert not [s for s in json.loads(run_cli("status", "--json").stdout)["services"] if s["model"] == NAME]
