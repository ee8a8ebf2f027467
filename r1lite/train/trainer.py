"""``R1Trainer``: TRL's ``GRPOTrainer`` plus dynamic sampling, phase timings and atomic checkpoints.

TRL's loop is used as is; r1lite only hooks into it at documented points.

Extension points (the PPO trainer, ``r1lite.algos.ppo``, builds on the same ones):

* ``_generate_and_score_completions(inputs)``: TRL generates and scores (``_calculate_rewards``); r1lite
  then replaces TRL's group advantages with the ``--algo`` estimator's (:meth:`R1Trainer._compute_advantages`,
  :mod:`r1lite.algos`) and calls :meth:`R1Trainer._postprocess_rollout` (dynamic sampling + refill). An
  actor-critic subclass overrides :meth:`R1Trainer._estimate` to supply values and train its critic; it sets
  ``supports_dynamic_sampling = False`` when zero-advantage rows still carry signal for it.
* ``_compute_loss(model, inputs)``: TRL's clipped surrogate accepts advantages of shape (B,) or (B, T) (it
  unsqueezes (B,)); r1lite zeroes the loss's KL term for estimators that put the KL in the reward.
* ``self.last_rewards_per_func``: the (global, gathered) (N, num_rules) reward matrix of the latest rollout,
  in rule order ``self.reward_func_names``; ``self.log_metric(name, value)`` adds a per-step metric.

Phases timed every step (seconds, logged as ``time/<phase>``): ``generation``, ``scoring``, ``logprobs``
(no-grad old/ref log-probs) and ``update`` (forward + backward of the loss).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import warnings
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer

from r1lite.train.difficulty import DifficultyPool

STAGING_DIR = ".staging"
STATE_FILE = "r1lite_state.json"
#: phases timed every step, logged as ``time/<phase>``
PHASES = ("generation", "weight_sync", "scoring", "logprobs", "update", "dynamic_sampling")


class R1Trainer(GRPOTrainer):
    """GRPO on rule rewards. See the module docstring for what it adds and where subclasses hook in."""

    supports_dynamic_sampling: bool = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with _r1_vllm_generation(kwargs.get("args") if "args" in kwargs else args[2]):
            super().__init__(*args, **kwargs)
        self.last_rewards_per_func: torch.Tensor | None = None
        self._cov_inputs: dict[str, Any] | None = None
        self._cov_generator: torch.Generator | None = None
        self.difficulty = DifficultyPool(self.args, self.num_generations)
        self._phase: dict[str, float] = {}
        self._staging = False
        self._refill_cursor = 0
        self._refill_order: list[int] | None = None
        self._loss_inputs: dict[str, Any] | None = None
        from r1lite.algos import estimator_name, get_estimator

        self.algo = str(getattr(self.args, "algo", "grpo") or "grpo")
        self.estimator = get_estimator(self.algo)
        self.algo_name = estimator_name(self.algo)
        self.diagnostics, self._label_columns = _default_diagnostics(self)  # r1lite.train.diagnostics
        narrow_cpu_logprob_tiles(self.accelerator.device)
        if self.use_vllm and self.vllm_mode == "server":
            from r1lite.rollout.server import attach_trainer

            attach_trainer(self)

    # ------------------------------------------------------------------------------------------------
    # small helpers
    # ------------------------------------------------------------------------------------------------
    def log_metric(self, name: str, value: float, mode: str | None = None) -> None:
        """Append one value to a metric averaged at the next log (TRL's own mechanism)."""
        mode = mode or ("train" if self.model.training else "eval")
        self._metrics[mode][name].append(float(value))

    @contextmanager
    def _timed(self, phase: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self._phase[phase] = self._phase.get(phase, 0.0) + time.perf_counter() - start

    @property
    def dynamic_sampling_active(self) -> bool:
        """Dropping is exact only when a zero-advantage row has zero gradient: no KL term, GRPO advantages."""
        return (bool(getattr(self.args, "dynamic_sampling", False)) and self.supports_dynamic_sampling
                and self.beta == 0.0 and self.model.training)

    # ------------------------------------------------------------------------------------------------
    # timing hooks (thin wrappers around TRL's methods)
    # ------------------------------------------------------------------------------------------------
    def _generate(self, prompts: list):
        synced = self._phase.get("weight_sync", 0.0)
        self._length_hit = None
        with self._timed("generation"):
            out = super()._generate(prompts)
        self._phase["generation"] -= self._phase.get("weight_sync", 0.0) - synced  # timed on its own
        self._fix_clipped_metrics(out[1])
        return out

    # ------------------------------------------------------------------------------------------------
    # truncation: a completion that ended at a stop string or EOS is not truncated
    # ------------------------------------------------------------------------------------------------
    def truncated_rows(self, completion_ids: list[list[int]]) -> list[bool]:
        """Which completions hit ``max_completion_length`` (ended neither at EOS / pad nor at a stop string).

        TRL 1.16 calls a completion truncated when its last token is not EOS or pad (``_generate`` for
        ``completions/clipped_ratio``, ``_generate_and_score_completions`` for ``mask_truncated_completions``).
        r1lite ends completions right after a stop string (``</answer>``) without an EOS, so by TRL's test every
        well-formatted completion looked truncated. :meth:`_generate_single_turn` records what really stopped
        each completion; rows it did not see (tool turns) fall back to TRL's test.
        """
        hit = getattr(self, "_length_hit", None)
        if hit is not None and len(hit) == len(completion_ids):
            return list(hit)
        ends = self._end_ids
        return [bool(ids) and ids[-1] not in ends for ids in completion_ids]

    @property
    def _end_ids(self) -> set[int]:
        """Token ids that end a completion by themselves (EOS, pad): TRL's test for "not truncated"."""
        return {*self.eos_token_ids, self._tokenizer.pad_token_id}

    def _fix_clipped_metrics(self, completion_ids: list[list[int]]) -> None:
        """Recompute TRL's ``completions/clipped_ratio`` and ``*_terminated_length`` with :meth:`truncated_rows`."""
        mode = "train" if self.model.training else "eval"
        metrics = self._metrics[mode]
        if not metrics.get("completions/clipped_ratio"):
            return
        device = self.accelerator.device
        truncated = self.accelerator.gather(torch.tensor(self.truncated_rows(completion_ids), device=device))
        lengths = self.accelerator.gather(torch.tensor([len(ids) for ids in completion_ids], device=device))
        metrics["completions/clipped_ratio"][-1] = truncated.float().mean().item()
        term = lengths[~truncated].float()
        if term.numel() == 0:
            term = torch.zeros(1, device=device)
        for name, fn in (("mean", torch.mean), ("min", torch.min), ("max", torch.max)):
            key = f"completions/{name}_terminated_length"
            if metrics.get(key):
                metrics[key][-1] = fn(term).item()

    def _mask_truncated(self, batch: dict[str, Any]) -> dict[str, Any]:
        """``mask_truncated_completions`` (DAPO's overlong filtering) on the rows that hit the length limit only."""
        truncated = self.truncated_rows([ids[m.bool()].tolist() for ids, m in zip(
            batch["completion_ids"], batch["completion_mask"], strict=True)])
        keep = (~torch.tensor(truncated, device=batch["completion_mask"].device)).unsqueeze(1).int()
        batch["completion_mask"] = batch["completion_mask"] * keep
        if batch.get("tool_mask") is not None:
            batch["tool_mask"] = batch["tool_mask"] * keep
        batch["num_items_in_batch"] = self._count_loss_tokens(batch)
        return batch

    def sync_weights(self) -> None:
        """Push the policy's current weights into the colocated vLLM engine (once per optimizer step)."""
        if not self.use_vllm or (self.state.global_step == getattr(self, "_last_loaded_step", None)
                                 and self.vllm_generation.holds_my_weights()):
            return
        with self._timed("weight_sync"):
            self.vllm_generation.r1_step = self.state.global_step  # the server's weight version (server mode)
            self.vllm_generation.sync_weights()
        self._last_loaded_step = self.state.global_step

    def sampler(self, batch_size: int = 16) -> Any:
        """A :mod:`r1lite.rollout.generation` backend that samples from the *current* policy: the colocated vLLM engine
        (weights synced first) or, without vLLM, transformers ``generate`` on the training model."""
        from r1lite.rollout.generation import TransformersBackend, VLLMBackend

        if self.use_vllm and self.vllm_mode == "colocate":
            self.sync_weights()
            return VLLMBackend(llm=self.vllm_generation.llm, tokenizer=self._tokenizer)
        if self.use_vllm and self.vllm_mode == "server" and self.accelerator.num_processes == 1:
            from r1lite.rollout.server import ServerBackend

            self.sync_weights()
            return ServerBackend(self.vllm_generation.vllm_client, self._tokenizer)
        model = self.accelerator.unwrap_model(self.model)
        return TransformersBackend.from_model(model, self._tokenizer, batch_size=batch_size)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        with self._timed("scoring"):
            rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self.last_rewards_per_func = rewards.detach()
        return rewards

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any):
        if torch.is_grad_enabled():  # the update's forward: timed by training_step
            out = self._logps_shared_or_trl(*args, **kwargs)
            inputs = self._loss_inputs
            if inputs is not None and "importance_sampling_ratio" not in inputs \
                    and inputs.get("sampling_per_token_logps") is not None:
                inputs["importance_sampling_ratio"] = self._importance_ratio(out[0].detach(), inputs)
            if self._cov_inputs is not None:
                self._apply_clip_cov(out[0].detach(), self._cov_inputs)
            return out
        with self._timed("logprobs"):
            return self._logps_shared_or_trl(*args, **kwargs)

    def _logps_shared_or_trl(self, model, input_ids, attention_mask, logits_to_keep, *args: Any, **kwargs: Any):
        """TRL's log-prob pass, with each distinct prompt run once per batch where that is exact
        (:mod:`r1lite.rollout.prefix_sharing`)."""
        from r1lite.rollout.prefix_sharing import can_share, shared_prefix_logps

        if args or not can_share(self, model, input_ids, logits_to_keep, kwargs):
            return super()._get_per_token_logps_and_entropies(model, input_ids, attention_mask, logits_to_keep,
                                                              *args, **kwargs)
        rows = kwargs.get("batch_size") or input_ids.size(0)
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), rows):  # TRL's chunking, kept for its memory bound
            chunk = slice(start, start + rows)
            with self.accelerator.autocast():
                lp, ent = shared_prefix_logps(model, input_ids[chunk], attention_mask[chunk], logits_to_keep,
                                              compute_entropy=bool(kwargs.get("compute_entropy")))
            logps.append(lp)
            entropies.append(ent)
        return torch.cat(logps), (torch.cat(entropies) if kwargs.get("compute_entropy") else None), None

    # ------------------------------------------------------------------------------------------------
    # vLLM importance sampling from the update's own forward (no separate no-grad log-prob pass)
    # ------------------------------------------------------------------------------------------------
    @property
    def fused_importance_sampling(self) -> bool:
        """TRL corrects the sampler/trainer mismatch with a ratio against "old" log-probs from an extra no-grad
        forward pass. When no optimizer step separates sampling from the update (one iteration, generation
        aligned with gradient accumulation), those equal the update's own forward, detached: r1lite then takes
        them from there and skips the pass (``fused_logprobs``)."""
        a = self.args
        return bool(self.use_vllm and getattr(a, "fused_logprobs", False) and self.loss_type != "vespo"
                    and self.num_iterations == 1 and a.gradient_accumulation_steps % a.steps_per_generation == 0)

    def _compute_loss(self, model, inputs):
        clip_cov = float(getattr(self.args, "clip_cov_ratio", 0.0) or 0.0) > 0 and self.model.training
        self._cov_inputs = dict(inputs) if clip_cov else None  # the loss reads advantages after the forward
        if clip_cov:
            inputs = self._cov_inputs
        self._loss_inputs = inputs if self.fused_importance_sampling and self.vllm_importance_sampling_correction \
            else None
        beta = self.beta
        if self.estimator.needs.reference:  # the KL already sits in the rewards: not counted twice
            self.beta = 0.0
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self._loss_inputs = None
            self._cov_inputs = None
            self.beta = beta

    def _apply_clip_cov(self, logps: torch.Tensor, inputs: dict[str, Any]) -> None:
        """Clip-Cov (Cui et al. 2025, "The Entropy Mechanism of RL for Reasoning LMs"; verl's ``clip_cov`` loss):
        tokens whose centred log-prob x advantage covariance is high drive entropy collapse; a random
        ``clip_cov_ratio`` share of the completion tokens with covariance in ``[clip_cov_lb, clip_cov_ub]`` gets no
        gradient this update. verl multiplies their per-token loss by 0; here their advantage is set to 0 (the same
        thing for the policy term, the token still counts in the loss normaliser)."""
        mask = _loss_mask(inputs)
        adv = inputs["advantages"]
        adv2d = adv.unsqueeze(1).expand_as(logps) if adv.dim() == 1 else adv
        a = self.args
        if self._cov_generator is None:
            self._cov_generator = torch.Generator().manual_seed(int(a.seed) + 15485863)
        keep = clip_cov_keep(logps, adv2d, mask, a.clip_cov_ratio, a.clip_cov_lb, a.clip_cov_ub, self._cov_generator)
        inputs["advantages"] = adv2d * keep
        dropped = float(((~keep) & mask.bool()).sum()) / max(float(mask.sum()), 1.0)
        self.log_metric("entropy_control/clip_cov_frac", dropped)

    def _importance_ratio(self, logps: torch.Tensor, inputs: dict[str, Any]) -> torch.Tensor:
        """TRL's vLLM importance-sampling ratio (same modes, clipping and metrics), from ``logps``."""
        mask = _loss_mask(inputs)
        sampling = inputs["sampling_per_token_logps"]
        diff = torch.nan_to_num((logps - sampling) * mask, nan=0.0)
        mode = self.vllm_importance_sampling_mode
        ratio = torch.exp(diff.sum(dim=-1, keepdim=True) if mode.startswith("sequence") else diff)
        lo, hi = self.vllm_importance_sampling_clip_min, self.vllm_importance_sampling_clip_max
        if mode.endswith("truncate"):
            ratio = torch.clamp(ratio, min=lo, max=hi)
        else:
            bad = (ratio < (-math.inf if lo is None else lo)) | (ratio > (math.inf if hi is None else hi))
            ratio = ratio.masked_fill(bad, 0.0)
        delta = (logps - sampling).abs()[mask.bool() & ~torch.isnan(sampling)]
        gather = self.accelerator.gather
        if delta.numel():
            self.log_metric("sampling/sampling_logp_difference/mean", gather(delta.mean()).mean().item())
            self.log_metric("sampling/sampling_logp_difference/max", gather(delta.max()).max().item())
        flat = ratio.flatten() if mode.startswith("sequence") else ratio[mask.bool()]
        if flat.numel():
            for name, fn in (("min", torch.min), ("mean", torch.mean), ("max", torch.max)):
                self.log_metric(f"sampling/importance_sampling_ratio/{name}", gather(fn(flat)).float().mean().item())
        return ratio

    def training_step(self, model, inputs, num_items_in_batch):
        start = time.perf_counter()
        before = sum(self._phase.values())
        output = super().training_step(model, inputs, num_items_in_batch)
        rollout = sum(self._phase.values()) - before
        self._phase["update"] = self._phase.get("update", 0.0) + time.perf_counter() - start - rollout
        if self._step % self.current_gradient_accumulation_steps == 0:
            for phase in PHASES:
                self.log_metric(f"time/{phase}", self._phase.get(phase, 0.0), "train")
            self._phase.clear()
        return output

    # ------------------------------------------------------------------------------------------------
    # stop strings (e.g. "</answer>"): TRL's transformers path has none; vLLM's is cut the same way here
    # ------------------------------------------------------------------------------------------------
    @property
    def stop_strings(self) -> list[str]:
        return parse_stop_strings(getattr(self.args, "stop_strings", None))

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        """TRL's generation, stopped at the first stop string.

        A completion ends right after the stop string, like vLLM's ``stop``; no EOS is added, so the loss only
        sees sampled tokens; ``_length_hit`` records that it stopped, so it is not counted as truncated
        (:meth:`truncated_rows`). On the transformers path the rows also stop decoding there
        (:class:`r1lite.rollout.generation.StopOnStrings`).
        """
        self.sync_weights()  # TRL's own check then finds the engine current; timed as weight_sync here
        stops = self.stop_strings
        if stops and not self.use_vllm:
            self._install_stop_strings(stops)
        completion_ids, logprobs = super()._generate_single_turn(
            prompt_ids, images, multimodal_fields, num_generations, has_tool_images)
        ends = self._end_ids
        stopped = [bool(ids) and ids[-1] in ends for ids in completion_ids]
        if stops:
            cut = [stop_index(ids, self._tokenizer, stops) for ids in completion_ids]
            stopped = [s or k < len(ids) or _has_stop(ids, self._tokenizer, stops)
                       for s, k, ids in zip(stopped, cut, completion_ids, strict=True)]
            completion_ids = [ids[:k] for ids, k in zip(completion_ids, cut, strict=True)]
            if logprobs is not None:
                logprobs = [lp[:k] for lp, k in zip(logprobs, cut, strict=True)]
        self._length_hit = [not s for s in stopped]  # read by truncated_rows (metrics, overlong masking)
        return completion_ids, logprobs

    def _install_stop_strings(self, stops: list[str]) -> None:
        """TRL's ``generate`` call takes no stopping criteria: bind r1lite's (generated text only) once."""
        model = self.accelerator.unwrap_model(self.model)
        if getattr(model, "_r1lite_stop_bound", False):
            return
        from transformers import StoppingCriteriaList

        from r1lite.rollout.generation import StopOnStrings

        generate, tokenizer = model.generate, self._tokenizer

        def generate_with_stops(*args: Any, **kwargs: Any) -> Any:
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is not None and "stopping_criteria" not in kwargs:
                kwargs["stopping_criteria"] = StoppingCriteriaList([StopOnStrings(tokenizer, stops, ids.shape[1])])
            return generate(*args, **kwargs)

        model.generate = generate_with_stops
        model._r1lite_stop_bound = True

    # ------------------------------------------------------------------------------------------------
    # learning-rate schedule (lr_decay_after_steps: transformers' WSD schedule, r1lite.train.config)
    # ------------------------------------------------------------------------------------------------
    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        """transformers warns when its WSD schedule gets both ``num_training_steps`` and ``num_stable_steps``; the
        Trainer always passes the first and ``lr_decay_after_steps`` sets the second on purpose."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Both num_training_steps and num_stable_steps")
            return super().create_scheduler(num_training_steps, optimizer)

    # ------------------------------------------------------------------------------------------------
    # rollout: TRL's generation + scoring, then dynamic sampling
    # ------------------------------------------------------------------------------------------------
    def _prepare_inputs(self, generation_batch: Any) -> dict[str, Any]:
        """TRL's, with each micro-batch made of whole groups where prompts are shared (one prompt pass per group)."""
        with _whole_groups_per_micro_batch(self):
            return super()._prepare_inputs(generation_batch)

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """TRL's rollout (generate, score), the estimator's advantages, then :meth:`_postprocess_rollout`."""
        inputs = self._select_prompts(inputs)
        self._prefetch_golds(inputs)
        return self._postprocess_rollout(self._rollout_batch(inputs), inputs)

    @property
    def difficulty_sampling_active(self) -> bool:
        return self.difficulty.enabled and self.model.training and self.accelerator.num_processes == 1

    def _select_prompts(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Difficulty-aware sampling (:mod:`r1lite.train.difficulty`): settled prompts swapped out before generating."""
        if not self.difficulty_sampling_active:
            return inputs
        inputs, skipped = self.difficulty.select(inputs, self.train_dataset)
        self.log_metric("difficulty/skipped_frac", skipped)
        return inputs

    def _record_difficulty(self, inputs: list[dict[str, Any]]) -> None:
        """Each group's pass rate (the accuracy rule's reward >= 1, else total reward > 0) and reward variance."""
        per_func = self.last_rewards_per_func
        if not self.difficulty_sampling_active or per_func is None or per_func.shape[0] != len(inputs):
            return
        totals = self._total_rewards(per_func)
        from r1lite.train.learning_signal import rule_roles

        names = [str(n) for n in getattr(self, "reward_func_names", [])]
        acc = rule_roles(names, None)[0]
        passed = (per_func[:, names.index(acc)] >= 1.0).float() if acc is not None else (totals > 0).float()
        self.difficulty.record(inputs, totals.tolist(), passed.tolist())
        for name, value in self.difficulty.metrics().items():
            self.log_metric(name, value)

    def _rollout_batch(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        for column in self._label_columns:  # difficulty / type per completion, aligned with TRL's logged rows
            self._log_completion_extra(f"label/{column}", [row.get(column) for row in inputs])
        mask_truncated, self.mask_truncated_completions = self.mask_truncated_completions, False
        try:  # TRL's own masking would also drop every completion that ended at a stop string
            with self._no_old_logprob_pass():
                batch = GRPOTrainer._generate_and_score_completions(self, inputs)
        finally:
            self.mask_truncated_completions = mask_truncated
        if mask_truncated:
            batch = self._mask_truncated(batch)
        self._record_difficulty(inputs)
        return self._compute_advantages(batch)

    # ------------------------------------------------------------------------------------------------
    # advantages: the --algo estimator (r1lite.algos) instead of TRL's inline group normalisation
    # ------------------------------------------------------------------------------------------------
    def _compute_advantages(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Replace ``batch["advantages"]`` with the estimator's, computed on the whole (gathered) batch.

        TRL 1.16 computes GRPO's advantages inline in ``_generate_and_score_completions`` (no method to
        override), so this runs right after it, from the rewards TRL just gathered (``last_rewards_per_func``,
        weighted exactly as TRL does): ``grpo`` reproduces TRL's numbers bit for bit. Per-token estimators
        return (N, T); this process keeps its own rows (and columns).
        """
        rollout = self._make_rollout(batch)
        est = self._estimate(rollout, batch)
        batch["advantages"] = self._local_rows(est.advantages, batch)
        if self.estimator.needs.reference:
            batch.pop("ref_per_token_logps", None)  # the loss no longer reads it (KL in the rewards)
        self._replace_logged_advantages(est.advantages, rollout)
        if self.model.training:
            self._log_estimate(est, rollout)
        return batch

    def _estimate(self, rollout: Any, batch: dict[str, Any]) -> Any:
        """The estimator on the rollout (an actor-critic subclass adds values and trains its critic here)."""
        from r1lite.algos import run_estimator

        if self.estimator.needs.critic:
            raise RuntimeError(f"algo {self.algo!r} needs a critic: train it with r1lite.algos.ppo.PPOTrainer "
                               "(r1lite train --algo picks it)")
        return run_estimator(self.estimator, rollout, self.algo_name)

    def _make_rollout(self, batch: dict[str, Any], values: torch.Tensor | None = None) -> Any:
        """The estimator's input, every process's rows: rewards weighted as TRL weights them, group ids in TRL's
        layout, masks / log-probs / values gathered (padded to one width)."""
        from r1lite.algos import Rollout

        per_func = self.last_rewards_per_func
        if per_func is None:
            raise RuntimeError("no rewards recorded for this rollout (R1Trainer._calculate_rewards was bypassed)")
        device = per_func.device
        rewards = self._total_rewards(per_func)
        g = self.num_generations if self.model.training else self.num_generations_eval
        group_ids = torch.arange(rewards.shape[0] // g, device=device).repeat_interleave(g)
        mask = _loss_mask(batch)
        logps = ref = None
        if self.estimator.needs.reference and batch.get("ref_per_token_logps") is not None:
            ref = self._gather_tokens(batch["ref_per_token_logps"].float())
            logps = self._gather_tokens(self._policy_logps(batch).float())
        config = dict(vars(self.args))
        config.update(beta=self.beta, scale_rewards=self.scale_rewards,
                      multi_objective_aggregation=self.multi_objective_aggregation, num_generations=g)
        return Rollout(rewards=rewards, group_ids=group_ids, mask=self._gather_tokens(mask),
                       values=None if values is None else self._gather_tokens(values.float()), logps=logps,
                       ref_logps=ref, rewards_per_func=per_func, reward_weights=self.reward_weights.to(device),
                       config=config)

    def _gather_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) per process -> (N, T_max) over all processes (right-padded with 0)."""
        if self.accelerator.num_processes == 1:
            return x
        return self.accelerator.gather(self.accelerator.pad_across_processes(x, dim=1, pad_index=0))

    def _local_rows(self, x: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """This process's rows of an (N,) or (N, T_max) tensor, cut to its own completion width."""
        n, t = batch["completion_mask"].shape
        start = self.accelerator.process_index * n
        x = x[start:start + n]
        return x[:, :t].contiguous() if x.dim() == 2 else x

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

    def _replace_logged_advantages(self, advantages: torch.Tensor, rollout: Any) -> None:
        """samples.jsonl shows one advantage per completion: the estimator's (per-token: the row's mean)."""
        if advantages.dim() == 2:
            valid = rollout.token_mask()
            advantages = (advantages * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)
        rows = advantages.detach().float().tolist()
        logged = self._logs["advantages"]
        if len(logged) >= len(rows):
            for i, value in enumerate(rows):
                logged[len(logged) - len(rows) + i] = value

    def _log_estimate(self, est: Any, rollout: Any) -> float | None:
        """The estimator's own metrics (``<algo>/<name>``) and, when the KL is in the reward, ``kl`` (per token)
        and ``<algo>/kl_seq`` (per completion). Returns the sequence KL (None without a reference)."""
        for name, value in est.metrics.items():
            self.log_metric(f"{self.algo_name}/{name}", value)
        if est.kl is None:
            return None
        valid = rollout.token_mask()
        rows = valid.any(dim=1)
        kl_token = float((est.kl * valid).sum() / valid.sum().clamp(min=1))
        kl_seq = float((est.kl * valid).sum(dim=1)[rows].mean()) if rows.any() else 0.0
        self.log_metric("kl", kl_token)  # the metrics table's KL column
        self.log_metric(f"{self.algo_name}/kl_seq", kl_seq)
        return kl_seq

    @contextmanager
    def _no_old_logprob_pass(self):
        """During the rollout, hide the IS correction from TRL (no extra pass); the loss computes the ratio."""
        fused = self.fused_importance_sampling and self.vllm_importance_sampling_correction and self.model.training
        if fused:
            self.vllm_importance_sampling_correction = False
        try:
            yield
        finally:
            if fused:
                self.vllm_importance_sampling_correction = True

    def _prefetch_golds(self, inputs: list[dict[str, Any]]) -> Any:
        """Start parsing the batch's gold answers in the verification workers now, so that MATH-style
        LaTeX golds are parsed while the policy generates instead of on the reward's critical path."""
        names = getattr(self, "reward_func_names", None) or []
        if not any(str(n).startswith("accuracy") for n in names):
            return None
        golds = [row.get("answer") for row in inputs if isinstance(row, dict)]
        if not any(g is not None for g in golds):
            return None
        from r1lite.rewards.verify import prefetch_golds

        return prefetch_golds(golds)

    def _postprocess_rollout(self, batch: dict[str, Any], inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """Dynamic sampling (DAPO): drop groups whose advantages are all zero, optionally refill.

        With ``beta == 0`` such a group contributes exactly zero policy gradient, so removing it before the
        forward/backward pass changes nothing but the cost (and, as in DAPO, the loss normaliser: the step
        averages over informative groups only). The zero-variance fraction is logged either way.
        """
        keep, zero_frac = self._informative_rows(batch)
        if not self.model.training:
            return batch
        self.log_metric("dynamic_sampling/zero_variance_frac", zero_frac)
        if not self.dynamic_sampling_active:
            return batch
        start, others = time.perf_counter(), sum(self._phase.values())
        target = int(batch["advantages"].shape[0])
        kept = _select_rows(batch, keep)
        rounds = 0
        while rounds < self.args.dynamic_sampling_refill and self._global_min(_rows(kept)) < target:
            rounds += 1
            extra = self._rollout_batch(self._refill_inputs(len(inputs)))
            extra_keep, _ = self._informative_rows(extra)
            kept = _concat_rows(kept, _select_rows(extra, extra_keep), self._tokenizer.pad_token_id)
        kept = self._fill_to_valid_size(kept, batch, keep, target)
        kept = _trim_padding(kept)
        kept["num_items_in_batch"] = self._count_loss_tokens(kept)
        # refill rounds are already timed as generation/scoring: count only the bookkeeping here
        overhead = time.perf_counter() - start - (sum(self._phase.values()) - others)
        self._phase["dynamic_sampling"] = self._phase.get("dynamic_sampling", 0.0) + overhead
        self.log_metric("dynamic_sampling/kept_frac", _rows(kept) / max(target, 1))
        self.log_metric("dynamic_sampling/refill_rounds", rounds)
        return kept

    def _informative_rows(self, batch: dict[str, Any]) -> tuple[torch.Tensor, float]:
        """Local rows whose group has a non-zero advantage somewhere, and the global zero-variance group fraction.

        Groups may span processes, so the decision is made on the gathered advantages (same on every rank).
        """
        adv = batch["advantages"]
        per_row = adv.abs() if adv.dim() == 1 else adv.abs().amax(dim=-1)
        global_adv = self.accelerator.gather(per_row.detach())
        g = self.num_generations if self.model.training else self.num_generations_eval
        groups = global_adv.view(-1, g)
        informative = groups.gt(1e-6).any(dim=1)
        zero_frac = 1.0 - informative.float().mean().item()
        per_global_row = informative.repeat_interleave(g)
        n = per_row.shape[0]
        start = self.accelerator.process_index * n
        return per_global_row[start:start + n].to(adv.device), zero_frac

    def _fill_to_valid_size(self, kept: dict[str, Any], batch: dict[str, Any], keep: torch.Tensor,
                            target: int) -> dict[str, Any]:
        """Keep at most ``target`` rows and at least one per micro-step (a multiple of steps_per_generation).

        Fillers are the shortest dropped rows: their advantage is zero, so they add no gradient; they keep
        TRL's split into ``steps_per_generation`` slices (and DDP's collective calls) well defined.
        """
        spg = int(self.args.steps_per_generation)
        n = _rows(kept)
        if n > target:
            kept = _select_rows(kept, torch.arange(n, device=keep.device) < target)
            n = target
        need = max(spg, math.ceil(n / spg) * spg) - n
        if need <= 0:
            return kept
        dropped = (~keep).nonzero(as_tuple=True)[0]
        lengths = batch["completion_mask"][dropped].sum(dim=1)
        fillers = dropped[torch.argsort(lengths, stable=True)[:need]]
        mask = torch.zeros_like(keep)
        mask[fillers] = True
        filler = _select_rows(batch, mask)
        filler["advantages"] = torch.zeros_like(filler["advantages"])
        return _concat_rows(kept, filler, self._tokenizer.pad_token_id) if n else filler

    def _total_rewards(self, per_func: torch.Tensor) -> torch.Tensor:
        """Each completion's weighted reward over the rules that applied; NaN where none did (unscorable)."""
        totals = (per_func * self.reward_weights.to(per_func.device).unsqueeze(0)).nansum(dim=1)
        totals[torch.isnan(per_func).all(dim=1)] = torch.nan
        return totals

    def _count_loss_tokens(self, batch: dict[str, Any]) -> torch.Tensor:
        mask = _loss_mask(batch)
        return self.accelerator.gather(mask.sum()).sum()

    def _global_min(self, n: int) -> int:
        value = torch.tensor([n], device=self.accelerator.device)
        return int(self.accelerator.gather(value).min().item())

    def _refill_inputs(self, n_local: int) -> list[dict[str, Any]]:
        """Fresh prompts for a refill round: a seeded walk over the training set, groups laid out as TRL does.

        The cursor is saved with each checkpoint, so a resumed run draws the same refills.
        """
        dataset = self.train_dataset
        g = self.num_generations
        n_global = n_local * self.accelerator.num_processes
        if self._refill_order is None:
            gen = torch.Generator().manual_seed(int(self.args.seed) + 7919)
            self._refill_order = torch.randperm(len(dataset), generator=gen).tolist()
        order = self._refill_order
        prompts = []
        for _ in range(n_global // g):
            prompts.append(order[self._refill_cursor % len(order)])
            self._refill_cursor += 1
        rows = [idx for idx in prompts for _ in range(g)]
        start = self.accelerator.process_index * n_local
        return [dict(dataset[i]) for i in rows[start:start + n_local]]

    # ------------------------------------------------------------------------------------------------
    # samples: completions with their rewards, one JSON line each (TRL's parquet needs pandas + a log backend)
    # ------------------------------------------------------------------------------------------------
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self.model.training and "loss" in logs:
            rows = self._diagnostic_rows()
            logs.update(_step_metrics(rows))
            self._write_samples(rows)
        super().log(logs, start_time)

    def _diagnostic_rows(self) -> list[dict[str, Any]]:
        """The last rollout's completions as :meth:`r1lite.train.diagnostics.Diagnostics.rows` (length in tokens,
        reflection words, correct / formatted, difficulty / type labels)."""
        if self.diagnostics is None or not self._logs["completion"]:
            return []
        from r1lite.train.diagnostics import completion_text

        texts = [completion_text(c) for c in self._logs["completion"]]
        lengths = [len(ids) for ids in self._tokenizer(texts, add_special_tokens=False)["input_ids"]]
        rewards = {name: list(values) for name, values in self._logs["rewards"].items()}
        labels = {k.removeprefix("label/"): list(v) for k, v in self._logs["extra"].items() if k.startswith("label/")}
        return self.diagnostics.rows(list(self._logs["prompt"]), list(self._logs["completion"]), rewards,
                                     lengths, labels)

    def _write_samples(self, diagnostics: list[dict[str, Any]] | None = None) -> None:
        every = int(getattr(self.args, "samples_every", 0) or 0)
        step = self.state.global_step
        if (not every or step % every or not self.accelerator.is_main_process or not self._logs["prompt"]
                or getattr(self, "_samples_step", None) == step):
            return
        self._samples_step = step
        names = list(self._logs["rewards"])
        os.makedirs(self.args.output_dir, exist_ok=True)
        with open(os.path.join(self.args.output_dir, "samples.jsonl"), "a") as f:
            for i, (prompt, completion) in enumerate(zip(self._logs["prompt"], self._logs["completion"],
                                                         strict=False)):
                rewards = {n: _finite(self._logs["rewards"][n][i]) for n in names
                           if i < len(self._logs["rewards"][n])}
                adv = self._logs["advantages"][i] if i < len(self._logs["advantages"]) else None
                extra = diagnostics[i] if diagnostics and i < len(diagnostics) else {}
                f.write(json.dumps({"step": step, "prompt": prompt, "completion": completion, "rewards": rewards,
                                    "advantage": _finite(adv), **extra}, default=str) + "\n")

    # ------------------------------------------------------------------------------------------------
    # atomic checkpoints
    # ------------------------------------------------------------------------------------------------
    def _get_output_dir(self, trial: Any) -> str:
        run_dir = super()._get_output_dir(trial)
        return os.path.join(run_dir, STAGING_DIR) if self._staging else run_dir

    def _save_checkpoint(self, model, trial) -> None:
        """Write ``checkpoint-N`` into a staging folder, then rename it into place.

        A crash mid-save leaves only the staging folder (cleared next time); every ``checkpoint-*`` folder
        is complete, so ``--resume`` never picks up a half-written one, and rotation only runs after the
        new checkpoint exists. Each one carries ``r1lite_config.yaml`` (template, task, stop strings), so
        ``r1lite eval --model checkpoint-N`` prompts it the way it was trained.
        """
        run_dir = self._get_output_dir(trial)
        staging = os.path.join(run_dir, STAGING_DIR)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        if self.args.should_save:
            shutil.rmtree(staging, ignore_errors=True)
            os.makedirs(staging, exist_ok=True)
        self.accelerator.wait_for_everyone()
        self._staging = True
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging = False
        if self.args.should_save:
            from r1lite.train.run_config import write_checkpoint_config

            with open(os.path.join(staging, name, STATE_FILE), "w") as f:
                json.dump({"refill_cursor": self._refill_cursor, "global_step": self.state.global_step,
                           **({"difficulty": self.difficulty.state_dict()} if self.difficulty.enabled else {})}, f)
            write_checkpoint_config(self.args, os.path.join(staging, name), self.processing_class)
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            final = os.path.join(run_dir, name)
            if os.path.exists(final):
                shutil.rmtree(final)
            os.replace(os.path.join(staging, name), final)
            shutil.rmtree(staging, ignore_errors=True)
            from transformers.trainer_utils import rotate_checkpoints

            rotate_checkpoints(output_dir=run_dir, save_total_limit=self.args.save_total_limit,
                               best_model_checkpoint=self.state.best_model_checkpoint, use_mtime=False)
        self.accelerator.wait_for_everyone()

    def create_model_card(self, model_name: str | None = None, dataset_name: str | None = None,
                          tags: str | list[str] | None = None) -> None:
        """TRL's card, naming the base model. TRL takes it from the weights' path, which for a local directory
        (every r1lite alias: a converted GGUF) gives "fine-tuned version of [None]"; r1lite knows the spec."""
        from r1lite.train.run_config import base_model_name

        base, hub = base_model_name(getattr(self.args, "model", None))
        config = getattr(self.accelerator.unwrap_model(self.model), "config", None)
        original = getattr(config, "_name_or_path", None)
        if hub and config is not None:
            config._name_or_path = base  # TRL links a Hub id (and lists it as base_model in the metadata)
        try:
            super().create_model_card(model_name=model_name, dataset_name=dataset_name, tags=tags)
        finally:
            if hub and config is not None:
                config._name_or_path = original
        path = os.path.join(self.args.output_dir, "README.md")
        if self.is_world_process_zero() and os.path.isfile(path):
            with open(path) as f:
                card = f.read()
            card = card.replace("[None](https://huggingface.co/None)", f"`{base}` (a local model)")
            final = os.path.join(self.args.output_dir, "final")
            card = card.replace('pipeline("text-generation", model="None"', f'pipeline("text-generation", model="{final}"')
            with open(path, "w") as f:
                f.write(card + _card_note(self.args))

    def _issue_warnings_after_load(self, load_result: Any) -> None:
        """transformers warns ``missing keys ['lm_head.weight']`` when resuming a tied-embedding model (the
        checkpoint stores the shared tensor once): keys tied to a loaded parameter are not missing, so they
        are dropped from the warning; anything else still warns."""
        tied = _tied_to_loaded(self.accelerator.unwrap_model(self.model), list(load_result.missing_keys))
        if tied and hasattr(load_result, "_replace"):
            load_result = load_result._replace(missing_keys=[k for k in load_result.missing_keys if k not in tied])
        super()._issue_warnings_after_load(load_result)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None:
            path = os.path.join(checkpoint, STATE_FILE)
            if os.path.exists(path):
                with open(path) as f:
                    state = json.load(f)
                self._refill_cursor = int(state.get("refill_cursor", 0))
                if "difficulty" in state:
                    self.difficulty.load_state_dict(state["difficulty"])


def _loss_mask(inputs: dict[str, Any]) -> torch.Tensor:
    """The tokens the loss counts: completion tokens, less tool-output tokens where TRL marks them."""
    mask = inputs["completion_mask"]
    return mask if inputs.get("tool_mask") is None else mask * inputs["tool_mask"]


def _step_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    from r1lite.train.diagnostics import step_metrics

    return step_metrics(rows)


def _default_diagnostics(trainer: Any) -> tuple[Any, list[str]]:
    """Diagnostics with the rules named accuracy / format when the trainer has them (``r1lite train`` replaces it
    with the task's choice), and the dataset columns that group problems (difficulty, level, type, ...)."""
    from r1lite.train.diagnostics import Diagnostics, group_columns_of
    from r1lite.train.learning_signal import rule_roles

    acc, fmt = rule_roles([str(n) for n in getattr(trainer, "reward_func_names", None) or []], None)
    words = getattr(trainer.args, "reflection_words", None)
    columns = getattr(trainer.train_dataset, "column_names", None) or []
    return Diagnostics(acc, fmt, words=words), group_columns_of(columns)


@contextmanager
def _in_grpo_module(name: str, value: Any):
    """``trl.trainer.grpo_trainer.<name>`` replaced by ``value`` for the block: the module-level names TRL's
    ``GRPOTrainer`` looks up at call time are its only hooks for these two jobs (engine class, batch shuffle)."""
    import trl.trainer.grpo_trainer as grpo

    original = getattr(grpo, name)
    setattr(grpo, name, value)
    try:
        yield
    finally:
        setattr(grpo, name, original)


def _r1_vllm_generation(args: Any) -> Any:
    """Have ``GRPOTrainer.__init__`` build r1lite's ``VLLMGeneration`` (engine settings, CPU weight sync)."""
    if not getattr(args, "use_vllm", False):
        return nullcontext()
    from r1lite.rollout.vllm_engine import generation_class

    return _in_grpo_module("VLLMGeneration", generation_class(args))


#: vocabulary columns per tile of TRL's chunked log-prob kernel on CPU (TRL: 32768 everywhere)
CPU_LOGPROB_VOCAB_TILE = 4096


def narrow_cpu_logprob_tiles(device: Any) -> None:
    """On CPU, TRL's chunked log-prob kernel (the fused LM head of the update) works on narrower vocabulary tiles.

    Why: without Triton the kernel's torch fallback materialises about ten fp32 ``[tokens, tile]`` temporaries per
    tile in the backward, at the point where the backbone's activations are all still held: with TRL's 32768-wide
    tiles that was the top of the arithmetic CPU preset's memory. 4096 columns lowered its peak RSS by ~0.5 GB
    (docs/reliability.md); the log-probs, entropies and gradients are the same up to summation order (tested).
    TRL keeps the width in a module constant: set here (process-wide, CPU only) and left alone if TRL renames it.
    """
    import trl.trainer.utils as trl_utils

    if torch.device(device).type == "cpu" and hasattr(trl_utils, "_CHUNKED_LOGPROB_CHUNK_SIZE"):
        trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE = min(trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE, CPU_LOGPROB_VOCAB_TILE)


def _whole_groups_per_micro_batch(trainer: Any) -> Any:
    """Have ``GRPOTrainer._prepare_inputs`` shuffle whole groups instead of rows
    (:func:`r1lite.rollout.prefix_sharing.group_shuffle`) where prompts are shared; TRL's shuffle otherwise."""
    if not getattr(trainer.args, "share_prompt_prefix", False):
        return nullcontext()
    from r1lite.rollout.prefix_sharing import group_shuffle

    return _in_grpo_module("shuffle_sequence_dict", lambda seq_dict: group_shuffle(seq_dict, trainer.num_generations))


def _tied_to_loaded(model: Any, missing: list[str]) -> set[str]:
    """Missing keys whose parameter shares its storage with a parameter that was loaded (tied weights)."""
    if not missing:
        return set()
    params = dict(model.named_parameters(remove_duplicate=False))
    loaded = {p.data_ptr() for name, p in params.items() if name not in missing}
    return {k for k in missing if k in params and params[k].data_ptr() in loaded}


def _card_note(args: Any) -> str:
    """The r1lite part of the model card: what it was trained on and how to evaluate it as trained."""
    template = getattr(args, "template", None) or "auto"
    return (f"\n## r1lite\n\nTrained with r1lite ({str(getattr(args, 'algo', 'grpo')).upper()}) on task "
            f"`{getattr(args, 'task', None)}` from `{getattr(args, 'model', None)}`, template `{template}`, "
            f"stop strings `{getattr(args, 'stop_strings', None)}`. `final/` and every `checkpoint-N/` hold this "
            "config as `r1lite_config.yaml`; `r1lite eval --model <that folder>` prompts with the same template.\n")


def parse_stop_strings(value: Any) -> list[str]:
    """``"</answer>"`` / ``"a,b"`` / a list -> list of non-empty stop strings."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v) for v in items if str(v)]


def stop_index(ids: list[int], tokenizer: Any, stops: list[str]) -> int:
    """Number of leading tokens up to and including the one that completes the first stop string (or all)."""
    if not ids or not any(s in tokenizer.decode(ids, skip_special_tokens=True) for s in stops):
        return len(ids)
    lo, hi = 1, len(ids)
    while lo < hi:  # the shortest prefix whose text contains a stop string
        mid = (lo + hi) // 2
        if any(s in tokenizer.decode(ids[:mid], skip_special_tokens=True) for s in stops):
            hi = mid
        else:
            lo = mid + 1
    return hi


def _has_stop(ids: list[int], tokenizer: Any, stops: list[str]) -> bool:
    """The completion's text holds a stop string (vLLM stopped there and kept it)."""
    text = tokenizer.decode(ids, skip_special_tokens=True) if ids else ""
    return any(s in text for s in stops)


def clip_cov_keep(logps: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, ratio: float, lb: float,
                  ub: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Clip-Cov's token selection (verl ``compute_policy_loss_clip_cov``): a bool (B, T) tensor, False for the
    tokens whose gradient is dropped. Covariance per token: (logp - mean logp) * (A - mean A), means over the
    batch's valid tokens; candidates lie strictly inside (lb, ub); ``max(1, ratio * valid tokens)`` of them are
    drawn at random (all of them if fewer)."""
    valid = mask.bool()
    keep = torch.ones_like(valid)
    n = int(valid.sum())
    if ratio <= 0 or n == 0:
        return keep
    lp, adv = logps.float(), advantages.float()
    cov = (adv - adv[valid].mean()) * (lp - lp[valid].mean())
    candidates = ((cov > lb) & (cov < ub) & valid).nonzero()
    if len(candidates) == 0:
        return keep
    k = min(max(int(ratio * n), 1), len(candidates))
    pick = candidates[torch.randperm(len(candidates), generator=generator)[:k].to(candidates.device)]
    keep[pick[:, 0], pick[:, 1]] = False
    return keep


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


# ----------------------------------------------------------------------------------------------------
# batch-dict surgery (rows = completions)
# ----------------------------------------------------------------------------------------------------
def _rows(batch: dict[str, Any]) -> int:
    return int(batch["prompt_ids"].shape[0])


def _select_rows(batch: dict[str, Any], keep: torch.Tensor) -> dict[str, Any]:
    """Every per-row entry (tensor or list of length B) filtered by the boolean ``keep``; scalars unchanged."""
    n = _rows(batch)
    idx = keep.nonzero(as_tuple=True)[0]
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == n:
            out[key] = value[idx.to(value.device)]
        elif isinstance(value, list) and len(value) == n:
            out[key] = [value[i] for i in idx.tolist()]
        else:
            out[key] = value
    return out


_LEFT_PADDED = ("prompt_ids", "prompt_mask")


def _concat_rows(a: dict[str, Any], b: dict[str, Any], pad_id: int) -> dict[str, Any]:
    """Stack two batches of rows, padding prompts on the left and completion-aligned tensors on the right."""
    out: dict[str, Any] = {}
    for key, va in a.items():
        vb = b.get(key)
        if isinstance(va, torch.Tensor) and isinstance(vb, torch.Tensor) and va.dim() > 0 and key != "num_items_in_batch":
            if va.dim() == 2 and va.shape[1] != vb.shape[1]:
                width = max(va.shape[1], vb.shape[1])
                fill = pad_id if key.endswith("_ids") else (1 if key == "tool_mask" else 0)
                left = key in _LEFT_PADDED
                va, vb = (_pad_to(v, width, fill, left) for v in (va, vb))
            out[key] = torch.cat([va, vb], dim=0)
        elif isinstance(va, list) and isinstance(vb, list):
            out[key] = va + vb
        else:
            out[key] = va
    return out


def _pad_to(t: torch.Tensor, width: int, fill: float, left: bool) -> torch.Tensor:
    extra = width - t.shape[1]
    if extra <= 0:
        return t
    pad = torch.full((t.shape[0], extra), fill, dtype=t.dtype, device=t.device)
    return torch.cat([pad, t] if left else [t, pad], dim=1)


def _trim_padding(batch: dict[str, Any]) -> dict[str, Any]:
    """Drop all-padding columns left by removed rows: the update then runs on the kept rows' real length."""
    cmask = batch["completion_mask"]
    width = cmask.shape[1]
    used = int(cmask.any(dim=0).nonzero().max().item()) + 1 if cmask.any() else 1
    pmask = batch["prompt_mask"]
    pwidth = pmask.shape[1]
    first = int(pmask.any(dim=0).nonzero().min().item()) if pmask.any() else 0
    out = dict(batch)
    for key, value in batch.items():
        if not isinstance(value, torch.Tensor) or value.dim() != 2:
            continue
        if key in _LEFT_PADDED and value.shape[1] == pwidth:
            out[key] = value[:, first:]
        elif key not in _LEFT_PADDED and value.shape[1] == width and used < width:
            out[key] = value[:, :used]
    return out


