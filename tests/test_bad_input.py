"""Every kind of bad input gets its own clear message and exit code, never a traceback."""
from __future__ import annotations

import json
import os
import pickle
import zipfile

import joblib
import numpy as np
import pytest

from conftest import run_cli
from deskml.core.intake import inspection
from deskml.core.errors import ExitCode, FileUnreadable, LoadFailed, NotAModelFile
from deskml.core.intake.inspection import LoadLimits, inspect_file


def _expect(path, exc_type, *phrases):
    with pytest.raises(exc_type) as err:
        inspect_file(path)
    msg = err.value.message
    for phrase in phrases:
        assert phrase in msg, msg
    assert "Traceback" not in msg and err.value.what_to_do
    return err.value


def _onnx_bytes() -> bytes:
    """A minimal ONNX ModelProto, encoded by hand: ir_version, producer, graph, opset."""
    def field(num, payload):
        return bytes([(num << 3) | 2, len(payload)]) + payload
    node = field(4, b"Relu")                                      # NodeProto.op_type
    graph = field(1, node) + field(2, b"main")                    # GraphProto: node, name
    return b"\x08\x09" + field(2, b"pytorch") + field(7, graph) + field(8, b"\x10\x11")


CASES = {
    "empty": (lambda p: p.write_bytes(b""), NotAModelFile, ["is empty"]),
    "random_bytes": (lambda p: p.write_bytes(np.random.default_rng(1).bytes(5000)), NotAModelFile,
                     ["not a model file DeskML can read"]),
    "csv_named_pkl": (lambda p: p.write_text("age,income,city\n31,42000,Leeds\n45,51000,York\n"), NotAModelFile,
                      ["CSV", "not a model file"]),
    "json_named_joblib": (lambda p: p.write_text(json.dumps({"weights": [1, 2, 3]})), NotAModelFile, ["JSON"]),
    "png_named_pkl": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100), NotAModelFile, ["PNG image"]),
    "plain_text": (lambda p: p.write_text("These are my notes about the model.\nIt is good.\n"), NotAModelFile,
                   ["text file"]),
    "keras_hdf5": (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200), NotAModelFile,
                   ["Keras or HDF5", "DeskML deploys scikit-learn models"]),
    "onnx": (lambda p: p.write_bytes(_onnx_bytes()), NotAModelFile, ["ONNX", "DeskML deploys scikit-learn models"]),
    "pytorch_zip": (lambda p: _zip(p, {"archive/data.pkl": b"\x80\x02}q\x00.", "archive/version": b"3\n",
                                       "archive/byteorder": b"little"}), NotAModelFile,
                    ["PyTorch", "DeskML deploys scikit-learn models"]),
    "keras_v3_zip": (lambda p: _zip(p, {"config.json": b"{}", "metadata.json": b"{}", "model.weights.h5": b""}),
                     NotAModelFile, ["Keras", "DeskML deploys scikit-learn models"]),
    "excel_workbook": (lambda p: _zip(p, {"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"}),
                       NotAModelFile, ["Excel workbook", "reference data"]),
    "pickled_dict": (lambda p: p.write_bytes(pickle.dumps({"a": 1, "b": [1, 2]})), NotAModelFile,
                     ["holds a dictionary, not a model"]),
    "pickled_list": (lambda p: p.write_bytes(pickle.dumps([1, 2, 3], protocol=0)), NotAModelFile,
                     ["holds a list, not a model"]),
    "pickled_dataframe": (lambda p: __import__("pandas").DataFrame({"a": [1, 2]}).to_pickle(p), NotAModelFile,
                          ["table of data", "not a model"]),
    "joblib_array": (lambda p: joblib.dump(np.arange(10.0), p), NotAModelFile, ["array of numbers"]),
    "sklearn_dataset_bunch": (lambda p: joblib.dump(__import__("sklearn.datasets").datasets.load_iris(), p),
                              NotAModelFile, ["not a model"]),
}


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_file(kind, tmp_path):
    write, exc, phrases = CASES[kind]
    path = tmp_path / ("model.pkl" if "json" not in kind else "model.joblib")
    write(path)
    err = _expect(path, exc, *phrases)
    proc = run_cli("inspect", path)
    assert proc.returncode == err.exit_code == ExitCode.NOT_A_MODEL
    assert "Traceback" not in proc.stderr and proc.stderr.strip()


@pytest.fixture
def demo_bytes(demo):
    return demo.model.read_bytes()


def test_truncated_joblib(demo_bytes, tmp_path):
    path = tmp_path / "model.joblib"
    path.write_bytes(demo_bytes[: len(demo_bytes) // 2])
    _expect(path, NotAModelFile, "cut short", "ask for the file again")


def test_truncated_compressed(demo, tmp_path):
    full = tmp_path / "full.joblib"
    joblib.dump(joblib.load(demo.model), full, compress=("gzip", 3))
    data = full.read_bytes()
    path = tmp_path / "model.joblib"
    path.write_bytes(data[: len(data) // 2])
    _expect(path, NotAModelFile, "ask for the file again")


def test_corrupt_middle(demo_bytes, tmp_path):
    data = bytearray(demo_bytes)
    mid = len(data) // 3
    data[mid:mid + 64] = b"\xfe" * 64
    path = tmp_path / "model.joblib"
    path.write_bytes(bytes(data))
    with pytest.raises((NotAModelFile, LoadFailed)) as err:
        inspect_file(path)
    assert "Traceback" not in err.value.message


def test_missing_file_and_folder(tmp_path):
    _expect(tmp_path / "nope.joblib", FileUnreadable, "There is no file")
    _expect(tmp_path, FileUnreadable, "is a folder")
    proc = run_cli("inspect", tmp_path / "nope.joblib")
    assert proc.returncode == ExitCode.UNREADABLE


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_permission_denied(demo_bytes, tmp_path):
    path = tmp_path / "locked.joblib"
    path.write_bytes(demo_bytes)
    path.chmod(0)
    _expect(path, FileUnreadable, "may not read")


def test_usage_errors_have_exit_code_2(tmp_path):
    proc = run_cli("inspect")
    assert proc.returncode == ExitCode.USAGE and "Traceback" not in proc.stderr


# --- the child process: time limit, memory cap, crash ------------------------------

class _Big:
    def __reduce__(self):
        return (bytearray, (8 << 30,))  # 8 GB of zeros: allowed names, hostile size


def test_memory_cap_stops_a_memory_bomb(tmp_path):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])
    model.blob_ = _Big()
    path = tmp_path / "bomb.pkl"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(LoadFailed) as err:
        inspect_file(path, limits=LoadLimits(memory_bytes=2 << 30))
    assert "more than 2.0 GB of memory" in err.value.message


def test_time_limit(demo):
    with pytest.raises(LoadFailed) as err:
        inspect_file(demo.model, limits=LoadLimits(seconds=0.3))
    assert "took longer than 0.3 seconds" in err.value.message


def test_child_crash_is_reported_and_app_survives(demo, monkeypatch):
    monkeypatch.setattr(inspection, "_child_command", lambda: ["python3", "-c", "import os; os.abort()"])
    with pytest.raises(LoadFailed) as err:
        inspect_file(demo.model)
    assert "crashed the separate process" in err.value.message and "DeskML itself is fine" in err.value.message


def test_bad_code_file(demo, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    with pytest.raises(NotAModelFile) as err:
        inspect_file(demo.model, code=[notes])
    assert "not a Python file" in err.value.message
