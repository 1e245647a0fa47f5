"""Start the serving app: ``python -m deskml.server --model FILE [options]``.

In a model image this package is copied on its own (as ``deskml_server``) and
started the same way. The model file was scanned on the host before it got
here; this process loads it, predicts one example row as a self-test, and only
then starts answering.
"""
import argparse
import os
import sys
from pathlib import Path

from . import contract


def _import_code(code_dir):
    """Make the author's modules importable, and their classes visible as __main__'s
    too (a model pickled from the author's script names its classes __main__.X)."""
    import importlib

    sys.path.insert(0, str(code_dir))
    main = sys.modules["__main__"]
    for py in sorted(Path(code_dir).glob("*.py")):
        module = importlib.import_module(py.stem)
        for key, value in vars(module).items():
            if not key.startswith("_") and not hasattr(main, key):
                setattr(main, key, value)


def load_model(path, code_dir=None, skops_trusted=None):
    """Load the model file. A .skops file trusts only the types the host's policy accepted
    (``skops_trusted``: a JSON list next to the model), never every type the file names."""
    if code_dir:
        _import_code(code_dir)
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        import json

        import skops.io as sio
        trusted = json.loads(Path(skops_trusted).read_text()) if skops_trusted else []
        return sio.load(path, trusted=trusted)
    import joblib  # reads plain pickles too
    return joblib.load(path)


class StartFailed(Exception):
    """The service could not start: the stage it reached, and why (in the model's own words)."""

    def __init__(self, stage, exc):
        super().__init__(f"{stage}: {type(exc).__name__}: {exc}")
        self.stage = stage
        self.exc = exc


def report_start_failure(failure):
    """One line the host reads in the service's log (see contract.START_FAILED), then the traceback."""
    import json
    import traceback

    exc = failure.exc
    print(contract.START_FAILED + json.dumps({"stage": failure.stage, "type": type(exc).__name__,
                                              "message": str(exc)[:1000]}), file=sys.stderr, flush=True)
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="deskml-server")
    ap.add_argument("--model", required=True)
    ap.add_argument("--name", default="model")
    ap.add_argument("--version", default="1")
    # the environment can say where to listen (a container on the host's network, Kubernetes)
    ap.add_argument("--host", default=os.environ.get(contract.ENV_HOST, "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get(contract.ENV_PORT, contract.SERVER_PORT)))
    ap.add_argument("--code-dir", default=None, help="folder with the model author's .py files")
    ap.add_argument("--skops-trusted", default=None, metavar="TYPES.json",
                    help="the types a .skops file may use, as accepted by DeskML's policy")
    ap.add_argument("--journal", default=os.environ.get(contract.ENV_JOURNAL, "off"), metavar="FOLDER|-|off",
                    help="keep the prediction journal in FOLDER (read by DeskML on the host), on standard output, "
                         "or not at all")
    ap.add_argument("--score", default=None, metavar="ROWS.json|-",
                    help="predict these rows, print the answers and exit: no port, no journal (score.py)")
    ap.add_argument("--api-key-env", default=contract.ENV_API_KEY,
                    help="environment variable holding the API key (required when not on 127.0.0.1)")
    return ap.parse_args(argv)


def main(argv=None, load=None):
    """Start the service. ``load(args)`` returns the model (the host's local-process runtime
    loads it with DeskML's restricted unpickler); by default the file is loaded as is."""
    args = parse_args(argv)
    if args.score:
        return score_rows(args, load)
    api_key = os.environ.get(args.api_key_env) or None
    # Inside a container 0.0.0.0 is the container's own network; the host
    # publishes the port on 127.0.0.1 unless the user opted in (with a key).
    in_container = os.environ.get(contract.ENV_IN_CONTAINER) == "1"
    if args.host not in ("127.0.0.1", "localhost", "::1") and not api_key and not in_container:
        print(f"refusing to listen on {args.host} without an API key (set {args.api_key_env})", file=sys.stderr)
        return 2
    try:
        app = prepare(args, api_key, load)
    except StartFailed as failure:
        report_start_failure(failure)
        return contract.EXIT_START_FAILED

    from .app import MAX_BODY
    from .http import run
    run(app, args.host, args.port, MAX_BODY)
    return 0


def score_rows(args, load=None):
    """``--score``: load and describe the model as for serving, then predict the given rows."""
    from . import score
    from .service import ModelService

    try:
        model = load(args) if load else load_model(args.model, args.code_dir, args.skops_trusted)
        service = ModelService(model, args.name, args.version)
        return score.main(service, args.score)
    except Exception as exc:
        report_start_failure(StartFailed("score", exc))
        return contract.EXIT_START_FAILED


def prepare(args, api_key=None, load=None):
    """Load, describe and self-test the model: the App, or StartFailed naming the stage."""
    try:  # inputs are checked (finite numbers) before they reach the model
        import sklearn
        sklearn.set_config(assume_finite=True)
    except (ImportError, TypeError):
        pass
    try:
        model = load(args) if load else load_model(args.model, args.code_dir, args.skops_trusted)
    except Exception as exc:
        raise StartFailed("load", exc) from None
    from .app import App
    from .journal import Journal
    from .service import ModelService

    try:
        service = ModelService(model, args.name, args.version)
        journal = Journal.open(args.journal, args.name, args.version, service.names, service.classes, service.task)
        app = App(service, api_key=api_key, journal=journal)
    except Exception as exc:
        raise StartFailed("describe", exc) from None
    try:
        app.start()  # the self-test: a model that cannot predict its example row never reports healthy
    except Exception as exc:
        raise StartFailed("self-test", exc) from None
    return app


if __name__ == "__main__":
    sys.exit(main())
