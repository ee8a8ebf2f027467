"""Rewrites before parsing and the gold-form rules: each fires on its notation and nowhere else."""

from __future__ import annotations

import subprocess
import sys

import pytest
from r1lite.rewards.normalize import canonical, juxtaposed_numbers, normalize
from r1lite.rewards.numeric import exact_value, numeric_fast_path
from r1lite.rewards.rules import (
    apply_units,
    inequality_as_interval,
    list_shapes,
    shape,
    split_unit,
    vector_as_gold,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("1 000", "1000"), ("1\\,000\\,000", "1000000"), ("10,\\!080", "10080"), ("11,\\! 111,\\! 111,\\! 100", "11111111100"),
    ("1{,}000.5", "1000.5"), ("1\u2009000", "1000"), ("\\$32,\\!348", "\\$32348"),
    ("1.5e3", "1.5\\times10^{3}"), ("1E-3", "1\\times10^{-3}"), ("4.5E+2", "4.5\\times10^{2}"),
    ("2 1/2", "\\frac{5}{2}"), ("-2\\frac{1}{2}", "-\\frac{5}{2}"), ("3\\ \\tfrac{3}{4}", "\\frac{15}{4}"),
    ("0.\\overline{3}", "\\frac{1}{3}"), ("0.1\\overline{6}", "\\frac{1}{6}"), ("1.\\overline{27}", "\\frac{14}{11}"),
    ("0.\\overline{9}", "1"), ("-0.\\dot{3}", "-\\frac{1}{3}"),
    ("2 i", "2i"), ("\\sqrt{2} i", "\\sqrt{2}i"), ("3 - 4 i", "3 - 4i"),
    ("90\u00b0", "90^\\circ"), ("\u22123", "-3"), ("\\text{5 cm}", "5\\text{ cm}"), ("17.5 percent", "17.5\\%"),
    ("\\langle 1, 2 \\rangle", "(1, 2)"), ("1 - \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{e}"), ("18.", "18"),
    ("\\varnothing", "\\emptyset"),
])
def test_notations_are_rewritten(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("text", [
    "2\\frac{\\sqrt{3}}{3}", "2\\frac{x}{3}", "x^2\\frac{1}{2}", "2\\frac{3}{2}", "3e", "2e^{3}", "e^{2}", "x_1 2",
    "2 \\pi", "1.000", "1,000", "1, 000", "12 34", "\\frac{1}{2} 3", "2x + 1", "(1, 2)", "x \\in [2, 5)", "a_{12} 345",
    "\\begin{pmatrix} 1 & 000 \\end{pmatrix}", "2 \\text{ in}", "x \\in \\mathbb{R}", "1.5",
])
def test_rewrites_leave_other_answers_alone(text: str) -> None:
    assert normalize(text) == text


def test_juxtaposed_numbers_are_no_product() -> None:
    assert juxtaposed_numbers(normalize("3 14")) and juxtaposed_numbers(normalize("\\boxed{12 34}"))
    assert not juxtaposed_numbers(normalize("12 345")) and not juxtaposed_numbers(normalize("2 1/2"))
    assert not juxtaposed_numbers("2 \\sqrt{3}") and not juxtaposed_numbers("x 3")


def test_canonical_text() -> None:
    assert canonical("\\frac{1}{3}E_{1} + \\frac{2}{3}E_{2}") == canonical("\\frac{1}{3} E_{1}+\\frac{2}{3} E_{2}")
    assert canonical("$\\left( 1, 2 \\right)$.") == canonical("(1,2)")
    assert canonical("\\pi r") != canonical("\\pir")  # a space that ends a command name stays
    assert canonical("12 345") == "12345" and canonical("3 14") == "3 14"


@pytest.mark.parametrize(("pred", "gold", "verdict"), [
    ("17.5", "17.5\\%", True), ("0.175", "17.5\\%", True), ("17.5\\%", "0.175", True), ("2.5", "25\\%", False),
    ("1.77\\times10^{-6}", "1.78\\times10^{-6}", False), ("0.333333", "\\frac{1}{3}", None), ("1000", "1000.0", True),
    ("\\frac{100}{3}\\%", "\\frac{1}{3}", True), ("0.001", "0.002", False),
])
def test_numeric_path(pred: str, gold: str, verdict: bool | None) -> None:
    assert numeric_fast_path(pred, gold) is verdict


def test_exact_value() -> None:
    assert exact_value("-3.2\\times10^{-2}") is not None and exact_value("2^{10}") is None
    assert exact_value("\\boxed{12\\%}")[2] is True


@pytest.mark.parametrize(("answer", "kind", "items"), [
    ("(2,3,4)", "tuple", ("2", "3", "4")), ("\\left(1, 2\\right)", "tuple", ("1", "2")),
    ("\\{1,2\\}", "set", ("1", "2")), ("-2,-2", "list", ("-2", "-2")), ("1,000", "single", ("1,000",)),
    ("\\pm 3", "list", ("3", "-(3)")), ("1 \\pm \\sqrt{2}", "list", ("1+(\\sqrt{2})", "1-(\\sqrt{2})")),
    ("x = 1 \\text{ or } x = -2", "list", ("x = 1", "x = -2")), ("n = 1, 2", "list", ("1", "2")),
    ("[2,5)", "single", ("[2,5)",)), ("(-\\infty,-1]\\cup[2,\\infty)", "single", ("(-\\infty,-1]\\cup[2,\\infty)",)),
    ("(0,0), (1,1)", "list", ("(0,0)", "(1,1)")), ("\\text{north}", "single", ("\\text{north}",)),
])
def test_answer_shapes(answer: str, kind: str, items: tuple[str, ...]) -> None:
    got = shape(answer)
    assert (got.kind, got.items) == (kind, items)


def test_the_gold_decides_what_commas_mean() -> None:
    pred, gold = list_shapes("1,500", "1, 500")
    assert pred.items == ("1", "500")  # the gold is a list: the prediction's comma separates entries
    assert list_shapes("1,500", "1500") is None  # the gold is a number: so is the prediction
    assert list_shapes("(2,4,3)", "(2,3,4)") is None  # tuple against tuple: math-verify orders them


def test_units() -> None:
    assert split_unit("5 \\text{ cm}^2") == ("5", "cm", 2)
    assert split_unit("90^\\circ") == ("90", "deg", 1) and split_unit("2 \\text{ radians}")[1] == "rad"
    assert split_unit("5 x") == ("5 x", None, 1)  # a variable, not a unit
    assert apply_units("3 \\text{ s}", "3 \\text{ m}") is False
    assert apply_units("5 \\text{ cm}", "5") == ("5", "5")
    assert apply_units("500 \\text{ cm}", "5 \\text{ m}") == ("\\left(500\\right)\\cdot\\frac{1}{100}", "5")
    assert apply_units("90^\\circ", "\\frac{\\pi}{2}") == ("\\frac{\\left(90\\right)\\pi}{180}", "\\frac{\\pi}{2}")
    assert apply_units("90^\\circ", "90") == ("90", "90")  # against a bare number the sign is dropped


def test_inequalities_become_intervals_only_against_an_interval_gold() -> None:
    assert inequality_as_interval("2 \\le x < 5", "[2,5)") == "[2, 5)"
    assert inequality_as_interval("5 > x \\ge 2", "[2,5)") == "[2, 5)"
    assert inequality_as_interval("x > 3", "(3, \\infty)") == "(3, \\infty)"
    assert inequality_as_interval("x \\neq 0", "(-\\infty,0)\\cup(0,\\infty)") == "(-\\infty, 0) \\cup (0, \\infty)"
    assert inequality_as_interval("x \\le -1 \\text{ or } x \\ge 2", "(-\\infty,-1]\\cup[2,\\infty)") == (
        "(-\\infty, -1] \\cup [2, \\infty)")
    assert inequality_as_interval("2 < x < 5", "(2,5)") is None  # (2,5) may be a point
    assert inequality_as_interval("x < y < 5", "[2,5)") is None  # two variables
    assert inequality_as_interval("x > 3", "x > 3") is None


def test_vectors_and_tuples() -> None:
    assert vector_as_gold("(1,2)", "\\begin{pmatrix}1\\\\2\\end{pmatrix}") == "\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}"
    assert vector_as_gold("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "(1,2)") == "(1, 2)"
    assert vector_as_gold("(1,2)", "\\begin{pmatrix}1&2\\end{pmatrix}") is None


def test_the_worker_imports_only_the_standard_library_and_math_verify() -> None:
    """The worker script loads its checker modules as a private package: no r1lite, torch or transformers."""
    from r1lite.rewards import pool

    code = (f"import runpy, sys; sys.argv = ['worker']; g = runpy.run_path({pool.WORKER_SCRIPT!r}); "
            "g['load_checker_package'](); import importlib; importlib.import_module('_r1lite_verify.mvcheck'); "
            "importlib.import_module('_r1lite_verify.warmup'); "
            "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
            "('r1lite', 'torch', 'transformers', 'trl', 'rich', 'numpy')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
