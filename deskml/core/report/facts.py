"""What the one-page report (``pdf.py``) and the model card say of a model, gathered from
the same core functions as the app's pages: the registry (versions, audit log, checks,
alerts), the journal (traffic, speed, errors, drift) and the quality views (accuracy from
outcomes, on the reference data, and the estimate before outcomes).

Every section is plain sentences. A section whose source is missing or fails says so in
its own words ("no traffic yet", "no reference data") instead of taking the report down.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DAYS = 30              # traffic, speed and errors: the last 30 days


@dataclass
class Facts:
    model: str
    version: str
    live: bool
    sha256: str
    file: str
    sklearn: str
    python: str
    built_at: float
    built_by: str
    made_at: float
    made_by: str
    what: str
    needs: str
    inputs: list = field(default_factory=list)        # [{"name", "kind", "range", "importance"}]
    by_importance: bool = False                       # inputs listed most important first
    intended_use: str = ""
    limitations: str = ""
    performance: list = field(default_factory=list)   # sentences
    traffic: list = field(default_factory=list)
    series: object = None                             # monitoring.queries.Series of the last DAYS, or None
    drift: list = field(default_factory=list)
    test: list = field(default_factory=list)          # the A/B or shadow test
    versions: list = field(default_factory=list)
    check: list = field(default_factory=list)
    alerts: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("series")
        return d


def _range(spec: dict) -> str:
    kind = spec.get("kind")
    if kind == "number" and spec.get("min") is not None and spec.get("max") is not None:
        return f"{spec['min']:g} to {spec['max']:g}"
    if kind == "category" and spec.get("categories"):
        cats = [str(c) for c in spec["categories"]]
        return ", ".join(cats[:4]) + (f" and {len(cats) - 4} more" if len(cats) > 4 else "")
    return ""


def _inputs(info: dict) -> list:
    """The inputs the model uses, the most important first when the model's own weights say
    which (``importance`` at inspection: a share of 1), else in the model's order."""
    inputs = [{"name": str(i["name"]), "kind": i.get("kind", "?"), "range": _range(i),
               "importance": i.get("importance")}
              for i in info.get("inputs") or [] if i.get("used", True)]
    if any(i["importance"] is not None for i in inputs):
        inputs.sort(key=lambda i: -(i["importance"] or 0.0))
    return inputs


def share(x: float) -> str:
    """An input's share of the model's weights, as printed: '40%', '<1%'."""
    return "<1%" if 0 < x < 0.005 else f"{x:.0%}"


def _section(name: str, fn, *args) -> list:
    """A section's sentences; a failure is said in the section, never raised."""
    from ..errors import DeskMLError

    try:
        return fn(*args)
    except DeskMLError as err:
        return [f"{name}: {err.headline}"]
    except Exception:  # a bug here must not take the rest of the report with it
        log.exception("the report's %s section failed", name)
        return [f"{name} could not be gathered (a problem in DeskML, written to its log)."]


def gather(settings, registry, model: str, version: str | None = None, now: float | None = None) -> Facts:
    from ..intake.model_info import ModelInfo
    from ..registry import current_user

    now = time.time() if now is None else now
    v = registry.get(model, version or registry.live_version(model))
    info = v.info or {}
    try:
        described = ModelInfo.from_dict(info)
        what, needs = described.what, described.needs
    except (TypeError, KeyError, ValueError):
        what, needs = "DeskML could not describe this model.", ""
    history = registry.history(model)
    built_by = next((e["user"] for e in history if e["action"] == "deploy" and e["version"] == v.version), "")
    use = registry.settings(model)
    facts = Facts(
        model=model, version=v.version, live=registry.live_version(model) == v.version, sha256=v.model_sha256,
        file=Path(info.get("path") or info.get("file_name") or "").name, sklearn=v.sklearn_version or "?",
        python=v.python or "?", built_at=v.built_at, built_by=built_by or "someone (before the audit log)",
        made_at=now, made_by=current_user(), what=what, needs=needs,
        inputs=_inputs(info),
        intended_use=str(use.get("intended_use") or ""), limitations=str(use.get("limitations") or ""))
    facts.by_importance = any(i["importance"] is not None for i in facts.inputs)
    facts.versions = _section("Versions", _versions, registry, model, history)
    facts.check = _section("The pre-release check", _check, registry, model, v.version)
    facts.alerts = _section("Alerts", _alerts, registry, model, now)
    store = _store(model)
    if store is None:
        facts.traffic = ["No traffic yet: this version has not answered any request."]
        facts.drift = ["Not enough data yet: drift is judged once the model has answered requests."]
        facts.test = ["No A/B or shadow test has run."]
    else:
        facts.traffic, facts.series = _traffic(store, now)
        facts.drift = _section("Drift", _drift, store, info, v, now)
        facts.test = _section("The A/B or shadow test", _test, store, registry, model, now)
    facts.performance = _section("How well it works", _performance, settings, registry, model, v, store, now)
    return facts


def _store(model: str):
    from ..monitoring import live

    store = live.store(model)
    return store if Path(store.path).exists() else None


def _versions(registry, model: str, history: list) -> list:
    from ..registry import AUDIT_WORDS

    lines = []
    for v in list(reversed(registry.versions(model)))[:5]:
        made = time.strftime("%Y-%m-%d", time.localtime(v.built_at))
        moves = [e for e in history if e["version"] == v.version and e["action"] in ("promote", "rollback")]
        said = "; ".join(f"{AUDIT_WORDS[e['action']]} {time.strftime('%Y-%m-%d', time.localtime(e['at']))}"
                         for e in moves[-2:])
        live = " (live)" if registry.live_version(model) == v.version else ""
        lines.append(f"Version {v.version}{live}: made {made}, scikit-learn {v.sklearn_version or '?'}"
                     + (f"; {said}" if said else ""))
    total = len(registry.versions(model))
    if total > 5:
        lines.append(f"and {total - 5} older versions")
    rollbacks = sum(1 for e in history if e["action"] == "rollback")
    lines.append(f"{rollbacks} roll back{'s' if rollbacks != 1 else ''} in all." if rollbacks else "No roll backs.")
    return lines


def _check(registry, model: str, version: str) -> list:
    from .check import CheckResult

    kept = registry.latest_check(model, version)
    if kept is None:
        return [f"Version {version} has no pre-release check yet (deskml check, or 'Check this version')."]
    result = CheckResult.from_dict(kept)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(result.at))
    lines = [f"{result.headline()} ({when}, by {kept.get('user') or '?'})"]
    if result.load:
        top = result.load[-1]
        lines.append(f"Under load ({top.concurrency} at a time): p50 {top.p50_ms} ms, p95 {top.p95_ms} ms, "
                     f"p99 {top.p99_ms} ms, {top.errors} errors.")
    if result.agreement is not None:
        a = result.agreement
        lines.append(f"Gives the same answer as version {a.live_version} on {a.share:.0%} of {a.rows} reference rows.")
    return lines


def _alerts(registry, model: str, now: float) -> list:
    fired = registry.alerts(model, since=now - DAYS * 86400)
    if not fired:
        return [f"No alerts in the last {DAYS} days."]
    open_ = [a for a in fired if a.get("resolved_at") is None]
    lines = [f"{len(fired)} alert{'s' if len(fired) != 1 else ''} in the last {DAYS} days, {len(open_)} still open."]
    for a in list(reversed(fired))[:3]:
        when = time.strftime("%Y-%m-%d", time.localtime(a["fired_at"]))
        lines.append(f"{when} ({a['severity']}): {a['headline']}")
    return lines


def _traffic(store, now: float):
    from ..monitoring import queries

    since = now - DAYS * 86400
    s = queries.summary(store, since, now)
    if not s.requests and not s.errors:
        return [f"No traffic in the last {DAYS} days."], None
    lines = [f"Last {DAYS} days: {s.predictions:,} predictions in {s.requests:,} requests, {s.errors:,} refused."]
    if s.enough:
        lines.append(f"Speed: p50 {s.p50_ms:.1f} ms, p95 {s.p95_ms:.1f} ms. Errors: {s.error_share:.1%} of requests.")
    else:
        lines.append(f"Not enough answers yet for speed and error shares to mean much ({s.latency_count}).")
    return lines, queries.series(store, since, now, max_points=60)


def _drift(store, info: dict, v, now: float) -> list:
    from ..quality.view import drift_view

    if not v.reference:
        return ["No reference data: drift cannot be judged. Add data like the data the model learned from."]
    view = drift_view(store, info.get("inputs") or [], v.reference, "week", "reference", now)
    if view.problem:
        return [view.problem]
    lines = [view.summary]
    order = {"red": 0, "amber": 1, "green": 2}
    for row in sorted(view.rows, key=lambda r: order.get(r.light, 3))[:5]:
        quality = f" {' '.join(row.quality)}" if row.quality else ""
        lines.append(f"{row.name}: {row.verdict}; {row.change}{quality}")
    if len(view.rows) > 5:
        lines.append(f"and {len(view.rows) - 5} more inputs")
    return lines


def _test(store, registry, model: str, now: float) -> list:
    from ..experiments.ab_result import test_result

    r = test_result(store, registry, model, now)
    if r is None:
        return ["No A/B or shadow test has run."]
    kind = f"A/B test ({r.share:.0%} to version {r.challenger.version})" if r.mode == "split" else \
        f"Shadow test of version {r.challenger.version}"
    state = "running" if r.ended is None else "ended " + time.strftime("%Y-%m-%d", time.localtime(r.ended))
    lines = [f"{kind}, {state}: {r.live.requests:,} and {r.challenger.requests:,} requests."]
    if r.agreement is not None:
        lines.append(f"They agree on {r.agreement:.0%} of {r.compared:,} inputs.")
    if r.verdict is not None:
        lines.append(r.verdict.words)
    elif r.note:
        lines.append(r.note)
    return lines


def _performance(settings, registry, model: str, v, store, now: float) -> list:
    from ..quality.accuracy import accuracy_report
    from ..quality.view import estimate_for_model

    lines = []
    live = registry.live_version(model) == v.version
    if store is not None:
        report = accuracy_report(store)
        fig = report.figures.get("accuracy") or report.figures.get("mae")
        if fig is not None:
            name = "Accuracy" if "accuracy" in report.figures else "Mean error"
            lines.append(f"{name} from real outcomes: {fig.words(percent='accuracy' in report.figures)}.")
        else:
            lines.append("No real outcomes yet: accuracy is measured once outcomes are told to DeskML.")
    else:
        lines.append("No real outcomes yet: accuracy is measured once outcomes are told to DeskML.")
    if live and v.reference:
        est = estimate_for_model(settings, registry, model, store=store, now=now) if store is not None else None
        if est is not None and not est.problem:
            if est.reference is not None:
                lines.append(f"On the labelled reference data: {est.reference.words(of='rows')}.")
            if est.week is not None:
                lines.append(f"Estimated before outcomes, last 7 days: {est.week.words(of='predictions')}.")
        elif est is not None:
            lines.append(est.problem)
    elif not v.reference:
        lines.append("No reference data: nothing to measure it on before outcomes.")
    return lines
