"""The exact numeric fast path: plain numbers decided in microseconds, as math-verify would decide them.

Standard library only (``fractions``, ``decimal``): no parser is loaded to compare ``18`` with ``18.00``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .normalize import mathverify_inputs, unwrap

_PLAIN_NUMBER = re.compile(
    r"^(?:\\?\$)?\s*(?P<num>-?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*\$?$"
)
_FRACTION = re.compile(
    r"^(?P<neg>-)?\s*(?:\\[dt]?frac\{\s*(?P<a>-?\d{1,30})\s*\}\{\s*(?P<b>-?\d{1,30})\s*\}"
    r"|\\[dt]?frac(?P<c>\d)(?P<d>\d)|(?P<e>\d{1,30})\s*/\s*(?P<f>\d{1,30}))$"
)
_FLOAT_DIGITS = 15  # math-verify/sympy Floats carry 15 significant digits
_ROUND_EPS = Fraction(1, 10**6)  # math-verify compares floats rounded to 6 decimals


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
    gold: math-verify reads ``{}`` as the empty set, which is why the caller asks for a number.)"""
    return not _NOT_EMPTY.search(_STRUCTURAL.sub("", pred))
