"""A model run as a local process has the promises of a container: killed, it comes back (and
nothing it answered is lost); crashing again and again, it is given up with a plain reason;
after the computer restarts, the models left running start again. Status tells "stopped by
you" from "crashed", with when."""
from __future__ import annotations

import json
import os
import signal
import time

import pandas as pd
import pytest
import requests

from conftest import run_cli
from killtest import SteadyClient, corrupt_lines
from deskml.core import services
from deskml.core.monitoring import live
from deskml.core.registry import Registry
from deskml.core.runtimes import front_door, process
from deskml.core.runtimes.base import member_key
from deskml.core.settings import Settings

SETTINGS = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8680)


@pytest.fixture
def local_model(demo, tmp_path, monkeypatch):
    """The demo packaged as a local version (no engine), in a fresh data folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("DESKML_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/no-engine.sock")
    from deskml.core.intake.inspection import inspect_file

    registry = Registry()
    name = "kept shop"
    for _ in services.package(SETTINGS, registry, inspect_file(demo.model), name, reference=str(demo.reference)):
        pass
    kept = registry.get(name).reference  # the reference data is kept with the version, whatever happens to it
    assert kept == str(home / "data" / "models" / "kept-shop" / "1" / "reference.csv")
    assert open(kept).read() == open(demo.reference).read()
    yield registry, name
    services.stop(SETTINGS, name, registry)


def _row(demo):
    return pd.read_csv(demo.reference).drop(columns="comes_back").iloc[0].to_dict()


def _member(name):
    """The state file key of the version's own service behind the model's address."""
    return member_key(name, "1")


def _service_pid(name):
    return json.loads(process._state_file(_member(name)).read_text())["pid"]


def _wait(condition, timeout=60, what="the condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_killed_mid_load_it_comes_back_and_nothing_answered_is_lost(local_model, demo):
    registry, name = local_model
    running = services.start(SETTINGS, registry, name)
    with SteadyClient(running.url, _row(demo)) as client:
        client.wait_for(30)
        os.kill(_service_pid(name), signal.SIGKILL)
        killed_at = len(client.acked)
        client.wait_for(killed_at + 30)  # answers again: the keeper restarted it
    found = services.find(SETTINGS, name)
    assert found.state == "running" and found.restarts == 1 and found.crashed_at
    assert "SIGKILL" in found.reason
    state = next(m for m in services.overview(SETTINGS, registry) if m.model == name)
    assert state.detail.startswith("running (it crashed at") and "restarted 1 time" in state.detail
    store = live.store(name)
    assert corrupt_lines(store.files) == 0
    live.refresh(SETTINGS, name)
    missing = set(client.acked) - store.ids()
    print(f"\nlocal process: {len(client.acked)} answers acknowledged, {client.failed} failed during the restart, "
          f"{len(missing)} missing from the journal")
    assert not missing and len(set(client.acked)) == len(client.acked)
    kinds = [e["kind"] for e in registry.events(name)]
    assert kinds[-3:] == ["started", "crashed", "restarted"]


def test_a_crash_loop_is_given_up_with_a_plain_reason(local_model, monkeypatch):
    registry, name = local_model
    services.start(SETTINGS, registry, name)
    for _ in range(5):  # killed as soon as it is back, five times within two minutes
        _wait(lambda: process.find(_member(name)) is not None and process.find(_member(name)).state == "running"
              or process.find(_member(name)) is not None and process.find(_member(name)).state == "crashed", 60, "a restart")
        if process.find(_member(name)).state == "crashed":
            break
        os.kill(_service_pid(name), signal.SIGKILL)
        _wait(lambda: process.find(_member(name)).state != "running", 10, "the crash to be seen")
    _wait(lambda: process.find(_member(name)).state == "crashed", 60, "giving up")
    found = process.find(_member(name))
    assert "crashed 5 times within 2 minutes" in found.reason and "SIGKILL" in found.reason
    state = next(m for m in services.overview(SETTINGS, registry) if m.model == name)
    assert state.state == "crashed" and state.detail.startswith("crashed at") and "gave up" in state.detail
    proc = run_cli("status")
    assert f"{name}" in proc.stdout and "crashed at" in proc.stdout and "DeskML gave up" in proc.stdout
    assert [e["kind"] for e in registry.events(name)][-1] == "gave-up"


def test_after_a_restart_of_the_computer_the_models_left_running_start_again(local_model, tmp_path):
    registry, name = local_model
    running = services.start(SETTINGS, registry, name)
    entry = tmp_path / "xdg" / "autostart" / "deskml-resume.desktop"
    assert entry.exists() and " resume --quiet" in entry.read_text() and "DESKML_HOME=" in entry.read_text()
    st = json.loads(process._state_file(_member(name)).read_text())
    door = json.loads(front_door._state_file(name).read_text())
    for pid in (st["keeper"], st["pid"], door["keeper"], door["pid"]):  # the computer goes down: all ends
        os.kill(pid, signal.SIGKILL)
    _wait(lambda: process.find(_member(name)) is not None and process.find(_member(name)).state == "crashed", 10, "the crash")
    proc = run_cli("resume")
    assert proc.returncode == 0 and f"{name} is running again at {running.url}" in proc.stdout, proc.stderr
    assert requests.get(running.url + "/health", timeout=5).status_code == 200
    proc = run_cli("stop", name)
    assert "Stopped" in proc.stdout and not entry.exists()  # nothing left to bring back
    proc = run_cli("status")
    assert "stopped by you at" in proc.stdout
    assert run_cli("resume").stdout.strip() == "Every model you left running is running."


def test_a_service_ended_but_not_yet_reaped_by_the_process_that_started_it_is_not_running():
    """The app starts a service; `deskml stop` in a terminal ends it. Until the app reads its exit
    the ended process is a zombie of the app's: the command line must not wait 15 s for it to end
    (it did, twice: 30 s for a stop), nor say it runs."""
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                               "p = subprocess.Popen(['true']); print(p.pid, flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while process._alive(pid) and time.monotonic() < deadline:  # 'true' ends at once
            time.sleep(0.05)
        assert not process._alive(pid)
        with open(f"/proc/{pid}/stat") as f:  # still there, unreaped: what fooled the check
            assert f.read().rsplit(")", 1)[1].split()[0] == "Z"
        assert process._alive(parent.pid)
    finally:
        parent.kill()
        parent.wait()
