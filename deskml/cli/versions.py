"""The command line's view of versions: the audit log (and, to come, promote and roll back)."""
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


COMMANDS = {"history": cmd_history}
