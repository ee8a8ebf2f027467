"""R1-Zero diagnostics of every training step: the curves in which an "aha moment" or a length bias shows up.

Computed from each step's completions and their rule scores (the rows ``samples.jsonl`` holds) and logged beside
TRL's metrics as ``diag/<name>`` in ``metrics.jsonl``; ``curves.png`` draws them and ``report.html`` shows them.

* ``diag/length_correct``, ``diag/length_wrong``: mean completion length (tokens) of the correct and of the wrong
  completions. Correct means the accuracy rule scored >= 1 (the held-out definition); completions the rule could
  not score are left out. A long-wrong / short-correct gap is the length bias Dr. GRPO describes.
* ``diag/reflection_rate``: reflection words per completion (case-insensitive, whole words, longest phrase
  first, so "double-check" counts once); ``diag/reflection_share``: share of completions with at least one.
* ``diag/correct_share``, ``diag/format_only_share``, ``diag/neither_share``: completions that are correct,
  well formatted but wrong, and neither (they sum to 1 over the scorable completions).
* ``diag/accuracy/<column>=<value>``: accuracy per difficulty or problem type, for each column of
  :data:`GROUP_COLUMNS` the task's rows carry (MATH ``level`` and ``type``, arithmetic ``type``: the operators).
* entropy: TRL logs the policy's mean token entropy as ``entropy`` itself.

The reflection word list (:data:`REFLECTION_WORDS`) joins the two lists R1-Zero studies count:
SimpleRL-Zoo's ``examples/simplelr_math_eval/sh/collect_results.py`` (hkust-nlp/simpleRL-reason: "recheck",
"rethink", "try again", "wait", "alternatively", "retry", "however") and understand-r1-zero's
``analysis/keyword_count.py`` (sail-sg/understand-r1-zero: "recheck", "rethink", "reassess", "reevaluate",
"re-evaluate", "reevaluation", "re-examine", "reexamine", "reconsider", "reanalyze", "double-check",
"check again", "think again", "verify again", "go over the steps"), plus "verify", "check" and "let me".
Override it with ``--reflection_words "wait,verify,let me check"``. Keyword counts are a proxy: a small model that
writes "let me" as filler is counted too, which is why the per-completion rate is plotted beside accuracy rather
than read as reflection on its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

SIMPLERL_ZOO_WORDS = ("recheck", "rethink", "try again", "wait", "alternatively", "retry", "however")
UNDERSTAND_R1_ZERO_WORDS = ("recheck", "rethink", "reassess", "reevaluate", "re-evaluate", "reevaluation",
                            "re-examine", "reexamine", "reconsider", "reanalyze", "double-check", "check again",
                            "think again", "verify again", "go over the steps")
REFLECTION_WORDS: tuple[str, ...] = tuple(dict.fromkeys(
    SIMPLERL_ZOO_WORDS + UNDERSTAND_R1_ZERO_WORDS + ("verify", "check", "let me")))
#: row columns that name a problem's difficulty or type (accuracy is reported per value of each one present)
GROUP_COLUMNS = ("difficulty", "level", "type", "subject", "category")
#: the most distinct values of one column reported per step (a free-text column is not a problem type)
MAX_GROUPS = 12


def parse_words(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"wait,let me check"`` or a list -> the words; ``None`` / empty -> :data:`REFLECTION_WORDS`."""
    if value is None or value == "":
        return REFLECTION_WORDS
    items = value.split(",") if isinstance(value, str) else list(value)
    words = tuple(dict.fromkeys(w.strip().lower() for w in items if w and w.strip()))
    return words or REFLECTION_WORDS


def reflection_pattern(words: Sequence[str] = REFLECTION_WORDS) -> re.Pattern[str]:
    """One regex for all ``words``: whole words, case-insensitive, longest first (a phrase counts once)."""
    alternatives = sorted({re.escape(w.lower()) for w in words if w.strip()}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)


def count_reflections(text: str, pattern: re.Pattern[str]) -> int:
    return sum(1 for _ in pattern.finditer(text or ""))


def completion_text(completion: Any) -> str:
    """A completion as text: TRL keeps conversational completions as message lists."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) if isinstance(m, dict) else str(m) for m in completion)
    return str(completion)


def prompt_id(prompt: Any) -> str:
    """A short stable id of a prompt (the same problem gets the same id in every step and file)."""
    return hashlib.sha1(completion_text(prompt).encode("utf-8")).hexdigest()[:10]


@dataclass
class Diagnostics:
    """What the diagnostics need to know about a run: which rule means correct and which well formatted, the
    reflection words and the row columns that group problems. ``format_fn`` scores the format when the format
    rule is not a training rule (``fn(completions=..., prompts=...)``, as TRL calls rules)."""

    accuracy_rule: str | None = "accuracy"
    format_rule: str | None = "format"
    words: tuple[str, ...] = REFLECTION_WORDS
    group_columns: tuple[str, ...] = GROUP_COLUMNS
    format_fn: Callable[..., list[float | None]] | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.words = parse_words(self.words)
        self.pattern = reflection_pattern(self.words)

    # -------------------------------------------------------------------------------------------------
    def rows(self, prompts: Sequence[Any], completions: Sequence[Any], rewards: dict[str, Sequence[Any]],
             lengths: Sequence[int] | None = None, labels: dict[str, Sequence[Any]] | None = None) -> list[dict]:
        """Per completion: ``prompt_id``, ``length`` (tokens, when given), ``reflections`` (count), ``correct``
        and ``formatted`` (True / False / None when the rule could not score it) and ``labels``."""
        texts = [completion_text(c) for c in completions]
        acc = _scores(rewards.get(self.accuracy_rule) if self.accuracy_rule else None, len(texts))
        fmt = _scores(rewards.get(self.format_rule) if self.format_rule else None, len(texts))
        if self.format_rule and self.format_rule not in rewards and self.format_fn is not None and texts:
            try:
                fmt = _scores(list(self.format_fn(completions=list(completions), prompts=list(prompts))), len(texts))
            except Exception:  # noqa: BLE001 - a diagnostic must never stop training
                fmt = [None] * len(texts)
        out = []
        for i, text in enumerate(texts):
            row: dict[str, Any] = {"prompt_id": prompt_id(prompts[i]) if i < len(prompts) else None,
                                   "reflections": count_reflections(text, self.pattern),
                                   "correct": None if acc[i] is None else acc[i] >= 1.0,
                                   "formatted": None if fmt[i] is None else fmt[i] >= 1.0}
            if lengths is not None and i < len(lengths):
                row["length"] = int(lengths[i])
            row_labels = {k: v[i] for k, v in (labels or {}).items() if i < len(v) and v[i] not in (None, "")}
            if row_labels:
                row["labels"] = {k: str(v) for k, v in row_labels.items()}
            out.append(row)
        return out


def step_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """``diag/*`` metrics (module docstring) of one step's :meth:`Diagnostics.rows`; a metric without data is
    left out (no completion was correct: no ``diag/length_correct``)."""
    out: dict[str, float] = {}
    if not rows:
        return out
    out["diag/reflection_rate"] = sum(r["reflections"] for r in rows) / len(rows)
    out["diag/reflection_share"] = sum(r["reflections"] > 0 for r in rows) / len(rows)
    for name, want in (("correct", True), ("wrong", False)):
        lengths = [r["length"] for r in rows if r.get("correct") is want and r.get("length") is not None]
        if lengths:
            out[f"diag/length_{name}"] = sum(lengths) / len(lengths)
    scored = [r for r in rows if r.get("correct") is not None]
    if scored:
        correct = sum(r["correct"] for r in scored)
        format_only = sum(not r["correct"] and r.get("formatted") is True for r in scored)
        out["diag/correct_share"] = correct / len(scored)
        out["diag/format_only_share"] = format_only / len(scored)
        out["diag/neither_share"] = (len(scored) - correct - format_only) / len(scored)
    groups: dict[str, dict[str, list[bool]]] = {}
    for r in scored:
        for column, value in (r.get("labels") or {}).items():
            groups.setdefault(column, {}).setdefault(value, []).append(bool(r["correct"]))
    for column, by_value in groups.items():
        if len(by_value) > MAX_GROUPS:
            continue
        for value, hits in sorted(by_value.items()):
            out[f"diag/accuracy/{column}={value}"] = sum(hits) / len(hits)
    return out


def group_columns_of(columns: Sequence[str], wanted: Sequence[str] = GROUP_COLUMNS) -> list[str]:
    return [c for c in wanted if c in set(columns)]


def _scores(values: Sequence[Any] | None, n: int) -> list[float | None]:
    if values is None:
        return [None] * n
    out: list[float | None] = []
    for v in list(values)[:n]:
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = None
        out.append(None if f is None or f != f else f)  # NaN: the rule could not score it
    return out + [None] * (n - len(out))


# ---------------------------------------------------------------------------------------------------
# reading the curves back (plots, report, bench/algos)
# ---------------------------------------------------------------------------------------------------
def diag_curves(steps: Sequence[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """``{metric: [(step, value), ...]}`` for every ``diag/*`` key (and ``entropy``) in ``metrics.jsonl`` rows."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for row in steps:
        for key, value in row.items():
            if (key.startswith("diag/") or key == "entropy") and isinstance(value, (int, float)) \
                    and not isinstance(value, bool) and value == value:
                curves.setdefault(key, []).append((int(row.get("step", 0)), float(value)))
    return curves


def draw_panels(axes: Sequence[Any], steps: Sequence[dict[str, Any]], style: Callable[[int, int], dict]) -> None:
    """The diagnostics panels of ``curves.png`` on ``axes`` (4): outcome shares, length of correct vs wrong
    completions, reflection words per completion, accuracy per difficulty / type (entropy and its trend have
    their own panel, :func:`r1lite.train.callbacks.draw_curves`)."""
    curves = diag_curves(steps)
    panels = [
        ("completions: correct / format only / neither", "share", (-0.04, 1.04),
         [("diag/correct_share", "correct"), ("diag/format_only_share", "formatted, wrong"),
          ("diag/neither_share", "neither")]),
        ("completion length: correct vs wrong", "tokens", None,
         [("diag/length_correct", "correct"), ("diag/length_wrong", "wrong")]),
        ("reflection words", "per completion / share", None,
         [("diag/reflection_rate", "words per completion"), ("diag/reflection_share", "share with >= 1")]),
        ("accuracy by difficulty / type", "accuracy", (-0.04, 1.04),
         [(k, k.removeprefix("diag/accuracy/")) for k in sorted(curves) if k.startswith("diag/accuracy/")]),
    ]
    for ax, (title, ylabel, ylim, keys) in zip(axes, panels, strict=False):
        drawn = 0
        for i, (key, label) in enumerate(keys):
            pts = curves.get(key)
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, label=label, **style(i, len(xs)))
            drawn += 1
        ax.set(xlabel="step", ylabel=ylabel, title=title)
        if ylim:
            ax.set_ylim(*ylim)
        if not drawn:
            note = "the task's rows name no difficulty or type" if "difficulty" in title else "not logged"
            ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.4")
        else:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
