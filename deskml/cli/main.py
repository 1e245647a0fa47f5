"""The ``deskml`` command.

    deskml                     open the app
    deskml FILE                open the app with that model file
    deskml --demo              open the app with the demo model
    deskml inspect FILE        say what a model file is, safely (--json for scripts)
    deskml demo                make the demo model and print where it is
    deskml engine              check the container engine and the base image

Errors print one paragraph (what happened, what to do) and exit with the codes
in docs/inspect.md; never a traceback.
"""
from __future__ import annotations

import argparse
import difflib
import json
import logging
import sys
import textwrap
import traceback
from pathlib import Path

from ..core.errors import DeskMLError, ExitCode

SUBCOMMANDS = ("inspect", "demo", "engine")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="deskml", description="Put a scikit-learn model file to work on your own computer, safely.",
        epilog="Without a subcommand, DeskML opens its window (with FILE, if given).")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ins = sub.add_parser("inspect", help="say what a model file is and what it needs, safely",
                         description="Scan a model file for anything unsafe, then open it in a separate, "
                                     "limited process and describe it.")
    ins.add_argument("file", help="a model file (joblib, pickle or skops)")
    ins.add_argument("--json", action="store_true", help="print the facts as JSON (docs/inspect.md)")
    ins.add_argument("--trust", action="append", default=[], metavar="MODULE",
                     help="trust one more Python module the model uses (only if you know it)")
    ins.add_argument("--code", action="append", default=[], metavar="FILE.py",
                     help="the model author's own code, for models that need it")
    ins.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help="time limit for opening the model (default from Settings: 60)")
    ins.add_argument("--memory-gb", type=float, default=None, metavar="GB",
                     help="memory limit for opening the model (default: 3 GB + 10x the file size)")

    demo = sub.add_parser("demo", help="make the demo model and print where it is")
    demo.add_argument("--folder", default=None, help="where to put it (default: DeskML's data folder)")

    eng = sub.add_parser("engine", help="check the container engine and DeskML's base image")
    eng.add_argument("--python", default="3.11", help="Python version of the base image to look for")
    eng.add_argument("--json", action="store_true")
    return p


def _say(text: str) -> None:
    print(textwrap.fill(text, width=100), file=sys.stderr)


def _cmd_inspect(args) -> int:
    from ..core.inspection import LoadLimits, inspect_file
    from ..core.settings import load_settings

    settings, warning = load_settings()
    if warning:
        _say(warning)
    memory_gb = args.memory_gb if args.memory_gb is not None else settings.load_memory_gb
    limits = LoadLimits(seconds=args.timeout or settings.load_timeout_s,
                        memory_bytes=int(memory_gb * 2**30) if memory_gb else None)
    if limits.seconds <= 0:
        raise DeskMLError("The time limit must be more than 0 seconds.", "Use e.g. --timeout 60.")
    info = inspect_file(args.file, trust=args.trust, code=args.code, limits=limits)
    if args.json:
        print(json.dumps({"ok": True, **info.to_dict()}, indent=2, ensure_ascii=False))
    else:
        print(format_info(info))
    return ExitCode.OK


def format_info(info) -> str:
    known = sorted({i.split(".", 1)[0] for i in info.imports})
    lines = [info.file_name,
             f"  Safety      passed: {len(info.imports)} imports checked, all from {', '.join(known)}"]
    if info.trusted:
        lines.append(f"              trusted by you: {', '.join(info.trusted)}")
    model = info.estimator_name
    if info.steps:
        model += ": " + " -> ".join(f"{s['name']} ({s['class']})" for s in info.steps)
    lines += [f"  Model       {model}", f"  What        {info.what[5:] if info.what.startswith('This ') else info.what}"]
    if info.inputs:
        lines.append(f"  Inputs      {len(info.inputs)}" + (" (by position)" if info.positional else ""))
        width = min(28, max(len(str(i["name"])) for i in info.inputs))
        for i in info.inputs[:40]:
            if i.get("categories"):
                extra = ", ".join(map(str, i["categories"][:8])) + (" …" if len(i["categories"]) > 8 else "")
            elif i.get("example") is not None:
                extra = f"e.g. {i['example']}"
            else:
                extra = ""
            lines.append(f"    {str(i['name']):<{width}}  {i['kind']:<9} {extra}")
        if len(info.inputs) > 40:
            lines.append(f"    … and {len(info.inputs) - 40} more")
    saved = info.sklearn_version or "unknown"
    lines.append(f"  Saved with  scikit-learn {saved} (this computer: {info.installed_sklearn_version or 'none'})")
    if info.libraries:
        lines.append("  Libraries   " + ", ".join(info.libraries))
    comp = f" ({info.compression})" if info.compression else ""
    lines.append(f"  File        {info.format}{comp}, {info.size_bytes:,} bytes, SHA-256 {info.sha256}")
    if info.note:
        lines.append("  Note        " + textwrap.fill(info.note, 86, subsequent_indent=" " * 14))
    return "\n".join(lines)


def _cmd_demo(args) -> int:
    from ..core.demo import ensure_demo

    demo = ensure_demo(args.folder)
    print(f"model:          {demo.model}\nreference data: {demo.reference}")
    return ExitCode.OK


def _cmd_engine(args) -> int:
    from ..core.engine import connect, engine_info, image_present
    from ..core.settings import load_settings

    settings, _ = load_settings()
    client = connect(settings.docker_host)
    info = engine_info(client)
    base = settings.base_image_for(args.python)
    present = image_present(client, base)
    if args.json:
        print(json.dumps({"ok": True, "engine": info.__dict__, "base_image": base, "base_image_present": present}))
    else:
        print(f"{info.kind} {info.version} (API {info.api_version}, {info.os}/{info.arch})")
        print(f"base image for Python {args.python}: {base} - " + ("present" if present else
              "not on this computer yet (it is pulled on the first build; offline, see .ci/base-image)"))
    return ExitCode.OK


def _log_path():
    from ..core.paths import data_dir

    d = data_dir() / "logs"
    d.mkdir(exist_ok=True)
    return d / "deskml.log"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "--demo" or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        demo = "--demo" in argv
        files = [a for a in argv if a != "--demo"]
        if len(files) > 1 or (files and not Path(files[0]).expanduser().exists()):
            close = difflib.get_close_matches(files[0], SUBCOMMANDS, n=1)
            _say(f"deskml: '{files[0]}' is neither a file nor a command"
                 + (f" (did you mean 'deskml {close[0]}'?)" if close else "")
                 + f". Commands: {', '.join(SUBCOMMANDS)}; or give one model file to open it in the app.")
            return ExitCode.USAGE
        from ..gui.app import run_app  # the window: Qt is imported only here

        return run_app(file=files[0] if files else None, demo=demo)
    args = _parser().parse_args(argv)
    as_json = getattr(args, "json", False)
    try:
        return {"inspect": _cmd_inspect, "demo": _cmd_demo, "engine": _cmd_engine}[args.command](args)
    except DeskMLError as err:
        if as_json:
            print(json.dumps({"ok": False, "error": err.to_dict()}, indent=2, ensure_ascii=False))
        _say(err.message)
        return err.exit_code
    except KeyboardInterrupt:
        _say("Stopped.")
        return 130
    except Exception:
        path = _log_path()
        with open(path, "a", encoding="utf-8") as f:
            f.write(traceback.format_exc() + "\n")
        logging.getLogger("deskml").debug("internal error", exc_info=True)
        _say(f"DeskML hit an unexpected problem (a bug, not your doing). The details are in {path}; "
             "please send that file to the DeskML developers.")
        return ExitCode.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
