"""The critic: values aligned with completion tokens, save/load round trip, the update fits returns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from r1lite.algos.critic import Critic, CriticError, ValueModel


def _batch(vocab: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    prompt_ids = torch.randint(5, vocab, (3, 4), generator=gen)
    prompt_mask = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1]])  # left padded
    completion_ids = torch.randint(5, vocab, (3, 5), generator=gen)
    completion_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])  # right padded
    return prompt_ids, prompt_mask, completion_ids, completion_mask


def test_values_read_the_state_before_each_token(tiny_model_dir: str) -> None:
    torch.manual_seed(0)
    model = ValueModel.from_pretrained(tiny_model_dir)
    pi, pm, ci, cm = _batch(model.config.vocab_size)
    values = model.completion_values(pi, pm, ci, cm)
    assert values.shape == (3, 5)
    # V(s_0) depends on the prompt only; changing completion token 0 must not change it but must change V(s_1)
    ci2 = ci.clone()
    ci2[:, 0] = (ci[:, 0] + 1) % model.config.vocab_size
    values2 = model.completion_values(pi, pm, ci2, cm)
    torch.testing.assert_close(values[:, 0], values2[:, 0])
    assert not torch.allclose(values[1, 1:], values2[1, 1:])


def test_save_load_round_trip(tiny_model_dir: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    critic = Critic.from_pretrained(tiny_model_dir, lr=1e-3)
    pi, pm, ci, cm = _batch(critic.model.config.vocab_size)
    old = critic.values(pi, pm, ci, cm)
    critic.update(pi, pm, ci, cm, old, torch.ones_like(old) * cm, clip=None)  # make the optimizer state non-empty
    before = critic.values(pi, pm, ci, cm)
    critic.save(tmp_path / "critic")
    for name in ("config.json", "model.safetensors", "value_head.safetensors", "critic.json", "optimizer.pt"):
        assert (tmp_path / "critic" / name).is_file(), name
    loaded = Critic.from_pretrained(str(tmp_path / "critic"), lr=1e-3)
    torch.testing.assert_close(loaded.values(pi, pm, ci, cm), before)
    assert loaded.optimizer.state_dict()["state"], "optimizer state (Adam moments) is restored"
    fresh = Critic.from_pretrained(tiny_model_dir, lr=1e-3)
    fresh.load(tmp_path / "critic")
    torch.testing.assert_close(fresh.values(pi, pm, ci, cm), before)


def test_update_fits_returns_and_moves_weights(tiny_model_dir: str) -> None:
    torch.manual_seed(0)
    critic = Critic.from_pretrained(tiny_model_dir, lr=3e-3, max_grad_norm=1.0)
    pi, pm, ci, cm = _batch(critic.model.config.vocab_size)
    returns = torch.tensor([[1.0, 1.0, 1.0, 0, 0], [-1.0, -1.0, -1.0, -1.0, -1.0], [0.5, 0, 0, 0, 0]])
    head0 = critic.model.head.weight.detach().clone()
    first = None
    for step in range(15):
        old = critic.values(pi, pm, ci, cm)
        stats = critic.update(pi, pm, ci, cm, old, returns, clip=None, epochs=1, mini_batch_size=2, seed=step)
        first = first if first is not None else stats.value_loss
        assert stats.steps == 2 and stats.grad_norm > 0
    assert stats.value_loss < 0.5 * first
    assert not torch.equal(critic.model.head.weight, head0)


def test_clipped_update_limits_the_move(tiny_model_dir: str) -> None:
    torch.manual_seed(0)
    critic = Critic.from_pretrained(tiny_model_dir, lr=1e-2, max_grad_norm=None)
    pi, pm, ci, cm = _batch(critic.model.config.vocab_size)
    old = critic.values(pi, pm, ci, cm)
    stats = critic.update(pi, pm, ci, cm, old, old + 10.0 * cm, clip=0.01, epochs=4)
    assert stats.clipfrac > 0  # later epochs move past V_old +- 0.01 and get clipped


def test_vocab_mismatch_and_bad_settings_fail_clearly(tiny_model_dir: str) -> None:
    critic = Critic.from_pretrained(tiny_model_dir)
    with pytest.raises(CriticError, match="tokenizer"):
        critic.check_vocab(critic.model.config.vocab_size + 1)
    with pytest.raises(CriticError, match="learning rate"):
        Critic(critic.model, lr=0.0)


def test_single_pass_equals_values_then_one_update(tiny_model_dir: str) -> None:
    """The fused path (one forward for rollout values + step) gives the same values, returns and weights."""
    import copy

    torch.manual_seed(0)
    a = Critic.from_pretrained(tiny_model_dir, lr=1e-3)
    b = copy.deepcopy(a)
    pi, pm, ci, cm = _batch(a.model.config.vocab_size)
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0, 0], [0.0, 0.0, 0.0, 0.0, -1.0], [0.5, 0, 0, 0, 0]])

    def targets(values: torch.Tensor) -> torch.Tensor:
        from r1lite.algos.ppo_core import gae

        return gae(rewards, values, cm, 1.0, 0.95)[1]

    old = a.values(pi, pm, ci, cm)
    stats_a = a.update(pi, pm, ci, cm, old, targets(old), clip=0.2, epochs=1)
    values_b, returns_b, stats_b = b.fit_single_pass(pi, pm, ci, cm, targets)
    torch.testing.assert_close(values_b, old, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(returns_b, targets(old), rtol=1e-5, atol=1e-6)
    assert stats_b.value_loss == pytest.approx(stats_a.value_loss, rel=1e-5)
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)
