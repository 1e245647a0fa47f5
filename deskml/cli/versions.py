"""The command line's view of versions: the audit log, two versions compared, promote and
roll back, A/B and shadow tests behind the model's one address."""
from __future__ import annotations

import json
import time

from ..core.errors import ExitCode

from ..core.registry import AUDIT_WORDS as ACTION_WORDS


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
    pr = sub.add_parser("promote", help="make a version the live one at the model's address (no failed request)",
                        description="The version gets its pre-release check first, unless it has one already; "
                                    "a failed check stops the promotion unless --despite-check.")
    pr.add_argument("model", metavar="NAME")
    pr.add_argument("version", metavar="VERSION")
    pr.add_argument("--despite-check", action="store_true",
                    help="promote even though its pre-release check failed (the audit log says so)")
    pr.add_argument("--skip-check", action="store_true", help="do not run a pre-release check first")
    ck = sub.add_parser("check", help="the pre-release check of a version: edge cases, a short load test, "
                                      "agreement with the live version",
                        description="Runs against the version's own service (started for the check if needed), "
                                    "never the live one. The result is kept with the version.")
    ck.add_argument("model", metavar="NAME[:VERSION]")
    ck.add_argument("--seconds", type=float, default=10.0, help="length of the load test (default 10)")
    ck.add_argument("--json", action="store_true")
    wa = sub.add_parser("watch", help="a watched folder: new model files there become tested candidates",
                        description="A model file put in a model's watched folder is inspected, packaged, started "
                                    "beside the live version, checked, and put in a shadow test; you only approve "
                                    "the promotion. 'deskml watch NAME FOLDER' names the folder; 'deskml watch "
                                    "--scan' looks at every watched folder once (the app does it every 30 s).")
    wa.add_argument("model", metavar="NAME", nargs="?")
    wa.add_argument("folder", metavar="FOLDER", nargs="?")
    wa.add_argument("--off", action="store_true", help="stop watching the model's folder")
    wa.add_argument("--scan", action="store_true", help="look at every watched folder now")
    rp = sub.add_parser("report", help="a one-page PDF report of a model: what it is, how it works, whether it "
                                       "can be trusted today",
                        description="Exactly one page, A4 or Letter by the system's locale. The intended use and "
                                    "limitations you give are remembered for the model.")
    rp.add_argument("model", metavar="NAME[:VERSION]")
    rp.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write it (.pdf, .md or .json)")
    rp.add_argument("--format", choices=("pdf", "md", "json"), default=None,
                    help="pdf: the one page; md or json: the same facts in full as a model card (default: from "
                         "the file's ending)")
    rp.add_argument("--intended-use", default=None, metavar="TEXT", help="what the model is for (remembered)")
    rp.add_argument("--limitations", default=None, metavar="TEXT", help="where it should not be trusted (remembered)")
    rp.add_argument("--paper", choices=("A4", "Letter"), default=None, help="default: from the system's locale")
    rb = sub.add_parser("rollback", help="back to the version that was live before")
    rb.add_argument("model", metavar="NAME")
    ab = sub.add_parser("ab", help="an A/B test: a share of the prediction requests to another version")
    ab.add_argument("model", metavar="NAME")
    ab.add_argument("version", metavar="VERSION")
    ab.add_argument("--share", default="10%", help="the new version's share: 10%% or 0.1 (default 10%%)")
    sh = sub.add_parser("shadow", help="a shadow test: another version answers a copy of every request, unseen")
    sh.add_argument("model", metavar="NAME")
    sh.add_argument("version", metavar="VERSION")
    en = sub.add_parser("end-test", help="end the A/B or shadow test: every request to the live version")
    en.add_argument("model", metavar="NAME")


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


def share_of(text: str) -> float:
    """"10%", "10 %" or "0.1" as 0.1; a clear message otherwise."""
    from ..core.errors import UsageError

    t = str(text).strip()
    try:
        value = float(t.rstrip("%").strip()) / (100 if t.endswith("%") else 1)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise UsageError(f"'{text}' is not a share the new version can take.",
                         "Give a share between 0 and 100%, for example --share 10%.")
    return value


def cmd_promote(args) -> int:
    from ..core import services
    from .monitoring import _context

    settings, registry = _context()
    running = services.promote(settings, registry, args.model, args.version, with_check=not args.skip_check,
                               despite_check=args.despite_check, progress=_progress)
    print(f"{args.model}: version {running.version} is live at {running.url}")
    return ExitCode.OK


def _progress(what, done, total):
    if done == 0:
        print(f"  checking: {what}…", flush=True)


def cmd_check(args) -> int:
    from ..core import services
    from .main import _split_ref
    from .monitoring import _context

    settings, registry = _context()
    name, version = _split_ref(args.model)
    result = services.check(settings, registry, name, version, load_seconds=args.seconds,
                            progress=lambda *a: None if args.json else _progress(*a))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in result.lines():
            print(line)
    return ExitCode.OK if result.passed else ExitCode.CHECK_FAILED


def cmd_rollback(args) -> int:
    from ..core import services
    from .monitoring import _context

    settings, registry = _context()
    running = services.rollback(settings, registry, args.model)
    print(f"{args.model}: rolled back; version {running.version} is live at {running.url}")
    return ExitCode.OK


def cmd_test(args) -> int:
    from ..core import services
    from .monitoring import _context

    settings, registry = _context()
    if args.command == "ab":
        share = share_of(args.share)
        t = services.start_test(settings, registry, args.model, args.version, "split", share)
        print(f"{args.model}: A/B test started. Version {t['challenger']} answers {share:.0%} of prediction "
              f"requests, version {t['live']} the rest, at the same address. Requests with the same key "
              f"(the x-deskml-key header or the body's \"key\") always meet the same version.")
    else:
        t = services.start_test(settings, registry, args.model, args.version, "shadow")
        print(f"{args.model}: shadow test started. Version {t['live']} answers every request; version "
              f"{t['challenger']} answers a copy of each prediction request, kept in the journal and never sent "
              "back.")
    return ExitCode.OK


def cmd_end_test(args) -> int:
    from ..core import services
    from .monitoring import _context

    settings, registry = _context()
    stopped = services.stop_test(settings, registry, args.model)
    print(f"{args.model}: the test of version {stopped} ended; the live version answers every request."
          if stopped else f"{args.model} has no A/B or shadow test running.")
    return ExitCode.OK


def cmd_report(args) -> int:
    from ..core.report.export import export
    from .main import _split_ref
    from .monitoring import _context, _known

    settings, registry = _context()
    name, version = _split_ref(args.model)
    _known(registry, name)
    remembered = {k: v.strip() for k, v in (("intended_use", args.intended_use), ("limitations", args.limitations))
                  if v is not None}
    if remembered:
        registry.update_settings(name, **remembered)
    gathered = export(settings, registry, name, version, args.output, args.format, args.paper)
    what = "model card" if (args.format or str(args.output).lower().rsplit(".", 1)[-1]) in ("md", "json") else "report"
    print(f"{name}: the {what} of version {gathered.version} is in {args.output}")
    return ExitCode.OK


def cmd_watch(args) -> int:
    from ..core.errors import UsageError
    from ..core.experiments import candidate
    from .monitoring import _context

    settings, registry = _context()
    if args.scan:
        results = candidate.scan(settings, registry, progress=lambda words: print(f"  {words}", flush=True))
        for r in results:
            print(("OK  " if r.ok else "FAILED  ") + r.words)
        if not results:
            print("No new model files in the watched folders.")
        return ExitCode.OK if all(r.ok for r in results) else ExitCode.CHECK_FAILED
    if not args.model:
        for model in registry.models():
            folder = registry.settings(model).get("watch_folder")
            if folder:
                print(f"{model}: {folder}")
        return ExitCode.OK
    if args.off:
        candidate.watch(registry, args.model, None)
        print(f"{args.model}: no folder is watched.")
        return ExitCode.OK
    if not args.folder:
        raise UsageError("Which folder should DeskML watch?", f"deskml watch '{args.model}' FOLDER")
    candidate.watch(registry, args.model, args.folder)
    print(f"{args.model}: new model files in {args.folder} will become tested candidates.")
    return ExitCode.OK


COMMANDS = {"history": cmd_history, "compare": cmd_compare, "promote": cmd_promote, "rollback": cmd_rollback,
            "ab": cmd_test, "shadow": cmd_test, "end-test": cmd_end_test, "check": cmd_check,
            "report": cmd_report, "watch": cmd_watch}
