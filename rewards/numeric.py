"""The exact numeric path: plain numbers decided in microseconds, without a parser.

Runs on normalised text (:func:`r1lite.rewards.normalize.normalize`), so ``1 000``, ``1.5e3``, ``2 1/2`` and
``0.\\overline{3}`` arrive as plain numbers and fractions. Integers and fractions compare exactly. With a
decimal involved math-verify's convention holds (both sides rounded to 6 decimals, so ``0.333333`` is
``1/3``), except that values differing in their 4th significant digit never match however small they are
(``1.77e-6`` is not ``1.78e-6``; math-verify's absolute rounding calls both 0). A percent matches its
number with or without the sign (``17.5`` and ``0.175`` both match ``17.5\\%``). Values closer than the
rounding step are left to the worker, where math-verify's own rounding decides.

Standard library only (``fractions``, ``decimal``): the verify workers import this module too.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache

from .normalize import mathverify_inputs, unwrap

_PLAIN_NUMBER = re.compile(
    r"^(?:\\?\$)?\s*(?P<num>-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*\$?$"
)
_FRACTION = re.compile(
    r"^(?P<neg>-)?\s*(?:\\[dt]?frac\{\s*(?P<a>-?\d{1,30})\s*\}\{\s*(?P<b>-?\d{1,30})\s*\}"
    r"|\\[dt]?frac(?P<c>\d)(?P<d>\d)|(?P<e>\d{1,30})\s*/\s*(?P<f>\d{1,30}))$"
)
_TIMES_TEN = re.compile(
    r"^(?P<neg>-)?\s*(?P<m>\d+(?:\.\d+)?)\s*\\(?:times|cdot)\s*10\s*\^\s*(?:\{\s*(?P<e>[+-]?\d{1,4})\s*\}|(?P<e1>\d))$")
_PERCENT = re.compile(r"^(?P<body>.*?)\s*\\?%$", re.DOTALL)
_FLOAT_DIGITS = 15  # math-verify/sympy Floats carry 15 significant digits
_ROUND_EPS = Fraction(1, 10**6)  # math-verify compares floats rounded to 6 decimals
REL_TOL = Fraction(1, 10**4)  # decimals differing by more than this share never match (see module docstring)


def parse_plain_number(text: str) -> tuple[Fraction, bool] | None:
    """``(value, is_decimal)`` for a plain number (``18``, ``-3.50``, ``1,000``, ``$18``,
    ``\\boxed{18}``) or an integer fraction (``\\frac{1}{2}``, ``-\\dfrac{3}{4}``, ``3/4``).

    Anything else (percents, units, scientific notation, >15 significant digits in a decimal,
    a zero denominator) returns None and goes to math-verify.
    """
    if len(text) > 80:
        return None
    s = unwrap(text)
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


@lru_cache(maxsize=65_536)
def exact_value(text: str) -> tuple[Fraction, bool, bool] | None:
    """``(value, is_decimal, is_percent)`` of a normalised plain number, fraction, ``a\\times10^{b}``
    or any of them followed by ``\\%``; None for anything else."""
    s = unwrap(text)
    percent = False
    m = _PERCENT.match(s)
    if m and m.group("body").strip():
        s, percent = m.group("body").strip(), True
    got = parse_plain_number(s)
    if got is not None:
        return got[0], got[1], percent
    m = _TIMES_TEN.match(s)
    if m:
        exp = int(m.group("e") or m.group("e1"))
        value = Fraction(Decimal(m.group("m"))) * Fraction(10) ** exp
        return (-value if m.group("neg") else value), "." in m.group("m"), percent
    return None


def close(a: Fraction, b: Fraction, decimal: bool) -> bool | None:
    """Equal as math-verify's convention has it (see the module docstring); None in the rounding sliver."""
    if a == b:
        return True
    if not decimal or abs(a - b) > _ROUND_EPS or abs(a - b) > REL_TOL * max(abs(a), abs(b)):
        return False
    return None


_GOLD_DECIMAL = re.compile(r"^-?(?P<int>\d*)\.(?P<frac>\d+)$")
_GOLD_SCIENTIFIC = re.compile(r"^-?(?P<int>\d+)(?:\.(?P<frac>\d+))?\s*\\times\s*10\s*\^\s*\{?\s*[+-]?\d+\s*\}?$")
_GOLD_INTEGER = re.compile(r"^-?(?P<int>[1-9]\d*)$")


def gold_digits(gold: str, integer: bool = False) -> int | None:
    """Significant digits a gold is written with, when it states a measured value: a decimal with two or more
    (``0.033``: 2, ``6630.0``: 5) or scientific notation (``6.6\\times10^{-34}``, normalised from ``6.6e-34``: 2); with
    ``integer``, also an integer (``560``: 2, its trailing zeros not counted). None for anything else."""
    s = unwrap(gold).strip()
    m = _GOLD_DECIMAL.match(s)
    if m:  # a one-digit decimal (0.5) is taken as exact: rounding would span 0.45 to 0.55
        digits = (m.group("int") + m.group("frac")).lstrip("0")
        return len(digits) if len(digits) >= 2 else None
    m = _GOLD_SCIENTIFIC.match(s)
    if m:
        digits = (m.group("int") + (m.group("frac") or "")).lstrip("0")
        return len(digits) or None
    m = _GOLD_INTEGER.match(s) if integer else None
    return len(m.group("int").rstrip("0")) if m else None


def round_significant(value: Fraction, digits: int) -> Fraction:
    """``value`` rounded half away from zero to ``digits`` significant digits, exactly."""
    if value == 0:
        return value
    d = Decimal(value.numerator) / Decimal(value.denominator) if abs(value) < 10**30 else Decimal(float(value))
    quantum = Decimal(1).scaleb(d.adjusted() - digits + 1)
    from decimal import ROUND_HALF_UP

    return Fraction(d.quantize(quantum, rounding=ROUND_HALF_UP))


def rounds_to_gold(pred: str, gold: str, integer: bool = False) -> bool:
    """Minerva's convention for measured values: the prediction, rounded to the gold's own significant
    digits (:func:`gold_digits`), is the gold (``6.63\\times10^{-34}`` earns ``6.6e-34``; ``6.7e-34`` and
    ``1.8e-6`` against ``1.77e-6`` do not). The prediction must be a decimal too (``\\frac{1}{3}`` is not
    ``0.33``); percents and non-numbers never match this way."""
    digits = gold_digits(gold, integer)
    p, g = exact_value(pred), exact_value(gold)
    if digits is None or p is None or g is None or p[2] or g[2] or p[0] == 0:
        return False
    if not (p[1] or integer or _GOLD_SCIENTIFIC.match(unwrap(gold).strip())):
        return False  # an exact value (1/3, 0.3 repeating) is no measurement: 1/3 is not 0.33 (but is 3.3e-1)
    return round_significant(p[0], digits) == g[0]


_DECIMAL_COMMA = re.compile(r"^-?\d+,(?:\d{1,2}|\d{4,})$")


def _decimal_comma(text: str) -> tuple[Fraction, bool, bool] | None:
    """``1000,99`` read as ``1000.99`` -- only against a decimal on the other side, and only where the comma
    cannot be a thousands separator (not three digits after it)."""
    s = unwrap(text).strip()
    return exact_value(s.replace(",", ".")) if _DECIMAL_COMMA.match(s) else None


def numeric_fast_path(pred: str, gold: str) -> bool | None:
    """Verdict for two plain numbers (normalised text), or None to defer to the worker.

    A percent on one side matches the other side's number as written or divided by 100; a decimal or
    scientific gold is matched at its own precision (:func:`rounds_to_gold`).
    """
    p, g = exact_value(pred), exact_value(gold)
    if p is None and g is not None and g[1]:
        p = _decimal_comma(pred)
    elif g is None and p is not None and p[1]:
        g = _decimal_comma(gold)
    if p is None or g is None:
        return None
    (pv, pdec, ppct), (gv, gdec, gpct) = p, g
    decimal = pdec or gdec
    if ppct == gpct:
        verdict = close(pv, gv, decimal)
        return True if verdict is not True and rounds_to_gold(pred, gold) else verdict
    pcs = [pv, pv / 100] if ppct else [pv]
    gcs = [gv, gv / 100] if gpct else [gv]
    verdicts = [close(a, b, decimal) for a in pcs for b in gcs]
    if True in verdicts:
        return True
    return False if all(v is False for v in verdicts) else None


_PROSE_NUMBER = re.compile(  # trailing words of 2+ letters: "18 dollars", not "2 i" or "5 x"
    r"^(?:[A-Za-z]+[ ,:]+)*(?P<num>-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?)(?: +[A-Za-z]{2,})* *\.?$"
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
    gold: math-verify reads ``{}`` as the empty set, which is why the caller asks for a number.)"""
    return not _NOT_EMPTY.search(_STRUCTURAL.sub("", pred))
