"""Drift at a small shop's volume: DeskML's verdict against Evidently's defaults, in one run.

The reference is 2,000 rows of 8 mixed inputs (a shop's orders: basket value, age, visits,
a credit score, member 0/1, payment, region, discount); each day brings 40 rows. DeskML
alerts as the app does: today's rows and the last 7 days' rows are both checked, the 0.5%
false-alarm budget split between them (half the goal: 500 days are too few to tell 1% apart
from a little more). Evidently: ``DataDriftPreset()`` as it is, on the
day (DeskML's reproduction, checked equal to evidently itself by tests/test_drift_evidently.py);
its data set drift (half the columns) and "any column drifted" are both shown.

  * 500 unchanged days: the share of days with a drift alert      (goal for DeskML: <= 1%)
  * a 1-standard-deviation shift in one input, that day: share flagged the same day (goal >= 80%)
  * a 0.5-sd shift from day 1 on: share flagged within 7 days      (goal >= 95%)

Shifts move one of the four number inputs by that many of its standard deviations
(cycling through them). Fixed seeds: the figures repeat run to run.

    python bench/drift_small_days.py [--days 500] [--trials 200]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskml.core.quality.drift import check_windows  # noqa: E402
from deskml.core.quality.evidently import evidently_drift  # noqa: E402

DAY = 40
NUMBERS = ("basket", "age", "visits", "score")


def orders(rng, n: int, shift: dict | None = None) -> pd.DataFrame:
    shift = shift or {}
    frame = pd.DataFrame({
        "basket": np.round(rng.lognormal(3.4, 0.5, n), 2),
        "age": rng.integers(18, 80, n),
        "visits": rng.poisson(3, n),
        "score": np.round(rng.normal(600, 50, n)),
        "member": (rng.random(n) < 0.35).astype(int),
        "payment": rng.choice(["card", "cash", "voucher"], n, p=[0.6, 0.3, 0.1]),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "discount": rng.choice([0, 5, 10], n, p=[0.5, 0.3, 0.2]),
    })
    for name, sd in shift.items():
        frame[name] = frame[name] + sd * SD[name]
        if name in ("age", "visits"):
            frame[name] = np.round(frame[name]).astype(int)
    return frame


SD = {}


def deskml_alert(reference, days: list[pd.DataFrame]) -> bool:
    """The app's daily alert: today's window and the last 7 days' (the list's last 7)."""
    results = check_windows(reference, {"today": days[-1], "week": pd.concat(days[-7:], ignore_index=True)})
    return any(r.dataset_drifted for r in results.values())


def evidently_alert(reference, today) -> tuple[bool, bool]:
    result = evidently_drift(reference, today)
    return result.dataset_drifted, bool(result.drifted_columns)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=500)
    ap.add_argument("--trials", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    reference = orders(rng, 2000)
    SD.update({name: float(reference[name].std()) for name in NUMBERS})
    t0 = time.perf_counter()
    out = {"reference_rows": len(reference), "rows_per_day": DAY}

    # 1. unchanged days
    history = [orders(rng, DAY) for _ in range(6)]
    ours, theirs_dataset, theirs_any = 0, 0, 0
    for _ in range(args.days):
        history = history[-6:] + [orders(rng, DAY)]
        ours += deskml_alert(reference, history)
        dataset, any_column = evidently_alert(reference, history[-1])
        theirs_dataset += dataset
        theirs_any += any_column
    out["unchanged_days"] = args.days
    out["false_alarm_days_deskml"] = round(ours / args.days, 4)
    out["false_alarm_days_evidently_dataset"] = round(theirs_dataset / args.days, 4)
    out["false_alarm_days_evidently_any_column"] = round(theirs_any / args.days, 4)

    # 2. a 1-sd shift in one input: flagged that same day?
    ours, theirs = 0, 0
    for trial in range(args.trials):
        name = NUMBERS[trial % len(NUMBERS)]
        days = [orders(rng, DAY) for _ in range(6)] + [orders(rng, DAY, {name: 1.0})]
        ours += deskml_alert(reference, days)
        theirs += evidently_alert(reference, days[-1])[0]
    out["shift_1sd_days"] = args.trials
    out["shift_1sd_flagged_same_day_deskml"] = round(ours / args.trials, 4)
    out["shift_1sd_flagged_same_day_evidently_dataset"] = round(theirs / args.trials, 4)

    # 3. a 0.5-sd shift from day 1 on: flagged within 7 days?
    ours, when = 0, []
    runs = max(args.trials // 2, 1)
    for trial in range(runs):
        name = NUMBERS[trial % len(NUMBERS)]
        days = [orders(rng, DAY) for _ in range(6)]
        for day in range(1, 8):
            days = days[-6:] + [orders(rng, DAY, {name: 0.5})]
            if deskml_alert(reference, days):
                ours += 1
                when.append(day)
                break
    out["shift_05sd_runs"] = runs
    out["shift_05sd_flagged_within_7_days_deskml"] = round(ours / runs, 4)
    out["shift_05sd_median_day_flagged"] = float(np.median(when)) if when else None

    out["goals"] = {"false_alarm_days_deskml": "<= 0.01", "shift_1sd_flagged_same_day_deskml": ">= 0.80",
                    "shift_05sd_flagged_within_7_days_deskml": ">= 0.95"}
    out["met"] = {"false_alarm_days_deskml": out["false_alarm_days_deskml"] <= 0.01,
                  "shift_1sd_flagged_same_day_deskml": out["shift_1sd_flagged_same_day_deskml"] >= 0.80,
                  "shift_05sd_flagged_within_7_days_deskml": out["shift_05sd_flagged_within_7_days_deskml"] >= 0.95}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
