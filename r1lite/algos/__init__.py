"""Advantage estimators (``--algo NAME``): REINFORCE, RLOO, REINFORCE++, GRPO, Dr. GRPO, PPO and plug-ins.

``registry`` holds the contract (:class:`Rollout` in, advantages or :class:`Estimate` out, :class:`Needs`)
and the registry; ``estimators`` the built-ins. Write your own with ``@estimator("name")`` or load it as
``path/to/file.py:fn``, ``package.module:fn`` or an entry point in the group ``r1lite.estimators``.

PPO lives here too: ``ppo_core`` (the one place for PPO maths: KL-shaped rewards, GAE, whitening, value
loss; pure torch), ``critic`` (the value model) and ``ppo`` (the PPO trainer on r1lite's GRPO trainer).
``ppo_core`` imports neither TRL nor transformers; only ``ppo`` may import ``r1lite.train``.
"""

from r1lite.algos.estimators import group_size
from r1lite.algos.registry import (
    ESTIMATORS,
    Estimate,
    Estimator,
    Needs,
    Rollout,
    estimator,
    estimator_name,
    get_estimator,
    list_estimators,
    needs_of,
    run_estimator,
)

BUILTINS = ("reinforce", "rloo", "reinforce_pp", "grpo", "dr_grpo", "ppo")

__all__ = [
    "BUILTINS",
    "ESTIMATORS",
    "Estimate",
    "Estimator",
    "Needs",
    "Rollout",
    "estimator",
    "estimator_name",
    "get_estimator",
    "group_size",
    "list_estimators",
    "needs_of",
    "run_estimator",
]
