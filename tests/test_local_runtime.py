"""Without a container engine: build records a local version, run serves it as a local process."""
from __future__ import annotations

import json

import joblib
import pandas as pd
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


def test_score_a_spreadsheet_excel_in_and_out(demo, tmp_path):
    """Batch scoring of an Excel file through a running service, the result written as Excel;
    asking to overwrite the input is refused."""
    import subprocess
    import sys

    from deskml.core.batch import score_file
    from deskml.core.errors import UsageError
    from deskml.core.runtimes.base import free_port, wait_healthy

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deskml.server", "--model", str(demo.model), "--port", str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, 60, alive=lambda: proc.poll() is None)
        frame = pd.read_csv(demo.reference)
        src, dst = tmp_path / "customers.xlsx", tmp_path / "scored.xlsx"
        frame.to_excel(src, index=False)
        assert score_file(url, src, dst) == 600
        scored = pd.read_excel(dst)
        assert len(scored) == 600 and scored["prediction"].tolist() == \
            joblib.load(demo.model).predict(frame.drop(columns="comes_back")).tolist()
        with pytest.raises(UsageError, match="overwrite the input"):
            score_file(url, src, src)
    finally:
        proc.terminate()
        proc.wait(10)
