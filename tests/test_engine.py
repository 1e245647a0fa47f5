"""Talks to the real container engine (in CI: Docker Engine from Debian's docker.io)."""
from __future__ import annotations

import json
import os

import pytest

from conftest import run_cli
from deskml.core.runtimes.engine import connect, engine_info, image_present
from deskml.core.errors import EngineUnavailable, ExitCode
from deskml.core.settings import Settings

pytestmark = pytest.mark.docker

OFFLINE_BASE = "deskml-base/python:{python}"


def test_engine_answers_and_sees_the_offline_base_image(docker_client):
    info = engine_info(docker_client)
    assert info.kind in ("Docker Engine", "Docker Desktop", "Podman") and info.version
    base = OFFLINE_BASE.format(python="3.11")
    assert image_present(docker_client, base), f"{base} is missing: run .ci/base-image"
    # the image really has Python and venv: run it once
    out = docker_client.containers.run(base, ["python3", "-c", "import venv, sys; print(sys.version_info[:2])"],
                                       remove=True, network_disabled=True)
    assert out.decode().strip() == "(3, 11)"


def test_base_image_setting_and_environment(monkeypatch):
    s = Settings()
    monkeypatch.delenv("DESKML_BASE_IMAGE", raising=False)
    assert s.base_image_for("3.11") == "python:3.11-slim"
    monkeypatch.setenv("DESKML_BASE_IMAGE", OFFLINE_BASE)
    assert s.base_image_for("3.9") == "deskml-base/python:3.9"


def test_cli_engine_reports_base_image(docker_client, monkeypatch):
    monkeypatch.setenv("DESKML_BASE_IMAGE", OFFLINE_BASE)
    proc = run_cli("engine", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["base_image"] == "deskml-base/python:3.11" and doc["base_image_present"] is True


def test_no_engine_is_a_clear_message(tmp_path, monkeypatch):
    with pytest.raises(EngineUnavailable) as err:
        connect(f"unix://{tmp_path}/no-docker.sock", timeout=2)
    assert "not installed, or not started" in err.value.message
    monkeypatch.setenv("DESKML_HOME", str(tmp_path))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text(json.dumps({"docker_host": f"unix://{tmp_path}/x.sock"}))
    proc = run_cli("engine")
    assert proc.returncode == ExitCode.ENGINE and "Traceback" not in proc.stderr
    assert "Docker" in proc.stderr


def test_ci_mode_fails_instead_of_skipping_without_engine(tmp_path):
    """With CI=true and no engine, a Docker test fails; without CI it skips."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    target = "tests/test_engine.py::test_engine_answers_and_sees_the_offline_base_image"
    env = dict(os.environ, DESKML_DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    ci = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
                        cwd=root, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=120)
    assert ci.returncode == 1 and "CI=true but no container engine answers" in ci.stdout
    env.pop("CI", None)
    local = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
                           cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert local.returncode == 0 and "1 skipped" in local.stdout


class _FakeEngine:
    """Just enough of a docker client for choosing how to reach a container."""

    def __init__(self, name, platform="Docker Engine - Community", security=(), components=("Engine",)):
        self._info = {"Name": name, "SecurityOptions": list(security)}
        self._version = {"Platform": {"Name": platform}, "Components": [{"Name": c} for c in components],
                         "Version": "1", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}

    def info(self):
        return self._info

    def version(self):
        return self._version


class _Image:
    def __init__(self, listen="env"):
        self.labels = {"io.deskml.server.listen": listen} if listen else {}


@pytest.mark.parametrize("engine,image,setting,expected", [
    ("native", _Image(), "auto", "host"),
    ("native", _Image(), "published", "published"),       # the user's setting wins
    ("native", _Image(listen=None), "auto", "published"),  # an image from before DESKML_PORT
    ("desktop", _Image(), "auto", "published"),           # Docker Desktop: a VM
    ("rootless", _Image(), "auto", "published"),          # rootless Docker: its own namespace
    ("podman-rootless", _Image(), "auto", "host"),        # rootless Podman shares the host's network
    ("elsewhere", _Image(), "auto", "published"),         # an engine on another machine or a VM
])
def test_how_a_container_is_reached(monkeypatch, engine, image, setting, expected):
    import platform
    import socket

    from deskml.core.runtimes.container import network_mode

    monkeypatch.setattr(platform, "system", lambda: "Linux")
    me = socket.gethostname()
    client = {
        "native": _FakeEngine(me),
        "desktop": _FakeEngine("docker-desktop", platform="Docker Desktop 4.30.0 (149282)"),
        "rootless": _FakeEngine(me, security=["name=seccomp,profile=builtin", "name=rootless"]),
        "podman-rootless": _FakeEngine(me, platform="linux/amd64/fedora-39", security=["name=rootless"],
                                       components=("Podman Engine",)),
        "elsewhere": _FakeEngine("build-server-7"),
    }[engine]
    assert network_mode(client, image, setting) == expected


def test_an_engine_that_cannot_start_the_container_is_a_clear_message(tmp_path, monkeypatch):
    """The engine refuses to start the container (Podman's limits, a broken runtime): a
    message that says so, and no half-made container left behind."""
    import platform

    from docker.errors import APIError

    from deskml.core.runtimes import container as runtime
    from deskml.core.runtimes.base import free_port
    from deskml.core.errors import EngineUnavailable
    from deskml.core.registry import Registry

    monkeypatch.setattr(platform, "system", lambda: "Linux")
    registry = Registry(tmp_path / "r.sqlite3")
    registry.add_version("shop", "1", image_id="sha256:x", tag="deskml/shop:1", model_sha256="0" * 64,
                         sklearn_version="1.9.1", python="3.11", requirements=[], reference=None, info={})
    removed = []

    class Stale:
        labels = {"io.deskml.model.name": "x"}

        def remove(self, force):
            removed.append(force)

    class Containers:
        created = False

        def list(self, all, filters):
            return [Stale()] if self.created else []

        def run(self, *a, **kw):
            self.created = True
            raise APIError("500 Server Error", explanation="runc create failed: error setting rlimit type 7")

    class Images:
        def get(self, tag):
            return _Image()

    engine = _FakeEngine("elsewhere")
    engine.containers, engine.images = Containers(), Images()
    with pytest.raises(EngineUnavailable) as err:
        runtime.run(engine, registry, "shop", default_port=free_port())
    assert err.value.headline == "The container engine could not start shop."
    assert "rlimit" in err.value.details and removed == [True]
