"""Dynamic sampling: zero-variance groups are dropped before the update, with the same gradient per token;
refill draws more prompts; stop strings end completions."""

from __future__ import annotations

import copy

import pytest
import torch
from tiny_trainer import G, const_then_var, make_trainer
from trl import GRPOTrainer

from r1lite.train.trainer import R1Trainer, stop_index


def grads(trainer: R1Trainer, batch: dict) -> torch.Tensor:
    trainer.model.zero_grad()
    trainer._compute_loss(trainer.model, batch).backward()
    return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None]).clone()


def test_zero_variance_groups_dropped_with_identical_token_gradient(tiny_model_dir: str, tmp_path) -> None:
    trainer = make_trainer(tiny_model_dir, tmp_path)
    inputs = const_then_var(trainer)
    full = GRPOTrainer._generate_and_score_completions(trainer, copy.deepcopy(inputs))
    kept = trainer._postprocess_rollout(dict(full), inputs)
    assert full["advantages"].shape[0] == 2 * G and kept["advantages"].shape[0] == G
    assert bool((kept["advantages"] != 0).all()) and bool((full["advantages"][:G] == 0).all())
    width = kept["completion_ids"].shape[1]
    assert width <= full["completion_ids"].shape[1]
    assert torch.equal(kept["completion_ids"], full["completion_ids"][G:, :width])
    assert int(kept["num_items_in_batch"]) == int(kept["completion_mask"].sum())
    assert trainer._metrics["train"]["dynamic_sampling/zero_variance_frac"][-1] == pytest.approx(0.5)
    # DAPO normalises by tokens: dropped rows had zero advantage, so sum-over-tokens gradients agree exactly
    g_full = grads(trainer, full) * int(full["num_items_in_batch"])
    g_kept = grads(trainer, kept) * int(kept["num_items_in_batch"])
    assert g_full.abs().max() > 0
    torch.testing.assert_close(g_kept, g_full, rtol=1e-4, atol=1e-6)


def test_dropping_is_off_with_kl_or_when_disabled(tiny_model_dir: str, tmp_path) -> None:
    for overrides in ({"dynamic_sampling": False}, {"beta": 0.1}):
        trainer = make_trainer(tiny_model_dir, tmp_path, **overrides)
        out = trainer._generate_and_score_completions(const_then_var(trainer))
        assert out["advantages"].shape[0] == 2 * G
        assert trainer._metrics["train"]["dynamic_sampling/zero_variance_frac"][-1] == pytest.approx(0.5)


def test_refill_tops_up_with_informative_groups(tiny_model_dir: str, tmp_path) -> None:
    trainer = make_trainer(tiny_model_dir, tmp_path, dynamic_sampling_refill=2)
    out = trainer._generate_and_score_completions(const_then_var(trainer))
    assert out["advantages"].shape[0] == 2 * G
    assert bool((out["advantages"] != 0).all())
    assert trainer._metrics["train"]["dynamic_sampling/refill_rounds"][-1] >= 1
    assert trainer._refill_cursor >= 2


def test_all_groups_zero_variance_keeps_one_zero_advantage_row(tiny_model_dir: str, tmp_path) -> None:
    trainer = make_trainer(tiny_model_dir, tmp_path)
    const = dict(trainer.train_dataset[20])
    out = trainer._generate_and_score_completions([const] * (2 * G))
    assert out["advantages"].shape[0] == 1 and float(out["advantages"].abs().sum()) == 0.0
    assert torch.isfinite(trainer._compute_loss(trainer.model, out))


def test_stop_index_cuts_after_the_stop_string(smollm2_tokenizer) -> None:
    tok = smollm2_tokenizer
    ids = tok("<think> 2+2=4 </think> <answer> 4 </answer>\nUser: more text here", add_special_tokens=False)["input_ids"]
    k = stop_index(ids, tok, ["</answer>"])
    assert tok.decode(ids[:k]).endswith("</answer>") and k < len(ids)
    plain = tok("no stop string here", add_special_tokens=False)["input_ids"]
    assert stop_index(plain, tok, ["</answer>"]) == len(plain)


def test_golds_are_prefetched_only_for_the_accuracy_rule() -> None:
    """The rollout hands the batch's golds to the verification workers before generating (LaTeX golds are
    then parsed while the policy generates); a trainer without the accuracy rule starts no workers."""
    from types import SimpleNamespace

    from r1lite.rewards.verify import _gold_status, clear_caches

    clear_caches()
    gold = "\\frac{\\sqrt{3}}{2}+\\pi"
    rows = [{"prompt": "p", "answer": gold}, {"prompt": "p", "answer": "18"}]
    assert R1Trainer._prefetch_golds(SimpleNamespace(reward_func_names=["format"]), rows) is None
    thread = R1Trainer._prefetch_golds(SimpleNamespace(reward_func_names=["accuracy", "format"]), rows)
    assert thread is not None
    thread.join(timeout=120)  # returns as soon as the golds are parsed; a loaded 2-core box once needed > 30 s
    assert not thread.is_alive() and _gold_status(gold) is True
