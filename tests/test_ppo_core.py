"""PPO maths: GAE (hand-worked, naive O(T^2), padding), KL-shaped rewards, whitening, value-loss clipping."""

from __future__ import annotations

import math

import pytest
import torch

from r1lite.algos.ppo_core import (
    AdaptiveKLController,
    clipped_value_loss,
    explained_variance,
    gae,
    kl_shaped_rewards,
    last_valid_index,
    whiten,
)


def naive_gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
              lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Straight from the definition: A_t = sum_l (gamma*lam)^l delta_{t+l} over each row's valid tokens."""
    adv = torch.zeros_like(values)
    for b in range(values.shape[0]):
        idx = [t for t in range(values.shape[1]) if mask[b, t]]
        v = [values[b, t].item() for t in idx] + [0.0]  # V = 0 after the last valid token
        r = [rewards[b, t].item() for t in idx]
        deltas = [r[k] + gamma * v[k + 1] - v[k] for k in range(len(idx))]
        for k, t in enumerate(idx):
            adv[b, t] = sum((gamma * lam) ** j * deltas[k + j] for j in range(len(idx) - k))
    return adv, (adv + values) * mask


def test_gae_hand_worked_with_padding() -> None:
    # row 0: three valid tokens. gamma=1, lam=0.5:
    #   delta = [0 + 0.2 - 0.5, 0 + 0.4 - 0.2, 1 + 0 - 0.4] = [-0.3, 0.2, 0.6]
    #   A_2 = 0.6, A_1 = 0.2 + 0.5 * 0.6 = 0.5, A_0 = -0.3 + 0.5 * 0.5 = -0.05; R = A + V = [0.45, 0.7, 1.0]
    # row 1: two valid tokens then padding holding junk that must not leak in:
    #   delta = [0 + 0.5 - 1.0, 2 + 0 - 0.5] = [-0.5, 1.5]; A = [-0.5 + 0.75, 1.5] = [0.25, 1.5]; R = [1.25, 2.0]
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 2.0, 99.0]])
    values = torch.tensor([[0.5, 0.2, 0.4], [1.0, 0.5, 7.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    torch.testing.assert_close(adv, torch.tensor([[-0.05, 0.5, 0.6], [0.25, 1.5, 0.0]]))
    torch.testing.assert_close(ret, torch.tensor([[0.45, 0.7, 1.0], [1.25, 2.0, 0.0]]))


def test_gae_discounted_hand_worked() -> None:
    # gamma=0.9, lam=1: A_t = discounted return - V_t. Rewards [0, 0, 2] -> G = [1.62, 1.8, 2.0]
    rewards = torch.tensor([[0.0, 0.0, 2.0]])
    values = torch.tensor([[1.0, 1.0, 1.0]])
    adv, ret = gae(rewards, values, torch.ones(1, 3), gamma=0.9, lam=1.0)
    torch.testing.assert_close(ret, torch.tensor([[1.62, 1.8, 2.0]]))
    torch.testing.assert_close(adv, torch.tensor([[0.62, 0.8, 1.0]]))


@pytest.mark.parametrize("gamma, lam", [(1.0, 0.95), (0.9, 0.8), (1.0, 0.0), (0.5, 1.0)])
def test_gae_matches_naive_with_padding_and_holes(gamma: float, lam: float) -> None:
    gen = torch.Generator().manual_seed(0)
    b, t = 6, 9
    rewards = torch.randn(b, t, generator=gen)
    values = torch.randn(b, t, generator=gen)
    lengths = torch.tensor([9, 1, 4, 7, 0, 5])
    mask = (torch.arange(t)[None, :] < lengths[:, None]).long()
    mask[3, 2] = 0  # a hole inside a row (e.g. masked tool output) is skipped, not treated as an end
    adv, ret = gae(rewards, values, mask, gamma, lam)
    want_adv, want_ret = naive_gae(rewards, values, mask, gamma, lam)
    torch.testing.assert_close(adv, want_adv, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ret, want_ret, rtol=1e-5, atol=1e-5)
    assert torch.all(adv[mask == 0] == 0) and torch.all(ret[mask == 0] == 0)


def test_gamma_lambda_one_gives_reward_minus_value() -> None:
    gen = torch.Generator().manual_seed(1)
    values = torch.randn(3, 5, generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]])
    rule = torch.tensor([1.0, -0.5, 0.25])
    zeros = torch.zeros(3, 5)
    rewards, _ = kl_shaped_rewards(rule, zeros, zeros, mask, beta=0.1)
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    torch.testing.assert_close(adv, (rule[:, None] - values) * mask)
    torch.testing.assert_close(ret, rule[:, None].expand(3, 5) * mask)


def test_kl_penalty_on_every_token_rule_reward_on_last_valid() -> None:
    gen = torch.Generator().manual_seed(2)
    logp = -torch.rand(3, 6, generator=gen)
    ref = -torch.rand(3, 6, generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]])
    rule = torch.tensor([2.0, -1.0, 5.0])
    beta = 0.3
    rewards, kl = kl_shaped_rewards(rule, logp, ref, mask, beta)
    penalty = -beta * (logp - ref)
    torch.testing.assert_close(kl, (logp - ref) * mask)
    # row 0: KL penalty on tokens 0..2, penalty + rule reward on token 3 (last valid), nothing on padding
    torch.testing.assert_close(rewards[0, :3], penalty[0, :3])
    torch.testing.assert_close(rewards[0, 3], penalty[0, 3] + 2.0)
    assert torch.all(rewards[0, 4:] == 0)
    torch.testing.assert_close(rewards[1, :5], penalty[1, :5])
    torch.testing.assert_close(rewards[1, 5], penalty[1, 5] - 1.0)
    # a fully masked row carries no reward at all
    assert torch.all(rewards[2] == 0)
    # the total reward of a row = rule reward - beta * sequence KL
    torch.testing.assert_close(rewards[:2].sum(1), rule[:2] - beta * kl[:2].sum(1))
    assert last_valid_index(mask).tolist() == [3, 5, -1]


def test_kl_shaped_rewards_rejects_nan_and_bad_shapes() -> None:
    mask = torch.ones(2, 3)
    with pytest.raises(ValueError, match="NaN"):
        kl_shaped_rewards(torch.tensor([1.0, float("nan")]), torch.zeros(2, 3), None, mask, 0.1)
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        kl_shaped_rewards(torch.tensor([1.0]), torch.zeros(2, 3), None, mask, 0.1)
    rewards, kl = kl_shaped_rewards(torch.tensor([1.0, 2.0]), torch.zeros(2, 3), None, mask, 0.1)
    assert rewards[:, -1].tolist() == [1.0, 2.0] and torch.all(kl == 0)


def test_value_loss_clipping_hand_worked() -> None:
    # token 0: V moved 0 -> 1 with clip 0.2: clipped V = 0.2, (0.2-2)^2 = 3.24 > (1-2)^2 = 1 -> clipped term wins
    # token 1: unchanged V: both terms 0.25
    # token 2: V moved toward the return past the clip: clipped (0.2-0.5)^2 = 0.09 < (1-0.5)^2 = 0.25 -> unclipped
    # token 3: padding with a huge error that must not count
    values = torch.tensor([[1.0, 0.0, 1.0, 50.0]], requires_grad=True)
    old = torch.zeros(1, 4)
    returns = torch.tensor([[2.0, 0.5, 0.5, -50.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    loss, clipfrac = clipped_value_loss(values, old, returns, mask, clip=0.2)
    assert loss.item() == pytest.approx(0.5 * (3.24 + 0.25 + 0.25) / 3)
    assert clipfrac.item() == pytest.approx(1 / 3)
    loss.backward()
    grad = values.grad[0]
    assert grad[0].item() == 0.0  # the clipped term is constant in V: no gradient pushes V further out
    assert grad[1].item() == pytest.approx((0.0 - 0.5) / 3)
    assert grad[2].item() == pytest.approx((1.0 - 0.5) / 3)
    assert grad[3].item() == 0.0
    plain, frac = clipped_value_loss(values.detach(), old, returns, mask, clip=None)
    assert plain.item() == pytest.approx(0.5 * (1 + 0.25 + 0.25) / 3) and frac.item() == 0.0
    with pytest.raises(ValueError, match="value clip"):
        clipped_value_loss(values, old, returns, mask, clip=0.0)


def test_whiten_ignores_padding() -> None:
    x = torch.tensor([[1.0, 2.0, 3.0, 1e6], [4.0, 5.0, -1e6, -1e6]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    out = whiten(x, mask)
    valid = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    want = (valid - valid.mean()) / valid.std()
    torch.testing.assert_close(out[mask.bool()], want, rtol=1e-5, atol=1e-5)
    assert torch.all(out[~mask.bool()] == 0)
    scaled = whiten(x, mask, shift_mean=False)
    torch.testing.assert_close(scaled[mask.bool()], valid / valid.std(), rtol=1e-5, atol=1e-5)


def test_explained_variance() -> None:
    returns = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    assert explained_variance(returns.clone(), returns, mask) == pytest.approx(1.0)
    assert explained_variance(torch.full((1, 4), 2.0), returns, mask) == pytest.approx(0.0)
    assert explained_variance(-returns, returns, mask) < 0
    assert math.isnan(explained_variance(returns, torch.ones(1, 4), mask))


def test_adaptive_kl_controller_halves_and_doubles() -> None:
    ctl = AdaptiveKLController(beta=0.1, target=1.0)
    assert ctl.update(2.0) == pytest.approx(0.2)  # above 1.5 x target: double
    assert ctl.update(1.2) == pytest.approx(0.2)  # inside the band: unchanged
    assert ctl.update(0.5) == pytest.approx(0.1)  # below target / 1.5: halve
    assert ctl.update(float("nan")) == pytest.approx(0.1)
    ctl = AdaptiveKLController(beta=0.1, target=1.0, beta_max=0.3)
    for _ in range(5):
        ctl.update(10.0)
    assert ctl.beta == 0.3
    with pytest.raises(ValueError, match="target KL"):
        AdaptiveKLController(beta=0.1, target=0.0)


def test_gae_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="one \\(B, T\\) shape"):
        gae(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(2, 3))
    with pytest.raises(ValueError, match="gamma and lam"):
        gae(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3), gamma=1.5)
