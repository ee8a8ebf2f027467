"""PPO with a critic and GAE on rule rewards, on the same TRL extension points as r1lite's GRPO.

TRL removed its PPOTrainer in 1.13 (and it only took a reward *model*), so r1lite builds PPO on
:class:`r1lite.trainer.R1Trainer` (a ``GRPOTrainer``): rollout, rule rewards, logging, checkpoints and recipes
are shared; only the advantages differ. Per rollout:

1. TRL generates and scores the completions (``GRPOTrainer._generate_and_score_completions``).
2. The critic reads V(s_t) for every completion token; the per-token reward is
   ``-beta * (log pi - log pi_ref)`` on every token plus the weighted rule reward on the last one
   (the KL is folded into the reward, not added to the loss).
3. GAE over the valid tokens gives advantages (whitened over the batch) and returns.
4. The critic takes ``critic_epochs`` passes of the clipped value loss over the rollout (own AdamW, lr, clip).
5. TRL's clipped surrogate trains the policy on the per-token advantages (B, T): its ``_compute_loss``
   broadcasts advantages of shape (B,) or (B, T) the same way. ``beta`` is zeroed inside the loss so the
   reference KL is not counted twice; TRL's ``entropy_coef`` gives the optional entropy bonus.

``beta`` (TRL's field) is the KL coefficient; with ``kl_target`` set it adapts (:class:`AdaptiveKLController`).
The critic is saved in every checkpoint (``checkpoint-N/critic``) and at the end (``output_dir/critic``).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer

from r1lite.config import ConfigError, R1Config
from r1lite.critic import Critic, CriticError
from r1lite.ppo_core import AdaptiveKLController, gae, kl_shaped_rewards
from r1lite.trainer import R1Trainer

CRITIC_DIR = "critic"
PPO_STATE_FILE = "ppo_state.json"


class _GroupSize(int):
    """``num_generations`` while TRL validates the config: GRPOConfig insists on >= 2 because GRPO's baseline is
    the group mean; PPO's baseline is the critic, so a group of 1 is fine. Only ``<`` is changed, and the plain
    int is put back right after validation."""

    def __lt__(self, other: object) -> bool:
        return False


@dataclass
class PPOConfig(R1Config):
    """R1Config + the critic and GAE. Defaults follow common practice for LLM PPO (see the README's PPO section)."""

    algo: str = field(default="ppo", metadata={"help": "ppo (this config class is only used for algo=ppo)."})
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
        if self.algo != "ppo":
            raise ConfigError(f"PPOConfig is for algo=ppo, got algo={self.algo!r}")
        single = self.num_generations == 1
        if single:
            self.num_generations = _GroupSize(1)
        try:
            super().__post_init__()
        finally:
            if single:
                self.num_generations = 1
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
    """Actor (TRL's clipped surrogate on per-token advantages) + critic (:class:`r1lite.critic.Critic`)."""

    supports_dynamic_sampling = False  # every row carries signal: the baseline is the critic, not the group

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cfg = kwargs.get("args") if "args" in kwargs else (args[2] if len(args) > 2 else None)
        if not isinstance(cfg, PPOConfig):
            raise ConfigError(f"PPOTrainer needs a PPOConfig (got {type(cfg).__name__}); pass --algo ppo")
        super().__init__(*args, **kwargs)
        self.critic = self._build_critic(cfg, kwargs.get("model", args[0] if args else None))
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
        critic.autocast = self.accelerator.autocast
        if cfg.disable_dropout:
            from trl.trainer.utils import disable_dropout_in_model

            disable_dropout_in_model(critic.model)
        if getattr(cfg, "activation_checkpointing", False) or getattr(cfg, "gradient_checkpointing", False):
            critic.model.backbone.gradient_checkpointing_enable()
        return critic

    def save_critic(self, out_dir: str) -> None:
        """Critic weights + optimizer + the KL coefficient (main process only)."""
        if not self.args.should_save:
            return
        self.critic.save(out_dir)
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
    # loss: TRL's clipped surrogate; the reference KL already sits in the rewards
    # ------------------------------------------------------------------------------------------------
    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        beta, self.beta = self.beta, 0.0
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self.beta = beta

    # ------------------------------------------------------------------------------------------------
    # rollout: TRL's generation and scoring, then critic + GAE advantages
    # ------------------------------------------------------------------------------------------------
    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        batch = GRPOTrainer._generate_and_score_completions(self, inputs)
        batch = self._ppo_advantages(batch)
        return self._postprocess_rollout(batch, inputs)

    def _local_rule_rewards(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's weighted rule rewards (NaN-free) and which rows any rule could score."""
        per_func = self.last_rewards_per_func
        if per_func is None:
            raise RuntimeError("no rewards recorded for this rollout (R1Trainer._calculate_rewards was bypassed)")
        start = self.accelerator.process_index * n
        per_func = per_func[start:start + n].to(self.accelerator.device)
        scorable = ~torch.isnan(per_func).all(dim=1)
        weights = self.reward_weights.to(per_func.device)
        rewards = (per_func * weights.unsqueeze(0)).nansum(dim=1)
        return torch.where(scorable, rewards, torch.zeros_like(rewards)).float(), scorable

    def _policy_logps(self, batch: dict[str, Any]) -> torch.Tensor:
        """Log-probs of the rollout under the current policy (TRL's when it computed them, else one no-grad pass)."""
        if batch.get("old_per_token_logps") is not None:
            return batch["old_per_token_logps"]
        from trl.models.utils import disable_gradient_checkpointing

        ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attn = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            logps, _, _ = self._get_per_token_logps_and_entropies(
                self.model, ids, attn, batch["completion_ids"].shape[1],
                batch_size=self.args.per_device_train_batch_size)
        return logps

    def _ppo_advantages(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Replace TRL's group advantages with per-token GAE advantages (B, T); train the critic on the rollout."""
        cfg: PPOConfig = self.args
        training = self.model.training
        mask = batch["completion_mask"]
        if batch.get("tool_mask") is not None:
            mask = mask * batch["tool_mask"]
        n = mask.shape[0]
        rule, scorable = self._local_rule_rewards(n)
        ref_logps = batch.pop("ref_per_token_logps", None)  # the loss never needs it: KL sits in the rewards
        logps = self._policy_logps(batch) if ref_logps is not None else None

        valid = mask * scorable.unsqueeze(1).to(mask.dtype)  # unscorable rows: no advantage, no value target
        zeros = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
        rewards, kl = kl_shaped_rewards(rule, logps.float() if logps is not None else zeros,
                                        ref_logps.float() if ref_logps is not None else None, mask, self.beta)
        ids = (batch["prompt_ids"], batch["prompt_mask"], batch["completion_ids"], batch["completion_mask"])
        mini = cfg.critic_mini_batch_size or cfg.per_device_train_batch_size
        start = time.perf_counter()
        stats = None
        with self._timed("critic"):
            if training and cfg.critic_epochs == 1 and mini >= n:
                # one forward gives the rollout values and the critic's step (see Critic.fit_single_pass)
                out: dict[str, torch.Tensor] = {}

                def targets(values: torch.Tensor) -> torch.Tensor:
                    out["advantages"], returns = gae(rewards, values * mask, mask, cfg.gamma, cfg.lam)
                    return returns

                values, returns, stats = self.critic.fit_single_pass(*ids, targets, loss_mask=valid)
                values, advantages = values * mask, out["advantages"]
            else:
                values = self.critic.values(*ids, batch_size=cfg.per_device_train_batch_size) * mask
                advantages, returns = gae(rewards, values, mask, cfg.gamma, cfg.lam)
                if training:
                    stats = self.critic.update(*ids, values, returns, clip=cfg.value_clip,
                                               epochs=int(cfg.critic_epochs), mini_batch_size=mini,
                                               seed=int(cfg.seed) + self._critic_updates, loss_mask=valid)
            if training:
                self._critic_updates += 1
        if cfg.whiten_advantages:
            batch["advantages"] = self._whiten_global(advantages, valid)
        else:
            batch["advantages"] = advantages * valid
        self._replace_logged_advantages(batch["advantages"], valid)
        if training:
            self._log_ppo(values, returns, advantages, kl, valid, ref_logps is not None, stats,
                          time.perf_counter() - start)
        return batch

    def _replace_logged_advantages(self, advantages: torch.Tensor, valid: torch.Tensor) -> None:
        """samples.jsonl shows TRL's group advantage per completion; for PPO show each row's mean token advantage."""
        per_row = (advantages * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)
        rows = self.accelerator.gather(per_row.detach().float()).tolist()
        logged = self._logs["advantages"]
        if len(logged) >= len(rows):
            for i, value in enumerate(rows):
                logged[len(logged) - len(rows) + i] = value

    # ------------------------------------------------------------------------------------------------
    # cross-process statistics and logging
    # ------------------------------------------------------------------------------------------------
    def _global_moments(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[float, float, float]:
        """(count, mean, variance) of ``x`` over the valid tokens of every process."""
        m = mask.to(x.dtype)
        local = torch.stack([m.sum(), (x * m).sum(), (x * x * m).sum()])
        total = self.accelerator.reduce(local, reduction="sum") if self.accelerator.num_processes > 1 else local
        count, s, sq = (float(v) for v in total.tolist())
        if count <= 0:
            return 0.0, 0.0, 0.0
        mean = s / count
        var = max(sq / count - mean * mean, 0.0) * (count / (count - 1) if count > 1 else 1.0)
        return count, mean, var

    def _whiten_global(self, x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
        """Whitening over the whole batch (all processes); padding and unscorable rows stay 0."""
        _, mean, var = self._global_moments(x, mask)
        return (x - mean) / math.sqrt(var + eps) * mask.to(x.dtype)

    def _log_ppo(self, values: torch.Tensor, returns: torch.Tensor, advantages: torch.Tensor, kl: torch.Tensor,
                 valid: torch.Tensor, has_ref: bool, stats: Any, seconds: float) -> None:
        _, v_mean, _ = self._global_moments(values, valid)
        _, r_mean, r_var = self._global_moments(returns, valid)
        _, _, err_var = self._global_moments(returns - values, valid)
        _, a_mean, _ = self._global_moments(advantages, valid)
        self.log_metric("ppo/value_mean", v_mean)
        self.log_metric("ppo/returns_mean", r_mean)
        self.log_metric("ppo/advantages_raw_mean", a_mean)
        if r_var > 1e-12:  # undefined when the returns do not vary
            self.log_metric("ppo/explained_variance", 1.0 - err_var / r_var)
        if stats is not None:
            self.log_metric("ppo/value_loss", stats.value_loss)
            self.log_metric("ppo/value_clipfrac", stats.clipfrac)
            self.log_metric("ppo/critic_grad_norm", stats.grad_norm)
        self.log_metric("time/critic", seconds)
        self.log_metric("ppo/beta", self.beta)
        if has_ref:
            rows = valid.any(dim=1).to(kl.dtype)
            _, kl_token, _ = self._global_moments(kl, valid)
            _, kl_seq, _ = self._global_moments(kl.sum(dim=1, keepdim=True), rows.unsqueeze(1))
            self.log_metric("kl", kl_token)  # per token (the metrics table's KL column)
            self.log_metric("ppo/kl_seq", kl_seq)
            if self.kl_ctl is not None:
                self.beta = self.kl_ctl.update(kl_seq)
