"""``gym:<name>``: any reasoning-gym dataset as a task, scored by reasoning-gym's own ``score_answer``.

reasoning-gym is optional (``pip install 'r1lite[gym]'``); it is imported only when a ``gym:``
task is built or scored. ``get_task("gym:leg_counting", seed-independent options...)``: options
that are not task fields (``num_examples``, ``test_fraction``) go to the dataset's config (e.g.
``min_animals``). Splits ``train``/``test`` are disjoint by a hash of the question, as for the
built-in generated tasks.

Each row carries ``gym_ref`` (JSON: dataset, seed, size, config, index) from which the ``gym``
reward rule regenerates the exact reasoning-gym entry (entries can hold arbitrary Python objects
that a ``datasets.Dataset`` column cannot), then scores the extracted answer with
``dataset.score_answer(answer, entry)``.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass, field, fields
from typing import Any

from r1lite.rewards.base import completion_texts, reward_rule, score_answers
from r1lite.tasks.base import TaskError
from r1lite.tasks.procedural import ProceduralTask, split_of

GYM_SIZE = 1_000_000
INSTALL_HINT = "pip install 'r1lite[gym]' (or pip install reasoning-gym)"


def import_reasoning_gym() -> Any:
    try:
        import reasoning_gym
    except ImportError as exc:
        raise TaskError(f"gym tasks need the reasoning-gym package, which is not installed: {INSTALL_HINT}") from exc
    return reasoning_gym


def available_datasets() -> list[str]:
    rg = import_reasoning_gym()
    return sorted(getattr(rg.factory, "DATASETS", {}))


@functools.lru_cache(maxsize=64)
def _dataset(name: str, seed: int, size: int, config_json: str) -> Any:
    rg = import_reasoning_gym()
    return rg.create_dataset(name, seed=seed, size=size, **json.loads(config_json))


@dataclass
class GymTask(ProceduralTask):
    """One reasoning-gym dataset; ``config`` is passed to ``reasoning_gym.create_dataset``."""

    dataset: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    rewards: dict[str, float] = field(default_factory=lambda: {"gym": 1.0, "format": 0.2})
    accuracy_rule: str = "gym"

    def __post_init__(self) -> None:
        super().__post_init__()
        names = available_datasets()
        if self.dataset not in names:
            raise TaskError(f"unknown reasoning-gym dataset {self.dataset!r}; available: {', '.join(names)}")
        self.name = self.name or f"gym:{self.dataset}"
        self.description = self.description or f"reasoning-gym dataset {self.dataset}"
        self.source = f"reasoning-gym {self.dataset}"
        self._config_json = json.dumps(self.config, sort_keys=True)

    def fingerprint(self) -> str:
        return f"{self.dataset} {self._config_json}"

    def generate_split(self, split: str, n: int, seed: int) -> list[dict[str, Any]]:
        share = self.test_fraction if split != "train" else 1 - self.test_fraction
        # a fixed bound (entries are generated lazily per index), so gym_ref does not depend on n
        size = max(GYM_SIZE, int(n / share * 2) + 50)
        try:
            ds = _dataset(self.dataset, seed, size, self._config_json)
        except TaskError:
            raise
        except Exception as exc:  # bad config keys surface here
            raise TaskError(f"gym:{self.dataset}: cannot create the dataset with config {self.config}: {exc}") from exc
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index in range(size):
            entry = ds[index]
            question = str(entry["question"]).strip()
            if question in seen or split_of(question, self.test_fraction) != self._bucket(split):
                continue
            seen.add(question)
            ref = {"dataset": self.dataset, "seed": seed, "size": size, "config": self.config, "index": index}
            answer = entry.get("answer")
            rows.append({"question": question, "answer": "" if answer is None else str(answer),
                         "gym_ref": json.dumps(ref, sort_keys=True)})
            if len(rows) >= n:
                break
        if len(rows) < n:
            print(f"[r1lite] task gym:{self.dataset}: only {len(rows)} unique {split} problems found (asked for {n})",
                  file=sys.stderr)
        if not rows:
            raise TaskError(f"gym:{self.dataset}: no {split!r} problem generated")
        return rows


def gym_task(dataset: str, **options: Any) -> GymTask:
    """Build ``gym:<dataset>``: task fields from ``options``, the rest is the dataset's config."""
    if not dataset:
        raise TaskError("gym task needs a dataset name: gym:<name>, e.g. gym:leg_counting")
    names = {f.name for f in fields(GymTask) if f.init}
    task_opts = {k: v for k, v in options.items() if k in names and k not in ("dataset", "config")}
    config = dict(options.pop("config", None) or {})
    config.update({k: v for k, v in options.items() if k not in names})
    return GymTask(dataset=dataset, config=config, **task_opts)


def _entry(ref_json: str) -> tuple[Any, Any]:
    ref = json.loads(ref_json)
    ds = _dataset(ref["dataset"], int(ref["seed"]), int(ref["size"]), json.dumps(ref["config"], sort_keys=True))
    return ds, ds[int(ref["index"])]


@reward_rule("gym")
def gym_reward(completions: list[Any], mode: str = "strict", **kwargs: Any) -> list[float | None]:
    """reasoning-gym's own ``score_answer`` (0..1) on the extracted answer; needs the ``gym_ref`` column.

    ``mode``: answer extraction (``strict``: the ``<answer>`` tag only; ``lenient``: else last
    ``\\boxed{}``, else last number). No answer scores 0.0. Diagnostics: ``no_answer``, ``score_error``.
    """
    texts = completion_texts(completions)
    refs = kwargs.get("gym_ref")
    if refs is None or len(refs) != len(texts):
        raise ValueError("reward rule 'gym' needs the dataset column 'gym_ref' (one per completion), which "
                         "gym:<name> tasks provide")

    def one(answer: str, i: int) -> tuple[float, str | None]:
        try:
            ds, entry = _entry(refs[i])
            return float(ds.score_answer(answer=answer, entry=entry)), None
        except Exception:  # a scorer crash on odd output is a wrong answer, counted
            return 0.0, "score_error"

    return score_answers("gym", texts, mode, one, kwargs, ("score_error",))
