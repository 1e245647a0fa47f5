"""The A/B and shadow verdict: its evidence is the mixture likelihood ratio it claims to be,
it calls no winner between equal versions however often it is looked at, it finds a real
difference and names the right one, and it says how many more outcomes it needs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import beta

from deskml.core.experiments.sequential import ALPHA, H, MIN_PAIRS, log_evidence, verdict


@pytest.mark.parametrize("s,m", [(0, 0), (3, 5), (17, 20), (40, 100)])
def test_the_evidence_is_the_beta_mixture_likelihood_ratio(s, m):
    mixture, _ = quad(lambda t: t ** s * (1 - t) ** (m - s) * beta.pdf(t, H, H), 0, 1, epsabs=0, epsrel=1e-12)
    assert log_evidence(s, m) == pytest.approx(math.log(mixture / 0.5 ** m), rel=1e-9, abs=1e-9)


def test_equal_versions_looked_at_every_day_for_120_days_rarely_get_a_winner():
    rng = np.random.default_rng(5)
    called = 0
    for _ in range(400):
        a = rng.random(120 * 20) < 0.8
        b = rng.random(120 * 20) < 0.8
        plus = np.cumsum(b & ~a)[19::20]
        disc = np.cumsum(a != b)[19::20]
        called += any(log_evidence(int(p), int(d)) >= math.log(1 / ALPHA) for p, d in zip(plus, disc))
    assert called / 400 <= ALPHA


def test_a_better_version_is_found_and_named():
    rng = np.random.default_rng(6)
    a = list(rng.random(400) < 0.70)
    b = list(rng.random(400) < 0.90)
    v = verdict("split", a, b, names=("version 1", "version 2"))
    assert v.winner == "B" and v.p_value < ALPHA and v.evidence >= 1 / ALPHA
    assert v.words.startswith("version 2 is right more often than version 1")
    assert verdict("split", b, a).winner == "A"


def test_too_few_outcomes_is_not_a_verdict_and_says_how_many_more():
    v = verdict("shadow", [False] * 5, [True] * 5)
    assert v.winner is None and v.words.startswith("Not enough outcomes yet") and v.more_needed >= MIN_PAIRS - 5
    # 40 pairs, B right on 12 of the 16 where they disagree: no winner yet, and a forecast
    a = [True] * 24 + [True] * 4 + [False] * 12
    b = [True] * 24 + [False] * 4 + [True] * 12
    v = verdict("shadow", a, b)
    assert v.winner is None and v.disagree == 16 and v.favour_b == 12 and v.more_needed > 0
    assert f"About {v.more_needed} more outcomes" in v.words
    # the forecast holds: that many more outcomes, doing as so far, give the verdict
    k = v.more_needed
    reps = math.ceil(k / 40)
    v2 = verdict("shadow", a * (reps + 1), b * (reps + 1))
    assert v2.winner == "B"
    with pytest.raises(ValueError):
        verdict("shadow", [True], [True, False])
