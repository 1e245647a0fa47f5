"""A model's journal as the app and the commands use it: bring it up to date, erase from it.

``refresh`` reads what the service appended (asking the running service which file it
is writing, so that file is kept) and keeps the disk within the user's limits. ``erase``
takes every record holding a value out of everything DeskML keeps, for a person's
erasure request: the service first starts a new file, so that the one it was writing
is read whole and deleted, then the store forgets the records and rewrites itself.
"""
from __future__ import annotations

import time

from ..paths import model_folder
from .store import IngestResult, JournalStore

#: how often retention runs, at most (it rewrites parts of the database)
RETENTION_EVERY = 300.0
_last_retention: dict[str, float] = {}


def store(model: str) -> JournalStore:
    return JournalStore(model_folder(model))


def _writers(settings, model: str) -> list[tuple[str, bool, bool]]:
    """(url, answering, needs the API key) of each service writing the model's journal: every
    version behind the model's address (live, challenger, kept warm), or its own service."""
    from .. import services

    behind = services.writers(settings, model)
    if behind is None:
        found = services.find(settings, model)
        behind = [found] if found is not None and found.state in ("running", "restarting") else []
    return [(r.url, r.state == "running", r.lan) for r in behind]


def live_instances(settings, model: str) -> set[str] | None:
    """The runs of the model's services that are writing now: empty when none runs, None
    when that cannot be told (then no file that may still be written is deleted)."""
    import requests

    instances = set()
    for url, answering, _ in _writers(settings, model):
        if not answering:
            return None
        try:
            journal = requests.get(url + "/health", timeout=2).json().get("journal")
        except (requests.RequestException, ValueError):
            return None
        if journal:
            instances.add(journal["instance"])
    return instances


def refresh(settings, model: str, retention: bool = True, now: float | None = None) -> IngestResult:
    """Bring the model's store up to date, and (every few minutes) keep it within its limits."""
    s = store(model)
    result = s.ingest(live_instances(settings, model))
    now = time.time() if now is None else now
    if retention and now - _last_retention.get(model, 0.0) >= RETENTION_EVERY:
        _last_retention[model] = now
        s.enforce(int(settings.journal_max_mb * 1024 * 1024), settings.journal_raw_days, now=now)
    return result


def rotate(settings, model: str) -> bool:
    """Ask each running service of the model to start a new journal file; False when none runs
    or one could not."""
    import requests

    writers = [w for w in _writers(settings, model) if w[1]]
    if not writers:
        return False
    headers = {}
    if any(lan for _, _, lan in writers):
        from ..registry import Registry
        headers["Authorization"] = f"Bearer {Registry().api_key(model)}"
    try:
        return all(requests.post(url + "/v1/journal/rotate", headers=headers, timeout=5).status_code == 200
                   for url, _, _ in writers)
    except requests.RequestException:
        return False


def erase(settings, registry, model: str, value: str, input_name: str | None = None) -> int:
    """Erase every record whose inputs hold ``value`` (in ``input_name``, or in any input):
    from the appended files, the store and its sums. Logged without the value."""
    from ..errors import UsageError

    if not str(value).strip():
        raise UsageError("Say which value to erase.", "For example: deskml erase NAME --value jane@example.com")
    if input_name is not None:
        names = {i["name"] for v in registry.versions(model) for i in (v.info or {}).get("inputs") or []}
        if input_name not in names:
            raise UsageError(f"{model} has no input '{input_name}'.",
                             "Its inputs are: " + ", ".join(sorted(names)) + ".")
    s = store(model)
    rotate(settings, model)
    live = live_instances(settings, model)
    s.ingest(live, settle=0.0 if live is not None and not live else 5.0)
    count = s.erase(str(value), input_name)
    registry.add_event(model, "erased", f"{count} record{'s' if count != 1 else ''}"
                       + (f" matching the input {input_name}" if input_name else " matching a value"))
    return count
