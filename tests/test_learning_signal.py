"""The no-signal guard: fires (once, one line, with the cause and the remedies) when nearly every group has
zero reward variance, and stays quiet when groups carry a reward difference."""

from __future__ import annotations

from types import SimpleNamespace

from r1lite.train.learning_signal import (
    NoSignalGuard,
    SignalCheck,
    cause,
    check_groups,
    logged_rules,
    no_signal_line,
    rule_roles,
)


def cfg(**overrides):
    base = dict(max_completion_length=64, num_generations=4, generation_batch_size=8, template=None,
                stop_strings=None, model="smollm2-135m")
    return SimpleNamespace(**{**base, **overrides})


def flat_scores(acc: float, fmt: float, n: int = 8) -> tuple[list[float], dict[str, list[float]]]:
    scores = {"accuracy": [acc] * n, "format": [fmt] * n}
    return [acc + 0.5 * fmt] * n, scores


def test_flat_groups_fire_with_cause_and_remedies() -> None:
    totals, scores = flat_scores(0.0, 0.0)
    check = check_groups(totals, scores, group_size=4, truncated=0.75)
    assert check.groups == 2 and check.informative == 0.0 and check.silent
    line = no_signal_line(check, cfg(), "accuracy", "format")
    assert line is not None and "\n" not in line
    assert "NO LEARNING SIGNAL" in line and "0 of 2 groups" in line and "all unformatted" in line
    for remedy in ("--template", "--max_completion_length 128", "75% of completions hit 64 tokens",
                   "--stop_strings </answer>", "--model Qwen/Qwen2.5-0.5B-Instruct", "--num_generations 8"):
        assert remedy in line, remedy
    # a run that already stops at </answer> is not told to
    assert "--stop_strings" not in no_signal_line(check, cfg(stop_strings="</answer>"), "accuracy", "format")


def test_cause_reads_the_per_rule_rewards() -> None:
    wrong = check_groups(*flat_scores(0.0, 1.0), group_size=4)
    right = check_groups(*flat_scores(1.0, 1.0), group_size=4)
    assert cause(wrong, "accuracy", "format").startswith("all wrong")
    assert cause(right, "accuracy", "format").startswith("all right")
    assert "harder problems" in no_signal_line(right, cfg(), "accuracy", "format")
    # no format rule: an accuracy of 0 with no <answer> anywhere (the rule's diagnostics) is "unformatted"
    check = SignalCheck(4, 0.0, {"accuracy": 0.0}, no_answer=1.0)
    assert cause(check, "accuracy", None).startswith("all unformatted")
    assert cause(SignalCheck(4, 0.0, {"parity": 0.5}), None, None).startswith("every completion of a group")


def test_groups_with_signal_do_not_fire() -> None:
    totals = [0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]  # group 1 differs, group 2 is flat
    check = check_groups(totals, {"accuracy": totals}, group_size=4)
    assert check.informative == 0.5 and not check.silent
    assert no_signal_line(check, cfg(), "accuracy", None) is None


def step_log(zero: float, acc: float = 0.0, fmt: float = 0.0) -> dict:
    return {"loss": 0.0, "reward": acc + fmt, "rewards/accuracy/mean": acc, "rewards/format_reward/mean": fmt,
            "rewards/accuracy/no_answer_rate": 1.0 - fmt, "dynamic_sampling/zero_variance_frac": zero,
            "completions/min_length": 64.0, "completions/clipped_ratio": 1.0}


def test_guard_fires_once_after_the_first_steps() -> None:
    guard = NoSignalGuard(["accuracy", "format"], "accuracy")
    args = cfg(stop_strings="</answer>")
    assert guard.observe(step_log(1.0), args) is None
    assert guard.observe(step_log(1.0), args) is None
    line = guard.observe(step_log(1.0), args)
    assert line and "0 of 6 groups in the first 3 steps" in line and "all unformatted" in line
    assert "format_reward 0.00" in line  # the names the trainer logs, not the config's
    assert "100% of completions hit 64 tokens" in line
    assert guard.observe(step_log(1.0), args) is None  # once


def test_guard_quiet_with_signal_short_runs_and_group_size_one() -> None:
    guard = NoSignalGuard(["accuracy", "format"], "accuracy")
    for _ in range(3):
        assert guard.observe(step_log(0.5, acc=0.2, fmt=0.6), cfg()) is None
    assert guard.done
    short = NoSignalGuard(["accuracy"], "accuracy")
    assert short.observe(step_log(1.0), cfg(), max_steps=1) is not None  # a 1-step run is checked at step 1
    ppo = NoSignalGuard(["accuracy"], "accuracy")
    assert all(ppo.observe(step_log(1.0), cfg(num_generations=1)) is None for _ in range(4))


def test_rule_names_from_the_log() -> None:
    logs = step_log(1.0)
    assert logged_rules(logs) == ["accuracy", "format_reward"]
    assert rule_roles(logged_rules(logs), "accuracy") == ("accuracy", "format_reward")
