"""``deskml drift --method evidently`` against evidently itself.

Evidently 0.7.23 runs in a test-only environment (it needs pandas 2; DeskML has pandas 3),
made once from tests/evidently/requirements.txt. On generated data that takes every branch
of its choice of method (each side of the 1,000-row boundary, counted without missing
values; missing and infinite values; a category seen only in the current data; constant
columns; integer columns with few values; 0/1 and yes/no columns; bool), every statistic
must equal evidently's to 1e-6, and every verdict, per column and for the data set."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import _in_ci, run_cli

from deskml.core.quality.drift import check
from deskml.core.reference import read_table

HERE = Path(__file__).parent / "evidently"
ENV = Path(os.environ.get("DESKML_EVIDENTLY_ENV", Path.home() / ".cache" / "deskml-tests" / "evidently-0.7.23"))


@pytest.fixture(scope="module")
def evidently_python() -> Path:
    python = ENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import evidently"], capture_output=True).returncode == 0:
        return python
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(ENV)], capture_output=True, text=True)
    if made.returncode == 0:
        made = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                               str(HERE / "requirements.txt")], capture_output=True, text=True, timeout=1200)
    if made.returncode != 0:
        why = f"evidently could not be installed for the comparison: {made.stderr[-2000:]}"
        pytest.fail(why) if _in_ci() else pytest.skip(why)
    return python


def mixed(rng, n: int, shift: float = 0.0) -> pd.DataFrame:
    """Every kind of column evidently tells apart."""
    return pd.DataFrame({
        "price": rng.normal(50 + 10 * shift, 10, n),                         # float, many values
        "size": rng.choice([0.5, 1.5, 2.5, 3.5], n),                         # float, 4 values
        "dose": rng.choice([1.0, 2.0], n, p=[0.5 - 0.2 * shift, 0.5 + 0.2 * shift]),  # float, 2 values
        "stars": rng.integers(0, 7, n),                                      # integer, 7 values: a category
        "age": rng.integers(18, 90, n) + int(8 * shift),                     # integer, many values: a number
        "member": rng.integers(0, 2, n),                                     # 0/1
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),  # text categories
        "newsletter": rng.choice(["yes", "no"], n),                          # text, 2 values
        "returning": rng.random(n) < 0.4 + 0.3 * shift,                      # bool
    })


def cases() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    rng = np.random.default_rng(11)
    out = {
        "reference_1000": (mixed(rng, 1000), mixed(rng, 200)),            # 1,000 rows: the small-reference branch
        "reference_1001": (mixed(rng, 1001), mixed(rng, 200)),            # one more: distances
        "small_day_2000": (mixed(rng, 2000), mixed(rng, 40)),             # a day of a small shop
        "shifted_small": (mixed(rng, 600), mixed(rng, 300, shift=1.0)),
        "shifted_large": (mixed(rng, 3000), mixed(rng, 300, shift=1.0)),
    }
    # missing values: 1,010 rows, 20 of them empty in one column: 990 counted, the small branch
    ref, cur = mixed(rng, 1010), mixed(rng, 150)
    ref.loc[:19, "price"] = np.nan
    ref.loc[5:9, "plan"] = np.nan
    cur.loc[:30, "age"] = np.nan
    cur.loc[3, "price"] = np.inf
    out["missing_boundary"] = (ref, cur)
    # a category only the current data has, with a small and a large reference
    for n in (800, 1500):
        ref, cur = mixed(rng, n), mixed(rng, 120)
        cur.loc[:9, "plan"] = "enterprise"
        cur.loc[:4, "stars"] = 9
        out[f"new_category_{n}"] = (ref, cur)
    # constant columns: the same constant on both sides, and a constant that changes
    for n in (500, 1200):
        ref, cur = mixed(rng, n), mixed(rng, 80)
        ref["channel"], cur["channel"] = "web", "web"
        ref["fee"], cur["fee"] = 2.5, 2.5
        ref["region"], cur["region"] = "north", "south"
        ref["zero"], cur["zero"] = 0, 0
        out[f"constant_{n}"] = (ref, cur)
    # the data set rule at exactly half: 2 of 4 columns drift
    ref = pd.DataFrame({"a": rng.normal(0, 1, 500), "b": rng.normal(0, 1, 500),
                        "c": rng.normal(0, 1, 500), "d": rng.normal(0, 1, 500)})
    cur = pd.DataFrame({"a": rng.normal(2, 1, 200), "b": rng.normal(2, 1, 200),
                        "c": rng.normal(0, 1, 200), "d": rng.normal(0, 1, 200)})
    out["half_drifted"] = (ref, cur)
    out["one_in_four"] = (ref, cur.assign(b=rng.normal(0, 1, 200)))
    return out


@pytest.fixture(scope="module")
def compared(evidently_python, tmp_path_factory):
    folder = tmp_path_factory.mktemp("drift-cases")
    for name, (ref, cur) in cases().items():
        ref.to_csv(folder / f"{name}.reference.csv", index=False)
        cur.to_csv(folder / f"{name}.current.csv", index=False)
    done = subprocess.run([evidently_python, str(HERE / "harness.py"), str(folder)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, json.loads(done.stdout)


def test_every_statistic_and_verdict_equals_evidentlys(compared):
    folder, theirs = compared
    methods = set()
    for case, want in theirs.items():
        assert "error" not in want, (case, want)
        ours = check(read_table(folder / f"{case}.reference.csv"), read_table(folder / f"{case}.current.csv"),
                     method="evidently")
        assert sorted(ours.columns) == sorted(want["columns"]), case
        for name, col in ours.columns.items():
            w = want["columns"][name]
            where = f"{case}/{name}"
            assert col.method == w["method"], where
            assert col.threshold == pytest.approx(w["threshold"]), where
            value = col.distance if col.method in ("wasserstein", "jensenshannon") else col.p_value
            assert value == pytest.approx(w["value"], abs=1e-6, rel=0), where
            assert col.drifted == w["drifted"], where
            methods.add((col.method, "large" if col.n_reference > 1000 else "small", col.kind))
        assert ours.drift_share == pytest.approx(want["drift_share"], abs=1e-12), case
        assert ours.dataset_drifted == want["dataset_drifted"], case
    # every branch of the choice was taken
    assert methods >= {("ks", "small", "number"), ("chisquare", "small", "number"), ("z", "small", "number"),
                       ("chisquare", "small", "category"), ("z", "small", "category"),
                       ("wasserstein", "large", "number"), ("jensenshannon", "large", "number"),
                       ("jensenshannon", "large", "category")}
    assert theirs["half_drifted"]["dataset_drifted"] and not theirs["one_in_four"]["dataset_drifted"]


def test_the_boundary_counts_reference_values_without_the_missing_ones(compared):
    folder, theirs = compared
    # 1,010 rows with 20 empty: 990 values, so K-S where the full columns get distances
    assert theirs["missing_boundary"]["columns"]["price"]["method"] == "ks"
    assert theirs["missing_boundary"]["columns"]["returning"]["method"] == "jensenshannon"
    assert theirs["reference_1000"]["columns"]["price"]["method"] == "ks"
    assert theirs["reference_1001"]["columns"]["price"]["method"] == "wasserstein"


def test_the_command_gives_the_same_as_json(compared):
    folder, theirs = compared
    proc = run_cli("drift", str(folder / "new_category_800.reference.csv"),
                   str(folder / "new_category_800.current.csv"), "--method", "evidently", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    want = theirs["new_category_800"]
    assert doc["dataset_drifted"] == want["dataset_drifted"]
    assert doc["drift_share"] == pytest.approx(want["drift_share"])
    plan = doc["columns"]["plan"]  # "enterprise" was never in the reference: chi-square is infinite
    assert plan["method"] == "chisquare" and plan["statistic"] == "inf" and plan["p_value"] == 0.0
    assert plan["drifted"] is True and want["columns"]["plan"]["drifted"] is True
    assert set(plan) >= {"method", "statistic", "p_value", "distance", "drifted", "ks_statistic", "ks_p_value",
                         "chi2_statistic", "chi2_p_value", "psi"}
