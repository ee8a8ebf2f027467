"""The checker that runs inside the verify workers: math-verify on normalised answers, the own rules of
:mod:`.rules` around it, a parsed-gold cache, a soft deadline, and shortcuts proven to agree.

:func:`check_answer` is r1lite's verdict; :func:`mathverify_verdict` is math-verify's alone (for tests and
benchmarks). Where they differ it is on purpose, family by family (``tests/data/equivalence.jsonl``):
notations math-verify misreads are rewritten first (:mod:`.normalize`), answer lists, units, angles and
inequalities follow the gold's form (:mod:`.rules`), and two guards run after math-verify says yes:

* a gold that math-verify parses only in part (``\\hbar \\omega(v+1/2) - ...`` read as ``2``) is not
  gradable: only a prediction with the gold's own text earns credit, others are skipped (reward None);
* two numbers are never equal because rounding made them so: math-verify rounds floats to 6 decimals
  and chops exact differences at 15 digits, so ``1.77e-6`` = ``1.78e-6``, ``10^{-9}`` = ``0`` and
  ``\\frac{665857}{470832}`` = ``\\sqrt{2}`` there; here decimals must agree to 4 significant digits
  and exact values exactly (to 40 digits).

An answer written as a sentence is graded by the answer it states (:mod:`.sentence`); when math-verify says
two expressions differ, identities its ``simplify`` misses get a second look (:mod:`.symbolic`).

``i`` is the imaginary unit in an answer without other variables (math-verify makes ``2i`` and ``2 i``
two different symbols and ``i^2`` a square).

Imports the standard library, math-verify (and its sympy) and the sibling standard-library modules
only, so the worker script (:mod:`r1lite.rewards.worker`) never depends on how r1lite was installed.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .guards import DEFAULT_TIMEOUT, Verdict
from .normalize import canonical, juxtaposed_numbers, mathverify_inputs, normalize
from .numeric import REL_TOL, exact_value, numeric_fast_path, rounds_to_gold
from .rules import (
    MAX_ITEMS,
    SCIENTIFIC_UNIT,
    Shape,
    apply_units,
    compare_bases,
    compare_ratios,
    inequality_as_interval,
    list_shapes,
    shape,
    split_unit,
    strip_assignment,
    vector_as_gold,
)
from .sentence import sentence_answer
from .symbolic import decimal_coefficient_match, equal_after_rewriting

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


def parse_answer(answer: str, timeout: int | None = None) -> list:
    """``math_verify.parse`` of an extracted answer (see :func:`mathverify_inputs`); no timeout by default
    (the guarded workers have their own), math-verify's ``parsing_timeout`` seconds otherwise.

    Shared by the guarded workers and the benchmarks' in-process baselines, so all see the same
    strings and can only differ in speed and safety.
    """
    from math_verify import parse

    parsed: list = []
    for text in mathverify_inputs(answer):
        parsed = parse(text, parsing_timeout=timeout)
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
    if gold.free_symbols:  # a polynomial in i alone may be a complex number (i^2 = -1): no shortcut
        return {s.name for s in gold.free_symbols} != {"i"} and _non_constant_polynomial(gold)
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


_BOUND = re.compile(r"\\(?:int|iint|oint|sum|prod|lim)(?![A-Za-z])")
_NOT_VARIABLES = re.compile(
    r"\\(?:text|textbf|textrm|mathrm|mbox|operatorname|begin|end|mathbb|mathcal|label)\s*\{[^{}]*\}|\\[A-Za-z]+")
_UNIT_TAIL = re.compile(r"(?<=[\d}])\s*(?:\\[,;! ]|~)?\s*[A-Za-z]{1,3}(?:\s*/\s*[A-Za-z]{1,3})?(?:\^\{?-?\d\}?)?\s*$")
_GREEK = re.compile(r"\\(?:alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|lambda|mu|nu|xi|rho|sigma|tau|"
                    r"phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Sigma|Phi|Psi|Omega|hbar)(?![A-Za-z])")


def gold_fragment(gold_text: str, gold_parsed: list) -> bool:
    """math-verify read only a piece of the gold: a plain number, although the gold names variables."""
    import sympy

    expr = gold_parsed[0] if gold_parsed else None
    if not isinstance(expr, sympy.Expr) or not expr.is_number or _BOUND.search(gold_text):
        return False
    spans = re.findall(r"(?<!\\)\$([^$]+)\$", gold_text)
    text = " ".join(spans) if spans else gold_text  # "$125$ miles": the words outside the mathematics are no variables
    text = _UNIT_TAIL.sub("", text)  # "\\frac{37}{4} m", "\\frac{1}{\\sqrt{2}}c": a unit, not a variable
    if _GREEK.search(text):
        return True
    letters = set(re.findall(r"[A-Za-z]", _NOT_VARIABLES.sub(" ", text))) - {"e", "i"}
    return bool(letters)


def _numbers(a: Any, b: Any) -> tuple[Any, Any] | None:
    import sympy

    if isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr) and a.is_number and b.is_number:
        return a, b
    return None


def rounding_made_equal(gold: Any, pred: Any) -> bool:
    """math-verify's yes came from rounding: the numbers differ in the 4th significant digit (a decimal
    involved) or anywhere within 40 digits (both exact). See the module docstring."""
    import sympy

    pair = _numbers(gold, pred)
    if pair is None:
        return False
    a, b = (sympy.N(x, 60) for x in pair)
    if not (a.is_finite and b.is_finite):  # oo against +oo: no rounding involved (and oo - oo is nan)
        return False
    diff, scale = abs(a - b), max(abs(a), abs(b))
    if diff == 0 or scale == 0:
        return False
    floats = gold.has(sympy.Float) or pred.has(sympy.Float)
    tol = float(REL_TOL) if floats else 1e-40
    return bool(diff > tol * scale)


def _imaginary(expr: Any) -> Any:
    import sympy

    return expr.xreplace({s: sympy.I for s in expr.free_symbols if s.name == "i"})


def equal_with_imaginary_i(gold: Any, pred: Any) -> bool:
    """Equal once ``i`` is the imaginary unit, for answers with no other variable (``i^2`` = ``-1``)."""
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(pred, sympy.Expr)):
        return False
    names = {s.name for s in gold.free_symbols | pred.free_symbols}
    if names != {"i"}:
        return False
    pair = _numbers(_imaginary(gold), _imaginary(pred))
    if pair is None:
        return False
    a, b = pair
    diff = abs(sympy.N(a - b, 40))
    return bool(diff <= 1e-30 * max(1, abs(sympy.N(a, 40))))


def mathverify_verdict(pred: str, gold: str) -> Verdict:
    """math-verify's own verdict on the strings as written (the same ``$...$`` wrapping, nothing else)."""
    from math_verify import verify

    gold_parsed = parse_answer(gold)
    if not has_expr(gold_parsed):
        return Verdict(False, gold_unparseable=True, reason="gold unparseable")
    pred_parsed = parse_answer(pred)
    ok = bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
    return Verdict(ok, parse_failed=not ok and not has_expr(pred_parsed))


def check_answer(
    pred: str, gold: str, timeout: float | None = DEFAULT_TIMEOUT, shortcut: bool = True
) -> Verdict:
    """r1lite's verdict (see the module docstring), computed in this process; the worker runs it.

    The gold is parsed once and cached; an item over ``timeout`` seconds is interrupted by ``setitimer``
    (main thread only) and reported as ``timed_out``. With ``shortcut``, a prediction with the gold's
    canonical text is correct without parsing it, and a number that cannot match the gold is wrong
    without math-verify's sympy work (:func:`number_certainly_wrong`); tests check both against the
    checker without shortcuts on every MATH-500 and Minerva gold.
    """
    stage = "gold"
    try:
        with deadline(timeout):
            gn, pn = normalize(gold), normalize(pred)
            fast = numeric_fast_path(pn, gn)
            if fast is not None:
                return Verdict(fast, fast_path=True, reason="" if fast else "different number")
            gold_parsed = parse_gold(gn)
            same_text = canonical(pred) == canonical(gold)
            if (not has_expr(gold_parsed) or gold_fragment(gn, gold_parsed)) and not entries_parse(gn):
                if same_text:
                    return Verdict(True, fast_path=True, reason="same text as gold")
                why = "gold unparseable" if not has_expr(gold_parsed) else "gold parsed only in part"
                return Verdict(False, gold_unparseable=True, reason=why)
            if shortcut and same_text:
                return Verdict(True, fast_path=True, reason="same text as gold")
            stage = "pred"
            gold_shape = shape(gn)
            said = sentence_answer(pn, gn, len(gold_shape.items) if gold_shape.kind in ("list", "set") else 1)
            if said is not None:
                pn = normalize(said)
                fast = numeric_fast_path(pn, gn)
                if fast is not None:
                    return Verdict(fast, fast_path=True, reason="" if fast else "different number")
            pn = inequality_as_interval(pn, gn) or pn
            shapes = list_shapes(pn, gn)
            if shapes is not None:
                return _compare_lists(*shapes, shortcut)
            return _compare_items(pn, gn, shortcut)
    except Deadline:
        if stage == "gold":
            return Verdict(False, timed_out=True, gold_unparseable=True, reason="gold parse timed out")
        return Verdict(False, timed_out=True, reason=f"{stage} timed out after {timeout}s")
    except (MemoryError, RecursionError) as exc:
        return Verdict(False, parse_failed=True, reason=f"{stage}: {type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - a sympy error (NaN comparison, ...) is no credit, not a dead worker
        return Verdict(False, parse_failed=True, reason=f"{stage}: {type(exc).__name__}: {exc}"[:200])


def _compare_lists(pred: Shape, gold: Shape, shortcut: bool) -> Verdict:
    """Entries matched as the gold's form asks: in order (tuple), as a set, or as a multiset (bare list)."""
    if gold.kind == "single":
        return Verdict(False, reason=f"a list of {len(pred.items)} answers for one")

    def same(p: str, g: str) -> bool:
        return _compare_items(p, g, shortcut, whole=False).correct

    p_items, g_items = list(pred.items), list(gold.items)
    if gold.kind == "tuple":
        ok = len(p_items) == len(g_items) and all(same(p, g) for p, g in zip(p_items, g_items, strict=True))
        return Verdict(ok, reason="" if ok else "entries differ or are in another order")
    if gold.kind == "set" or len(_distinct(g_items, same)) == len(g_items):
        # a set, or a solution list without repeats: a solution written twice is still that solution
        p_items, g_items = _distinct(p_items, same), _distinct(g_items, same)
    unmatched = list(g_items)
    for p in p_items:
        hit = next((g for g in unmatched if same(p, g)), None)
        if hit is None:
            return Verdict(False, reason=f"entry {p!r} matches no gold entry")
        unmatched.remove(hit)
    if unmatched:
        return Verdict(False, reason=f"{len(unmatched)} gold entries missing")
    return Verdict(True)


def _distinct(items: list[str], same: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if not any(same(item, o) for o in out):
            out.append(item)
    return out


def _compare_items(pn: str, gn: str, shortcut: bool, whole: bool = True) -> Verdict:
    """One answer against one gold answer (both normalised): the own rules, then math-verify."""
    from math_verify import verify

    if not whole:
        pn = strip_assignment(pn) if strip_assignment(gn) == gn else pn
        if canonical(pn) == canonical(gn):
            return Verdict(True)
    fast = numeric_fast_path(pn, gn)
    if fast is not None:
        return Verdict(fast, reason="" if fast else "different number")
    for rule, why in ((compare_bases, "another number in its base"), (compare_ratios, "another ratio")):
        verdict = rule(pn, gn)
        if verdict is not None:
            return Verdict(verdict, reason="" if verdict else why)
    if juxtaposed_numbers(pn):
        return Verdict(False, parse_failed=True, reason="two numbers side by side")
    unit = split_unit(pn)[1]
    units = apply_units(pn, gn)
    if units is False:
        return Verdict(False, reason="units of another kind")
    pn, gn = units
    if unit is not None and SCIENTIFIC_UNIT.match(unit) and rounds_to_gold(pn, gn, integer=True):
        return Verdict(True, reason="a measured value at the gold's precision")
    pn = inequality_as_interval(pn, gn) or vector_as_gold(pn, gn) or pn
    fast = numeric_fast_path(pn, gn)
    if fast is not None:
        return Verdict(fast, reason="" if fast else "different number")
    gold_parsed = parse_gold(gn)
    if not has_expr(gold_parsed):
        return Verdict(False, reason="gold entry unparseable")
    pred_parsed = parse_answer(pn)
    if not pred_parsed:
        return Verdict(False, parse_failed=True, reason="prediction unparseable")
    if shortcut and number_certainly_wrong(gold_parsed, pred_parsed):
        return Verdict(False, fast_path=True, reason="a number cannot match this gold")
    ok = bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))
    if not has_expr(pred_parsed):
        return Verdict(False, parse_failed=True, reason="prediction unparseable")
    import sympy

    gold_expr, pred_expr = gold_parsed[0], pred_parsed[0]
    if ok and "%" not in pn + gn and rounding_made_equal(gold_expr, pred_expr):  # 9 = 9% is no rounding
        return Verdict(False, reason="equal only after rounding")
    if not ok and equal_with_imaginary_i(gold_expr, pred_expr):
        return Verdict(True, reason="equal with i the imaginary unit")
    if not ok and isinstance(pred_expr, sympy.Eq) and isinstance(gold_expr, sympy.Expr):
        pred_expr = pred_expr.rhs  # "z(t) = C e^{-2t} + ...": the expression it names
    if not ok and equal_after_rewriting(gold_expr, pred_expr):
        return Verdict(True, reason="equal once logs, exponentials and i are rewritten")
    if not ok and decimal_coefficient_match(gold_expr, pred_expr, gn):
        return Verdict(True, reason="the gold's decimal coefficient at its precision")
    return Verdict(ok)


def entries_parse(gold: str) -> bool:
    """A list gold math-verify cannot parse whole (``\\frac{-1 \\pm \\sqrt{5}}{2}``) is gradable when each of
    its entries parses whole."""
    entries = shape(gold).items
    if len(entries) < 2 or len(entries) > MAX_ITEMS:
        return False
    for entry in entries:
        parsed = parse_gold(entry)
        if not has_expr(parsed) or gold_fragment(entry, parsed):
            return False
    return True


def gold_verdict(gold: str, timeout: float | None = DEFAULT_TIMEOUT) -> Verdict:
    """Whether a gold can be graded (``gold_unparseable`` says no): a number, or an answer math-verify
    parses whole. Asked once per gold (``prefetch_golds``, answers decided without a worker)."""
    try:
        with deadline(timeout):
            gn = normalize(gold)
            if exact_value(gn) is not None:
                return Verdict(True)
            parsed = parse_gold(gn)
            if (not has_expr(parsed) or gold_fragment(gn, parsed)) and not entries_parse(gn):
                return Verdict(False, gold_unparseable=True, reason="gold unparseable")
            return Verdict(True)
    except Deadline:
        return Verdict(False, timed_out=True, gold_unparseable=True, reason="gold parse timed out")
    except (MemoryError, RecursionError) as exc:
        return Verdict(False, gold_unparseable=True, reason=f"gold: {type(exc).__name__}")
