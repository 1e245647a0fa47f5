"""The command line's view of model quality: drift, real outcomes, accuracy."""
from __future__ import annotations

import json

from ..core.errors import ExitCode


def add_parsers(sub) -> None:
    dr = sub.add_parser("drift", help="are these inputs still like the reference data? (CSV or Excel files)")
    dr.add_argument("reference", metavar="REFERENCE", help="the data the model learned from, or data like it")
    dr.add_argument("current", metavar="CURRENT", help="the data to compare with it (for example today's inputs)")
    dr.add_argument("--method", choices=("deskml", "evidently"), default="deskml",
                    help="deskml (the default: honest at small samples) or evidently (Evidently's defaults)")
    dr.add_argument("--json", action="store_true", help="the result as JSON (docs/drift.md)")
    oc = sub.add_parser("outcomes", help="tell DeskML what really happened (a CSV or Excel file of outcomes)")
    oc.add_argument("model", metavar="NAME")
    oc.add_argument("file", metavar="FILE", help="one row per outcome: 'id' (or 'key') and 'actual'")
    oc.add_argument("--json", action="store_true")
    ac = sub.add_parser("accuracy", help="how often the model was right, from real outcomes")
    ac.add_argument("model", metavar="NAME")
    ac.add_argument("--since", default=None, help="predictions since: 1d, 1w, today, a date, all (the default)")
    ac.add_argument("--by", default=None, metavar="FIELD",
                    help="compare groups of an input or a pass-through field (a store, an age band)")
    ac.add_argument("--json", action="store_true")


def cmd_drift(args) -> int:
    from ..core.quality.drift import check
    from ..core.quality.result import to_json
    from ..core.reference import read_table

    result = check(read_table(args.reference), read_table(args.current), method=args.method)
    if args.json:
        print(json.dumps(to_json(result), indent=2, ensure_ascii=False))
        return ExitCode.OK
    for line in report_lines(result):
        print(line)
    return ExitCode.OK


def report_lines(result) -> list[str]:
    """The check as a person reads it: the verdict, then one line per input."""
    if result.method == "evidently":
        head = (f"Evidently's default data drift: {'DRIFT' if result.dataset_drifted else 'no drift'} "
                f"({result.drift_share:.0%} of {len(result.columns)} columns drifted; the data set drifts at 50%).")
    else:
        head = result.summary
    lines = [head, f"Compared {result.rows_current} rows with {result.rows_reference} reference rows.", ""]
    width = max([len(n) for n in result.columns] + [5])
    for name, col in result.columns.items():
        if col.drifted is None:
            verdict = f"not enough data yet (needs {col.needed} rows)"
        else:
            verdict = "DRIFT" if col.drifted else "ok"
        figure = ""
        if col.method:
            shown = f"p={col.p_value:.3g}" if col.p_value is not None else f"distance={col.distance:.3g}"
            figure = f"  [{col.method}, {shown}]"
        words = f"  {col.change}" if result.method == "deskml" and col.change else ""
        lines.append(f"  {name:<{width}}  {verdict}{figure}{words}")
    for name, why in result.skipped.items():
        lines.append(f"  {name:<{width}}  left out: {why}")
    issues = [issue for q in result.quality.values() for issue in q.get("issues", [])]
    if issues:
        lines += ["", "Data quality:"] + [f"  {issue}" for issue in issues]
    return lines


def cmd_outcomes(args) -> int:
    from ..core.monitoring import live, outcomes
    from .monitoring import _context, _known

    settings, registry = _context()
    _known(registry, args.model)
    live.refresh(settings, args.model)  # predictions still in the service's files are read in first
    report = outcomes.add_from_file(live.store(args.model), args.file, source="command")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.words()[0].upper() + report.words()[1:])
    return ExitCode.OK


def cmd_accuracy(args) -> int:
    from ..core.monitoring import live
    from ..core.quality.accuracy import accuracy_report
    from .monitoring import _context, _known, parse_since

    settings, registry = _context()
    _known(registry, args.model)
    live.refresh(settings, args.model)
    from ..core.quality import calibration, groups

    store = live.store(args.model)
    since = parse_since(args.since, None)
    report = accuracy_report(store, since=since)
    calib = calibration.from_outcomes(store, since=since) if report.task == "classification" else None
    by = groups.compare_groups(groups.group_rows(store, args.by, since), args.by) if args.by else None
    estimate = _estimate(settings, registry, args.model, store)
    if args.json:
        doc = report.to_dict()
        doc["calibration"] = calib.to_dict() if calib else None
        doc["groups"] = by.to_dict() if by else None
        doc["estimate"] = estimate.to_dict() if estimate is not None else None
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return ExitCode.OK
    print(report.summary)
    if estimate is not None:
        print(f"Before outcomes: {estimate.summary}")
        if estimate.check:
            print(f"  {estimate.check['words']}")
    percent = report.task == "classification"
    for name, figure in report.figures.items():
        print(f"  {name.upper() if len(name) <= 4 else name}: {figure.words(percent)}")
    for c, figs in report.per_class.items():
        print(f"  class {c!r}: precision {figs['precision'].words()}, recall {figs['recall'].words()}, "
              f"F1 {figs['f1'].words()}")
    if report.by_version:
        print("By version:")
        main = "accuracy" if percent else "mae"
        for v, figs in report.by_version.items():
            print(f"  {v}: {figs[main].words(percent)}")
    if calib is not None and calib.n:
        print(f"Calibration: {calib.summary}" + (f" Brier score {calib.brier:.3f}." if calib.brier is not None else ""))
    if by is not None:
        print(f"By {args.by}: {by.summary}")
        for g in by.groups:
            figure = (f"right {g.accuracy['value']:.0%}" if g.accuracy and g.accuracy.get("value") is not None
                      else f"off by {g.mae:.3g}" if g.mae is not None else "too small to judge")
            print(f"  {g.name}: {figure} ({g.n} outcomes)")
    if report.unreadable:
        print(f"{report.unreadable} outcomes could not be compared with their prediction (a text for a number).")
    return ExitCode.OK


def _estimate(settings, registry, model: str, store):
    """The estimate before outcomes, for a classifier (None for a model of numbers)."""
    from ..core.quality.view import estimate_for_model

    version = registry.get(model, registry.live_version(model))
    if (version.info or {}).get("task") != "classification":
        return None
    return estimate_for_model(settings, registry, model, store)


COMMANDS = {"drift": cmd_drift, "outcomes": cmd_outcomes, "accuracy": cmd_accuracy}
