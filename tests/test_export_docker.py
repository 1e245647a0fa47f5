"""The exports that need the image: measured for real in a container, written by the
command line; the archive loaded into another engine (Podman); the push to a registry
running on 127.0.0.1 (Debian's docker-registry), pulled back the same."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tarfile
import time

import kubernetes_validate
import pytest
import requests
import yaml

from conftest import built_versions, run_cli

NAME = "DeskML export demo"


@pytest.fixture(scope="module")
def built(docker_client, demo):
    """The demo built as two versions (the second differs only in its number)."""
    yield from built_versions(docker_client, demo, NAME)


def test_every_export_from_the_command_line(built, tmp_path):
    registry = built
    for to, file in (("kubernetes", "kubernetes.yaml"), ("kserve", "kserve.yaml"), ("swarm", "stack.yaml"),
                     ("compose", "compose.yaml")):
        out = tmp_path / to
        proc = run_cli("export", f"{NAME}:1", "--to", to, "-o", out, "--journal", "volume", timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "measured on this computer: memory at rest" in proc.stdout
        assert sorted(p.name for p in out.iterdir()) == sorted([file, "README.md"])
        docs = list(yaml.safe_load_all((out / file).read_text()))
        readme = (out / "README.md").read_text()
        assert "## Roll back" in readme and registry.get(NAME, "1").tag in readme
        if to == "kubernetes":
            for doc in docs:
                kubernetes_validate.validate(doc, "1.37.0", strict=True)
            pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
            resources = pod["containers"][0]["resources"]
            memory = int(resources["requests"]["memory"].removesuffix("Mi"))
            assert 64 <= memory <= 2048, resources           # a measured model, not a default
            assert f"request {memory} MiB" in readme
    history = registry.history(NAME)
    assert [e["detail"].split()[0] for e in history if e["action"] == "export"] == [
        "kubernetes", "kserve", "swarm", "compose"]


def test_the_image_archive_loads_in_another_engine(built, docker_client, podman_host, tmp_path):
    from deskml.core.runtimes.engine import connect

    registry = built
    v = registry.get(NAME, "2")
    proc = run_cli("export", f"{NAME}:2", "--to", "image-tar", "-o", tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (archive,) = tmp_path.glob("*.tar")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == [v.tag]
    image_id = docker_client.images.get(v.tag).id
    podman = connect(podman_host)
    try:
        with open(archive, "rb") as f:
            (loaded,) = podman.images.load(f)
        assert loaded.id.split(":")[-1].startswith(image_id.split(":")[-1][:12])   # the very same image
        assert v.tag in " ".join(loaded.tags) or any(v.tag.split(":")[0] in t for t in loaded.tags)
    finally:
        try:
            podman.images.remove(v.tag, force=True)
        finally:
            podman.close()


def _registry(tmp_path, login=None):
    """Debian's docker-registry, serving on a free loopback port; with ``login`` (user,
    password), only to that user."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        pytest.fail("the push test needs Debian's docker-registry package")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "store")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
        **({"auth": {"htpasswd": {"realm": "shop", "path": str(_htpasswd(tmp_path, *login))}}} if login else {})}))
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(url + "/v2/", timeout=1).status_code in ((401,) if login else (200,)):
                return proc, f"127.0.0.1:{port}"
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("the registry did not start")


def _stop(server, docker_client, ref):
    """The registry stopped, and the image's name for it gone from the engine."""
    server.terminate()
    server.wait(10)
    try:
        docker_client.images.remove(ref, force=True)
    except Exception:
        pass


def _htpasswd(tmp_path, user, password):
    """The registry's password file: bcrypt, made by the C library (crypt(3), libxcrypt)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        line = f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"
    path = tmp_path / "htpasswd"
    path.write_text(line)
    return path


def test_push_to_a_registry_on_loopback(built, docker_client, tmp_path):
    registry = built
    v = registry.get(NAME, "1")
    server, address = _registry(tmp_path)
    ref = f"{address}/shop/returning-customers:v1"
    try:
        proc = run_cli("push", f"{NAME}:1", ref, timeout=600)
        assert proc.returncode == 0, proc.stderr
        digest = proc.stdout.strip().rsplit("(", 1)[-1].rstrip(")")
        assert digest.startswith("sha256:")
        tags = requests.get(f"http://{address}/v2/shop/returning-customers/tags/list", timeout=10).json()
        assert tags["tags"] == ["v1"]
        head = requests.head(f"http://{address}/v2/shop/returning-customers/manifests/v1", timeout=10, headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        assert head.headers["Docker-Content-Digest"] == digest
        # pulled back under its registry name, it is the very image that was built
        docker_client.images.remove(ref, force=True)
        pulled = docker_client.images.pull(ref)
        assert pulled.id == docker_client.images.get(v.tag).id
        assert any(e["action"] == "push" and ref in e["detail"] for e in registry.history(NAME))

        # mistakes in plain words, with the registry's answer kept
        bad = run_cli("push", f"{NAME}:1", f"{address}/Shop/UPPER:1")
        assert bad.returncode != 0 and "lower case" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        _stop(server, docker_client, ref)
    down = run_cli("push", f"{NAME}:1", ref, timeout=120)           # the registry is gone now
    assert down.returncode != 0 and "registry did not take the image" in down.stderr


def test_export_from_the_versions_tab(built, qtbot, tmp_path, artifacts):
    from conftest import palette
    from deskml.core.settings import Settings
    from deskml.gui.dashboard import ModelDashboard

    registry = built
    dash = ModelDashboard(NAME, Settings(), registry)
    qtbot.addWidget(dash)
    dash.setPalette(palette(False))
    dash.resize(1100, 760)
    dash.show()
    tab = dash.versions
    dash.tabs.setCurrentWidget(tab)
    tab.table.selectRow([tab.model.item(r, 0).text().split()[0] for r in range(tab.model.rowCount())].index("2"))
    dialog = tab.export()
    dialog.open_folder = False
    dialog.target.setCurrentIndex([dialog.target.itemData(i) for i in range(dialog.target.count())].index("kubernetes"))
    dialog.folder.setText(str(tmp_path / "for the IT team"))
    dialog.image.setText("registry.example.com/shop/returning:2")
    assert dialog.push.isEnabled() and not dialog.push.isChecked()
    qtbot.wait(100)
    dialog.grab().save(str(artifacts / "export-dialog.png"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.done_export is not None, timeout=300_000)
    files = sorted(p.name for p in (tmp_path / "for the IT team").iterdir())
    assert files == ["README.md", "kubernetes.yaml"]
    deployment = next(d for d in yaml.safe_load_all((tmp_path / "for the IT team" / "kubernetes.yaml").read_text())
                      if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/shop/returning:2"
    qtbot.waitUntil(lambda: tab.message.isVisible(), timeout=10_000)
    assert "Version 2 is exported into for the IT team" in tab.message.headline.text()
    dash.grab().save(str(artifacts / "versions-exported.png"))


def test_the_compose_export_journals_to_its_volume(built, docker_client, demo, tmp_path):
    """The compose file's service run as Compose would (image, environment, read-only root,
    tmpfs, the named volume): the image's user can write its journal into a fresh volume."""
    import pandas as pd

    from deskml.core.runtimes.base import free_port, wait_healthy

    proc = run_cli("export", f"{NAME}:1", "--to", "compose", "-o", tmp_path, "--journal", "volume", timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    (service,) = doc["services"].values()
    volume = docker_client.volumes.create()
    port = free_port()
    mount = service["volumes"][0].split(":", 1)[1]
    environment = {k: v for k, v in service["environment"].items() if not str(v).startswith("${")}
    c = docker_client.containers.run(service["image"], detach=True, environment=environment,
                                     read_only=service["read_only"], tmpfs={p: "" for p in service["tmpfs"]},
                                     volumes={volume.name: {"bind": mount, "mode": "rw"}},
                                     ports={"8000/tcp": ("127.0.0.1", port)})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, 120)
        row = pd.read_csv(demo.reference).drop(columns="comes_back").iloc[0].to_dict()
        ids = requests.post(url + "/v1/predict", json={"inputs": [row]}, timeout=10).json()["ids"]
        journal = requests.get(url + "/health", timeout=10).json()["journal"]
        assert journal["written"] >= 1 and journal["not_recorded"] == 0, journal
        listing = c.exec_run(["sh", "-c", f"cat {mount}/journal-*.jsonl"]).output.decode()
        assert ids[0].rsplit("-", 1)[0] in listing                  # the record of that prediction, on the volume
    finally:
        c.remove(force=True)
        volume.remove(force=True)


def test_push_to_a_registry_that_asks_for_a_login(built, docker_client, tmp_path, monkeypatch):
    """A registry with a password: before logging in, the push is refused in words that say
    to log in, and how; after ``docker login`` (the engine's own login, kept in the user's
    Docker settings), the same command pushes."""
    server, address = _registry(tmp_path, login=("shop", "s3cret-Pass"))
    ref = f"{address}/shop/returning-customers:v1"
    config = tmp_path / "docker-config"       # this test's own Docker settings, not the machine's
    config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    try:
        refused = run_cli("push", f"{NAME}:1", ref, timeout=600)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr
        said = " ".join(refused.stderr.split())
        assert "asks for a login" in said and f"docker login {address}" in said, said
        login = subprocess.run(["docker", "login", address, "-u", "shop", "--password-stdin"], input="s3cret-Pass",
                               capture_output=True, text=True, timeout=60, env={**os.environ})
        assert login.returncode == 0, login.stderr
        pushed = run_cli("push", f"{NAME}:1", ref, timeout=600)
        assert pushed.returncode == 0, pushed.stderr
        tags = requests.get(f"http://{address}/v2/shop/returning-customers/tags/list", timeout=10,
                            auth=("shop", "s3cret-Pass")).json()
        assert tags["tags"] == ["v1"]
    finally:
        _stop(server, docker_client, ref)
