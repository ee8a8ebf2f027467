"""Held-out evaluation during training: generate for fixed problems, score them with the task's own rules.

Kept separate from TRL's rollout so "before" and "after" numbers come from the same code, the same
prompts and the same (greedy by default) decoding, and mean the same as training rewards: the reward
functions the trainer uses score these completions too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

STOP_STRINGS = ("</answer>",)


def prompt_texts(prompts: Sequence[Any], tokenizer: Any) -> list[str]:
    """Strings as the trainer sees them: chat-message prompts are rendered with the generation prompt."""
    out = []
    for p in prompts:
        if isinstance(p, str):
            out.append(p)
        else:
            out.append(tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True))
    return out


def generate_texts(model: Any, tokenizer: Any, prompts: Sequence[Any], *, max_new_tokens: int,
                   temperature: float = 0.0, batch_size: int = 16, seed: int = 0,
                   stop: Sequence[str] = STOP_STRINGS, progress: Callable[[int], None] | None = None) -> list[str]:
    """One completion per prompt (greedy when ``temperature == 0``), stopping at EOS or ``</answer>``.

    Prompts are tokenized like TRL does (plain strings with the tokenizer's defaults, message lists through
    the chat template) and sorted by length so a batch wastes little left padding.
    """
    import torch

    texts = prompt_texts(prompts, tokenizer)
    is_chat = [not isinstance(p, str) for p in prompts]
    encoded = [tokenizer(t, add_special_tokens=not chat)["input_ids"] for t, chat in zip(texts, is_chat, strict=True)]
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    results: list[str] = [""] * len(texts)
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    was_training = model.training
    model.eval()
    gen_kwargs: dict[str, Any] = dict(max_new_tokens=max_new_tokens, pad_token_id=pad_id,
                                      stop_strings=list(stop) or None, tokenizer=tokenizer)
    if temperature > 0:
        gen_kwargs.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0)
    else:
        gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    try:
        with torch.inference_mode():
            for b, start in enumerate(range(0, len(order), batch_size)):
                idx = order[start:start + batch_size]
                width = max(len(encoded[i]) for i in idx)
                ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    seq = encoded[i]
                    ids[row, width - len(seq):] = torch.tensor(seq)
                    mask[row, width - len(seq):] = 1
                if temperature > 0:
                    torch.manual_seed(seed + b)
                out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **gen_kwargs)
                for row, i in enumerate(idx):
                    results[i] = _cut(tokenizer.decode(out[row, width:], skip_special_tokens=True), stop)
                if progress is not None:
                    progress(len(idx))
    finally:
        if was_training:
            model.train()
    return results


def _cut(text: str, stop: Sequence[str]) -> str:
    """Text up to and including the first stop string (a batch keeps decoding after one row stops)."""
    ends = [text.find(s) + len(s) for s in stop if s and s in text]
    return text[:min(ends)] if ends else text


def score_completions(rules: dict[str, Callable[..., list[float | None]]], completions: list[str],
                      rows: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Each rule's scores for ``completions``, called exactly like TRL calls reward functions."""
    keys = [k for k in rows[0] if k not in ("completion", "completion_ids")] if rows else []
    kwargs = {k: [r[k] for r in rows] for k in keys}
    kwargs["prompts"] = kwargs.pop("prompt", [None] * len(rows))
    return {name: list(fn(completions=completions, **kwargs)) for name, fn in rules.items()}


def _mean(values: list[float | None]) -> float | None:
    valid = [float(v) for v in values if v is not None]
    return sum(valid) / len(valid) if valid else None


def heldout_metrics(scores: dict[str, list[float | None]], completions: list[str], accuracy_rule: str,
                    format_rule: str | None, tokenizer: Any = None) -> dict[str, Any]:
    """``accuracy`` (mean of the task's accuracy rule, 1.0 = correct), ``format_rate`` and per-rule means."""
    acc = scores[accuracy_rule]
    out: dict[str, Any] = {
        "n": len(completions),
        "accuracy": _mean([None if v is None else float(v >= 1.0) for v in acc]),
        "format_rate": _mean([None if v is None else float(v >= 1.0) for v in scores[format_rule]])
        if format_rule else None,
    }
    for name, values in scores.items():
        out[f"rewards/{name}"] = _mean(values)
    if tokenizer is not None and completions:
        out["mean_length"] = sum(len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in completions) / len(
            completions)
    return out


def evaluate_heldout(model: Any, tokenizer: Any, rows: list[dict[str, Any]],
                     rules: dict[str, Callable[..., list[float | None]]], accuracy_rule: str,
                     format_rule: str | None, *, max_new_tokens: int, temperature: float = 0.0,
                     batch_size: int = 16, seed: int = 0, stop: Sequence[str] = STOP_STRINGS,
                     progress: Callable[[int], None] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate for every held-out row, score with ``rules``; returns (metrics, per-problem samples)."""
    prompts = [r["prompt"] for r in rows]
    completions = generate_texts(model, tokenizer, prompts, max_new_tokens=max_new_tokens,
                                 temperature=temperature, batch_size=batch_size, seed=seed, stop=stop,
                                 progress=progress)
    scores = score_completions(rules, completions, rows)
    metrics = heldout_metrics(scores, completions, accuracy_rule, format_rule, tokenizer)
    samples = [{"prompt": prompt_texts([r["prompt"]], tokenizer)[0], "answer": r.get("answer"), "completion": c,
                **{name: scores[name][i] for name in scores}} for i, (r, c) in enumerate(zip(rows, completions,
                                                                                               strict=True))]
    return metrics, samples
