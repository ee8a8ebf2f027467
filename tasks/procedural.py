"""Procedurally generated tasks: seeded, offline, with held-out splits disjoint from training.

Each problem is assigned to a split by a hash of its *canonical key* (e.g. ``23 + 45`` and
``45 + 23`` share one), never by the random stream, so ``test`` problems can never appear in
``train`` whatever the seeds: learning evidence measured on ``test`` is on problems never seen
in training. Within a split, problems are unique. The same ``seed`` gives the same problems in
the same order, and ``limit=k`` returns the first ``k`` problems of the full list.
"""

from __future__ import annotations

import hashlib
import random
import sys
from dataclasses import dataclass
from typing import Any

from r1lite.tasks.base import Task, TaskError

DEFAULT_SIZES = {"train": 5000, "test": 500}


def split_of(key: str, test_fraction: float) -> str:
    """``"test"`` for a stable ``test_fraction`` of keys (by SHA-256), else ``"train"``."""
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64
    return "test" if bucket < test_fraction else "train"


@dataclass
class ProceduralTask(Task):
    """Generates problems with :meth:`generate`; subclasses also give :meth:`problem_key`."""

    num_examples: int | dict[str, int] | None = None  # per split; default DEFAULT_SIZES
    test_fraction: float = 0.1
    max_attempts_factor: int = 200
    splits: tuple[str, ...] = ("train", "test")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.test_fraction < 1.0:
            raise TaskError(f"task {self.name!r}: test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.source is None:
            self.source = "generated (seeded)"

    def generate(self, rng: random.Random) -> dict[str, Any]:
        """One problem: a row with ``question``, ``answer`` and the task's extras."""
        raise NotImplementedError

    def problem_key(self, row: dict[str, Any]) -> str:
        """Problems with the same key are the same problem (they land in the same split)."""
        return row["question"]

    def fingerprint(self) -> str:
        """The generation settings, mixed into the seed so different settings give different streams."""
        return ""

    def size(self, split: str) -> int:
        sizes = self.num_examples
        if isinstance(sizes, int):
            return sizes if split == "train" else max(1, min(sizes, DEFAULT_SIZES.get(split, sizes)))
        if isinstance(sizes, dict) and split in sizes:
            return int(sizes[split])
        return DEFAULT_SIZES.get(split, DEFAULT_SIZES["test"])

    def _load(self, split: str, *, source: str | None, limit: int | None, seed: int) -> Any:
        import datasets

        if source:
            return self.load_source(split, source, limit)
        self.check_split(split)
        n = self.size(split) if limit is None else limit  # an explicit limit may exceed the default size
        rows = self.generate_split(split, n, seed)
        self.last_source = f"generated ({self.fingerprint() or 'default'}; split {split}, seed {seed})"
        return datasets.Dataset.from_list(rows)

    def load_source(self, split: str, source: str, limit: int | None) -> Any:
        raise TaskError(f"task {self.name!r} is generated procedurally and takes no data source (got {source!r}); "
                        "use seed=, num_examples= and the difficulty options instead")

    def generate_split(self, split: str, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` unique problems of ``split`` drawn from the seeded stream (rejection by split hash)."""
        rng = random.Random(f"{self.name}|{self.fingerprint()}|{split}|{seed}")
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        attempts, max_attempts = 0, self.max_attempts_factor * max(n, 10)
        while len(rows) < n and attempts < max_attempts:
            attempts += 1
            row = self.generate(rng)
            if row["question"] in seen or split_of(self.problem_key(row), self.test_fraction) != self._bucket(split):
                continue
            seen.add(row["question"])
            rows.append(row)
        if len(rows) < n:
            if not rows:
                raise TaskError(f"task {self.name!r}: could not generate any {split!r} problem with these settings")
            print(f"[r1lite] task {self.name}: only {len(rows)} unique {split} problems exist at these settings "
                  f"(asked for {n}); raise the difficulty for more", file=sys.stderr)
        return rows

    def _bucket(self, split: str) -> str:
        return "train" if split == "train" else "test"


def canonical_numbers(values: list[int]) -> str:
    return ",".join(str(v) for v in sorted(values))

