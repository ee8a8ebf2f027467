"""The paired-seed statistics of the benchmarks: the exact sign-flip test must stay exact (same p as enumerating
every sign pattern) and fast enough for 20-40 seeds, and its inverted interval must agree with the test."""

from __future__ import annotations

import itertools
import random

import pytest
from bench_loader import load_bench


def brute_p(diffs: list[float]) -> float:
    """The definition: the share of the 2^n sign patterns whose |sum| reaches the observed |sum|."""
    observed = abs(sum(diffs))
    patterns = list(itertools.product((1, -1), repeat=len(diffs)))
    return sum(abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-12
               for signs in patterns) / len(patterns)


@pytest.mark.parametrize("n", [1, 2, 5, 9, 12])
def test_sign_flip_p_equals_enumeration(n: int) -> None:
    bench = load_bench("algos")
    rng = random.Random(n)
    for _ in range(5):  # accuracies on 100 problems: differences on a 0.01 grid, so ties are common
        diffs = [round(rng.gauss(-0.03, 0.1), 2) for _ in range(n)]
        assert bench.sign_flip_p(diffs) == pytest.approx(brute_p(diffs), abs=1e-12)


def test_sign_flip_p_edge_cases() -> None:
    bench = load_bench("algos")
    assert bench.sign_flip_p([]) is None
    assert bench.sign_flip_p([0.0, 0.0, 0.0]) == 1.0  # no difference at all: every pattern ties
    assert bench.sign_flip_p([0.1] * 26) == pytest.approx(2 / 2 ** 26)  # 26 seeds: only all-+ and all--
    assert bench.sign_flip_p([0.1, -0.1] * 13) == 1.0


def test_sign_flip_interval_inverts_the_test() -> None:
    bench = load_bench("algos")
    rng = random.Random(7)
    diffs = [round(rng.gauss(-0.05, 0.1), 2) for _ in range(24)]
    lo, hi = bench.sign_flip_interval(diffs, level=0.95)
    mean = sum(diffs) / len(diffs)
    assert lo < mean < hi and hi - lo < 0.2
    # inside the interval the shifted differences are not rejected at 5%; just outside they are
    assert bench.sign_flip_p([d - lo for d in diffs]) >= 0.05 and bench.sign_flip_p([d - hi for d in diffs]) >= 0.05
    assert bench.sign_flip_p([d - (lo - 0.002) for d in diffs]) < 0.05
    assert bench.sign_flip_p([d - (hi + 0.002) for d in diffs]) < 0.05
    # 0 is inside exactly when the test of "no difference" does not reject
    assert (lo <= 0 <= hi) == (bench.sign_flip_p(diffs) >= 0.05)
    # too few seeds to reject anything (2 / 2^5 > 0.05): no interval rather than a made-up one
    assert bench.sign_flip_interval([0.1, 0.2, 0.3, 0.1, 0.2]) is None
