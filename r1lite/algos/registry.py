"""The advantage-estimator contract and registry.

An estimator is a small pure function ``fn(rollout: Rollout) -> Tensor | Estimate``: it turns one rollout
(rewards per completion, group ids, completion masks and, when it asks for them, critic values and per-token
log-probs) into advantages of shape (N,) (one per completion, broadcast over its tokens by TRL's loss) or
(N, T) (one per token). What it needs from the trainer is declared with :func:`estimator`::

    @estimator("rloo", min_group_size=2)
    def rloo(rollout: Rollout) -> torch.Tensor: ...

Estimators load like reward rules and tasks (:class:`r1lite.registry.Registry`): a registered name, a
``path/to/file.py:fn`` or ``package.module:fn`` spec, or an entry point in the group ``r1lite.estimators``.
The trainer always hands over the *whole* batch (every process's rows, gathered), so baselines and batch
statistics are exact under data parallelism; it slices each process's rows back out afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from r1lite.registry import Registry, RegistryError


@dataclass(frozen=True)
class Needs:
    """What an estimator needs from the trainer (checked before any model loads)."""

    critic: bool = False
    """values (N, T) from a learned critic: the run uses the actor-critic trainer and config (``r1lite.algos.ppo``)"""
    reference: bool = False
    """per-token log-probs of the policy and the reference model: it folds ``-beta * KL`` into the reward,
    so the loss drops its own KL term (with ``beta = 0`` there is no reference and no KL)"""
    min_group_size: int = 1
    """completions per prompt (``num_generations``) its baseline needs; GRPO/RLOO-style baselines need >= 2"""
    loss_type: str | None = None
    """the TRL loss aggregation the method is defined with (Dr. GRPO: ``dr_grpo``, no length normalisation);
    None keeps the config's ``loss_type``"""


@dataclass
class Rollout:
    """One rollout, all processes' rows, in TRL's layout (the G completions of a prompt are adjacent)."""

    rewards: torch.Tensor
    """(N,) weighted sum of the rule rewards per completion; NaN where no rule could score it"""
    group_ids: torch.Tensor
    """(N,) completions of the same prompt share an id"""
    mask: torch.Tensor | None = None
    """(N, T) 1 on the completion tokens that count, 0 on padding"""
    values: torch.Tensor | None = None
    """(N, T) the critic's V(s_t) (estimators that declare ``critic``)"""
    logps: torch.Tensor | None = None
    """(N, T) log pi(token) of the policy that sampled (``reference`` estimators, when beta > 0)"""
    ref_logps: torch.Tensor | None = None
    """(N, T) log pi_ref(token) (``reference`` estimators, when beta > 0)"""
    rewards_per_func: torch.Tensor | None = None
    """(N, K) the raw score of each rule (NaN: rule not applicable)"""
    reward_weights: torch.Tensor | None = None
    """(K,) the rule weights"""
    config: Mapping[str, Any] = field(default_factory=dict)
    """the run's knobs (config fields, e.g. ``beta``, ``gamma``, ``lam``, ``scale_rewards``)"""

    def knob(self, name: str, default: Any = None) -> Any:
        """A config value, ``default`` when the run's config has no such field (or it is None)."""
        value = self.config.get(name)
        return default if value is None else value

    @property
    def scorable(self) -> torch.Tensor:
        """(N,) bool: completions some rule could score. The others get advantage 0 and enter no baseline."""
        return ~torch.isnan(self.rewards)

    def token_mask(self) -> torch.Tensor:
        """(N, T) float mask of the tokens that carry a learning signal: valid tokens of scorable rows."""
        if self.mask is None:
            raise ValueError("this estimator works per token but the rollout has no completion mask")
        return self.mask.to(torch.float32) * self.scorable.to(torch.float32).unsqueeze(1)


@dataclass
class Estimate:
    """An estimator's full answer: advantages plus what an actor-critic or the logs use."""

    advantages: torch.Tensor
    """(N,) or (N, T)"""
    returns: torch.Tensor | None = None
    """(N, T) value targets for the critic"""
    kl: torch.Tensor | None = None
    """(N, T) per-token ``log pi - log pi_ref`` that went into the reward (logged as ``kl``)"""
    metrics: dict[str, float] = field(default_factory=dict)
    """extra scalars, logged as ``<estimator>/<name>``"""


class Estimator(Protocol):
    needs: Needs

    def __call__(self, rollout: Rollout) -> torch.Tensor | Estimate: ...


ESTIMATORS: Registry[Callable[..., Any]] = Registry("advantage estimator", "r1lite.estimators",
                                                    builtins="r1lite.algos.estimators")


def estimator(name: str | None = None, *, critic: bool = False, reference: bool = False, min_group_size: int = 1,
              loss_type: str | None = None, overwrite: bool = False) -> Callable[[Callable], Callable]:
    """Record what ``fn`` needs (:class:`Needs`) and, given a ``name``, register it (``--algo name``).

    A plug-in loaded by spec (``--algo my_file.py:fn``) needs no name: the spec finds it.
    """
    needs = Needs(critic=critic, reference=reference, min_group_size=min_group_size, loss_type=loss_type)
    if min_group_size < 1:
        raise ValueError(f"estimator {name!r}: min_group_size must be >= 1, got {min_group_size}")

    def deco(fn: Callable) -> Callable:
        fn.needs = needs  # type: ignore[attr-defined]
        return fn if name is None else ESTIMATORS.register(name, overwrite=overwrite)(fn)

    return deco


def get_estimator(spec: str) -> Estimator:
    """The estimator named ``spec`` (or loaded from ``file.py:fn`` / ``module:fn``), with its :class:`Needs`."""
    fn = ESTIMATORS.get(spec)
    if not callable(fn):
        raise RegistryError(f"advantage estimator {spec!r} is not callable (got {type(fn).__name__}); it must be "
                            "a function rollout -> advantages")
    if not isinstance(getattr(fn, "needs", None), Needs):
        try:
            fn.needs = Needs()  # a plain function: needs nothing beyond rewards, groups and masks
        except AttributeError as exc:
            raise RegistryError(f"advantage estimator {spec!r}: cannot record its needs ({exc}); decorate it with "
                                "@r1lite.algos.estimator") from exc
    return fn  # type: ignore[return-value]


def needs_of(spec: str) -> Needs:
    return get_estimator(spec).needs


def estimator_name(spec: str) -> str:
    """A short name for logs, labels and folders: ``grpo`` -> ``grpo``, ``my/est.py:fn`` -> ``fn``."""
    return spec.rsplit(":", 1)[-1].rsplit(".", 1)[-1] if ":" in spec else spec


def list_estimators() -> list[str]:
    return ESTIMATORS.names()


def run_estimator(fn: Estimator, rollout: Rollout, name: str = "estimator") -> Estimate:
    """Call ``fn`` and check its answer: shape (N,) or (N, T) as the mask, finite, float.

    A plug-in's mistake surfaces here as one line naming the estimator, not deep inside TRL's loss.
    """
    out = fn(rollout)
    est = out if isinstance(out, Estimate) else Estimate(advantages=out)
    adv = est.advantages
    n = rollout.rewards.shape[0]
    if not isinstance(adv, torch.Tensor):
        raise TypeError(f"advantage estimator {name!r} returned {type(out).__name__}; return a tensor of shape "
                        f"({n},) or ({n}, T), or an Estimate")
    shapes = [(n,)] + ([tuple(rollout.mask.shape)] if rollout.mask is not None else [])
    if tuple(adv.shape) not in shapes:
        raise ValueError(f"advantage estimator {name!r} returned shape {tuple(adv.shape)}; expected one of "
                         f"{' or '.join(map(str, shapes))} (one per completion or one per token)")
    if not torch.isfinite(adv).all():
        raise ValueError(f"advantage estimator {name!r} returned NaN/inf advantages; give unscorable completions "
                         "(NaN rewards, see Rollout.scorable) advantage 0")
    est.advantages = adv.float()
    return est
