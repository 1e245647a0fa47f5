"""deskml build / run / status / stop against the real engine, as a user would type them."""
from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import time

import pytest
import requests

from conftest import listening_addresses, run_cli, service_status as _status
from deskml.core.errors import ExitCode

pytestmark = pytest.mark.docker
NAME = "DeskML CLI demo"


@pytest.fixture
def built(docker_client, demo):
    proc = run_cli("build", demo.model, "--name", NAME, "--reference", demo.reference, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "Built DeskML CLI demo version" in proc.stdout and "Python 3.11" in proc.stdout
    yield
    run_cli("stop", NAME)
    for image in docker_client.images.list(filters={"label": f"io.deskml.model.name={NAME}"}):
        docker_client.images.remove(image.id, force=True)


def test_run_predict_kill_restart_stop(built, docker_client, demo):
    proc = run_cli("run", NAME)
    assert proc.returncode == 0, proc.stderr
    url = proc.stdout.strip().rsplit(" ", 1)[-1]
    assert url.startswith("http://127.0.0.1:")
    row = {"visits_per_month": 5, "avg_basket_eur": 9.5, "days_since_last_visit": 3, "age": 31,
           "loyalty_card": "yes", "favourite_product": "coffee", "store": "Centre"}
    assert requests.post(url + "/v1/predict", json={"inputs": [row]}).json()["predictions"] == ["yes"]
    s = _status(NAME)
    assert s["state"] == "running" and s["url"] == url

    # the command line's own predict and score go through the service
    proc = run_cli("predict", NAME, "--input", json.dumps(row))
    assert proc.returncode == 0 and json.loads(proc.stdout)["predictions"] == ["yes"]
    proc = run_cli("predict", NAME, "--input", json.dumps({**row, "store": "Airport"}))
    assert proc.returncode == ExitCode.USAGE and "'store' has the unknown value 'Airport'" in proc.stderr
    out = demo.reference.parent / "scored.csv"
    proc = run_cli("score", NAME, demo.reference, "-o", out)
    assert proc.returncode == 0 and "Scored 600 rows" in proc.stdout and "MB sent" in proc.stderr
    import pandas as pd
    scored = pd.read_csv(out)
    assert len(scored) == 600 and {"prediction", "probability_yes"} <= set(scored.columns)
    proc = run_cli("score", NAME, demo.reference, "-o", demo.reference)
    assert proc.returncode == ExitCode.USAGE and "overwrite the input" in proc.stderr

    # kill the service's process from the host: the engine restarts it, status says so
    container = docker_client.containers.get(s["container_id"])
    os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)
    seen = set()
    deadline = time.time() + 60
    while time.time() < deadline:
        seen.add(_status(NAME)["state"])
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200 and len(seen) > 0:
                container.reload()
                if container.attrs["RestartCount"] >= 1:
                    break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    container.reload()
    assert container.attrs["RestartCount"] >= 1 and _status(NAME)["state"] == "running"
    print(f"\nstates seen after the kill: {sorted(seen)}")

    # running again keeps the address
    proc = run_cli("run", NAME)
    assert proc.returncode == 0 and proc.stdout.strip().endswith(url)

    # a port taken by another program: another one is chosen, and the user is told
    port = int(url.rsplit(":", 1)[1])
    run_cli("stop", NAME)
    blocker = socket.socket()
    # as servers do: the front door's closed connections may still wait out TIME_WAIT on the port
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen()
    try:
        proc = run_cli("run", NAME)
        assert proc.returncode == 0, proc.stderr
        assert f"Port {port} is in use by another program" in proc.stderr
        assert not proc.stdout.strip().endswith(url)
    finally:
        blocker.close()

    assert "Stopped" in run_cli("stop", NAME).stdout
    assert _status(NAME) is None


def test_unknown_model_and_logs_of_stopped_model():
    proc = run_cli("run", "no such model")
    assert proc.returncode == ExitCode.NOT_FOUND and "There is no model no such model" in proc.stderr
    proc = run_cli("logs", "no such model")
    assert proc.returncode == ExitCode.NOT_FOUND and "is not running" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_lan_access_needs_the_api_key(built, docker_client):
    proc = run_cli("run", NAME, "--lan")
    assert proc.returncode == 0, proc.stderr
    url = proc.stdout.splitlines()[0].rsplit(" ", 1)[-1]
    key = proc.stdout.split("Authorization: Bearer ", 1)[1].split("'", 1)[0]
    assert len(key) >= 24
    assert requests.get(url + "/health").status_code == 200            # liveness stays open
    assert requests.get(url + "/v1/model").status_code == 401
    wrong = requests.get(url + "/v1/model", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "API key" in wrong.json()["error"]["message"]
    assert requests.get(url + "/v1/model", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    port = int(url.rsplit(":", 1)[1])
    assert _status(NAME)["lan"] is True and _reachable_from_network(docker_client, port)
    # back to this computer only: no key needed, and the port cannot be reached from the network
    proc = run_cli("run", NAME)
    assert requests.get(url + "/v1/model").status_code == 200
    assert not _reachable_from_network(docker_client, port)


def _reachable_from_network(docker_client, port):
    """Can the port be reached from the network, not only from this computer? Told by
    the addresses its listening sockets are bound to (no traffic beyond loopback)."""
    addresses = listening_addresses(port)
    assert addresses, f"nothing listens on port {port}"
    return any(not ipaddress.ip_address(a).is_loopback for a in addresses)


def test_both_ways_of_reaching_a_container(built, docker_client, tmp_path):
    """The host's network where the engine is on this computer (no proxy in the way), a
    published port otherwise; both answer on 127.0.0.1 only."""
    from deskml.core.runtimes import container as runtime
    from deskml.core.registry import Registry

    registry = Registry()
    for setting, expected in (("auto", "host"), ("published", "published")):
        running = runtime.run(docker_client, registry, NAME, default_port=8700, network=setting)
        container = docker_client.containers.get(running.container_id)
        assert container.labels["io.deskml.network"] == expected
        assert (container.attrs["HostConfig"]["NetworkMode"] == "host") == (expected == "host")
        assert requests.get(running.url + "/v1/model").json()["name"] == NAME
        assert not _reachable_from_network(docker_client, running.port)
        assert runtime.status_of(container).port == running.port


def test_the_reference_answers_come_from_the_image(built, docker_client, demo):
    """The estimate before outcomes learns from the version's answers on its labelled
    reference data, given by its own image in a one-off container with no network, which
    is gone afterwards and never counted as the model's service."""
    import joblib
    import pandas as pd

    from deskml.core.registry import Registry
    from deskml.core.quality.reference_scores import SCORES_FILE
    from deskml.core.paths import version_folder

    proc = run_cli("accuracy", NAME, "--json")
    assert proc.returncode == 0, proc.stderr
    estimate = json.loads(proc.stdout)["estimate"]
    data = pd.read_csv(demo.reference)
    assert estimate["target"] == "comes_back" and estimate["reference"]["n"] == len(data), estimate
    version = Registry().get(NAME).version
    kept = json.loads((version_folder(NAME, version) / SCORES_FILE).read_text())
    model = joblib.load(demo.model)
    assert kept["predictions"] == model.predict(data.drop(columns="comes_back")).tolist()
    assert not [c for c in docker_client.containers.list(all=True) if c.labels.get("io.deskml.role") == "score"]
    assert _status(NAME) is None or _status(NAME)["state"] != "running"
