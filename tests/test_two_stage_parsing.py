"""Two-stage (SLL, then LL) LaTeX parsing in the verify workers changes speed, never results."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from r1lite.rewards.verify import (
    WARM_UP_PAIRS,
    clear_math_verify_caches,
    parse_answer,
    two_stage_latex_parsing,
)

pytest.importorskip("latex2sympy2_extended")
from antlr4.atn.PredictionMode import PredictionMode  # noqa: E402
from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy  # noqa: E402

_INLINE = re.compile(r"\$([^$]{1,120})\$")
MALFORMED = ("}{\\frac{", "\\frac{1}{", "(1,2", "[a,b", "1,,2", "\\sqrt", "x^", "\\left( 1, 2", "((1,2),(3,4)",
             "\\begin{pmatrix} 1 \\\\ 2", "a=", "=5", "\\{1,2", "(-\\infty, 3] \\cup", "\\pm", "3 \\pm", "\\text{",
             "1,234,56", "1, 234", "\\frac{a}{b}{c}", "x_{", "\\in [1,2]")


def _answers(data_dir, eval_golds) -> Iterator[str]:
    """Every MATH-500 and Minerva gold, inline LaTeX from every other MATH-500 problem, the workers'
    warm-up pairs and malformed input (which must take the stock parser's path to its verdict)."""
    yield from filter(None, eval_golds["math500"] + eval_golds["minerva_math"])
    for line in list((data_dir / "math500" / "test.jsonl").open())[::2]:
        yield from _INLINE.findall(json.loads(line)["problem"])
    for pred, gold in WARM_UP_PAIRS:
        yield from (pred, gold)
    yield from MALFORMED


def _comparable(parsed: list) -> list[str]:
    return [p if isinstance(p, str) else f"{type(p).__name__}:{p!r}" for p in parsed]


@pytest.fixture
def stock_then_two_stage():
    """Run with two-stage parsing switched on; always restore the stock parser afterwards."""
    try:
        yield
    finally:
        two_stage_latex_parsing(False)
        clear_math_verify_caches()


def test_two_stage_parse_equals_stock_parse(data_dir, eval_golds, stock_then_two_stage) -> None:
    answers = list(dict.fromkeys(a.strip() for a in _answers(data_dir, eval_golds) if a and a.strip()))
    assert len(answers) > 1000, len(answers)
    assert not two_stage_latex_parsing(False)
    clear_math_verify_caches()
    stock = {a: _comparable(parse_answer(a)) for a in answers}
    clear_math_verify_caches()
    assert two_stage_latex_parsing(True)
    differ = [(a, stock[a], got) for a in answers if (got := _comparable(parse_answer(a))) != stock[a]]
    assert not differ, differ[:5]
    assert sum(any(not p.startswith(("str", "'")) and ":" in p for p in v) for v in stock.values()) > 800


def test_sll_is_tried_first_and_ll_decides_on_a_syntax_error(monkeypatch, stock_then_two_stage) -> None:
    modes: list[list] = []
    create = _Latex2Sympy.create_parser

    def spy(self, latex_str):
        parser = create(self, latex_str)
        modes.append([latex_str, parser])
        return parser

    monkeypatch.setattr(_Latex2Sympy, "create_parser", spy)
    assert two_stage_latex_parsing(True)
    from latex2sympy2_extended.latex2sympy2 import latex2sympy

    assert str(latex2sympy("(1, 2)")) == "Interval.open(1, 2)"
    assert [p._interp.predictionMode for _, p in modes] == [PredictionMode.SLL]
    modes.clear()
    with pytest.raises(Exception, match="expected"):
        latex2sympy("\\frac{1}{")
    assert [p._interp.predictionMode for _, p in modes] == [PredictionMode.SLL, PredictionMode.LL]
    assert not two_stage_latex_parsing(False)
    modes.clear()
    assert str(latex2sympy("(1, 2)")) == "Interval.open(1, 2)"
    assert [p._interp.predictionMode for _, p in modes] == [PredictionMode.LL]
