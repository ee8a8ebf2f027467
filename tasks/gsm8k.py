"""``gsm8k``: grade-school math word problems; the gold is the number after ``####``.

Default source: the Hub dataset ``openai/gsm8k`` (config ``main``), splits train/test; offline,
``$R1LITE_DATA_DIR/gsm8k/<split>.jsonl`` or a local file with the same keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from r1lite.tasks.base import task
from r1lite.tasks.data_task import DataTask

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def gsm8k_gold(solution: Any) -> str | None:
    """The text after the last ``####`` with thousands separators removed (``1,000`` -> ``1000``).

    A bare number (no ``####``) is taken as the gold itself, so already-extracted files work too.
    """
    if solution is None:
        return None
    if isinstance(solution, (int, float)) and not isinstance(solution, bool):
        return format_number(solution)
    text = str(solution)
    if "####" in text:
        text = text.rsplit("####", 1)[1]
    elif "\n" in text.strip():
        return None  # a worked solution without the #### marker: no trustworthy gold
    gold = _THOUSANDS.sub("", text.strip()).strip().rstrip(".")
    return gold or None


def format_number(value: float | int) -> str:
    """``27.0`` -> ``"27"``, ``0.5`` -> ``"0.5"`` (golds stored as floats must not read ``27.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@task("gsm8k")
@dataclass
class GSM8K(DataTask):
    name: str = "gsm8k"
    description: str = "Grade-school math word problems (gold: the number after ####)"
    hub_id: str | None = "openai/gsm8k"
    hub_config: str | None = "main"
    rewards: dict[str, float] = field(default_factory=lambda: {"accuracy": 1.0, "format": 0.2})

    def gold(self, record: dict[str, Any]) -> str | None:
        return gsm8k_gold(record.get(self.answer_key or "answer"))
