"""The no-signal guard: say so, loudly and once, when GRPO has nothing to learn from.

GRPO's advantage is a completion's reward minus its group's mean. When every completion of a group scores
the same, the group's advantages, and so its gradient, are exactly zero; when (nearly) every group is like
that, the run burns hours with loss 0 and learns nothing. TRL logs ``frac_reward_zero_std`` and carries on;
this module turns the same numbers into one line that says why (all unformatted / all wrong / all right,
read from the per-rule rewards) and what to change. The dry run and the first steps of training use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: fire when at most this fraction of groups has any reward variance ("nearly every group is flat")
MAX_INFORMATIVE = 0.1
#: training steps looked at before deciding (once per run)
FIRST_STEPS = 3
_ZERO = 0.02  # a rule mean below this counts as "never earned"
BIGGER_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"


@dataclass
class SignalCheck:
    """What a batch (or the first steps) showed: group count, informative fraction, per-rule mean rewards."""

    groups: int
    informative: float  # fraction of groups with any reward variance
    rule_means: dict[str, float] = field(default_factory=dict)
    truncated: float | None = None  # fraction of completions that hit max_completion_length
    no_answer: float | None = None  # fraction of completions with no <answer> (accuracy rule diagnostics)
    where: str = "this batch"

    @property
    def silent(self) -> bool:
        return self.informative <= MAX_INFORMATIVE


def logged_rules(logs: dict[str, Any]) -> list[str]:
    """Rule names as the trainer logged them (``rewards/<name>/mean``, in rule order). TRL names a rule after
    the function it wraps (``format_reward`` for r1lite's ``format``), so readers take names from the log."""
    return [k[len("rewards/"):-len("/mean")] for k in logs if k.startswith("rewards/") and k.endswith("/mean")]


def _find(names: list[str], *wanted: str) -> str | None:
    for want in wanted:
        for name in names:
            if name == want or name.startswith(want):
                return name
    return None


def rule_roles(names: list[str], accuracy_rule: str | None) -> tuple[str | None, str | None]:
    """(accuracy rule, format rule) among logged rule names (TRL logs a rule under its ``__name__``)."""
    acc = _find(names, *([accuracy_rule] if accuracy_rule else []), "accuracy", "countdown")
    fmt = _find(names, "format", "tag_count")
    return acc, fmt


def cause(check: SignalCheck, accuracy_rule: str | None, format_rule: str | None) -> str:
    """Why the groups are flat, in words, decided from the per-rule mean rewards."""
    means = check.rule_means
    acc = means.get(accuracy_rule) if accuracy_rule else None
    fmt = means.get(format_rule) if format_rule else None
    shown = ", ".join(f"{n} {v:.2f}" for n, v in means.items())
    unformatted = (fmt is not None and fmt < _ZERO) or (check.no_answer is not None and check.no_answer > 1 - _ZERO)
    if acc is not None and acc < _ZERO and unformatted:
        return f"all unformatted: no completion wrote the <think>/<answer> format, so none could be graded ({shown})"
    if acc is not None and acc < _ZERO:
        return f"all wrong: completions are formatted but no answer is correct ({shown})"
    if acc is not None and acc > 1 - _ZERO:
        return f"all right: every completion is already correct, the problems are too easy ({shown})"
    return f"every completion of a group earned the same reward ({shown})"


def remedies(kind: str, cfg: Any, truncated: float | None) -> list[str]:
    """What to change, for this config: the template, the completion budget, stop strings, model, group size."""
    budget = int(getattr(cfg, "max_completion_length", 0) or 0)
    g = int(getattr(cfg, "num_generations", 0) or 0)
    template = getattr(cfg, "template", None)
    hit = f", {truncated:.0%} of completions hit {budget} tokens" if truncated else ""
    model = str(getattr(cfg, "model", ""))
    bigger = f"a bigger model (--model {BIGGER_MODEL})" if model != BIGGER_MODEL else "a bigger --model"
    if kind == "all right":
        return ["harder problems (task_options, another --task)", "a smaller model"]
    out = []
    if kind == "all unformatted":
        if template in (None, "", "auto", "chat", "r1zero"):
            out.append("an easier template with one worked example (--template FILE, e.g. "
                       "recipes/templates/arithmetic_oneshot.txt)")
        else:
            out.append("an easier template or a one-shot example that shows the <think>/<answer> tags")
    if budget:
        out.append(f"a larger completion budget (--max_completion_length {budget * 2}{hit})")
    if not getattr(cfg, "stop_strings", None):
        out.append("stop at the answer (--stop_strings </answer>)")
    out.append(bigger)
    if g:
        out.append(f"more generations per prompt (--num_generations {g * 2})")
    if kind == "all wrong":
        out.insert(0, "easier problems (task_options, --task arithmetic)")
    return out


def no_signal_line(check: SignalCheck, cfg: Any, accuracy_rule: str | None, format_rule: str | None) -> str | None:
    """One loud line when (nearly) every group has zero reward variance, else None."""
    if not check.silent or check.groups < 1:
        return None
    why = cause(check, accuracy_rule, format_rule)
    kind = why.split(":", 1)[0]
    informative = round(check.informative * check.groups)
    return (f"r1lite: NO LEARNING SIGNAL: {informative} of {check.groups} groups in {check.where} have any reward "
            f"variance, so GRPO's advantages and updates are zero. Why: {why}. Try: "
            + "; ".join(remedies(kind, cfg, check.truncated)) + ".")


def check_groups(totals: list[float], scores: dict[str, list[float | None]], group_size: int,
                 truncated: float | None = None, where: str = "this batch") -> SignalCheck:
    """A :class:`SignalCheck` from per-completion total rewards (rows grouped consecutively, as TRL does)."""
    g = max(1, group_size)
    groups = [totals[k:k + g] for k in range(0, len(totals), g)]
    informative = sum(max(grp) - min(grp) > 1e-6 for grp in groups if grp) / max(1, len(groups))
    means = {n: sum(float(v or 0.0) for v in vals) / max(1, len(vals)) for n, vals in scores.items()}
    return SignalCheck(len(groups), informative, means, truncated, where=where)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _truncated(rows: list[dict[str, Any]], args: Any) -> float | None:
    """Fraction of completions that hit the budget. TRL's ``clipped_ratio`` counts a completion cut at a stop
    string as clipped too (no EOS), so with stop strings only "every completion ran to the budget" is known."""
    if not getattr(args, "stop_strings", None):
        return _mean([float(r["completions/clipped_ratio"]) for r in rows if "completions/clipped_ratio" in r])
    budget = int(getattr(args, "max_completion_length", 0) or 0)
    shortest = [float(r["completions/min_length"]) for r in rows if "completions/min_length" in r]
    return 1.0 if budget and shortest and min(shortest) >= budget else None


class NoSignalGuard:
    """Watches the first :data:`FIRST_STEPS` training logs and returns the no-signal line once, if it applies.

    Reads only what the trainer logs every step: ``dynamic_sampling/zero_variance_frac`` (r1lite) or TRL's
    ``frac_reward_zero_std``, ``rewards/<rule>/mean``, ``completions/clipped_ratio`` and the accuracy rule's
    ``no_answer_rate``. Group size 1 (PPO's default) has no groups to compare: the guard stays quiet.
    """

    def __init__(self, rule_names: list[str], accuracy_rule: str | None, first_steps: int = FIRST_STEPS) -> None:
        self.names = list(rule_names)
        self.wanted_accuracy = accuracy_rule
        self.accuracy_rule, self.format_rule = rule_roles(self.names, accuracy_rule)
        self.first_steps = first_steps
        self.logs: list[dict[str, Any]] = []
        self.done = False

    def observe(self, logs: dict[str, Any], args: Any, max_steps: int | None = None) -> str | None:
        """Feed one step's logs; returns the line (once) when the first steps had no signal."""
        if self.done or int(getattr(args, "num_generations", 0) or 0) < 2:
            return None
        zero = logs.get("dynamic_sampling/zero_variance_frac", logs.get("frac_reward_zero_std"))
        if not isinstance(zero, (int, float)):
            return None
        if not self.logs and logged_rules(logs):
            self.names = logged_rules(logs)
            self.accuracy_rule, self.format_rule = rule_roles(self.names, self.wanted_accuracy)
        self.logs.append(logs)
        wanted = min(self.first_steps, max_steps) if max_steps and max_steps > 0 else self.first_steps
        if len(self.logs) < wanted:
            return None
        self.done = True
        return no_signal_line(self.check(args), args, self.accuracy_rule, self.format_rule)

    def check(self, args: Any) -> SignalCheck:
        rows = self.logs
        zero = _mean([float(r.get("dynamic_sampling/zero_variance_frac", r.get("frac_reward_zero_std", 0.0)))
                      for r in rows]) or 0.0
        per_step = max(1, int(getattr(args, "generation_batch_size", 0) or 0) // int(args.num_generations))
        means = {n: m for n in self.names
                 if (m := _mean([float(r[f"rewards/{n}/mean"]) for r in rows if f"rewards/{n}/mean" in r]))
                 is not None}
        clipped = _truncated(rows, args)
        key = f"rewards/{self.accuracy_rule}/no_answer_rate"
        no_answer = _mean([float(r[key]) for r in rows if key in r])
        steps = len(rows)
        return SignalCheck(per_step * steps, 1.0 - zero, means, clipped, no_answer,
                           where=f"the first {steps} step{'s' if steps > 1 else ''}")
