"""Elementary maths word problems: ``svamp``, ``asdiv``, ``mawps`` (one- or two-step, easier than GSM8K).

Each is published as one test set with its own keys (``$R1LITE_DATA_DIR/<name>/test.jsonl``):

* ``svamp``: ``Body`` + ``" "`` + ``Question``, gold ``Answer`` (a float: ``145.0`` -> ``145``);
* ``asdiv``: ``body`` + ``" "`` + ``question``, gold ``answer``: a number and its unit in parentheses
  (``9 (apples)`` -> ``9``); 179 of its 2215 answers are not numbers (``Yes``, ``Mrs. Hilt``, ``3:30 p.m.``,
  ratios ``5:6``) and are kept as text, graded by exact text (and math-verify where they parse);
* ``mawps``: ``input``, gold ``target`` (a float).

They have no train split, so, as the generated tasks do, r1lite splits the published set by a stable hash of the
problem text (SHA-256 of the lower-cased, space-collapsed question): ``test`` is a fixed ``test_fraction`` (30%) of
it and ``train`` the rest, disjoint whatever the seed or order, so training on ``train`` and measuring on
``test`` (training's default held-out split) never sees a test problem. ``all`` is the whole published set, and
what ``r1lite eval --benchmarks svamp`` scores by default (``eval_split``), for numbers comparable with papers
(``--split test`` scores the held-out part only). A file passed as the
source (``source=``, ``--task_source``, ``r1lite eval --benchmarks svamp=FILE``) is used whole for any split,
like every data task's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from r1lite.tasks.base import TaskError, task
from r1lite.tasks.data_task import DataTask
from r1lite.tasks.gsm8k import format_number
from r1lite.tasks.procedural import split_of

PUBLISHED_SPLIT = "test"  # the file every published set comes as
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?")
_UNIT = re.compile(r"^(?P<value>.*?)\s*\((?P<unit>[^()]*)\)\s*$")


def number_gold(value: Any) -> str | None:
    """A numeric gold as text: ``145.0`` -> ``145``, ``1.84`` -> ``1.84``, ``"1,000"`` -> ``1000``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return format_number(value)
    text = str(value).strip()
    if _NUMBER.fullmatch(text):
        text = text.replace(",", "")
        try:
            return format_number(float(text)) if "/" not in text else text
        except ValueError:
            return text
    return text or None


def asdiv_gold(answer: Any) -> str | None:
    """ASDiv's ``9 (apples)`` -> ``9``; ``2.5 (dollars)`` -> ``2.5``; a text answer (``Yes``) stays as it is."""
    if answer is None or isinstance(answer, (int, float)):
        return number_gold(answer)
    text = str(answer).strip()
    m = _UNIT.match(text)
    if m and _NUMBER.fullmatch(m["value"].strip()):
        text = m["value"].strip()
    return number_gold(text)


def problem_key(question: str) -> str:
    """What decides a problem's split: its text, lower-cased with whitespace collapsed."""
    return " ".join(question.lower().split())


@dataclass
class WordProblemTask(DataTask):
    """A published word-problem test set, split into ``train``/``test`` by a stable hash (see module doc)."""

    body_key: str | None = None  # prepended to the question (SVAMP's Body, ASDiv's body)
    test_fraction: float = 0.3
    splits: tuple[str, ...] = ("train", "test", "all")
    eval_split: str = "all"  # r1lite eval's default: the published set, as papers report it
    rewards: dict[str, float] = field(default_factory=lambda: {"accuracy": 1.0, "format": 0.2})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.test_fraction < 1.0:
            raise TaskError(f"task {self.name!r}: test_fraction must be in (0, 1), got {self.test_fraction}")

    def info(self) -> dict[str, Any]:
        info = super().info()
        info["source"] = info["source"] or (f"$R1LITE_DATA_DIR/{self.data_name or self.name}/{PUBLISHED_SPLIT}.jsonl, "
                                            f"split by a hash of the problem (test {self.test_fraction:.0%})")
        return info

    def question(self, record: dict[str, Any]) -> str | None:
        question = super().question(record)
        body = record.get(self.body_key) if self.body_key else None
        if question and isinstance(body, str) and body.strip():
            return f"{body.strip()} {question}"
        return question

    def _load(self, split: str, *, source: str | None, limit: int | None, seed: int) -> Any:
        if source or self.source:  # a user's file: used whole, as every data task does
            return super()._load(split, source=source, limit=limit, seed=seed)
        self.check_split(split)
        data = super()._load(PUBLISHED_SPLIT, source=None, limit=None, seed=seed)
        if split != "all":
            keep = [i for i, q in enumerate(data["question"])
                    if split_of(problem_key(q), self.test_fraction) == split]
            data = data.select(keep)
        return data.select(range(min(limit, len(data)))) if limit is not None else data


@task("svamp")
@dataclass
class SVAMP(WordProblemTask):
    name: str = "svamp"
    description: str = "SVAMP elementary word problems (1000; Body + Question, numeric Answer)"
    question_key: str | None = "Question"
    body_key: str | None = "Body"
    answer_key: str | None = "Answer"
    extra_keys: tuple[str, ...] = ("Type",)

    def gold(self, record: dict[str, Any]) -> str | None:
        return number_gold(record.get(self.answer_key or "Answer"))


@task("asdiv")
@dataclass
class ASDiv(WordProblemTask):
    name: str = "asdiv"
    description: str = "ASDiv elementary word problems (2215; gold '9 (apples)' -> 9)"
    question_key: str | None = "question"
    body_key: str | None = "body"
    answer_key: str | None = "answer"
    extra_keys: tuple[str, ...] = ("solution_type",)

    def gold(self, record: dict[str, Any]) -> str | None:
        return asdiv_gold(record.get(self.answer_key or "answer"))


@task("mawps")
@dataclass
class MAWPS(WordProblemTask):
    name: str = "mawps"
    description: str = "MAWPS elementary word problems (2065; input, numeric target)"
    question_key: str | None = "input"
    answer_key: str | None = "target"
    extra_keys: tuple[str, ...] = ("type",)

    def gold(self, record: dict[str, Any]) -> str | None:
        return number_gold(record.get(self.answer_key or "target"))
