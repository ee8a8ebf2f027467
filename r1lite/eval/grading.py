"""Grading completions for evaluation: both extraction modes, format compliance, a second checker.

Each completion is graded under ``strict`` (answer tag only) and ``lenient`` (tag, else last
``\\boxed{}``, else last number) extraction with math-verify semantics (``r1lite.rewards.verify``,
the same code as the training reward). Every verdict is cross-checked by an independent
sympy-based checker (``r1lite.eval.sympy_check``); where both give an opinion and disagree, the pair is
reported so a person can see which grader is wrong, instead of trusting one silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from r1lite.eval.sympy_check import sympy_equal_batch
from r1lite.rewards.extract import MODES, extract_answer
from r1lite.rewards.format import format_ok
from r1lite.rewards.verify import DEFAULT_TIMEOUT, verify_batch


@dataclass
class Graded:
    """Verdicts for one completion: per mode the extracted answer, math-verify's verdict and the
    second checker's opinion (None: it could not parse one side)."""

    extracted: dict[str, str | None] = field(default_factory=dict)
    correct: dict[str, bool] = field(default_factory=dict)
    second: dict[str, bool | None] = field(default_factory=dict)
    timed_out: dict[str, bool] = field(default_factory=dict)
    format_ok: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"extracted": self.extracted, "correct": self.correct, "second_checker": self.second,
                "timed_out": self.timed_out, "format_ok": self.format_ok}


def gold_text(gold: Any) -> str | None:
    """Gold as a string: integral floats from AMC-style data (``27.0``) become ``"27"``."""
    if gold is None:
        return None
    if isinstance(gold, float) and gold.is_integer():
        return str(int(gold))
    return str(gold).strip() or None


def grade(
    completions: Sequence[str], golds: Sequence[Any], prefilled: Sequence[bool],
    timeout: float = DEFAULT_TIMEOUT, cross_check: bool = True,
) -> list[Graded]:
    """Grade each completion against its gold in both modes (see module docstring)."""
    if not (len(completions) == len(golds) == len(prefilled)):
        raise ValueError("grade: completions, golds and prefilled flags must have the same length")
    golds_s = [gold_text(g) for g in golds]
    out = [Graded(format_ok=format_ok(c, p)) for c, p in zip(completions, prefilled, strict=True)]
    for mode in MODES:
        preds = [extract_answer(c, mode) for c in completions]  # type: ignore[arg-type]
        verdicts = verify_batch(list(zip(preds, golds_s, strict=True)), timeout=timeout)
        for g, pred, v in zip(out, preds, verdicts, strict=True):
            g.extracted[mode] = pred
            g.correct[mode] = bool(v.correct)
            g.timed_out[mode] = bool(v.timed_out)
    if cross_check:
        _second_opinions(out, golds_s, timeout)
    return out


def _second_opinions(graded: list[Graded], golds: list[str | None], timeout: float) -> None:
    """Fill ``Graded.second`` with the sympy checker's opinion on every (prediction, gold) pair, in one pass."""
    slots = [(g, m) for g in graded for m in MODES]
    gold_of = {id(g): gold for g, gold in zip(graded, golds, strict=True)}
    opinions = sympy_equal_batch([(g.extracted[m], gold_of[id(g)]) for g, m in slots], timeout=timeout)
    for (g, m), opinion in zip(slots, opinions, strict=True):
        g.second[m] = opinion


def disagreements(graded: Sequence[Graded], golds: Sequence[Any], mode: str) -> list[dict[str, Any]]:
    """Items where both checkers answered and disagree, for ``grader_disagreements.jsonl``."""
    rows = []
    for i, (g, gold) in enumerate(zip(graded, golds, strict=True)):
        second = g.second.get(mode)
        if second is not None and second != g.correct[mode]:
            rows.append({"index": i, "mode": mode, "extracted": g.extracted[mode], "gold": gold_text(gold),
                         "math_verify": g.correct[mode], "sympy": second})
    return rows


def agreement(graded: Sequence[Graded], mode: str) -> dict[str, float | int | None]:
    """How often the two checkers agree where both could judge (``checked`` of them)."""
    both = [g for g in graded if g.second.get(mode) is not None]
    agree = sum(g.second[mode] == g.correct[mode] for g in both)
    return {"checked": len(both), "agree": agree, "agreement": (agree / len(both)) if both else None}
