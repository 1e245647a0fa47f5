"""The kill test with a container: the service is killed mid-load, the engine restarts it, and
every prediction id a client was answered with is in the journal on the host. The journal also
survives a restart of the engine itself, and of the app."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import requests

from killtest import SteadyClient, corrupt_lines
from deskml.core import services
from deskml.core.monitoring import live
from deskml.core.registry import Registry
from deskml.core.settings import Settings

pytestmark = pytest.mark.docker
NAME = "killed in a container"


@pytest.fixture(scope="module")
def deployed(docker_client, demo):
    from deskml.core.intake.inspection import inspect_file

    settings = Settings(default_port=8690)
    registry = Registry()
    for _ in services.package(settings, registry, inspect_file(demo.model), NAME, reference=str(demo.reference)):
        pass
    yield settings, registry
    services.stop(settings, NAME, registry)
    for image in docker_client.images.list(filters={"label": f"io.deskml.model.name={NAME}"}):
        docker_client.images.remove(image.id, force=True)


def _row(demo):
    return pd.read_csv(demo.reference).drop(columns="comes_back").iloc[0].to_dict()


def test_killed_mid_load_the_engine_restarts_it_and_nothing_answered_is_lost(deployed, docker_client, demo):
    settings, registry = deployed
    running = services.start(settings, registry, NAME)
    container = docker_client.containers.get(running.container_id)
    with SteadyClient(running.url, _row(demo)) as client:
        client.wait_for(30)
        os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)
        killed_at = len(client.acked)
        client.wait_for(killed_at + 30, timeout=120)
    container.reload()
    assert container.attrs["RestartCount"] >= 1
    store = live.store(NAME)
    assert corrupt_lines(store.files) == 0
    assert {p.stat().st_uid for p in store.files.glob("journal-*")} == {os.getuid()}  # the user's own files
    live.refresh(settings, NAME)
    missing = set(client.acked) - store.ids()
    print(f"\ncontainer: {len(client.acked)} answers acknowledged, {client.failed} failed during the restart, "
          f"{len(missing)} missing from the journal")
    assert not missing and len(set(client.acked)) == len(client.acked)
    found = services.find(settings, NAME)
    assert found.restarts >= 1 and found.crashed_at and "restarted" in services.state_words(
        "running", found, "running", None)


def test_the_journal_survives_an_app_restart_and_an_engine_restart(deployed, docker_client, demo):
    """The app holds nothing the journal needs: a new process reads the same store. The engine
    restarted (its daemon, here: CI starts it itself), the container comes back, and the journal
    has every answer of before and after."""
    settings, registry = deployed
    running = services.start(settings, registry, NAME)
    before = requests.post(running.url + "/v1/predict", json={"inputs": [_row(demo)] * 10}).json()["ids"]
    # an app restart: a separate process counts what the store has
    proc = subprocess.run([sys.executable, "-c", "import sys; from deskml.core.monitoring import live; "
                           f"live.refresh(__import__('deskml.core.settings', fromlist=['Settings']).Settings(), "
                           f"{NAME!r}); print(len(live.store({NAME!r}).ids()))"],
                          capture_output=True, text=True, env=dict(os.environ))
    assert proc.returncode == 0 and int(proc.stdout) >= 10, proc.stderr
    if not _can_restart_the_engine(docker_client):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI should be able to restart its own Docker engine (dockerd started by .ci/run)")
        pytest.skip("restarting this computer's Docker engine is left to CI")
    _restart_dockerd()
    docker_client.api.close()  # its pooled connections went with the old daemon; new ones are made
    deadline = time.time() + 120
    after = None
    while time.time() < deadline:
        try:
            r = requests.post(running.url + "/v1/predict", json={"inputs": [_row(demo)] * 5}, timeout=2)
            if r.status_code == 200:
                after = r.json()["ids"]
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    assert after, "the container did not come back after the engine restarted"
    live.refresh(settings, NAME)
    assert set(before) | set(after) <= live.store(NAME).ids()


def _can_restart_the_engine(client) -> bool:
    """Only a dockerd this test may restart: started by CI (.ci/run), as root, on this computer."""
    if os.geteuid() != 0 or os.environ.get("DOCKER_HOST") or os.environ.get("DESKML_DOCKER_HOST"):
        return False
    return subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode == 0


def _restart_dockerd():
    subprocess.run(["pkill", "-x", "dockerd"], check=True)
    for _ in range(100):
        if subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode != 0:
            break
        time.sleep(0.2)
    subprocess.Popen("dockerd >/tmp/deskml-ci-dockerd-restarted.log 2>&1", shell=True, start_new_session=True)
    for _ in range(120):
        if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("dockerd did not start again")
