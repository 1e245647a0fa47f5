"""The command line's view of versions: the audit log, two versions compared (and, to come,
promote and roll back)."""
from __future__ import annotations

import json
import time

from ..core.errors import ExitCode

ACTION_WORDS = {"deploy": "made", "promote": "promoted", "rollback": "rolled back", "ab-start": "A/B test started",
                "ab-stop": "A/B test stopped", "shadow-start": "shadow test started",
                "shadow-stop": "shadow test stopped"}


def add_parsers(sub) -> None:
    hi = sub.add_parser("history", help="the audit log of a model's versions: made, promoted, rolled back, tests")
    hi.add_argument("model", metavar="NAME")
    hi.add_argument("--json", action="store_true")
    co = sub.add_parser("compare", help="two versions side by side: inputs, outputs, libraries, speed, "
                                        "agreement on the reference data, accuracy")
    co.add_argument("model", metavar="NAME")
    co.add_argument("a", metavar="VERSION_A")
    co.add_argument("b", metavar="VERSION_B")
    co.add_argument("--json", action="store_true")


def history_lines(entries: list[dict]) -> list[str]:
    lines = []
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e["at"]))
        what = ACTION_WORDS.get(e["action"], e["action"])
        version = f"version {e['version']}" if e.get("version") else ""
        before = f" (was {e['previous']})" if e.get("previous") else ""
        who = f"by {e['user']}" if e.get("user") else "by someone (before the audit log)"
        detail = f": {e['detail']}" if e.get("detail") else ""
        lines.append(f"{when}  {what} {version}{before} {who}{detail}".replace("  by", " by"))
    return lines


def cmd_history(args) -> int:
    from .monitoring import _context, _known

    _, registry = _context()
    _known(registry, args.model)
    entries = registry.history(args.model)
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return ExitCode.OK
    if not entries:
        print(f"Nothing in {args.model}'s audit log yet.")
    for line in history_lines(entries):
        print(line)
    return ExitCode.OK


def cmd_compare(args) -> int:
    from ..core.experiments.compare import compare
    from ..core.monitoring import live
    from .monitoring import _context, _known

    settings, registry = _context()
    _known(registry, args.model)
    live.refresh(settings, args.model)
    result = compare(settings, registry, args.model, args.a, args.b)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return ExitCode.OK
    print(f"{args.model}: version {result.a} and version {result.b}")
    for line in result.words:
        print(f"  {line}")
    if result.agreement and result.agreement["biggest"]:
        print("  Where they differ most:")
        for d in result.agreement["biggest"]:
            print(f"    row {d['row'] + 1}: {result.a} says {d['a']}, {result.b} says {d['b']}")
    return ExitCode.OK


COMMANDS = {"history": cmd_history, "compare": cmd_compare}
