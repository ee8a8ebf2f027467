"""The ``accuracy`` rule as TRL calls it: extraction modes, golds, diagnostics, adversarial input."""

from __future__ import annotations

import time

import pytest
from r1lite.rewards import get_rule
from r1lite.rewards.accuracy import accuracy

TRL_KWARGS = dict(trainer_state=object(), completion_ids=[[1, 2]], log_extra=None)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_plain_number_inside_the_answer_tag_is_correct() -> None:
    """open-r1's LaTeX-only extraction scores this 0; we must not."""
    assert accuracy(["<think>9*2</think>\n<answer>\n18\n</answer>"], answer=["18"]) == [1.0]


def test_equivalent_forms_and_chat_messages() -> None:
    comps = [chat("<answer>18.00</answer>"), chat("<answer>$18</answer>"), chat("<answer>1,000</answer>"),
             chat("<answer>\\frac{1}{2}</answer>"), chat("<answer>17</answer>")]
    assert accuracy(comps, answer=["18", "18", "1000", "0.5", "18"], prompts=["q"] * 5) == [1.0, 1.0, 1.0, 1.0, 0.0]


def test_strict_vs_lenient() -> None:
    comps = ["The result is \\boxed{42}.", "so the total is 42", "<answer>41</answer> \\boxed{42}"]
    golds = ["42"] * 3
    assert get_rule("accuracy")(comps, answer=golds) == [0.0, 0.0, 0.0]
    lenient = get_rule("accuracy", mode="lenient")
    assert lenient.__name__ == "accuracy"  # TRL logs the reward under this name
    assert lenient(comps, answer=golds) == [1.0, 1.0, 0.0]


def test_gold_handling() -> None:
    # AMC-style float golds, a missing gold and an unparseable one (skipped, never 1.0, never a silent 0)
    diag: dict = {}
    out = accuracy(["<answer>27</answer>", "<answer>1</answer>", "<answer>1</answer>"],
                   answer=[27.0, None, "\\frac{"], diagnostics=diag)
    assert out == [1.0, None, None]
    assert diag["accuracy"]["gold_unparseable"] == 2


def test_diagnostics_tell_wrong_from_unparseable() -> None:
    diag: dict = {}
    logged: dict[str, float] = {}
    comps = ["<answer>5</answer>", "no tag at all", "<answer>I am not sure.</answer>",
             "<answer>(1+x)^{100000}</answer>", "<answer>6</answer>"]
    out = accuracy(comps, answer=["5", "5", "x^2", "7", "5"], timeout=0.3, diagnostics=diag,
                   log_metric=lambda k, v: logged.__setitem__(k, v), **TRL_KWARGS)
    assert out == [1.0, 0.0, 0.0, 0.0, 0.0]
    d = diag["accuracy"]
    assert (d["no_answer"], d["parse_failure"], d["timeout"], d["n"]) == (1, 1, 1, 5)
    assert logged["rewards/accuracy/timeout_rate"] == pytest.approx(0.2)
    assert logged["rewards/accuracy/no_answer_rate"] == pytest.approx(0.2)


def test_log_extra_receives_extracted_answers() -> None:
    cols: dict[str, list] = {}
    accuracy(["<answer>3</answer>", "x"], answer=["3", "3"], log_extra=lambda k, v: cols.__setitem__(k, v))
    assert cols["extracted_answer"] == ["3", ""]


def test_bad_calls_have_clear_errors() -> None:
    with pytest.raises(ValueError, match="'answer'.*answer_key"):
        accuracy(["<answer>1</answer>"], solution=["1"])
    with pytest.raises(ValueError, match="2 completions but 1"):
        accuracy(["a", "b"], answer=["1"])
    with pytest.raises(ValueError, match="mode"):
        accuracy(["a"], answer=["1"], mode="fuzzy")
    assert accuracy(["<answer>1</answer>"], solution=["1"], answer_key="solution") == [1.0]


def test_adversarial_completions() -> None:
    comps = [None, "", "<answer>" * 1000, "x" * 1_000_000 + "<answer>2</answer>",
             "<answer><answer>2</answer></answer>", "<think><answer>2</answer></think>", "<answer>２</answer>",
             "<answer>" + "9^{9^{9^9}}" + "</answer>", "<answer>" + "(" * 3000 + "</answer>"]
    start = time.perf_counter()
    out = accuracy(comps, answer=["2"] * len(comps))
    assert time.perf_counter() - start < 5.0
    assert out[:4] == [0.0, 0.0, 0.0, 1.0]
    assert out[4] == 1.0 and out[5] == 1.0  # the last complete tag is what counts
    assert out[7] == 0.0 and out[8] == 0.0
    assert all(v in (0.0, 1.0) for v in out)
