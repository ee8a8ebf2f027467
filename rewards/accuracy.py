"""``accuracy``: 1.0 when the completion's final answer equals the gold (math-verify, notations fixed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from r1lite.rewards.base import completion_texts, report, reward_rule
from r1lite.rewards.extract import MODES, extract_answer
from r1lite.rewards.verify import DEFAULT_TIMEOUT, verify_batch


def gold_list(kwargs: dict[str, Any], n: int, key: str, rule: str) -> list[Any]:
    """The per-completion gold values under ``key``; a clear error when the column is missing."""
    if key not in kwargs or kwargs[key] is None:
        present = sorted(k for k in kwargs if k not in ("log_metric", "log_extra", "diagnostics"))
        raise ValueError(
            f"reward rule {rule!r} needs the gold answers in the dataset column {key!r}, "
            f"but got only {present or 'no columns'}; rename the column or bind answer_key=..."
        )
    golds = kwargs[key]
    if isinstance(golds, (str, int, float)) or not isinstance(golds, Sequence):
        golds = [golds] * n
    if len(golds) != n:
        raise ValueError(f"reward rule {rule!r}: {n} completions but {len(golds)} values in {key!r}")
    return list(golds)


def gold_text(gold: Any) -> str | None:
    """Gold as a string: ``27.0`` -> ``"27"`` (integral floats from AMC-style data), None stays None."""
    if gold is None:
        return None
    if isinstance(gold, float) and gold.is_integer():
        return str(int(gold))
    return str(gold)


@reward_rule("accuracy")
def accuracy(
    completions: list[Any],
    mode: str = "strict",
    timeout: float = DEFAULT_TIMEOUT,
    answer_key: str = "answer",
    **kwargs: Any,
) -> list[float | None]:
    """1.0 if the extracted final answer verifies against the gold, else 0.0; None if no usable gold.

    Extraction (``mode``): ``strict`` takes only the last ``<answer>...</answer>``; ``lenient``
    falls back to the last ``\\boxed{}``, then the last number. Verification is math-verify's
    (``18.00`` = ``18``, ``\\frac{1}{2}`` = ``0.5``, plain numbers inside the tag count) after
    rewriting the notations it misreads (``1 000``, ``1.5e3``, ``2 1/2``, ``0.\\overline{3}``) and with
    rules that follow the gold's form (ordered tuples, solution lists, units, degrees, intervals; see
    :mod:`r1lite.rewards.rules`), an exact path for numbers, each gold parsed once, and at most
    ``timeout`` seconds per item in a guarded worker (a timeout scores 0 and is counted).
    Diagnostics: ``no_answer``, ``parse_failure``, ``timeout``, ``gold_unparseable``.
    """
    if mode not in MODES:
        raise ValueError(f"accuracy: unknown mode {mode!r}; use one of {', '.join(MODES)}")
    texts = completion_texts(completions)
    golds = [gold_text(g) for g in gold_list(kwargs, len(texts), answer_key, "accuracy")]
    preds = [extract_answer(t, mode) for t in texts]  # type: ignore[arg-type]
    verdicts = verify_batch(list(zip(preds, golds, strict=True)), timeout=timeout)
    counts = {"no_answer": 0, "parse_failure": 0, "timeout": 0, "gold_unparseable": 0}
    for pred, v in zip(preds, verdicts, strict=True):
        if v.gold_unparseable:
            counts["gold_unparseable"] += 1
        elif pred is None:
            counts["no_answer"] += 1
        elif v.timed_out:
            counts["timeout"] += 1
        elif v.parse_failed:
            counts["parse_failure"] += 1
    report("accuracy", counts, len(texts), kwargs)
    log_extra = kwargs.get("log_extra")
    if callable(log_extra):
        log_extra("extracted_answer", ["" if p is None else p[:200] for p in preds])
    return [v.reward for v in verdicts]
