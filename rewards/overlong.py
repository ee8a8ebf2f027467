"""``overlong``: DAPO's soft overlong punishment (Yu et al., 2025, eq. 13).

Truncated completions get no answer, so accuracy alone gives them 0 like any wrong answer;
a length penalty that ramps up just before the limit teaches the model to finish in time
without punishing long-but-finished reasoning.
"""

from __future__ import annotations

from typing import Any

from r1lite.rewards.base import completion_texts, report, reward_rule


def overlong_penalty(length: int, max_len: int, buffer: int) -> float:
    """0 up to ``max_len - buffer``, then linear down to -1 at ``max_len``, -1 beyond."""
    start = max_len - buffer
    if length <= start:
        return 0.0
    if length >= max_len:
        return -1.0
    return (start - length) / buffer


@reward_rule("overlong")
def overlong(
    completions: list[Any], max_len: int = 1024, buffer: int = 256, **kwargs: Any
) -> list[float | None]:
    """0.0 for completions of at most ``max_len - buffer`` tokens, then a linear penalty
    reaching -1.0 at ``max_len`` tokens (and staying there).

    Lengths are token counts from TRL's ``completion_ids`` kwarg; without it (direct calls,
    the CLI) the character count is used and the ``length_from_chars`` diagnostic says so.
    Bind ``max_len`` to the trainer's ``max_completion_length``.
    """
    if not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"overlong: max_len must be a positive integer, got {max_len!r}")
    if not isinstance(buffer, int) or not 0 < buffer <= max_len:
        raise ValueError(f"overlong: buffer must be an integer in 1..max_len ({max_len}), got {buffer!r}")
    ids = kwargs.get("completion_ids")
    if ids is not None and len(ids) == len(completions):
        lengths = [len(x) for x in ids]
        from_chars = 0
    else:
        lengths = [len(t) for t in completion_texts(completions)]
        from_chars = len(lengths)
    scores = [overlong_penalty(n, max_len, buffer) for n in lengths]
    report("overlong", {"penalised": sum(s < 0 for s in scores), "length_from_chars": from_chars},
           len(scores), kwargs)
    return scores  # type: ignore[return-value]
