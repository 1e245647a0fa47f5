"""The local registry of models and versions."""
from __future__ import annotations

import json

import pytest

from deskml.core.errors import DeskMLError, NotFound
from deskml.core.registry import Registry, UnknownModel


def _add(reg, model, version, sha="0" * 64):
    return reg.add_version(model, version, image_id="sha256:x", tag=f"deskml/{model}:{version}",
                           model_sha256=sha, sklearn_version="1.9.1", python="3.11",
                           requirements=["scikit-learn==1.9.1"], reference=None, info={"task": "classification"})


def test_versions_number_themselves_and_newest_wins(tmp_path):
    reg = Registry(tmp_path / "r.sqlite3")
    assert reg.next_version("shop") == "1"
    _add(reg, "shop", reg.next_version("shop"))
    _add(reg, "shop", reg.next_version("shop"))
    _add(reg, "shop", "summer-special")
    assert reg.next_version("shop") == "3"
    assert [v.version for v in reg.versions("shop")] == ["1", "2", "summer-special"]
    assert reg.get("shop").version == "summer-special" and reg.get("shop", "1").info == {"task": "classification"}


def test_duplicate_and_unknown_get_clear_messages(tmp_path):
    reg = Registry(tmp_path / "r.sqlite3")
    _add(reg, "shop", "1")
    with pytest.raises(DeskMLError) as err:
        _add(reg, "shop", "1")
    assert "already has a version 1" in err.value.message
    with pytest.raises(UnknownModel) as err:
        reg.get("nope")
    assert "There is no model nope" in err.value.message and "shop" in err.value.what_to_do


def test_a_model_keeps_its_port_and_data_survives_reopening(tmp_path):
    path = tmp_path / "r.sqlite3"
    reg = Registry(path)
    _add(reg, "shop", "1")
    reg.set_port("shop", 8601)
    again = Registry(path)
    assert again.port("shop") == 8601 and again.ports_in_use() == {8601: "shop"}
    assert again.models() == ["shop"]


def test_bad_ports_and_taken_ports_get_clear_messages(tmp_path):
    import socket

    from deskml.core.errors import PortInUse, UsageError
    from deskml.core.runtimes.base import choose_port, free_port

    reg = Registry(tmp_path / "r.sqlite3")
    for bad in (0, 80, 70000):
        with pytest.raises(UsageError) as err:
            choose_port("shop", reg, bad, 8600)
        assert f"Port {bad} cannot be used" in err.value.message and "1024 and 65535" in err.value.what_to_do
    _add(reg, "other", "1")
    port = free_port()
    reg.set_port("other", port)                 # without --port, another model's address is not taken
    chosen, note = choose_port("shop", reg, None, port)
    assert chosen != port and "in use by the model other" in note
    with socket.socket() as blocker:            # a program holds the port
        blocker.bind(("127.0.0.1", port + 1))
        blocker.listen()
        chosen, note = choose_port("shop", reg, None, port + 1)
        assert chosen not in (port, port + 1) and "another program" in note
        # asked for explicitly: used or refused, never another one
        with pytest.raises(PortInUse) as err:
            choose_port("shop", reg, port + 1, 8600)
        assert err.value.exit_code == 12 and f"Port {port + 1} is in use by python" in err.value.headline
        assert "choose another port" in err.value.what_to_do
    # a model that is not running does not hold its port against an explicit request
    chosen, note = choose_port("shop", reg, port, 8600)
    assert chosen == port and "kept for other, which is not running" in note
    assert reg.port("other") is None


def test_build_needs_a_name(demo):
    from conftest import run_cli

    proc = run_cli("build", demo.model, "--name", "  ")
    assert proc.returncode == 2 and "needs a name" in proc.stderr and "Traceback" not in proc.stderr


def test_overview_says_running_stopped_starting_failed(tmp_path, monkeypatch):
    """The home's list: one line per model, in the words of its state."""
    from deskml.core import services
    from deskml.core.registry import Registry
    from deskml.core.runtimes.base import Running
    from deskml.core.settings import Settings

    registry = Registry(tmp_path / "r.sqlite3")
    for model in ("up", "down", "booting", "crashed", "sick"):
        registry.add_version(model, "1", image_id="", tag="", model_sha256="0" * 64, sklearn_version=None,
                             python=None, requirements=[], reference=None, info={})

    def svc(model, state, health):
        return Running(model, "1", "http://127.0.0.1:1", 1, state, health, "c")
    monkeypatch.setattr(services, "all_services", lambda settings: [
        svc("up", "running", "healthy"), svc("booting", "restarting", "starting"),
        svc("crashed", "exited", "none"), svc("sick", "running", "unhealthy")])
    states = {s.model: s.state for s in services.overview(Settings(), registry)}
    assert states == {"up": "running", "down": "stopped", "booting": "starting", "crashed": "failed",
                      "sick": "failed"}


OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    name        TEXT PRIMARY KEY,
    created_at  REAL NOT NULL,
    port        INTEGER
);
CREATE TABLE IF NOT EXISTS versions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    model           TEXT NOT NULL REFERENCES models(name),
    version         TEXT NOT NULL,
    image_id        TEXT NOT NULL,
    tag             TEXT NOT NULL,
    model_sha256    TEXT NOT NULL,
    sklearn_version TEXT,
    python          TEXT,
    requirements    TEXT NOT NULL,
    reference       TEXT,
    built_at        REAL NOT NULL,
    info            TEXT NOT NULL,
    UNIQUE (model, version)
);
"""


@pytest.mark.parametrize("with_api_key", [False, True])
def test_a_registry_made_by_earlier_deskml_opens_and_is_upgraded(tmp_path, with_api_key):
    """The schema of DeskML before migrations (with and without the LAN key column):
    it opens, its models and versions are all there, and it gains the new tables."""
    import sqlite3

    from deskml.core.registry.migrations import LATEST

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA + ("ALTER TABLE models ADD COLUMN api_key TEXT;" if with_api_key else ""))
    db.execute("INSERT INTO models (name, created_at, port) VALUES ('shop', 1.0, 8601)")
    db.execute("INSERT INTO versions (model, version, image_id, tag, model_sha256, requirements, built_at, info) "
               "VALUES ('shop', '1', 'sha256:x', 'deskml/shop:1', '00', '[]', 2.0, '{}')")
    db.commit()
    db.close()
    reg = Registry(path)
    assert reg.models() == ["shop"] and reg.get("shop").tag == "deskml/shop:1" and reg.port("shop") == 8601
    assert reg.desired("shop")[0] == "stopped" and reg.settings("shop") == {}
    reg.update_settings("shop", masked_inputs=["age"])
    reg.add_event("shop", "started")
    assert reg.settings("shop") == {"masked_inputs": ["age"]} and reg.events("shop")[0]["kind"] == "started"
    assert reg.api_key("shop", create=True)
    assert reg.history("shop") == [{"at": 2.0, "action": "deploy", "version": "1", "previous": None, "user": "",
                                    "detail": "made before the audit log"}]
    assert reg.get("shop").notes == ""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == LATEST
    Registry(path)  # opening again changes nothing
    assert sqlite3.connect(path).execute("SELECT count(*) FROM versions").fetchone()[0] == 1


def test_a_registry_from_a_newer_deskml_is_refused_not_damaged(tmp_path):
    import sqlite3

    from deskml.core.errors import UsageError

    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(UsageError, match="made by a newer DeskML"):
        Registry(path)


def test_the_audit_log_says_who_did_what_to_which_version(tmp_path, demo, monkeypatch):
    """Deploys are logged by the build itself, with the file, its SHA-256 and the person
    logged in; other actions by the code that does them; ``deskml history`` shows them."""
    from conftest import run_cli

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    name = "DeskML audit demo"
    assert run_cli("build", demo.model, "--name", name, "--reference", demo.reference).returncode == 0
    reg = Registry()
    (entry,) = reg.history(name)
    version = reg.get(name).version
    assert entry["action"] == "deploy" and entry["version"] == version and entry["user"] == "alice"
    assert demo.model.name in entry["detail"] and reg.get(name).model_sha256[:12] in entry["detail"]
    assert "as a local process" in entry["detail"] and "with reference data" in entry["detail"]
    reg.audit(name, "promote", version, previous="0", user="bob", detail="better on outcomes")
    with pytest.raises(ValueError):
        reg.audit(name, "launch", version)
    reg.set_notes(name, version, "trained on the 2026 orders")
    assert reg.get(name, version).notes == "trained on the 2026 orders"
    with pytest.raises(NotFound):
        reg.set_notes(name, "no such version", "x")
    proc = run_cli("history", name)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"made version {version} by alice: {demo.model.name}" in lines[0]
    assert f"promoted version {version} (was 0) by bob: better on outcomes" in lines[1]
    assert json.loads(run_cli("history", name, "--json").stdout)[1]["user"] == "bob"
    assert run_cli("history", "no such model").returncode == 9
