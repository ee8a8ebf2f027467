"""The estimator hook in R1Trainer: GRPO bit for bit as TRL, per-token advantages through TRL's loss, every
built-in estimator and a plug-in train end to end via ``--algo``."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from trl import GRPOTrainer

from r1lite.train.command import main, parse_config
from r1lite.train.config import ConfigError, R1Config
from r1lite.train.trainer import R1Trainer

G = 4
RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "arithmetic.yaml"


def graded_reward(completions, **kwargs):
    """Rewards that vary within a group, one unscorable completion (None) per group."""
    return [None if i % G == 3 else float(len(c) % 3) + 0.25 * (i % G) for i, c in enumerate(completions)]


def make_trainer(model_dir: str, out: Path, **overrides) -> R1Trainer:
    from r1lite.models import load_tokenizer

    rows = [{"prompt": f"Q{i}: what is {i} + 1?"} for i in range(8)]
    params = dict(output_dir=str(out), per_device_train_batch_size=2 * G, num_generations=G, max_completion_length=8,
                  report_to="none", save_strategy="no", seed=3, sampler="transformers", dynamic_sampling=False)
    params.update(overrides)
    trainer = R1Trainer(model=model_dir, reward_funcs=[graded_reward], args=R1Config(**params),
                        train_dataset=Dataset.from_list(rows), processing_class=load_tokenizer(model_dir))
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def inputs_of(trainer: R1Trainer) -> list[dict]:
    return [dict(trainer.train_dataset[0])] * G + [dict(trainer.train_dataset[1])] * G


def test_grpo_estimator_reproduces_trl_bit_for_bit(tiny_model_dir: str, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_model_dir, tmp_path)
    for scale in ("group", "batch", "none"):
        trainer.scale_rewards = scale
        trl_batch = GRPOTrainer._generate_and_score_completions(trainer, inputs_of(trainer))
        ours = trainer._compute_advantages(copy.copy(trl_batch))
        assert torch.equal(ours["advantages"], trl_batch["advantages"]), scale
        assert ours["advantages"].abs().sum() > 0 and bool((ours["advantages"][G - 1::G] == 0).all())
    trainer.multi_objective_aggregation = "normalize_then_sum"
    trl_batch = GRPOTrainer._generate_and_score_completions(trainer, inputs_of(trainer))
    assert torch.equal(trainer._compute_advantages(copy.copy(trl_batch))["advantages"], trl_batch["advantages"])


def test_per_token_estimator_through_trl_loss(tiny_model_dir: str, tmp_path: Path) -> None:
    """reinforce_pp with a reference: (B, T) advantages reach TRL's loss, whose own KL term is off (no double KL)."""
    trainer = make_trainer(tiny_model_dir, tmp_path, algo="reinforce_pp", beta=0.1)
    batch = trainer._generate_and_score_completions(inputs_of(trainer))
    adv, mask = batch["advantages"], batch["completion_mask"]
    assert adv.shape == mask.shape and "ref_per_token_logps" not in batch
    assert torch.all(adv[mask == 0] == 0) and adv[mask.bool()].abs().sum() > 0
    assert trainer._metrics["train"]["kl"][-1] == pytest.approx(0.0, abs=1e-6)  # policy == reference at step 0
    trainer.model.zero_grad()
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    assert math.isfinite(loss.item()) and trainer.beta == 0.1
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.model.parameters())
    # the loss without its KL term equals the loss of a trainer whose beta is 0
    beta, trainer.beta = trainer.beta, 0.0
    try:
        plain = GRPOTrainer._compute_loss(trainer, trainer.model, batch)
    finally:
        trainer.beta = beta
    torch.testing.assert_close(loss.detach(), plain.detach())


def test_algo_config_checks() -> None:
    cfg, _ = parse_config(["--algo", "dr_grpo", "--output_dir", "unused"], default_config=RECIPE)
    assert cfg.loss_type == "dr_grpo"  # the method's loss (no length normalisation), not the recipe's dapo
    cfg, _ = parse_config(["--algo", "reinforce", "--num_generations", "1", "--per_device_train_batch_size", "4",
                           "--output_dir", "unused"], default_config=RECIPE)
    assert cfg.num_generations == 1 and type(cfg.num_generations) is int and type(cfg).__name__ == "R1Config"
    with pytest.raises(ConfigError, match="rloo needs >= 2 completions per prompt"):
        parse_config(["--algo", "rloo", "--num_generations", "1", "--output_dir", "unused"], default_config=RECIPE)
    with pytest.raises(ConfigError, match="unknown advantage estimator 'grop'"):
        parse_config(["--algo", "grop", "--output_dir", "unused"], default_config=RECIPE)
    with pytest.raises(ConfigError, match="normalize_then_sum is GRPO's"):
        parse_config(["--algo", "rloo", "--multi_objective_aggregation", "normalize_then_sum",
                      "--output_dir", "unused"], default_config=RECIPE)


def readme_estimator() -> str:
    """The code block of the docs' "Write your own estimator" section (docs/algorithms.md), exactly as written."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "algorithms.md").read_text()
    section = text.split("## Write your own estimator", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_estimator_snippet_runs_as_written(tmp_path: Path) -> None:
    from r1lite.algos import Rollout, get_estimator, run_estimator

    code = readme_estimator()
    assert len(code.strip().splitlines()) < 15
    path = tmp_path / "my_estimator.py"
    path.write_text(code)
    fn = get_estimator(f"{path}:median_baseline")
    assert fn.needs.min_group_size == 2
    # groups (1, 0, 0) and (2, 3, 1): medians 0 and 2
    rollout = Rollout(torch.tensor([1.0, 0.0, 0.0, 2.0, 3.0, 1.0]), torch.tensor([0, 0, 0, 1, 1, 1]))
    torch.testing.assert_close(run_estimator(fn, rollout).advantages, torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, -1.0]))


RULE = '''
def length_parity(completions, **kwargs):
    return [float(len(c if isinstance(c, str) else c[0]["content"]) % 2 == 0) for c in completions]
'''


@pytest.mark.parametrize("algo", ["reinforce", "rloo", "reinforce_pp", "dr_grpo", "README"])
def test_algo_trains_end_to_end(algo: str, tiny_model_dir: str, tmp_path: Path) -> None:
    """grpo and ppo run end to end in test_train.py / test_ppo_train.py; here the other built-ins and a plug-in."""
    rule = tmp_path / "parity.py"
    rule.write_text(RULE)
    if algo == "README":
        (tmp_path / "my_estimator.py").write_text(readme_estimator())
        algo = f"{tmp_path / 'my_estimator.py'}:median_baseline"
    out = tmp_path / "run"
    extra = ["--beta", "0.05"] if algo == "reinforce_pp" else []
    rc = main(["--algo", algo, "--model", tiny_model_dir, "--output_dir", str(out), "--preset", "cpu",
               "--sampler", "transformers", "--per_device_train_batch_size", "8", "--num_generations", "4",
               "--max_completion_length", "8", "--heldout_n", "0", "--learning_rate", "1e-3", "--max-steps", "2",
               "--save_strategy", "no", "--table_every", "0", "--rewards", f"{rule}:length_parity=1.0,format=0.2",
               *extra], default_config=RECIPE)
    assert rc == 0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    train = [r for r in rows if "loss" in r]
    assert [r["step"] for r in train] == [1, 2] and all(math.isfinite(r["loss"]) for r in train)
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert all(s["advantage"] is not None and math.isfinite(s["advantage"]) for s in samples)
    if algo == "reinforce_pp":
        assert all("kl" in r and "reinforce_pp/kl_seq" in r for r in train)
