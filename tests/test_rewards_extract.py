"""Answer extraction: strict (answer tag only) and lenient (tag, boxed, last number)."""

from __future__ import annotations

import time

import pytest
from r1lite.rewards.extract import extract_answer, last_boxed_content, last_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>x</think><answer>\n18\n</answer>", "18"),
        ("<answer>1</answer> then <answer> 2 </answer>", "2"),  # the last tag wins
        ("<answer><answer>5</answer>", "5"),  # repeated opening tag: innermost content
        ("<answer>  </answer>", None),  # empty is no answer
        ("<answer>7", None),  # unclosed
        ("7</answer>", None),  # no opening tag
        ("The answer is \\boxed{3}", None),  # strict ignores boxed
        ("", None),
        (None, None),
        ("<answer>数字 ５ ✓</answer>", "数字 ５ ✓"),  # unicode passes through untouched
    ],
)
def test_strict(text: str | None, expected: str | None) -> None:
    assert extract_answer(text, "strict") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>4</answer> \\boxed{5}", "4"),  # the tag beats boxed
        ("so \\boxed{\\frac{1}{2}} hence", "\\frac{1}{2}"),  # nested braces
        ("\\boxed{1} and later \\boxed{2}", "2"),
        ("\\boxed{1} and a cut-off \\boxed{\\frac{3", "1"),  # unbalanced last box: the previous one
        ("\\fbox{9}", "9"),
        ("thus \\boxed 5.", "5"),  # sentence punctuation is not part of it
        ("we get 12 apples, then 1,000 and finally -3.5", "-3.5"),
        ("costs 1,000", "1,000"),
        ("pairs 5,6", "6"),  # not a thousands group: two numbers
        ("Model X2 and 18th place", None),  # digits glued to words are not numbers
        ("no numbers here", None),
    ],
)
def test_lenient(text: str, expected: str | None) -> None:
    assert extract_answer(text, "lenient") == expected


def test_bad_mode_and_type() -> None:
    with pytest.raises(ValueError, match="strict, lenient"):
        extract_answer("x", "loose")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="string"):
        extract_answer(123, "strict")  # type: ignore[arg-type]


def test_megabyte_inputs_stay_fast() -> None:
    """Adversarial text: 1 MB of open boxes/tags/digits must not go quadratic."""
    texts = [
        "\\boxed{" * 150_000,
        "<answer>" * 120_000 + "</answer>",
        "1," * 500_000,
        "word " * 200_000 + "<answer>42</answer>",
    ]
    start = time.perf_counter()
    results = [extract_answer(t, "lenient") for t in texts]
    assert time.perf_counter() - start < 2.0
    assert results[3] == "42"
    assert results[1] is None  # tags only, no content


def test_helpers_directly() -> None:
    assert last_boxed_content("a \\boxed{x^{2}} b") == "x^{2}"
    assert last_boxed_content("nothing") is None
    assert last_number("x = 2.50.") == "2.50"
