"""Versions behind the model's one address: going live, promote, roll back, A/B and shadow tests.

Each model has a front door (``runtimes/front_door.py``, ``server/router.py``) at its port,
and each version that runs has its own service behind it (a container, or a local process)
on a port of this computer only. A switch goes in this order:

1. the new version's service starts and passes its health check and self-test (a running
   healthy one is used as it is: a version kept warm, or the challenger of a test);
2. the front door is told, and says it has taken it; requests already on their way finish
   on the old version (``front_door.apply`` waits for them);
3. the old version is stopped, or kept warm for ``Settings.keep_warm_minutes`` for a quick
   roll back (stopped at the first look after that time).

A version that fails to start raises before step 2: the live one is untouched.
"""
from __future__ import annotations

import time

from ..errors import NotFound, UsageError
from ..runtimes import container, front_door, process
from ..runtimes.base import Running, choose_port, free_port, member_key
from ..runtimes.front_door import Challenger, Member
from ..runtimes.supervise import read_state, write_state


def member_status(client, model: str, version: str) -> Running | None:
    """A version's own service as it is now (running, restarting, crashed), or None."""
    found = process.find(member_key(model, version))
    if found is not None:
        return found
    if client is not None:
        c = container.member_container(client, model, version)
        if c is not None:
            return container.status_if_there(c)
    return None


def start_member(settings, client, registry, model: str, version: str, lan: bool, journal) -> Running:
    """The version's own service, started and healthy (one that already is, kept as it is)."""
    v = registry.get(model, version)
    on_engine = client is not None and v.tag
    found = member_status(client, model, v.version)
    if (found is not None and found.state == "running" and found.health == "healthy"
            and (found.lan == lan or not on_engine)):
        return found
    if on_engine:
        process.stop(member_key(model, v.version))
        return container.run(client, registry, model, v.version, port=free_port(), lan=lan,
                             network=settings.network, journal=journal, member=True)
    if lan:
        raise UsageError("Network access is available for models running in a container.",
                         "Start Docker and build the model again, then use --lan.")
    return process.run(registry, model, v.version, port=free_port(), journal=journal, member=True)


def stop_member(client, model: str, version: str) -> bool:
    stopped = process.stop(member_key(model, version))
    if client is not None:
        c = container.member_container(client, model, version)
        if c is not None:
            c.remove(force=True)
            stopped = True
    return stopped


def _address(r: Running) -> str:
    return f"127.0.0.1:{r.port}"


def go_live(settings, client, registry, model: str, version: str | None = None, port: int | None = None,
            lan: bool = False, journal=None) -> Running:
    """Make ``version`` the one that answers at the model's address (starting the address
    when it is not open), with no failed request. Ends an A/B or shadow test."""
    v = registry.get(model, version)
    door = front_door.find(model)
    host = "0.0.0.0" if lan else "127.0.0.1"
    before = [x for x in ((door.live_version(), (door.challenger() or {}).get("version")) if door else ()) if x]
    member = start_member(settings, client, registry, model, v.version, lan, journal)   # 1. ready first
    notes = []
    reopen = (door is None or not door.kept or door.status is None or door.host != host
              or (port is not None and port != door.port))
    if reopen:
        if door is not None:
            front_door.halt(model)
        _stop_own_service(client, model)  # a model started before the front door held the port itself
        chosen, note = choose_port(model, registry, port, settings.default_port)
        notes.append(note)
        door = front_door.launch(model, chosen, host, Member(v.version, _address(member)))
        registry.set_port(model, chosen)
    else:                                                                                  # 2. switch
        front_door.apply(front_door.config_file(model), door.url, door.port, Member(v.version, _address(member)),
                         host=door.host)
    for old in before:                                                                     # 3. the old ones
        if old != v.version:
            _retire(settings, client, model, old)
    _forget_warm(model, v.version)
    expire_warm(client)
    return _running(model, door, member, " ".join(n for n in notes if n))


def _running(model: str, door, member: Running, note: str = "") -> Running:
    return Running(model=model, version=member.version, url=door.url, port=door.port, state=member.state,
                   health=member.health, container_id=member.container_id, note=note, lan=door.host != "127.0.0.1",
                   restarts=member.restarts, crashed_at=member.crashed_at, reason=member.reason)


def _stop_own_service(client, model: str) -> None:
    process.stop(model)
    if client is not None:
        container.stop(client, model)


# -- warm versions ---------------------------------------------------------------------------------
def _warm_file():
    return front_door.folder() / "warm.json"


def _warm() -> dict:
    return read_state(_warm_file()) or {}


def _save_warm(warm: dict) -> None:
    write_state(_warm_file(), warm)


def _retire(settings, client, model: str, version: str) -> None:
    """A version the front door no longer sends to: stopped, or kept warm for a while."""
    minutes = float(settings.keep_warm_minutes)
    if minutes <= 0:
        stop_member(client, model, version)
        return
    warm = _warm()
    warm.setdefault(model, {})[version] = time.time() + minutes * 60
    _save_warm(warm)


def _forget_warm(model: str, version: str) -> None:
    warm = _warm()
    if warm.get(model, {}).pop(version, None) is not None:
        _save_warm(warm)


def warm_versions(model: str) -> dict[str, float]:
    """{version: until when it is kept ready} for the model."""
    return dict(_warm().get(model, {}))


def expire_warm(client, now: float | None = None) -> list[tuple[str, str]]:
    """Stop the versions kept warm whose time is up; the (model, version) stopped."""
    now = time.time() if now is None else now
    warm = _warm()
    done = []
    changed = False
    for model, versions in list(warm.items()):
        door = front_door.find(model, ask=False)
        in_use = {door.live_version(), (door.challenger() or {}).get("version")} if door else set()
        for version, until in list(versions.items()):
            if until <= now or door is None:
                if version not in in_use:
                    stop_member(client, model, version)
                    done.append((model, version))
                del versions[version]
                changed = True
        if not versions:
            del warm[model]
    if changed:
        _save_warm(warm)
    return done


# -- the address as a whole --------------------------------------------------------------------------
def find(client, model: str) -> Running | None:
    """The model's address with the live version's service behind it, or None (no front door)."""
    door = front_door.find(model, ask=False)
    if door is None:
        return None
    live = door.live_version()
    member = member_status(client, model, live) if live else None
    if not door.kept:
        return Running(model=model, version=live or "?", url=door.url, port=door.port, state="crashed",
                       health="none", container_id="", lan=door.host != "127.0.0.1",
                       reason="its address was closed (the computer restarted, or DeskML's keeper stopped)")
    if member is None:
        return Running(model=model, version=live or "?", url=door.url, port=door.port, state="crashed",
                       health="none", container_id="", lan=door.host != "127.0.0.1",
                       reason=f"version {live}'s service is gone")
    return _running(model, door, member)


def behind(client, model: str) -> list[dict]:
    """Which versions answer behind the model's address: [{version, role, share, state}]."""
    door = front_door.find(model, ask=False)
    if door is None:
        return []
    out = []
    live = door.live_version()
    ch = door.challenger()
    if live:
        share = 1.0 - float(ch["share"]) if ch and ch.get("mode") == "split" else 1.0
        r = member_status(client, model, live)
        out.append({"version": live, "role": "live", "share": share, "state": r.state if r else "gone"})
    if ch:
        r = member_status(client, model, ch["version"])
        out.append({"version": ch["version"], "role": "shadow" if ch.get("mode") == "shadow" else "challenger",
                    "share": float(ch["share"]) if ch.get("mode") == "split" else 0.0,
                    "state": r.state if r else "gone"})
    for version, until in sorted(warm_versions(model).items()):
        if version not in (live, (ch or {}).get("version")):
            r = member_status(client, model, version)
            out.append({"version": version, "role": "warm", "share": 0.0, "until": until,
                        "state": r.state if r else "gone"})
    return out


def writers(client, model: str) -> list[Running]:
    """Every version's service of the model that is up or coming back (each writes its journal)."""
    out = [r for r in process.members(model) if r.state in ("running", "restarting")]
    if client is not None:
        out += [r for r in (container.status_if_there(c) for c in container.member_containers(client, model))
                if r is not None and r.state in ("running", "restarting")]
    return out


def stop_all(client, model: str) -> bool:
    """Close the model's address and stop every version's service behind it."""
    stopped = front_door.halt(model)
    for r in process.members(model):
        stopped = process.stop(member_key(model, r.version)) or stopped
    if client is not None:
        for c in container.member_containers(client, model):
            c.remove(force=True)
            stopped = True
    warm = _warm()
    if warm.pop(model, None) is not None:
        _save_warm(warm)
    return stopped


# -- tests: a challenger beside the live version -------------------------------------------------------
def start_test(settings, client, registry, model: str, version: str, mode: str, share: float = 0.1,
               journal=None) -> dict:
    """Put ``version`` beside the live one: "split" (A/B, ``share`` of prediction requests)
    or "shadow" (a copy of every prediction request; its answers only journaled)."""
    if mode not in ("split", "shadow"):
        raise UsageError(f"'{mode}' is not a kind of test.", "Use split (A/B) or shadow.")
    if mode == "split" and not 0.0 < float(share) < 1.0:
        raise UsageError(f"A share of {share:g} cannot be split.",
                         "Give the new version a share between 0 and 1, for example 0.1 for 10%.")
    door = front_door.find(model)
    if door is None or door.status is None or not door.live_version():
        raise NotFound(f"{model} is not running, so there is no live version to test against.",
                       f"Start it first: deskml run '{model}'")
    v = registry.get(model, version)
    if v.version == door.live_version():
        raise UsageError(f"Version {v.version} is the live version already.",
                         "Choose another version to test against it.")
    lan = door.host != "127.0.0.1"
    member = start_member(settings, client, registry, model, v.version, lan, journal)
    previous = (door.challenger() or {}).get("version")
    live = door.config["live"]
    front_door.apply(front_door.config_file(model), door.url, door.port, Member(live["version"], live["address"]),
                     Challenger(v.version, _address(member), mode, float(share) if mode == "split" else 0.0),
                     host=door.host)
    if previous and previous != v.version:
        _retire(settings, client, model, previous)
    _forget_warm(model, v.version)
    return {"live": live["version"], "challenger": v.version, "mode": mode, "share": share}


def stop_test(settings, client, model: str) -> str | None:
    """End the A/B or shadow test: every request to the live version; the challenger stopped
    (or kept warm). The challenger's version, or None when no test ran."""
    door = front_door.find(model)
    if door is None or not door.challenger():
        return None
    ch = door.challenger()
    live = door.config["live"]
    front_door.apply(front_door.config_file(model), door.url, door.port, Member(live["version"], live["address"]),
                     None, host=door.host)
    _retire(settings, client, model, ch["version"])
    return ch["version"]
