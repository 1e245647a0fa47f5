"""The command line's view of model quality: drift (and, later, outcomes and accuracy)."""
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


COMMANDS = {"drift": cmd_drift}
