"""Promote and roll back with the container runtime: each version in its own container behind
the model's one address; a steady client over keep-alive and new connections sees no failure."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from conftest import built_versions
from deskml.core import services
from deskml.core.runtimes import container, front_door
from deskml.core.settings import Settings
from test_front_door import Steady

NAME = "DeskML switch demo"


@pytest.fixture
def two_images(docker_client, demo, tmp_path, monkeypatch):
    yield from built_versions(docker_client, demo, NAME)


def test_promote_and_roll_back_containers_with_no_failed_request(two_images, docker_client, demo):
    registry = two_images
    settings = Settings(keep_warm_minutes=0)
    running = services.start(settings, registry, NAME, "1")
    url, port = running.url, running.port
    row = pd.read_csv(demo.reference).drop(columns="comes_back").iloc[0].to_dict()
    with Steady(url, port, {"inputs": [row]}) as steady:
        time.sleep(0.5)
        if container.network_mode(docker_client, docker_client.images.get(registry.get(NAME, "1").tag)) == "host":
            st = front_door.status(url)  # the container, in this computer's network, is handed connections
            assert st["mode"] == "handoff" and st["live"]["handed"] > 0
        switching = time.monotonic()
        services.promote(settings, registry, NAME, "2")
        promoted = time.monotonic()
        assert container.member_container(docker_client, NAME, "1") is None     # drained, then removed
        time.sleep(0.5)
        rolling = time.monotonic()
        services.rollback(settings, registry, NAME)
        rolled_back = time.monotonic()
        time.sleep(0.5)
    assert steady.failures == []
    answers = steady.answers
    print(f"\ncontainers: {len(answers)} answers through promote and roll back, {len(steady.failures)} failed")
    for way in ("keep", "new"):
        assert {v for t, w, v in answers if w == way and t < switching} == {"1"}
        assert {v for t, w, v in answers if w == way and promoted < t < rolling} == {"2"}
        assert {v for t, w, v in answers if w == way and t > rolled_back} == {"1"}
    assert container.member_container(docker_client, NAME, "2") is None
    found = services.find(settings, NAME)
    assert found.url == url and found.version == "1" and found.state == "running"
    assert docker_client.containers.get(found.container_id).labels["io.deskml.role"] == "member"
