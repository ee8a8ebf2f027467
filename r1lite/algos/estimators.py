"""The built-in advantage estimators: REINFORCE, RLOO, REINFORCE++, GRPO, Dr. GRPO and PPO.

Notation: r_i is completion i's (weighted) rule reward, g(i) its prompt's group of G completions, N the batch
(all processes), t a token of completion i and T_i its last valid token. Completions that no rule could score
(NaN reward) get advantage 0 and enter no mean or standard deviation. Each formula is tested against a
hand-worked example in ``tests/test_algos_estimators.py``; the per-token maths (KL-shaped rewards, GAE,
whitening) is :mod:`r1lite.algos.ppo_core`'s, shared with the critic.
"""

from __future__ import annotations

import torch

from r1lite.algos.ppo_core import gae, kl_shaped_rewards, masked_mean, whiten
from r1lite.algos.registry import Estimate, Rollout, estimator

EPS = 1e-4  # TRL's epsilon in GRPO's (r - mean) / (std + eps)


def group_size(group_ids: torch.Tensor) -> int:
    """G, checking TRL's layout: each prompt's completions form one block of G adjacent rows."""
    _, counts = torch.unique_consecutive(group_ids, return_counts=True)
    g = int(counts[0]) if counts.numel() else 1
    if bool((counts != g).any()) or torch.unique(group_ids).numel() != counts.numel():
        raise ValueError("group_ids must form adjacent blocks of equal size (TRL's layout: the G completions of "
                         f"a prompt are next to each other); got block sizes {counts.tolist()}")
    return g


def _grouped(x: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    return x.view(-1, group_size(group_ids))


def _group_mean(r: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    """(N,) mean of each row's group over its scorable rows (NaN for an all-unscorable group)."""
    g = group_size(group_ids)
    return torch.nanmean(r.view(-1, g), dim=1).repeat_interleave(g, dim=0)


@estimator("reinforce")
def reinforce(rollout: Rollout) -> torch.Tensor:
    """REINFORCE with a batch-mean baseline (Williams 1992): ``A_i = r_i - (1/N) sum_j r_j``.

    The plainest unbiased policy gradient: one baseline for the whole batch, no per-prompt grouping and no
    rescaling, so it works with one completion per prompt; the advantage keeps the reward's scale.
    """
    r = rollout.rewards
    return torch.nan_to_num(r - torch.nanmean(r), nan=0.0)


@estimator("rloo", min_group_size=2)
def rloo(rollout: Rollout) -> torch.Tensor:
    """REINFORCE leave-one-out (Kool et al. 2019; Ahmadian et al. 2024):
    ``A_i = r_i - 1/(G-1) * sum_{j in g(i), j != i} r_j  =  G/(G-1) * (r_i - mean_{g(i)} r)``.

    Each completion's baseline is the mean of the *other* completions of its prompt, so it does not depend on
    r_i and the gradient stays unbiased (GRPO's group mean includes r_i). A completion whose group has no
    other scorable completion gets 0.
    """
    r = _grouped(rollout.rewards, rollout.group_ids)
    valid = ~torch.isnan(r)
    count = valid.sum(dim=1, keepdim=True)
    total = torch.nansum(r, dim=1, keepdim=True)
    baseline = (total - torch.nan_to_num(r)) / (count - 1).clamp(min=1)
    adv = torch.where(valid & (count > 1), r - baseline, torch.zeros_like(r))
    return adv.reshape(-1)


@estimator("reinforce_pp", reference=True)
def reinforce_pp(rollout: Rollout) -> Estimate:
    """REINFORCE++ (Hu 2025): per-token KL in the reward, returns normalised over the whole batch.

    ``r_t = -beta * (log pi(y_t) - log pi_ref(y_t)) + [t = T_i] r_i``,
    ``G_t = sum_{s >= t} gamma^(s-t) r_s``, ``A_t = (G_t - mean(G)) / std(G)`` over every valid token of the batch.

    No critic and no groups: the batch statistics are the baseline, so one completion per prompt works. The
    KL sits in the reward (the loss drops its own KL term); with ``beta = 0`` the return is the rule reward.
    """
    mask = rollout.token_mask()
    rule = torch.nan_to_num(rollout.rewards.float(), nan=0.0)
    kl_rewards, kl = _kl_rewards(rollout, rule)
    returns, _ = gae(kl_rewards, torch.zeros_like(kl_rewards), rollout.mask, gamma=float(rollout.knob("gamma", 1.0)),
                     lam=1.0)  # V = 0, lambda = 1: the discounted return
    return Estimate(advantages=whiten(returns, mask), kl=kl if rollout.ref_logps is not None else None,
                    metrics={"returns_mean": float(masked_mean(returns, mask))})


@estimator("grpo", min_group_size=2)
def grpo(rollout: Rollout) -> torch.Tensor:
    """GRPO (Shao et al. 2024), exactly as TRL computes it: ``A_i = (r_i - mean_{g(i)} r) / (std_{g(i)} r + 1e-4)``.

    ``scale_rewards``: ``group`` divides by the group's std (above), ``batch`` by the std of the whole batch,
    ``none`` not at all. ``multi_objective_aggregation: normalize_then_sum`` normalises each rule within the
    group first, then sums with the weights and normalises over the batch. Bit-for-bit TRL's numbers (same
    operations in the same order; ``tests/test_algos_trainer.py`` compares them).
    """
    from trl.trainer.utils import nanstd

    r, g = rollout.rewards, group_size(rollout.group_ids)
    if rollout.knob("multi_objective_aggregation", "sum_then_normalize") == "normalize_then_sum":
        return _grpo_normalize_then_sum(rollout, g)
    scale = rollout.knob("scale_rewards", "group")
    scale = {True: "group", False: "none"}.get(scale, scale)
    mean = torch.nanmean(r.view(-1, g), dim=1).repeat_interleave(g, dim=0)
    if scale in ("group", "none"):
        std = nanstd(r.view(-1, g), dim=1).repeat_interleave(g, dim=0) if g > 1 else torch.zeros_like(r)
    elif scale == "batch":
        std = nanstd(r).expand_as(r) if r.numel() > 1 else torch.zeros_like(r)
    else:
        raise ValueError(f"scale_rewards={scale!r}: choose group, batch or none")
    adv = r - mean
    if scale != "none":
        adv = adv / (std + EPS)
    return torch.nan_to_num(adv, nan=0.0)


def _grpo_normalize_then_sum(rollout: Rollout, g: int) -> torch.Tensor:
    from trl.trainer.utils import nanstd

    per_func, weights = rollout.rewards_per_func, rollout.reward_weights
    if per_func is None or weights is None:
        raise ValueError("normalize_then_sum needs rewards_per_func and reward_weights in the rollout")
    k = per_func.shape[1]
    grouped = per_func.view(-1, g, k)
    mean_k = torch.nanmean(grouped, dim=1, keepdim=True)
    std_k = nanstd(grouped, dim=1, keepdim=True) if g > 1 else torch.zeros_like(mean_k)
    reward_k = ((grouped - mean_k) / (std_k + EPS)).view(-1, k)
    rewards = (reward_k * weights.to(reward_k.device).unsqueeze(0)).nansum(dim=1)
    rewards[~rollout.scorable] = torch.nan
    std = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    return torch.nan_to_num((rewards - torch.nanmean(rewards)) / (std + EPS), nan=0.0)


@estimator("dr_grpo", min_group_size=2, loss_type="dr_grpo")
def dr_grpo(rollout: Rollout) -> torch.Tensor:
    """Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): ``A_i = r_i - mean_{g(i)} r``.

    GRPO without its two biases: no division by the group's std (which up-weights prompts that are almost
    always right or wrong) and no division by each completion's length in the loss (which favours long wrong
    answers): the run uses TRL's ``loss_type=dr_grpo``, a sum over tokens divided by N * max_completion_length.
    """
    r = rollout.rewards
    return torch.nan_to_num(r - _group_mean(r, rollout.group_ids), nan=0.0)


@estimator("ppo", critic=True, reference=True)
def ppo(rollout: Rollout) -> Estimate:
    """PPO's advantages (Schulman et al. 2017; Ouyang et al. 2022): a learned critic V and GAE.

    ``r_t = -beta * (log pi(y_t) - log pi_ref(y_t)) + [t = T_i] r_i``,
    ``delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)`` (V = 0 after T_i), ``A_t = sum_l (gamma*lam)^l delta_{t+l}``,
    returns ``R_t = A_t + V(s_t)`` (the critic's targets); A is whitened over the batch's valid tokens
    (``whiten_advantages``). Knobs: ``beta``, ``gamma`` (1), ``lam`` (0.95).
    """
    if rollout.values is None:
        raise ValueError("ppo needs the critic's values (rollout.values); run it with --algo ppo through r1lite train")
    mask, valid = rollout.mask, rollout.token_mask()
    rule = torch.nan_to_num(rollout.rewards.float(), nan=0.0)
    rewards, kl = _kl_rewards(rollout, rule)
    values = rollout.values.float() * mask.to(torch.float32)
    adv, returns = gae(rewards, values, mask, float(rollout.knob("gamma", 1.0)), float(rollout.knob("lam", 0.95)))
    final = whiten(adv, valid) if rollout.knob("whiten_advantages", True) else adv * valid
    return Estimate(advantages=final, returns=returns, kl=kl if rollout.ref_logps is not None else None,
                    metrics={"advantages_raw_mean": float(masked_mean(adv, valid))})


def _kl_rewards(rollout: Rollout, rule: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``ppo_core.kl_shaped_rewards`` on the rollout (no reference: the rule reward on the last token only)."""
    mask = rollout.mask
    ref = rollout.ref_logps
    logps = rollout.logps
    if ref is not None and logps is None:
        raise ValueError("the rollout has reference log-probs but not the policy's (rollout.logps)")
    zeros = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    return kl_shaped_rewards(rule, logps.float() if ref is not None else zeros,
                             ref.float() if ref is not None else None, mask, float(rollout.knob("beta", 0.0)))
