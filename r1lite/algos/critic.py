"""The PPO critic: a causal-LM backbone with a scalar value head, trained through the trainer's accelerator.

``ValueModel`` reads V(s_t) for each completion token from the backbone's last hidden state at the position
that also predicts that token (the state before it is emitted). ``Critic`` owns the model, an AdamW
optimizer with its own learning rate and gradient clipping, and the clipped value-loss update.

Distributed runs: :meth:`Critic.attach` hands the critic to the policy's ``accelerate.Accelerator``; on first
use it is prepared like the policy, from the same accelerate config (``recipes/accelerate/``): DDP gradient
averaging, FSDP sharding, mixed-precision autocast (``accelerator.prepare``), or, under DeepSpeed, its own
engine built from the policy's ZeRO config (accelerate ties one DeepSpeed engine to an ``Accelerator``, so
a second trained model needs ``deepspeed.initialize`` with its own batch size and clipping). Without
``attach`` (tests, notebooks) it is a plain single-process module.

Saved like a transformers model: ``save_pretrained(dir)`` writes the backbone (``config.json`` +
``model.safetensors``), ``value_head.safetensors`` and ``critic.json``; ``Critic.save`` adds the optimizer
state (``optimizer.pt``, or one ``optimizer_rank{r}.pt`` per process when FSDP/ZeRO shard it) so a resumed
run continues with the same Adam moments.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from r1lite.algos.ppo_core import clipped_value_loss

HEAD_FILE = "value_head.safetensors"
META_FILE = "critic.json"
OPTIM_FILE = "optimizer.pt"
SHARDED_OPTIM_FILE = "optimizer_rank{rank}.pt"


class CriticError(ValueError):
    """A critic that cannot be built or loaded; the message says what to do."""


def _hidden_size(config: Any) -> int:
    for name in ("hidden_size", "n_embd", "d_model"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    text_config = getattr(config, "text_config", None)
    if text_config is not None:
        return _hidden_size(text_config)
    raise CriticError(f"cannot find the hidden size in the critic's config ({type(config).__name__})")


class ValueModel(nn.Module):
    """Backbone (``AutoModel``, no LM head) + ``nn.Linear(hidden, 1)``.

    ``forward`` takes the rollout's four tensors and returns (B, T) completion values, so that a DDP/FSDP
    wrapper's ``forward`` (which is what synchronises gradients) is the call that computes them.
    """

    def __init__(self, backbone: nn.Module, head: nn.Linear | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        hidden = _hidden_size(backbone.config)
        if head is None:
            head = nn.Linear(hidden, 1)
            # small random weights, zero bias: initial values near 0 (rewards here are O(1)), never all equal
            nn.init.normal_(head.weight, std=1.0 / (hidden + 1))
            nn.init.zeros_(head.bias)
        self.head = head.to(dtype=next(backbone.parameters()).dtype)
        # FSDP's transformer-based auto-wrap reads the layer classes to wrap from here (as on a PreTrainedModel)
        self._no_split_modules = list(getattr(backbone, "_no_split_modules", None) or [])

    @property
    def config(self) -> Any:
        return self.backbone.config

    @classmethod
    def from_pretrained(cls, spec: str, dtype: torch.dtype = torch.float32) -> ValueModel:
        """A saved critic directory (with ``value_head.safetensors``), or any causal LM (fresh value head).

        ``spec`` goes through :func:`r1lite.models.resolve_model`, so aliases and ``.gguf`` files work too.
        """
        from transformers import AutoModel

        path = Path(spec)
        if not (path / HEAD_FILE).is_file():
            from r1lite.models import resolve_model

            path = Path(resolve_model(spec))
        backbone = AutoModel.from_pretrained(str(path), dtype=dtype)
        model = cls(backbone)
        head_path = path / HEAD_FILE
        if head_path.is_file():
            from safetensors.torch import load_file

            state = load_file(str(head_path))
            try:
                model.head.load_state_dict({k.removeprefix("head."): v for k, v in state.items()})
            except RuntimeError as exc:
                raise CriticError(f"{head_path} does not fit the backbone in {path}: {exc}") from exc
            model.head.to(dtype=dtype)
        return model

    def save_pretrained(self, out_dir: str | os.PathLike, state_dict: dict[str, torch.Tensor] | None = None) -> None:
        """Write the critic; ``state_dict`` (keys ``backbone.*`` / ``head.*``) is the gathered full state of a
        sharded critic (default: this module's own weights)."""
        from safetensors.torch import save_file

        state = self.state_dict() if state_dict is None else state_dict
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        backbone = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
        self.backbone.save_pretrained(out, state_dict=backbone)
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items() if k.startswith("head.")},
                  str(out / HEAD_FILE))
        (out / META_FILE).write_text(json.dumps({"hidden_size": self.head.in_features,
                                                 "backbone": type(self.backbone).__name__}, indent=1))

    def forward(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, completion_ids: torch.Tensor,
                completion_mask: torch.Tensor) -> torch.Tensor:
        """(B, T) values V(s_t): position P-1+t holds the state before completion token t (left-padded prompts)."""
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        values = self.head(out.last_hidden_state).squeeze(-1)
        p, t = prompt_ids.shape[1], completion_ids.shape[1]
        return values[:, p - 1:p - 1 + t]

    def completion_values(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                          completion_ids: torch.Tensor, completion_mask: torch.Tensor) -> torch.Tensor:
        """Same as calling the module (kept for readability at call sites)."""
        return self(prompt_ids, prompt_mask, completion_ids, completion_mask)


@dataclass
class CriticStats:
    """Averages over one :meth:`Critic.update` (every mini-batch of every epoch)."""

    value_loss: float
    clipfrac: float
    grad_norm: float
    steps: int


class Critic:
    """A :class:`ValueModel` with its own AdamW, learning rate and gradient clipping."""

    def __init__(self, model: ValueModel, lr: float = 1e-5, max_grad_norm: float | None = 1.0,
                 weight_decay: float = 0.0, device: torch.device | str | None = None) -> None:
        if lr <= 0:
            raise CriticError(f"critic learning rate must be > 0, got {lr}")
        self.model = model.to(device) if device is not None else model
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.optimizer: Any = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=weight_decay)
        self.wrapped: nn.Module = self.model  # what forward passes go through (DDP / FSDP / DeepSpeed once prepared)
        self.accelerator: Any = None
        self._mini_batch_size: int | None = None
        self._prepared = False
        self._engine: Any = None  # DeepSpeed engine
        self._pending_optimizer: dict | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @classmethod
    def from_pretrained(cls, spec: str, dtype: torch.dtype = torch.float32, **kwargs: Any) -> Critic:
        """Critic from a causal LM (fresh head) or a saved critic dir (head + optimizer state when present)."""
        critic = cls(ValueModel.from_pretrained(spec, dtype=dtype), **kwargs)
        optim_path = Path(spec) / OPTIM_FILE
        if optim_path.is_file():
            critic.optimizer.load_state_dict(torch.load(optim_path, map_location=critic.device))
        return critic

    # ------------------------------------------------------------------------------------------------
    # distributed preparation (accelerate)
    # ------------------------------------------------------------------------------------------------
    def attach(self, accelerator: Any, mini_batch_size: int | None = None) -> None:
        """Use ``accelerator`` (the policy's) for this critic; it is prepared on first use.

        Lazily, because the trainer resets its accelerator's prepared objects when training starts and a resumed
        run loads the critic's weights before FSDP/ZeRO shard them.
        """
        self.accelerator, self._mini_batch_size = accelerator, mini_batch_size

    @property
    def distributed_type(self) -> str:
        return str(getattr(self.accelerator, "distributed_type", "NO")).rsplit(".", 1)[-1]

    @property
    def sharded(self) -> bool:
        """FSDP / DeepSpeed hold a part of the weights or optimizer state per process."""
        return self.distributed_type in ("FSDP", "DEEPSPEED")

    def _ensure_prepared(self) -> None:
        if self._prepared or self.accelerator is None:
            return
        self._prepared = True
        if self.distributed_type == "DEEPSPEED":
            self._engine, self.optimizer = _deepspeed_engine(self, self.accelerator, self._mini_batch_size)
            self.wrapped = self._engine
        else:
            self.wrapped, optimizer = self.accelerator.prepare(self.model, self.optimizer)
            # the raw optimizer: accelerate's wrapper skips step() while the *policy* accumulates gradients
            # (its sync flag), but the critic takes its own complete steps inside the rollout
            self.optimizer = getattr(optimizer, "optimizer", optimizer)
        if self._pending_optimizer is not None:
            self.optimizer.load_state_dict(self._pending_optimizer)
            self._pending_optimizer = None

    # ------------------------------------------------------------------------------------------------
    # save / load
    # ------------------------------------------------------------------------------------------------
    def full_state_dict(self) -> dict[str, torch.Tensor]:
        """All weights (gathered on the main process under FSDP / ZeRO-3; every process must call this)."""
        if not self._prepared or self.accelerator is None:
            return self.model.state_dict()
        if self._engine is not None:
            return _deepspeed_full_state(self._engine, self.model)
        return self.accelerator.get_state_dict(self.wrapped)

    def save(self, out_dir: str | os.PathLike, is_main: bool = True) -> None:
        """Weights (main process) and optimizer state; call it on every process in a distributed run."""
        state = self.full_state_dict()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if is_main:
            self.model.save_pretrained(out, state_dict=state)
        if self._prepared and self.sharded:
            rank = int(getattr(self.accelerator, "process_index", 0))
            torch.save(self.optimizer.state_dict(), out / SHARDED_OPTIM_FILE.format(rank=rank))
        elif is_main:
            torch.save(self.optimizer.state_dict(), out / OPTIM_FILE)

    def load(self, in_dir: str | os.PathLike) -> None:
        """Restore weights and optimizer state saved by :meth:`save` (same architecture, same process count
        when the optimizer state was sharded)."""
        if self._prepared and self.sharded:
            raise CriticError("cannot load critic weights into an FSDP/DeepSpeed-sharded critic after its first "
                              "step: load the checkpoint before training starts (--resume does)")
        src = ValueModel.from_pretrained(str(in_dir), dtype=next(self.model.parameters()).dtype)
        self.model.load_state_dict(src.state_dict())
        path = Path(in_dir) / OPTIM_FILE
        if self.sharded:
            rank = int(getattr(self.accelerator, "process_index", 0))
            path = Path(in_dir) / SHARDED_OPTIM_FILE.format(rank=rank)
        if not path.is_file():
            return
        state = torch.load(path, map_location=self.device)
        if self.sharded and not self._prepared:
            self._pending_optimizer = state  # the shard fits the optimizer only once FSDP/ZeRO wrapped it
        else:
            self.optimizer.load_state_dict(state)

    def check_vocab(self, vocab_size: int) -> None:
        """The critic reads the policy's token ids: its embedding must cover the same vocabulary."""
        own = getattr(self.model.config, "vocab_size", None)
        if own is not None and own != vocab_size:
            raise CriticError(f"critic vocabulary ({own}) differs from the policy's ({vocab_size}): a critic "
                              "must use the policy's tokenizer; pick a critic model from the same family")

    # ------------------------------------------------------------------------------------------------
    # values and updates
    # ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def values(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, completion_ids: torch.Tensor,
               completion_mask: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        """(B, T) values at rollout time (no gradient), in chunks of ``batch_size`` rows."""
        self._ensure_prepared()
        was_training = self.model.training
        self.wrapped.eval()
        n = prompt_ids.shape[0]
        step = batch_size or n
        chunks = [self.wrapped(prompt_ids[i:i + step], prompt_mask[i:i + step], completion_ids[i:i + step],
                               completion_mask[i:i + step]).float() for i in range(0, n, step)]
        self.wrapped.train(was_training)
        return torch.cat(chunks, dim=0).float() * completion_mask.float()

    def update(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, completion_ids: torch.Tensor,
               completion_mask: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
               clip: float | None = 0.2, epochs: int = 1, mini_batch_size: int | None = None,
               seed: int = 0, loss_mask: torch.Tensor | None = None) -> CriticStats:
        """``epochs`` passes of the clipped value loss over the rollout, in shuffled mini-batches.

        ``loss_mask`` (default: ``completion_mask``) picks the tokens the loss counts, e.g. without the rows of
        unscorable completions, whose return is unknown; ``completion_mask`` stays the attention mask.
        Under DDP the wrapper averages gradients across processes in ``backward``, so every replica of the
        critic takes the same step (every process must call this with the same number of rows).
        """
        if epochs < 1:
            raise CriticError(f"critic epochs must be >= 1, got {epochs}")
        self._ensure_prepared()
        n = prompt_ids.shape[0]
        loss_mask = completion_mask if loss_mask is None else loss_mask
        size = min(mini_batch_size or n, n)
        gen = torch.Generator().manual_seed(seed)
        self.wrapped.train()
        losses, fracs, norms = [], [], []
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen).to(prompt_ids.device)
            for start in range(0, n, size):
                idx = order[start:start + size]
                values = self.wrapped(prompt_ids[idx], prompt_mask[idx], completion_ids[idx],
                                      completion_mask[idx]).float()
                loss, clipfrac = clipped_value_loss(values, old_values[idx], returns[idx], loss_mask[idx], clip)
                norms.append(self._step(loss))
                losses.append(loss.item())
                fracs.append(clipfrac.item())
        return CriticStats(sum(losses) / len(losses), sum(fracs) / len(fracs), sum(norms) / len(norms), len(losses))

    def fit_single_pass(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, completion_ids: torch.Tensor,
                        completion_mask: torch.Tensor, targets: Callable[[torch.Tensor], torch.Tensor],
                        loss_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, CriticStats]:
        """One critic step whose forward also supplies the rollout values: ``(values, returns, stats)``.

        With one epoch over one mini-batch, PPO's rollout values and the update's first forward are the same
        numbers, so one forward (with gradient) does both: ``targets(values)`` turns the detached values into
        returns (GAE), then the value loss steps the critic. Saves the separate no-grad pass (a third of the
        critic's cost). The clip cannot bind here (V = V_old), so clipfrac is 0.
        """
        self._ensure_prepared()
        loss_mask = completion_mask if loss_mask is None else loss_mask
        self.wrapped.train()
        values = self.wrapped(prompt_ids, prompt_mask, completion_ids, completion_mask).float()
        old = values.detach() * completion_mask.float()
        returns = targets(old)
        loss, _ = clipped_value_loss(values, old, returns, loss_mask, None)
        norm = self._step(loss)
        return old, returns, CriticStats(loss.item(), 0.0, norm, 1)

    def _step(self, loss: torch.Tensor) -> float:
        """backward (DDP/FSDP sync their gradients here), clip, step; returns the pre-clip gradient norm."""
        if self._engine is not None:  # DeepSpeed: the engine reduces, clips (gradient_clipping) and steps
            self._engine.backward(loss)
            self._engine.step()
            norm = self._engine.get_global_grad_norm()
            return float(norm) if norm is not None else float("nan")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = self._clip_grads()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return norm

    def _clip_grads(self) -> float:
        max_norm = self.max_grad_norm if self.max_grad_norm and self.max_grad_norm > 0 else math.inf
        if self._prepared and self.distributed_type == "FSDP":  # the norm over every shard
            return float(self.accelerator.clip_grad_norm_(self.wrapped.parameters(), max_norm))
        params = [p for p in self.model.parameters() if p.grad is not None]
        if not params:
            return 0.0
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm).item())


def _deepspeed_engine(critic: Critic, accelerator: Any, mini_batch_size: int | None) -> tuple[Any, Any]:
    """A DeepSpeed engine for the critic from the policy's ZeRO config (stage, offload, precision).

    accelerate binds one engine to an ``Accelerator`` (a second ``prepare`` would redirect the policy's
    ``backward``), so the critic gets its own ``deepspeed.initialize`` with its own micro-batch, no gradient
    accumulation (each critic mini-batch is a full step) and its own clipping; optimizer: the critic's AdamW.
    """
    import copy

    import deepspeed

    config = copy.deepcopy(accelerator.state.deepspeed_plugin.deepspeed_config)
    for key in ("optimizer", "scheduler"):
        config.pop(key, None)
    configured = config.get("train_micro_batch_size_per_gpu")  # "auto" unless the user's JSON fixed it
    micro = int(mini_batch_size or (configured if isinstance(configured, int) else 1))
    config.update(train_micro_batch_size_per_gpu=micro, gradient_accumulation_steps=1,
                  train_batch_size=micro * accelerator.num_processes,
                  gradient_clipping=float(critic.max_grad_norm or 0.0))
    engine, optimizer, _, _ = deepspeed.initialize(model=critic.model, optimizer=critic.optimizer, config=config)
    return engine, optimizer


def _deepspeed_full_state(engine: Any, model: nn.Module) -> dict[str, torch.Tensor]:
    """The critic's full weights from its own DeepSpeed engine, on every process.

    Not ``accelerator.get_state_dict``: that reads the ZeRO stage of the engine *accelerate* built (the policy's),
    which does not exist when the critic is the only model (and need not match it). ZeRO-3 holds a slice of each
    parameter per process, so they are gathered for the copy.
    """
    if engine.zero_optimization_stage() < 3:
        return model.state_dict()
    import deepspeed

    with deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=None):
        return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
