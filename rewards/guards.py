"""Input guards: the :class:`Verdict` record and the limits that refuse absurd input before any parsing.

Standard library only: the verify workers import this module too (see :mod:`r1lite.rewards.worker`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_TIMEOUT = 2.0  # seconds of work per item inside the worker (soft, interrupts Python code)
HARD_GRACE = 1.0  # extra seconds before the caller kills a worker stuck in C code
MAX_ANSWER_CHARS = 2000  # longer "answers" are not answers; refusing them bounds the work
MAX_NESTING = 40  # brace/paren depth beyond which parsing is refused
MAX_POW_CHAIN = 2  # "a^{b^{c}}" towers with more levels than this are refused up front


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one predicted answer against one gold answer.

    ``correct`` is only ever True for a verified match. ``parse_failed``: the prediction was
    missing, refused, or could not be parsed. ``timed_out``: the work limit was hit (counted as
    incorrect). ``gold_unparseable``: the gold could not be parsed, so the item must be skipped
    (reward ``None``), never scored. ``reason`` says why in words; ``fast_path`` whether the
    caller decided without a worker.
    """

    correct: bool
    parse_failed: bool = False
    timed_out: bool = False
    gold_unparseable: bool = False
    fast_path: bool = False
    reason: str = ""

    @property
    def reward(self) -> float | None:
        return None if self.gold_unparseable else float(self.correct)


def refuse_reason(text: str) -> str | None:
    """Why ``text`` is refused before parsing (too long / too nested / a power tower), or None."""
    if len(text) > MAX_ANSWER_CHARS:
        return f"answer longer than {MAX_ANSWER_CHARS} characters"
    depth = deepest = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})]":
            depth = max(0, depth - 1)
    if deepest > MAX_NESTING:
        return f"nesting deeper than {MAX_NESTING}"
    if _pow_chain(text) > MAX_POW_CHAIN or _huge_numeric_tower(text):
        return "power tower too large to evaluate"
    return None


def _pow_chain(text: str) -> int:
    """Deepest exponent nesting: ``x^2`` -> 1, ``e^{x^2}`` -> 2, ``9^{9^{9^9}}`` -> 3.

    Unbraced ``9^9^9`` counts 1 because math-verify reads it left-associatively ((9^9)^9).
    """
    levels = [0]  # exponent level of each open brace frame
    deepest = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "^":
            level = levels[-1] + 1
            deepest = max(deepest, level)
            j = i + 1
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] == "{":
                levels.append(level)
                i = j
        elif ch == "{":
            levels.append(levels[-1])
        elif ch == "}" and len(levels) > 1:
            levels.pop()
        i += 1
    return deepest


_NUMERIC_TOWER = re.compile(r"(\d+)\s*\^\s*\{\s*(\d+)\s*\^\s*\{?\s*(\d+)")


def _huge_numeric_tower(text: str) -> bool:
    """``A^{B^C}`` with B^C over 10^5 digits' worth: sympy would try to build that integer."""
    for m in _NUMERIC_TOWER.finditer(text):
        b, c = int(m.group(2)[:6]), int(m.group(3)[:6])
        if b > 1 and c * math.log10(b) > 5:
            return True
    return False
