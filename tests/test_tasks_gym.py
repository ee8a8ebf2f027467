"""``gym:<name>`` bridge to reasoning-gym (optional extra; skipped with the reason when it is absent)."""

from __future__ import annotations

import sys

import pytest
from r1lite.rewards import get_rule
from r1lite.tasks import TaskError, get_task


def test_missing_package_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from r1lite.tasks import gym

    monkeypatch.setitem(sys.modules, "reasoning_gym", None)  # import now raises ImportError
    gym._dataset.cache_clear()
    with pytest.raises(TaskError, match=r"r1lite\[gym\]"):
        get_task("gym:leg_counting")


def test_gym_task_loads_disjoint_splits_and_scores_with_score_answer() -> None:
    pytest.importorskip("reasoning_gym", reason="reasoning-gym not installed (pip install 'r1lite[gym]')")
    t = get_task("gym:leg_counting", num_examples=150, min_animals=2, max_animals=3)
    assert t.name == "gym:leg_counting" and t.accuracy_rule == "gym" and t.config == {"min_animals": 2,
                                                                                        "max_animals": 3}
    train, test = t.load("train"), t.load("test", limit=20, seed=1)
    assert len(train) == 150 and len(test) == 20
    assert not set(train["question"]) & set(test["question"])
    assert t.load("train", limit=10).to_list() == train.to_list()[:10]  # deterministic per seed
    rule = get_rule("gym")
    right = [f"count </think> <answer>{a}</answer>" for a in test["answer"]]
    assert rule(right, gym_ref=test["gym_ref"]) == [1.0] * 20
    wrong = [f"</think> <answer>{int(a) + 1}</answer>" for a in test["answer"]]
    diagnostics: dict = {}
    refs = list(test["gym_ref"])
    assert rule(wrong + ["no tags"], gym_ref=refs + refs[:1],
                diagnostics=diagnostics) == [0.0] * 21
    assert diagnostics["gym"]["no_answer"] == 1


def test_gym_errors_name_the_problem() -> None:
    pytest.importorskip("reasoning_gym", reason="reasoning-gym not installed (pip install 'r1lite[gym]')")
    with pytest.raises(TaskError, match="unknown reasoning-gym dataset.*leg_counting"):
        get_task("gym:leg_countin")
    with pytest.raises(TaskError, match="bogus"):
        get_task("gym:leg_counting", bogus=1).load("test")
    with pytest.raises(ValueError, match="gym_ref"):
        get_rule("gym")(["<answer>1</answer>"])
