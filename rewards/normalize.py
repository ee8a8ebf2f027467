"""Answer text before parsing: unwrapping, canonical text, the strings math-verify is handed, and the
rewrites that make math-verify read what the writer meant (:func:`normalize`).

math-verify reads ``1 000`` as the product ``1*000``, ``1.5e3`` as ``1.5*e*3`` (Euler's number),
``2 1/2`` as ``2*1/2``, ``0.\\overline{3}`` as ``0``, and ``2 i`` and ``2i`` as two different symbols.
Each is a notation, not mathematics, so it is rewritten here, before parsing, into the form
math-verify reads correctly; what a rewrite cannot express is an own rule in :mod:`.rules`.
Every rewrite is written to fire only on its notation (tests: ``tests/test_rewards_normalize.py``,
and the answers of MATH-500 and Minerva must keep math-verify's verdicts).

Standard library only: the verify workers import this module too.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_DELIMITERS = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed|\\fbox")  # an escaped \$ is a currency sign
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_TEXT_ARG = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}")
_WORD = re.compile(r"[A-Za-z]{3,}")
_WRAPPERS = (
    re.compile(r"^\\boxed\{(.*)\}$", re.DOTALL),
    re.compile(r"^\\\((.*)\\\)$", re.DOTALL),
    re.compile(r"^\\\[(.*)\\\]$", re.DOTALL),
    re.compile(r"^\$\$(.*)\$\$$", re.DOTALL),
    re.compile(r"^\$([^$]*)\$$"),
)


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


def unwrap(text: str) -> str:
    """Strip ``\\boxed{}``, ``\\(..\\)``, ``\\[..\\]``, ``$..$`` around a whole answer."""
    s = text.strip()
    if not s or s[0] not in "\\$":
        return s
    for _ in range(3):
        for pattern in _WRAPPERS:
            m = pattern.match(s)
            if m:
                s = m.group(1).strip()
                break
        else:
            return s
    return s


_SPACING = re.compile(r"\\[,;:! ]|~")
_LEFT_RIGHT = re.compile(r"\\(?:left|right)(?![A-Za-z])")
_ONE_CHAR_GROUP = re.compile(r"([_^])\{(\w)\}")
_SPACE = re.compile(r" (?=[^A-Za-z0-9])|(?<=[^A-Za-z0-9]) |(?<=\d) (?=[A-Za-z])")


@lru_cache(maxsize=65_536)
def canonical(answer: str) -> str:
    """Answer text as a typesetter sees it: normalised (:func:`normalize`), unwrapped, without
    ``\\left``/``\\right``, spacing commands or braces around one-character sub/superscripts, and with
    spaces kept only where they separate two letters or digits (``\\pi r``, ``x y``). Two answers with the
    same canonical text are the same answer."""
    s = unwrap(normalize(unwrap(answer)))
    s = _LEFT_RIGHT.sub("", _SPACING.sub(" ", s))
    s = _ONE_CHAR_GROUP.sub(r"\1\2", s)
    s = " ".join(s.split())
    while True:
        new = _SPACE.sub("", s)
        if new == s:
            return s
        s = new


# ----------------------------------------------------------------------------------------------
# Rewrites before parsing
# ----------------------------------------------------------------------------------------------

_UNICODE = (("\u2212", "-"), ("\u2013", "-"), ("\u00d7", "\\times "), ("\u00b7", "\\cdot "), ("\u00b0", "^\\circ"),
            ("\u2264", "\\le "), ("\u2265", "\\ge "), ("\u2260", "\\ne "), ("\u03c0", "\\pi "), ("\u221e", "\\infty "))
# A thousands separator between digit groups: a space (plain, Unicode thin/narrow/no-break), LaTeX's \, \  ~
# or {,}, or MATH's ",\!" (optionally followed by a space). A plain comma is left to math-verify, which
# reads "1,000" as a thousand already; whether a comma separates list items is the gold's call (see rules).
_SEP = r"(?: |\u2009|\u202f|\u00a0|\\,|\\ |~|\{,\}|,\\!\s?|\\!)"
_GROUPED = re.compile(rf"(?<![\d.\w}}^_])(\d{{1,3}})((?:{_SEP}\d{{3}})+)(?![\d/])")
_SEP_RE = re.compile(_SEP)
_E_NOTATION = re.compile(r"(?<![\w.\\}])(\d+(?:\.\d*)?|\.\d+)[eE]([+-]?\d+)(?![\w.{^])")
_MIXED_FRAC = re.compile(
    r"(?<![\w.^_}\\)\]|])(-?)(\d+)(?:\s|\\[ ,;]|~)*\\[dt]?frac(?:\{(\d+)\}\{(\d+)\}|(\d)(\d))(?![\d{])")
_MIXED_SLASH = re.compile(r"(?<![\w.^_}\\)/])(-?)(\d+)(?:\s|\\[ ,;]|~)+(\d+)\s*/\s*(\d+)(?![\d.])")
_REPEATING = re.compile(r"(?<![\w.])(-?)(\d*)\.(\d*)\\(?:overline|bar|dot)\s*(?:\{(\d+)\}|(\d))")
_COMPLEX_SPACE = re.compile(r"(?<=[\d}])\s+i(?![A-Za-z])")
_TEXT_NUMBER_UNIT = re.compile(r"\\(?:text|mbox|mathrm)\s*\{\s*(-?\d[\d.,]*)\s+([A-Za-z][^{}]*)\}")
_PERCENT_WORD = re.compile(r"(?<=\d)\s*(?:percent|per cent)\b", re.IGNORECASE)
_ANGLE_BRACKETS = re.compile(r"\\langle\s*(.*?)\s*\\rangle")
_UPRIGHT_E = re.compile(r"\\(?:mathrm|text|operatorname)\s*\{\s*e\s*\}")
_TRAILING_PERIOD = re.compile(r"(?<!\.)\.\s*$")
_PLAIN = re.compile(r"-?\d+(?:\.\d+)?$")


@lru_cache(maxsize=65_536)
def normalize(answer: str) -> str:
    """``answer`` with its notations rewritten for math-verify (wrappers kept; see the module docstring).

    Unicode signs (minus, times, degree) become LaTeX; digit groups split by spaces, thin spaces, ``{,}``
    or ``,\\!`` become one number; ``1.5e3`` becomes ``1.5\\times10^{3}``; mixed numbers (``2 1/2``,
    ``-2\\frac{1}{2}``) and repeating decimals (``0.1\\overline{6}``) become one fraction; ``2 i`` becomes
    ``2i``; ``\\langle a, b\\rangle`` a tuple; ``\\mathrm{e}`` Euler's ``e``; a trailing sentence period goes.
    """
    s = answer.strip()
    if _PLAIN.match(s):  # most answers in a batch: nothing to rewrite
        return s
    if not s.isascii():
        for a, b in _UNICODE:
            s = s.replace(a, b)
    if s.endswith("."):
        s = _TRAILING_PERIOD.sub("", s).strip()
    if "\\" in s:  # each rewrite only where its notation can occur: this runs on every answer
        s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\varnothing", "\\emptyset")
        if "\\mathrm" in s or "\\text" in s or "\\mbox" in s or "\\operatorname" in s:
            s = _UPRIGHT_E.sub("e", s)
            s = _TEXT_NUMBER_UNIT.sub(r"\1\\text{ \2}", s)
        if "\\langle" in s:
            s = _ANGLE_BRACKETS.sub(r"(\1)", s)
        if "\\overline" in s or "\\dot" in s or "\\bar" in s:
            s = _REPEATING.sub(_repeating, s)
    if "ercent" in s or "ERCENT" in s:
        s = _PERCENT_WORD.sub("\\\\%", s)
    s = _GROUPED.sub(lambda m: m.group(1) + _SEP_RE.sub("", m.group(2)), s)
    if "e" in s or "E" in s:
        s = _E_NOTATION.sub(_e_notation, s)
    if "frac" in s:
        s = _MIXED_FRAC.sub(_mixed, s)
    if "/" in s:
        s = _MIXED_SLASH.sub(_mixed_slash, s)
    return _COMPLEX_SPACE.sub("i", s) if " i" in s else s


def _e_notation(m: re.Match[str]) -> str:
    exp = int(m.group(2))
    return f"{m.group(1)}\\times10^{{{exp}}}"


def _frac(value: Fraction) -> str:
    sign = "-" if value < 0 else ""
    if value.denominator == 1:
        return f"{value.numerator}"
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _repeating(m: re.Match[str]) -> str:
    """``I.A\\overline{R}`` = I + (AR - A) / (10^len(A) * (10^len(R) - 1)), as an exact fraction."""
    sign, whole, head, rep = m.group(1), m.group(2) or "0", m.group(3), m.group(4) or m.group(5)
    den = 10 ** len(head) * (10 ** len(rep) - 1)
    value = int(whole) + Fraction(int(head + rep) - int(head or "0"), den)
    return _frac(-value if sign else value)


def _mixed(m: re.Match[str]) -> str:
    """``2\\frac{1}{2}`` -> ``\\frac{5}{2}`` when the fraction is proper (a mixed number); else unchanged."""
    sign, whole = m.group(1), int(m.group(2))
    num, den = int(m.group(3) or m.group(5)), int(m.group(4) or m.group(6))
    if not 0 < num < den:
        return m.group(0)
    value = whole + Fraction(num, den)
    return _frac(-value if sign else value)


def _mixed_slash(m: re.Match[str]) -> str:
    sign, whole, num, den = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
    if not 0 < num < den:
        return m.group(0)
    value = whole + Fraction(num, den)
    return _frac(-value if sign else value)


_JUXTAPOSED = re.compile(r"(?<![\w.\\])\d+(?:\.\d+)?\s+\d")


def juxtaposed_numbers(normalized: str) -> bool:
    """Two numbers side by side with only a space between (``3 14``) after the separator and mixed-number
    rewrites: no notation, and never the product math-verify reads (``3*14``)."""
    return bool(_JUXTAPOSED.search(unwrap(normalized)))
