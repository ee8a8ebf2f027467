"""A second look when math-verify says two expressions differ: identities its ``simplify`` misses.

math-verify compares expressions with sympy's ``simplify(gold - pred) == 0``, which leaves
``\\tau \\ln\\frac{1}{\\Delta}`` and ``-\\tau \\ln \\Delta`` apart (logarithms of symbols are not expanded
without positivity), ``\\frac{\\sinh(at)}{a}`` and ``\\frac{e^{at} - e^{-at}}{2a}`` apart (no rewriting of
hyperbolic functions), and reads ``i`` as a plain symbol in ``\\frac{4A}{3+3i} e^{it}``. Here, only after
math-verify said no:

* the difference, with ``i`` the imaginary unit when both sides use it, hyperbolic and trigonometric
  functions rewritten as exponentials and logarithms expanded, must vanish at three random points
  (a cheap screen) and then simplify to zero exactly (the proof);
* a gold with one decimal coefficient (``2.2 \\tau``) is a measured value: the prediction divided by the
  rest of the gold must be a number that rounds to that coefficient at its own significant digits
  (``\\tau \\ln 9`` = 2.197 ``\\tau`` earns ``2.2 \\tau``), as for plain numbers (:mod:`.numeric`).

Runs in the verify workers (sympy comes with math-verify) under the item's deadline.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from .numeric import round_significant

_MAX_OPS = 120  # larger expressions are left as math-verify judged them


def _with_imaginary_i(gold: Any, pred: Any) -> tuple[Any, Any]:
    import sympy

    names = {s.name for s in gold.free_symbols} & {s.name for s in pred.free_symbols}
    if "i" not in names:
        return gold, pred
    return tuple(e.xreplace({s: sympy.I for s in e.free_symbols if s.name == "i"}) for e in (gold, pred))


def _vanishes_at_random_points(diff: Any, symbols: list, rng: random.Random) -> bool:
    import sympy

    for _ in range(3):
        point = {s: sympy.Float(rng.uniform(0.3, 2.7), 30) for s in symbols}
        try:
            value = complex(diff.xreplace(point).evalf(30))
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        if value != value or abs(value) > 1e-12:  # nan, or a real difference
            return False
    return True


def equal_after_rewriting(gold: Any, pred: Any) -> bool:
    """Equal once logs are expanded, hyperbolic/trig functions are exponentials and ``i`` is imaginary."""
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(pred, sympy.Expr)):
        return False
    if gold.count_ops() > _MAX_OPS or pred.count_ops() > _MAX_OPS:
        return False
    gold, pred = _with_imaginary_i(gold, pred)
    symbols = sorted(gold.free_symbols | pred.free_symbols, key=str)
    if not symbols:
        return False
    diff = sympy.expand_log((pred - gold).rewrite(sympy.exp), force=True)
    if not _vanishes_at_random_points(diff, symbols, random.Random(0)):
        return False
    expanded = sympy.expand(diff)
    if expanded == 0 or sympy.expand(sympy.radsimp(expanded)) == 0:  # cheap proofs first
        return True
    return bool(sympy.simplify(expanded) == 0)


def decimal_coefficient_match(gold: Any, pred: Any, gold_text: str) -> bool:
    """``gold`` = ``c * rest`` with one decimal ``c``: ``pred / rest`` is a number rounding to ``c``."""
    import sympy

    if not (isinstance(gold, sympy.Expr) and isinstance(pred, sympy.Expr)) or not gold.free_symbols:
        return False
    floats = list(gold.atoms(sympy.Float))
    if len(floats) != 1 or pred.atoms(sympy.Float) or gold.count_ops() > _MAX_OPS:
        return False
    c = floats[0]
    rest = gold.xreplace({c: sympy.Integer(1)})
    if not isinstance(gold, sympy.Mul) or rest == gold:
        return False
    if rest.atoms(sympy.Float) or not rest.free_symbols:
        return False
    ratio = sympy.simplify(pred / rest)
    if not ratio.is_number or not ratio.is_real:
        return False
    digits = _written_digits(gold_text, float(c))
    if digits is None:
        return False
    value = Fraction(str(sympy.N(ratio, 30)))
    return round_significant(value, digits) == Fraction(str(sympy.N(c, 15))).limit_denominator(10**12)


def _written_digits(gold_text: str, c: float) -> int | None:
    """Significant digits of the decimal written in the gold (``2.2`` -> 2)."""
    import re

    for number in re.findall(r"\d*\.\d+", gold_text):
        if abs(float(number) - c) < 1e-12 * max(1.0, abs(c)):
            return len(number.replace(".", "").lstrip("0")) or None
    return None
