"""Which version is right more often? A sequential test that stays valid however often it is
looked at, and is exact at tens of outcomes a day.

Outcomes are taken in pairs (was A right?, was B right?):

* **shadow**: both versions answered the very same input, so each outcome gives a real pair;
* **split** (A/B): the i-th outcome of A with the i-th outcome of B, in the order they came.
  The customers differ, but they are drawn alike, so under "no difference" a pair is as
  likely to favour A as B.

Only pairs where one version was right and the other wrong tell them apart. Under "no
difference" each such *discordant* pair favours B with probability exactly 1/2, whatever the
accuracy, so the test needs no normal approximation. Its evidence is a mixture
likelihood ratio (the mixture SPRT behind mSPRT) with a Beta(H, H) mixture over the share
θ of discordant pairs that favour B:

    Λ = B(H + s, H + m − s) / B(H, H) / 0.5^m        (m discordant pairs, s favour B)

Λ is a nonnegative martingale under "no difference", so by Ville's inequality it ever
reaches 1/α with probability at most α: the verdict may be looked at every day, every
hour, or at every outcome, and stays honest. The always-valid p-value is the smallest
1/Λ so far; a winner is called only when Λ ≥ 1/α. Until then the verdict says how many
more outcomes it would take, if the versions keep doing as they have so far.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import betaln

ALPHA = 0.05
H = 2.0                 # the mixture's Beta(H, H): tuned on bench/ab_small_volume.py (85% vs 75%)
MIN_PAIRS = 10          # below this many pairs, "not enough data yet" whatever Λ says
PLANNING_POINTS = 5.0   # with no difference seen yet: the outcomes needed to tell 5 points apart


def log_evidence(s: int, m: int, h: float = H) -> float:
    """log Λ for m discordant pairs of which s favour B."""
    return float(betaln(h + s, h + m - s) - betaln(h, h) + m * math.log(2.0))


@dataclass
class Verdict:
    mode: str                     # "split" or "shadow"
    pairs: int                    # pairs of outcomes compared
    disagree: int                 # pairs where one version was right and the other wrong
    favour_b: int                 # of those, how many B got right
    accuracy_a: float | None
    accuracy_b: float | None
    evidence: float               # Λ
    p_value: float                # always valid: min over looks of 1/Λ (this look's, if no history)
    winner: str | None            # "A", "B" or None
    more_needed: int | None       # outcomes, if the versions keep doing as so far (None: cannot say)
    words: str

    @property
    def decided(self) -> bool:
        return self.winner is not None


def pairs_of(mode: str, a: list[bool], b: list[bool]) -> list[tuple[bool, bool]]:
    """The pairs: shadow outcomes are pairs already (``a[i]`` and ``b[i]`` for the same
    input); split outcomes are paired in the order they came, the longer list's extra
    outcomes waiting for a partner."""
    if mode == "shadow" and len(a) != len(b):
        raise ValueError("shadow outcomes come in pairs: one for each version, for the same input")
    return list(zip(a, b))


def verdict(mode: str, a: list[bool], b: list[bool], alpha: float = ALPHA, names=("A", "B"),
            p_before: float = 1.0, share_b: float = 0.5) -> Verdict:
    """The verdict on outcomes so far: ``a`` and ``b`` say whether each version was right, in
    the order the outcomes came. ``p_before``: the always-valid p-value of earlier looks (it
    only goes down). ``share_b``: B's share of traffic in a split (to say how many outcomes
    more are needed)."""
    pairs = pairs_of(mode, a, b)
    m = sum(1 for x, y in pairs if x != y)
    s = sum(1 for x, y in pairs if y and not x)
    log_l = log_evidence(s, m)
    evidence = math.exp(min(log_l, 700.0))
    p_value = min(p_before, 1.0 / evidence if evidence > 0 else 1.0)
    acc_a = sum(a) / len(a) if a else None
    acc_b = sum(b) / len(b) if b else None
    winner = None
    if len(pairs) >= MIN_PAIRS and log_l >= math.log(1.0 / alpha):
        winner = "B" if 2 * s > m else "A"
    more = None if winner else outcomes_needed(mode, pairs, s, m, alpha, share_b)
    return Verdict(mode, len(pairs), m, s, acc_a, acc_b, evidence, p_value, winner, more,
                   _words(mode, len(pairs), m, s, winner, more, names, acc_a, acc_b, len(a), len(b)))


def outcomes_needed(mode: str, pairs, s: int, m: int, alpha: float = ALPHA, share_b: float = 0.5) -> int | None:
    """More outcomes until Λ ≥ 1/α, if pairs keep disagreeing as often as so far and in the
    same direction (or, with no direction yet, by PLANNING_POINTS points)."""
    n = len(pairs)
    disagree = (m + 1) / (n + 2)              # a little shrunk: no pair yet is not "never"
    theta = (s + 1) / (m + 2)
    if abs(theta - 0.5) * 2 * disagree * 100 < PLANNING_POINTS:  # accuracy gap = disagree x (2θ - 1)  # no clear direction: plan for the smallest difference
        theta = 0.5 + math.copysign(min(0.49, PLANNING_POINTS / 100 / max(disagree, 1e-3) / 2), theta - 0.5 or 1)
    target = math.log(1.0 / alpha)
    extra = 0
    step = 1
    while True:  # doubling, then bisection, on the number of further discordant pairs
        k = extra + step
        if log_evidence(s + round(theta * k), m + k) >= target or k > 1_000_000:
            break
        extra, step = k, step * 2
    low, high = extra, extra + step
    while high - low > 1:
        mid = (low + high) // 2
        if log_evidence(s + round(theta * mid), m + mid) >= target:
            high = mid
        else:
            low = mid
    if high > 1_000_000:
        return None
    more_pairs = max(math.ceil(high / disagree), MIN_PAIRS - n)
    if mode == "shadow":
        return more_pairs
    return math.ceil(more_pairs / max(min(share_b, 1 - share_b), 1e-3))


def _words(mode, n, m, s, winner, more, names, acc_a, acc_b, n_a, n_b) -> str:
    a, b = names
    seen = (f"{a} was right {acc_a:.0%} of {n_a} times, {b} {acc_b:.0%} of {n_b}" if acc_a is not None
            and acc_b is not None else "no outcomes yet")
    if mode == "shadow":
        split = f"On {n} inputs both answered, they disagreed on {m}: {b} was the right one {s} times."
    else:
        split = f"In {n} pairs of outcomes, one was right and the other wrong {m} times: {b} {s}, {a} {m - s}."
    if winner:
        best, other = (b, a) if winner == "B" else (a, b)
        return (f"{best} is right more often than {other} ({seen}). {split} The evidence holds however often "
                "this is looked at.")
    if n < MIN_PAIRS:
        head = f"Not enough outcomes yet ({seen})."
    else:
        head = f"No winner yet ({seen})."
    tail = f" About {more} more outcomes would be needed if they keep doing as so far." if more else ""
    return head + " " + split + tail
