"""Difficulty-aware prompt sampling: skip prompts that no longer carry a learning signal *before* generating.

Dynamic sampling (``R1Trainer._postprocess_rollout``) drops a group whose rewards are all equal only after its G
completions were generated and scored. This pool keeps each training prompt's history (pass rate and whether its
group had any reward variance) and, when a prompt's last ``difficulty_window`` groups all had zero variance
(always right or always wrong), swaps it for another training prompt before the rollout, as prime-rl's difficulty
pools, OpenRLHF's dynamic filtering range and GRESO do. A settled prompt is still kept with probability
``difficulty_retry_prob`` (the exploration floor), so an unsolved prompt comes back and can be learnt later.

Metrics (per step): ``difficulty/skipped_frac`` (share of the step's scheduled prompts swapped out),
``difficulty/settled_frac`` (share of the prompts seen so far that are settled), ``difficulty/seen`` and the
pass-rate histogram of the prompts seen so far (last group each), ``difficulty/pass_rate/{0,0-0.5,0.5-1,1}``.
"""

from __future__ import annotations

import json
import random
from typing import Any

#: histogram bins of a prompt's last pass rate: (name, test)
PASS_BINS = (("0", lambda p: p <= 0.0), ("0-0.5", lambda p: 0.0 < p < 0.5), ("0.5-1", lambda p: 0.5 <= p < 1.0),
             ("1", lambda p: p >= 1.0))


def prompt_key(row: dict[str, Any]) -> str:
    prompt = row.get("prompt")
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, default=str)


class DifficultyPool:
    """Per-prompt history and the before-generation selection (single process; see the module docstring)."""

    def __init__(self, args: Any, num_generations: int) -> None:
        self.enabled = bool(getattr(args, "difficulty_sampling", False))
        self.window = int(getattr(args, "difficulty_window", 1) or 1)
        self.retry = float(getattr(args, "difficulty_retry_prob", 0.1))
        self.g = int(num_generations)
        self.seed = int(getattr(args, "seed", 0))
        self.rng = random.Random(self.seed + 104729)  # its own stream: training's is untouched
        self.history: dict[str, list[tuple[float, bool]]] = {}  # key -> [(pass rate, had reward variance)]
        self.order: list[int] | None = None
        self.cursor = 0

    # -- history -----------------------------------------------------------------------------------------------
    def settled(self, key: str) -> bool:
        h = self.history.get(key, [])
        return len(h) >= self.window and not any(var for _, var in h[-self.window:])

    def record(self, rows: list[dict[str, Any]], rewards: list[float], passed: list[float]) -> None:
        """One entry per group of ``rows`` (G consecutive rows per prompt): its pass rate (mean of ``passed``) and
        whether its total ``rewards`` differed (NaN rewards count as equal to each other)."""
        g = self.g
        for start in range(0, len(rows) - g + 1, g):
            r = [x if x == x else None for x in rewards[start:start + g]]
            p = [x for x in passed[start:start + g] if x == x]
            rate = sum(p) / len(p) if p else 0.0
            self.history.setdefault(prompt_key(rows[start]), []).append((rate, len(set(r)) > 1))

    # -- selection ---------------------------------------------------------------------------------------------
    def select(self, inputs: list[dict[str, Any]], dataset: Any) -> tuple[list[dict[str, Any]], float]:
        """``inputs`` with each settled prompt's group swapped for an unsettled prompt's (kept with probability
        ``retry``); returns (rows, share of groups swapped)."""
        g = self.g
        groups = [inputs[i:i + g] for i in range(0, len(inputs), g)]
        taken = {prompt_key(group[0]) for group in groups}
        out: list[dict[str, Any]] = []
        swapped = 0
        for group in groups:
            key = prompt_key(group[0])
            if not self.settled(key) or self.rng.random() < self.retry:
                out.extend(group)
                continue
            row = self._replacement(dataset, taken)
            if row is None:  # every prompt is settled: train on the scheduled one (dynamic sampling still drops it)
                out.extend(group)
                continue
            taken.add(prompt_key(row))
            swapped += 1
            out.extend(dict(row) for _ in range(g))
        return out, swapped / max(len(groups), 1)

    def _replacement(self, dataset: Any, taken: set[str]) -> dict[str, Any] | None:
        """The next unsettled prompt (not already in this batch) on a seeded walk over the training set."""
        n = len(dataset)
        if self.order is None:
            self.order = list(range(n))
            random.Random(self.seed + 7).shuffle(self.order)
        for _ in range(n):
            row = dict(dataset[self.order[self.cursor % n]])
            self.cursor += 1
            key = prompt_key(row)
            if key not in taken and not self.settled(key):
                return row
        return None

    # -- reporting and resuming --------------------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        last = [h[-1][0] for h in self.history.values() if h]
        out = {"difficulty/seen": float(len(last)),
               "difficulty/settled_frac": sum(self.settled(k) for k in self.history) / max(len(self.history), 1)}
        for name, test in PASS_BINS:
            out[f"difficulty/pass_rate/{name}"] = sum(1 for p in last if test(p)) / max(len(last), 1)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "cursor": self.cursor, "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = {k: [(float(r), bool(v)) for r, v in h] for k, h in state.get("history", {}).items()}
        self.cursor = int(state.get("cursor", 0))
        rng = state.get("rng")
        if rng is not None:
            self.rng.setstate((rng[0], tuple(rng[1]), rng[2]))
