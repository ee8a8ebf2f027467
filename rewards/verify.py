"""Safe, fast answer verification: math-verify semantics without its hazards.

Why not call ``math_verify.parse``/``verify`` directly (as TRL and open-r1 do)?

* Their timeout uses ``signal.alarm``, which raises ``ValueError`` off the main thread (TRL then
  simply disables it), and a signal cannot interrupt C-level work at all: ``9^{9^{9^9}}`` hangs
  the process forever inside a big-integer power.
* The gold is re-parsed for every completion, and a plain ``18`` goes through LaTeX parsing.

So: (1) plain numbers (also inside ``\\boxed{}``, ``$..$``, or a short sentence such as "18
dollars") take an exact-rational fast path (microseconds) that decides only where math-verify
would decide the same way and defers otherwise; a prediction that merely re-wraps the gold, or a
sentence with nothing math-verify could extract, is decided without parsing it; (2) everything
else runs in persistent worker subprocesses, jobs routed by gold so each worker keeps its own
parsed-gold cache, with a soft per-item ``setitimer`` deadline inside the worker and a hard
deadline in the caller past which the worker is killed and replaced; inside them, math-verify's
LaTeX parser runs ANTLR's two-stage SLL-then-LL strategy (:func:`two_stage_latex_parsing`: same
trees, several times faster on tuples and intervals), a plain number far from a constant gold's
value, an interval or a polynomial skips sympy's ``simplify`` and set algebra
(:func:`number_certainly_wrong`), and each worker warms its parser
on common answer shapes at start-up; (3) verdicts are cached per ``(pred, gold)``; (4) oversized,
absurdly nested or power-tower input is refused before parsing.
Every shortcut has a test proving it agrees with math-verify.
All of this works from any thread.

Public API: :func:`verify_answer`, :func:`verify_batch`, :class:`Verdict`, :func:`prefetch_golds`
(parse a batch's golds in the background while the policy generates), :func:`numeric_fast_path`,
:func:`sympy_equal` / :func:`sympy_equal_batch` (an independent sympy checker for cross-checks),
:func:`warm_up`.
"""

from __future__ import annotations

import atexit
import copy
import logging
import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from multiprocessing.connection import Connection, wait
from typing import Any

DEFAULT_TIMEOUT = 2.0  # seconds of work per item inside the worker (soft, interrupts Python code)
HARD_GRACE = 1.0  # extra seconds before the caller kills a worker stuck in C code
MAX_ANSWER_CHARS = 2000  # longer "answers" are not answers; refusing them bounds the work
MAX_NESTING = 40  # brace/paren depth beyond which parsing is refused
MAX_POW_CHAIN = 2  # "a^{b^{c}}" towers with more levels than this are refused up front
_CACHE_SIZE = 65_536


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one predicted answer against one gold answer.

    ``correct`` is only ever True for a verified match. ``parse_failed``: the prediction was
    missing, refused, or could not be parsed. ``timed_out``: the work limit was hit (counted as
    incorrect). ``gold_unparseable``: the gold could not be parsed, so the item must be skipped
    (reward ``None``), never scored. ``reason`` says why in words; ``fast_path`` whether the
    exact-numeric path decided.
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


# ----------------------------------------------------------------------------------------------
# Preparing an extracted answer for math-verify
# ----------------------------------------------------------------------------------------------

_DELIMITERS = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed|\\fbox")  # an escaped \$ is a currency sign
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_TEXT_ARG = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}")
_WORD = re.compile(r"[A-Za-z]{3,}")


def mathverify_inputs(answer: str) -> list[str]:
    """The strings handed to ``math_verify.parse`` for an extracted answer, in order of trial.

    Math-verify only finds LaTeX inside math delimiters, so a bare ``x^2+1`` or ``\\sqrt{2}``
    would parse to nothing: bare math is wrapped as ``$...$``. Answers that already carry
    delimiters are passed as written. Answers that read as prose ("18 dollars", "The answer is
    5") are tried as written first (math-verify's own anchors and number rules) and wrapped
    second only when they are one word (``Evelyn`` vs gold ``\\text{Evelyn}``): wrapping a
    sentence makes a product of a dozen symbols that sympy then grinds on, to no purpose.
    """
    s = answer.strip()
    if _DELIMITERS.search(s):
        return [s]
    wrapped = "$" + " ".join(s.split()) + "$"
    bare = _LATEX_CMD.sub(" ", _TEXT_ARG.sub(" ", s))
    if _WORD.search(bare):
        return [s] if len(s.split()) > 1 else [s, wrapped]
    return [wrapped]


def parse_answer(answer: str) -> list:
    """``math_verify.parse`` of an extracted answer (see :func:`mathverify_inputs`); no timeout.

    Shared by the guarded workers and the benchmark's in-process baseline, so both see the same
    strings and can only differ in speed and safety.
    """
    from math_verify import parse

    parsed: list = []
    for text in mathverify_inputs(answer):
        parsed = parse(text, parsing_timeout=None)
        if _has_expr(parsed):
            return parsed
    return parsed


def _has_expr(parsed: list) -> bool:
    return any(not isinstance(p, str) for p in parsed)


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


# ----------------------------------------------------------------------------------------------
# Exact numeric fast path
# ----------------------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(
    r"^(?:\\?\$)?\s*(?P<num>-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*\$?$"
)
_FRACTION = re.compile(
    r"^(?P<neg>-)?\s*(?:\\[dt]?frac\{\s*(?P<a>-?\d{1,30})\s*\}\{\s*(?P<b>-?\d{1,30})\s*\}"
    r"|\\[dt]?frac(?P<c>\d)(?P<d>\d)|(?P<e>\d{1,30})\s*/\s*(?P<f>\d{1,30}))$"
)
_WRAPPERS = (
    re.compile(r"^\\boxed\{(.*)\}$", re.DOTALL),
    re.compile(r"^\\\((.*)\\\)$", re.DOTALL),
    re.compile(r"^\\\[(.*)\\\]$", re.DOTALL),
    re.compile(r"^\$\$(.*)\$\$$", re.DOTALL),
    re.compile(r"^\$([^$]*)\$$"),
)
_FLOAT_DIGITS = 15  # math-verify/sympy Floats carry 15 significant digits
_ROUND_EPS = Fraction(1, 10**6)  # math-verify compares floats rounded to 6 decimals


def _unwrap(text: str) -> str:
    """Strip ``\\boxed{}``, ``\\(..\\)``, ``\\[..\\]``, ``$..$`` around a whole answer."""
    s = text.strip()
    for _ in range(3):
        for pattern in _WRAPPERS:
            m = pattern.match(s)
            if m:
                s = m.group(1).strip()
                break
        else:
            return s
    return s


def parse_plain_number(text: str) -> tuple[Fraction, bool] | None:
    """``(value, is_decimal)`` for a plain number (``18``, ``-3.50``, ``1,000``, ``$18``,
    ``\\boxed{18}``) or an integer fraction (``\\frac{1}{2}``, ``-\\dfrac{3}{4}``, ``3/4``).

    Anything else (percents, units, scientific notation, >15 significant digits in a decimal,
    a zero denominator) returns None and goes to math-verify.
    """
    if len(text) > 80:
        return None
    s = _unwrap(text)
    m = _PLAIN_NUMBER.match(s)
    if m:
        num = m.group("num").replace(",", "")
        is_decimal = "." in num
        if is_decimal and len(num.lstrip("-").replace(".", "").lstrip("0")) > _FLOAT_DIGITS:
            return None
        try:
            return Fraction(Decimal(num)), is_decimal
        except (InvalidOperation, ValueError):
            return None
    m = _FRACTION.match(s)
    if m:
        num, den = (m.group("a"), m.group("b")) if m.group("a") else (
            (m.group("c"), m.group("d")) if m.group("c") else (m.group("e"), m.group("f")))
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
        return (-value if m.group("neg") else value), False
    return None


def numeric_fast_path(pred: str, gold: str) -> bool | None:
    """Exact verdict for two plain numbers, or None to defer to math-verify.

    Integers compare exactly. With a decimal involved math-verify rounds both sides to 6
    decimals, so equal values are True, values more than 1e-6 apart are False, and the sliver in
    between (where rounding decides) is deferred. That is why it always agrees with math-verify.
    """
    p, g = parse_plain_number(pred), parse_plain_number(gold)
    if p is None or g is None:
        return None
    (pv, pdec), (gv, gdec) = p, g
    if pv == gv:
        return True
    if not (pdec or gdec):
        return False
    return False if abs(pv - gv) > _ROUND_EPS else None


# ----------------------------------------------------------------------------------------------
# The in-worker checker (math-verify, with our own deadline)
# ----------------------------------------------------------------------------------------------


class _Deadline(BaseException):
    """Raised by our timer; a BaseException so math-verify's ``except Exception`` cannot eat it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Deadline()


_GOLD_CACHE: OrderedDict[str, list] = OrderedDict()
_GOLD_CACHE_SIZE = 4096


def _quiet_math_verify() -> None:
    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _parse_gold(gold: str) -> list:
    hit = _GOLD_CACHE.get(gold)
    if hit is not None:
        _GOLD_CACHE.move_to_end(gold)
        return hit
    parsed = parse_answer(gold)
    _GOLD_CACHE[gold] = parsed
    if len(_GOLD_CACHE) > _GOLD_CACHE_SIZE:
        _GOLD_CACHE.popitem(last=False)
    return parsed


def canonical(answer: str) -> str:
    """Answer text with wrappers (``\\boxed{}``, ``$..$``, ``\\(..\\)``), ``\\dfrac`` and runs of
    spaces normalised away: two answers with the same canonical text are the same answer."""
    s = _unwrap(answer).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return " ".join(s.split())  # collapse, never remove, spaces: "\\hbar \\omega" != "\\hbar\\omega"


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

    use_timer = bool(timeout) and threading.current_thread() is threading.main_thread()
    if use_timer:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(timeout))  # type: ignore[arg-type]
    stage = "gold"
    try:
        gold_parsed = _parse_gold(gold)
        if not _has_expr(gold_parsed):
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
        failed = not ok and not _has_expr(pred_parsed)
        return Verdict(ok, parse_failed=failed, reason="" if ok or not failed else "prediction unparseable")
    except _Deadline:
        if stage == "gold":
            return Verdict(False, timed_out=True, gold_unparseable=True, reason="gold parse timed out")
        return Verdict(False, timed_out=True, reason=f"{stage} timed out after {timeout}s")
    except (MemoryError, RecursionError) as exc:
        return Verdict(False, parse_failed=True, reason=f"{stage}: {type(exc).__name__}")
    finally:
        if use_timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


_STOCK_LATEX_PARSE: Any = None


def two_stage_latex_parsing(enable: bool = True) -> bool:
    """Make latex2sympy's ANTLR parser try SLL prediction first and fall back to LL (stock) on any error.

    Extends latex2sympy2_extended (math-verify's LaTeX parser) where it falls short: it parses in
    ANTLR's default LL mode, whose full-context predictions are never cached, so every tuple,
    interval or ``\\left(..\\right)`` answer pays 15-50 ms, however often that shape was seen.
    ANTLR documents (``PredictionMode.SLL``) that SLL "will either return a correct parse tree
    (i.e. the same parse tree that would be returned with the LL prediction mode), or it will
    report a syntax error"; this is the two-stage strategy the ANTLR book recommends. A tree from
    SLL is therefore the tree LL builds, converted by the same code; anything else (a syntax
    error, a failed conversion) is redone by the stock parser, so results cannot change, only
    speed. A test compares both on every gold of the bundled eval sets.

    Switched on in the verify workers only: r1lite does not alter a library in the caller's
    process. Returns whether it is on (False if latex2sympy is not the one this was written for).
    """
    global _STOCK_LATEX_PARSE
    try:
        from antlr4.atn.PredictionMode import PredictionMode
        from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy
    except ImportError:
        return False
    if _STOCK_LATEX_PARSE is None:
        if not callable(getattr(_Latex2Sympy, "create_parser", None)):
            return False
        _STOCK_LATEX_PARSE = _Latex2Sympy.parse
    stock = _STOCK_LATEX_PARSE
    if not enable:
        _Latex2Sympy.parse = stock
        return False
    create = _Latex2Sympy.create_parser

    def create_sll(self: Any, latex_str: str) -> Any:
        parser = create(self, latex_str)
        parser._interp.predictionMode = PredictionMode.SLL
        return parser

    def parse(self: Any, latex_str: str) -> Any:
        sll = _Latex2Sympy.__new__(_Latex2Sympy)  # conversion mutates state: a failed try must leave none
        sll.__dict__.update({k: copy.copy(v) for k, v in self.__dict__.items()})
        sll.create_parser = create_sll.__get__(sll)
        try:
            return stock(sll, latex_str)
        except (RecursionError, MemoryError):
            raise
        except Exception:  # a syntax error under SLL (or one LL would hit too): the stock parser decides
            return stock(self, latex_str)

    _Latex2Sympy.parse = parse
    return True


# Every worker parses these answer shapes, and verifies these pairs, before it reports ready. The
# pairs pay sympy's lazy imports (sympy.physics, sympy.combinatorics, ... ~0.4 s on first use);
# the shapes build ANTLR's prediction DFA, which otherwise costs 10-100 ms the first time each
# kind of answer is seen. Training starts the workers before the first generation, so this
# overlaps it instead of slowing the first reward calls. Written by hand (not taken from any
# dataset); the benchmark warms its in-process baseline on the same strings.
WARM_UP_PAIRS: tuple[tuple[str, str], ...] = (
    ("5j", "y=3"), ("3", "y=3"), ("t^2+4", "4+t^2"), ("2t^2+7t-15", "x^4 - 2x^3 + x - 7"),
    ("3m^2 - 5m + 2", "3j-1"), ("2\\sqrt{7}", "\\sqrt{28}"), ("9", "7 \\sqrt{3} - 2"),
    ("\\frac{\\sqrt{2}}{2}", "\\dfrac{\\sqrt2}{2}"), ("2 \\pm \\sqrt{7}", "2+\\sqrt{7}"),
    ("64\\pi", "64 \\pi"), ("\\frac{\\pi}{3}", "60^\\circ"), ("105^\\circ", "105"), ("(-4,3)", "(-4, 3)"),
    ("\\left( 2, \\frac{3\\pi}{4} \\right)", "(2,\\frac{3\\pi}{4})"), ("x \\in [-1,4]", "[-1,4]"),
    ("(6,\\infty)", "(6, \\infty)"), ("(-\\infty, 1) \\cup (3, \\infty)", "(-\\infty,1)\\cup(3,\\infty)"),
    ("\\{3, 5\\}", "3,-5"), ("\\begin{pmatrix} 3 \\\\ -8 \\end{pmatrix}", "\\begin{pmatrix} 3 \\\\ -8 \\end{pmatrix}"),
    ("\\text{north}", "\\textbf{(D)}"), ("D", "\\textbf{(D)}"), ("40\\%", "0.4"), ("x > 2", "x\\ge 2"),
    ("2^{8}", "256"), ("\\log_3 9", "2"), ("\\cos \\frac{\\pi}{3}", "\\frac12"), ("2+5i", "2 + 5i"),
    ("2.5 \\times 10^{2}", "250"), ("1101_2", "13"), ("y = 3x - 1", "3x-1"), ("u - v", "v - u"),
    ("\\frac{150}7\\text{ degrees}", "\\frac{150}{7}"), ("a=4, b=1", "(4,1)"), ("\\$12.50", "12.5"),
    ("(1,4) \\cup (4,10)", "3-\\sqrt{2}"), ("3\\sqrt{2}", "\\frac{5+3b}{8}"), ("40", "(-3,1) \\cup (1,5)"),
)
WARM_UP_ANSWERS: tuple[str, ...] = (
    # numbers, fractions, powers
    "-\\frac{5}{2}", "\\dfrac{7}{12}", "\\tfrac{3}{8}", "\\frac{-3}{4}", "1\\frac{1}{2}", "12 \\frac{3}{4}", "3.75",
    "0.\\overline{3}", "1.2\\times10^{-3}", "6.02 \\cdot 10^{23}", "10^6", "2^{-3}", "5!", "\\binom{8}{3}", "\\frac94",
    "\\frac{1}{2^{10}}", "3^{2} \\cdot 5",
    # radicals
    "\\sqrt{2}", "-\\sqrt{6}", "\\sqrt2", "13\\sqrt2", "\\frac{3\\sqrt{2}}{4}", "\\frac{\\sqrt{6}}{3}", "2+\\sqrt{3}",
    "4\\sqrt{2}-1", "\\sqrt[3]{4}", "2\\sqrt[4]{3}", "\\frac{1+\\sqrt{5}}{2}", "\\frac{-1 - \\sqrt{7}}{2}",
    "\\sqrt{a^2+b^2}", "\\frac{1}{\\sqrt{2}}", "5\\sqrt{2} + 3\\sqrt{3}",
    # pi, trigonometry, logarithms, e
    "\\pi^2", "2\\pi", "-\\frac{\\pi}{12}", "\\frac{5\\pi}{4}", "\\frac{\\pi}{3} + 2\\pi k", "7+3\\pi", "\\frac{500}{\\pi}",
    "4\\pi - 8", "\\sin x", "\\cos^2 \\theta", "\\tan \\frac{\\pi}{8}", "\\sin 2x", "\\arctan 2", "\\log_2 3",
    "\\log 5", "\\ln 2", "e^{2}", "e^{-x}", "2e",
    # degrees, percent, money, units, text and choices
    "45^{\\circ}", "135^\\circ", "12\\%", "\\$4.50", "5\\text{ cm}", "40 \\mbox{ feet}^2", "10\\text{ m/s}",
    "\\text{(A)}", "\\textbf{(C)}", "\\text{Monday}", "\\text{odd}", "\\mathrm{B}",
    # polynomials and expressions
    "3x-7", "(x-1)(x+2)", "a^2b", "\\frac{x+1}{x-1}", "2n+1", "-4x^3+x", "\\frac{1}{2}x^2", "x^4-16",
    "k(k+1)", "\\frac{a+b}{2}", "\\frac{n(n+1)}{2}", "x^2 - 5x + 6", "4ab", "2^n - 1", "\\frac{1}{x}", "|x - 3|",
    "\\lfloor x \\rfloor", "f(x) = 2x", "g^{-1}(x)", "x_1 + x_2",
    # equations and inequalities
    "y=-2x+3", "x=\\frac{1}{2}", "x^2+y^2=25", "x = 1, y = 2", "x<3", "-2<x\\le 4", "x \\neq 0", "a \\leq b",
    # tuples, intervals, sets, lists
    "(1,2)", "(-3,\\frac{1}{2})", "(2,-1,4)", "\\left(\\frac{1}{2}, -\\frac{3}{4}\\right)", "[0,1]", "(0,\\infty)",
    "(-\\infty,2]", "(-\\infty, -1) \\cup (1, \\infty)", "[2,5)\\cup(7,9]", "\\{1,2,3\\}", "\\emptyset", "4, 6, 9",
    "\\pm 2", "1\\pm\\sqrt{3}", "\\mathbb{R}", "(-\\infty, 4]", "\\left[ \\frac{\\pi}{6}, \\frac{2\\pi}{3} \\right]",
    "\\left[ -\\sqrt{2}, \\sqrt{2} \\right)",
    # vectors, matrices, complex numbers, bases
    "\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix} 2/7 \\\\ -9/7 \\end{pmatrix}",
    "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}0\\\\-1\\\\3\\end{bmatrix}", "\\langle 1,2\\rangle",
    "-2i", "3-4i", "-5 + 2i", "\\frac{1}{2}+\\frac{\\sqrt{3}}{2}i", "e^{i\\pi/3}", "213_4", "2101_3", "\\infty",
)


def _warm_up_worker() -> None:
    """Parse and verify the warm-up strings, then forget their results: warming must never leave
    a parsed gold behind for a real item to find (only the parser tables and imports stay)."""
    for pred, gold in WARM_UP_PAIRS:
        check_with_math_verify(pred, gold, DEFAULT_TIMEOUT)
    for answer in WARM_UP_ANSWERS:
        parse_answer(answer)
    _GOLD_CACHE.clear()
    clear_math_verify_caches()


def clear_math_verify_caches() -> None:
    """Empty math-verify's own small LRU caches of parsed LaTeX (a cold start for comparisons)."""
    from math_verify import parser

    for name in ("parse_latex_cached", "parse_expr_cached", "extract_latex"):
        cached = getattr(parser, name, None)
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


def _worker_main(conn_in: Connection, conn_out: Connection) -> None:
    """Worker loop: receive ``(kind, pred, gold, timeout)``, reply with a plain tuple/bool."""
    _quiet_math_verify()
    try:  # a pathological item must not eat the machine's memory
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, resource.RLIM_INFINITY))
    except (ImportError, ValueError, OSError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    two_stage_latex_parsing(os.environ.get("R1LITE_TWO_STAGE_PARSE", "1") != "0")
    try:  # lazy imports and parser tables, before the first item; a failure only costs speed
        _warm_up_worker()
    except Exception:  # noqa: BLE001 - a new math-verify may reject a warm-up string
        pass
    conn_out.send("ready")
    while True:
        try:
            msg = conn_in.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        kind, pred, gold, timeout = msg
        if kind == "mv":  # a tuple: this module runs as __main__ here, so Verdict would not unpickle
            out: Any = astuple(check_with_math_verify(pred, gold, timeout))
        elif kind == "gold":  # is the gold parseable? (pred == gold takes the shortcut after parsing)
            out = astuple(check_with_math_verify(gold, gold, timeout))
        else:
            out = _sympy_equal_local(pred, gold, timeout)
        conn_out.send(out)


# ----------------------------------------------------------------------------------------------
# Worker pool (caller side)
# ----------------------------------------------------------------------------------------------


class _Worker:
    """One verification subprocess: ``python verify.py --worker R W`` talking pickles over pipes.

    A plain subprocess, not ``multiprocessing``: spawn/forkserver re-import the caller's
    ``__main__`` (breaking unguarded training scripts) and fork is unsafe in threaded trainers.
    The script imports only the standard library and math-verify, so it never depends on how
    r1lite was installed.
    """

    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(to_child_r), str(from_child_w)]
        self.proc = subprocess.Popen(cmd, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                                     close_fds=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self.conn = Connection(from_child_r, writable=False)
        self.ready = False

    def send(self, msg: Any) -> None:
        self._send.send(msg)

    def wait_ready(self, timeout: float = 120.0) -> None:
        if self.ready:
            return
        try:
            ok = self.conn.poll(timeout) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ok = False
        if not ok:
            self.kill()
            raise RuntimeError(
                "r1lite verify worker failed to start; check that `python -c 'import math_verify'` works"
            )
        self.ready = True

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for c in (self._send, self.conn):
            try:
                c.close()
            except OSError:
                pass

    def close(self) -> None:
        try:
            self.send(None)
            self.proc.wait(1)
        except Exception:
            pass
        self.kill()


def default_workers() -> int:
    """One worker per two CPUs, 1 to 4: the trainer and the tokenizer need the other cores, and
    on a 2-core box a second worker only fights the first (measured: slower, not faster)."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class VerifyPool:
    """A few verification subprocesses shared by all threads of this process.

    Jobs are routed by gold (a stable hash), so each gold is parsed and cached by one worker
    only; an idle worker steals from a long queue so no core sits idle.
    """

    def __init__(self, workers: int | None = None) -> None:
        env = os.environ.get("R1LITE_VERIFY_WORKERS")
        n = workers or (int(env) if env else default_workers())
        if n < 1:
            raise ValueError(f"need at least one verify worker, got {n} (R1LITE_VERIFY_WORKERS)")
        self.size = n
        self.pid = os.getpid()
        self._workers: list[_Worker | None] = [None] * n  # started lazily
        self._idle: queue.Queue[int] = queue.Queue()
        for slot in range(n):
            self._idle.put(slot)
        self.timeouts = 0
        self.restarts = 0

    def _worker(self, slot: int) -> _Worker:
        w = self._workers[slot]
        if w is None or not w.alive():
            if w is not None:
                w.kill()
                self.restarts += 1
            w = self._workers[slot] = _Worker()
        return w

    def run(self, jobs: Sequence[tuple[str, str, str, float]]) -> list[Any]:
        """Run ``(kind, pred, gold, timeout)`` jobs on idle workers; hard-kill any past deadline."""
        results: list[Any] = [None] * len(jobs)
        if not jobs:
            return results
        slots = [self._idle.get()]
        while len(slots) < min(self.size, len(jobs)):
            try:
                slots.append(self._idle.get_nowait())
            except queue.Empty:
                break
        try:
            self._drive(jobs, slots, results)
        finally:
            for slot in slots:
                self._idle.put(slot)
        return results

    def start(self) -> None:
        """Start every worker and wait until each is ready."""
        slots = [self._idle.get() for _ in range(self.size)]
        try:
            for slot in slots:
                self._worker(slot).wait_ready()
        finally:
            for slot in slots:
                self._idle.put(slot)

    def _route(self, jobs: Sequence[tuple[str, str, str, float]], slots: list[int]) -> dict[int, deque[int]]:
        queues: dict[int, deque[int]] = {s: deque() for s in slots}
        for i, job in enumerate(jobs):
            pref = zlib.crc32(job[2].encode("utf-8", "replace")) % self.size
            queues[pref if pref in queues else slots[pref % len(slots)]].append(i)
        return queues

    def _drive(self, jobs: Sequence[tuple[str, str, str, float]], slots: list[int], results: list[Any]) -> None:
        queues = self._route(jobs, slots)
        busy: dict[int, tuple[int, float]] = {}  # slot -> (job index, hard deadline)
        while busy or any(queues.values()):
            for slot in slots:
                if slot in busy:
                    continue
                if queues[slot]:
                    i = queues[slot].popleft()
                else:
                    donor = max(queues, key=lambda k: len(queues[k]))
                    if len(queues[donor]) < 2:
                        continue
                    i = queues[donor].pop()
                self._submit(slot, jobs[i])
                busy[slot] = (i, time.monotonic() + jobs[i][3] + HARD_GRACE)
            if not busy:
                continue
            nearest = min(d for _, d in busy.values())
            conns = {self._workers[s].conn: s for s in busy}  # type: ignore[union-attr]
            ready = wait(list(conns), timeout=max(0.0, nearest - time.monotonic()))
            for slot in list(busy):
                i, deadline = busy[slot]
                w = self._workers[slot]
                assert w is not None
                if w.conn in ready:
                    try:
                        got = w.conn.recv()
                        results[i] = Verdict(*got) if isinstance(got, tuple) else got
                    except (EOFError, OSError):  # the worker died (e.g. memory limit)
                        results[i] = _dead(jobs[i][0], "worker died")
                        self._restart(slot)
                    del busy[slot]
                elif time.monotonic() >= deadline:
                    results[i] = _dead(jobs[i][0], f"hard time limit {jobs[i][3] + HARD_GRACE:.1f}s")
                    self.timeouts += 1
                    self._restart(slot)
                    del busy[slot]

    def _submit(self, slot: int, job: tuple[str, str, str, float]) -> None:
        """Send a job, replacing the worker once if it died since its last answer."""
        for attempt in (1, 2):
            w = self._worker(slot)
            try:
                w.wait_ready()
                w.send(job)
                return
            except (OSError, EOFError, RuntimeError):
                if attempt == 2:
                    raise RuntimeError("r1lite verify worker keeps dying on start; see its stderr above") from None
                self._restart(slot)

    def _restart(self, slot: int) -> None:
        w = self._workers[slot]
        if w is not None:
            w.kill()
        self._workers[slot] = _Worker()
        self.restarts += 1

    def close(self) -> None:
        if self.pid != os.getpid():  # a forked copy: the workers belong to the parent
            return
        for slot, w in enumerate(self._workers):
            if w is not None:
                w.close()
                self._workers[slot] = None


_KILLED = ("hard time limit", "worker died")


def _dead(kind: str, why: str) -> Any:
    if kind in ("mv", "gold"):
        return Verdict(False, timed_out=True, reason=why)
    return None


_POOL: VerifyPool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> VerifyPool:
    """This process's worker pool, started on first use.

    A forked child (e.g. a data-loader worker) must not talk to its parent's workers through
    the inherited pipes, so a pool belongs to the process that made it.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = VerifyPool()
            atexit.register(_POOL.close)
        return _POOL


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------

_VERDICTS: OrderedDict[tuple[str, str], Verdict] = OrderedDict()
_VERDICTS_LOCK = threading.Lock()


def _cache_get(key: tuple[str, str]) -> Verdict | None:
    with _VERDICTS_LOCK:
        hit = _VERDICTS.get(key)
        if hit is not None:
            _VERDICTS.move_to_end(key)
        return hit


def _cache_put(key: tuple[str, str], verdict: Verdict) -> None:
    with _VERDICTS_LOCK:
        _VERDICTS[key] = verdict
        if len(_VERDICTS) > _CACHE_SIZE:
            _VERDICTS.popitem(last=False)


def clear_caches(golds: bool = True) -> None:
    """Forget cached verdicts and, with ``golds``, which golds parse (the workers' parsed golds are
    bounded LRUs; :func:`reset_pool` drops them too)."""
    with _VERDICTS_LOCK:
        _VERDICTS.clear()
        if golds:
            _GOLD_OK.clear()


_PROSE_NUMBER = re.compile(
    r"^(?:[A-Za-z]+[ ,:]+)*(?P<num>-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?)(?: +[A-Za-z]+)* *\.?$"
)
_PERCENT_WORD = re.compile(r"(?i)\b(?:percent|percentage|pct)\b")
_MATHY = re.compile(r"[\d$\\\[]")
_STRUCTURAL = re.compile(r"\\(?:[dt]?frac|boxed|left|right|displaystyle)(?![A-Za-z])")
_NOT_EMPTY = re.compile(r"[^\s{}$]")


def prose_number(pred: str) -> str | None:
    """The number in a short sentence with exactly one number ("18 dollars", "The answer is
    18."), where math-verify's own number extraction is bound to pick it; else None."""
    if len(pred) > 120 or _PERCENT_WORD.search(pred):
        return None
    m = _PROSE_NUMBER.match(pred.strip())
    return m.group("num") if m else None


def certainly_unparseable(pred: str) -> bool:
    """A sentence (passed to math-verify as written, see :func:`mathverify_inputs`) without a digit,
    ``$``, backslash or bracket: math-verify's LaTeX and number patterns cannot match anything."""
    return not _MATHY.search(pred) and mathverify_inputs(pred) == [pred.strip()] and len(pred.split()) > 1


def empty_latex(pred: str) -> bool:
    """Only braces, ``$`` and structural commands (``}{\\frac{``, ``\\boxed{}``), as a cut-off answer
    leaves: no digit, symbol or operator for math-verify to read, so it matches no *number*. (Not any
    gold: math-verify reads ``{}`` as the empty set, which is why :func:`decide` asks for a number.)"""
    return not _NOT_EMPTY.search(_STRUCTURAL.sub("", pred))


def decide(pred: str | None, gold: str | None) -> tuple[Verdict | None, bool]:
    """``(verdict, needs_gold)`` reached without math-verify, or ``(None, False)``.

    ``needs_gold``: the verdict stands only if the gold parses (a missing answer against an
    unparseable gold is skipped, not scored 0), which the caller learns once per gold.
    """
    if gold is None or not str(gold).strip():
        return Verdict(False, gold_unparseable=True, reason="gold missing"), False
    gold = str(gold).strip()
    why = refuse_reason(gold)
    if why:
        return Verdict(False, gold_unparseable=True, reason=f"gold refused: {why}"), False
    if pred is None or not pred.strip():
        return Verdict(False, parse_failed=True, reason="no answer"), True
    pred = pred.strip()
    why = refuse_reason(pred)
    if why:
        timed = why.startswith("power")
        return Verdict(False, parse_failed=not timed, timed_out=timed, reason=f"refused: {why}"), True
    fast = numeric_fast_path(pred, gold)
    if fast is None and parse_plain_number(gold) is not None:
        number = prose_number(pred)
        fast = numeric_fast_path(number, gold) if number is not None else None
    if fast is not None:
        return Verdict(fast, fast_path=True), False
    if canonical(pred) == canonical(gold):
        return Verdict(True, fast_path=True, reason="same text as gold"), True
    if certainly_unparseable(pred) or (empty_latex(pred) and parse_plain_number(gold) is not None):
        return Verdict(False, parse_failed=True, reason="prediction unparseable"), True
    return None, False


def verify_batch(
    pairs: Sequence[tuple[str | None, str | None]], timeout: float = DEFAULT_TIMEOUT
) -> list[Verdict]:
    """Verify many ``(pred, gold)`` pairs (extracted answers, not whole completions).

    Cheap cases are decided here (:func:`decide`), duplicates are checked once, and the rest
    spreads over the worker pool, each item with at most ``timeout`` seconds (plus a hard grace
    period), never retried. Thread-safe.
    """
    if timeout is None or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    out: list[Verdict | None] = [None] * len(pairs)
    todo: dict[tuple[str, str], list[int]] = {}
    waiting: dict[str, list[tuple[int, Verdict]]] = {}  # gold -> items whose verdict needs its status
    for i, (pred, gold) in enumerate(pairs):
        verdict, needs_gold = decide(pred, gold)
        if verdict is not None:
            if not needs_gold:
                out[i] = verdict
                continue
            g = str(gold).strip()
            status = _gold_status(g)
            if status is None:
                waiting.setdefault(g, []).append((i, verdict))
            else:
                out[i] = verdict if status else _GOLD_BAD
            continue
        key = (str(pred).strip(), str(gold).strip())
        hit = _cache_get(key)
        if hit is not None:
            out[i] = hit
        else:
            todo.setdefault(key, []).append(i)
    if todo or waiting:
        keys = list(todo)
        covered = {g for _, g in keys}
        gold_jobs = [g for g in waiting if g not in covered]
        jobs = [("mv", p, g, float(timeout)) for p, g in keys] + [("gold", "", g, float(timeout)) for g in gold_jobs]
        verdicts = get_pool().run(jobs)
        for key, verdict in zip(keys, verdicts, strict=False):
            _cache_put(key, verdict)
            _note_gold(key[1], verdict)
            for i in todo[key]:
                out[i] = verdict
        for gold, verdict in zip(gold_jobs, verdicts[len(keys):], strict=True):
            _note_gold(gold, verdict)
        for gold, held in waiting.items():
            ok = bool(_gold_status(gold))
            for i, verdict in held:
                out[i] = verdict if ok else _GOLD_BAD
    return [v if v is not None else Verdict(False, parse_failed=True) for v in out]


_GOLD_BAD = Verdict(False, gold_unparseable=True, reason="gold unparseable")
_GOLD_OK: OrderedDict[str, bool] = OrderedDict()


def _gold_status(gold: str) -> bool | None:
    if parse_plain_number(gold) is not None:  # plain numbers always parse
        return True
    with _VERDICTS_LOCK:
        return _GOLD_OK.get(gold)


def _note_gold(gold: str, verdict: Verdict) -> None:
    if verdict.reason.startswith(_KILLED):  # the worker died before telling us about the gold
        return
    with _VERDICTS_LOCK:
        _GOLD_OK[gold] = not verdict.gold_unparseable
        if len(_GOLD_OK) > _CACHE_SIZE:
            _GOLD_OK.popitem(last=False)


def prefetch_golds(golds: Iterable[Any], timeout: float = DEFAULT_TIMEOUT) -> threading.Thread | None:
    """Parse golds in the workers in the background; returns the thread (None if nothing to do).

    Call it when a batch's prompts are drawn, before generation: the golds are then parsed while
    the policy generates, instead of on the reward's critical path (MATH golds cost ~3-10 ms each
    in math-verify's LaTeX parser). Plain-number golds need no parsing and are skipped.
    """
    todo = []
    for g in dict.fromkeys(str(g).strip() for g in golds if g is not None):
        if g and _gold_status(g) is None and not refuse_reason(g):
            todo.append(g)
    if not todo:
        return None

    def work() -> None:
        verdicts = get_pool().run([("gold", "", g, float(timeout)) for g in todo])
        for g, v in zip(todo, verdicts, strict=True):
            _note_gold(g, v)

    thread = threading.Thread(target=work, name="r1lite-gold-prefetch", daemon=True)
    thread.start()
    return thread


def verify_answer(pred: str | None, gold: str | None, timeout: float = DEFAULT_TIMEOUT) -> Verdict:
    """Check one extracted answer against one gold answer (see :class:`Verdict`). Thread-safe."""
    return verify_batch([(pred, gold)], timeout)[0]


# ----------------------------------------------------------------------------------------------
# An independent checker (plain sympy) for cross-checking math-verify's verdicts
# ----------------------------------------------------------------------------------------------

_SIMPLE_SUBS: tuple[tuple[str, str], ...] = (
    ("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\ ", ""),
    ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\cdot", "*"), ("\\times", "*"), ("\\div", "/"),
    ("\\pi", " pi "), ("\\infty", " oo "), ("^\\circ", ""), ("^{\\circ}", ""), ("\\%", ""), ("%", ""),
    ("\\$", ""), ("$", ""), ("{,}", ""),
)


def _latex_to_sympy_text(s: str) -> str:
    """A small, deliberately independent LaTeX -> sympy-syntax normaliser."""
    s = s.strip().rstrip(".")
    for a, b in _SIMPLE_SUBS:
        s = s.replace(a, b)
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"^\s*[A-Za-z]\s*=\s*", "", s)  # "x = 5" -> "5"
    for _ in range(MAX_NESTING):  # innermost first: \frac{a}{b}, \sqrt[n]{a}, \sqrt{a}
        new = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", s)
        new = re.sub(r"\\frac(\d)(\d)", r"((\1)/(\2))", new)
        new = re.sub(r"\\sqrt\[([^{}\[\]]*)\]\{([^{}]*)\}", r"((\2)**(1/(\1)))", new)
        new = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", new)
        new = re.sub(r"\\sqrt(\d)", r"sqrt(\1)", new)
        if new == s:
            break
        s = new
    s = s.replace("{", "(").replace("}", ")").replace("^", "**")
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)  # 1,000 -> 1000
    return s


def _to_sympy(text: str) -> Any:
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    t = _latex_to_sympy_text(text)
    if "\\" in t or not t:
        raise ValueError(f"unsupported LaTeX in {text!r}")
    transforms = standard_transformations + (implicit_multiplication_application, convert_xor)
    parts = [p for p in re.split(r",(?![^()]*\))", t)] if "," in t else [t]
    exprs = [parse_expr(p, transformations=transforms, evaluate=True) for p in parts]
    return exprs[0] if len(exprs) == 1 else tuple(exprs)


def _equal_exprs(a: Any, b: Any) -> bool:
    import sympy

    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)) or len(a) != len(b):
            return False
        return all(_equal_exprs(x, y) for x, y in zip(a, b, strict=True))
    if a == b:
        return True
    diff = sympy.simplify(a - b)
    if diff == 0:
        return True
    if diff.free_symbols:
        return False
    val = complex(sympy.N(diff, 30))
    scale = 1.0 if getattr(b, "free_symbols", None) else max(1.0, abs(complex(sympy.N(b, 30))))
    return abs(val) <= 1e-9 * scale


def _sympy_equal_local(pred: str, gold: str, timeout: float | None = DEFAULT_TIMEOUT) -> bool | None:
    use_timer = bool(timeout) and threading.current_thread() is threading.main_thread()
    if use_timer:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(timeout))  # type: ignore[arg-type]
    try:
        return _equal_exprs(_to_sympy(pred), _to_sympy(gold))
    except _Deadline:
        return None
    except Exception:
        return None
    finally:
        if use_timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def sympy_equal(pred: str | None, gold: str | None, timeout: float = DEFAULT_TIMEOUT) -> bool | None:
    """Second opinion, independent of math-verify: True/False, or None if either side won't parse.

    Uses its own LaTeX normaliser and plain sympy (``simplify``, then a 30-digit numeric check),
    runs in the same guarded workers, so it is as safe as :func:`verify_answer`. Meant for
    cross-checking evaluation verdicts, not for training rewards.
    """
    return sympy_equal_batch([(pred, gold)], timeout)[0]


def sympy_equal_batch(
    pairs: Sequence[tuple[str | None, str | None]], timeout: float = DEFAULT_TIMEOUT
) -> list[bool | None]:
    """:func:`sympy_equal` for many pairs in one pass over the worker pool (duplicates once)."""
    out: list[bool | None] = [None] * len(pairs)
    todo: dict[tuple[str, str], list[int]] = {}
    for i, (pred, gold) in enumerate(pairs):
        if not pred or gold is None or not str(pred).strip() or not str(gold).strip():
            continue
        pred, gold = str(pred), str(gold)
        if refuse_reason(pred) or refuse_reason(gold):
            continue
        p, g = parse_plain_number(pred), parse_plain_number(gold)
        if p is not None and g is not None:
            out[i] = p[0] == g[0]
        else:
            todo.setdefault((pred, gold), []).append(i)
    if todo:
        keys = list(todo)
        results = get_pool().run([("sympy", p, g, float(timeout)) for p, g in keys])
        for key, res in zip(keys, results, strict=True):
            for i in todo[key]:
                out[i] = res
    return out


def reset_pool() -> None:
    """Stop the workers and forget every cache (a cold start, e.g. between benchmark passes)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None
    clear_caches()


def warm_up() -> None:
    """Start every worker now (e.g. before a timed loop or while a model loads), not on first use."""
    get_pool().start()


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--worker":
    _worker_main(Connection(int(sys.argv[2]), writable=False), Connection(int(sys.argv[3]), readable=False))
