"""``repetition``: n-gram repetition penalty (as in open-r1, after Yeo et al., 2025).

Small models under RL often loop ("so the answer is so the answer is ..."); the share of
repeated n-grams measures it directly and cheaply.
"""

from __future__ import annotations

import re
from typing import Any

from r1lite.rewards.base import completion_texts, report, reward_rule

# A word is a run of letters/digits, or a single CJK character (Chinese/Japanese have no spaces).
_TOKEN_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+(?:'[^\W_]+)?")


def words(text: str) -> list[str]:
    """Lower-cased words; each CJK character counts as one."""
    return _TOKEN_RE.findall(text.lower())


def repetition_penalty(text: str, n: int = 3, max_penalty: float = -1.0) -> float:
    """``max_penalty * (1 - distinct n-grams / total n-grams)``; 0.0 below ``n`` words."""
    toks = words(text)
    total = len(toks) - n + 1
    if total <= 0:
        return 0.0
    distinct = len({tuple(toks[i : i + n]) for i in range(total)})
    return max_penalty * (1.0 - distinct / total) + 0.0  # + 0.0: no -0.0 in logs


@reward_rule("repetition")
def repetition(
    completions: list[Any], n: int = 3, max_penalty: float = -1.0, **kwargs: Any
) -> list[float | None]:
    """0.0 for text without repeated word ``n``-grams, down to ``max_penalty`` when nearly every
    n-gram is a repeat: ``max_penalty * (1 - distinct/total)``. Completions shorter than ``n``
    words score 0.0. Diagnostic: ``penalised`` (share with any repetition).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"repetition: n must be a positive integer, got {n!r}")
    if max_penalty > 0:
        raise ValueError(f"repetition: max_penalty must be <= 0 (it is a penalty), got {max_penalty}")
    scores = [repetition_penalty(t, n, max_penalty) for t in completion_texts(completions)]
    report("repetition", {"penalised": sum(s < 0 for s in scores)}, len(scores), kwargs)
    return scores  # type: ignore[return-value]
