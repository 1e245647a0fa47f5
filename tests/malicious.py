"""A corpus of hostile model files, made by the tests themselves.

Each case writes a file whose payload, if it ever ran, would create the canary
file it is given: the tests assert that DeskML refuses every one and that no
canary appears, and (test_corpus_is_live) that each payload really fires when
loaded the unsafe way, so no case is a dud.

Opcode-level cases are assembled by hand, so every spelling is covered: GLOBAL
and STACK_GLOBAL, INST, OBJ, NEWOBJ, NEWOBJ_EX, protocols 0-5, memo tricks,
computed names, dotted names. Model-level cases hide a payload inside a real
scikit-learn model saved with joblib, compressed or not, including inside a
numpy object array (a nested pickle inside the joblib container).
"""
from __future__ import annotations

import os
import pickle
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


def _sg(module: str, name: str) -> bytes:
    """STACK_GLOBAL (protocol 4+)."""
    return _u(module) + _u(name) + b"\x93"


def _u(s: str) -> bytes:
    b = s.encode()
    return (b"\x8c" + bytes([len(b)]) + b) if len(b) < 256 else (b"X" + struct.pack("<I", len(b)) + b)


def _p0_str(s: str) -> bytes:
    return b"S" + repr(s).encode() + b"\n"


def _p4(body: bytes, proto: int = 4) -> bytes:
    return b"\x80" + bytes([proto]) + body + b"."


def sh(canary: Path) -> str:
    return f"touch {canary}"


def py(canary: Path) -> str:
    return f"open({str(canary)!r}, 'w').write('pwned')"


@dataclass
class Case:
    name: str
    make: Callable[[Path, Path], Path]   # (folder, canary) -> file
    offender: str                         # a name the refusal must mention ("" if computed)
    loader: str = "pickle"                # how the unsafe load goes: pickle | joblib | skops
    live: bool = True                     # does plain unsafe loading fire the canary here?


def _write(folder: Path, name: str, data: bytes) -> Path:
    p = folder / name
    p.write_bytes(data)
    return p


def _raw(name, builder, offender, **kw):
    def make(folder, canary):
        return _write(folder, name + ".pkl", builder(canary))
    return Case(name, make, offender, **kw)


# --- opcode-level payloads ----------------------------------------------------
RAW = [
    _raw("p0_global_os_system", lambda c: b"cos\nsystem\n(" + _p0_str(sh(c)) + b"tR.", "os.system"),
    _raw("p0_global_posix_system", lambda c: b"cposix\nsystem\n(" + _p0_str(sh(c)) + b"tR.", "posix.system"),
    _raw("p2_builtins_eval", lambda c: b"\x80\x02cbuiltins\neval\nq\x00" + _p0_str(py(c)) + b"\x85R.", "builtins.eval"),
    _raw("p2_py2_builtin_eval", lambda c: b"\x80\x02c__builtin__\neval\n" + _p0_str(py(c)) + b"\x85R.", "builtins.eval"),
    _raw("p4_stack_global_exec", lambda c: _p4(_sg("builtins", "exec") + _u(py(c)) + b"\x85R"), "builtins.exec"),
    _raw("p4_subprocess_check_output",
         lambda c: _p4(_sg("subprocess", "check_output") + b"]" + b"(" + _u("touch") + _u(str(c)) + b"e" + b"\x85R"),
         "subprocess.check_output"),
    _raw("p5_subprocess_call",
         lambda c: _p4(_sg("subprocess", "call") + b"](" + _u("touch") + _u(str(c)) + b"e\x85R", 5), "subprocess.call"),
    _raw("p0_inst_os_system", lambda c: b"(" + _p0_str(sh(c)) + b"ios\nsystem\n.", "os.system"),
    _raw("p1_obj_os_system", lambda c: b"(cos\nsystem\n" + b"X" + struct.pack("<I", len(sh(c))) + sh(c).encode() + b"o.",
         "os.system"),
    _raw("p2_newobj_popen", lambda c: b"\x80\x02csubprocess\nPopen\n(" + _p0_str(sh(c)) + b"\x88\x81.",
         "subprocess.Popen", live=False),  # Popen.__new__ alone runs nothing; still refused
    _raw("p4_newobj_ex_popen", lambda c: _p4(_sg("subprocess", "Popen") + b"(" + _u(sh(c)) + b"t}\x92"),
         "subprocess.Popen", live=False),  # __new__ alone runs nothing; still refused
    _raw("p4_getattr_import_chain",
         lambda c: _p4(_sg("builtins", "getattr") + b"(" + _sg("builtins", "__import__") + _u("os") + b"\x85R"
                       + _u("system") + b"tR" + _u(sh(c)) + b"\x85R"), "builtins.getattr"),
    _raw("p4_importlib_import_module",
         lambda c: _p4(_sg("builtins", "getattr") + b"(" + _sg("importlib", "import_module") + _u("os") + b"\x85R"
                       + _u("system") + b"tR" + _u(sh(c)) + b"\x85R"), "importlib.import_module"),
    _raw("p4_memo_names",
         lambda c: _p4(_u("os") + b"\x94" + _u("system") + b"\x94" + b"0" + b"0" + b"h\x00h\x01\x93" + _u(sh(c)) + b"\x85R"),
         "os.system"),
    _raw("p4_computed_module_name",
         lambda c: _p4(_sg("builtins", "str") + _u("os") + b"\x85R" + _u("system") + b"\x93" + _u(sh(c)) + b"\x85R"),
         ""),
    _raw("p4_dotted_name_through_joblib",
         lambda c: _p4(_sg("joblib.numpy_pickle", "os.system") + _u(sh(c)) + b"\x85R"), "os.system"),
    _raw("p4_pickle_loads_nested",
         lambda c: _p4(_sg("pickle", "loads") + b"C" + bytes([len(b"cos\nsystem\n(" + _p0_str(sh(c)) + b"tR.")])
                       + b"cos\nsystem\n(" + _p0_str(sh(c)) + b"tR." + b"\x85R"), "pickle.loads"),
    _raw("p4_underscore_pickle_loads",
         lambda c: _p4(_sg("_pickle", "loads") + b"C" + bytes([len(b"cos\nsystem\n(" + _p0_str(sh(c)) + b"tR.")])
                       + b"cos\nsystem\n(" + _p0_str(sh(c)) + b"tR." + b"\x85R"), "_pickle.loads"),
    _raw("p4_operator_methodcaller",
         lambda c: _p4(_sg("operator", "methodcaller") + _u("system") + _u(sh(c)) + b"\x86R"
                       + _sg("builtins", "__import__") + _u("os") + b"\x85R" + b"\x85R"), "operator.methodcaller"),
    _raw("p4_partial_call",
         lambda c: _p4(_sg("functools", "partial") + _sg("os", "system") + _u(sh(c)) + b"\x86R" + b")R"), "os.system"),
    _raw("p4_timeit_setup_runs_code", lambda c: _p4(_sg("timeit", "timeit") + _u("pass") + _u(py(c)) + b"\x86R"),
         "timeit.timeit"),
    _raw("p4_cprofile_run", lambda c: _p4(_sg("cProfile", "run") + _u(py(c)) + b"\x85R"), "cProfile.run"),
    _raw("p4_pydoc_pipepager", lambda c: _p4(_sg("pydoc", "pipepager") + _u("") + _u(sh(c)) + b"\x86R"), "pydoc.pipepager"),
    _raw("p4_os_popen", lambda c: _p4(_sg("os", "popen") + _u(sh(c)) + b"\x85R" + b"0" + _sg("time", "sleep")
                                      + b"G" + struct.pack(">d", 0.3) + b"\x85R"), "os.popen"),
    _raw("p4_dotted_pathlib_touch",
         lambda c: _p4(_sg("pathlib", "Path.touch") + _sg("pathlib", "Path") + _u(str(c)) + b"\x85R" + b"\x85R"),
         "pathlib.Path.touch"),
    _raw("p3_binunicode_global", lambda c: b"\x80\x03cos\nsystem\nX" + struct.pack("<I", len(sh(c))) + sh(c).encode() + b"\x85R.",
         "os.system"),
    _raw("p4_framed", lambda c: b"\x80\x04\x95" + struct.pack("<Q", len(_sg("os", "system") + _u(sh(c)) + b"\x85R."))
         + _sg("os", "system") + _u(sh(c)) + b"\x85R.", "os.system"),
    # the payload runs (R) before the unpickler meets the damage
    _raw("payload_then_garbage", lambda c: b"cos\nsystem\n(" + _p0_str(sh(c)) + b"tR" + b"\xff\xfe garbage", "os.system"),
    # refused for the feature itself (plain pickle.load cannot resolve it either)
    _raw("p4_persistent_id", lambda c: _p4(_u(sh(c)) + b"Q"), "", live=False),
]


def _shutil_copy(canary: Path) -> bytes:
    return _p4(_sg("shutil", "copy") + _u(sys.executable) + _u(str(canary)) + b"\x86R")


RAW.append(_raw("p4_shutil_copy", _shutil_copy, "shutil.copy"))

# Hardening against gadgets inside trusted packages (not live: no known gadget,
# which is the point): calling a scikit-learn helper function while loading, and
# BUILD on a class (which would set attributes on trusted code).
RAW += [
    _raw("p4_sklearn_helper_function_call",
         lambda c: _p4(_sg("sklearn.utils.validation", "check_array") + b"]\x85R"),
         "sklearn.utils.validation.check_array", live=False),
    _raw("p4_build_on_a_class",
         lambda c: _p4(_sg("sklearn.pipeline", "Pipeline") + b"}" + _u("predict") + _sg("builtins", "set")
                       + b"s" + b"b"), "sklearn.pipeline.Pipeline", live=False),
]


def _runpy_case(folder: Path, canary: Path) -> Path:
    script = folder / "helper_script.py"
    script.write_text(f"open({str(canary)!r}, 'w').write('pwned')\n")
    return _write(folder, "runpy_run_path.pkl", _p4(_sg("runpy", "run_path") + _u(str(script)) + b"\x85R"))


def _nested_file_case(loader_module: str, loader_name: str, fname: str):
    def make(folder: Path, canary: Path) -> Path:
        inner = folder / (fname + ".inner")
        inner.write_bytes(b"cos\nsystem\n(" + _p0_str(sh(canary)) + b"tR.")
        return _write(folder, fname + ".pkl", _p4(_sg(loader_module, loader_name) + _u(str(inner)) + b"\x85R"))
    return make


RAW += [
    Case("p4_runpy_run_path", _runpy_case, "runpy.run_path"),
    Case("p4_joblib_load_other_file", _nested_file_case("joblib", "load", "joblib_load"), "joblib.load"),
    Case("p4_pandas_read_pickle", _nested_file_case("pandas", "read_pickle", "pandas_read_pickle"), "pandas.read_pickle"),
]


# --- payloads hidden inside real scikit-learn models ---------------------------
class _Payload:
    """Pickles as a call of os.system: what a hostile __reduce__ looks like."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _small_model():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.arange(40, dtype=float).reshape(20, 2)
    return LogisticRegression().fit(X, [0, 1] * 10)


def _model_case(name, compress=0, where="attribute"):
    def make(folder: Path, canary: Path) -> Path:
        import joblib
        import numpy as np
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        model = _small_model()
        if where == "attribute":
            model.calibration_notes_ = _Payload(sh(canary))
        elif where == "object_array":
            model.feature_notes_ = np.array(["ok", _Payload(sh(canary))], dtype=object)
        elif where == "deep_in_pipeline":
            scaler = StandardScaler().fit(np.arange(40, dtype=float).reshape(20, 2))
            scaler.extra_ = {"deep": [_Payload(sh(canary))]}
            model = Pipeline([("prep", ColumnTransformer([("s", scaler, [0, 1])])), ("clf", model)])
        path = folder / f"{name}.joblib"
        joblib.dump(model, path, compress=compress)
        return path
    return Case(name, make, "posix.system", loader="joblib")


MODEL = [
    _model_case("joblib_model_with_payload_attribute"),
    _model_case("joblib_zlib_payload", compress=("zlib", 3)),
    _model_case("joblib_gzip_payload", compress=("gzip", 3)),
    _model_case("joblib_bz2_payload", compress=("bz2", 3)),
    _model_case("joblib_lzma_payload", compress=("lzma", 3)),
    _model_case("joblib_xz_payload", compress=("xz", 3)),
    _model_case("joblib_payload_in_object_array", where="object_array"),
    _model_case("joblib_payload_deep_in_pipeline", where="deep_in_pipeline"),
    _model_case("joblib_gzip_payload_in_object_array", compress=("gzip", 3), where="object_array"),
]


def _plain_pickle_model_case(proto):
    def make(folder: Path, canary: Path) -> Path:
        model = _small_model()
        model.notes_ = _Payload(sh(canary))
        path = folder / f"model_p{proto}.pkl"
        path.write_bytes(pickle.dumps(model, protocol=proto))
        return path
    return Case(f"pickle_p{proto}_model_with_payload", make, "posix.system")


MODEL += [_plain_pickle_model_case(p) for p in (0, 2, 5)]


def _skops_case(folder: Path, canary: Path) -> Path:
    """A skops file whose schema names os.system as a function."""
    import json
    import zipfile

    import skops.io as sio

    src = folder / "clean.skops"
    sio.dump(_small_model(), src)
    out = folder / "skops_with_os_system.skops"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "schema.json":
                schema = json.loads(data)
                schema["content"]["content"]["notes_"] = {
                    "__class__": "system", "__module__": "os", "__loader__": "FunctionNode", "__id__": 1}
                data = json.dumps(schema).encode()
            zout.writestr(item, data)
    return out


SKOPS = [Case("skops_names_os_system", _skops_case, "os.system", loader="skops", live=False)]

ALL = RAW + MODEL + SKOPS


def unsafe_load(path: Path, loader: str) -> None:
    """What DeskML must never do: load the file the ordinary way. Used only in a
    throwaway subprocess by test_corpus_is_live."""
    if loader == "joblib":
        import joblib
        joblib.load(path)
    else:
        with open(path, "rb") as f:
            pickle.load(f)


if __name__ == "__main__":  # python tests/malicious.py FILE LOADER
    try:
        unsafe_load(Path(sys.argv[1]), sys.argv[2])
    except Exception:
        pass
    import time
    time.sleep(0.2)  # let a popen'ed shell finish
