"""Rule registry and plugins: built-ins, user files, modules, bound parameters, TRL-style calls."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from r1lite.rewards import get_rule, list_rules, reward_rule
from r1lite.rewards.base import REWARDS

from r1lite.registry import RegistryError

BUILTINS = {"accuracy", "format", "tag_count", "language", "overlong", "repetition", "countdown"}


def test_builtins_are_registered() -> None:
    assert BUILTINS <= set(list_rules())


def test_unknown_name_lists_available() -> None:
    with pytest.raises(RegistryError) as err:
        get_rule("acuracy")
    msg = str(err.value)
    assert "acuracy" in msg and all(name in msg for name in BUILTINS)


def test_user_rule_from_file(tmp_path: Path) -> None:
    plugin = tmp_path / "my_rules.py"
    plugin.write_text(textwrap.dedent('''
        def short_answer(completions, max_chars=20, **kwargs):
            """1.0 when the completion is at most max_chars characters."""
            return [float(len(c) <= max_chars) for c in completions]
    '''))
    rule = get_rule(f"{plugin}:short_answer", max_chars=3)
    assert rule.__name__ == "short_answer"
    assert rule(["abc", "abcd"], prompts=["p", "p"], trainer_state=None) == [1.0, 0.0]
    with pytest.raises(RegistryError, match="not found"):
        get_rule(f"{tmp_path}/missing.py:rule")
    with pytest.raises(RegistryError, match="no attribute"):
        get_rule(f"{plugin}:nope")


def test_module_spec_and_registration() -> None:
    assert get_rule("r1lite.rewards.format:tag_count")(["<think>a</think><answer>1</answer>"]) == [1.0]

    @reward_rule("test_always_half")
    def half(completions, **kwargs):
        return [0.5] * len(completions)

    try:
        assert get_rule("test_always_half")(["a", "b"]) == [0.5, 0.5]
        with pytest.raises(ValueError, match="already registered"):
            reward_rule("test_always_half")(lambda completions, **kw: [])
    finally:
        REWARDS._items.pop("test_always_half", None)


def test_every_builtin_accepts_trl_kwargs() -> None:
    """TRL passes prompts, completion_ids, trainer_state, log_extra, log_metric and every column."""
    comps = [[{"role": "assistant", "content": "<think>a</think><answer>4</answer>"}]]
    kwargs = dict(prompts=[[{"role": "user", "content": "2+2?"}]], completion_ids=[[1, 2, 3]], trainer_state=None,
                  log_extra=lambda *a: None, log_metric=lambda *a: None, answer=["4"], nums=[[2, 2]], target=[4],
                  some_other_column=["x"])
    for name in sorted(BUILTINS):
        out = get_rule(name)(comps, **kwargs)
        assert len(out) == 1
        assert out[0] is None or isinstance(out[0], float) and not math.isnan(out[0]), name


def test_entry_point_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A package can ship rules through the ``r1lite.rewards`` entry-point group."""
    from importlib.metadata import EntryPoint

    import r1lite.registry as registry

    ep = EntryPoint(name="test_ep_tags", value="r1lite.rewards.format:tag_count", group="r1lite.rewards")
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep] if group == "r1lite.rewards" else [])
    monkeypatch.setattr(REWARDS, "_loaded_entry_points", False)
    try:
        assert "test_ep_tags" in list_rules()
        assert get_rule("test_ep_tags")(["<think>a</think><answer>1</answer>"]) == [1.0]
    finally:
        REWARDS._items.pop("test_ep_tags", None)
