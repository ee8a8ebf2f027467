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

from .sentence import answer_in_boxes

_DELIMITERS = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed|\\fbox")  # an escaped \$ is a currency sign
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_TEXT_ARG = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}")
_WORD = re.compile(r"(?<![\\A-Za-z0-9^_{])[A-Za-z][a-z]{2,}(?![A-Za-z0-9^_}])")  # a word, not sRC or LCs^2
# letters latex2sympy drops as a unit at the end of an answer ("2 + 3m" -> "2 + 3"): a variable there
_TRAILING_VARIABLE = re.compile(r"(?<=[\d}\s])\s*(o|t|h|c|l|s|g|m|d|ab|bc|by|am|pm|hr|ft|lb|dm|lt|gm|rd|st|th|cc|mt|mp|yr|"
                                r"km|cm|mm|kg|sq)\s*$")
_BINARY_SIGN = re.compile(r"[\w})]\s*[+-]")
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
    """Strip ``\\boxed{}``, ``\\(..\\)``, ``\\[..\\]``, ``$..$`` around a whole answer (only a pair that
    belongs together: ``\\boxed{a} \\text{ and } \\boxed{b}`` keeps both boxes)."""
    s = text.strip()
    if not s or s[0] not in "\\$":
        return s
    for _ in range(3):
        for pattern, close in zip(_WRAPPERS, _WRAPPER_CLOSE, strict=True):
            m = pattern.match(s)
            if m and _one_pair(m.group(1), close):
                s = m.group(1).strip()
                break
        else:
            return s
    return s


_WRAPPER_CLOSE = ("}", "\\)", "\\]", "$$", "$")


def _one_pair(inner: str, close: str) -> bool:
    """``inner`` does not close the wrapper early: balanced braces for a box, no closing delimiter else."""
    if close != "}":
        return close not in inner
    depth = 0
    for ch in inner:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


_SPACING = re.compile(r"\\[,;:! ]|~")
_AND = re.compile(r"\s*\\(?:text|textrm|mbox)\s*\{\s*and\s*\}\s*")
_LEFT_RIGHT = re.compile(r"\\(?:left|right)(?![A-Za-z])")
_ONE_CHAR_GROUP = re.compile(r"([_^])\{(\w)\}")
_SPACE = re.compile(r" (?=[^A-Za-z0-9])|(?<=[^A-Za-z0-9]) |(?<=\d) (?=[A-Za-z])")


@lru_cache(maxsize=65_536)
def canonical(answer: str) -> str:
    """Answer text as a typesetter sees it: normalised (:func:`normalize`), unwrapped, without
    ``\\left``/``\\right``, spacing commands or braces around one-character sub/superscripts, ``\\text{ and }``
    as a comma, and with
    spaces kept only where they separate two letters or digits (``\\pi r``, ``x y``). Two answers with the
    same canonical text are the same answer."""
    s = unwrap(normalize(unwrap(answer)))
    s = _AND.sub(", ", s)  # "E_1 \\text{ and } E_2" is the list "E_1, E_2"
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

_UNICODE = (("\u2212", "-"), ("\u2013", "-"), ("\u00d7", "\\times "), ("\u00b7", "\\cdot "), ("\u22c5", "\\cdot "),
            ("\u00b0", "^\\circ"), ("\u2264", "\\le "), ("\u2265", "\\ge "), ("\u2260", "\\ne "), ("\u03c0", "\\pi "),
            ("\u221e", "\\infty "), ("\u00b1", "\\pm "), ("\u2213", "\\mp "), ("\u2208", "\\in "), ("\u222a", "\\cup "),
            ("\u2229", "\\cap "), ("\u2205", "\\emptyset "), ("\u2248", "\\approx "), ("\u00f7", "\\div "),
            ("\u03b8", "\\theta "), ("\u03b1", "\\alpha "), ("\u03b2", "\\beta "), ("\u2032", "'"), ("\u2009", " "))
_VULGAR = {"\u00bd": (1, 2), "\u2153": (1, 3), "\u2154": (2, 3), "\u00bc": (1, 4), "\u00be": (3, 4), "\u2155": (1, 5),
           "\u2156": (2, 5), "\u2157": (3, 5), "\u2158": (4, 5), "\u2159": (1, 6), "\u215a": (5, 6), "\u215b": (1, 8),
           "\u215c": (3, 8), "\u215d": (5, 8), "\u215e": (7, 8)}
_SUPERSCRIPTS = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b\u207a", "0123456789-+")
_SUPERSCRIPT_RUN = re.compile("[\u2070\u00b9\u00b2\u00b3\u2074-\u2079\u207b\u207a]+")
_SQRT_SIGN = re.compile(r"[\u221a\u221b](\s*)(\d+(?:\.\d+)?|[A-Za-z]|\\pi|\([^()]*\)|\{[^{}]*\})?")
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
_NO_SOLUTION = re.compile(r"^(?:\\text\s*\{\s*)?(?:there\s+(?:is|are)\s+)?no\s+(?:real\s+)?(?:solutions?|roots?)\s*\}?$",
                          re.IGNORECASE)
_UNITS_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                "sixteen seventeen eighteen nineteen").split()
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS_WORDS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS_WORDS)}
_NUMBER_WORD = re.compile(r"^(?:\\text\s*\{\s*)?(-|minus\s+|negative\s+)?([a-z]+)(?:[- ]([a-z]+))?\s*\}?$", re.IGNORECASE)
_BRACED_THOUSANDS = re.compile(r"(?<=\{)\s*\d{1,3}(?:,\d{3})+\s*(?=\})")  # \frac{1}{360,000}
_NUMPY_CALL = re.compile(r"\b(?:np|numpy|math)\.(arcsin|arccos|arctan|sin|cos|tan|exp|log|sqrt|pi)\b")
_TRIG_DEGREES = re.compile(  # \cos 45^\circ, \sin(30^{\circ}), \tan^2 60^\circ: the degrees of a trig argument
    r"(\\(?:sin|cos|tan|sec|csc|cot)(?:\s*\^\s*(?:\{[^{}]*\}|\d))?)\s*(?:\\left)?\s*([({]?)\s*"
    r"(-?\d+(?:\.\d+)?)\s*\^\s*\{?\s*\\circ\s*\}?\s*(?:\\right)?\s*([)}]?)")
_MARKDOWN_BOLD = re.compile(r"(?:^|(?<=\s))(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?=$|\s|[.,;:])")
_CURRENCY_AFTER = re.compile(r"(?<=\d)\s*(?:\u20ac|\u00a3|\u00a5|(?<!\\)\$)(?=\s*[.,;]?\s*$)")  # 40$, 1,000.99\u20ac


@lru_cache(maxsize=65_536)
def normalize(answer: str) -> str:
    """``answer`` with its notations rewritten for math-verify (wrappers kept; see the module docstring).

    Unicode signs (minus, times, degree) become LaTeX; digit groups split by spaces, thin spaces, ``{,}``
    or ``,\\!`` become one number; ``1.5e3`` becomes ``1.5\\times10^{3}``; mixed numbers (``2 1/2``,
    ``-2\\frac{1}{2}``) and repeating decimals (``0.1\\overline{6}``) become one fraction; ``2 i`` becomes
    ``2i``; ``\\langle a, b\\rangle`` a tuple; ``\\mathrm{e}`` Euler's ``e``; a trailing sentence period goes.
    Also (issue 24): Unicode maths (``\u221a3``, ``\u00bd``, ``10\u2078``, ``\u2264``, ...); a whole answer that is a number
    word (``five``) or says there is no solution (``\\emptyset``); markdown bold; a currency sign after an
    amount; several boxes as a list and the box of a sentence (:func:`.sentence.answer_in_boxes`); degrees in a
    trig argument as radians (``\\cos 45^\\circ``); thousands commas inside braces (``\\frac{1}{360,000}``);
    ``np.arcsin`` as ``\\arcsin``; a last letter latex2sympy would drop as a unit braced (``2 + 3{m}``).
    """
    s = answer.strip()
    if _PLAIN.match(s):  # most answers in a batch: nothing to rewrite
        return s
    if s[-1:].isalpha() or s.endswith("}"):  # "five", "\\text{no solution}": words for a number or the empty set
        word = _word_value(unwrap(s))
        if word is not None:
            return word
    if not s.isascii():
        s = _unicode_math(s)
    if "**" in s or "__" in s:
        s = _MARKDOWN_BOLD.sub(r"\2", s).strip()
    if s.endswith("."):
        s = _TRAILING_PERIOD.sub("", s).strip()
    if ("$" in s and len(re.findall(r"(?<!\\)\$", s)) % 2) or not s.isascii():  # an unpaired $ is money
        s = _CURRENCY_AFTER.sub("", s).strip()
    if "\\" in s:  # each rewrite only where its notation can occur: this runs on every answer
        if "\\boxed" in s or "\\fbox" in s:
            s = answer_in_boxes(s) or s
        s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\varnothing", "\\emptyset")
        if "\\mathrm" in s or "\\text" in s or "\\mbox" in s or "\\operatorname" in s:
            s = _UPRIGHT_E.sub("e", s)
            s = _TEXT_NUMBER_UNIT.sub(r"\1\\text{ \2}", s)
        if "\\langle" in s:
            s = _ANGLE_BRACKETS.sub(r"(\1)", s)
        if "\\overline" in s or "\\dot" in s or "\\bar" in s:
            s = _REPEATING.sub(_repeating, s)
        if "circ" in s:
            s = _TRIG_DEGREES.sub(_trig_degrees, s)
    if "ercent" in s or "ERCENT" in s:
        s = _PERCENT_WORD.sub("\\\\%", s)
    s = _GROUPED.sub(lambda m: m.group(1) + _SEP_RE.sub("", m.group(2)), s)
    if "{" in s and "," in s:
        s = _BRACED_THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), s)
    if "." in s and ("np." in s or "math." in s):
        s = _NUMPY_CALL.sub(r"\\\1", s)
    if "e" in s or "E" in s:
        s = _E_NOTATION.sub(_e_notation, s)
    m = _TRAILING_VARIABLE.search(s)
    if m and _BINARY_SIGN.search(s[: m.start()]) and not _DELIMITERS.search(s):
        s = f"{s[: m.start(1)]}{{{m.group(1)}}}"  # "2 + 3m": a variable, not a unit to drop
    if "frac" in s:
        s = _MIXED_FRAC.sub(_mixed, s)
    if "/" in s:
        s = _MIXED_SLASH.sub(_mixed_slash, s)
    return _COMPLEX_SPACE.sub("i", s) if " i" in s else s


def _unicode_math(s: str) -> str:
    """Unicode mathematics as LaTeX: signs and letters, ``√3`` and ``√(x+1)``, ``½``, superscript digits."""
    for a, b in _UNICODE:
        s = s.replace(a, b)
    for a, (num, den) in _VULGAR.items():
        s = s.replace(a, f"\\frac{{{num}}}{{{den}}}")
    s = _SUPERSCRIPT_RUN.sub(lambda m: "^{" + m.group(0).translate(_SUPERSCRIPTS) + "}", s)
    return _SQRT_SIGN.sub(_sqrt_sign, s)


def _sqrt_sign(m: re.Match[str]) -> str:
    root = "\\sqrt[3]" if m.group(0)[0] == "\u221b" else "\\sqrt"
    arg = m.group(2)
    if not arg:
        return root
    if arg[0] in "({":
        arg = arg[1:-1]
    return f"{root}{{{arg}}}"


def _word_value(s: str) -> str | None:
    """``five`` -> ``5``, ``twenty-one`` -> ``21``, ``no solution`` -> ``\\emptyset`` (the whole answer only)."""
    if _NO_SOLUTION.match(s):
        return "\\emptyset"
    m = _NUMBER_WORD.match(s)
    if not m:
        return None
    first, second = m.group(2).lower(), (m.group(3) or "").lower()
    if first not in _NUMBER_WORDS or (second and (first not in _TENS_WORDS or second not in _UNITS_WORDS[1:10])):
        return None
    value = _NUMBER_WORDS[first] + (_NUMBER_WORDS[second] if second else 0)
    return f"-{value}" if m.group(1) else str(value)


def _trig_degrees(m: re.Match[str]) -> str:
    """``\\cos 45^\\circ`` -> ``\\cos\\left(\\frac{45\\pi}{180}\\right)``: the argument in radians, as sympy reads it."""
    opened, closed = m.group(2), m.group(4)
    if bool(opened) != bool(closed):
        return m.group(0)
    return f"{m.group(1)}\\left(\\frac{{{m.group(3)}\\pi}}{{180}}\\right)"


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
