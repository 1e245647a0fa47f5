"""Runs inside the test-only evidently environment (not DeskML's): evidently's default
data drift (``DataDriftPreset()`` with no options) on pairs of CSV files, as its users call
it, printed as JSON for tests/test_drift_evidently.py.

    python harness.py CASES_FOLDER   (each case: NAME.reference.csv and NAME.current.csv)
"""
import json
import sys
import warnings
from pathlib import Path

import pandas as pd
from evidently import Dataset, Report
from evidently.presets import DataDriftPreset

METHODS = {"K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
           "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon"}

warnings.simplefilter("ignore")
out = {}
for ref_path in sorted(Path(sys.argv[1]).glob("*.reference.csv")):
    case = ref_path.name[: -len(".reference.csv")]
    reference = pd.read_csv(ref_path)
    current = pd.read_csv(ref_path.with_name(case + ".current.csv"))
    try:
        snapshot = Report([DataDriftPreset()], include_tests=True).run(Dataset.from_pandas(current),
                                                                          Dataset.from_pandas(reference))
    except Exception as exc:  # evidently refuses some data (an empty column): say so
        out[case] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    doc = snapshot.dict()
    columns, share = {}, None
    for metric in doc["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
        elif config["type"].endswith("ValueDrift"):
            columns[config["column"]] = {"method": METHODS[config["method"]], "value": metric["value"],
                                         "threshold": config["threshold"]}
    dataset_drifted = None
    failed = lambda test: getattr(test["status"], "value", test["status"]) == "FAIL"  # noqa: E731
    for test in doc["tests"]:
        if test["name"].startswith("Value Drift for column "):
            columns[test["name"][len("Value Drift for column "):]]["drifted"] = failed(test)
        elif test["name"].startswith("Share of Drifted Columns"):
            dataset_drifted = failed(test)
    out[case] = {"columns": columns, "drift_share": share, "dataset_drifted": dataset_drifted}
print(json.dumps(out))
