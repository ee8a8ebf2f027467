"""Score a group's completions with its prompt run through the model once: exact, and G times less prompt work.

Why: GRPO scores G completions of the same prompt. TRL's log-prob pass (the update's forward and backward, the
reference model, the "old" policy) runs the full ``prompt + completion`` sequence for each of them, so the
prompt's tokens pass through the model G times. On the CPU presets the prompt (a one-shot template, ~140 tokens)
is longer than the completion (~30-60 tokens), and that repeated prompt work was most of the update.

How: the distinct prompts run once with a KV cache; the cache is expanded to every row of their groups (an index
operation, so gradients from all G completions flow back into the one prompt pass); the completions then run on top
of it through TRL's fused LM head, unchanged. Positions, attention masks and labels are exactly those of TRL's
single pass, so log-probs, entropies and gradients agree to float rounding (tested against TRL's path).

Used where it is exact and simple: a single process (DDP needs its own forward for gradient sync), no PEFT, no
gradient checkpointing (it disables the KV cache), text-only inputs, and at least one repeated prompt.
"""

from __future__ import annotations

from typing import Any

import torch


def prompt_groups(prompt_ids: torch.Tensor, prompt_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(first, inverse)``: row indices of the distinct (ids, mask) prompts, and each row's distinct prompt."""
    key = torch.cat([prompt_ids, prompt_mask.to(prompt_ids.dtype)], dim=1)
    _, inverse = torch.unique(key, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), -1, dtype=torch.long)
    for row, group in enumerate(inverse.tolist()):  # first occurrence keeps the batch's own order
        if first[group] < 0:
            first[group] = row
    order = torch.argsort(first)  # distinct prompts in order of first appearance
    remap = torch.empty_like(order)
    remap[order] = torch.arange(len(order))
    return first[order], remap[inverse]


def shared_prefix_logps(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, logits_to_keep: int,
                        compute_entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probs (and entropies) of the last ``logits_to_keep`` tokens, as TRL's fused pass gives them.

    ``model`` carries TRL's fused LM head (``add_fused_lm_head``). The prompt is ``input_ids[:, :-T]``; its last
    token is run with the completion so the first completion token is scored by the same fused head.
    """
    from transformers import DynamicCache

    t = logits_to_keep
    cut = input_ids.size(1) - t - 1  # prompt tokens held in the shared cache (all but the last)
    first, inverse = prompt_groups(input_ids[:, :cut], attention_mask[:, :cut])
    cache = DynamicCache(config=model.config)
    model.base_model(input_ids=input_ids[first, :cut], attention_mask=attention_mask[first, :cut],
                     past_key_values=cache, use_cache=True)
    cache.batch_select_indices(inverse)
    labels = input_ids[:, -t:].masked_fill(attention_mask[:, -t:] == 0, -100)
    out = model(input_ids=input_ids[:, cut:-1], attention_mask=attention_mask[:, :-1], past_key_values=cache,
                shift_labels=labels, fused_lm_head=True)
    return out.log_probs, (out.entropy if compute_entropy else None)


def can_share(trainer: Any, model: Any, input_ids: torch.Tensor, logits_to_keep: int, extra: dict[str, Any]) -> bool:
    """Whether :func:`shared_prefix_logps` applies to this call (see the module docstring for why each rule)."""
    if not getattr(trainer.args, "share_prompt_prefix", False) or trainer.accelerator.num_processes != 1:
        return False
    if any(v is not None and v is not False for k, v in extra.items() if k not in ("batch_size", "compute_entropy")):
        return False  # images, token types, MoE aux loss
    unwrapped = trainer.accelerator.unwrap_model(model)
    if unwrapped is not model or getattr(model, "is_gradient_checkpointing", False) or hasattr(model, "peft_config"):
        return False
    cut = input_ids.size(1) - logits_to_keep - 1
    if cut < 1:
        return False
    return torch.unique(input_ids[:, :cut], dim=0).size(0) < input_ids.size(0)


def group_shuffle(seq_dict: dict[str, Any], group_size: int) -> dict[str, Any]:
    """TRL's ``shuffle_sequence_dict`` with each group's rows kept together: groups in random order.

    Why: TRL shuffles the rows of a generation batch before splitting it into micro-batches, so a micro-batch of
    ``G`` rows holds rows of up to ``G`` prompts and :func:`shared_prefix_logps` runs each of them (their
    activations held for the backward) once per micro-batch they appear in. With whole groups per micro-batch a
    prompt runs once per step. The optimizer step is the same sum of gradients (losses normalised by the whole
    batch, as ``dapo``, ``dr_grpo`` and ``grpo`` are; ``bnpo`` normalises per micro-batch); only the order of
    summation changes. Rows ``[k * G, (k + 1) * G)`` are group ``k`` (TRL's layout; dynamic sampling keeps whole
    groups and appends its zero-advantage fillers last). The permutation is drawn exactly as TRL draws its own
    (one ``torch.randperm`` of the row count), so the random stream after it is unchanged; groups come in the
    order of their first row in it.
    """
    n = len(next(v for v in seq_dict.values() if v is not None))
    drawn = torch.randperm(n)
    groups = dict.fromkeys((drawn // group_size).tolist())
    order = torch.cat([torch.arange(k * group_size, min(n, (k + 1) * group_size)) for k in groups])

    def permute(value: Any) -> Any:
        if value is None or (isinstance(value, torch.Tensor) and value.ndim == 0):
            return value
        if isinstance(value, torch.Tensor):
            return value[order]
        return [value[i] for i in order.tolist()]

    return {key: permute(value) for key, value in seq_dict.items()}
