"""Accuracy metrics for sampled evaluation: mean@n, unbiased pass@k, maj@k, bootstrap CIs.

Published R1-Zero numbers move by points with these choices, so each one is spelled out:

* ``mean@n``: the average over problems of ``c/n`` (``c`` correct of ``n`` samples), the
  pass@1 estimate from ``n`` samples. With ``n = 1`` and temperature 0 it is greedy accuracy.
* ``pass@k``: the unbiased estimator of Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)``,
  computed as a numerically stable product (no huge binomials).
* ``maj@k``: majority vote over the extracted answers of the *first* ``k`` samples (samples are
  i.i.d., so the first ``k`` are an unbiased draw). Missing answers do not vote. Answers are
  grouped by :func:`vote_key` (whitespace, ``$``, ``\\left``/``\\right``, ``\\dfrac`` and plain
  number formatting normalised: ``18``, ``18.00`` and ``1,000``/``1000`` vote together).
  **Tie rule**: among answers with the top count, the one whose first vote came earliest wins.
  The problem counts as solved when that answer was graded correct.
* Confidence intervals: percentile bootstrap over *problems* (the unit that was sampled from
  the benchmark), seeded, so the same inputs give the same interval.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

DEFAULT_BOOTSTRAP = 1000
DEFAULT_ALPHA = 0.05


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: probability that ``k`` of the ``n`` samples include a correct one."""
    if not (0 <= c <= n) or n < 1:
        raise ValueError(f"pass@k needs 0 <= c <= n and n >= 1, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n = {n} samples; sample more (--n) or lower k")
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k)/C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i)
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def default_ks(n: int) -> list[int]:
    """The k values worth reporting for ``n`` samples: powers of two below ``n``, and ``n``, all > 1."""
    ks = [k for k in (2**i for i in range(1, 20)) if k < n]
    if n > 1:
        ks.append(n)
    return ks


_NOISE = ("\\left", "\\right", "\\!", "\\,", "\\;", "\\displaystyle")
_PLAIN_NUMBER = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$")


def vote_key(answer: str | None) -> str | None:
    """The form under which an extracted answer votes in maj@k; None for no answer.

    Only formatting is normalised (never gold-aware equivalence, which would leak the gold into
    the vote): ``$18.00$`` and ``18`` share a key, ``1/2`` and ``0.5`` do not.
    """
    if answer is None:
        return None
    s = answer.strip().strip("$").strip()
    for noise in _NOISE:
        s = s.replace(noise, "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = "".join(s.split()).rstrip(".")
    if not s:
        return None
    if _PLAIN_NUMBER.match(s) and any(ch.isdigit() for ch in s):
        value = Fraction(s.replace(",", ""))
        return str(value.numerator) if value.denominator == 1 else str(value)
    return s


def majority_vote(answers: Sequence[str | None]) -> int | None:
    """Index of the sample whose answer wins the vote (tie: earliest first vote), None if nobody answered."""
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, answer in enumerate(answers):
        key = vote_key(answer)
        if key is None:
            continue
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, i)
    if not counts:
        return None
    best = max(counts.values())
    winner = min((first[key] for key, count in counts.items() if count == best))
    return winner


def maj_at_k(answers: Sequence[str | None], correct: Sequence[bool], k: int) -> float:
    """1.0 when the majority answer of the first ``k`` samples was graded correct, else 0.0."""
    if len(answers) != len(correct):
        raise ValueError(f"maj@k: {len(answers)} answers but {len(correct)} verdicts")
    if not 1 <= k <= len(answers):
        raise ValueError(f"maj@{k} needs 1 <= k <= {len(answers)} samples")
    winner = majority_vote(answers[:k])
    return float(winner is not None and bool(correct[winner]))


def per_problem_scores(
    correct: Sequence[Sequence[bool]],
    answers: Sequence[Sequence[str | None]],
    ks: Sequence[int] | None = None,
    greedy: bool = False,
) -> dict[str, list[float]]:
    """Per-problem values of every metric (the bootstrap and paired comparisons resample these).

    ``correct[i][j]``/``answers[i][j]``: verdict and extracted answer of sample ``j`` of problem
    ``i``; every problem needs the same number of samples ``n``. Returns ``mean@n`` (named
    ``greedy`` when ``greedy``), ``pass@k`` and ``maj@k`` for each ``k`` in ``ks``.
    """
    if not correct:
        raise ValueError("no problems to score")
    n = len(correct[0])
    if n < 1 or any(len(row) != n for row in correct) or len(answers) != len(correct):
        raise ValueError("every problem needs the same number (>= 1) of samples, verdicts and answers")
    ks = default_ks(n) if ks is None else list(ks)
    out: dict[str, list[float]] = {("greedy" if greedy else f"mean@{n}"): [sum(map(bool, r)) / n for r in correct]}
    for k in ks:
        out[f"pass@{k}"] = [pass_at_k(n, sum(map(bool, r)), k) for r in correct]
    for k in ks:
        out[f"maj@{k}"] = [maj_at_k(a, r, k) for a, r in zip(answers, correct, strict=True)]
    return out


def bootstrap_ci(
    values: Sequence[float], n_boot: int = DEFAULT_BOOTSTRAP, alpha: float = DEFAULT_ALPHA, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap ``(low, high)`` for the mean of per-problem ``values``.

    The interval covers how much the score would move on another draw of problems of the same
    kind; one problem gives a zero-width interval (there is nothing to resample).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if not 0 < alpha < 1 or n_boot < 1:
        raise ValueError(f"need 0 < alpha < 1 and n_boot >= 1, got alpha={alpha}, n_boot={n_boot}")
    rng = np.random.default_rng(seed)
    means = _resampled_means(x, n_boot, rng)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _resampled_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (chunked so 1000 x 10k problems stays a few MB)."""
    out = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(1, x.size))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        out[start:stop] = x[idx].mean(axis=1)
    return out


def paired_delta_ci(
    a: Sequence[float], b: Sequence[float], n_boot: int = DEFAULT_BOOTSTRAP, alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(delta, low, high)`` for ``mean(b) - mean(a)`` with a paired bootstrap over the same problems.

    Pairing removes the between-problem variance both runs share, so it is the right test when
    two models answered the same problems.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"paired comparison needs the same non-empty problem list, got {len(a)} and {len(b)}")
    diff = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    lo, hi = bootstrap_ci(diff, n_boot=n_boot, alpha=alpha, seed=seed)
    return float(diff.mean()), lo, hi


def summarize(
    scores: dict[str, list[float]], n_boot: int = DEFAULT_BOOTSTRAP, alpha: float = DEFAULT_ALPHA, seed: int = 0
) -> dict[str, dict[str, float | list[float]]]:
    """``{metric: {"value": mean, "ci": [low, high]}}`` for per-problem ``scores``."""
    out: dict[str, dict[str, float | list[float]]] = {}
    for name, values in scores.items():
        lo, hi = bootstrap_ci(values, n_boot=n_boot, alpha=alpha, seed=seed)
        out[name] = {"value": float(np.mean(values)), "ci": [lo, hi]}
    return out
