"""The child process that opens a model file after the static scan passed it.

Run as ``python -m deskml.core.intake._loadchild REQUEST.json``. It caps its own
memory and CPU time, loads the file with an unpickler whose ``find_class``
applies the same allow-list as the scan (and checks where each object really
comes from), describes the model and writes a JSON result file. The parent
never unpickles anything itself: whatever this process does, the app survives.
"""
from __future__ import annotations

import importlib.util
import io
import json
import pickle
import sys
import traceback
import warnings
from pathlib import Path


class RefusedImport(Exception):
    def __init__(self, module, name, reason):
        super().__init__(f"{module}.{name}")
        self.module, self.name, self.reason = module, name, reason


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's time limit still applies
        return
    for which, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu_seconds)):
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass


def _load_code(files):
    """Import the user's --code files as modules named after them; their names
    also stand in for classes pickled from __main__."""
    main_ns = {}
    for f in files:
        path = Path(f)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        main_ns.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return main_ns


def _make_find_class(policy, main_ns, base_find_class):
    from .policy import CLASSES_NAMED_LIKE_FUNCTIONS, Verdict

    def find_class(module, name):
        j = policy.judge(module, name)
        if j.verdict in (Verdict.DANGEROUS, Verdict.UNTRUSTED, Verdict.CUSTOM):
            raise RefusedImport(j.module, j.name, j.reason)
        if j.module == "__main__":
            if name not in main_ns:
                raise RefusedImport(module, name, "not defined in the code you supplied")
            return main_ns[name]
        obj = base_find_class(j.module, j.name)
        if not policy.allows_resolved(j.module, obj):
            raise RefusedImport(j.module, j.name, "is really " + str(getattr(obj, "__module__", "?")))
        if (j.module, j.name) in CLASSES_NAMED_LIKE_FUNCTIONS and not isinstance(obj, type):
            raise RefusedImport(j.module, j.name, "is a function here, not the class the file may call")
        return obj

    return find_class


def load_model(req, policy, main_ns):
    path = req["path"]
    fmt = req["format"]
    if fmt == "skops":
        import skops.io as sio
        return sio.load(path, trusted=req["skops_trusted"])
    from .modelfile import open_stream
    if fmt == "joblib":
        from joblib.numpy_pickle import NumpyUnpickler as Base
    else:
        Base = pickle.Unpickler

    class Restricted(Base):
        def find_class(self, module, name):
            return checked(module, name)

    checked = _make_find_class(policy, main_ns, lambda m, n: pickle.Unpickler.find_class(probe, m, n))
    probe = pickle.Unpickler(io.BytesIO(b""))
    with open_stream(Path(path), req.get("compression")) as fobj:
        if fmt == "joblib":
            try:
                u = Restricted(path, fobj, True, mmap_mode=None)
            except TypeError:  # joblib before 1.5 has no ensure_native_byte_order
                u = Restricted(path, fobj, mmap_mode=None)
        else:
            u = Restricted(fobj)
        return u.load()


def _versions():
    out = {}
    from importlib import metadata
    # xgboost may be installed as its CPU build, xgboost-cpu: the same import package
    for name, dists in (("scikit-learn", ["scikit-learn"]), ("numpy", ["numpy"]), ("scipy", ["scipy"]),
                        ("joblib", ["joblib"]), ("xgboost", ["xgboost", "xgboost-cpu"]), ("lightgbm", ["lightgbm"]),
                        ("imbalanced-learn", ["imbalanced-learn"])):
        for dist in dists:
            try:
                out[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                pass
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    req = json.loads(Path(argv[0]).read_text())
    _limit_resources(req["memory_bytes"], req["cpu_seconds"])
    result_path = Path(req["result"])
    result = {"ok": False}
    try:
        from .policy import Policy
        main_ns = _load_code(req.get("code", []))
        policy = Policy(req.get("trusted", []), [Path(c).stem for c in req.get("code", [])])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obj = load_model(req, policy, main_ns)
        if not any(hasattr(obj, a) for a in ("predict", "transform", "fit_predict", "score_samples")):
            result = {"ok": False, "error": "not-a-model", "type": type(obj).__module__ + "." + type(obj).__qualname__}
        else:
            from ...server.introspect import describe
            result = {"ok": True, "description": describe(obj),
                      "warnings": [str(w.message)[:300] for w in caught][:5]}
    except RefusedImport as exc:
        result = {"ok": False, "error": "refused", "module": exc.module, "name": exc.name, "reason": exc.reason}
    except ModuleNotFoundError as exc:
        result = {"ok": False, "error": "missing-module", "module": exc.name or str(exc)}
    except MemoryError:
        result = {"ok": False, "error": "memory"}
    except BaseException as exc:  # the file is hostile or damaged: report it, whatever it is
        result = {"ok": False, "error": "load", "type": type(exc).__name__, "message": str(exc)[:500],
                  "traceback": traceback.format_exc()[-4000:]}
    result["versions"] = _versions()
    result_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
