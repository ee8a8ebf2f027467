"""PPO end to end on the tiny model: group size 1, the critic learns, every PPO metric is logged, checkpoints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from r1lite.algos.critic import ValueModel
from r1lite.train.command import main, parse_config
from r1lite.train.config import ConfigError

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "arithmetic.yaml"
PPO_METRICS = ("ppo/value_loss", "ppo/explained_variance", "ppo/value_mean", "ppo/returns_mean",
               "ppo/value_clipfrac", "kl", "ppo/kl_seq", "ppo/beta", "ppo/critic_grad_norm", "time/critic")



def ppo_args(model: str, out: Path, rule: str, *extra: str) -> list[str]:
    return ["--algo", "ppo", "--model", model, "--output_dir", str(out), "--preset", "cpu",
            "--per_device_train_batch_size", "6", "--num_generations", "1", "--max_completion_length", "10",
            "--heldout_n", "0", "--learning_rate", "1e-3", "--critic_learning_rate", "1e-3", "--save_steps", "2",
            "--table_every", "0", "--beta", "0.05", "--value_clip", "0.2", "--rewards", f"{rule}=1.0,format=0.2",
            *extra]


def test_ppo_two_steps_critic_learns_and_logs(tiny_model_dir: str, parity_rule: str, tmp_path: Path) -> None:
    out = tmp_path / "ppo"
    # two critic epochs: the separate rollout-values pass + clipped update (the resume test covers the fused pass)
    rc = main(ppo_args(tiny_model_dir, out, parity_rule, "--max-steps", "2", "--critic_epochs", "2"),
              default_config=RECIPE)
    assert rc == 0
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    train = [r for r in lines if "loss" in r]
    assert [r["step"] for r in train] == [1, 2]
    for r in train:
        missing = [k for k in PPO_METRICS if k not in r]
        assert not missing, f"PPO metrics not logged: {missing}"
        assert all(math.isfinite(r[k]) for k in PPO_METRICS)
        assert math.isfinite(r["loss"]) and r["ppo/value_loss"] > 0
        assert 0.0 <= r["ppo/value_clipfrac"] <= 1.0
    assert train[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # step 1: the policy still equals the reference
    # the critic's backbone moved away from the policy's initial weights it was built from
    start = ValueModel.from_pretrained(tiny_model_dir).backbone.state_dict()
    final = ValueModel.from_pretrained(str(out / "critic"))
    end = final.backbone.state_dict()
    assert start.keys() == end.keys()
    assert any(not torch.equal(start[k], end[k]) for k in start)
    ckpt = out / "checkpoint-2" / "critic"
    for name in ("model.safetensors", "value_head.safetensors", "optimizer.pt", "ppo_state.json"):
        assert (ckpt / name).is_file(), name
    torch.testing.assert_close(ValueModel.from_pretrained(str(ckpt)).head.weight, final.head.weight)
    # the policy trained too
    from safetensors.torch import load_file

    before = load_file(str(Path(tiny_model_dir) / "model.safetensors"))
    after = load_file(str(out / "final" / "model.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_ppo_resume_restores_the_critic(tiny_model_dir: str, parity_rule: str, tmp_path: Path) -> None:
    out = tmp_path / "ppo"
    assert main(ppo_args(tiny_model_dir, out, parity_rule, "--max-steps", "2"), default_config=RECIPE) == 0
    saved = ValueModel.from_pretrained(str(out / "checkpoint-2" / "critic")).head.weight.detach().clone()
    assert main(ppo_args(tiny_model_dir, out, parity_rule, "--max-steps", "3", "--resume"),
                default_config=RECIPE) == 0
    state = json.loads((out / "critic" / "ppo_state.json").read_text())
    assert state["critic_updates"] == 3  # 2 restored from checkpoint-2 + 1 after resuming
    assert not torch.equal(ValueModel.from_pretrained(str(out / "critic")).head.weight, saved)


def test_ppo_config_group_of_one_and_errors(tiny_model_dir: str) -> None:
    cfg, _ = parse_config(["--algo", "ppo", "--model", tiny_model_dir, "--num_generations", "1",
                           "--per_device_train_batch_size", "3", "--output_dir", "unused"], default_config=RECIPE)
    assert type(cfg).__name__ == "PPOConfig" and cfg.num_generations == 1 and type(cfg.num_generations) is int
    assert cfg.gamma == 1.0 and cfg.lam == 0.95 and cfg.critic_learning_rate == pytest.approx(10 * cfg.learning_rate)
    assert cfg.critic_epochs == cfg.num_iterations
    with pytest.raises(ConfigError, match="gamma and lam"):
        parse_config(["--algo", "ppo", "--lam", "1.5", "--output_dir", "unused"], default_config=RECIPE)
    with pytest.raises(ConfigError, match="beta > 0"):
        parse_config(["--algo", "ppo", "--kl_target", "1.0", "--beta", "0", "--output_dir", "unused"],
                     default_config=RECIPE)
    with pytest.raises(ConfigError, match="unknown argument"):
        parse_config(["--algo", "grpo", "--gamma", "0.9", "--output_dir", "unused"], default_config=RECIPE)
