"""Never worse than math-verify: on every labelled suite (the in-sample equivalences, math-verify's own test cases,
the out-of-sample real outputs) and on the completions the reward benchmark builds (bench/rewards.py), no pair that
plain in-process math-verify gets right is graded wrong by ``accuracy``, except the documented deliberate
differences in tests/data/grader_deliberate_differences.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest
from grader_cases import SUITES, deliberate_differences, load_grader_suite, load_script


@pytest.fixture(scope="module")
def grader_suite():
    return load_grader_suite()


def _report(rows: list[str]) -> str:
    return "\n".join(rows[:40]) + (f"\n... and {len(rows) - 40} more" if len(rows) > 40 else "")


@pytest.mark.parametrize("suite", list(SUITES))
def test_no_pair_math_verify_gets_right_is_graded_wrong(grader_suite, suite: str) -> None:
    path = SUITES[suite]
    if not path.is_file():
        pytest.skip(f"{path.name} is not in this checkout")
    cases = grader_suite.load_suite(path)
    ours = [v.reward for v in grader_suite.r1lite_verdicts(cases, timeout=20.0)]
    theirs = grader_suite.mathverify_rewards(cases)
    allowed = deliberate_differences(suite)
    worse = [f"line {cases[i].line}: {cases[i].prediction!r} vs {cases[i].gold!r}: accuracy {ours[i]}, math-verify "
             f"{theirs[i]}, label {cases[i].verdict}"
             for i in grader_suite.worse_than_mathverify(cases, ours, theirs)
             if (cases[i].prediction, cases[i].gold) not in allowed]
    assert not worse, f"math-verify right, accuracy wrong on {len(worse)} pairs:\n{_report(worse)}"


def test_no_completion_of_the_reward_bench_math_verify_gets_right_is_graded_wrong(data_dir: Path) -> None:
    """bench/rewards.py's GSM8K and MATH-500 completions (correct answers in several forms, wrong ones of the
    gold's type; pathological items left out, math-verify cannot take them): same extraction on both sides."""
    from r1lite.rewards.extract import extract_answer
    from r1lite.rewards.verify import verify_batch

    rewards_bench = load_script("rewards")
    grader_suite = load_grader_suite()
    (items,), _ = rewards_bench.build_items(data_dir, n_gsm=80, n_math=120, seed=0)
    items = [it for it in items if it.kind in ("correct", "wrong")]
    pairs = [(extract_answer(it.text, "strict"), it.gold) for it in items]
    ours = [v.reward for v in verify_batch(pairs, timeout=20.0)]
    theirs = [grader_suite.mathverify_reward(p or "", g) for p, g in pairs]
    allowed = deliberate_differences("bench_rewards")
    worse = [f"{p!r} vs {g!r}: accuracy {a}, math-verify {b}, built as {it.kind}"
             for it, (p, g), a, b in zip(items, pairs, ours, theirs, strict=True)
             if (b == 1.0) == (it.kind == "correct") and (a == 1.0) != (it.kind == "correct") and (p, g) not in allowed]
    assert len(items) > 1000
    assert not worse, f"math-verify right, accuracy wrong on {len(worse)} completions:\n{_report(worse)}"
