"""The command line's view of a running model: deskml monitor, journal, alerts, privacy, erase."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import requests

from conftest import run_cli

NAME = "cli watched"


@pytest.fixture(scope="module")
def running(demo, tmp_path_factory):
    import os

    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = "unix:///nonexistent/no-engine.sock"
    try:
        assert run_cli("build", demo.model, "--name", NAME, "--reference", demo.reference).returncode == 0
        assert run_cli("privacy", NAME, "--mask", "age").returncode == 0
        proc = run_cli("run", NAME)
        assert proc.returncode == 0, proc.stderr
        url = proc.stdout.strip().rsplit(" ", 1)[-1]
        yield url
    finally:
        run_cli("stop", NAME)
        if old is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = old


def test_monitor_says_how_it_is_doing(running, demo):
    rows = pd.read_csv(demo.reference).drop(columns="comes_back").head(30).to_dict("records")
    for row in rows:
        requests.post(running + "/v1/predict", json={"inputs": [row]})
    requests.post(running + "/v1/predict", json={"inputs": [{**rows[0], "store": "Mars"}]})
    proc = run_cli("monitor", NAME)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"{NAME}: the last hour" in out and "Predictions      30 (in 30 requests); today 30" in out
    assert "Speed            p50" in out and "p95" in out
    assert "Errors           1 of 31 requests (3.2%): invalid input 1" in out
    data = json.loads(run_cli("monitor", NAME, "--since", "1d", "--json").stdout)
    assert data["summary"]["predictions"] == 30 and data["summary"]["errors_by_kind"] == {"invalid input": 1}
    bad = run_cli("monitor", NAME, "--since", "yesterday-ish")
    assert bad.returncode == 2 and "--since 30m, 1h, 2d" in bad.stderr


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_journal_exports_one_row_per_prediction(running, tmp_path, suffix):
    out = tmp_path / f"journal.{suffix}"
    proc = run_cli("journal", NAME, "-o", out)
    assert proc.returncode == 0 and "Exported" in proc.stdout, proc.stderr
    frame = pd.read_csv(out) if suffix == "csv" else pd.read_excel(out)
    assert list(frame.columns[:6]) == ["id", "time", "version", "source", "status", "latency_ms"]
    assert {"visits_per_month", "store", "prediction", "probability_yes"} <= set(frame.columns)
    assert "age" not in frame.columns or frame["age"].isna().all()  # masked: never stored
    assert frame["id"].is_unique and len(frame) >= 31
    bad = run_cli("journal", NAME, "-o", tmp_path / "journal.pdf")
    assert bad.returncode == 2 and ".csv or .xlsx" in bad.stderr


def test_privacy_and_erase_from_the_command_line(running, demo):
    proc = run_cli("privacy", NAME)
    assert "Never stored for cli watched: age" in proc.stdout
    proc = run_cli("privacy", NAME, "--mask", "shoe_size")
    assert proc.returncode == 2 and "has no input 'shoe_size'" in proc.stderr
    row = pd.read_csv(demo.reference).drop(columns="comes_back").iloc[3].to_dict()
    requests.post(running + "/v1/predict", json={"inputs": [{**row, "avg_basket_eur": 12.3456}]})
    proc = run_cli("erase", NAME, "--value", "12.3456", "--input", "avg_basket_eur")
    assert proc.returncode == 0 and "Erased 1 record" in proc.stdout, proc.stderr
    assert "without the value" in proc.stdout
    proc = run_cli("alerts", NAME)
    assert proc.returncode == 0
