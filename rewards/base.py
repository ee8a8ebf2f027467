"""The reward-rule contract shared by every rule.

A reward rule is a plain function usable directly as a TRL ``reward_funcs`` entry::

    @reward_rule("my_rule")
    def my_rule(completions, **kwargs) -> list[float | None]: ...

``completions`` are strings or chat-message lists (TRL passes
``[[{"role": "assistant", "content": ...}]]`` for conversational data); dataset columns
(e.g. ``answer``) arrive as keyword arguments. ``None`` means "not applicable" (TRL turns it
into NaN and ignores it in the weighted sum).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from r1lite.rewards.extract import MODES, extract_answer

from r1lite.registry import Registry


class RewardRule(Protocol):
    def __call__(self, completions: list[Any], **kwargs: Any) -> list[float | None]: ...


REWARDS: Registry[RewardRule] = Registry("reward rule", "r1lite.rewards", builtins="r1lite.rewards.builtin")


def reward_rule(name: str, *, overwrite: bool = False) -> Callable[[RewardRule], RewardRule]:
    """Register a reward rule under ``name`` so configs can refer to it."""
    return REWARDS.register(name, overwrite=overwrite)


def get_rule(spec: str, **params: Any) -> RewardRule:
    """Return the rule named ``spec`` (or loaded from ``file.py:fn`` / ``module:fn``).

    ``params`` are bound as keyword defaults (e.g. ``mode="strict"``); the returned callable
    keeps a readable ``__name__`` because TRL logs rewards under it.
    """
    rule = REWARDS.get(spec)
    if not callable(rule):
        raise TypeError(f"reward rule {spec!r} is not callable (got {type(rule).__name__})")
    base = spec.rsplit(":", 1)[-1] if ":" in spec else spec
    valid = rule_parameters(rule)
    unknown = [k for k in params if k not in valid]
    if unknown:  # binding it would pass silently (rules take **kwargs) and change nothing
        raise ValueError(f"reward rule {spec!r} has no parameter {unknown[0]!r}; "
                         f"its parameters: {', '.join(valid) or 'none'}")
    if not params:
        if getattr(rule, "__name__", None) == base:
            return rule
        params = {}
    bound = functools.partial(rule, **params)
    functools.update_wrapper(bound, rule)
    bound.__name__ = base  # type: ignore[attr-defined]
    return bound  # type: ignore[return-value]


def rule_parameters(rule: Callable[..., Any]) -> list[str]:
    """Names a config or ``--set`` can bind: every named parameter after ``completions``."""
    try:
        params = list(inspect.signature(rule).parameters.values())
    except (TypeError, ValueError):  # a callable without a signature: nothing to check against
        return []
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params[1:] if p.kind in named]


def parse_settings(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["overlong.max_len=512"]`` -> ``{"overlong": {"max_len": 512}}`` (values read as JSON, else text)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        rule, dot, param = key.rpartition(".")
        if not eq or not dot or not rule or not param:
            raise ValueError(f"--set {item!r}: expected RULE.PARAM=VALUE, e.g. overlong.max_len=512")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(rule, {})[param] = value
    return out


def list_rules() -> list[str]:
    return REWARDS.names()


def completion_text(completion: Any) -> str:
    """Plain text of one completion: a string, a chat-message list, or a message dict.

    For a message list the assistant turns' contents are joined; ``None`` becomes ``""``.
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        content = completion.get("content", "")
        if isinstance(content, list):  # content blocks: [{"type": "text", "text": ...}]
            return "".join(b.get("text", "") for b in content if isinstance(b, Mapping))
        return "" if content is None else str(content)
    if isinstance(completion, (list, tuple)):
        msgs = [m for m in completion if not isinstance(m, Mapping) or m.get("role", "assistant") == "assistant"]
        return "".join(completion_text(m) for m in msgs)
    return str(completion)


def completion_texts(completions: list[Any]) -> list[str]:
    return [completion_text(c) for c in completions]


def report(rule: str, counts: Mapping[str, float], n: int, kwargs: Mapping[str, Any]) -> dict[str, float]:
    """Report a rule's diagnostics (e.g. ``{"parse_failure": 3, "timeout": 1}`` out of ``n``).

    Rates go to TRL's ``log_metric`` kwarg when present (as ``rewards/<rule>/<key>_rate``)
    and are merged into a caller-supplied ``diagnostics`` dict (the CLI and evaluator pass one
    and read raw counts). Returns the rates.
    """
    rates = {f"{k}_rate": (v / n if n else 0.0) for k, v in counts.items()}
    log_metric = kwargs.get("log_metric")
    if callable(log_metric):
        for key, rate in rates.items():
            log_metric(f"rewards/{rule}/{key}", rate)
    sink = kwargs.get("diagnostics")
    if isinstance(sink, dict):
        bucket = sink.setdefault(rule, {})
        for k, v in counts.items():
            bucket[k] = bucket.get(k, 0) + v
        bucket["n"] = bucket.get("n", 0) + n
    return rates


def score_answers(
    rule: str, texts: list[str], mode: str, score: Callable[[str, int], tuple[float, str | None]],
    kwargs: Mapping[str, Any], keys: tuple[str, ...] = (),
) -> list[float | None]:
    """The loop of a rule that checks the final answer: extract it from ``texts[i]`` (``mode``), then
    ``score(answer, i)`` returns the reward and the diagnostic to count (one of ``keys``) or None.
    A missing answer scores 0.0 and counts as ``no_answer``; the counts are :func:`report`-ed."""
    if mode not in MODES:
        raise ValueError(f"{rule}: unknown mode {mode!r}; use one of {', '.join(MODES)}")
    counts = dict.fromkeys(("no_answer", *keys), 0)
    scores: list[float | None] = []
    for i, text in enumerate(texts):
        answer = extract_answer(text, mode)  # type: ignore[arg-type]
        value, diagnostic = (0.0, "no_answer") if answer is None else score(answer, i)
        if diagnostic is not None:
            counts[diagnostic] += 1
        scores.append(value)
    report(rule, counts, len(texts), kwargs)
    return scores
