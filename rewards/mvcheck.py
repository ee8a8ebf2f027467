"""The math-verify checker that runs inside the verify workers: parsing, a parsed-gold cache, a soft
deadline, and shortcuts proven to agree with math-verify.

Imports the standard library, math-verify (and its sympy) and the sibling standard-library modules
only, so the worker script (:mod:`r1lite.rewards.worker`) never depends on how r1lite was installed.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .guards import DEFAULT_TIMEOUT, Verdict
from .normalize import canonical, mathverify_inputs

_GOLD_CACHE: OrderedDict[str, list] = OrderedDict()
_GOLD_CACHE_SIZE = 4096


class Deadline(BaseException):
    """Raised by our timer; a BaseException so math-verify's ``except Exception`` cannot eat it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Deadline()


@contextmanager
def deadline(timeout: float | None) -> Iterator[None]:
    """Raise :class:`Deadline` after ``timeout`` seconds of this block (main thread only; elsewhere,
    or with no timeout, the block runs unbounded and the caller's hard limit is the guard)."""
    use_timer = bool(timeout) and threading.current_thread() is threading.main_thread()
    if use_timer:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(timeout))  # type: ignore[arg-type]
    try:
        yield
    finally:
        if use_timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def quiet_math_verify() -> None:
    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def parse_answer(answer: str) -> list:
    """``math_verify.parse`` of an extracted answer (see :func:`mathverify_inputs`); no timeout.

    Shared by the guarded workers and the benchmark's in-process baseline, so both see the same
    strings and can only differ in speed and safety.
    """
    from math_verify import parse

    parsed: list = []
    for text in mathverify_inputs(answer):
        parsed = parse(text, parsing_timeout=None)
        if has_expr(parsed):
            return parsed
    return parsed


def has_expr(parsed: list) -> bool:
    return any(not isinstance(p, str) for p in parsed)


def forget_golds() -> None:
    """Drop every parsed gold (the warm-up must leave none behind for a real item to find)."""
    _GOLD_CACHE.clear()


def parse_gold(gold: str) -> list:
    """:func:`parse_answer` of a gold, through a bounded LRU (a group's golds repeat)."""
    hit = _GOLD_CACHE.get(gold)
    if hit is not None:
        _GOLD_CACHE.move_to_end(gold)
        return hit
    parsed = parse_answer(gold)
    _GOLD_CACHE[gold] = parsed
    if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
        _GOLD_CACHE.popitem(last=False)
    return parsed


def number_certainly_wrong(gold_parsed: list, pred_parsed: list) -> bool:
    """True when math-verify would certainly reject a plain-number prediction, so its sympy
    ``simplify`` or set algebra (5-70 ms a pair) can be skipped. Three kinds of gold qualify:

    * a compound constant (``2\\sqrt{5}``, ``12\\pi``) whose value is more than 1e-3 (and one part
      in 1e9) from the number: ``verify`` tries the two strings, structural equality (a Number
      never equals a compound expression), a numeric check rounding to 6 decimals (fails at that
      distance) and ``simplify(gold - pred) == 0`` (cannot hold for two different constants);
    * a real interval with numeric ends, or a union of them (``(2,12) \\cup (12,102)``): the
      number becomes ``{n}``, whose symmetric difference with an interval is never empty;
    * a non-constant polynomial (``8n^2 + 4n + 1``, ``(a+5)(b+2)``): rounding it raises, so the
      numeric check fails, and ``gold - n`` is a non-zero polynomial that no simplification zeroes.

    Anything else -- a percent (math-verify equates ``9\\%`` and ``9``), a gold that is itself a
    number or a symbol, relations, tuples, finite sets, huge or complex values -- is left to
    math-verify. A test compares verdicts on every such gold of MATH-500 and Minerva.
    """
    import sympy

    if len(gold_parsed) != 2 or len(pred_parsed) != 2:
        return False
    (gold, gold_text), (pred, pred_text) = gold_parsed, pred_parsed
    if not (isinstance(gold_text, str) and isinstance(pred_text, str) and isinstance(pred, sympy.Number)):
        return False
    if gold_text.strip() == pred_text.strip() or "%" in gold_text:
        return False
    if isinstance(gold, (sympy.Interval, sympy.Union)):
        return _real_intervals(gold)
    if not isinstance(gold, sympy.Expr) or isinstance(gold, (sympy.Number, sympy.Symbol)):
        return False
    if gold.has(sympy.UnevaluatedExpr):
        return False
    if gold.free_symbols:
        return _non_constant_polynomial(gold)
    value = gold.evalf(30)
    if not isinstance(value, sympy.Float) or not value.is_finite or abs(value) > 10**12:
        return False
    return bool(abs(value - pred.evalf(30)) > max(sympy.Rational(1, 1000), abs(value) / 10**9))


def _real_intervals(gold: Any) -> bool:
    """An interval of positive length with numeric ends, or a union of only such intervals."""
    import sympy

    parts = gold.args if isinstance(gold, sympy.Union) else (gold,)
    return all(isinstance(p, sympy.Interval) and p.start.is_number and p.end.is_number
               and (p.end - p.start).is_extended_positive is True for p in parts)


def _non_constant_polynomial(gold: Any) -> bool:
    import sympy

    if gold.count_ops() > 60 or not gold.is_polynomial():
        return False
    try:
        return sympy.Poly(gold, *sorted(gold.free_symbols, key=str)).total_degree() >= 1
    except sympy.PolynomialError:
        return False


def check_with_math_verify(
    pred: str, gold: str, timeout: float | None = DEFAULT_TIMEOUT, shortcut: bool = True
) -> Verdict:
    """math-verify's verdict, computed in this process (main thread only when ``timeout`` is set).

    Used inside the worker subprocesses. The gold is parsed once and cached; an item over
    ``timeout`` seconds is interrupted by ``setitimer`` and reported as ``timed_out``. With
    ``shortcut``, a prediction whose :func:`canonical` text equals the (parseable) gold's is
    correct without parsing it, and a number that cannot match the gold is wrong without
    math-verify's sympy work (:func:`number_certainly_wrong`); the test suite checks that
    math-verify agrees on every MATH-500 and Minerva gold.
    """
    from math_verify import verify

    stage = "gold"
    try:
        with deadline(timeout):
            gold_parsed = parse_gold(gold)
            if not has_expr(gold_parsed):
                return Verdict(False, gold_unparseable=True, reason="gold unparseable")
            if shortcut and canonical(pred) == canonical(gold):
                return Verdict(True, fast_path=True, reason="same text as gold")
            stage = "pred"
            pred_parsed = parse_answer(pred)
            if not pred_parsed:
                return Verdict(False, parse_failed=True, reason="prediction unparseable")
            stage = "verify"
            if shortcut and number_certainly_wrong(gold_parsed, pred_parsed):
                return Verdict(False, fast_path=True, reason="a number cannot match this gold")
            ok = bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
            failed = not ok and not has_expr(pred_parsed)
            return Verdict(ok, parse_failed=failed, reason="" if ok or not failed else "prediction unparseable")
    except Deadline:
        if stage == "gold":
            return Verdict(False, timed_out=True, gold_unparseable=True, reason="gold parse timed out")
        return Verdict(False, timed_out=True, reason=f"{stage} timed out after {timeout}s")
    except (MemoryError, RecursionError) as exc:
        return Verdict(False, parse_failed=True, reason=f"{stage}: {type(exc).__name__}")
