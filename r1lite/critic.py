"""The PPO critic: a causal-LM backbone with a scalar value head, and its own optimizer.

``ValueModel`` reads V(s_t) for each completion token from the backbone's last hidden state at the position
that also predicts that token (the state before it is emitted). ``Critic`` owns the model, an AdamW
optimizer with its own learning rate and gradient clipping, and the clipped value-loss update.

Saved like a transformers model: ``save_pretrained(dir)`` writes the backbone (``config.json`` +
``model.safetensors``), ``value_head.safetensors`` and ``critic.json``; ``Critic.save`` adds the optimizer
state (``optimizer.pt``) so a resumed run continues with the same Adam moments.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from r1lite.ppo_core import clipped_value_loss

HEAD_FILE = "value_head.safetensors"
META_FILE = "critic.json"
OPTIM_FILE = "optimizer.pt"


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
    """Backbone (``AutoModel``, no LM head) + ``nn.Linear(hidden, 1)``."""

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

    def save_pretrained(self, out_dir: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.backbone.save_pretrained(out)
        save_file({f"head.{k}": v.detach().contiguous().cpu() for k, v in self.head.state_dict().items()},
                  str(out / HEAD_FILE))
        (out / META_FILE).write_text(json.dumps({"hidden_size": self.head.in_features,
                                                 "backbone": type(self.backbone).__name__}, indent=1))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, L) values, one per input position."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        return self.head(out.last_hidden_state).squeeze(-1)

    def completion_values(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                          completion_ids: torch.Tensor, completion_mask: torch.Tensor) -> torch.Tensor:
        """(B, T) values V(s_t): position P-1+t holds the state before completion token t (left-padded prompts)."""
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        values = self(input_ids, attention_mask)
        p, t = prompt_ids.shape[1], completion_ids.shape[1]
        return values[:, p - 1:p - 1 + t]


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
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=weight_decay)
        # forward-pass context (a trainer sets accelerate's autocast: bf16 compute, fp32 weights and Adam state)
        self.autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext

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

    def save(self, out_dir: str | os.PathLike) -> None:
        self.model.save_pretrained(out_dir)
        torch.save(self.optimizer.state_dict(), Path(out_dir) / OPTIM_FILE)

    def load(self, in_dir: str | os.PathLike) -> None:
        """Restore weights and optimizer state saved by :meth:`save` (same architecture)."""
        src = ValueModel.from_pretrained(str(in_dir), dtype=next(self.model.parameters()).dtype)
        self.model.load_state_dict(src.state_dict())
        optim_path = Path(in_dir) / OPTIM_FILE
        if optim_path.is_file():
            self.optimizer.load_state_dict(torch.load(optim_path, map_location=self.device))

    def check_vocab(self, vocab_size: int) -> None:
        """The critic reads the policy's token ids: its embedding must cover the same vocabulary."""
        own = getattr(self.model.config, "vocab_size", None)
        if own is not None and own != vocab_size:
            raise CriticError(f"critic vocabulary ({own}) differs from the policy's ({vocab_size}): a critic "
                              "must use the policy's tokenizer; pick a critic model from the same family")

    @torch.no_grad()
    def values(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, completion_ids: torch.Tensor,
               completion_mask: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        """(B, T) values at rollout time (no gradient), in chunks of ``batch_size`` rows."""
        was_training = self.model.training
        self.model.eval()
        n = prompt_ids.shape[0]
        step = batch_size or n
        with self.autocast():
            chunks = [self.model.completion_values(prompt_ids[i:i + step], prompt_mask[i:i + step],
                                                   completion_ids[i:i + step], completion_mask[i:i + step]).float()
                      for i in range(0, n, step)]
        self.model.train(was_training)
        return torch.cat(chunks, dim=0).float() * completion_mask.float()

    def update(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, completion_ids: torch.Tensor,
               completion_mask: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
               clip: float | None = 0.2, epochs: int = 1, mini_batch_size: int | None = None,
               seed: int = 0, loss_mask: torch.Tensor | None = None) -> CriticStats:
        """``epochs`` passes of the clipped value loss over the rollout, in shuffled mini-batches.

        ``loss_mask`` (default: ``completion_mask``) picks the tokens the loss counts, e.g. without the rows of
        unscorable completions, whose return is unknown; ``completion_mask`` stays the attention mask.

        Under DDP (several processes) gradients are averaged across processes before clipping, so every
        replica of the critic takes the same step.
        """
        if epochs < 1:
            raise CriticError(f"critic epochs must be >= 1, got {epochs}")
        n = prompt_ids.shape[0]
        loss_mask = completion_mask if loss_mask is None else loss_mask
        size = min(mini_batch_size or n, n)
        gen = torch.Generator().manual_seed(seed)
        self.model.train()
        losses, fracs, norms = [], [], []
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen).to(prompt_ids.device)
            for start in range(0, n, size):
                idx = order[start:start + size]
                with self.autocast():
                    values = self.model.completion_values(prompt_ids[idx], prompt_mask[idx], completion_ids[idx],
                                                          completion_mask[idx]).float()
                loss, clipfrac = clipped_value_loss(values, old_values[idx], returns[idx], loss_mask[idx], clip)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                _all_reduce_grads(self.model)
                norms.append(self._clip_grads())
                self.optimizer.step()
                losses.append(loss.item())
                fracs.append(clipfrac.item())
        self.optimizer.zero_grad(set_to_none=True)
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
        loss_mask = completion_mask if loss_mask is None else loss_mask
        self.model.train()
        with self.autocast():
            values = self.model.completion_values(prompt_ids, prompt_mask, completion_ids, completion_mask).float()
        old = values.detach() * completion_mask.float()
        returns = targets(old)
        loss, _ = clipped_value_loss(values, old, returns, loss_mask, None)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        _all_reduce_grads(self.model)
        norm = self._clip_grads()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return old, returns, CriticStats(loss.item(), 0.0, norm, 1)

    def _clip_grads(self) -> float:
        params = [p for p in self.model.parameters() if p.grad is not None]
        if self.max_grad_norm is None or self.max_grad_norm <= 0:
            norms = [p.grad.detach().norm() for p in params]
            return float(torch.linalg.vector_norm(torch.stack(norms)).item()) if norms else 0.0
        return float(torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm).item())


def _all_reduce_grads(model: nn.Module) -> None:
    """Average gradients over processes (no-op in a single process)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    world = torch.distributed.get_world_size()
    if world == 1:
        return
    for p in model.parameters():
        if p.grad is not None:
            torch.distributed.all_reduce(p.grad, op=torch.distributed.ReduceOp.SUM)
            p.grad /= world
