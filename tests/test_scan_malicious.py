"""The safety scan refuses every hostile file in the corpus, and no payload runs."""
from __future__ import annotations

import subprocess
import sys

import pytest

import malicious
from conftest import run_cli
from deskml.core.errors import ExitCode, UnsafeModelFile
from deskml.core.intake.inspection import inspect_file


def test_corpus_is_large_enough():
    assert len(malicious.ALL) >= 30
    assert sum(c.live for c in malicious.ALL) >= 30


@pytest.mark.parametrize("case", malicious.ALL, ids=lambda c: c.name)
def test_refused_and_canary_never_fires(case, tmp_path):
    canary = tmp_path / "CANARY"
    path = case.make(tmp_path, canary)
    with pytest.raises(UnsafeModelFile) as err:
        inspect_file(path)
    assert not canary.exists(), "the payload ran"
    msg = err.value.message
    assert path.name in msg and "did not open" in msg
    if case.offender:
        assert case.offender in msg
    assert "Traceback" not in msg


@pytest.mark.parametrize("case", [c for c in malicious.ALL if c.live], ids=lambda c: c.name)
def test_corpus_is_live(case, tmp_path):
    """Each payload really fires when the file is loaded the unsafe way (in a
    throwaway process), so the refusals above are of real threats."""
    canary = tmp_path / "CANARY"
    path = case.make(tmp_path, canary)
    subprocess.run([sys.executable, malicious.__file__, str(path), case.loader],
                   cwd=tmp_path, timeout=60, capture_output=True)
    assert canary.exists(), f"{case.name} is a dud: its payload did not run"


def test_cli_refusal_is_one_paragraph_with_exit_code(tmp_path):
    canary = tmp_path / "CANARY"
    path = malicious.RAW[0].make(tmp_path, canary)
    proc = run_cli("inspect", path)
    assert proc.returncode == ExitCode.UNSAFE
    assert "os.system" in proc.stderr and "can run programs" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not canary.exists()


def test_cli_json_refusal(tmp_path):
    import json

    canary = tmp_path / "CANARY"
    path = malicious.MODEL[0].make(tmp_path, canary)
    proc = run_cli("inspect", path, "--json")
    assert proc.returncode == ExitCode.UNSAFE
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["error"]["kind"] == "unsafe"
    assert "posix.system" in doc["error"]["offenders"]


def test_trust_cannot_unlock_the_standard_library(tmp_path):
    canary = tmp_path / "CANARY"
    path = malicious.RAW[0].make(tmp_path, canary)
    with pytest.raises(UnsafeModelFile):
        inspect_file(path, trust=["os"])
    assert not canary.exists()
