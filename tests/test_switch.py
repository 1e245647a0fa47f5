"""Promote, roll back, A/B and shadow through DeskML itself (services and the command line),
with the local-process runtime: one address that never changes, no failed request."""
from __future__ import annotations

import json
import time

import pandas as pd
import pytest
import requests

from conftest import run_cli
from deskml.core import services
from deskml.core.errors import ServiceUnhealthy
from deskml.core.registry import Registry
from deskml.core.runtimes import front_door, process
from deskml.core.runtimes.base import member_key
from deskml.core.settings import Settings
from test_front_door import Steady

SETTINGS = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8690, keep_warm_minutes=0)
NAME = "switch shop"


@pytest.fixture
def two_versions(demo, tmp_path, monkeypatch):
    """The demo packaged twice as local versions (1 and 2), in a fresh data folder."""
    monkeypatch.setenv("DESKML_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/no-engine.sock")
    (tmp_path / "xdg" / "deskml").mkdir(parents=True)
    (tmp_path / "xdg" / "deskml" / "settings.json").write_text(json.dumps({"keep_warm_minutes": 0,
                                                                          "default_port": 8690}))
    from deskml.core.intake.inspection import inspect_file

    registry = Registry()
    for _ in range(2):
        for _ in services.package(SETTINGS, registry, inspect_file(demo.model), NAME, reference=str(demo.reference)):
            pass
    yield registry
    services.stop(SETTINGS, NAME, registry)


def _row(demo):
    return pd.read_csv(demo.reference).drop(columns="comes_back").iloc[0].to_dict()


def test_promote_and_roll_back_with_no_failed_request(two_versions, demo):
    registry = two_versions
    running = services.start(SETTINGS, registry, NAME, "1")
    url, port = running.url, running.port
    with Steady(url, port, {"inputs": [_row(demo)]}) as steady:
        time.sleep(0.5)
        st = front_door.status(url)  # connections are handed to the version, not passed on request by request
        assert st["mode"] == "handoff" and st["live"]["handed"] > 0
        switching = time.monotonic()
        promoted_to = services.promote(SETTINGS, registry, NAME, "2")
        promoted = time.monotonic()
        assert process.find(member_key(NAME, "1")) is None      # drained, then stopped
        time.sleep(0.5)
        rolling = time.monotonic()
        rolled = services.rollback(SETTINGS, registry, NAME)
        rolled_back = time.monotonic()
        time.sleep(0.5)
    assert steady.failures == []
    assert promoted_to.url == rolled.url == url and rolled.version == "1"
    answers = steady.answers
    for way in ("keep", "new"):
        assert {v for t, w, v in answers if w == way and t < switching} == {"1"}
        assert {v for t, w, v in answers if w == way and promoted < t < rolling} == {"2"}
        assert {v for t, w, v in answers if w == way and t > rolled_back} == {"1"}
    assert process.find(member_key(NAME, "2")) is None
    actions = [(e["action"], e["version"], e["previous"]) for e in registry.history(NAME)]
    assert actions[-2:] == [("promote", "2", "1"), ("rollback", "1", "2")]
    found = services.find(SETTINGS, NAME)
    assert found.url == url and found.version == "1" and found.state == "running"


def test_a_version_that_fails_to_start_leaves_the_live_one_answering(two_versions, demo):
    registry = two_versions
    running = services.start(SETTINGS, registry, NAME, "1")
    before = front_door.read_config(front_door.config_file(NAME))
    with open(registry.get(NAME, "2").info["path"], "ab") as f:   # no longer the file that was checked
        f.write(b"changed")
    with pytest.raises(ServiceUnhealthy) as err:
        services.promote(SETTINGS, registry, NAME, "2")
    assert "did not start" in err.value.message
    assert front_door.read_config(front_door.config_file(NAME)) == before
    answer = requests.post(running.url + "/v1/predict", json={"inputs": [_row(demo)]}).json()
    assert answer["model_version"] == "1"
    assert [e["action"] for e in registry.history(NAME)].count("promote") == 0


def test_ab_and_shadow_from_the_command_line(two_versions, demo):
    proc = run_cli("run", f"{NAME}:1")
    assert proc.returncode == 0, proc.stderr
    url = proc.stdout.splitlines()[0].rsplit(" ", 1)[-1]
    proc = run_cli("ab", NAME, "2", "--share", "50%")
    assert proc.returncode == 0 and "A/B test started" in proc.stdout, proc.stderr
    status = run_cli("status").stdout
    assert f"behind {url}: version 1 (live, 50%), version 2 (A/B, 50%)" in status, status
    seen = {requests.post(url + "/v1/predict", json={"inputs": [_row(demo)], "key": f"c{i}"}).json()["model_version"]
            for i in range(40)}
    assert seen == {"1", "2"}
    again = {requests.post(url + "/v1/predict", json={"inputs": [_row(demo)], "key": "c7"}).json()["model_version"]
             for _ in range(10)}
    assert len(again) == 1
    assert "ended" in run_cli("end-test", NAME).stdout
    assert {requests.post(url + "/v1/predict", json={"inputs": [_row(demo)]}).json()["model_version"]
            for _ in range(20)} == {"1"}
    proc = run_cli("shadow", NAME, "2")
    assert proc.returncode == 0 and "shadow test started" in proc.stdout, proc.stderr
    assert "version 2 (shadow: answers copies, never sent back)" in run_cli("status").stdout
    assert {requests.post(url + "/v1/predict", json={"inputs": [_row(demo)]}).json()["model_version"]
            for _ in range(20)} == {"1"}
    data = json.loads(run_cli("status", "--json").stdout)
    behind = next(m for m in data["models"] if m["model"] == NAME)["behind"]
    assert [(b["version"], b["role"]) for b in behind] == [("1", "live"), ("2", "shadow")]
    proc = run_cli("ab", NAME, "2", "--share", "150%")
    assert proc.returncode != 0 and "is not a share" in proc.stderr and "Traceback" not in proc.stderr
    history = run_cli("history", NAME).stdout
    for words in ("A/B test started version 2", "A/B test stopped version 2", "shadow test started version 2"):
        assert words in history, history


def test_the_old_version_is_kept_warm_for_a_quick_roll_back_then_stopped(two_versions):
    from deskml.core.experiments.switch import expire_warm

    registry = two_versions
    warm = Settings(docker_host="unix:///nonexistent/no-engine.sock", default_port=8690, keep_warm_minutes=10)
    services.start(warm, registry, NAME, "1")
    first = process.find(member_key(NAME, "1")).container_id
    services.promote(warm, registry, NAME, "2")
    assert process.find(member_key(NAME, "1")).state == "running"          # kept ready
    assert [(b["version"], b["role"]) for b in services.behind(warm, NAME)] == [("2", "live"), ("1", "warm")]
    services.rollback(warm, registry, NAME)
    assert process.find(member_key(NAME, "1")).container_id == first        # the same process: no restart
    assert expire_warm(None, now=time.time() + 9 * 60) == []
    assert expire_warm(None, now=time.time() + 11 * 60) == [(NAME, "2")]
    assert process.find(member_key(NAME, "2")) is None
    assert [b["version"] for b in services.behind(warm, NAME)] == ["1"]


def test_a_stop_during_a_resume_wins(two_versions, monkeypatch):
    """The app's welcome starts models again (resume) while the user clicks Stop: whichever
    looks first, the model ends stopped, and nothing is started after the Stop."""
    import threading

    from deskml.core.experiments import switch

    registry = two_versions
    services.start(SETTINGS, registry, NAME, "1")
    real_stop_all = switch.stop_all
    resumed = []

    def stop_all_then_a_resume_looks(client, model):
        stopped = real_stop_all(client, model)   # the address is closed: "not running" to a look now
        t = threading.Thread(target=lambda: resumed.append(services.resume(SETTINGS, Registry())))
        t.start()
        t.join(10)                               # the stop is not over; the look is
        stop_all_then_a_resume_looks.thread = t
        return stopped

    monkeypatch.setattr(switch, "stop_all", stop_all_then_a_resume_looks)
    assert services.stop(SETTINGS, NAME, registry)
    stop_all_then_a_resume_looks.thread.join(30)
    assert resumed == [[]]                       # it looked after the Stop: nothing to start
    assert services.find(SETTINGS, NAME) is None and registry.desired(NAME)[0] == "stopped"
    assert services.overview(SETTINGS, registry)[0].state == "stopped"

    # the other way round: a resume under way finishes, then the Stop stops what it started
    services.start(SETTINGS, registry, NAME, "1")
    front_door.halt(NAME)                        # as after a restart of the computer: wanted, not running
    for r in process.members(NAME):
        process.stop(member_key(NAME, r.version))
    t = threading.Thread(target=lambda: resumed.append(services.resume(SETTINGS, Registry())))
    with services.changing(NAME):                # the resume is under way (holds the lock) …
        t.start()
        time.sleep(0.3)
        stopper = threading.Thread(target=services.stop, args=(SETTINGS, NAME, Registry()))
        stopper.start()                          # … when Stop is clicked
        time.sleep(0.3)
    t.join(60)
    stopper.join(60)
    assert services.find(SETTINGS, NAME) is None and registry.desired(NAME)[0] == "stopped"


def test_the_command_line_says_it_waits_for_a_start_or_stop_under_way(two_versions):
    """`deskml stop` while the app is starting the same model: it says it waits (no silent
    hang), then stops the model once that start is done."""
    import threading

    registry = two_versions
    services.start(SETTINGS, registry, NAME, "1")
    done = []
    with services.changing(NAME):    # the app's start under way
        t = threading.Thread(target=lambda: done.append(run_cli("stop", NAME)))
        t.start()
        time.sleep(3)
        assert not done               # it waits …
    t.join(60)                        # … and goes on once the lock is free
    proc = done[0]
    assert proc.returncode == 0, proc.stderr
    assert "Waiting: switch shop is being started or stopped by something else" in proc.stderr
    assert services.find(SETTINGS, NAME) is None and registry.desired(NAME)[0] == "stopped"
