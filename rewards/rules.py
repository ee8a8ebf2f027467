"""Own rules, for what a rewrite before parsing cannot fix: answer lists and their order, units, degrees
against radians, inequalities against intervals, vectors written as tuples, numbers in a base, ratios.

Each rule reads the *gold's form* to decide what the prediction means, because only the gold says what
kind of answer was asked for:

* **lists** -- a gold in parentheses, ``(2,3,4)``, is an ordered tuple: a bare ``2,4,3`` is compared in
  order. A gold in set braces, ``\\{1,2\\}``, is a set (repeats collapse). A bare gold list,
  ``-2, 1`` or ``3, 5, 7``, is MATH's "enter all solutions, separated by commas": its order carries no
  meaning, but every entry counts, so it is compared as a multiset (``-2`` does not match ``-2,-2``);
  against a gold list without repeats a solution written twice counts once.
  ``A \\pm B`` is the two entries ``A+B, A-B``; ``x = 1 \\text{ or } x = -2`` the entries ``1, -2``.
  A comma between digit groups (``1,000``) is a thousands separator unless the gold is a list whose
  entries it would then match (``1,500`` against the gold ``1, 500``).
* **units** -- a unit on one side only is ignored (the usual benefit of the doubt); units on both sides
  must agree: known ones are converted (``500 cm`` = ``5 m``), other dimensions (``3 s`` vs ``3 m``) fail.
* **angles** -- ``90^\\circ`` equals ``\\frac{\\pi}{2}`` when the other side is in radians (has ``\\pi``);
  against a bare number the degree sign is dropped (``90`` vs ``90^\\circ``), never converted.
* **inequalities** -- a one-variable inequality (``2 \\le x < 5``, ``x \\le -1 \\text{ or } x \\ge 2``,
  ``x \\ne 0``) becomes interval notation when the gold is unambiguously an interval (brackets,
  ``\\infty``, ``\\cup``, ``\\mathbb{R}``); ``(2,5)`` alone may be a point, so it converts nothing.
* **vectors** -- ``(1,2)`` equals the column vector ``\\begin{pmatrix}1\\\\2\\end{pmatrix}``.
* **bases** -- ``1011_2`` is its value in base 2 (not ``1011_3``); bare digits against a gold in a base are
  read in that base.
* **ratios** -- ``a:b:c`` is ordered, equal to a proportional ratio (``6:8:10`` = ``3:4:5``, not ``3:5:4``).
* ``|x| \\le 2`` is ``[-2, 2]`` against an interval gold; ``p=5,q=2;p=7,q=2`` is the tuples ``(5,2), (7,2)``.

Standard library only: the verify workers import this module too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .normalize import unwrap

MAX_ITEMS = 16  # longer lists go to math-verify whole: n^2 element checks must stay cheap

# ----------------------------------------------------------------------------------------------
# Lists, tuples and sets
# ----------------------------------------------------------------------------------------------

_CONNECTOR = re.compile(r"\\(?:text|textrm|mbox)\s*\{\s*(?:and|or)\s*\}|\\quad|\\qquad|\\lor|\\vee|(?<![A-Za-z\\])(?:and|or)(?![A-Za-z])")
_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d.])")
_ASSIGNMENT = re.compile(r"^\s*(?:[A-Za-z](?:_\{?\w+\}?)?|\\[A-Za-z]+)\s*=(?!=)\s*(?P<rhs>.+)$", re.DOTALL)
_PM = re.compile(r"\\(?:pm|mp)(?![A-Za-z])")
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class Shape:
    """How an answer is put together: ``kind`` is ``single``, ``list`` (bare, order-free, repeats count),
    ``tuple`` (parenthesised, ordered) or ``set`` (braces, order-free, repeats collapse)."""

    kind: str
    items: tuple[str, ...]


def _depth_split(s: str, protect_thousands: bool) -> list[str]:
    """Split at commas and semicolons outside brackets (``\\left(`` counts as ``(``)."""
    if protect_thousands:
        s = _THOUSANDS.sub(lambda m: m.group(0).replace(",", "\x00"), s)
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch in ",;" and depth == 0 and not (i > 0 and s[i - 1] == "\\"):
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return [p.replace("\x00", ",").strip() for p in parts]


def _enclosed(s: str, open_: str, close: str) -> str | None:
    """The inside of ``s`` when one bracket pair encloses all of it, else None."""
    if not (s.startswith(open_) and s.endswith(close)):
        return None
    inner = s[len(open_) : len(s) - len(close)]
    depth = 0
    for ch in inner:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                return None
    return inner if depth == 0 else None


def _expand_pm(item: str) -> list[str]:
    """``A \\pm B`` -> ``[A+B, A-B]`` (one top-level sign), ``\\pm B`` -> ``[B, -B]``; else ``[item]``."""
    found = list(_PM.finditer(item))
    if len(found) != 1:
        return [item]
    m = found[0]
    depth = sum(1 if c in _OPEN else -1 if c in _CLOSE else 0 for c in item[: m.start()])
    if depth:  # inside a group: "\\frac{-1 \\pm \\sqrt{5}}{2}" is the two fractions, signs in place
        plus, minus = ("+", "-") if m.group(0) == "\\pm" else ("-", "+")
        return [item[: m.start()] + plus + item[m.end() :], item[: m.start()] + minus + item[m.end() :]]
    head, tail = item[: m.start()].strip(), item[m.end() :].strip()
    if not tail:
        return [item]
    if not head:
        return [tail, f"-({tail})"] if not tail.startswith("-") else [tail, tail[1:]]
    return [f"{head}+({tail})", f"{head}-({tail})"]


def strip_assignment(item: str) -> str:
    """``x = 3`` -> ``3`` (a name on the left only); anything else unchanged."""
    m = _ASSIGNMENT.match(item)
    if not m or "=" in m.group("rhs") or re.search(r"\\[lg]e|[<>]", m.group("rhs")):
        return item
    return m.group("rhs").strip()


def shape(answer: str, protect_thousands: bool = True) -> Shape:
    """The :class:`Shape` of an answer (already normalised)."""
    s = unwrap(answer).strip()
    grouped = None if s.startswith("\\{") else _enclosed(s, "{", "}")
    if grouped is not None and "," in grouped:  # "{-2021, 2021}": TeX grouping braces print nothing
        s = grouped.strip()
    for open_, close, kind in (("\\{", "\\}", "set"), ("\\left\\{", "\\right\\}", "set"),
                               ("(", ")", "tuple"), ("\\left(", "\\right)", "tuple")):
        inner = _enclosed(s, open_, close)
        if inner is not None:
            items = [i for i in _depth_split(inner, protect_thousands) if i]
            if kind == "set" or len(items) >= 2:
                return Shape(kind, tuple(x for i in items for x in _expand_pm(i)))
    groups = _assignment_groups(s)
    if groups is not None:
        return Shape("list", groups)
    s = _CONNECTOR.sub(",", s)
    items = [i for i in _depth_split(s, protect_thousands) if i]
    if len(items) == 1:
        expanded = _expand_pm(items[0])
        return Shape("list" if len(expanded) > 1 else "single", tuple(expanded))
    if len(items) > 1 and _ASSIGNMENT.match(items[0]) and not any(_ASSIGNMENT.match(i) for i in items[1:]):
        items[0] = strip_assignment(items[0])  # "n = 1, 2, 3": the values of n
    return Shape("list", tuple(x for i in items for x in _expand_pm(i)))


def _assignment_groups(s: str) -> tuple[str, ...] | None:
    """``p=5,q=2;p=7,q=2`` -> ``("(5,2)", "(7,2)")``: solutions separated by semicolons, each a comma list of
    assignments, are tuples of their values. None for anything else."""
    if ";" not in s:
        return None
    groups = []
    for part in s.split(";"):
        items = [i.strip() for i in part.split(",") if i.strip()]
        if len(items) < 2 or not all(_ASSIGNMENT.match(i) for i in items):
            return None
        groups.append("(" + ",".join(strip_assignment(i) for i in items) + ")")
    return tuple(groups)


def list_shapes(pred: str, gold: str) -> tuple[Shape, Shape] | None:
    """The shapes to compare item by item, or None when the answers are no list question (math-verify
    compares them whole). The prediction's commas are read as the gold's are: list separators when the
    gold is a list, thousands separators when that makes it match the gold's length."""
    g = shape(gold)
    if g.kind == "single":
        p = shape(pred)
        return (p, g) if p.kind == "list" and len(p.items) <= MAX_ITEMS else None
    if len(g.items) > MAX_ITEMS:
        return None
    p = shape(pred)
    if p.kind in ("single", "list") and len(p.items) != len(g.items):
        loose = shape(pred, protect_thousands=False)
        if len(loose.items) == len(g.items):
            p = loose
    if g.kind == "tuple" and p.kind != "list":
        return None  # one answer (a tuple, interval, vector) against a tuple: math-verify orders tuples itself
    if g.kind == "set" and (p.kind == "tuple" or not g.items):
        return None
    return p, g


# ----------------------------------------------------------------------------------------------
# Units and angles
# ----------------------------------------------------------------------------------------------

_L = {"mm": Fraction(1, 1000), "cm": Fraction(1, 100), "m": Fraction(1), "km": Fraction(1000),
      "in": Fraction(254, 10000), "ft": Fraction(3048, 10000), "yd": Fraction(9144, 10000),
      "mi": Fraction(1609344, 1000)}
_UNIT_NAMES: dict[str, tuple[str, Fraction]] = {
    **{k: ("length", v) for k, v in _L.items()},
    "millimeter": ("length", _L["mm"]), "centimeter": ("length", _L["cm"]), "meter": ("length", _L["m"]),
    "metre": ("length", _L["m"]), "kilometer": ("length", _L["km"]), "inch": ("length", _L["in"]),
    "inches": ("length", _L["in"]), "foot": ("length", _L["ft"]), "feet": ("length", _L["ft"]),
    "yard": ("length", _L["yd"]), "mile": ("length", _L["mi"]),
    "s": ("time", Fraction(1)), "sec": ("time", Fraction(1)), "second": ("time", Fraction(1)),
    "min": ("time", Fraction(60)), "minute": ("time", Fraction(60)), "h": ("time", Fraction(3600)),
    "hr": ("time", Fraction(3600)), "hour": ("time", Fraction(3600)), "day": ("time", Fraction(86400)),
    "week": ("time", Fraction(604800)),
    "mg": ("mass", Fraction(1, 1000)), "g": ("mass", Fraction(1)), "gram": ("mass", Fraction(1)),
    "kg": ("mass", Fraction(1000)), "kilogram": ("mass", Fraction(1000)),
}
_UNIT_TAIL = re.compile(
    r"^(?P<value>.*?\S)\s*(?:\\[,;: !]|~|\s)*"
    r"(?P<unit>(?:\\(?:text|textrm|mathrm|mbox|operatorname)\s*\{[^{}]*\}(?:\s*(?:\\cdot|\\,|/)\s*(?=\\))?)+"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?)\s*$",
    re.DOTALL)
_WORD_UNIT_TAIL = re.compile(r"^(?P<value>-?\d[\d.]*)\s+(?P<unit>[A-Za-z][A-Za-z ./]*?(?:\^\{?[23]\}?)?)\s*$")
_DEGREE = re.compile(r"\s*\^\s*\{?\s*\\circ\s*\}?\s*$|\s*\\circ\s*$")
# Units of measured physical quantities (Minerva's answers), not of counts and money in word problems: only with
# these does an integer gold stand for a value rounded to its digits ("557 nm" earns "560"; "18.4 hours" never "18").
SCIENTIFIC_UNIT = re.compile(
    r"^(?:\u00c5|\\AA|\\text\{\u00c5\}|angstroms?|nm|\u03bcm|\\mu\s*m|um|pm|fm|pc|kpc|mpc|au|ly|light[- ]years?|ev|kev|mev|gev|"
    r"j|kj|mj|erg|w|kw|mw|k|kelvin|hz|khz|mhz|ghz|pa|kpa|atm|mol|da|kda|t|gauss|n|a|v|ohms?|c)$", re.IGNORECASE)
_ANGLE_WORDS = {"degree": "deg", "deg": "deg", "radian": "rad", "rad": "rad"}


def _unit_key(text: str) -> tuple[str, int]:
    """``\\text{ cm}^2`` -> ``("cm", 2)``; ``square feet`` -> ``("feet", 2)``; plural ``s`` kept as written."""
    power = 1
    m = re.search(r"\^\s*\{?\s*([23])\s*\}?\s*$", text)
    if m:
        power, text = int(m.group(1)), text[: m.start()]
    words = re.sub(r"\\[A-Za-z]+|[{}~\\]", " ", text).lower().split()
    if words and words[0] in ("sq", "sq.", "square"):
        power, words = 2, words[1:]
    elif words and words[0] in ("cubic", "cu", "cu."):
        power, words = 3, words[1:]
    return " ".join(words), power


def _known_unit(name: str, power: int) -> tuple[str, Fraction] | None:
    for key in (name, name[:-1] if name.endswith("s") and len(name) > 3 else name,
                name[:-2] if name.endswith("es") and len(name) > 4 else name):
        if key in _UNIT_NAMES:
            dim, factor = _UNIT_NAMES[key]
            return (f"{dim}^{power}", factor**power)
    return None


def split_unit(answer: str) -> tuple[str, str | None, int]:
    """``(value, unit name or None, power)``: ``5 \\text{ cm}^2`` -> ``("5", "cm", 2)``. A degree sign or
    the words degrees/radians come back as the units ``deg`` / ``rad``."""
    s = unwrap(answer).strip()
    m = _DEGREE.search(s)
    if m and m.start() > 0:
        return s[: m.start()].strip(), "deg", 1
    m = _UNIT_TAIL.match(s) or _WORD_UNIT_TAIL.match(s)
    if not m or not re.search(r"[\d}]|\\pi", m.group("value")):
        return s, None, 1
    name, power = _unit_key(m.group("unit"))
    if not name or re.fullmatch(r"[a-z]", name) and not _known_unit(name, power):
        return s, None, 1  # a lone letter that is no unit is a variable ("5 x")
    angle = _ANGLE_WORDS.get(name[:-1] if name.endswith("s") else name)
    return unwrap(m.group("value")), angle or name, power  # "\\boxed{5} \\text{ cm}": the value is 5


def _scaled(value: str, factor: Fraction) -> str:
    if factor == 1:
        return value
    return f"\\left({value}\\right)\\cdot\\frac{{{factor.numerator}}}{{{factor.denominator}}}"


def apply_units(pred: str, gold: str) -> tuple[str, str] | bool:
    """Answers with units and angles resolved (see the module docstring), or False when the units
    cannot describe the same quantity (another dimension, or metres against centimetres at the same value
    is left to the comparison of the scaled values)."""
    pv, pu, pp = split_unit(pred)
    gv, gu, gp = split_unit(gold)
    if pu is None and gu is None:
        return pred, gold
    if "deg" in (pu, gu) or "rad" in (pu, gu):
        return _apply_angles(pv, pu, gv, gu)
    if pu is None or gu is None:
        return (pv if pu else pred), (gv if gu else gold)
    pk, gk = _known_unit(pu, pp), _known_unit(gu, gp)
    if pk is None or gk is None:
        return pv, gv  # units we do not know: the benefit of the doubt
    if pk[0] != gk[0]:
        return False
    return _scaled(pv, pk[1] / gk[1]), gv


def _apply_angles(pv: str, pu: str | None, gv: str, gu: str | None) -> tuple[str, str]:
    def radians(value: str) -> str:
        return f"\\frac{{\\left({value}\\right)\\pi}}{{180}}"

    if pu == "deg" and gu != "deg" and "\\pi" in gv:
        return radians(pv), gv
    if gu == "deg" and pu != "deg" and "\\pi" in pv:
        return pv, radians(gv)
    return pv, gv


# ----------------------------------------------------------------------------------------------
# Inequalities as intervals, vectors as tuples
# ----------------------------------------------------------------------------------------------

_REL = re.compile(r"\\leqslant|\\geqslant|\\leq|\\geq|\\le|\\ge|\\lt|\\gt|\\neq|\\ne|<=|>=|<|>")
_REL_KIND = {"\\leqslant": "<=", "\\leq": "<=", "\\le": "<=", "<=": "<=", "\\geqslant": ">=", "\\geq": ">=",
             "\\ge": ">=", ">=": ">=", "\\lt": "<", "<": "<", "\\gt": ">", ">": ">", "\\neq": "!=", "\\ne": "!="}
_VARIABLE = re.compile(r"^(?:[A-Za-z](?:_\{?\w+\}?)?|\\(?:theta|alpha|beta|phi|varphi|omega))$")
_INTERVAL_GOLD = re.compile(r"\\infty|\\cup|\\mathbb\s*\{?\s*R|\\in(?![A-Za-z])|[\[\]]")
_UNION_SPLIT = re.compile(r"\\(?:text|textrm|mbox)\s*\{\s*or\s*\}|(?<![A-Za-z\\])or(?![A-Za-z])|\\lor|\\vee|\\cup|,")


_ABS_VARIABLE = re.compile(r"^(?:\\left)?\s*(?:\||\\lvert|\\vert)\s*([A-Za-z])\s*(?:\\right)?\s*(?:\||\\rvert|\\vert)$")


def _abs_relation(part: str) -> str | None:
    """``|x| \\le 2`` -> ``[-2, 2]``, ``|x| > 2`` -> ``(-\\infty, -2) \\cup (2, \\infty)``; else None."""
    ops = _REL.findall(part)
    pieces = [p.strip() for p in _REL.split(part)]
    if len(ops) != 1 or len(pieces) != 2:
        return None
    op = _REL_KIND[ops[0]]
    if _ABS_VARIABLE.match(pieces[1]) and not _ABS_VARIABLE.match(pieces[0]):
        pieces.reverse()
        op = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "!=": "!="}[op]
    if not _ABS_VARIABLE.match(pieces[0]) or op == "!=" or _ABS_VARIABLE.match(pieces[1]):
        return None
    bound = pieces[1]
    neg = f"-{bound}" if re.fullmatch(r"\d+(?:\.\d+)?", bound) else f"-\\left({bound}\\right)"
    if op in ("<", "<="):
        closed = op == "<="
        return f"{'[' if closed else '('}{neg}, {bound}{']' if closed else ')'}"
    closed = op == ">="
    return f"(-\\infty, {neg}{']' if closed else ')'} \\cup {'[' if closed else '('}{bound}, \\infty)"


def _one_relation(part: str) -> str | None:
    """One chain such as ``2 \\le x < 5`` (or ``|x| \\le 2``) as interval text, or None."""
    interval = _abs_relation(part)
    if interval is not None:
        return interval
    pieces = _REL.split(part)
    ops = [_REL_KIND[m] for m in _REL.findall(part)]
    pieces = [p.strip() for p in pieces]
    if any(not p for p in pieces):
        return None
    if len(ops) == 1:
        (a, b), op = pieces, ops[0]
        if _VARIABLE.match(a) and not _VARIABLE.match(b):
            var, bound, flip = a, b, False
        elif _VARIABLE.match(b) and not _VARIABLE.match(a):
            var, bound, flip = b, a, True
        else:
            return None
        if var in bound:
            return None
        if op == "!=":
            return f"(-\\infty, {bound}) \\cup ({bound}, \\infty)"
        if flip:
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op]
        if op in ("<", "<="):
            return f"(-\\infty, {bound}{']' if op == '<=' else ')'}"
        return f"{'[' if op == '>=' else '('}{bound}, \\infty)"
    if len(ops) == 2 and _VARIABLE.match(pieces[1]) and "!=" not in ops:
        lo, var, hi = pieces
        if var in lo or var in hi:
            return None
        if ops[0][0] == ">" and ops[1][0] == ">":
            lo, hi, ops = hi, lo, [ops[1].replace(">", "<"), ops[0].replace(">", "<")]
        elif not (ops[0][0] == "<" and ops[1][0] == "<"):
            return None
        return f"{'[' if ops[0] == '<=' else '('}{lo}, {hi}{']' if ops[1] == '<=' else ')'}"
    return None


def inequality_as_interval(pred: str, gold: str) -> str | None:
    """The prediction's one-variable inequality in interval notation, when the gold is an interval."""
    g, p = unwrap(gold), unwrap(pred)
    if not _INTERVAL_GOLD.search(g) or _REL.search(g) or not _REL.search(p):
        return None
    parts = [x.strip() for x in _UNION_SPLIT.split(p) if x.strip()]
    intervals = [_one_relation(x) for x in parts]
    if not intervals or any(i is None for i in intervals):
        return None
    variables = {v for x in parts for v in _REL.split(x) if _VARIABLE.match(v.strip())}
    variables |= {m.group(1) for x in parts for v in _REL.split(x) if (m := _ABS_VARIABLE.match(v.strip()))}
    if len({v.strip() for v in variables}) != 1:
        return None
    return " \\cup ".join(intervals)  # type: ignore[arg-type]


_COLUMN = re.compile(r"^\\begin\{[pb]matrix\}(.*)\\end\{[pb]matrix\}$", re.DOTALL)


def vector_as_gold(pred: str, gold: str) -> str | None:
    """A tuple prediction written as the gold's column vector, or a column vector as the gold's tuple."""
    p, g = unwrap(pred).strip(), unwrap(gold).strip()
    gm, pm = _COLUMN.match(g), _COLUMN.match(p)
    if gm and "&" not in gm.group(1):
        inner = _enclosed(p, "(", ")") or _enclosed(p, "\\left(", "\\right)")
        if inner is not None:
            items = _depth_split(inner, True)
            return "\\begin{pmatrix}" + " \\\\ ".join(items) + "\\end{pmatrix}"
    if pm and "&" not in pm.group(1) and (_enclosed(g, "(", ")") is not None):
        rows = [r.strip() for r in pm.group(1).split("\\\\") if r.strip()]
        return "(" + ", ".join(rows) + ")"
    return None


# ----------------------------------------------------------------------------------------------
# Numbers in a base, ratios
# ----------------------------------------------------------------------------------------------

_BASE_NUMBER = re.compile(r"^(?P<digits>[0-9A-Za-z]+)_\{?\s*\(?(?P<base>\d{1,2})\)?\s*\}?$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base_number(text: str) -> tuple[str, int | None] | None:
    """``("1011", 2)`` for ``1011_2`` / ``1011_{2}``, ``("1011", None)`` for bare digits, else None."""
    s = unwrap(text).strip().replace("\\text{", "").replace("\\mathrm{", "")
    m = _BASE_NUMBER.match(s)
    if m:
        base = int(m.group("base"))
        digits = m.group("digits").lower()
        if 2 <= base <= 36 and all(_DIGITS.index(d) < base for d in digits):
            return digits, base
        return None
    return (s, None) if s.isdigit() else None


def compare_bases(pred: str, gold: str) -> bool | None:
    """A number written in a base (``1011_2``) is its value in that base: ``1011_2`` is not ``1011_3``,
    ``11_{10}`` is ``1011_2``; bare digits against a gold in a base are read in the gold's base (the
    question names it). None when neither side names a base."""
    p, g = _base_number(pred), _base_number(gold)
    if p is None or g is None or (p[1] is None and g[1] is None):
        return None
    if p[1] is None:
        return p[0].lstrip("0") == g[0].lstrip("0")
    if g[1] is None:
        return int(p[0], p[1]) == int(g[0])
    return int(p[0], p[1]) == int(g[0], g[1])


_RATIO = re.compile(r"^[^:=]+(?::[^:=]+)+$")


def _ratio_parts(text: str) -> list[Fraction] | None:
    from .numeric import exact_value

    s = unwrap(text).strip()
    if "=" in s:
        s = s.rsplit("=", 1)[1].strip()  # "V_{1}:V_{2}=11:21"
    if not _RATIO.match(s) or "\\in" in s:
        return None
    parts = [exact_value(p.strip()) for p in s.split(":")]
    if any(p is None or p[2] for p in parts):
        return None
    return [p[0] for p in parts]  # type: ignore[index]


def compare_ratios(pred: str, gold: str) -> bool | None:
    """``a:b:c`` is an ordered ratio, equal to another when proportional term by term (``6:8:10`` is
    ``3:4:5``, ``3:5:4`` is not); with a zero term (a time ``12:00``) the terms must be equal. A two-term
    ratio also equals its quotient (``7:32`` = ``\\frac{7}{32}``). None unless the gold is a ratio of numbers."""
    from .numeric import exact_value

    g = _ratio_parts(gold)
    if g is None:
        return None
    p = _ratio_parts(pred)
    if p is None:
        single = exact_value(pred)
        if single is None or single[2]:
            return None
        return len(g) == 2 and g[1] != 0 and single[0] == g[0] / g[1]
    if len(p) != len(g):
        return False
    if 0 in p or 0 in g:
        return p == g
    return all(pi * g[0] == gi * p[0] for pi, gi in zip(p, g, strict=True))
