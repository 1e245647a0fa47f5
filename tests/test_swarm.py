"""The exported stack on Docker Swarm, on this machine: ``docker swarm init --advertise-addr
127.0.0.1``, the stack file ``deskml export --to swarm`` wrote deployed at 3 replicas with
``docker stack deploy``, then under a steady load: one replica's container killed, and a
rolling update to version 2 by deploying version 2's export. The swarm is left after.

This kernel has no IPVS (``/proc/net/ip_vs`` is missing), so the swarm's routing mesh and
its virtual IPs cannot work here; the test deploys the exported file with two lines changed
for that: ``endpoint_mode: dnsrr`` and no published port. The client runs in a container
on the stack's own network (addresses in namespaces this test creates, no other address of
the machine) and spreads its requests over the replicas the swarm's DNS lists
(tests/swarm_client.py: one retry on the next replica after a failure)."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import _in_ci, built_versions, run_cli

NAME = "DeskML swarm demo"
SERVICE = "deskml-swarm-demo"
STACK = "deskmlswarm"
CLIENT = (Path(__file__).parent / "swarm_client.py").read_text()


def docker(*args, check=True, timeout=120) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr or done.stdout}")
    return done


@pytest.fixture(scope="module")
def swarm(docker_client):
    state = docker_client.info()["Swarm"]["LocalNodeState"]
    if state != "inactive":
        message = f"this engine is already part of a swarm ({state}); the test makes and leaves its own"
        pytest.fail(message) if _in_ci() else pytest.skip(message)
    docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    try:
        yield docker_client
    finally:
        docker("stack", "rm", STACK, check=False)
        for _ in range(60):  # the stack's network goes once its containers have
            if not docker("network", "ls", "-q", "--filter", f"name={STACK}_", check=False).stdout.strip():
                break
            time.sleep(1)
        docker("swarm", "leave", "--force", check=False)


@pytest.fixture(scope="module")
def versions(swarm, demo):
    yield from built_versions(swarm, demo, NAME)


def _stack_file(version: str, folder: Path) -> Path:
    proc = run_cli("export", f"{NAME}:{version}", "--to", "swarm", "-o", folder, "--replicas", "3", timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load((folder / "stack.yaml").read_text())
    service = doc["services"][SERVICE]
    assert service["deploy"]["replicas"] == 3 and service["deploy"]["update_config"]["order"] == "start-first"
    service.pop("ports")                                   # no routing mesh without IPVS (see above)
    service["deploy"]["endpoint_mode"] = "dnsrr"
    path = folder / "stack-here.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _healthy_tasks(client) -> int:
    service = client.services.get(f"{STACK}_{SERVICE}")
    healthy = 0
    for task in service.tasks(filters={"desired-state": "running"}):
        status = task.get("Status", {})
        cid = (status.get("ContainerStatus") or {}).get("ContainerID")
        if status.get("State") == "running" and cid:
            try:
                health = client.containers.get(cid).attrs["State"].get("Health", {}).get("Status")
            except Exception:  # the container went meanwhile
                continue
            healthy += health == "healthy"
    return healthy


def _wait(what, timeout=180, step=0.5) -> float:
    start = time.time()
    while time.time() - start < timeout:
        if what():
            return time.time() - start
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


def _update_done(client) -> bool:
    state = (client.services.get(f"{STACK}_{SERVICE}").attrs.get("UpdateStatus") or {}).get("State")
    return state in ("completed", None) and _healthy_tasks(client) == 3


def test_three_replicas_under_load_a_killed_replica_and_a_rolling_update(versions, swarm, demo, tmp_path):
    client, registry = swarm, versions
    docker("stack", "deploy", "-c", str(_stack_file("1", tmp_path / "v1")), STACK, timeout=300)
    _wait(lambda: _healthy_tasks(client) == 3)

    row = pd.read_csv(demo.reference).drop(columns="comes_back").iloc[0].to_dict()
    load = client.containers.run(registry.get(NAME, "1").tag, ["/opt/venv/bin/python", "-c", CLIENT, SERVICE,
                                                                json.dumps({"inputs": [row]}), "6"],
                                 network=f"{STACK}_default", detach=True)
    try:
        _wait(lambda: b"ready" in load.logs(), timeout=60)
        marks = {"start": time.time()}
        time.sleep(8)                                       # steady load, three replicas

        marks["kill"] = time.time()
        task = next(t for t in client.services.get(f"{STACK}_{SERVICE}").tasks(filters={"desired-state": "running"}))
        client.containers.get(task["Status"]["ContainerStatus"]["ContainerID"]).kill()
        time.sleep(1)
        recovered = _wait(lambda: _healthy_tasks(client) == 3)
        marks["recovered"] = time.time()
        time.sleep(3)

        marks["update"] = time.time()                       # version 2, as the IT person's page says
        docker("stack", "deploy", "-c", str(_stack_file("2", tmp_path / "v2")), STACK, timeout=300)
        time.sleep(2)
        _wait(lambda: _update_done(client), timeout=300)
        marks["updated"] = time.time()
        time.sleep(3)
        load.exec_run(["touch", "/tmp/stop"])
        load.wait(timeout=60)
        logs = load.logs().decode().splitlines()
        # each replica journals to its standard output, where the swarm's log tools find it
        task = next(t for t in client.services.get(f"{STACK}_{SERVICE}").tasks(filters={"desired-state": "running"}))
        tail = client.containers.get(task["Status"]["ContainerStatus"]["ContainerID"]).logs(tail=5).splitlines()
        assert tail and all(json.loads(line)["k"] in ("p", "start", "o", "gap", "e") for line in tail), tail
    finally:
        load.remove(force=True)
        docker("stack", "rm", STACK, check=False)
        _wait(lambda: not client.containers.list(all=True, filters={"label": f"com.docker.stack.namespace={STACK}"}),
              timeout=120)  # before the images go

    rows = [line.split() for line in logs if line[:1].isdigit() and len(line.split()) == 4]
    requests = pd.DataFrame([(float(t), int(ok), int(retried), v) for t, ok, retried, v in rows],
                            columns=["t", "ok", "retried", "version"])
    phases = {"steady load": (marks["start"], marks["kill"]),
              "a replica killed, until 3 are healthy again": (marks["kill"], marks["recovered"]),
              "rolling update to version 2": (marks["update"], marks["updated"]),
              "after the update": (marks["updated"], requests.t.max() + 1)}
    figures = {}
    for phase, (a, b) in phases.items():
        part = requests[(requests.t >= a) & (requests.t < b)]
        figures[phase] = {"requests": len(part), "failed": int((part.ok == 0).sum()),
                          "retried": int(part.retried.sum()), "seconds": round(b - a, 1),
                          "versions": sorted(part.version[part.ok == 1].unique().tolist())}
    print("\nswarm figures:", json.dumps({"recover_s": round(recovered, 1), **figures}, indent=1))
    assert figures["steady load"]["requests"] > 200 and figures["steady load"]["failed"] == 0
    assert figures["a replica killed, until 3 are healthy again"]["failed"] == 0
    assert figures["rolling update to version 2"]["failed"] == 0
    assert figures["after the update"]["versions"] == ["2"] and figures["after the update"]["failed"] == 0
    assert figures["steady load"]["versions"] == ["1"]
