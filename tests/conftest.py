"""Shared fixtures. Qt runs offscreen; DeskML's folders live in a temporary home."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Qt's QSettings (recent files) must not touch the real user's config
os.environ["XDG_CONFIG_HOME"] = __import__("tempfile").mkdtemp(prefix="deskml-xdg-")
# Tests build from DeskML's offline base images (.ci/base-image) unless told otherwise.
os.environ.setdefault("DESKML_BASE_IMAGE", "deskml-base/python:{python}")
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
ARTIFACTS = TESTS / "artifacts"


@pytest.fixture(scope="session", autouse=True)
def deskml_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("deskml-home")
    old = os.environ.get("DESKML_HOME")
    os.environ["DESKML_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("DESKML_HOME", None)
    else:
        os.environ["DESKML_HOME"] = old


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    from deskml.core.demo import ensure_demo

    return ensure_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def docker_client():
    """A client of a real container engine. Without one: skip, except in CI,
    where a Docker test must fail rather than pass by skipping."""
    from deskml.core.runtimes.engine import connect
    from deskml.core.errors import EngineUnavailable

    try:
        client = connect(os.environ.get("DESKML_DOCKER_HOST", ""))
    except EngineUnavailable as exc:
        if _in_ci():
            pytest.fail(f"CI=true but no container engine answers: {exc.message}")
        pytest.skip(f"no container engine: {exc.headline}")
    yield client
    client.close()


def service_status(name):
    """`deskml status --json` for one model, or None when it is not running."""
    import json

    proc = run_cli("status", "--json")
    assert proc.returncode == 0, proc.stderr
    return next((s for s in json.loads(proc.stdout)["services"] if s["model"] == name), None)


def run_cli(*args, cwd=None, timeout=180):
    """Run ``python -m deskml ...`` as a user would; returns CompletedProcess."""
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = str(TESTS.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "deskml", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


@pytest.fixture(scope="session")
def podman_host():
    """The address of Podman's Docker-compatible socket (DESKML_PODMAN_SOCKET, which .ci/run
    starts). Without it: skip, except in CI, where the test must fail."""
    from deskml.core.runtimes.engine import connect, engine_info
    from deskml.core.errors import EngineUnavailable

    host = os.environ.get("DESKML_PODMAN_SOCKET", "")
    if not host:
        if _in_ci():
            pytest.fail("CI=true but DESKML_PODMAN_SOCKET is not set")
        pytest.skip("no Podman socket (set DESKML_PODMAN_SOCKET=unix:///path/podman.sock)")
    try:
        client = connect(host)
    except EngineUnavailable as exc:
        if _in_ci():
            pytest.fail(f"CI=true but Podman does not answer at {host}: {exc.message}")
        pytest.skip(f"Podman does not answer at {host}")
    assert engine_info(client).kind == "Podman"
    client.close()
    return host


def listening_addresses(port: int) -> set[str]:
    """The addresses TCP sockets listening on ``port`` are bound to, read from the
    kernel's socket tables of this network namespace (/proc/net/tcp and tcp6):
    '127.0.0.1' or '::1' means this computer only, '0.0.0.0' or '::' every network.
    No packet is sent anywhere."""
    import ipaddress
    import socket
    import struct

    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state != "0A":  # LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            if int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(addr_hex)
            # the kernel prints each 32-bit word in host (little-endian) order
            words = struct.unpack("<" + "I" * (len(raw) // 4), raw)
            packed = struct.pack(">" + "I" * len(words), *words)
            found.add(str(ipaddress.ip_address(packed)))
    return found


@contextmanager
def deployer(docker_client, registry, default_port: int, events: bool = False):
    """deploy(path, name): inspect a model file, package it into an image and run it, as the
    app does; (info, version, running), and the build's events when ``events``. Every model
    deployed is stopped and its images removed afterwards."""
    from deskml.core import packaging
    from deskml.core.intake.inspection import inspect_file
    from deskml.core.runtimes import container

    names = []

    def deploy(path, name):
        info = inspect_file(path)
        seen = []
        version = packaging.run_to_end(packaging.package(docker_client, registry, info, name, None,
                                                         os.environ["DESKML_BASE_IMAGE"]), seen.append)
        names.append(name)
        running = container.run(docker_client, registry, name, default_port=default_port)
        return (info, version, running, seen) if events else (info, version, running)

    try:
        yield deploy
    finally:
        for name in names:
            container.stop(docker_client, name)
            for image in docker_client.images.list(filters={"label": f"io.deskml.model.name={name}"}):
                docker_client.images.remove(image.id, force=True)


@pytest.fixture(scope="session", autouse=True)
def _jobs_finish_before_qt_ends():
    """Jobs still running in Qt's thread pool when the tests end (a window's last refresh) are
    waited for, so that none answers into a Qt that is already gone."""
    yield
    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(60_000)
    # then no local service or keeper outlives the tests (a test that failed half-way, a
    # window that resumed what an earlier test left "running"): the test home is gone after
    from deskml.core.runtimes import front_door, process
    from deskml.core.runtimes.base import member_key

    for model in [r.model for r in process.status()]:
        if process.stop(model):
            print(f"\nconftest: a local service was left running by the tests: {model}", file=sys.stderr)
    for r in process.status(members=True):
        if process.stop(member_key(r.model, r.version)):
            print(f"\nconftest: a version's service was left running: {r.model} {r.version}", file=sys.stderr)
    for model in front_door.doors():
        if front_door.halt(model):
            print(f"\nconftest: a front door was left open: {model}", file=sys.stderr)


def palette(dark: bool):
    """The light palette Qt gives, or a dark one: for screenshots in both."""
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    if dark:
        for role, color in ((QPalette.Window, "#202124"), (QPalette.WindowText, "#e8eaed"), (QPalette.Base, "#292a2d"),
                            (QPalette.Text, "#e8eaed"), (QPalette.Button, "#303134"), (QPalette.ButtonText, "#e8eaed"),
                            (QPalette.AlternateBase, "#303134"), (QPalette.PlaceholderText, "#9aa0a6"),
                            (QPalette.Highlight, "#2f6fde"), (QPalette.HighlightedText, "#ffffff")):
            p.setColor(role, QColor(color))
    return p


def monitoring_page(qtbot, model: str, settings, registry, page: str, dark: bool = False, height: int = 720):
    """A model's dashboard on screen, at its Monitoring tab's ``page`` ("drift", "accuracy")."""
    from deskml.gui.dashboard import ModelDashboard

    dash = ModelDashboard(model, settings, registry)
    qtbot.addWidget(dash)
    dash.setPalette(palette(dark))
    dash.resize(1000, height)
    dash.show()
    dash.tabs.setCurrentWidget(dash.monitoring)
    panel = getattr(dash.monitoring, page)
    dash.monitoring.pages.setCurrentWidget(panel)
    return dash, panel


def remove_images(client, name: str) -> None:
    """Every image of a model, gone."""
    for image in client.images.list(filters={"label": f"io.deskml.model.name={name}"}):
        client.images.remove(image.id, force=True)


def built_versions(docker_client, demo, name: str, times: int = 2):
    """The demo built ``times`` times as versions of ``name`` through the command line (a
    generator for a fixture: the registry; the model stopped and its images removed after)."""
    from deskml.core.registry import Registry

    for _ in range(times):
        proc = run_cli("build", demo.model, "--name", name, "--reference", demo.reference, timeout=900)
        assert proc.returncode == 0, proc.stderr
    yield Registry()
    run_cli("stop", name)
    remove_images(docker_client, name)
