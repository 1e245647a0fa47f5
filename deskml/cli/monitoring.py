"""The command line's view of a running model: monitor, journal, alerts, erase, privacy, resume."""
from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime

from ..core.errors import ExitCode, UsageError

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str | None, default: float | None, now: float | None = None) -> float:
    """'30m', '1h', '2d', '1w', 'today', 'all' or a date (2026-11-30): the moment it means."""
    now = time.time() if now is None else now
    if text is None:
        return now - default if default is not None else 0.0
    text = text.strip().lower()
    if text == "all":
        return 0.0
    if text == "today":
        return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    m = _SPAN.match(text)
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(f"'{text}' is not a time DeskML understands.",
                         "Use e.g. --since 30m, 1h, 2d, 1w, today, all or a date like 2026-11-30.") from None


def add_parsers(sub) -> None:
    mon = sub.add_parser("monitor", help="how a model is doing: predictions, speed, errors, alerts")
    mon.add_argument("model", metavar="NAME")
    mon.add_argument("--since", default=None, help="how far back: 30m, 1h (the default), 2d, 1w, today, all")
    mon.add_argument("--json", action="store_true")
    jr = sub.add_parser("journal", help="export a model's predictions (one row each) as CSV or Excel")
    jr.add_argument("model", metavar="NAME")
    jr.add_argument("--since", default=None, help="how far back (default: all)")
    jr.add_argument("-o", "--output", required=True, metavar="FILE.csv|FILE.xlsx")
    al = sub.add_parser("alerts", help="the alert history (and what fires now)")
    al.add_argument("model", nargs="?", metavar="NAME", help="one model (default: all)")
    al.add_argument("--since", default=None, help="how far back (default: all)")
    al.add_argument("--json", action="store_true")
    er = sub.add_parser("erase", help="erase every record holding a value (a person's erasure request)")
    er.add_argument("model", metavar="NAME")
    er.add_argument("--value", required=True, help="the value to erase, e.g. an email address or a customer id")
    er.add_argument("--input", default=None, metavar="INPUT", help="only where this input holds it")
    pv = sub.add_parser("privacy", help="inputs never stored in the journal (personal data)")
    pv.add_argument("model", metavar="NAME")
    pv.add_argument("--mask", action="append", default=[], metavar="INPUT", help="never store this input")
    pv.add_argument("--unmask", action="append", default=[], metavar="INPUT", help="store this input again")
    rs = sub.add_parser("resume", help="start again the models you left running (after a restart)")
    rs.add_argument("--quiet", action="store_true", help="print nothing when all is well")


def _context():
    from ..core.registry import Registry
    from ..core.settings import load_settings

    return load_settings()[0], Registry()


def _known(registry, model):
    registry.get(model)  # a clear message when there is no such model


def _time(t) -> str:
    if not t:
        return "never"
    moment = datetime.fromtimestamp(t)
    return f"{moment:%H:%M:%S}" if moment.date() == datetime.now().date() else f"{moment:%Y-%m-%d %H:%M}"


def _ms(v) -> str:
    return "-" if v is None else (f"{v:.2f} ms" if v < 10 else f"{v:,.0f} ms")


def summary_lines(model: str, s, today, window: str, last_alert) -> list[str]:
    total = s.requests + s.errors
    lines = [f"{model}: {window}",
             f"  Predictions      {s.predictions:,} (in {s.requests:,} request{'s' if s.requests != 1 else ''}); "
             f"today {today.predictions:,}"]
    if s.latency_count == 0:
        lines.append("  Speed            no single answers yet")
    elif s.latency_count < 20:
        lines.append(f"  Speed            not enough data yet ({s.latency_count} answers): p50 {_ms(s.p50_ms)}")
    else:
        lines.append(f"  Speed            p50 {_ms(s.p50_ms)}, p95 {_ms(s.p95_ms)}")
    if not total:
        lines.append("  Errors           none (no requests)")
    else:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(s.errors_by_kind.items(), key=lambda kv: -kv[1]))
        share = f"{s.error_share:.1%}" + ("" if s.enough else ", not enough data yet to judge")
        lines.append(f"  Errors           {s.errors} of {total} requests ({share})" + (f": {kinds}" if kinds else ""))
    lines.append(f"  Last prediction  {_time(s.last_prediction)}")
    if s.not_recorded:
        for g in s.gaps:
            lines.append(f"  Not recorded     {g['n']:,} predictions were not recorded between "
                         f"{_time(g['from'])} and {_time(g['to'])} (the disk was full)")
    lines.append("  Last alert       " + (f"{_time(last_alert['fired_at'])}: {last_alert['headline']}"
                                          if last_alert else "none"))
    return lines


def cmd_monitor(args) -> int:
    from ..core.monitoring import alerts, live, queries

    settings, registry = _context()
    _known(registry, args.model)
    now = time.time()
    since = parse_since(args.since, 3600, now)
    live.refresh(settings, args.model)
    store = live.store(args.model)
    s = queries.summary(store, since, now)
    today = queries.summary(store, parse_since("today", None, now), now)
    alerts.check(settings, registry, args.model)
    history = registry.alerts(args.model)
    last = history[-1] if history else None
    if args.json:
        print(json.dumps({"ok": True, "model": args.model, "summary": s.to_dict(), "today": today.to_dict(),
                          "last_alert": last}, indent=2, default=str))
    else:
        window = "the last hour" if args.since is None else f"since {_time(since)}"
        print("\n".join(summary_lines(args.model, s, today, window, last)))
    return ExitCode.OK


def cmd_journal(args) -> int:
    from ..core.monitoring import export, live

    settings, registry = _context()
    _known(registry, args.model)
    live.refresh(settings, args.model)
    n = export.export(live.store(args.model), args.output, parse_since(args.since, None))
    print(f"Exported {n:,} predictions of {args.model} into {args.output}")
    return ExitCode.OK


def cmd_alerts(args) -> int:
    from ..core.monitoring import alerts

    settings, registry = _context()
    models = [args.model] if args.model else registry.models()
    if args.model:
        _known(registry, args.model)
    for model in models:
        alerts.check(settings, registry, model)
    history = [a for m in models for a in registry.alerts(m, since=parse_since(args.since, None))]
    history.sort(key=lambda a: a["fired_at"])
    if args.json:
        print(json.dumps({"ok": True, "alerts": history}, indent=2))
    elif not history:
        print("No alerts" + (f" for {args.model}" if args.model else "") + ".")
    else:
        for a in history:
            state = f"resolved {_time(a['resolved_at'])}" if a["resolved_at"] else "still on"
            print(f"{_time(a['fired_at'])}  [{a['severity']}] {a['model']}: {a['headline']} ({state})")
            print(f"{'':10}What to do: {a['what_to_do']}")
    return ExitCode.OK


def cmd_erase(args) -> int:
    from ..core.monitoring import live

    settings, registry = _context()
    _known(registry, args.model)
    n = live.erase(settings, registry, args.model, args.value, args.input)
    print(f"Erased {n:,} record{'s' if n != 1 else ''} of {args.model}"
          + (f" where {args.input} held the value" if args.input else " holding the value")
          + ". The erasure is logged, without the value.")
    return ExitCode.OK


def cmd_privacy(args) -> int:
    settings, registry = _context()
    version = registry.get(args.model)
    names = [i["name"] for i in (version.info or {}).get("inputs") or []]
    for name in args.mask + args.unmask:
        if name not in names:
            raise UsageError(f"{args.model} has no input '{name}'.", "Its inputs are: " + ", ".join(names) + ".")
    masked = [n for n in registry.settings(args.model).get("masked_inputs") or [] if n not in args.unmask]
    masked += [n for n in args.mask if n not in masked]
    if args.mask or args.unmask:
        registry.update_settings(args.model, masked_inputs=masked)
    print(f"Never stored for {args.model}: " + (", ".join(masked) if masked else "nothing (every input is stored)"))
    if args.mask or args.unmask:
        print("This takes effect when the model starts again: deskml run " + _quote(args.model))
    return ExitCode.OK


def cmd_resume(args) -> int:
    from ..core import services

    settings, registry = _context()
    results = services.resume(settings, registry)
    failed = 0
    for model, outcome in results:
        if isinstance(outcome, Exception):
            failed += 1
            print(f"{model} could not be started again: {outcome.message}", file=sys.stderr)
        elif not args.quiet:
            print(f"{model} is running again at {outcome.url}")
    if not results and not args.quiet:
        print("Every model you left running is running.")
    return ExitCode.UNHEALTHY if failed else ExitCode.OK


def _quote(name: str) -> str:
    return f"'{name}'" if " " in name else name


COMMANDS = {"monitor": cmd_monitor, "journal": cmd_journal, "alerts": cmd_alerts, "erase": cmd_erase,
            "privacy": cmd_privacy, "resume": cmd_resume}
