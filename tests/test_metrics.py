"""Metrics on hand-made samples: pass@k against brute force, maj@k ties, bootstrap CI bounds."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from r1lite.eval.metrics import (
    bootstrap_ci,
    default_ks,
    maj_at_k,
    majority_vote,
    paired_delta_ci,
    pass_at_k,
    per_problem_scores,
    summarize,
    vote_key,
)


def brute_pass_at_k(correct: list[bool], k: int) -> float:
    """Fraction of all k-subsets of the samples that contain at least one correct sample."""
    subsets = list(itertools.combinations(correct, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_matches_brute_force(n: int) -> None:
    for c in range(n + 1):
        samples = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(samples, k), abs=1e-12), (n, c, k)


def test_pass_at_1_is_fraction_correct_and_large_n_is_stable() -> None:
    assert pass_at_k(16, 5, 1) == pytest.approx(5 / 16)
    # C(200, 100) overflows floats; the product form must not.
    value = pass_at_k(200, 3, 100)
    assert 0.0 < value < 1.0
    assert value == pytest.approx(1 - (100 * 99 * 98) / (200 * 199 * 198))


def test_pass_at_k_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k(4, 5, 1)


def test_default_ks() -> None:
    assert default_ks(1) == []
    assert default_ks(4) == [2, 4]
    assert default_ks(6) == [2, 4, 6]
    assert default_ks(16) == [2, 4, 8, 16]


def test_vote_key_normalises_formatting_only() -> None:
    assert vote_key("18") == vote_key("18.00") == vote_key("$18$") == vote_key(" 18 ")
    assert vote_key("1,000") == vote_key("1000")
    assert vote_key("\\dfrac{1}{2}") == vote_key("\\frac{1}{2}")
    assert vote_key("0.5") != vote_key("\\frac{1}{2}")  # equivalence would need the grader; not a format
    assert vote_key(None) is None and vote_key("  ") is None


def test_maj_at_k_tie_goes_to_earliest_first_vote() -> None:
    answers = ["3", "5", "5", "3"]
    assert majority_vote(answers) == 0  # 2-2 tie: "3" voted first
    assert maj_at_k(answers, [False, True, True, False], 4) == 0.0
    assert maj_at_k(answers, [True, False, False, True], 4) == 1.0
    flipped = ["5", "3", "3", "5"]
    assert majority_vote(flipped) == 0
    assert maj_at_k(flipped, [True, False, False, True], 4) == 1.0


def test_maj_at_k_counts_votes_not_order_and_ignores_missing() -> None:
    assert majority_vote(["7", "9", "9"]) == 1  # a clear majority beats the earlier answer
    assert maj_at_k(["7", "9", "9.0"], [False, True, True], 3) == 1.0  # 9 and 9.0 vote together
    assert majority_vote([None, None, "4"]) == 2  # missing answers do not vote
    assert majority_vote([None, None]) is None
    assert maj_at_k([None, None], [False, False], 2) == 0.0


def test_maj_at_k_uses_first_k_samples_only() -> None:
    answers, correct = ["1", "2", "2", "2"], [True, False, False, False]
    assert maj_at_k(answers, correct, 1) == 1.0
    assert maj_at_k(answers, correct, 2) == 1.0  # 1-1 tie: "1" first
    assert maj_at_k(answers, correct, 3) == 0.0
    with pytest.raises(ValueError):
        maj_at_k(answers, correct, 5)


def test_per_problem_scores_hand_example() -> None:
    correct = [[True, False, True, False], [False, False, False, False], [True, True, True, True]]
    answers = [["1", "2", "1", "2"], ["9", "9", None, "8"], ["3", "3", "3", "3"]]
    scores = per_problem_scores(correct, answers)
    assert list(scores) == ["mean@4", "pass@2", "pass@4", "maj@2", "maj@4"]
    assert scores["mean@4"] == [0.5, 0.0, 1.0]
    assert scores["pass@2"] == pytest.approx([brute_pass_at_k(correct[0], 2), 0.0, 1.0])
    assert scores["pass@4"] == [1.0, 0.0, 1.0]
    assert scores["maj@4"] == [1.0, 0.0, 1.0]  # problem 0: 2-2 tie, "1" first and correct
    greedy = per_problem_scores([[True], [False]], [["1"], ["2"]], greedy=True)
    assert list(greedy) == ["greedy"] and greedy["greedy"] == [1.0, 0.0]
    with pytest.raises(ValueError, match="same number"):
        per_problem_scores([[True], [True, False]], [["1"], ["1", "2"]])


def test_bootstrap_ci_bounds_and_determinism() -> None:
    rng = random.Random(1)
    values = [float(rng.random() < 0.3) for _ in range(300)]
    lo, hi = bootstrap_ci(values, seed=0)
    mean = float(np.mean(values))
    assert 0.0 <= lo < mean < hi <= 1.0
    assert bootstrap_ci(values, seed=0) == (lo, hi)  # seeded
    continuous = [rng.random() for _ in range(50)]
    assert bootstrap_ci(continuous, seed=3) == bootstrap_ci(continuous, seed=3)
    assert bootstrap_ci(continuous, seed=3) != bootstrap_ci(continuous, seed=4)  # the seed is actually used
    # normal approximation of the binomial interval: +-1.96 * sqrt(p(1-p)/N)
    half = 1.96 * (mean * (1 - mean) / len(values)) ** 0.5
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.15)
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)
    assert bootstrap_ci([0.25]) == (0.25, 0.25)
    with pytest.raises(ValueError):
        bootstrap_ci([])


def test_bootstrap_ci_shrinks_with_more_problems_and_covers_the_truth() -> None:
    rng = np.random.default_rng(7)
    small = bootstrap_ci(rng.binomial(1, 0.4, 50).astype(float))
    large = bootstrap_ci(rng.binomial(1, 0.4, 2000).astype(float))
    assert (large[1] - large[0]) < (small[1] - small[0]) / 4
    covered = 0
    for rep in range(100):
        lo, hi = bootstrap_ci(rng.binomial(1, 0.4, 200).astype(float), n_boot=400, seed=rep)
        covered += lo <= 0.4 <= hi
    assert 85 <= covered <= 100  # nominal 95%


def test_paired_delta_ci() -> None:
    a = [0.0, 1.0, 0.0, 1.0] * 25
    delta, lo, hi = paired_delta_ci(a, a)
    assert (delta, lo, hi) == (0.0, 0.0, 0.0)
    b = [1.0] * 100
    delta, lo, hi = paired_delta_ci(a, b)
    assert delta == pytest.approx(0.5) and 0 < lo <= delta <= hi
    with pytest.raises(ValueError, match="same non-empty"):
        paired_delta_ci(a, b[:10])


def test_summarize_schema() -> None:
    out = summarize({"mean@2": [0.0, 0.5, 1.0]}, n_boot=200)
    assert out["mean@2"]["value"] == pytest.approx(0.5)
    lo, hi = out["mean@2"]["ci"]
    assert 0.0 <= lo <= 0.5 <= hi <= 1.0
