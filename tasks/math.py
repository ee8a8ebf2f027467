"""MATH-style problems: ``math`` (training) and the eval sets ``math500``, ``aime24``, ``amc23``, ``minerva_math``.

All share one loader; they differ in source and keys. The gold is the record's ``answer`` field
(numbers such as AMC's ``27.0`` rendered as ``27``), else the content of the last ``\\boxed{}``
in the ``solution`` (brace-matched, so ``\\boxed{\\frac{1}{2}}`` works).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from r1lite.rewards.extract import last_boxed_content
from r1lite.tasks.base import task
from r1lite.tasks.data_task import DataTask
from r1lite.tasks.gsm8k import format_number


def last_boxed(text: str | None) -> str | None:
    """Content of the last balanced ``\\boxed{...}`` in ``text`` (``None`` if there is none)."""
    if not text or not isinstance(text, str):
        return None
    return last_boxed_content(text)


def math_gold(value: Any) -> str | None:
    """A gold answer as a string: numbers normalised (``27.0`` -> ``27``), a worked solution boxed-extracted."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return format_number(value)
    text = str(value).strip()
    if not text:
        return None
    if "\\boxed" in text or "\\fbox" in text:
        return last_boxed(text)
    return text


@dataclass
class MathTask(DataTask):
    """Problems with a LaTeX gold: ``answer`` field, else last ``\\boxed{}`` of ``solution``."""

    solution_key: str = "solution"
    rewards: dict[str, float] = field(default_factory=lambda: {"accuracy": 1.0, "format": 0.2})

    def gold(self, record: dict[str, Any]) -> str | None:
        if self.answer_key:
            return math_gold(record.get(self.answer_key))
        gold = math_gold(record.get("answer"))
        if gold is None:
            gold = last_boxed(record.get(self.solution_key))
        return gold


@task("math")
@dataclass
class MATH(MathTask):
    name: str = "math"
    description: str = "MATH competition problems (Hendrycks et al.), 7.5k train / 5k test"
    hub_id: str | None = "DigitalLearningGmbH/MATH-lighteval"
    extra_keys: tuple[str, ...] = ("level", "type")


@task("math500")
@dataclass
class MATH500(MathTask):
    name: str = "math500"
    description: str = "MATH-500 eval set (Lightman et al.)"
    hub_id: str | None = "HuggingFaceH4/MATH-500"
    splits: tuple[str, ...] = ("test",)
    extra_keys: tuple[str, ...] = ("subject", "level")


@task("aime24")
@dataclass
class AIME24(MathTask):
    name: str = "aime24"
    description: str = "AIME 2024 (30 problems, integer answers)"
    hub_id: str | None = "HuggingFaceH4/aime_2024"
    hub_splits: dict[str, str] = field(default_factory=lambda: {"test": "train"})
    splits: tuple[str, ...] = ("test",)


@task("amc23")
@dataclass
class AMC23(MathTask):
    name: str = "amc23"
    description: str = "AMC 2023 (40 problems)"
    hub_id: str | None = "math-ai/amc23"
    splits: tuple[str, ...] = ("test",)


@task("minerva_math")
@dataclass
class MinervaMath(MathTask):
    name: str = "minerva_math"
    description: str = "Minerva OCW science/math problems (gold: last \\boxed{} of the solution)"
    hub_id: str | None = "math-ai/minervamath"
    splits: tuple[str, ...] = ("test",)


_MATH_DOLLAR = re.compile(r"(?<!\\)\$")


def olympiad_gold(final_answer: Any) -> str | None:
    """OlympiadBench's ``final_answer`` (a list of LaTeX strings) as one gold string.

    Math-mode dollars go (an escaped ``\\$`` stays) and the list's items are joined with ``", "``; a multi-answer
    item is already a comma list (``$69$,$84$`` -> ``69,84``). r1lite's verifier reads a comma list as a set of
    answers that must *all* be given, in any order, and nothing else: ``84, 69`` is right, ``69`` alone or
    ``69, 84, 100`` is wrong.
    """
    items = final_answer if isinstance(final_answer, (list, tuple)) else [final_answer]
    parts = []
    for item in items:
        text = math_gold(item)
        if text is None:
            continue
        text = _MATH_DOLLAR.sub("", text).strip().rstrip(".").strip()
        if text:
            parts.append(text)
    return ", ".join(parts) or None


@task("olympiadbench")
@dataclass
class OlympiadBench(MathTask):
    """OlympiadBench, English text-only maths: LaTeX golds, some of them several answers (``is_multiple_answer``)."""

    name: str = "olympiadbench"
    description: str = ("OlympiadBench text-only maths (675 problems; a multi-answer gold needs every part, "
                        "in any order)")
    splits: tuple[str, ...] = ("test",)
    extra_keys: tuple[str, ...] = ("is_multiple_answer", "answer_type", "unit", "subfield")

    def gold(self, record: dict[str, Any]) -> str | None:
        if self.answer_key:
            return olympiad_gold(record.get(self.answer_key))
        for key in ("final_answer", "answer"):
            if record.get(key) is not None:
                return olympiad_gold(record[key])
        return last_boxed(record.get(self.solution_key) if isinstance(record.get(self.solution_key), str) else None)

    def info(self) -> dict[str, Any]:
        info = super().info()
        info["source"] = info["source"] or "$R1LITE_DATA_DIR/olympiadbench/test.jsonl (no default Hub dataset)"
        return info

    def question(self, record: dict[str, Any]) -> str | None:
        question = super().question(record)
        context = record.get("context")
        if question and isinstance(context, str) and context.strip():  # shared set-up of a multi-part problem
            return f"{context.strip()}\n\n{question}"
        return question
