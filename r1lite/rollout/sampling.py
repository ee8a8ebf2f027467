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


def generate_texts(backend: Any, prompts: Sequence[Any], *, max_new_tokens: int, temperature: float = 0.0,
                   seed: int = 0, stop: Sequence[str] = STOP_STRINGS) -> list[str]:
    """One completion per prompt (greedy when ``temperature == 0``) from a :mod:`r1lite.rollout.generation` backend,
    ending at EOS or a stop string; chat-message prompts are rendered as TRL renders them."""
    texts = prompt_texts(prompts, backend.tokenizer)
    out = backend.generate(texts, n=1, temperature=temperature, top_p=1.0, max_new_tokens=max_new_tokens,
                           seed=seed, stop=tuple(stop), progress=False)
    return [row[0].text for row in out]


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


def evaluate_heldout(backend: Any, rows: list[dict[str, Any]],
                     rules: dict[str, Callable[..., list[float | None]]], accuracy_rule: str,
                     format_rule: str | None, *, max_new_tokens: int, temperature: float = 0.0,
                     seed: int = 0, stop: Sequence[str] = STOP_STRINGS) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate for every held-out row with ``backend``, score with ``rules``; returns (metrics, samples)."""
    tokenizer = backend.tokenizer
    prompts = [r["prompt"] for r in rows]
    completions = generate_texts(backend, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                                 seed=seed, stop=stop)
    scores = score_completions(rules, completions, rows)
    metrics = heldout_metrics(scores, completions, accuracy_rule, format_rule, tokenizer)
    samples = [{"prompt": prompt_texts([r["prompt"]], tokenizer)[0], "answer": r.get("answer"), "completion": c,
                **{name: scores[name][i] for name in scores}} for i, (r, c) in enumerate(zip(rows, completions,
                                                                                               strict=True))]
    return metrics, samples
