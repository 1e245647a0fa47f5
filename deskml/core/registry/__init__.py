"""The local registry: every build is a version, recorded in SQLite.

The single source of truth for models and versions (later issues add rollback
and A/B on top), what the user wants of each model (running or not, inputs never
stored, alert rules), what happened to its service, and the alert history. One
file in the user's data folder; WAL mode, so the app and the command line can use
it at the same time; the schema changes through numbered migrations (``migrations.py``).
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ..errors import NotFound, UsageError
from ..paths import data_dir
from .migrations import migrate

class UnknownModel(NotFound):
    kind = "unknown-model"


@dataclass(frozen=True)
class Version:
    model: str
    version: str
    image_id: str
    tag: str
    model_sha256: str
    sklearn_version: str | None
    python: str | None
    requirements: list
    reference: str | None
    built_at: float
    info: dict
    notes: str = ""


class Registry:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else data_dir() / "registry.sqlite3"
        with closing(self._connect()) as db:
            migrate(db)

    def _connect(self):
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.row_factory = sqlite3.Row
        return db

    # -- versions ----------------------------------------------------------------
    def next_version(self, model: str) -> str:
        """1, 2, 3…: one more than the highest numeric version so far."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT version FROM versions WHERE model = ?", (model,)).fetchall()
        numbers = [int(r["version"]) for r in rows if re.fullmatch(r"\d+", r["version"])]
        return str(max(numbers, default=0) + 1)

    def add_version(self, model: str, version: str, *, image_id: str, tag: str, model_sha256: str,
                    sklearn_version: str | None, python: str | None, requirements: list,
                    reference: str | None, info: dict) -> Version:
        now = time.time()
        try:
            with closing(self._connect()) as db, db:
                db.execute("INSERT OR IGNORE INTO models (name, created_at) VALUES (?, ?)", (model, now))
                db.execute(
                    "INSERT INTO versions (model, version, image_id, tag, model_sha256, sklearn_version, python,"
                    " requirements, reference, built_at, info) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (model, version, image_id, tag, model_sha256, sklearn_version, python,
                     json.dumps(requirements), reference, now, json.dumps(info)))
        except sqlite3.IntegrityError:
            raise UsageError(f"{model} already has a version {version}.",
                              "Choose another version name, or leave it out to get the next number.") from None
        return self.get(model, version)

    def versions(self, model: str) -> list[Version]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM versions WHERE model = ? ORDER BY built_at, id", (model,)).fetchall()
        return [_version(r) for r in rows]

    def get(self, model: str, version: str | None = None) -> Version:
        """A version, or the newest when none is named."""
        with closing(self._connect()) as db:
            if version is None:
                row = db.execute("SELECT * FROM versions WHERE model = ? ORDER BY built_at DESC, id DESC LIMIT 1",
                                 (model,)).fetchone()
            else:
                row = db.execute("SELECT * FROM versions WHERE model = ? AND version = ?",
                                 (model, version)).fetchone()
        if row is None:
            known = ", ".join(self.models()) or "none yet"
            what = f"{model} version {version}" if version else model
            raise UnknownModel(f"There is no model {what}.",
                               f"Models you have built: {known}. Build one with: deskml build FILE --name NAME")
        return _version(row)

    def models(self) -> list[str]:
        with closing(self._connect()) as db:
            return [r["name"] for r in db.execute("SELECT name FROM models ORDER BY created_at")]

    # -- ports: a model keeps its address ---------------------------------------------
    def port(self, model: str) -> int | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT port FROM models WHERE name = ?", (model,)).fetchone()
        return row["port"] if row else None

    def set_port(self, model: str, port: int) -> None:
        with closing(self._connect()) as db, db:
            db.execute("UPDATE models SET port = ? WHERE name = ?", (port, model))

    def api_key(self, model: str, create: bool = False) -> str | None:
        """The model's API key for network access; made on first use when ``create``."""
        import secrets

        with closing(self._connect()) as db, db:
            row = db.execute("SELECT api_key FROM models WHERE name = ?", (model,)).fetchone()
            key = row["api_key"] if row else None
            if key is None and create and row is not None:
                key = secrets.token_urlsafe(24)
                db.execute("UPDATE models SET api_key = ? WHERE name = ?", (key, model))
        return key

    # -- what the user wants of a model ---------------------------------------------------
    def set_desired(self, model: str, state: str, version: str | None = None) -> None:
        """'running' (bring ``version`` back after a crash or a restart of the computer) or 'stopped'."""
        with closing(self._connect()) as db, db:
            db.execute("UPDATE models SET desired = ?, desired_at = ?, desired_version = coalesce(?, desired_version)"
                       " WHERE name = ?", (state, time.time(), version, model))

    def desired_version(self, model: str) -> str | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT desired_version FROM models WHERE name = ?", (model,)).fetchone()
        return row["desired_version"] if row else None

    def live_version(self, model: str) -> str | None:
        """The version that answers: the one the user started and wants running, else None
        (``get(model, None)`` is then the newest)."""
        desired, _ = self.desired(model)
        return self.desired_version(model) if desired == "running" else None

    def desired(self, model: str) -> tuple[str, float | None]:
        with closing(self._connect()) as db:
            row = db.execute("SELECT desired, desired_at FROM models WHERE name = ?", (model,)).fetchone()
        return (row["desired"], row["desired_at"]) if row else ("stopped", None)

    def wanted_running(self) -> list[str]:
        with closing(self._connect()) as db:
            return [r["name"] for r in db.execute("SELECT name FROM models WHERE desired = 'running'")]

    def settings(self, model: str) -> dict:
        """The model's own settings (masked inputs, alert rules), as saved."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT settings FROM models WHERE name = ?", (model,)).fetchone()
        return json.loads(row["settings"]) if row else {}

    def update_settings(self, model: str, **changes) -> dict:
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT settings FROM models WHERE name = ?", (model,)).fetchone()
            if row is None:
                raise UnknownModel(f"There is no model {model}.", "Build one with: deskml build FILE --name NAME")
            settings = {**json.loads(row["settings"]), **changes}
            db.execute("UPDATE models SET settings = ? WHERE name = ?", (json.dumps(settings), model))
        return settings

    # -- what happened to a model's service ------------------------------------------------
    def add_event(self, model: str, kind: str, detail: str = "", at: float | None = None) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO service_events (model, at, kind, detail) VALUES (?, ?, ?, ?)",
                       (model, at if at is not None else time.time(), kind, detail))

    def events(self, model: str | None = None, since: float = 0.0) -> list[dict]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT model, at, kind, detail FROM service_events WHERE at >= ?"
                              + (" AND model = ?" if model else "") + " ORDER BY at, id",
                              (since, model) if model else (since,)).fetchall()
        return [dict(r) for r in rows]

    # -- the audit log of versions ----------------------------------------------------------
    def audit(self, model: str, action: str, version: str | None = None, previous: str | None = None,
              detail: str = "", user: str | None = None, at: float | None = None) -> None:
        """Add a line to the audit log: ``action`` is one of AUDIT_ACTIONS; the user is the
        person logged in to this computer unless given."""
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO audit_log (model, at, action, version, previous, user, detail) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (model, at if at is not None else time.time(), action, version, previous,
                        user if user is not None else current_user(), detail))

    def history(self, model: str) -> list[dict]:
        """The model's audit log, oldest first: {at, action, version, previous, user, detail}."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT at, action, version, previous, user, detail FROM audit_log WHERE model = ? "
                              "ORDER BY at, id", (model,)).fetchall()
        return [dict(r) for r in rows]

    def set_notes(self, model: str, version: str, notes: str) -> None:
        """The user's notes on a version (what changed, what it was trained on, …)."""
        with closing(self._connect()) as db, db:
            if db.execute("UPDATE versions SET notes = ? WHERE model = ? AND version = ?",
                          (notes, model, version)).rowcount == 0:
                raise NotFound(f"{model} has no version {version}.", "See the versions with: deskml history "
                               f"'{model}'")

    # -- pre-release checks -----------------------------------------------------------------
    def add_check(self, model: str, version: str, result: dict) -> None:
        """Keep a version's pre-release check (``report.check.CheckResult.to_dict()``)."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO checks (model, version, at, passed, user, result) VALUES (?, ?, ?, ?, ?, ?)",
                       (model, str(version), result.get("at", time.time()), int(bool(result.get("passed"))),
                        current_user(), json.dumps(result)))

    def latest_check(self, model: str, version: str) -> dict | None:
        """The version's latest pre-release check as kept, with ``user``; None when it has none."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT result, user FROM checks WHERE model = ? AND version = ? ORDER BY at DESC, id DESC "
                             "LIMIT 1", (model, str(version))).fetchone()
        if row is None:
            return None
        return {**json.loads(row["result"]), "user": row["user"]}

    # -- the alert history ----------------------------------------------------------------
    def fire_alert(self, model: str, rule: str, severity: str, headline: str, what_to_do: str,
                   at: float | None = None) -> int:
        with closing(self._connect()) as db, db:
            cur = db.execute("INSERT INTO alerts (model, rule, severity, fired_at, headline, what_to_do)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             (model, rule, severity, at if at is not None else time.time(), headline, what_to_do))
            return cur.lastrowid

    def resolve_alert(self, alert_id: int, at: float | None = None) -> None:
        with closing(self._connect()) as db, db:
            db.execute("UPDATE alerts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
                       (at if at is not None else time.time(), alert_id))

    def alerts(self, model: str | None = None, since: float = 0.0, open_only: bool = False) -> list[dict]:
        sql = "SELECT * FROM alerts WHERE fired_at >= ?"
        args: list = [since]
        if model:
            sql += " AND model = ?"
            args.append(model)
        if open_only:
            sql += " AND resolved_at IS NULL"
        with closing(self._connect()) as db:
            return [dict(r) for r in db.execute(sql + " ORDER BY fired_at, id", args)]

    def mark_alerts_seen(self, model: str | None = None) -> None:
        with closing(self._connect()) as db, db:
            db.execute("UPDATE alerts SET seen = 1" + (" WHERE model = ?" if model else ""),
                       (model,) if model else ())

    def ports_in_use(self) -> dict[int, str]:
        with closing(self._connect()) as db:
            return {r["port"]: r["name"] for r in db.execute("SELECT name, port FROM models WHERE port IS NOT NULL")}


def _version(r) -> Version:
    return Version(model=r["model"], version=r["version"], image_id=r["image_id"], tag=r["tag"],
                   model_sha256=r["model_sha256"], sklearn_version=r["sklearn_version"], python=r["python"],
                   requirements=json.loads(r["requirements"]), reference=r["reference"],
                   built_at=r["built_at"], info=json.loads(r["info"]), notes=r["notes"])


#: What the audit log records.
AUDIT_WORDS = {"deploy": "made", "promote": "promoted", "rollback": "rolled back", "ab-start": "A/B test started",
               "ab-stop": "A/B test stopped", "shadow-start": "shadow test started",
               "shadow-stop": "shadow test stopped", "check": "pre-release check of",
               "candidate": "new candidate", "export": "exported", "push": "pushed"}
AUDIT_ACTIONS = tuple(AUDIT_WORDS)


def current_user() -> str:
    """Who is logged in to this computer (for the audit log)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in the environment or the password database
        return "unknown"
