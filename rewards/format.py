"""``format`` and ``tag_count``: the R1-Zero output format ``<think>...</think><answer>...</answer>``.

Both work when the prompt already ends with ``<think>`` (the R1-Zero template prefill): the
completion then starts inside the think block, and the prompt's tag counts as the opening one.
Tag checks use ``str.find``/``count`` only, so they are linear even on megabyte completions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from r1lite.rewards.base import completion_text, completion_texts, report, reward_rule

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)


def prompt_prefills_think(prompt: Any) -> bool:
    """True when ``prompt`` (a string or chat-message list) ends with ``<think>``."""
    if prompt is None:
        return False
    if isinstance(prompt, (list, tuple)):
        if not prompt:
            return False
        last = prompt[-1]
        text = completion_text(last) if isinstance(last, Mapping) else str(last)
    else:
        text = str(prompt)
    return text.rstrip().endswith(THINK_OPEN)


def prefill_flags(n: int, prompts: Any, prefilled_think: bool | None) -> list[bool]:
    """Per-completion prefill flags: the explicit override, else detected from ``prompts``."""
    if prefilled_think is not None:
        return [bool(prefilled_think)] * n
    if not isinstance(prompts, (list, tuple)) or len(prompts) != n:
        return [False] * n
    return [prompt_prefills_think(p) for p in prompts]


def format_ok(text: str, prefilled: bool = False) -> bool:
    """Exactly one ``<think>...</think>`` then exactly one non-empty ``<answer>...</answer>``.

    Only whitespace may precede ``<think>``, sit between ``</think>`` and ``<answer>``, or follow
    ``</answer>``. With ``prefilled`` the completion must not open ``<think>`` again.
    """
    full = THINK_OPEN + text if prefilled else text.lstrip()
    if not full.startswith(THINK_OPEN) or any(full.count(tag) != 1 for tag in TAGS):
        return False
    close_think = full.find(THINK_CLOSE)
    open_answer = full.find(ANSWER_OPEN)
    close_answer = full.find(ANSWER_CLOSE)
    if not (close_think < open_answer < close_answer):
        return False
    between = full[close_think + len(THINK_CLOSE) : open_answer]
    answer = full[open_answer + len(ANSWER_OPEN) : close_answer]
    tail = full[close_answer + len(ANSWER_CLOSE) :]
    return not between.strip() and bool(answer.strip()) and not tail.strip()


def tag_score(text: str, prefilled: bool = False) -> float:
    """0.25 for each of the four tags that appears exactly once and in its place.

    ``<think>``: first thing in the completion (or supplied by the prompt and not repeated);
    ``</think>``: after it; ``<answer>``: after ``</think>``; ``</answer>``: after ``<answer>``
    with only whitespace following.
    """
    counts = {tag: text.count(tag) for tag in TAGS}
    pos = {tag: text.find(tag) for tag in TAGS}
    score = 0.0
    if prefilled:
        think_ok = counts[THINK_OPEN] == 0
        think_at = -1
    else:
        think_ok = counts[THINK_OPEN] == 1 and text.lstrip().startswith(THINK_OPEN)
        think_at = pos[THINK_OPEN]
    score += 0.25 * think_ok
    close_ok = counts[THINK_CLOSE] == 1 and pos[THINK_CLOSE] > think_at
    score += 0.25 * close_ok
    open_ok = counts[ANSWER_OPEN] == 1 and pos[ANSWER_OPEN] > max(pos[THINK_CLOSE], think_at)
    score += 0.25 * open_ok
    end_ok = (
        counts[ANSWER_CLOSE] == 1
        and pos[ANSWER_CLOSE] > pos[ANSWER_OPEN] >= 0
        and not text[pos[ANSWER_CLOSE] + len(ANSWER_CLOSE) :].strip()
    )
    score += 0.25 * end_ok
    return score


@reward_rule("format")
def format_reward(
    completions: list[Any], prefilled_think: bool | None = None, **kwargs: Any
) -> list[float | None]:
    """1.0 for the strict R1-Zero format, else 0.0.

    Credit needs exactly one ``<think>...</think>`` followed by exactly one non-empty
    ``<answer>...</answer>``, with nothing but whitespace around and between them. If the prompt
    ends with ``<think>`` (detected from TRL's ``prompts`` kwarg, or forced with
    ``prefilled_think``), the completion starts inside the think block and must not repeat it.
    Diagnostics: ``no_think_close``, ``no_answer`` (tag missing), ``trailing_text``.
    """
    texts = completion_texts(completions)
    flags = prefill_flags(len(texts), kwargs.get("prompts"), prefilled_think)
    scores = [float(format_ok(t, f)) for t, f in zip(texts, flags, strict=True)]
    counts = {"no_think_close": 0, "no_answer": 0, "trailing_text": 0}
    for t, s in zip(texts, scores, strict=True):
        if s:
            continue
        counts["no_think_close"] += THINK_CLOSE not in t
        counts["no_answer"] += ANSWER_CLOSE not in t
        end = t.rfind(ANSWER_CLOSE)
        counts["trailing_text"] += end >= 0 and bool(t[end + len(ANSWER_CLOSE) :].strip())
    report("format", counts, len(texts), kwargs)
    return scores  # type: ignore[return-value]


@reward_rule("tag_count")
def tag_count(
    completions: list[Any], prefilled_think: bool | None = None, **kwargs: Any
) -> list[float | None]:
    """Partial format credit: 0.25 per correctly placed tag (see :func:`tag_score`), max 1.0.

    A prompt ending with ``<think>`` supplies the opening tag: the completion earns its 0.25 by
    not opening another one.
    """
    texts = completion_texts(completions)
    flags = prefill_flags(len(texts), kwargs.get("prompts"), prefilled_think)
    scores = [tag_score(t, f) for t, f in zip(texts, flags, strict=True)]
    report("tag_count", {"perfect": sum(s == 1.0 for s in scores)}, len(texts), kwargs)
    return scores  # type: ignore[return-value]
