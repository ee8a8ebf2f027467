"""Grading for evaluation: both extraction modes, format with a prefilled <think>, the second checker."""

from __future__ import annotations

from r1lite.eval.grading import agreement, disagreements, gold_text, grade


def test_modes_format_and_prefill() -> None:
    completions = [
        "<think>9 - 3 = 6</think> <answer>6</answer>",  # right, well formed
        "9 - 3 = 6 so \\boxed{6}",  # right but only the lenient mode finds it
        "reasoning</think> <answer>7</answer>",  # prompt prefilled <think>: well formed, wrong
        "no idea",
    ]
    golds = ["6", "6", 6.0, "6"]
    graded = grade(completions, golds, prefilled=[False, False, True, False])
    assert [g.correct["strict"] for g in graded] == [True, False, False, False]
    assert [g.correct["lenient"] for g in graded] == [True, True, False, False]
    assert [g.extracted["lenient"] for g in graded] == ["6", "6", "7", None]
    assert [g.format_ok for g in graded] == [True, False, True, False]
    assert gold_text(27.0) == "27" and gold_text(" ") is None


def test_second_checker_disagreements_are_reported() -> None:
    completions = ["<answer>50\\%</answer>", "<answer>\\frac{1}{2}</answer>", "<answer>0.4</answer>"]
    graded = grade(completions, ["0.5", "0.5", "0.5"], prefilled=[False] * 3)
    # math-verify reads 50% as 0.5; the independent sympy checker does not: a disagreement to inspect
    assert [g.correct["strict"] for g in graded] == [True, True, False]
    assert [g.second["strict"] for g in graded] == [False, True, False]
    stats = agreement(graded, "strict")
    assert stats == {"checked": 3, "agree": 2, "agreement": 2 / 3}
    rows = disagreements(graded, ["0.5"] * 3, "strict")
    assert rows == [{"index": 0, "mode": "strict", "extracted": "50\\%", "gold": "0.5", "math_verify": True,
                     "sympy": False}]
    assert agreement(grade(["nothing"], ["1"], [False]), "strict") == {"checked": 0, "agree": 0,
                                                                        "agreement": None}
