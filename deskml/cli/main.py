"""The ``deskml`` command.

    deskml                     open the app
    deskml FILE                open the app with that model file
    deskml --demo              open the app with the demo model
    deskml --self-test         check an installed DeskML works (offscreen; exit 0 when it does)
    deskml inspect FILE        say what a model file is, safely (--json for scripts)
    deskml demo                make the demo model and print where it is
    deskml engine              check the container engine and the base image
    deskml drift REF CUR       are these inputs still like the reference data? (docs/drift.md)
    deskml outcomes NAME FILE  tell DeskML what really happened; deskml accuracy NAME: how often it was right
    deskml history NAME        the audit log of a model's versions
    deskml check NAME[:VER]    the pre-release check of a version (edge cases, load, agreement)
    deskml report NAME -o F    a one-page PDF report of a model
    deskml watch NAME FOLDER   new model files put there become tested candidates
    deskml export NAME --to T  files to run it on Kubernetes, KServe, Compose or Swarm (or an image archive)
    deskml push NAME REF       push a version's image to your registry

Errors print one paragraph (what happened, what to do) and exit with the codes
in docs/inspect.md; never a traceback.
"""
from __future__ import annotations

import argparse
import difflib
import json
import time
import logging
import sys
import textwrap
import traceback
from pathlib import Path

from ..core.errors import DeskMLError, ExitCode, NotFound, UsageError

SUBCOMMANDS = ("inspect", "build", "run", "stop", "status", "logs", "predict", "score", "monitor", "journal",
               "alerts", "erase", "privacy", "resume", "demo", "engine", "drift", "outcomes",
               "accuracy", "history", "compare", "promote", "rollback", "ab", "shadow", "end-test", "check", "report", "watch",
               "export", "push")


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

    b = sub.add_parser("build", help="package a model file into an image (a new version)")
    b.add_argument("file", help="the model file")
    b.add_argument("--name", required=True, help="the model's name, e.g. 'Returning customers'")
    b.add_argument("--version", default=None, help="a version name (default: the next number)")
    b.add_argument("--reference", default=None, metavar="DATA.csv", help="data like the data the model learned from")
    b.add_argument("--code", action="append", default=[], metavar="FILE.py", help="the model author's own code")
    b.add_argument("--trust", action="append", default=[], metavar="MODULE")
    b.add_argument("--candidate", action="store_true",
                   help="then start it beside the live version, check it, and put it in a shadow test (the model "
                        "must exist); you approve the promotion")

    r = sub.add_parser("run", help="start a model's service at a stable local address")
    r.add_argument("model", metavar="NAME[:VERSION]")
    r.add_argument("--port", type=int, default=None)
    r.add_argument("--lan", action="store_true",
                   help="let other computers on your network use it (needs the API key it prints)")

    st = sub.add_parser("stop", help="stop a model's service")
    st.add_argument("model", metavar="NAME")
    ss = sub.add_parser("status", help="which models run, where, and how they are")
    ss.add_argument("--json", action="store_true")
    lg = sub.add_parser("logs", help="the last lines a model's service wrote")
    lg.add_argument("model", metavar="NAME")
    lg.add_argument("--tail", type=int, default=200)

    pr = sub.add_parser("predict", help="ask a running model for a prediction")
    pr.add_argument("model", metavar="NAME")
    pr.add_argument("--input", required=True, metavar="JSON",
                    help="one row as JSON ('{\"age\": 31, ...}'), a list of rows, or @FILE.json")
    sc = sub.add_parser("score", help="score a CSV file through a running model")
    sc.add_argument("model", metavar="NAME")
    sc.add_argument("csv", metavar="IN.csv")
    sc.add_argument("-o", "--output", required=True, metavar="OUT.csv")

    demo = sub.add_parser("demo", help="make the demo model and print where it is")
    demo.add_argument("--folder", default=None, help="where to put it (default: DeskML's data folder)")

    from . import grow, monitoring, quality, versions
    monitoring.add_parsers(sub)
    quality.add_parsers(sub)
    versions.add_parsers(sub)
    grow.add_parsers(sub)

    eng = sub.add_parser("engine", help="check the container engine and DeskML's base image")
    eng.add_argument("--python", default="3.11", help="Python version of the base image to look for")
    eng.add_argument("--json", action="store_true")
    return p


def _say(text: str) -> None:
    print(textwrap.fill(text, width=100), file=sys.stderr)


def _cmd_inspect(args) -> int:
    from ..core.intake.inspection import LoadLimits, inspect_file
    from ..core.settings import load_settings

    settings, warning = load_settings()
    if warning:
        _say(warning)
    memory_gb = args.memory_gb if args.memory_gb is not None else settings.load_memory_gb
    limits = LoadLimits(seconds=args.timeout or settings.load_timeout_s,
                        memory_bytes=int(memory_gb * 2**30) if memory_gb else None)
    if limits.seconds <= 0:
        raise UsageError("The time limit must be more than 0 seconds.", "Use e.g. --timeout 60.")
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
            if not i.get("used", True):
                lines.append(f"    {str(i['name']):<{width}}  not used by the model")
                continue
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


def _progress(event) -> None:
    """A one-line progress bar on stderr, with the current step in words."""
    width = 30
    done = int(width * event.step / max(event.total, 1))
    if event.message:
        sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {event.step}/{event.total} "
                         f"{event.message[:60]:<60}")
        sys.stderr.flush()


def _cmd_build(args) -> int:
    from ..core import services
    from ..core.intake.inspection import inspect_file
    from ..core.registry import Registry
    from ..core.settings import load_settings

    settings, _ = load_settings()
    if args.reference and not Path(args.reference).is_file():
        raise NotFound(f"There is no reference data file at {args.reference}.", "Check the name and folder.")
    if args.candidate:
        from ..core.experiments.candidate import candidate

        registry = Registry()
        registry.get(args.name)  # a candidate is a new version of a model that exists
        result = candidate(settings, registry, args.name, args.file, args.reference, args.trust, args.code,
                           progress=lambda words: print(f"  {words}", flush=True))
        print(("" if result.ok else "FAILED: ") + result.words)
        return ExitCode.OK if result.ok else ExitCode.CHECK_FAILED
    info = inspect_file(args.file, trust=args.trust, code=args.code)
    events = services.package(settings, Registry(), info, args.name, args.version, reference=args.reference,
                              code_files=args.code)
    why = None
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            version = stop.value
            break
        if event.message.startswith("Python "):
            why = event.message
        if event.note:
            _say(event.message)
        else:
            _progress(event)
    if version.tag:
        sys.stderr.write("\n")
        print(f"Built {version.model} version {version.version}: {version.tag}")
        if why:
            print(why)
    else:
        print(f"Recorded {version.model} version {version.version} (local process)")
    print(f"Start it with: deskml run {_quote(version.model)}")
    return ExitCode.OK


def _quote(name: str) -> str:
    return f"'{name}'" if " " in name else name


def _split_ref(ref: str) -> tuple[str, str | None]:
    name, sep, version = ref.rpartition(":")
    return (name, version) if sep and name else (ref, None)


def _cmd_run(args) -> int:
    from ..core import services
    from ..core.registry import Registry
    from ..core.settings import load_settings

    settings, _ = load_settings()
    name, version = _split_ref(args.model)
    registry = Registry()
    running = services.start(settings, registry, name, version, port=args.port, lan=args.lan)
    if running.note:
        _say(running.note)
    print(f"{name} version {running.version} is running at {running.url}")
    if args.lan:
        print(f"Other computers on your network can use it at port {running.port} with the header "
              f"'Authorization: Bearer {registry.api_key(name)}'. Keep this key private.")
    return ExitCode.OK


def _cmd_stop(args) -> int:
    from ..core import services
    from ..core.settings import load_settings

    from ..core.registry import Registry

    settings, _ = load_settings()
    registry = Registry()
    registry.get(args.model)
    print(f"Stopped {args.model}." if services.stop(settings, args.model, registry) else f"{args.model} was not running.")
    return ExitCode.OK


def _cmd_status(args) -> int:
    from ..core import services
    from ..core.settings import load_settings

    from dataclasses import asdict

    from ..core.registry import Registry

    settings, _ = load_settings()
    items = services.all_services(settings)
    models = services.overview(settings, Registry())
    behind = {m.model: services.behind(settings, m.model) for m in models if m.url}
    if args.json:
        print(json.dumps({"ok": True, "services": [r.to_dict() for r in items],
                          "models": [{**asdict(m), "behind": behind.get(m.model, [])} for m in models]}, indent=2))
    elif not models:
        print("No models yet. Package one with: deskml build FILE --name NAME")
    else:
        width = min(28, max(len(m.model) for m in models))
        for m in models:
            version = m.running_version or m.version
            print(f"{m.model:<{width}}  version {version:<6} {m.detail:<44} {m.url}".rstrip())
            if len(behind.get(m.model) or []) > 1:
                print(f"{'':<{width}}  behind {m.url}: {behind_words(behind[m.model])}")
        if not any(m.state == "running" for m in models):
            print("No model is running. Start one with: deskml run NAME")
    return ExitCode.OK


def behind_words(items: list[dict]) -> str:
    """"version 2 (live, 90%), version 3 (A/B, 10%)" for ``services.behind``."""
    words = []
    for b in items:
        if b["role"] == "live":
            how = "live" + (f", {b['share']:.0%}" if b["share"] < 1 else "")
        elif b["role"] == "challenger":
            how = f"A/B, {b['share']:.0%}"
        elif b["role"] == "shadow":
            how = "shadow: answers copies, never sent back"
        else:
            how = f"kept ready for a roll back until {time.strftime('%H:%M', time.localtime(b['until']))}"
        state = "" if b["state"] == "running" else f", {b['state']}"
        words.append(f"version {b['version']} ({how}{state})")
    return ", ".join(words)


def _cmd_logs(args) -> int:
    from ..core import services
    from ..core.settings import load_settings

    settings, _ = load_settings()
    print(services.logs(settings, args.model, args.tail), end="")
    return ExitCode.OK


def _service_url(name: str) -> str:
    from ..core import services
    from ..core.settings import load_settings

    return services.url_of(load_settings()[0], name)


def _cmd_predict(args) -> int:
    from ..core import client

    text = args.input
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise NotFound(f"Cannot read {text[1:]}: {exc.strerror}.", "Check the file name.") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--input is not valid JSON ({exc}).",
                         'Write one row like \'{"age": 31, "store": "Centre"}\'.') from None
    rows = doc if isinstance(doc, list) else [doc]
    print(json.dumps(client.predict(_service_url(args.model), rows), indent=2, ensure_ascii=False))
    return ExitCode.OK


def _cmd_score(args) -> int:
    from ..core import client

    url = _service_url(args.model)

    def progress(done, total):
        width = 30
        n = int(width * done / max(total, 1))
        sys.stderr.write(f"\r[{'#' * n}{'.' * (width - n)}] {done / 1e6:.1f} of {total / 1e6:.1f} MB sent")
        sys.stderr.flush()

    rows = client.score_csv(url, Path(args.csv), Path(args.output), progress)
    sys.stderr.write("\n")
    print(f"Scored {rows:,} rows into {args.output}")
    return ExitCode.OK


def _cmd_demo(args) -> int:
    from ..core.demo import ensure_demo

    demo = ensure_demo(args.folder)
    print(f"model:          {demo.model}\nreference data: {demo.reference}")
    return ExitCode.OK


def _cmd_engine(args) -> int:
    from ..core.runtimes.engine import connect, engine_info, image_present
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
    if argv[:1] == ["--self-test"]:
        from ..gui.app import self_test

        return self_test()
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
    from . import grow, monitoring, quality, versions

    args = _parser().parse_args(argv)
    as_json = getattr(args, "json", False)
    from ..core import services

    services.on_wait = lambda model: _say(f"Waiting: {model} is being started or stopped by something else "
                                          "(the app, or another command). This goes on once that is done.")
    try:
        return {"inspect": _cmd_inspect, "build": _cmd_build, "run": _cmd_run, "stop": _cmd_stop,
                "status": _cmd_status, "logs": _cmd_logs, "predict": _cmd_predict, "score": _cmd_score,
                "demo": _cmd_demo, "engine": _cmd_engine, **monitoring.COMMANDS, **quality.COMMANDS,
                **versions.COMMANDS, **grow.COMMANDS}[args.command](args)
    except DeskMLError as err:
        if as_json:
            print(json.dumps({"ok": False, "error": err.to_dict()}, indent=2, ensure_ascii=False))
        _say(err.message)
        return err.exit_code
    except KeyboardInterrupt:
        _say("Stopped.")
        return 130
    except BrokenPipeError:  # the reader stopped reading (deskml status | head): not a failure
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
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
