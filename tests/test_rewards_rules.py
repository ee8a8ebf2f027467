"""``language``, ``overlong``, ``repetition`` and ``countdown``."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from r1lite.rewards import get_rule
from r1lite.rewards.countdown import CountdownError, check_countdown, countdown, evaluate_countdown
from r1lite.rewards.language import language, word_languages
from r1lite.rewards.overlong import overlong, overlong_penalty
from r1lite.rewards.repetition import repetition, repetition_penalty

# ---------------------------------------------------------------------------------------------- language


def test_language_english_chinese_mixed() -> None:
    comps = ["<think>First add the numbers, then divide.</think><answer>5</answer>",
             "<think>首先 add 数字</think>",  # 4 Chinese characters + 1 English word
             "<think>我们先把两个数相加</think>"]
    en = language(comps, lang="en")
    assert en[0] == 1.0 and en[1] == pytest.approx(1 / 5) and en[2] == 0.0
    zh = language(comps, lang="zh")
    assert zh[1] == pytest.approx(4 / 5) and zh[2] == 1.0


def test_language_ignores_latex_code_numbers_punctuation() -> None:
    text = ("<think>我们计算 $\\frac{a}{b} = \\sqrt{x^2}$ 和 \\(y\\)，再用 `print(total)` 与\n```python\nfor i in range(3): pass\n```"
            " 得到 12345 !!! x + y \\alpha</think>")
    counts = word_languages(text[7:-8])
    assert set(counts) == {"zh"}
    assert language([text], lang="zh") == [1.0]


def test_language_target_from_prompt() -> None:
    comps = ["<think>我们先计算</think>", "<think>We compute first</think>"]
    prompts = [[{"role": "system", "content": "Solve."}, {"role": "user", "content": "请计算下列各题的答案并说明理由"}],
               "Please solve the following problem"]
    assert language(comps, prompts=prompts) == [1.0, 1.0]
    assert language(comps[:1], prompts=["Please solve this"]) == [0.0]
    assert language(comps[1:]) == [1.0]  # no prompt: English
    template = ("A conversation between User and Assistant. The user asks a question, and the Assistant "
                "solves it. The assistant first thinks about the reasoning process in the mind and then "
                "provides the user with the answer. User: 小明有三个苹果，又买了五个，现在一共有几个？ Assistant: <think>")
    assert language(comps, prompts=[template, template]) == [1.0, 0.0]  # the question's language, not the template's


def test_language_edge_cases() -> None:
    diag: dict = {}
    assert language(["<think>1 + 2 = 3</think>", "", None], diagnostics=diag) == [None, None, None]
    assert diag["language"]["no_words"] == 3
    assert language(["日本語のテキストです"], lang="ja") == [1.0]  # kanji with kana count as Japanese
    assert language(["Давайте посчитаем"], lang="russian") == [1.0]
    with pytest.raises(ValueError, match="unknown language"):
        language(["x"], lang="klingon")
    start = time.perf_counter()
    assert language(["<think>" + "word 数 " * 150_000 + "</think>"], lang="en") == [pytest.approx(0.5)]
    assert time.perf_counter() - start < 3.0


# ---------------------------------------------------------------------------------------------- overlong


@pytest.mark.parametrize(("length", "expected"), [(0, 0.0), (768, 0.0), (769, -1 / 256), (896, -0.5),
                                                  (1024, -1.0), (5000, -1.0)])
def test_overlong_dapo_shape(length: int, expected: float) -> None:
    assert overlong_penalty(length, 1024, 256) == pytest.approx(expected)
    assert overlong(["x"], completion_ids=[[0] * length]) == [pytest.approx(expected)]


def test_overlong_falls_back_to_characters_and_validates() -> None:
    diag: dict = {}
    rule = get_rule("overlong", max_len=10, buffer=5)
    assert rule(["a" * 5, "a" * 8, "a" * 12], diagnostics=diag) == [0.0, pytest.approx(-0.6), -1.0]
    assert diag["overlong"]["length_from_chars"] == 3
    with pytest.raises(ValueError, match="buffer"):
        overlong(["x"], max_len=10, buffer=20)
    with pytest.raises(ValueError, match="max_len"):
        overlong(["x"], max_len=0)


# ---------------------------------------------------------------------------------------------- repetition


def test_repetition_penalty() -> None:
    assert repetition_penalty("the quick brown fox jumps over", 3) == 0.0
    # 9 words -> 7 trigrams, 3 distinct: 1 - 3/7
    assert repetition_penalty("a b c a b c a b c", 3) == pytest.approx(-(1 - 3 / 7))
    assert repetition_penalty("a b", 3) == 0.0
    assert repetition_penalty("", 3) == 0.0
    assert repetition_penalty("so so so so so", 1, max_penalty=-0.5) == pytest.approx(-0.5 * (1 - 1 / 5))
    assert repetition_penalty("我我我我我我", 2) == pytest.approx(-(1 - 1 / 5))  # CJK characters are words
    assert repetition(["a b c a b c a b c", "fresh words here"], n=3, max_penalty=-2.0) == [
        pytest.approx(-2 * (1 - 3 / 7)), 0.0]
    with pytest.raises(ValueError, match="max_penalty"):
        repetition(["x"], max_penalty=1.0)
    with pytest.raises(ValueError, match="n must"):
        repetition(["x"], n=0)


# ---------------------------------------------------------------------------------------------- countdown


@pytest.mark.parametrize(
    ("expr", "nums", "target", "ok"),
    [
        ("(25 - 5) * 4", [25, 5, 4], 80, True),
        ("(25 - 5) \\times 4 = 80", [4, 5, 25], 80, True),  # LaTeX times, claimed result ignored
        ("6 / 4 * 2", [6, 4, 2], 3, True),  # exact: no float rounding
        ("1/3 + 1/3 + 1/3", [1, 3, 1, 3, 1, 3], 1, True),
        ("25 * 4", [25, 5, 4], 100, False),  # 5 unused
        ("25 * 4 * 4", [25, 4], 400, False),  # 4 used twice
        ("2 ** 3", [2, 3], 8, False),
        ("2.5 * 2", [2, 2], 5, False),
        ("abs(-3)", [3], 3, False),
        ("__import__('os').getcwd()", [1], 1, False),
        ("5 / (3 - 3)", [5, 3, 3], 0, False),
        ("7 // 2", [7, 2], 3, False),
        ("", [1], 1, False),
    ],
)
def test_check_countdown(expr: str, nums: list[int], target: int, ok: bool) -> None:
    assert check_countdown(expr, nums, target) is ok


def test_evaluate_countdown_reasons() -> None:
    assert evaluate_countdown("(1 + 2) / 4", [1, 2, 4]) == Fraction(3, 4)
    with pytest.raises(CountdownError, match="exactly once"):
        evaluate_countdown("1 + 2", [1, 2, 3])
    with pytest.raises(CountdownError, match="division by zero"):
        evaluate_countdown("1 / (2 - 2)", [1, 2, 2])
    with pytest.raises(CountdownError, match="only digits"):
        evaluate_countdown("x + 1", [1])
    with pytest.raises(CountdownError):
        evaluate_countdown("(" * 400 + "1" + ")" * 400, [1])
    with pytest.raises(CountdownError, match="longer"):
        evaluate_countdown("1+" * 500_000 + "1", [1])


def test_countdown_rule() -> None:
    diag: dict = {}
    comps = ["<think>..</think><answer>(25-5)*4</answer>", "<answer>25*4-5</answer>", "<answer>25+5+4</answer>",
             "no answer", [{"role": "assistant", "content": "<answer>25 * 4 / 5</answer>"}]]
    kw = dict(nums=[[25, 5, 4]] * 5, target=[80, 95, 80, 80, 20])
    assert countdown(comps, diagnostics=diag, **kw) == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert diag["countdown"] == {"no_answer": 1, "invalid": 0, "wrong_value": 1, "n": 5}
    assert get_rule("countdown", partial=0.1)(comps, **kw)[2] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="'nums'"):
        countdown(comps, target=[1] * 5)
