"""The service of the local-process runtime: ``python -m deskml.core.runtimes.serve_local``.

Where no container engine runs a model, its service runs on this computer in this
Python, with no container around it. So the model file is loaded here the way the
inspection child loads it: after checking that it is still the file that was
checked (its SHA-256), with DeskML's restricted unpickler, which judges every
import against the same allow-list as the static scan. Then the same serving app
as in an image answers (``deskml.server``).

    python -m deskml.core.runtimes.serve_local --sha256 HEX --format joblib
        [--compression gzip] [--trust MODULE]... [--code FILE.py]... -- SERVER ARGUMENTS
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parse(argv):
    ap = argparse.ArgumentParser(prog="deskml-serve-local")
    ap.add_argument("--sha256", required=True, help="the SHA-256 the inspected file had")
    ap.add_argument("--format", required=True, choices=("joblib", "pickle", "skops"))
    ap.add_argument("--compression", default=None)
    ap.add_argument("--trust", action="append", default=[])
    ap.add_argument("--code", action="append", default=[])
    ours, server_argv = _split(argv)
    return ap.parse_args(ours), server_argv


def _split(argv):
    """(our arguments, the serving app's): they are separated by '--'."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    i = argv.index("--")
    return argv[:i], argv[i + 1:]


def restricted_loader(opts):
    """``load(args)`` for the serving app: check the bytes, then unpickle under the policy."""
    def load(args):
        import json

        from ..intake._loadchild import RefusedImport, _load_code, load_model
        from ..intake.modelfile import file_facts
        from ..intake.policy import Policy

        path = Path(args.model)
        _, sha = file_facts(path)
        if sha != opts.sha256:
            raise RuntimeError(f"{path.name} in DeskML's data folder is not the file that was checked when this "
                               "version was made (its SHA-256 differs); package the model again")
        main_ns = _load_code(opts.code)
        policy = Policy(opts.trust, [Path(c).stem for c in opts.code])
        skops = json.loads(Path(args.skops_trusted).read_text()) if args.skops_trusted else []
        req = {"path": str(path), "format": opts.format, "compression": opts.compression,
               "skops_trusted": skops}
        try:
            return load_model(req, policy, main_ns)
        except RefusedImport as exc:
            raise RuntimeError(f"the file asked for {exc.module}.{exc.name} while loading ({exc.reason}), "
                               "which DeskML refuses") from None
    return load


def main(argv=None) -> int:
    from ...server.__main__ import main as serve

    opts, server_argv = _parse(sys.argv[1:] if argv is None else argv)
    return serve(server_argv, load=restricted_loader(opts))


if __name__ == "__main__":
    sys.exit(main())
