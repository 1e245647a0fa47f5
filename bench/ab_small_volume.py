"""A/B and shadow verdicts at a small shop's volume: 40 outcomes a day, checked every day.

DeskML's verdict (``core/experiments/sequential.py``: a mixture SPRT on the pairs where one
version was right and the other wrong, exact at any sample size) against a plain
two-proportion z-test at 5%, both looked at every day on everything so far.

  * A/A (both versions right 80% of the time), 120 days checked daily: the share of runs
    that ever call a winner (goal for DeskML: at most 5%; the plain z-test: about 39%)
  * 85% vs 75%: the median number of days until the verdict calls the better version,
    in a 50/50 split, a 90/10 split, and in shadow (every input answered by both, so every
    outcome is a pair; the versions' mistakes correlated 0 and 0.5 on a latent scale)

Vectorised over runs with numpy; fixed seeds, so the figures repeat run to run.

    python bench/ab_small_volume.py [--runs 4000]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deskml.core.experiments.sequential import ALPHA, MIN_PAIRS, log_evidence  # noqa: E402

DAYS = 120
PER_DAY = 40


def split_days(rng, runs, pa, pb, share_b=0.5):
    """Per run and day: cumulative (right A, outcomes A, right B, outcomes B), and the
    discordant pairs (outcomes paired in the order they came)."""
    nb = rng.binomial(PER_DAY, share_b, (runs, DAYS))
    na = PER_DAY - nb
    # each outcome's right-or-wrong, in order, per arm: enough for every day
    total = DAYS * PER_DAY
    a_right = rng.random((runs, total)) < pa
    b_right = rng.random((runs, total)) < pb
    ca, cb = np.cumsum(na, axis=1), np.cumsum(nb, axis=1)
    a_cum = np.concatenate([np.zeros((runs, 1), int), np.cumsum(a_right, axis=1)], axis=1)
    b_cum = np.concatenate([np.zeros((runs, 1), int), np.cumsum(b_right, axis=1)], axis=1)
    disc_plus = np.concatenate([np.zeros((runs, 1), int), np.cumsum(b_right & ~a_right, axis=1)], axis=1)
    disc_all = np.concatenate([np.zeros((runs, 1), int), np.cumsum(b_right != a_right, axis=1)], axis=1)
    rows = np.arange(runs)[:, None]
    pairs = np.minimum(ca, cb)
    return (a_cum[rows, ca], ca, b_cum[rows, cb], cb, disc_plus[rows, pairs], disc_all[rows, pairs], pairs)


def shadow_days(rng, runs, pa, pb, rho):
    """Every outcome is a pair: both versions answered the same input."""
    total = DAYS * PER_DAY
    z1 = rng.standard_normal((runs, total))
    z2 = rho * z1 + math.sqrt(1 - rho * rho) * rng.standard_normal((runs, total))
    a, b = z1 < norm.ppf(pa), z2 < norm.ppf(pb)
    ends = np.arange(1, DAYS + 1) * PER_DAY - 1
    plus = np.cumsum(b & ~a, axis=1)[:, ends]
    disc = np.cumsum(a != b, axis=1)[:, ends]
    n = np.broadcast_to((np.arange(1, DAYS + 1) * PER_DAY), plus.shape)
    return plus, disc, n


def deskml_calls(plus, disc, pairs):
    logs = np.vectorize(log_evidence)(plus, disc)
    called = (logs >= math.log(1 / ALPHA)) & (pairs >= MIN_PAIRS)
    return called


def z_calls(ka, na, kb, nb):
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (ka + kb) / (na + nb)
        se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        z = np.abs(kb / nb - ka / na) / se
    return np.nan_to_num(z) > norm.ppf(1 - 0.025)


def first_day(called):
    any_ = called.any(axis=1)
    day = np.where(any_, called.argmax(axis=1) + 1, np.inf)
    return day


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4000)
    args = ap.parse_args()
    rng = np.random.default_rng(12)
    figures = {}
    ka, na, kb, nb, plus, disc, pairs = split_days(rng, args.runs, 0.8, 0.8)
    figures["aa_false_winner_deskml"] = round(float(deskml_calls(plus, disc, pairs).any(axis=1).mean()), 4)
    figures["aa_false_winner_plain_z_daily"] = round(float(z_calls(ka, na, kb, nb).any(axis=1).mean()), 4)
    runs = max(500, args.runs // 4)
    for name, share in (("split_50_50", 0.5), ("split_90_10", 0.1)):
        ka, na, kb, nb, plus, disc, pairs = split_days(rng, runs, 0.75, 0.85, share)
        days = first_day(deskml_calls(plus, disc, pairs))
        figures[f"median_days_85_vs_75_{name}"] = float(np.median(days))
        figures[f"found_within_120_days_{name}"] = round(float(np.isfinite(days).mean()), 3)
        wrong = deskml_calls(plus, disc, pairs) & (2 * plus < disc)
        figures[f"wrong_winner_{name}"] = round(float(wrong.any(axis=1).mean()), 4)
    for rho in (0.0, 0.5):
        plus, disc, n = shadow_days(rng, runs, 0.75, 0.85, rho)
        days = first_day(deskml_calls(plus, disc, n))
        figures[f"median_days_85_vs_75_shadow_rho_{rho}"] = float(np.median(days))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
