"""Tasks backed by a dataset (file, ``$R1LITE_DATA_DIR`` or the Hub), with configurable column names.

A subclass says how to get the gold answer out of one record (:meth:`DataTask.gold`); this class
does the rest: source resolution, picking the question column, dropping records without a gold
(counted and printed, never silently), and building the ``datasets.Dataset``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar

from r1lite.tasks.base import Task, TaskError
from r1lite.tasks.sources import resolve_records


@dataclass
class DataTask(Task):
    """A task whose problems come from records with a question and a gold answer.

    ``question_key``/``answer_key`` name the columns (``None``: the task's defaults, tried in
    order). ``hub_splits`` maps r1lite's split names to the Hub dataset's (e.g. AIME's only
    split is called ``train`` on the Hub but is a test set here).
    """

    question_key: str | None = None
    answer_key: str | None = None
    hub_id: str | None = None
    hub_config: str | None = None
    hub_splits: dict[str, str] = field(default_factory=dict)
    data_name: str | None = None  # folder under $R1LITE_DATA_DIR; default: the task name
    extra_keys: tuple[str, ...] = ()  # record fields copied into the dataset when present

    default_question_keys: ClassVar[tuple[str, ...]] = ("question", "problem", "prompt", "Problem", "Question")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source is None and self.hub_id:
            self.source = self.hub_id

    def gold(self, record: dict[str, Any]) -> str | None:
        """The gold answer of one record as a string, or ``None`` if it has none."""
        raise NotImplementedError

    def question(self, record: dict[str, Any]) -> str | None:
        keys = (self.question_key,) if self.question_key else self.default_question_keys
        for key in keys:
            value = record.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    def _load(self, split: str, *, source: str | None, limit: int | None, seed: int) -> Any:
        import datasets

        explicit = source or (self.source if self.source != self.hub_id else None)
        if not explicit:
            self.check_split(split)
        records, where = resolve_records(
            self.name, split, source=explicit, data_name=self.data_name or self.name, hub_id=self.hub_id,
            hub_config=self.hub_config, hub_split=self.hub_splits.get(split),
        )
        self.last_source = where
        rows, no_question, no_gold = [], 0, 0
        for rec in records:
            q = self.question(rec)
            if q is None:
                no_question += 1
                continue
            g = self.gold(rec)
            if g is None:
                no_gold += 1
                continue
            row = {"question": q, "answer": g}
            row.update(self.extras(rec))
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
        self._check_rows(records, rows, where, no_question, no_gold)
        return datasets.Dataset.from_list(rows)

    def extras(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: ("" if record.get(k) is None else str(record[k])) for k in self.extra_keys}

    def _check_rows(self, records: list[dict[str, Any]], rows: list[dict[str, Any]], where: str,
                    no_question: int, no_gold: int) -> None:
        if records and not rows:
            keys = ", ".join(sorted(records[0]))
            qk = self.question_key or "/".join(self.default_question_keys)
            raise TaskError(f"task {self.name!r}: no usable record in {where} (question key {qk}, answer key "
                            f"{self.answer_key or 'default'}); the records have keys: {keys}. "
                            "Set question_key/answer_key (--question-key/--answer-key).")
        if no_question or no_gold:
            print(f"[r1lite] task {self.name}: skipped {no_question} record(s) without a question and {no_gold} "
                  f"without a gold answer in {where}", file=sys.stderr)
