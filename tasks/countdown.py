"""``countdown``: the Countdown numbers game as in TinyZero, generated offline and seeded.

Each problem gives 3-4 numbers (1..``max_number``) and a target (1..``max_target``) that is
reachable with ``+ - * /`` using every number exactly once: the target is built from a random
expression over the numbers (division only when exact), and that expression is kept as the
reference ``solution``. Columns: ``question``, ``answer`` (the target as text), ``nums``,
``target``, ``solution``. Scored by the ``countdown`` rule, which reads ``nums`` and ``target``.

Splits are disjoint by a hash of (sorted numbers, target). ``source=`` loads pre-made problems
instead (e.g. TinyZero's Hub dataset ``Jiayi-Pan/Countdown-Tasks-3to4``: columns ``nums``, ``target``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from r1lite.tasks.base import TaskError, task
from r1lite.tasks.procedural import ProceduralTask, canonical_numbers

PRESETS: dict[str, tuple[int, int]] = {"easy": (3, 3), "mixed": (3, 4), "hard": (4, 4)}
_MAX_TRIES = 1000


def countdown_question(nums: list[int], target: int) -> str:
    return (f"Using the numbers {list(nums)}, create an equation that equals {target}. You can use basic "
            "arithmetic operations (+, -, *, /) and each number must be used exactly once. "
            "Give the equation itself as the final answer, for example (1 + 2) / 3.")


def random_expression(nums: list[int], rng: random.Random) -> tuple[Fraction, str] | None:
    """Combine all ``nums`` with random operations; ``(value, expression)`` or ``None`` on a dead end."""
    pool: list[tuple[Fraction, str]] = [(Fraction(n), str(n)) for n in nums]
    while len(pool) > 1:
        i, j = rng.sample(range(len(pool)), 2)
        (a, ea), (b, eb) = pool[i], pool[j]
        op = rng.choice("+-*/")
        if op == "/" and (b == 0 or (a / b).denominator != 1):
            return None
        value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else Fraction(0)}[op]
        pool = [p for k, p in enumerate(pool) if k not in (i, j)] + [(value, f"({ea} {op} {eb})")]
    value, expr = pool[0]
    return value, expr[1:-1] if expr.startswith("(") and expr.endswith(")") else expr


@task("countdown")
@dataclass
class Countdown(ProceduralTask):
    name: str = "countdown"
    description: str = "Countdown numbers game, 3-4 numbers to a reachable target (TinyZero); offline"
    difficulty: str = "mixed"
    min_numbers: int | None = None
    max_numbers: int | None = None
    max_number: int = 99
    max_target: int = 100
    rewards: dict[str, float] = field(default_factory=lambda: {"countdown": 1.0, "format": 0.2})
    accuracy_rule: str = "countdown"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.difficulty not in PRESETS:
            raise TaskError(f"countdown: unknown difficulty {self.difficulty!r}; use one of {', '.join(PRESETS)}")
        lo, hi = PRESETS[self.difficulty]
        self.min_numbers = int(self.min_numbers if self.min_numbers is not None else lo)
        self.max_numbers = int(self.max_numbers if self.max_numbers is not None else max(hi, self.min_numbers))
        if not 2 <= self.min_numbers <= self.max_numbers <= 8:
            raise TaskError(f"countdown: need 2 <= min_numbers <= max_numbers <= 8, got "
                            f"{self.min_numbers}..{self.max_numbers}")
        if self.max_number < 1 or self.max_target < 1:
            raise TaskError("countdown: max_number and max_target must be >= 1")

    def fingerprint(self) -> str:
        return f"numbers={self.min_numbers}-{self.max_numbers},max_number={self.max_number},max_target={self.max_target}"

    def generate(self, rng: random.Random) -> dict[str, Any]:
        for _ in range(_MAX_TRIES):
            nums = [rng.randint(1, self.max_number) for _ in range(rng.randint(self.min_numbers, self.max_numbers))]
            found = random_expression(nums, rng)
            if found is None:
                continue
            value, expr = found
            if value.denominator == 1 and 1 <= value <= self.max_target:
                target = int(value)
                return {"question": countdown_question(nums, target), "answer": str(target), "nums": nums,
                        "target": target, "solution": expr}
        raise TaskError(f"countdown: no reachable target in 1..{self.max_target} after {_MAX_TRIES} tries; "
                        "raise max_target")

    def problem_key(self, row: dict[str, Any]) -> str:
        return f"{canonical_numbers(row['nums'])}->{row['target']}"

    def load_source(self, split: str, source: str, limit: int | None) -> Any:
        """Pre-made problems with ``nums`` and ``target`` columns (file or Hub id); no reference solution."""
        import datasets
        from r1lite.tasks.sources import resolve_records

        records, where = resolve_records(self.name, split, source=source, data_name=self.name, hub_id=None)
        rows = []
        for i, rec in enumerate(records):
            if "nums" not in rec or "target" not in rec:
                raise TaskError(f"countdown source {where}: record {i} lacks 'nums'/'target' (keys: {sorted(rec)})")
            nums, target = [int(n) for n in rec["nums"]], int(rec["target"])
            rows.append({"question": countdown_question(nums, target), "answer": str(target), "nums": nums,
                         "target": target, "solution": str(rec.get("solution") or "")})
            if limit is not None and len(rows) >= limit:
                break
        self.last_source = where
        return datasets.Dataset.from_list(rows)
