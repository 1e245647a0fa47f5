"""The estimate of accuracy before outcomes (CBPE), at a small shop's volume, in one run.

A model is over-confident in a way the reference shows: on a 3,000-row labelled reference it
is right conf**1.6 of the time when it says conf (conf between 50% and 100%). Each day
brings predictions of new cases; DeskML's estimate (``core/quality/estimate.py``) and its
95% band are computed from their confidences alone, then set against what happened.

  * coverage: the share of days whose realised accuracy falls inside the band, when the
    link between confidence and being right holds (goal: about 95%; at 40 and 200 a day)
  * the naive estimate, the mean confidence, for the same days: how far off it is
  * a changed world, right 10 or 15 points less often than the confidence says: the share of
    checks against outcomes that say so (at 40 and 200 outcomes)

Fixed seeds: the figures repeat run to run.

    python bench/estimate_band.py [--days 2000]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskml.core.quality.estimate import Estimator  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 3000)
    t0 = time.perf_counter()
    est = Estimator(conf, rng.random(3000) < conf ** 1.6)
    figures = {"learn_s": round(time.perf_counter() - t0, 3)}
    for per_day in (40, 200):
        inside = naive_off = est_off = 0.0
        for _ in range(args.days):
            c = rng.uniform(0.5, 1.0, per_day)
            realised = (rng.random(per_day) < c ** 1.6).mean()
            f = est.estimate(c)
            inside += f.low <= realised <= f.high
            est_off += abs(f.value - realised)
            naive_off += abs(c.mean() - realised)
        figures[f"coverage_{per_day}_a_day"] = round(inside / args.days, 3)
        figures[f"mean_error_points_{per_day}_a_day"] = round(100 * est_off / args.days, 1)
        figures[f"naive_mean_error_points_{per_day}_a_day"] = round(100 * naive_off / args.days, 1)
    for drop in (0.10, 0.15):
        for n in (40, 200):
            said = 0
            trials = 500
            for _ in range(trials):
                c = rng.uniform(0.5, 1.0, n)
                check = est.check(c, rng.random(n) < c ** 1.6 - drop)
                said += (not check["agrees"]) and check["realised"].value < check["estimated"].low
            figures[f"drop_{int(drop * 100)}_points_found_at_{n}_outcomes"] = round(said / trials, 3)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
