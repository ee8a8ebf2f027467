"""PPO maths on padded (B, T) token tensors: KL-shaped rewards, GAE, whitening, clipped value loss.

Pure torch, no TRL, so every formula can be tested against a hand-worked example. Conventions:

* ``mask`` is 1 on the tokens that count (the completion's real tokens) and 0 on padding. Completions are
  right-padded, but every function here also handles holes inside a row (e.g. masked tool output): a masked
  position is skipped, as if the valid tokens were written next to each other.
* ``values[:, t]`` is the critic's V(s_t): the value of the state *before* completion token t is emitted,
  i.e. read from the hidden state that also predicts token t.
* The episode ends after the last valid token: V(s_{T_end}) = 0 (the rule reward is terminal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _check_same_shape(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"expected tensors of one (B, T) shape, got {shapes}")
    if any(t.dim() != 2 for t in tensors.values()):
        raise ValueError(f"expected 2-D (B, T) tensors, got {shapes}")


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean over the positions where ``mask`` is 1 (0 when there are none, instead of NaN)."""
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1.0)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1.0)


def masked_var(x: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Variance over the valid positions (Bessel-corrected when ``unbiased`` and there are >= 2 of them)."""
    mask = mask.to(x.dtype)
    n = mask.sum()
    mean = masked_mean(x, mask)
    var = (((x - mean) ** 2) * mask).sum() / n.clamp(min=1.0)
    if unbiased and n > 1:
        var = var * n / (n - 1)
    return var


def whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """(x - mean) / std over the valid positions of the whole batch; padding stays 0 and never enters the stats.

    Whitening advantages over the batch keeps the policy step size independent of the reward scale and of
    how many tokens the batch holds. ``shift_mean=False`` only rescales (keeps the sign of every advantage).
    """
    _check_same_shape(x=x, mask=mask)
    mean = masked_mean(x, mask)
    var = masked_var(x, mask)
    out = ((x - mean) if shift_mean else x) * torch.rsqrt(var + eps)
    return out * mask.to(x.dtype)


def last_valid_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last 1 in each row of ``mask`` (-1 for an all-zero row)."""
    t = mask.shape[1]
    positions = torch.arange(t, device=mask.device).expand_as(mask)
    return torch.where(mask.bool(), positions, torch.full_like(positions, -1)).amax(dim=1)


def kl_shaped_rewards(rule_rewards: torch.Tensor, logp: torch.Tensor, ref_logp: torch.Tensor | None,
                      mask: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: ``-beta * (logp - ref_logp)`` on every valid token, plus the rule reward on the last.

    The KL to the reference is folded into the reward (as in InstructGPT / verl's PPO), not added to the loss,
    so the critic learns to predict it too. Returns ``(rewards, kl)``, both (B, T), zero on padding; ``kl`` is
    the per-token k1 estimate ``logp - ref_logp``. A row with no valid token gets no reward at all (a fully
    masked completion, e.g. a truncated one with ``mask_truncated_completions``, carries no signal).
    ``ref_logp=None`` means no reference: rewards are the rule rewards alone.
    """
    _check_same_shape(logp=logp, mask=mask)
    if rule_rewards.dim() != 1 or rule_rewards.shape[0] != logp.shape[0]:
        raise ValueError(f"rule_rewards must have shape (B,) = ({logp.shape[0]},), got {tuple(rule_rewards.shape)}")
    if not torch.isfinite(rule_rewards).all():
        raise ValueError("rule_rewards holds NaN/inf: replace unscorable completions' rewards before shaping")
    m = mask.to(logp.dtype)
    if ref_logp is None:
        kl = torch.zeros_like(logp)
    else:
        _check_same_shape(logp=logp, ref_logp=ref_logp)
        kl = (logp - ref_logp) * m
    rewards = -beta * kl
    last = last_valid_index(mask)
    rows = torch.nonzero(last >= 0, as_tuple=True)[0]
    rewards[rows, last[rows]] += rule_rewards[rows].to(rewards.dtype)
    return rewards * m, kl


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation by a reverse scan over the valid tokens.

    ``delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)``, ``A_t = delta_t + gamma * lam * A_{t+1}``, with t+1 the
    next *valid* token and V = 0 after the last one. Returns ``(advantages, returns = A + V)``, zero on padding.
    One pass, O(B*T): the scan carries the next valid token's value and advantage across masked positions.
    """
    _check_same_shape(rewards=rewards, values=values, mask=mask)
    if not (0.0 <= gamma <= 1.0 and 0.0 <= lam <= 1.0):
        raise ValueError(f"gamma and lam must lie in [0, 1], got gamma={gamma}, lam={lam}")
    valid = mask.bool()
    rewards, values = rewards.detach(), values.detach()
    next_value = torch.zeros_like(values[:, 0])
    next_adv = torch.zeros_like(values[:, 0])
    advantages = torch.zeros_like(values)
    for t in range(values.shape[1] - 1, -1, -1):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        adv = delta + gamma * lam * next_adv
        v = valid[:, t]
        advantages[:, t] = torch.where(v, adv, torch.zeros_like(adv))
        next_value = torch.where(v, values[:, t], next_value)
        next_adv = torch.where(v, adv, next_adv)
    returns = (advantages + values) * valid.to(values.dtype)
    return advantages, returns


def clipped_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                       mask: torch.Tensor, clip: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped value loss ``mean(max((V - R)^2, (clip(V, V_old - c, V_old + c) - R)^2)) / 2``.

    The clip keeps one rollout's update from moving the value estimate far from what it was at rollout time
    (the value analogue of the policy's ratio clip). Returns ``(loss, clipfrac)``: clipfrac is the share of
    valid tokens where the clipped term is the larger one (the gradient is cut there). ``clip=None`` disables
    the clip (plain squared error / 2, clipfrac 0).
    """
    _check_same_shape(values=values, old_values=old_values, returns=returns, mask=mask)
    unclipped = (values - returns) ** 2
    if clip is None:
        return 0.5 * masked_mean(unclipped, mask), torch.zeros((), device=values.device)
    if clip <= 0:
        raise ValueError(f"value clip must be > 0 (or None to disable), got {clip}")
    clipped_v = old_values + (values - old_values).clamp(-clip, clip)
    clipped = (clipped_v - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).to(values.dtype), mask)
    return loss, clipfrac.detach()


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> float:
    """``1 - Var[R - V] / Var[R]`` over the valid tokens: 1 = perfect critic, 0 = no better than a constant,
    < 0 = worse than a constant. NaN when the returns do not vary (undefined)."""
    _check_same_shape(values=values, returns=returns, mask=mask)
    var_r = masked_var(returns.detach(), mask).item()
    if var_r <= 1e-12 or not math.isfinite(var_r):
        return float("nan")
    return 1.0 - masked_var((returns - values).detach(), mask).item() / var_r


@dataclass
class AdaptiveKLController:
    """The KL coefficient beta, moved toward a target KL (Schulman et al. 2017, PPO paper, section 4).

    Rule, applied once per step with the measured KL ``d`` (mean over completions of the summed per-token
    ``logp - ref_logp``, i.e. the sequence KL, in nats): ``d > 1.5 * target`` -> beta doubles;
    ``d < target / 1.5`` -> beta halves; otherwise unchanged. Beta stays within ``[beta_min, beta_max]``.
    The 1.5 band keeps beta from flipping every step on noisy KL estimates.
    """

    beta: float
    target: float
    beta_min: float = 1e-4
    beta_max: float = 10.0
    band: float = 1.5

    def __post_init__(self) -> None:
        if self.target <= 0:
            raise ValueError(f"target KL must be > 0, got {self.target}")
        if self.beta <= 0:
            raise ValueError(f"an adaptive KL coefficient must start > 0, got beta={self.beta}")
        if not 0 < self.beta_min <= self.beta_max:
            raise ValueError(f"need 0 < beta_min <= beta_max, got {self.beta_min}, {self.beta_max}")
        self.beta = min(max(self.beta, self.beta_min), self.beta_max)

    def update(self, kl: float) -> float:
        """Adjust beta for the KL just measured; returns the new beta (used for the next rollout)."""
        if not math.isfinite(kl):
            return self.beta
        if kl > self.band * self.target:
            self.beta = min(self.beta * 2.0, self.beta_max)
        elif kl < self.target / self.band:
            self.beta = max(self.beta / 2.0, self.beta_min)
        return self.beta

    def state_dict(self) -> dict[str, float]:
        return {"beta": self.beta, "target": self.target}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.beta = float(state["beta"])
