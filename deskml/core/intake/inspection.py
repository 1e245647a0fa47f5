"""Inspect a model file: scan it statically, then load it in a child process.

``inspect_file(path)`` is what ``deskml inspect`` and the app's first page
call. It never unpickles in this process:

1. check the file can be read; size and SHA-256;
2. recognise the format by content (:mod:`.modelfile`);
3. scan every opcode statically (:mod:`.picklescan`) and judge every import
   against the allow-list (:mod:`.policy`) -> refuse, or ask for code;
4. load the file in a child process with a time limit and a memory cap
   (:mod:`._loadchild`) and describe it; if this computer's scikit-learn cannot
   load it, describe it from the scan alone.

The result is a :class:`ModelInfo`, the one data class the CLI (``--json``),
the GUI and the build use.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import modelfile, picklescan
from ..errors import LoadFailed, NeedsCode, NotAModelFile, UnsafeModelFile
from .model_info import ModelInfo
from .policy import KNOWN_LIBRARIES, Policy, Verdict, judge_call, top_package

@dataclass
class LoadLimits:
    seconds: float = 60.0
    memory_bytes: int | None = None  # default: 3 GiB + 10 x the file size

    def memory_for(self, size: int) -> int:
        return self.memory_bytes or (3 << 30) + 10 * size


# --------------------------------------------------------------------------
# step 3: the static scan


@dataclass
class StaticScan:
    format: str
    compression: str | None
    protocol: int | None
    refs: list            # [(module, name)]
    sklearn_version: str | None
    top: object = None    # picklescan value of the top object (pickle formats)
    calls: list = field(default_factory=list)   # ["module.name"] the file calls or instantiates
    skops_types: list = field(default_factory=list)


def scan_file(path: Path, sniffed: modelfile.Sniffed, policy: Policy | None = None) -> StaticScan:
    if sniffed.format == "skops":
        return _scan_skops(path)
    try:
        with modelfile.open_stream(path, sniffed.compression) as stream:
            res = picklescan.scan_stream(stream)
    except picklescan.ScanError as exc:
        if exc.partial is not None and exc.partial.refs:
            # imports seen before the damage are judged first: a payload
            # followed by garbage is a threat, not just a broken file
            partial = StaticScan("pickle", sniffed.compression, exc.partial.protocol,
                                 list(exc.partial.refs), None, calls=list(exc.partial.calls))
            judge(path, partial, policy or Policy(), strict=True)
        raise _scan_error(path, sniffed, exc) from None
    except modelfile.decompression_errors() as exc:
        raise NotAModelFile(
            f"{path.name} is compressed but its data is damaged or cut short.",
            "The copy or download probably failed: ask for the file again.", details=str(exc)) from None
    refs = list(res.refs)
    fmt = "joblib" if any(n == "NumpyArrayWrapper" for _, n in refs) or sniffed.compression else "pickle"
    return StaticScan(fmt, sniffed.compression, res.protocol, refs, res.sklearn_version, res.top,
                      calls=list(res.calls))


def _scan_error(path: Path, sniffed: modelfile.Sniffed, exc: picklescan.ScanError):
    name = path.name
    if exc.unsafe_feature:
        return UnsafeModelFile(
            f"DeskML did not open {name}: {exc}, which a scikit-learn model never needs "
            "and which could hide code that runs on your computer.",
            "Ask the sender for a clean copy saved with joblib.dump or skops.",
            details=str(exc))
    if not sniffed.compression and (exc.partial is None or exc.partial.opcodes <= 2):
        # stopped at the first bytes: text that happens to start like a pickle
        with open(path, "rb") as f:
            kind = modelfile.describe_text(f.read(64 * 1024))
        if kind:
            return NotAModelFile(
                f"{name} is {kind}, not a model file.",
                "Choose the model file itself (it usually ends in .joblib, .pkl or .skops). "
                + modelfile.DEPLOYS_SKLEARN)
    if exc.truncated:
        return NotAModelFile(
            f"{name} is cut short: it ends before the model is complete.",
            "It probably did not finish copying or downloading: ask for the file again.",
            details=str(exc))
    return NotAModelFile(
        f"{name} is not a model file DeskML can read: its content is damaged or of another kind.",
        "Check that you chose the right file; if so, ask for it again. " + modelfile.DEPLOYS_SKLEARN,
        details=str(exc))


def _scan_skops(path: Path) -> StaticScan:
    try:
        with zipfile.ZipFile(path) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise NotAModelFile(f"{path.name} is a damaged skops file.",
                            "Ask for the file again.", details=str(exc)) from None
    refs, versions, types = [], [], []

    def walk(node):
        if isinstance(node, dict):
            mod, cls = node.get("__module__"), node.get("__class__")
            if isinstance(mod, str) and isinstance(cls, str):
                refs.append((mod, cls))
                types.append(f"{mod}.{cls}")
            v = node.get("_sklearn_version")
            if isinstance(v, dict) and isinstance(v.get("content"), str):
                try:
                    versions.append(json.loads(v["content"]))
                except ValueError:
                    pass
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    top = (schema.get("__module__"), schema.get("__class__")) if isinstance(schema, dict) else None
    version = max(set(versions), key=versions.count) if versions else None
    scan = StaticScan("skops", None, None, list(dict.fromkeys(refs)), version,
                      top=picklescan.Built(picklescan.Ref(*top), ()) if top and all(top) else None)
    scan.skops_types = sorted(set(types))
    return scan


# --------------------------------------------------------------------------
# step 3b: judge the imports

def judge(path: Path, scan: StaticScan, policy: Policy, strict: bool = False, dangerous_only: bool = False):
    """Refuse the file, or ask for code, or return the known libraries it uses.
    strict: judge a damaged file's partial scan: only refusals matter.
    dangerous_only: refuse only what is dangerous (the first pass)."""
    dangerous, untrusted, custom, libs = [], [], [], {}
    for module, name in scan.refs:
        j = policy.judge(module, name)
        if j.verdict == Verdict.DANGEROUS:
            dangerous.append(j)
        elif j.verdict == Verdict.UNTRUSTED:
            untrusted.append(j)
        elif j.verdict == Verdict.CUSTOM:
            custom.append(j)
        elif j.verdict == Verdict.KNOWN_LIB:
            libs[KNOWN_LIBRARIES[top_package(j.module)]] = None
    for dotted in scan.calls:
        module, _, name = dotted.rpartition(".")
        j = judge_call(module, name)
        if j is not None and j not in dangerous:
            dangerous.append(j)
    name = path.name
    if dangerous:
        listed = "; ".join(f"{j.dotted} ({j.reason})" for j in dangerous[:4])
        more = f" and {len(dangerous) - 4} more" if len(dangerous) > 4 else ""
        raise UnsafeModelFile(
            f"DeskML did not open {name}: it tries to import {listed}{more}. "
            "A scikit-learn model never needs that, and opening the file could harm your computer.",
            "Delete the file, or ask the sender for a clean copy of the model.",
            details="\n".join(f"{j.dotted}: {j.reason}" for j in dangerous),
            offenders=[j.dotted for j in dangerous])
    if dangerous_only:
        return libs
    if untrusted:
        mods = sorted({top_package(j.module) for j in untrusted})
        raise UnsafeModelFile(
            f"DeskML did not open {name}: it uses {', '.join(j.dotted for j in untrusted[:4])} "
            f"from {', '.join(mods)}, a library DeskML does not know.",
            "If you know this library and trust where the file comes from, open it again with "
            + " ".join(f"--trust {m}" for m in mods) + ".",
            offenders=[j.dotted for j in untrusted], trustable=mods,
            app_hint="If you know this library and trust where the file comes from, use the Trust button. "
                     "Otherwise, ask the sender which library the model was made with.")
    if custom and not strict:
        missing = [j.dotted for j in custom]
        mods = sorted({top_package(j.module) for j in custom})
        where = ("the author's own script (it was saved from __main__)" if mods == ["__main__"]
                 else "the author's own module " + ", ".join(m for m in mods if m != "__main__"))
        classes = ", ".join(j.name for j in custom[:5])
        raise NeedsCode(
            f"{name} needs Python code that is not on this computer: {classes}, from {where}.",
            "Ask the author for the .py file that defines it and add it with --code FILE.py. "
            "DeskML will use the same file in the build.",
            missing=missing,
            app_hint="Ask the author for the .py file that defines it, then choose it with "
                     "Add the model's code. DeskML will use the same file when it packages the model.")
    return libs


# --------------------------------------------------------------------------
# step 4: load in a child process

def _child_env() -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def _child_command() -> list[str]:
    return [sys.executable, "-m", "deskml.core.intake._loadchild"]


def load_in_child(path: Path, scan: StaticScan, policy: Policy, code: list[Path],
                  limits: LoadLimits, size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="deskml-inspect-") as tmp:
        req = {
            "path": str(path), "format": scan.format, "compression": scan.compression,
            "trusted": sorted(policy.trusted), "code": [str(c) for c in code],
            "skops_trusted": scan.skops_types,
            "memory_bytes": limits.memory_for(size),
            "cpu_seconds": int(limits.seconds) + 5,
            "result": str(Path(tmp) / "result.json"),
        }
        (Path(tmp) / "request.json").write_text(json.dumps(req))
        try:
            proc = subprocess.run(_child_command() + [str(Path(tmp) / "request.json")],
                                  env=_child_env(), cwd=tmp, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            raise LoadFailed(
                f"Opening {path.name} took longer than {limits.seconds:g} seconds, so DeskML stopped it.",
                "A very large model may need more time: raise the time limit in Settings "
                "(or --timeout). If the file is small, it may be damaged.") from None
        result_file = Path(req["result"])
        if not result_file.exists():
            tail = proc.stderr.decode("utf-8", "replace")[-2000:]
            if "MemoryError" in tail or proc.returncode in (-9,):
                raise _memory_error(path, req["memory_bytes"], tail)
            raise LoadFailed(
                f"Opening {path.name} crashed the separate process DeskML opens models in "
                f"(exit status {proc.returncode}). DeskML itself is fine.",
                "The file may be damaged, or made for another computer: ask for it again.",
                details=tail)
        result = json.loads(result_file.read_text())
        if not result.get("ok") and result.get("error") == "memory":
            raise _memory_error(path, req["memory_bytes"], "")
        return result


def _memory_error(path, limit, details):
    return LoadFailed(
        f"Opening {path.name} needed more than {limit / 2**30:.1f} GB of memory, so DeskML stopped it.",
        "If the model is really that large, raise the memory limit in Settings (or --memory-gb); "
        "otherwise the file may be damaged or built to exhaust memory.", details=details)


# --------------------------------------------------------------------------
# describing from the scan alone (when this computer cannot load the file)

_CLUSTER = {"KMeans", "MiniBatchKMeans", "DBSCAN", "AgglomerativeClustering", "Birch", "MeanShift",
            "SpectralClustering", "OPTICS", "AffinityPropagation", "BisectingKMeans", "HDBSCAN"}
_ANOMALY = {"IsolationForest", "OneClassSVM", "LocalOutlierFactor", "EllipticEnvelope", "SGDOneClassSVM"}


def _array_list(v):
    arr = v.array if isinstance(v, picklescan.Built) else None
    if arr is None:
        return None
    if arr.values is not None:
        return [x if isinstance(x, (str, int, float, bool)) or x is None else str(x) for x in arr.values]
    if arr.raw is not None:
        try:
            import numpy as np
            return np.frombuffer(arr.raw, dtype=np.dtype(arr.dtype)).tolist()
        except (TypeError, ValueError):
            return None
    return None


def static_description(scan: StaticScan) -> dict:
    top = scan.top
    cls = top.class_ref if isinstance(top, picklescan.Built) else None
    state = top.state if isinstance(top, picklescan.Built) else None
    if isinstance(state, tuple) and state and isinstance(state[0], dict):
        state = state[0]
    state = state if isinstance(state, dict) else {}
    steps, final_state, final_name = [], state, cls.name if cls else "unknown"
    raw_steps = state.get("steps")
    if isinstance(raw_steps, list):
        for item in raw_steps:
            if isinstance(item, tuple) and len(item) == 2:
                obj = item[1]
                ocls = obj.class_ref if isinstance(obj, picklescan.Built) else None
                steps.append({"name": str(item[0]), "class": ocls.name if ocls else str(obj)})
                if ocls:
                    final_name = ocls.name
                    st = obj.state
                    final_state = st[0] if isinstance(st, tuple) and st and isinstance(st[0], dict) else st
    final_state = final_state if isinstance(final_state, dict) else {}
    names = _array_list(state.get("feature_names_in_"))
    n = state.get("n_features_in_")
    classes = _array_list(final_state.get("classes_"))
    if classes is not None:
        task = "classification"
    elif final_name in _CLUSTER:
        task = "clustering"
    elif final_name in _ANOMALY:
        task = "anomaly_detection"
    elif "Classifier" in final_name:
        task = "classification"
    elif "Regress" in final_name or final_name in ("Ridge", "Lasso", "ElasticNet", "SVR", "LinearSVR"):
        task = "regression"
    else:
        task = "unknown"
    if names:
        inputs = [{"name": str(x), "kind": "unknown", "example": None, "categories": None} for x in names]
    elif isinstance(n, int):
        inputs = [{"name": f"x{i}", "kind": "number", "example": 0, "categories": None} for i in range(n)]
    else:
        inputs = []
    return {
        "estimator": cls.dotted if cls else "unknown",
        "estimator_name": cls.name if cls else "unknown",
        "final_estimator": final_name,
        "steps": steps, "task": task, "inputs": inputs, "positional": not names,
        "outputs": {"classes": classes, "probabilities": None, "n_outputs": 1},
    }


_NOT_MODELS = {
    "pandas.core.frame.DataFrame": "a table of data (a pandas DataFrame)",
    "pandas.core.series.Series": "a column of data (a pandas Series)",
    "numpy.ndarray": "an array of numbers",
    "collections.OrderedDict": "a dictionary",
    "collections.defaultdict": "a dictionary",
    "builtins.set": "a set of values",
}


def _static_not_a_model(path: Path, scan: StaticScan):
    top = scan.top
    what = None
    if isinstance(top, dict):
        what = "a dictionary"
    elif isinstance(top, list):
        what = "a list"
    elif isinstance(top, tuple):
        what = "a tuple of values"
    elif isinstance(top, (str, bytes, int, float, bool)) or top is None:
        what = "a single value"
    elif isinstance(top, picklescan.Built):
        cls = top.class_ref
        if top.array is not None:
            what = "an array of numbers"
        elif cls is not None:
            what = _NOT_MODELS.get(cls.dotted) or (
                "a table of data (pandas)" if cls.module.startswith("pandas") else None)
    if what:
        raise NotAModelFile(
            f"{path.name} holds {what}, not a model.",
            "Ask the sender for the file of the trained model itself (saved with joblib.dump(model, ...)).")


# --------------------------------------------------------------------------

def _why_not_loaded(result: dict) -> str:
    """The child's reason for not loading a file, in a few words."""
    if result.get("error") == "missing-module":
        return f"it has no module {result.get('module')}"
    if result.get("error") == "memory":
        return "it ran out of memory"
    kind, message = result.get("type"), (result.get("message") or "").strip()
    if kind and message:
        return f"{kind}: {message[:200]}"
    return kind or message[:200] or "an unknown error"


def _cannot_predict(path: Path, desc: dict) -> NotAModelFile:
    """A file that holds a fitted preparation step (a scaler, an encoder), not a model."""
    steps = desc.get("steps") or []
    what = ("pipeline of " + ", ".join(s["class"] for s in steps)) if steps else desc["estimator_name"]
    return NotAModelFile(
        f"{path.name} holds a fitted {what}: a step that prepares data (it transforms inputs), "
        "not a model. It is safe to open, but it cannot make predictions on its own.",
        "Ask the sender for the whole model: usually a pipeline that ends in the model itself, saved as one "
        "file (for example Pipeline([('scale', StandardScaler()), ('model', LogisticRegression())])).")


def inspect_file(path, *, trust=(), code=(), limits: LoadLimits | None = None) -> ModelInfo:
    """Inspect a model file safely. Raises a DeskMLError with a plain message."""
    path = Path(path).expanduser()
    limits = limits or LoadLimits()
    code = [Path(c).expanduser().resolve() for c in code]
    for c in code:
        modelfile.check_readable(c)
        if c.suffix != ".py":
            raise NotAModelFile(f"{c.name} is not a Python file (.py).",
                                "Add the .py file that defines the model's own classes.")
    modelfile.check_readable(path)
    size, sha = modelfile.file_facts(path)
    sniffed = modelfile.sniff(path)
    policy = Policy(trust, [c.stem for c in code])
    scan = scan_file(path, sniffed, policy)
    judge(path, scan, policy, dangerous_only=True)  # threats first,
    _static_not_a_model(path, scan)                 # then "this is data, not a model",
    libs = judge(path, scan, policy)                # then unknown libraries and missing code

    result = load_in_child(path.resolve(), scan, policy, code, limits, size)
    versions = result.get("versions", {})
    installed = versions.get("scikit-learn")
    for lib in libs:
        libs[lib] = versions.get(lib)
    note = None
    if result.get("ok"):
        desc, loaded = result["description"], True
        if desc["task"] == "transformer":
            raise _cannot_predict(path, desc)
        if scan.sklearn_version and installed and scan.sklearn_version != installed:
            note = (f"Saved with scikit-learn {scan.sklearn_version}; this computer has {installed}. "
                    f"The model's container will run scikit-learn {scan.sklearn_version}.")
    else:
        err = result.get("error")
        if err == "refused":
            raise UnsafeModelFile(
                f"DeskML did not open {path.name}: while opening it, it asked for "
                f"{result['module']}.{result['name']} ({result['reason']}).",
                "Delete the file, or ask the sender for a clean copy of the model.",
                offenders=[f"{result['module']}.{result['name']}"])
        if err == "not-a-model":
            raise NotAModelFile(
                f"{path.name} holds an object of type {result['type']}, which is not a model "
                "(it cannot make predictions).",
                "Ask the sender for the file of the trained model itself.")
        desc, loaded = static_description(scan), False
        if err == "missing-module" and not str(result["module"]).startswith("sklearn"):
            mod = result["module"]
            note = (f"This computer does not have {mod}, which the model needs; DeskML described it "
                    f"from the file itself. The model's container will install it.")
        elif scan.sklearn_version and installed and scan.sklearn_version != installed:
            note = (f"Saved with scikit-learn {scan.sklearn_version}; this computer has {installed}, "
                    f"which cannot open it ({_why_not_loaded(result)}). DeskML described it from the file itself; "
                    f"the model's container will run scikit-learn {scan.sklearn_version}.")
        else:
            raise LoadFailed(
                f"DeskML could not open {path.name}: {result.get('type')}: {result.get('message')}.",
                "The file may be damaged or incomplete: ask for it again.",
                details=result.get("traceback", ""))
    return ModelInfo(
        path=str(path.resolve()), file_name=path.name, size_bytes=size, sha256=sha,
        format=scan.format, compression=scan.compression, pickle_protocol=scan.protocol,
        sklearn_version=scan.sklearn_version, installed_sklearn_version=installed,
        loaded=loaded, note=note,
        estimator=desc["estimator"], estimator_name=desc["estimator_name"],
        final_estimator=desc["final_estimator"], steps=desc["steps"], task=desc["task"],
        inputs=desc["inputs"], positional=desc["positional"], outputs=desc["outputs"],
        libraries=libs, imports=sorted(f"{m}.{n}" for m, n in scan.refs),
        trusted=sorted(policy.trusted), code=[str(c) for c in code], skops_types=list(scan.skops_types),
    )


def copy_checked(src, sha256: str, dst) -> Path:
    """Copy the inspected model file ``src`` to ``dst`` and make sure the copy is the very file
    that was checked (``sha256``): the bytes that are loaded later are the bytes scanned."""
    import shutil

    from ..errors import ModelFileChanged

    src, dst = Path(src), Path(dst)
    try:
        shutil.copyfile(src, dst)
    except OSError as exc:
        raise ModelFileChanged(
            f"DeskML could not read {src.name} again to package it ({exc.strerror or exc}).",
            "Check the file is still there, open it again, and package it.") from None
    _, sha = modelfile.file_facts(dst)
    if sha != sha256:
        dst.unlink(missing_ok=True)
        raise ModelFileChanged(
            f"{src.name} changed after DeskML checked it, so DeskML did not package it: the file on "
            "disk is no longer the one that was found safe.",
            "Open the file again so that DeskML checks it as it is now, then package it.",
            details=f"checked: SHA-256 {sha256}\nnow:     SHA-256 {sha}")
    return dst
