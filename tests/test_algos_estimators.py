"""Advantage estimators against hand-worked examples; the registry, plug-ins and input checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from r1lite.algos import BUILTINS, Estimate, Rollout, get_estimator, list_estimators, needs_of, run_estimator
from r1lite.registry import RegistryError

NAN = float("nan")
# two prompts x three completions; the last completion could not be scored by any rule
REWARDS = torch.tensor([1.0, 0.0, 2.0, 3.0, 1.0, NAN])
GROUPS = torch.tensor([0, 0, 0, 1, 1, 1])


def run(name: str, rollout: Rollout) -> torch.Tensor:
    return run_estimator(get_estimator(name), rollout, name).advantages


def close(got: torch.Tensor, want: list) -> None:
    torch.testing.assert_close(got, torch.tensor(want, dtype=torch.float32), rtol=1e-5, atol=1e-6)


def test_every_builtin_is_registered_with_its_needs() -> None:
    assert set(BUILTINS) <= set(list_estimators())
    assert needs_of("ppo").critic and needs_of("ppo").reference
    assert needs_of("reinforce_pp").reference and not needs_of("reinforce_pp").critic
    assert needs_of("rloo").min_group_size == 2 and needs_of("grpo").min_group_size == 2
    assert needs_of("reinforce").min_group_size == 1 and needs_of("dr_grpo").loss_type == "dr_grpo"


def test_reinforce_batch_mean_baseline() -> None:
    # scorable rewards 1, 0, 2, 3, 1: mean 7/5 = 1.4; the unscorable row gets 0
    close(run("reinforce", Rollout(REWARDS, GROUPS)), [-0.4, -1.4, 0.6, 1.6, -0.4, 0.0])


def test_rloo_leave_one_out() -> None:
    # group 0: baselines (0+2)/2 = 1, (1+2)/2 = 1.5, (1+0)/2 = 0.5 -> 0, -1.5, 1.5
    # group 1 (third row unscorable): each row's baseline is the other scorable row -> 3-1 = 2, 1-3 = -2, 0
    close(run("rloo", Rollout(REWARDS, GROUPS)), [0.0, -1.5, 1.5, 2.0, -2.0, 0.0])
    # a group with a single scorable completion has no leave-one-out baseline: 0
    close(run("rloo", Rollout(torch.tensor([5.0, NAN]), torch.tensor([0, 0]))), [0.0, 0.0])


def test_dr_grpo_group_mean_no_std() -> None:
    # group means 1 and 2 (over scorable rows)
    close(run("dr_grpo", Rollout(REWARDS, GROUPS)), [0.0, -1.0, 1.0, 1.0, -1.0, 0.0])


@pytest.mark.parametrize("scale, want", [
    # group: std(1, 0, 2) = 1 and std(3, 1) = sqrt(2) (Bessel), plus TRL's 1e-4
    ("group", [0.0, -1 / 1.0001, 1 / 1.0001, 1 / (math.sqrt(2) + 1e-4), -1 / (math.sqrt(2) + 1e-4), 0.0]),
    # batch: std of 1, 0, 2, 3, 1 = sqrt(5.2 / 4) = sqrt(1.3)
    ("batch", [x / (math.sqrt(1.3) + 1e-4) for x in (0.0, -1.0, 1.0, 1.0, -1.0)] + [0.0]),
    ("none", [0.0, -1.0, 1.0, 1.0, -1.0, 0.0]),
])
def test_grpo_group_mean_and_std(scale: str, want: list) -> None:
    close(run("grpo", Rollout(REWARDS, GROUPS, config={"scale_rewards": scale})), want)


def test_grpo_normalize_then_sum() -> None:
    # two prompts x two completions, two rules weighted 1 and 0.5. Per rule and group: (x - mean) / (std + 1e-4):
    # rule 1 in group 0 is (1, 0) -> +-0.5 / (sqrt(0.5) + 1e-4); rule 2 in group 1 is (1, 0) -> same, weight 0.5;
    # constant rules give 0. Sums: a, -a, a/2, -a/2 with a = 0.5 / (sqrt(0.5) + 1e-4); batch std (Bessel):
    # sqrt((2a^2 + 2(a/2)^2) / 3); the batch mean is 0.
    per_func = torch.tensor([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    a = 0.5 / (math.sqrt(0.5) + 1e-4)
    std = math.sqrt((2 * a * a + 2 * (a / 2) ** 2) / 3)
    rewards = (per_func * torch.tensor([1.0, 0.5])).sum(1)
    rollout = Rollout(rewards, torch.tensor([0, 0, 1, 1]), rewards_per_func=per_func,
                      reward_weights=torch.tensor([1.0, 0.5]),
                      config={"multi_objective_aggregation": "normalize_then_sum"})
    close(run("grpo", rollout), [x / (std + 1e-4) for x in (a, -a, a / 2, -a / 2)])


def test_reinforce_pp_kl_in_reward_and_batch_normalised_returns() -> None:
    # beta = 0.5, gamma = 1. KL = logp - ref: row 0 (0.2, 0, -0.2), row 1 (0.4, 0.2, padding).
    # token rewards: row 0 (-0.1, 0, 0.1 + 1) ; row 1 (-0.2, -0.1 + 0)  (rule rewards 1 and 0 on the last token)
    # returns (sum to the end): row 0 (1.0, 1.1, 1.1); row 1 (-0.3, -0.1)
    # over the 5 valid tokens: mean 0.56, var (0.44^2 + 2 * 0.54^2 + 0.86^2 + 0.66^2) / 4 = 0.488
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    logps = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, 0.0]])
    ref = torch.tensor([[-1.2, -2.0, -2.8], [-1.4, -1.2, 0.0]])
    rollout = Rollout(torch.tensor([1.0, 0.0]), torch.tensor([0, 1]), mask=mask, logps=logps, ref_logps=ref,
                      config={"beta": 0.5, "gamma": 1.0})
    est = run_estimator(get_estimator("reinforce_pp"), rollout, "reinforce_pp")
    std = math.sqrt(0.488)
    close(est.advantages, [[0.44 / std, 0.54 / std, 0.54 / std], [-0.86 / std, -0.66 / std, 0.0]])
    close(est.kl, [[0.2, 0.0, -0.2], [0.4, 0.2, 0.0]])
    # no reference (beta 0): the return is the rule reward on every token, normalised over the batch's tokens
    plain = run("reinforce_pp", Rollout(torch.tensor([1.0, 0.0]), torch.tensor([0, 1]), mask=mask))
    # tokens 1, 1, 1, 0, 0: mean 0.6, std sqrt(1.2 / 4)
    s = math.sqrt(0.3)
    close(plain, [[0.4 / s, 0.4 / s, 0.4 / s], [-0.6 / s, -0.6 / s, 0.0]])


def test_ppo_gae_and_whitening() -> None:
    # the hand-worked GAE of test_ppo_core (gamma 1, lambda 0.5), with the rule rewards on the last valid token:
    # advantages (-0.05, 0.5, 0.6) and (0.25, 1.5); returns (0.45, 0.7, 1.0) and (1.25, 2.0)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    values = torch.tensor([[0.5, 0.2, 0.4], [1.0, 0.5, 7.0]])
    cfg = {"gamma": 1.0, "lam": 0.5, "whiten_advantages": False}
    rollout = Rollout(torch.tensor([1.0, 2.0]), torch.tensor([0, 1]), mask=mask, values=values, config=cfg)
    est = run_estimator(get_estimator("ppo"), rollout, "ppo")
    close(est.advantages, [[-0.05, 0.5, 0.6], [0.25, 1.5, 0.0]])
    close(est.returns, [[0.45, 0.7, 1.0], [1.25, 2.0, 0.0]])
    assert est.kl is None  # no reference model
    # whitened: mean 2.8 / 5 = 0.56, var (0.61^2 + 0.06^2 + 0.04^2 + 0.31^2 + 0.94^2) / 4 = 0.33925
    white = run("ppo", Rollout(rollout.rewards, rollout.group_ids, mask=mask, values=values,
                               config={"gamma": 1.0, "lam": 0.5}))
    s = math.sqrt(0.33925)
    close(white, [[-0.61 / s, -0.06 / s, 0.04 / s], [-0.31 / s, 0.94 / s, 0.0]])
    # an unscorable row gets no advantage and stays out of the statistics: row 0 alone, mean 0.35, std 0.35
    one = run("ppo", Rollout(torch.tensor([1.0, NAN]), rollout.group_ids, mask=mask, values=values,
                             config={"gamma": 1.0, "lam": 0.5}))
    close(one, [[-8 / 7, 3 / 7, 5 / 7], [0.0, 0.0, 0.0]])


def test_ppo_without_values_fails_clearly() -> None:
    with pytest.raises(ValueError, match="critic's values"):
        run("ppo", Rollout(torch.tensor([1.0]), torch.tensor([0]), mask=torch.ones(1, 2)))


def test_group_estimators_reject_scattered_groups() -> None:
    with pytest.raises(ValueError, match="adjacent blocks"):
        run("rloo", Rollout(torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([0, 1, 0, 1])))


PLUGIN = '''
import torch

def sign_of_reward(rollout):
    """A_i = +1 for a positive reward, -1 otherwise."""
    return torch.where(rollout.rewards > 0, 1.0, -1.0)

def wrong_shape(rollout):
    return torch.zeros(3, 3, 3)

def nan_out(rollout):
    return rollout.rewards
'''


def test_plugins_from_file_and_module_and_bad_answers(tmp_path: Path) -> None:
    path = tmp_path / "my_est.py"
    path.write_text(PLUGIN)
    fn = get_estimator(f"{path}:sign_of_reward")
    assert fn.needs.min_group_size == 1 and not fn.needs.critic  # a plain function needs nothing more
    close(run(f"{path}:sign_of_reward", Rollout(torch.tensor([2.0, -1.0]), torch.tensor([0, 0]))), [1.0, -1.0])
    assert get_estimator("r1lite.algos.estimators:rloo") is get_estimator("rloo")
    with pytest.raises(ValueError, match="wrong_shape.*returned shape"):
        run(f"{path}:wrong_shape", Rollout(torch.tensor([1.0]), torch.tensor([0])))
    with pytest.raises(ValueError, match="NaN/inf"):
        run(f"{path}:nan_out", Rollout(torch.tensor([NAN]), torch.tensor([0])))
    with pytest.raises(RegistryError, match="unknown advantage estimator 'rlooo'.*Available: dr_grpo"):
        get_estimator("rlooo")
    with pytest.raises(RegistryError, match="not found"):
        get_estimator(f"{tmp_path}/missing.py:fn")


def test_estimate_is_passed_through() -> None:
    def const(rollout: Rollout) -> Estimate:
        return Estimate(advantages=torch.ones(2), metrics={"x": 1.0})

    est = run_estimator(const, Rollout(torch.tensor([0.0, 1.0]), torch.tensor([0, 0])))
    assert est.metrics == {"x": 1.0} and est.advantages.dtype == torch.float32
