"""Speed inside the verify workers: two-stage (SLL, then LL) LaTeX parsing and the start-up warm-up.

Imports the standard library, math-verify's own dependencies and sibling modules only (see
:mod:`r1lite.rewards.worker`).
"""

from __future__ import annotations

import copy
from typing import Any

from .guards import DEFAULT_TIMEOUT
from .mvcheck import check_answer, forget_golds, parse_answer

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


def warm_up_worker() -> None:
    """Parse and verify the warm-up strings, then forget their results: warming must never leave
    a parsed gold behind for a real item to find (only the parser tables and imports stay)."""
    for pred, gold in WARM_UP_PAIRS:
        check_answer(pred, gold, DEFAULT_TIMEOUT)
    for answer in WARM_UP_ANSWERS:
        parse_answer(answer)
    forget_golds()
    clear_math_verify_caches()


def clear_math_verify_caches() -> None:
    """Empty math-verify's own small LRU caches of parsed LaTeX (a cold start for comparisons)."""
    from math_verify import parser

    for name in ("parse_latex_cached", "parse_expr_cached", "extract_latex"):
        cached = getattr(parser, name, None)
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
