"""DeskML's own drift verdict (honest at small samples), data quality, the extra figures
(K-S, chi-square, PSI) and ``deskml drift`` on files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from scipy import stats

from deskml.core.errors import UsageError
from deskml.core.quality import figures
from deskml.core.quality.drift import check, check_windows
from deskml.core.quality.result import to_json


def shop(rng, n, basket_factor=1.0, empty_income=0.0):
    frame = pd.DataFrame({"basket": rng.lognormal(3.4, 0.4, n) * basket_factor,
                          "age": rng.integers(18, 80, n),
                          "income": rng.normal(40_000, 8_000, n),
                          "payment": rng.choice(["card", "cash"], n, p=[0.7, 0.3])})
    frame.loc[rng.random(n) < empty_income, "income"] = np.nan
    return frame


def test_a_shift_is_found_and_said_in_plain_words():
    rng = np.random.default_rng(1)
    result = check(shop(rng, 2000), shop(rng, 60, basket_factor=1.2))
    basket = result.columns["basket"]
    assert basket.drifted and result.dataset_drifted and result.drifted_columns == ["basket"]
    assert "basket values are about" in basket.change and "higher than in the reference data" in basket.change
    said = int(basket.change.split("about ")[1].split("%")[0])
    assert 10 <= said <= 30  # 20% higher, seen through 60 rows
    assert result.summary.startswith("The inputs have changed: basket values are about")


def test_too_few_rows_say_how_many_more_are_needed_and_raise_nothing():
    rng = np.random.default_rng(2)
    result = check(shop(rng, 2000), shop(rng, 6, basket_factor=3.0))  # a big change, but 6 rows
    assert not result.dataset_drifted
    basket = result.columns["basket"]
    assert basket.drifted is None and basket.needed > 6
    assert result.more_needed == max(c.needed for c in result.columns.values()) - 6
    assert result.summary == f"Not enough data yet: about {result.more_needed} more predictions."


def test_unchanged_data_rarely_alarms_however_many_inputs():
    """Holm's correction: 200 checks of 30 unchanged inputs at 40 rows: at most 0.5% + noise."""
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(rng.normal(size=(2000, 30)), columns=[f"x{i}" for i in range(30)])
    alarms = sum(check(reference, pd.DataFrame(rng.normal(size=(40, 30)), columns=reference.columns)).dataset_drifted
                 for _ in range(200))
    assert alarms <= 4  # binomial(200, 0.005): more than 4 has a chance under 2%


def test_a_tiny_change_in_a_huge_sample_is_not_called_drift():
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 100_000)})
    current = pd.DataFrame({"x": rng.normal(0.03, 1, 200_000)})
    col = check(reference, current).columns["x"]
    assert col.p_value_adjusted < 1e-6 and col.effect < 0.1  # significant, but too small to matter
    assert col.drifted is False


def test_empty_values_are_data_quality_not_drift_and_evidently_misses_them():
    rng = np.random.default_rng(5)
    reference, current = shop(rng, 800), shop(rng, 100, empty_income=0.6)
    ours = check(reference, current)
    assert any("income is empty in" in issue for issue in ours.quality["income"]["issues"])
    assert ours.quality["income"]["missing_current"] == pytest.approx(current["income"].isna().mean())
    theirs = check(reference, current, method="evidently")  # K-S on the values left: no drift
    assert theirs.columns["income"].drifted is False and theirs.columns["income"].n_current < 60
    assert not check(reference, shop(rng, 100)).quality["income"]["issues"]


def test_new_categories_and_numbers_out_of_range_are_reported():
    rng = np.random.default_rng(6)
    reference, current = shop(rng, 2000), shop(rng, 80)
    current.loc[:19, "payment"] = "crypto"
    current.loc[:9, "age"] = 130
    result = check(reference, current)
    payment, age = result.quality["payment"], result.quality["age"]
    assert payment["new_categories_current"] == pytest.approx(20 / 80) and payment["new_values"] == ["crypto"]
    assert any("never in the reference data ('crypto')" in issue for issue in payment["issues"])
    assert age["out_of_range_current"] == pytest.approx(10 / 80)
    assert any("outside the reference data's range" in issue for issue in age["issues"])


def test_windows_share_the_false_alarm_budget():
    rng = np.random.default_rng(7)
    reference = shop(rng, 2000)
    results = check_windows(reference, {"today": shop(rng, 40), "week": shop(rng, 280)})
    assert set(results) == {"today", "week"}
    assert all(c.threshold == pytest.approx(0.0025) for r in results.values() for c in r.columns.values())


def test_the_extra_figures_are_scipys_and_psi_follows_its_definition():
    rng = np.random.default_rng(8)
    ref, cur = pd.Series(rng.normal(size=500)), pd.Series(rng.normal(0.5, 1, size=80))
    d, p = figures.ks(ref, cur)
    assert (d, p) == stats.ks_2samp(ref, cur)[:2]
    # PSI by hand: deciles of the reference as inner edges, right-closed bins
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    bins = [-np.inf, *edges, np.inf]
    ref_share = np.array([((ref > a) & (ref <= b)).mean() for a, b in zip(bins, bins[1:])])
    cur_share = np.array([((cur > a) & (cur <= b)).mean() for a, b in zip(bins, bins[1:])])
    cur_share[cur_share == 0] = 1e-4
    assert figures.psi(ref, cur, numeric=True) == pytest.approx(
        np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)), abs=1e-12)
    # categories: one bin per value of either side; a value never seen gets 1e-4, no renormalising
    ref_c, cur_c = pd.Series(["a"] * 6 + ["b"] * 4), pd.Series(["a"] * 2 + ["c"] * 2)
    want = (0.5 - 0.6) * np.log(0.5 / 0.6) + (1e-4 - 0.4) * np.log(1e-4 / 0.4) + (0.5 - 1e-4) * np.log(0.5 / 1e-4)
    assert figures.psi(ref_c, cur_c, numeric=False) == pytest.approx(want, abs=1e-12)
    stat, p = figures.chi2_counts(pd.Series(["a"] * 60 + ["b"] * 40), pd.Series(["a"] * 5 + ["b"] * 15))
    assert (stat, p) == pytest.approx(stats.chisquare([5, 15], [12, 8])[:2])


def test_json_writes_infinity_as_a_string_and_has_every_field():
    reference = pd.DataFrame({"plan": ["a", "b"] * 300})
    current = pd.DataFrame({"plan": ["a", "c"] * 20})
    doc = to_json(check(reference, current, method="evidently"))
    plan = doc["columns"]["plan"]
    assert plan["method"] == "chisquare" and plan["statistic"] == "inf" and plan["chi2_statistic"] == "inf"
    assert plan["p_value"] == 0.0 and plan["distance"] is None and plan["ks_statistic"] is None
    json.dumps(doc, allow_nan=False)  # strict JSON: no NaN or Infinity tokens


def test_the_command_on_csv_and_excel_files(tmp_path):
    rng = np.random.default_rng(9)
    shop(rng, 1500).to_csv(tmp_path / "reference.csv", index=False)
    shop(rng, 50, basket_factor=1.5).to_excel(tmp_path / "today.xlsx", index=False)
    proc = run_cli("drift", tmp_path / "reference.csv", tmp_path / "today.xlsx")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("The inputs have changed: basket values are about")
    assert "Compared 50 rows with 1500 reference rows." in proc.stdout
    doc = json.loads(run_cli("drift", tmp_path / "reference.csv", tmp_path / "today.xlsx", "--json").stdout)
    assert doc["method"] == "deskml" and doc["dataset_drifted"] is True
    assert doc["columns"]["basket"]["drifted"] is True and doc["columns"]["age"]["drifted"] is False


def test_bad_files_get_a_clear_message(tmp_path):
    (tmp_path / "ref.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "other.csv").write_text("x,y\n1,2\n")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81\x00garbage")
    proc = run_cli("drift", tmp_path / "ref.csv", tmp_path / "missing.csv")
    assert proc.returncode == 2 and "There is no file at" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("drift", tmp_path / "ref.csv", tmp_path / "other.csv")
    assert proc.returncode == 2 and "share no column" in proc.stderr
    proc = run_cli("drift", tmp_path / "ref.csv", tmp_path / "other.csv", "--method", "evidently")
    assert proc.returncode == 2 and "has no column 'x'" in proc.stderr
    proc = run_cli("drift", tmp_path / "ref.csv", tmp_path / "binary.csv")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    with pytest.raises(UsageError):
        check(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [1.0]}), method="magic")
