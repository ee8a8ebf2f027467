"""``countdown``: the Countdown numbers game, checked exactly and without ``eval``.

The answer must be an arithmetic expression over the given numbers, each used exactly once,
with only ``+ - * /`` and parentheses, equal to the target in exact rational arithmetic
(``Fraction``: ``6 / 4 * 2 == 3`` holds, ``0.1 + 0.2`` float error cannot happen). The
expression is parsed with :mod:`ast` and every node outside that whitelist is rejected, so no
name, call, attribute or power can ever run.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from r1lite.rewards.base import completion_texts, reward_rule, score_answers

MAX_EXPR_CHARS = 500
MAX_DEPTH = 30
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}
_SPELLINGS = (("\\times", "*"), ("\\cdot", "*"), ("×", "*"), ("·", "*"), ("\\div", "/"), ("÷", "/"),
              ("−", "-"), ("\\left", ""), ("\\right", ""), ("$", ""), ("\\(", ""), ("\\)", ""))


class CountdownError(ValueError):
    """The expression is not a valid Countdown answer; the message says why."""


def normalise_expression(text: str) -> str:
    """Turn common spellings into Python operators and drop a trailing ``= result``.

    ``(25 - 5) \\times 4 = 80`` -> ``(25 - 5) * 4``; the claimed result is ignored because
    the expression itself is evaluated.
    """
    s = text.strip()
    for a, b in _SPELLINGS:
        s = s.replace(a, b)
    s = s.replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")
    if "=" in s:
        s = s.split("=", 1)[0]
    return s.strip().rstrip(".").strip()


def evaluate_countdown(expr: str, nums: Sequence[int]) -> Fraction:
    """Exact value of ``expr`` after checking it uses each of ``nums`` exactly once.

    Raises :class:`CountdownError` naming the problem (bad syntax, forbidden operation,
    wrong numbers, division by zero).
    """
    s = normalise_expression(expr)
    if not s:
        raise CountdownError("empty expression")
    if len(s) > MAX_EXPR_CHARS:
        raise CountdownError(f"expression longer than {MAX_EXPR_CHARS} characters")
    if not re.fullmatch(r"[\d\s+\-*/()]+", s):
        raise CountdownError(f"only digits, + - * / and parentheses are allowed: {s[:60]!r}")
    if "**" in s or "//" in s:
        raise CountdownError("only + - * / are allowed (no ** or //)")
    try:
        tree = ast.parse(s, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CountdownError(f"not an arithmetic expression: {s[:60]!r}") from exc
    used: list[int] = []
    value = _eval(tree.body, used, 0)
    expected = Counter(int(n) for n in nums)
    if Counter(used) != expected:
        raise CountdownError(f"must use each of {sorted(expected.elements())} exactly once, used {sorted(used)}")
    return value


def _eval(node: ast.AST, used: list[int], depth: int) -> Fraction:
    if depth > MAX_DEPTH:
        raise CountdownError(f"expression nested deeper than {MAX_DEPTH}")
    if isinstance(node, ast.Constant) and type(node.value) is int:
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, used, depth + 1)
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, used, depth + 1), _eval(node.right, used, depth + 1)
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise CountdownError("division by zero")
            return left / right
        op = _OPS.get(type(node.op))
        if op is not None:
            return op(left, right)
    raise CountdownError(f"forbidden syntax: {type(node).__name__}")


def check_countdown(expr: str, nums: Sequence[int], target: int | Fraction) -> bool:
    """True iff ``expr`` uses each of ``nums`` exactly once and equals ``target`` exactly."""
    try:
        return evaluate_countdown(expr, nums) == Fraction(target)
    except CountdownError:
        return False


def _column(kwargs: dict[str, Any], key: str, n: int) -> list[Any]:
    if kwargs.get(key) is None:
        raise ValueError(
            f"reward rule 'countdown' needs the dataset column {key!r} (one value per completion); "
            f"got columns {sorted(k for k in kwargs if not k.startswith('log_'))}"
        )
    values = list(kwargs[key])
    if len(values) != n:
        raise ValueError(f"reward rule 'countdown': {n} completions but {len(values)} values in {key!r}")
    return values


@reward_rule("countdown")
def countdown(
    completions: list[Any], mode: str = "strict", partial: float = 0.0, **kwargs: Any
) -> list[float | None]:
    """1.0 if the answer is an equation over ``nums`` (each exactly once; ``+ - * /`` and
    parentheses only) whose exact value is ``target``; ``partial`` (default 0.0) for a valid
    expression with the right numbers but another value; else 0.0.

    Reads the dataset columns ``nums`` and ``target``. ``mode`` is the answer extraction mode
    (``strict``: the ``<answer>`` tag only). Diagnostics: ``no_answer``, ``invalid`` (syntax,
    forbidden operations, wrong numbers), ``wrong_value``.
    """
    texts = completion_texts(completions)
    nums, targets = _column(kwargs, "nums", len(texts)), _column(kwargs, "target", len(texts))

    def one(answer: str, i: int) -> tuple[float, str | None]:
        try:
            value = evaluate_countdown(answer, nums[i])
        except CountdownError:
            return 0.0, "invalid"
        return (1.0, None) if value == Fraction(targets[i]) else (float(partial), "wrong_value")

    return score_answers("countdown", texts, mode, one, kwargs, ("invalid", "wrong_value"))
