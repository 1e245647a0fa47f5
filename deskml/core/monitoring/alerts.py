"""Alert rules: what deserves the user's attention, said in plain words with what to do.

A rule looks at a model's situation (``Situation``: its service, its journal over a
window, the disk) at a moment it is given, so the rules are tested with any clock. The
engine (``evaluate``) fires an alert when a rule's condition starts, and resolves it
when the condition ends; every alert lands in the registry's alert history, which is
always kept. Rules are pluggable: ``register`` adds one. The rules of other capabilities
(drift, data quality, accuracy, groups: ``core/quality/rules.py``) register themselves
when ``all_rules`` imports the modules named in ``PLUGINS`` (by name: monitoring does not
depend on what builds on it).

Defaults are sensible for a small shop's volumes, and honest at them: a share of errors
or a slow percentile is only judged from at least ``queries.ENOUGH`` answers; fewer are
"not enough data yet", never an alarm.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .queries import ENOUGH, Summary

INFO, WARNING, SERIOUS = "info", "warning", "serious"


@dataclass
class Situation:
    """What the rules may look at, for one model at one moment."""
    model: str
    now: float
    desired: str = "stopped"          # what the user wants: "running" or "stopped"
    state: str = "stopped"            # running, starting, restarting, crashed, failed, stopped
    restarts: int = 0                 # restarts after crashes (of this run of the service)
    crashed_at: float | None = None
    reason: str = ""
    running_since: float | None = None
    summary: Callable[[float], Summary] | None = None   # summary(window seconds) of the journal
    journal_bytes: int = 0
    journal_cap: int = 0
    disk_free: int | None = None
    store: object = None              # the model's JournalStore (for rules that read more of it)
    inputs: list = field(default_factory=list)   # the live version's inputs (ModelInfo.inputs)
    reference: str | None = None      # the live version's reference data (a file), if any
    version: str | None = None        # the live version

    def window(self, seconds: float) -> Summary:
        return self.summary(seconds) if self.summary else Summary(self.now - seconds, self.now)


@dataclass
class Finding:
    headline: str
    what_to_do: str
    severity: str = WARNING


@dataclass
class Rule:
    name: str
    title: str                       # for the settings: what it watches, in words
    check: Callable[[Situation, dict], Finding | None]
    defaults: dict = field(default_factory=dict)
    enabled: bool = True             # by default


RULES: dict[str, Rule] = {}
PLUGINS = ("deskml.core.quality.rules",)


def register(rule: Rule) -> Rule:
    RULES[rule.name] = rule
    return rule


def all_rules() -> dict[str, Rule]:
    """Every rule: this module's, and those the ``PLUGINS`` modules register."""
    import importlib

    for name in PLUGINS:
        importlib.import_module(name)
    return RULES


def _at(t: float | None) -> str:
    if not t:
        return ""
    return f" at {datetime.fromtimestamp(t):%H:%M}"


def _down(s: Situation, p: dict) -> Finding | None:
    if s.desired != "running":
        return None
    if s.state in ("crashed", "failed"):
        return Finding(f"{s.model} is down: it crashed{_at(s.crashed_at)} and DeskML could not bring it back"
                       + (f" ({s.reason})" if s.reason else "") + ".",
                       "Open the model in DeskML, look at its log for the reason, and start it again. "
                       "Programs that use it get no answers meanwhile.", SERIOUS)
    if s.state == "stopped":
        return Finding(f"{s.model} is not running, although it was left running.",
                       "Start it again from DeskML (or: deskml run NAME). If the computer restarted, "
                       "DeskML starts it by itself the next time you log in.", SERIOUS)
    if s.restarts >= p["restarts"] and s.crashed_at and s.now - s.crashed_at <= p["minutes"] * 60:
        return Finding(f"{s.model} keeps restarting: it crashed {s.restarts} times, the last{_at(s.crashed_at)}"
                       + (f" ({s.reason})" if s.reason else "") + ".",
                       "Look at its log for the reason. A model that runs out of memory needs a bigger "
                       "computer or smaller batches; other crashes: ask the model's author, with the log.", WARNING)
    return None


def _latency(s: Situation, p: dict) -> Finding | None:
    if s.state != "running":
        return None
    w = s.window(p["minutes"] * 60)
    if w.latency_count < ENOUGH or w.p95_ms is None or w.p95_ms <= p["p95_ms"]:
        return None
    return Finding(f"{s.model} answers slowly: 95 % of its answers in the last {p['minutes']} minutes took up to "
                   f"{w.p95_ms:,.0f} ms (your limit: {p['p95_ms']:,.0f} ms).",
                   "The computer may be busy, or the requests large. Close other programs or send smaller "
                   "batches; if it stays slow, raise the limit in the model's alert settings.")


def _errors(s: Situation, p: dict) -> Finding | None:
    w = s.window(p["minutes"] * 60)
    total = w.requests + w.errors
    if total < ENOUGH or w.error_share is None or w.error_share <= p["share"]:
        return None
    main = max(w.errors_by_kind.items(), key=lambda kv: kv[1])[0] if w.errors_by_kind else "errors"
    severe = w.errors_by_kind.get("the model failed", 0) > 0
    return Finding(f"{s.model} refused {w.errors} of {total} requests ({w.error_share:.0%}) in the last "
                   f"{p['minutes']} minutes, mostly: {main}.",
                   ("The model itself failed on some inputs: look at Monitoring › Errors and at its log, and "
                    "ask the model's author." if severe else
                    "The programs that call it send inputs it does not accept: Monitoring › Errors shows "
                    "which; fix the calling program or the spreadsheet."),
                   SERIOUS if severe else WARNING)


def _quiet(s: Situation, p: dict) -> Finding | None:
    if s.state != "running":
        return None
    w = s.window(p["hours"] * 3600)
    since = max(filter(None, [w.last_prediction, s.running_since]), default=None)
    if since is None or s.now - since < p["hours"] * 3600:
        return None
    return Finding(f"{s.model} has had no predictions for {p['hours']:g} hours.",
                   "Check that the programs that use it still run and still call its address.", INFO)


def _disk(s: Situation, p: dict) -> Finding | None:
    if s.disk_free is not None and s.disk_free < p["free_mb"] * 1024 * 1024:
        return Finding(f"The disk with {s.model}'s prediction journal is nearly full ({s.disk_free / 2**20:,.0f} MB "
                       "free). When it is full, predictions are still answered but no longer recorded.",
                       "Free some space on the disk, or choose another data folder in Settings.", SERIOUS)
    if s.journal_cap and s.journal_bytes > p["of_limit"] * s.journal_cap:
        return Finding(f"{s.model}'s prediction journal uses {s.journal_bytes / 2**20:,.0f} MB of its "
                       f"{s.journal_cap / 2**20:,.0f} MB; the oldest predictions are being summarised to make room.",
                       "Nothing is lost: minute and hour totals stay. To keep single predictions longer, raise "
                       "the journal's size limit in Settings.", INFO)
    return None


register(Rule("down", "The service is down or keeps restarting", _down, {"restarts": 3, "minutes": 10}))
register(Rule("latency", "Answers are slow (95th percentile over a limit)", _latency, {"p95_ms": 500.0, "minutes": 15}))
register(Rule("errors", "Too many refused requests", _errors, {"share": 0.10, "minutes": 15}))
register(Rule("quiet", "No predictions for a while", _quiet, {"hours": 24.0}, enabled=False))
register(Rule("disk", "The journal's disk is nearly full", _disk, {"free_mb": 500.0, "of_limit": 0.9}))


def rule_settings(settings: dict) -> dict[str, dict]:
    """Each rule's switch and parameters: the defaults, with the model's own changes."""
    mine = (settings or {}).get("alerts") or {}
    out = {}
    for name, rule in all_rules().items():
        own = mine.get(name) or {}
        out[name] = {"enabled": bool(own.get("enabled", rule.enabled)),
                     **{k: type(v)(own.get(k, v)) for k, v in rule.defaults.items()}}
    return out


def evaluate(registry, situation: Situation) -> list[dict]:
    """Fire the alerts whose condition has begun and resolve those that have ended; returns
    the alerts fired now (as stored in the history)."""
    fired = []
    settings = rule_settings(registry.settings(situation.model))
    open_alerts = {a["rule"]: a for a in registry.alerts(situation.model, open_only=True)}
    for name, rule in all_rules().items():
        params = settings[name]
        finding = rule.check(situation, params) if params["enabled"] else None
        current = open_alerts.get(name)
        if finding is not None and current is None:
            alert_id = registry.fire_alert(situation.model, name, finding.severity, finding.headline,
                                           finding.what_to_do, at=situation.now)
            fired.append({"id": alert_id, "model": situation.model, "rule": name, "severity": finding.severity,
                          "fired_at": situation.now, "headline": finding.headline, "what_to_do": finding.what_to_do})
        elif finding is None and current is not None:
            registry.resolve_alert(current["id"], at=situation.now)
    return fired


def situation(settings, registry, model: str, now: float | None = None) -> Situation:
    """The real situation of a model now: its service, its journal (brought up to date), the disk."""
    import shutil

    from .. import services
    from . import live, queries

    now = time.time() if now is None else now
    state = next((m for m in services.overview(settings, registry) if m.model == model), None)
    found = services.find(settings, model)
    store = live.store(model)
    live.refresh(settings, model)
    try:
        free = shutil.disk_usage(store.folder).free
    except OSError:
        free = None
    desired, _ = registry.desired(model)
    started = [e["at"] for e in registry.events(model) if e["kind"] == "started"]
    try:
        version = registry.get(model, registry.desired_version(model))
    except Exception:  # a model being removed: the rules that need its version say nothing
        version = None
    return Situation(model, now, desired=desired, state=state.state if state else "stopped",
                     restarts=found.restarts if found else 0, crashed_at=found.crashed_at if found else None,
                     reason=found.reason if found else "", running_since=started[-1] if started else None,
                     summary=lambda seconds: queries.summary(store, now - seconds, now),
                     journal_bytes=store.size_bytes(), journal_cap=int(settings.journal_max_mb * 2**20),
                     disk_free=free, store=store, inputs=((version.info or {}).get("inputs") or []) if version else [],
                     reference=version.reference if version else None,
                     version=version.version if version else None)


def check(settings, registry, model: str) -> list[dict]:
    """Evaluate every rule for a model now; the alerts fired."""
    return evaluate(registry, situation(settings, registry, model))
