"""An independent checker (plain sympy, its own LaTeX normaliser) for cross-checking evaluation verdicts.

Deliberately shares no code with the math-verify path: where the two disagree, the evaluator reports
the pair (``grader_disagreements.jsonl``) so a person can see which grader is wrong. The comparison
itself (:func:`check`) runs inside the guarded verify workers, which load this file by path: its
module-level imports are the standard library only (sympy is imported inside the functions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_MAX_NESTING = 40
_SIMPLE_SUBS: tuple[tuple[str, str], ...] = (
    ("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\ ", ""),
    ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\cdot", "*"), ("\\times", "*"), ("\\div", "/"),
    ("\\pi", " pi "), ("\\infty", " oo "), ("^\\circ", ""), ("^{\\circ}", ""), ("\\%", ""), ("%", ""),
    ("\\$", ""), ("$", ""), ("{,}", ""),
)


def latex_to_sympy_text(s: str) -> str:
    """A small, deliberately independent LaTeX -> sympy-syntax normaliser."""
    s = s.strip().rstrip(".")
    for a, b in _SIMPLE_SUBS:
        s = s.replace(a, b)
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"^\s*[A-Za-z]\s*=\s*", "", s)  # "x = 5" -> "5"
    for _ in range(_MAX_NESTING):  # innermost first: \frac{a}{b}, \sqrt[n]{a}, \sqrt{a}
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


def to_sympy(text: str) -> Any:
    """A sympy expression (or a tuple of them, for a comma list) from LaTeX; raises if unsupported."""
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    t = latex_to_sympy_text(text)
    if "\\" in t or not t:
        raise ValueError(f"unsupported LaTeX in {text!r}")
    transforms = standard_transformations + (implicit_multiplication_application, convert_xor)
    parts = list(re.split(r",(?![^()]*\))", t)) if "," in t else [t]
    exprs = [parse_expr(p, transformations=transforms, evaluate=True) for p in parts]
    return exprs[0] if len(exprs) == 1 else tuple(exprs)


def equal_exprs(a: Any, b: Any) -> bool:
    """Equal as tuples element-wise, else ``simplify(a - b) == 0``, else a 30-digit numeric check."""
    import sympy

    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)) or len(a) != len(b):
            return False
        return all(equal_exprs(x, y) for x, y in zip(a, b, strict=True))
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


def check(pred: str, gold: str) -> bool | None:
    """The comparison the workers run: True/False, or None if either side will not parse."""
    try:
        return equal_exprs(to_sympy(pred), to_sympy(gold))
    except Exception:  # noqa: BLE001 - an unparseable side is "no opinion"
        return None


def sympy_equal(pred: str | None, gold: str | None, timeout: float | None = None) -> bool | None:
    """Second opinion, independent of math-verify: True/False, or None if either side won't parse.

    Uses its own LaTeX normaliser and plain sympy (``simplify``, then a 30-digit numeric check),
    runs in the guarded verify workers, so it is as safe as ``verify_answer``. Meant for
    cross-checking evaluation verdicts, not for training rewards.
    """
    return sympy_equal_batch([(pred, gold)], timeout)[0]


def sympy_equal_batch(
    pairs: Sequence[tuple[str | None, str | None]], timeout: float | None = None
) -> list[bool | None]:
    """:func:`sympy_equal` for many pairs in one pass over the worker pool (duplicates once)."""
    from r1lite.rewards.guards import DEFAULT_TIMEOUT, refuse_reason
    from r1lite.rewards.numeric import parse_plain_number
    from r1lite.rewards.pool import get_pool

    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
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
        kind = f"call:{__file__}:check"
        results = get_pool().run([(kind, p, g, float(timeout)) for p, g in keys])
        for key, res in zip(keys, results, strict=True):
            for i in todo[key]:
                out[i] = res
    return out
