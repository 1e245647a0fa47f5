"""A hands-off path from a new file to a tested candidate (core/experiments/candidate.py): a
file dropped in a model's watched folder ends as a checked candidate in a shadow test, with
its audit trail; a broken file ends as one plain alert, the live version untouched."""
from __future__ import annotations

import os
import time

import joblib
import requests

from conftest import run_cli
from deskml.core import services
from deskml.core.demo import build_model, make_data
from deskml.core.experiments import candidate
from deskml.core.runtimes import front_door
from test_switch import NAME, SETTINGS, _row, two_versions  # noqa: F401  (a fixture)


def _settled(path):
    old = time.time() - 10  # as if copied a while ago
    os.utime(path, (old, old))


def test_a_file_in_the_watched_folder_ends_as_a_checked_candidate_in_shadow(two_versions, demo, tmp_path):  # noqa: F811
    registry = two_versions
    running = services.start(SETTINGS, registry, NAME, "1")
    folder = tmp_path / "new models"
    folder.mkdir()
    assert run_cli("watch", NAME, folder).returncode == 0
    assert registry.settings(NAME)["watch_folder"] == str(folder.resolve())
    retrained = folder / "retrained in december.joblib"
    joblib.dump(build_model(make_data(seed=11)), retrained)     # a new file: a SHA-256 no version has
    assert candidate.new_files(registry, NAME) == []           # still being written, for all DeskML knows
    _settled(retrained)
    (folder / "notes.txt").write_text("not a model")           # other files are left alone
    assert candidate.new_files(registry, NAME) == [retrained]

    proc = run_cli("watch", "--scan", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed its check and is in a shadow test beside version 1" in proc.stdout
    door = front_door.find(NAME)
    assert door.live_version() == "1" and door.challenger() == {**door.challenger(), "version": "3", "mode": "shadow"}
    assert registry.latest_check(NAME, "3")["passed"]
    r = requests.post(running.url + "/v1/predict", json={"inputs": [_row(demo)]}).json()
    assert r["model_version"] == "1"                            # the live version still answers
    trail = [(e["action"], e["version"]) for e in registry.history(NAME)][-6:]
    assert trail == [("deploy", "3"), ("candidate", "3"), ("candidate", "3"), ("check", "3"), ("shadow-start", "3"),
                     ("candidate", "3")]
    details = [e["detail"] for e in registry.history(NAME) if e["action"] == "candidate"]
    assert details[0] == "retrained in december.joblib was inspected and packaged as version 3"
    assert details[1] == "version 3 started beside the live version 1"
    assert [a["severity"] for a in registry.alerts(NAME)] == ["info"]
    assert candidate.new_files(registry, NAME) == []            # tried once


def test_a_broken_file_ends_as_one_alert_and_the_live_version_is_untouched(two_versions, demo, tmp_path):  # noqa: F811
    registry = two_versions
    running = services.start(SETTINGS, registry, NAME, "1")
    folder = tmp_path / "drop"
    folder.mkdir()
    candidate.watch(registry, NAME, str(folder))
    broken = folder / "model.joblib"
    broken.write_bytes(b"this is not a model file at all" * 100)
    _settled(broken)
    results = candidate.scan(SETTINGS, registry)
    assert len(results) == 1 and not results[0].ok and results[0].version is None
    assert results[0].words.startswith("model.joblib did not become a candidate (inspecting it): ")
    alerts = registry.alerts(NAME)
    assert len(alerts) == 1 and alerts[0]["severity"] == "warning"
    assert alerts[0]["headline"].startswith("Model.joblib did not become a candidate")
    assert [v.version for v in registry.versions(NAME)] == ["1", "2"]          # no version made of it
    door = front_door.find(NAME)
    assert door.live_version() == "1" and door.challenger() is None
    r = requests.post(running.url + "/v1/predict", json={"inputs": [_row(demo)]}).json()
    assert r["model_version"] == "1"
    assert candidate.scan(SETTINGS, registry) == [] and len(registry.alerts(NAME)) == 1   # one alert, not one a scan
    assert registry.history(NAME)[-1]["detail"].startswith("failed: model.joblib did not become a candidate")
    # the app looks at the watched folders with its alert rules, and announces what a file became
    from deskml.gui.watcher import AlertWatcher

    second = folder / "another.pkl"
    second.write_bytes(b"\x80\x04not really a pickle")
    _settled(second)
    fired = AlertWatcher._check(SETTINGS, registry)
    assert [(a["model"], a["rule"], a["severity"]) for a in fired] == [(NAME, "candidate", "warning")]
    assert fired[0]["headline"].startswith("Another.pkl did not become a candidate")


def test_build_candidate_from_the_command_line(two_versions, demo, tmp_path):  # noqa: F811
    registry = two_versions
    services.start(SETTINGS, registry, NAME, "1")
    path = tmp_path / "scripted.joblib"
    joblib.dump(build_model(make_data(seed=12)), path)
    proc = run_cli("build", path, "--name", NAME, "--candidate", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "version 3 started beside the live version 1" in proc.stdout
    assert front_door.find(NAME).challenger()["version"] == "3"
