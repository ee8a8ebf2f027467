"""``format`` and ``tag_count``: the strict R1-Zero layout, including prompts that prefill <think>."""

from __future__ import annotations

import pytest
from r1lite.rewards import get_rule
from r1lite.rewards.format import format_reward, prompt_prefills_think, tag_count

GOOD = "<think>\nadd them\n</think>\n<answer>\n5\n</answer>"


@pytest.mark.parametrize(
    ("text", "score"),
    [
        (GOOD, 1.0),
        ("  " + GOOD + "\n\n", 1.0),  # surrounding whitespace is fine
        ("<think></think><answer>5</answer>", 1.0),  # empty reasoning is still the format
        ("<think>a</think><answer> </answer>", 0.0),  # an empty answer is not
        ("<think>a</think>\n<answer>5</answer> trailing words", 0.0),
        ("<think>a</think> words <answer>5</answer>", 0.0),
        ("hello <think>a</think><answer>5</answer>", 0.0),
        ("<think>a</think><answer>5</answer><answer>6</answer>", 0.0),
        ("<think><think>a</think></think><answer>5</answer>", 0.0),
        ("<answer>5</answer><think>a</think>", 0.0),
        ("<think>a<answer>5</answer></think>", 0.0),
        ("<think>a</think>", 0.0),
        ("", 0.0),
        (None, 0.0),
        ("<think>数学</think><answer>５</answer>", 1.0),
    ],
)
def test_format_strict(text: str | None, score: float) -> None:
    assert format_reward([text]) == [score]


def test_prefilled_think_prompt() -> None:
    body = "add them\n</think>\n<answer>5</answer>"
    prompts = ["Question ... Assistant: <think>", [{"role": "user", "content": "q"},
                                                   {"role": "assistant", "content": "<think>\n"}]]
    assert format_reward([body, body], prompts=prompts) == [1.0, 1.0]
    assert format_reward([body], prompts=["Question ... Assistant:"]) == [0.0]
    assert format_reward(["<think>" + body], prompts=prompts[:1]) == [0.0]  # opened twice
    assert format_reward([body], prefilled_think=True) == [1.0]  # explicit override
    assert format_reward([GOOD], prompts=prompts[:1], prefilled_think=False) == [1.0]
    assert get_rule("format", prefilled_think=True)([body]) == [1.0]


def test_prompt_detection() -> None:
    assert prompt_prefills_think("x <think>\n ")
    assert not prompt_prefills_think("x <think> y")
    assert not prompt_prefills_think(None)
    assert not prompt_prefills_think([])
    assert prompt_prefills_think([{"role": "user", "content": "solve <think>"}])


def test_format_diagnostics() -> None:
    diag: dict = {}
    format_reward([GOOD, "no tags", "<think>a</think><answer>5</answer> x"], diagnostics=diag)
    assert diag["format"] == {"no_think_close": 1, "no_answer": 1, "trailing_text": 1, "n": 3}


@pytest.mark.parametrize(
    ("text", "score"),
    [
        (GOOD, 1.0),
        ("<think>a</think>", 0.5),
        ("<think>a</think><answer>5", 0.75),
        ("<think>a</think><answer>5</answer> more", 0.75),
        ("x <think>a</think><answer>5</answer>", 0.75),  # <think> not first
        ("<answer>5</answer>", 0.5),
        ("<think><think>a</think></think>", 0.0),
        ("nothing", 0.0),
    ],
)
def test_tag_count(text: str, score: float) -> None:
    assert tag_count([text]) == [score]


def test_tag_count_with_prefill() -> None:
    assert tag_count(["a</think><answer>5</answer>"], prompts=["... <think>"]) == [1.0]
    assert tag_count(["<think>a</think><answer>5</answer>"], prompts=["... <think>"]) == [0.75]


def test_megabyte_completion() -> None:
    big = "<think>" + "x" * 1_000_000 + "</think><answer>5</answer>"
    assert format_reward([big]) == [1.0] and tag_count([big]) == [1.0]
