"""PPO with a critic and GAE on rule rewards, on the same TRL extension points as r1lite's GRPO.

TRL removed its PPOTrainer in 1.13 (and it only took a reward *model*), so r1lite builds PPO on
:class:`r1lite.train.trainer.R1Trainer` (a ``GRPOTrainer``): rollout, rule rewards, logging, checkpoints and recipes
are shared; only the advantages differ. Per rollout:

1. TRL generates and scores the completions (``GRPOTrainer._generate_and_score_completions``).
2. The critic reads V(s_t) for every completion token (this process's rows; gathered for the estimator).
3. The ``ppo`` estimator (:func:`r1lite.algos.estimators.ppo`, all maths in :mod:`r1lite.algos.ppo_core`): per-token
   reward ``-beta * (log pi - log pi_ref)`` plus the weighted rule reward on the last token (the KL is folded
   into the reward, not added to the loss), GAE advantages (whitened over the batch) and returns.
4. The critic takes ``critic_epochs`` passes of the clipped value loss over the rollout (own AdamW, lr and
   clipping), prepared by the policy's accelerator (DDP / FSDP / ZeRO from the same accelerate config).
5. TRL's clipped surrogate trains the policy on the per-token advantages (B, T): its ``_compute_loss``
   broadcasts advantages of shape (B,) or (B, T) the same way. ``beta`` is zeroed inside the loss so the
   reference KL is not counted twice; TRL's ``entropy_coef`` gives the optional entropy bonus.

Any estimator that declares ``critic=True`` (:func:`r1lite.algos.estimator`) runs on this trainer and config.

``beta`` (TRL's field) is the KL coefficient; with ``kl_target`` set it adapts (:class:`AdaptiveKLController`).
The critic is saved in every checkpoint (``checkpoint-N/critic``) and at the end (``output_dir/critic``).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from r1lite.algos import Estimate, Rollout, run_estimator
from r1lite.algos.critic import Critic, CriticError
from r1lite.algos.ppo_core import AdaptiveKLController, explained_variance, masked_mean
from r1lite.train.config import ConfigError, R1Config
from r1lite.train.trainer import R1Trainer

CRITIC_DIR = "critic"
PPO_STATE_FILE = "ppo_state.json"


@dataclass
class PPOConfig(R1Config):
    """R1Config + the critic and GAE. Defaults follow common practice for LLM PPO (see the README's PPO section)."""

    algo: str = field(default="ppo", metadata={"help": "ppo, or another estimator that declares a critic."})
    gamma: float = field(default=1.0, metadata={"help": "Discount. 1: the only real reward is at the end."})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda: bias (0, trust the critic) vs variance (1)."})
    whiten_advantages: bool = field(default=True, metadata={"help": "Whiten advantages over the batch."})
    critic_model: str | None = field(
        default=None, metadata={"help": "Critic backbone (same tokenizer as the policy); default: the policy's model."})
    critic_learning_rate: float | None = field(
        default=None, metadata={"help": "Critic AdamW learning rate; default 10 x learning_rate."})
    critic_max_grad_norm: float = field(default=1.0, metadata={"help": "Critic gradient clipping (0: none)."})
    critic_weight_decay: float = field(default=0.0, metadata={"help": "Critic AdamW weight decay."})
    critic_epochs: int | None = field(
        default=None, metadata={"help": "Critic passes over each rollout; default num_iterations (PPO epochs)."})
    critic_mini_batch_size: int | None = field(
        default=None, metadata={"help": "Rows per critic step; default per_device_train_batch_size."})
    value_clip: float | None = field(
        default=0.2, metadata={"help": "Clip of the value loss around the rollout values (0 disables)."})
    kl_target: float | None = field(
        default=None, metadata={"help": "Adaptive KL: target sequence KL (nats); beta halves/doubles toward it."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.estimator_needs.critic:
            raise ConfigError(f"PPOConfig is for estimators with a critic (ppo), got algo={self.algo!r}")
        self._check_ppo()

    def _check_ppo(self) -> None:
        if not (0.0 <= self.gamma <= 1.0 and 0.0 <= self.lam <= 1.0):
            raise ConfigError(f"gamma and lam must lie in [0, 1], got gamma={self.gamma}, lam={self.lam}")
        if self.critic_learning_rate is None:
            self.critic_learning_rate = 10.0 * self.learning_rate
        if self.critic_learning_rate <= 0:
            raise ConfigError(f"critic_learning_rate must be > 0, got {self.critic_learning_rate}")
        if self.critic_epochs is None:
            self.critic_epochs = int(self.num_iterations)
        if self.critic_epochs < 1:
            raise ConfigError(f"critic_epochs must be >= 1, got {self.critic_epochs}")
        if self.critic_mini_batch_size is not None and self.critic_mini_batch_size < 1:
            raise ConfigError(f"critic_mini_batch_size must be >= 1, got {self.critic_mini_batch_size}")
        if self.value_clip is not None and self.value_clip <= 0:
            self.value_clip = None
        if self.kl_target is not None:
            if self.kl_target <= 0:
                raise ConfigError(f"kl_target must be > 0, got {self.kl_target}")
            if self.beta <= 0:
                raise ConfigError("kl_target (adaptive KL) needs a starting --beta > 0, e.g. --beta 0.05")


class PPOTrainer(R1Trainer):
    """Actor (TRL's clipped surrogate on per-token advantages) + critic (:class:`r1lite.algos.critic.Critic`)."""

    supports_dynamic_sampling = False  # every row carries signal: the baseline is the critic, not the group

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cfg = kwargs.get("args") if "args" in kwargs else (args[2] if len(args) > 2 else None)
        if not isinstance(cfg, PPOConfig):
            raise ConfigError(f"PPOTrainer needs a PPOConfig (got {type(cfg).__name__}); pass --algo ppo")
        super().__init__(*args, **kwargs)
        self.critic = self._build_critic(cfg, kwargs.get("model", args[0] if args else None))
        # prepared on first use by the policy's accelerator: DDP / FSDP / ZeRO from the same accelerate config
        self.critic.attach(self.accelerator, cfg.critic_mini_batch_size or cfg.per_device_train_batch_size)
        self.kl_ctl = AdaptiveKLController(self.beta, cfg.kl_target) if cfg.kl_target else None
        self._critic_updates = 0

    # ------------------------------------------------------------------------------------------------
    # critic
    # ------------------------------------------------------------------------------------------------
    def _build_critic(self, cfg: PPOConfig, model: Any) -> Critic:
        spec = cfg.critic_model or (model if isinstance(model, str) else None)
        if spec is None:
            policy = self.accelerator.unwrap_model(self.model)
            spec = getattr(policy.config, "_name_or_path", None) or cfg.model
        try:
            critic = Critic.from_pretrained(str(spec), dtype=torch.float32, lr=float(cfg.critic_learning_rate),
                                            max_grad_norm=cfg.critic_max_grad_norm,
                                            weight_decay=cfg.critic_weight_decay, device=self.accelerator.device)
            critic.check_vocab(int(self.accelerator.unwrap_model(self.model).config.vocab_size))
        except (CriticError, OSError, ValueError) as exc:
            raise ConfigError(f"critic {spec!r}: {exc}") from exc
        if cfg.disable_dropout:
            from trl.trainer.utils import disable_dropout_in_model

            disable_dropout_in_model(critic.model)
        if getattr(cfg, "activation_checkpointing", False) or getattr(cfg, "gradient_checkpointing", False):
            critic.model.backbone.gradient_checkpointing_enable()
        return critic

    def save_critic(self, out_dir: str) -> None:
        """Critic weights + optimizer + the KL coefficient. Every process calls it (FSDP/ZeRO gather the weights
        and each process writes its optimizer shard); the main process writes the rest."""
        self.critic.save(out_dir, is_main=self.args.should_save)
        if not self.args.should_save:
            return
        state = {"beta": self.beta, "critic_updates": self._critic_updates,
                 "kl_ctl": self.kl_ctl.state_dict() if self.kl_ctl else None}
        with open(os.path.join(out_dir, PPO_STATE_FILE), "w") as f:
            json.dump(state, f)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        super().save_model(output_dir, _internal_call)
        if _internal_call and output_dir and os.path.basename(os.path.normpath(output_dir)).startswith(
                PREFIX_CHECKPOINT_DIR):
            self.save_critic(os.path.join(output_dir, CRITIC_DIR))

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        path = os.path.join(checkpoint, CRITIC_DIR) if checkpoint else None
        if path is None:
            return
        if not os.path.isdir(path):
            raise ConfigError(f"{checkpoint} holds no critic ({CRITIC_DIR}/): it was not written by a PPO run")
        self.critic.load(path)
        state_path = os.path.join(path, PPO_STATE_FILE)
        if os.path.exists(state_path):
            with open(state_path) as f:
                state = json.load(f)
            self.beta = float(state["beta"])
            self._critic_updates = int(state.get("critic_updates", 0))
            if self.kl_ctl and state.get("kl_ctl"):
                self.kl_ctl.load_state_dict(state["kl_ctl"])

    def train(self, *args: Any, **kwargs: Any) -> Any:
        output = super().train(*args, **kwargs)
        self.save_critic(os.path.join(self.args.output_dir, CRITIC_DIR))
        return output

    # ------------------------------------------------------------------------------------------------
    # advantages: the estimator (``--algo ppo``: GAE, r1lite.algos.estimators.ppo) on the critic's values
    # ------------------------------------------------------------------------------------------------
    def _estimate(self, rollout: Rollout, batch: dict[str, Any]) -> Estimate:
        """Critic values for this process's rows -> the estimator on the whole batch -> the critic's step on
        its returns (this process's rows; DDP averages the gradients, FSDP/ZeRO shard them)."""
        cfg: PPOConfig = self.args
        training = self.model.training
        mask = batch["completion_mask"]
        if batch.get("tool_mask") is not None:
            mask = mask * batch["tool_mask"]
        n = mask.shape[0]
        scorable = self._local_rows(rollout.scorable, batch)
        valid = mask * scorable.unsqueeze(1).to(mask.dtype)  # unscorable rows: no value target
        ids = (batch["prompt_ids"], batch["prompt_mask"], batch["completion_ids"], batch["completion_mask"])
        mini = cfg.critic_mini_batch_size or cfg.per_device_train_batch_size
        start = time.perf_counter()
        stats = None
        out: dict[str, Any] = {}

        def estimate(values: torch.Tensor) -> torch.Tensor:
            """values (this process) -> estimator on every process's rows -> this process's returns."""
            out["rollout"] = replace(rollout, values=self._gather_tokens(values * mask))
            out["est"] = run_estimator(self.estimator, out["rollout"], self.algo_name)
            if out["est"].returns is None:
                raise ValueError(f"estimator {self.algo!r} declares a critic but returned no value targets "
                                 "(Estimate.returns)")
            return self._local_rows(out["est"].returns, batch)

        with self._timed("critic"):
            if training and cfg.critic_epochs == 1 and mini >= n:
                # one forward gives the rollout values and the critic's step (see Critic.fit_single_pass)
                _, _, stats = self.critic.fit_single_pass(*ids, estimate, loss_mask=valid)
            else:
                values = self.critic.values(*ids, batch_size=cfg.per_device_train_batch_size) * mask
                returns = estimate(values)
                if training:
                    stats = self.critic.update(*ids, values, returns, clip=cfg.value_clip,
                                               epochs=int(cfg.critic_epochs), mini_batch_size=mini,
                                               seed=int(cfg.seed) + self._critic_updates, loss_mask=valid)
            if training:
                self._critic_updates += 1
        est = out["est"]
        if training:
            self._log_critic(out["rollout"], est, stats, time.perf_counter() - start)
        return est

    def _log_critic(self, rollout: Rollout, est: Estimate, stats: Any, seconds: float) -> None:
        """Value and return statistics over every process's valid tokens (the rollout is already gathered)."""
        values, valid = rollout.values, rollout.token_mask()
        self.log_metric("ppo/value_mean", float(masked_mean(values, valid)))
        self.log_metric("ppo/returns_mean", float(masked_mean(est.returns, valid)))
        ev = explained_variance(values, est.returns, valid)
        if math.isfinite(ev):  # undefined when the returns do not vary
            self.log_metric("ppo/explained_variance", ev)
        if stats is not None:
            self.log_metric("ppo/value_loss", stats.value_loss)
            self.log_metric("ppo/value_clipfrac", stats.clipfrac)
            self.log_metric("ppo/critic_grad_norm", stats.grad_norm)
        self.log_metric("time/critic", seconds)
        self.log_metric("ppo/beta", self.beta)

    def _log_estimate(self, est: Estimate, rollout: Rollout) -> float | None:
        kl_seq = super()._log_estimate(est, rollout)
        if kl_seq is not None and self.kl_ctl is not None:
            self.beta = self.kl_ctl.update(kl_seq)  # used from the next rollout on
        return kl_seq
