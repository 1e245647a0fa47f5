"""The registry's schema, as numbered migrations (``PRAGMA user_version``).

Each migration takes the database from version N-1 to N, in one transaction. A
registry made by any earlier DeskML opens and is brought up to date; one made by a
newer DeskML than this one is refused with a plain message rather than damaged.
Registries made before migrations existed (user_version 0, tables present) are
recognised as version 1.
"""
from __future__ import annotations

MIGRATIONS = [
    # 1: models and versions, as DeskML 0.1 made them (with the LAN API key)
    """
    CREATE TABLE IF NOT EXISTS models (
        name        TEXT PRIMARY KEY,
        created_at  REAL NOT NULL,
        port        INTEGER,
        api_key     TEXT                -- set when the user opened the model to the network
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
        requirements    TEXT NOT NULL,      -- JSON list of exact pins
        reference       TEXT,               -- path of the reference data, if any
        built_at        REAL NOT NULL,
        info            TEXT NOT NULL,      -- the ModelInfo as JSON
        UNIQUE (model, version)
    );
    """,
    # 2: what the user wants of each model (running or not, inputs never stored, alert rules),
    #    what happened to its service, and the alert history
    """
    ALTER TABLE models ADD COLUMN desired TEXT NOT NULL DEFAULT 'stopped';   -- 'running' | 'stopped'
    ALTER TABLE models ADD COLUMN desired_at REAL;
    ALTER TABLE models ADD COLUMN desired_version TEXT;                     -- the version to bring back
    ALTER TABLE models ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';       -- JSON: masked inputs, alert rules
    CREATE TABLE service_events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        model   TEXT NOT NULL,
        at      REAL NOT NULL,
        kind    TEXT NOT NULL,       -- started, stopped, crashed, restarted, gave-up, erased
        detail  TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX service_events_model_at ON service_events (model, at);
    CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        model       TEXT NOT NULL,
        rule        TEXT NOT NULL,
        severity    TEXT NOT NULL,   -- info, warning, serious
        fired_at    REAL NOT NULL,
        resolved_at REAL,
        headline    TEXT NOT NULL,
        what_to_do  TEXT NOT NULL,
        seen        INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX alerts_model_fired ON alerts (model, fired_at);
    """,
    # 3: the audit log of versions (deploy, promote, roll back, A/B and shadow tests start and
    #    stop: when, by whom), and notes the user keeps on each version. Versions made before
    #    it get their deploy line, from when they were built (by an unknown user).
    """
    CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        model     TEXT NOT NULL,
        at        REAL NOT NULL,
        action    TEXT NOT NULL,    -- deploy, promote, rollback, ab-start, ab-stop, shadow-start, shadow-stop
        version   TEXT,             -- the version it is about
        previous  TEXT,             -- the version that was live before (promote, rollback)
        user      TEXT NOT NULL DEFAULT '',
        detail    TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_model_at ON audit_log (model, at);
    INSERT INTO audit_log (model, at, action, version, detail)
        SELECT model, built_at, 'deploy', version, 'made before the audit log' FROM versions ORDER BY built_at, id;
    ALTER TABLE versions ADD COLUMN notes TEXT NOT NULL DEFAULT '';
    """,
    # 4: pre-release checks of a version (edge cases, load, agreement with the live one), kept
    #    whole as JSON, each with its verdict
    """
    CREATE TABLE checks (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        model    TEXT NOT NULL,
        version  TEXT NOT NULL,
        at       REAL NOT NULL,
        passed   INTEGER NOT NULL,
        user     TEXT NOT NULL DEFAULT '',
        result   TEXT NOT NULL      -- report.check.CheckResult.to_dict() as JSON
    );
    CREATE INDEX checks_model_version_at ON checks (model, version, at);
    """,
]

LATEST = len(MIGRATIONS)


def migrate(db) -> int:
    """Bring an open database up to the latest schema; returns the version it was at."""
    from ..errors import UsageError

    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE name = 'versions'").fetchone():
        version = 1  # made before migrations existed: the tables of migration 1
        columns = {r[1] for r in db.execute("PRAGMA table_info(models)")}
        if "api_key" not in columns:
            db.execute("ALTER TABLE models ADD COLUMN api_key TEXT")
    if version > LATEST:
        raise UsageError("DeskML's list of models was made by a newer DeskML.",
                         "Update DeskML, or choose another data folder in Settings.")
    start = version
    for number in range(version + 1, LATEST + 1):
        with db:  # each migration in one transaction
            db.executescript("BEGIN;" + MIGRATIONS[number - 1] + f"PRAGMA user_version = {number};")
    return start
