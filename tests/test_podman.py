"""The same commands through Podman's Docker-compatible socket: build, run, predict,
a killed service comes back, status tells the truth (Podman runs no health checks
without systemd, so DeskML asks the service itself), stop."""
from __future__ import annotations

import os
import signal
import time

import joblib
import pandas as pd
import pytest
import requests

from conftest import run_cli, service_status as _status

pytestmark = pytest.mark.docker
NAME = "DeskML podman demo"


def test_build_run_predict_restart_stop_on_podman(podman_host, demo, monkeypatch):
    import docker

    monkeypatch.setenv("DOCKER_HOST", podman_host)  # DeskML's default engine address comes from here
    client = docker.DockerClient(base_url=podman_host)
    try:
        proc = run_cli("engine")
        assert proc.returncode == 0 and "Podman" in proc.stdout, proc.stdout + proc.stderr
        proc = run_cli("build", demo.model, "--name", NAME, timeout=900)
        assert proc.returncode == 0, proc.stderr
        proc = run_cli("run", NAME)
        assert proc.returncode == 0, proc.stderr
        url = proc.stdout.strip().rsplit(" ", 1)[-1]
        rows = pd.read_csv(demo.reference).drop(columns="comes_back").head(50)
        answer = requests.post(url + "/v1/predict", json={"inputs": rows.to_dict("records")}).json()
        assert answer["predictions"] == joblib.load(demo.model).predict(rows).tolist()
        s = _status(NAME)
        assert s["state"] == "running" and s["health"] == "healthy"

        container = client.containers.get(s["container_id"])
        os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)
        deadline = time.time() + 60
        while time.time() < deadline:
            container.reload()
            if container.attrs.get("RestartCount", 0) >= 1 and _status(NAME)["health"] == "healthy":
                break
            time.sleep(0.3)
        assert container.attrs["RestartCount"] >= 1 and _status(NAME)["state"] == "running"
        assert requests.get(url + "/health").status_code == 200
        assert "Stopped" in run_cli("stop", NAME).stdout and _status(NAME) is None
    finally:
        run_cli("stop", NAME)
        for image in client.images.list(filters={"label": f"io.deskml.model.name={NAME}"}):
            client.images.remove(image.id, force=True)
        client.close()
