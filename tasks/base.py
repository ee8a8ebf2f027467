"""The task contract and registry.

A *task* bundles what a recipe and the evaluator need to know about one kind of problem:
where the data comes from (:meth:`Task.load`), how the gold answer is extracted (already
done in the loaded ``answer`` column), which reward rules score it (``rewards`` with weights,
``reward_params``) and which extraction mode evaluation uses (``eval_mode``).

Tasks register like reward rules: ``@task("name")`` on a :class:`Task` subclass, an instance
or a factory; users load their own as ``path/to/file.py:obj``, ``package.module:obj`` or an
entry point in the group ``r1lite.tasks``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from r1lite.registry import Registry, RegistryError

TASKS: Registry[Any] = Registry("task", "r1lite.tasks", builtins="r1lite.tasks.builtin")

DEFAULT_REWARDS: dict[str, float] = {"accuracy": 1.0, "format": 0.2}


class TaskError(ValueError):
    """A task cannot be built or its data cannot be loaded; the message says what to do."""


@dataclass
class Task:
    """One kind of problem. Subclasses implement :meth:`_load`; :meth:`load` checks the contract.

    ``load`` returns a ``datasets.Dataset`` with at least ``question: str`` and ``answer: str``
    (the gold, already extracted); task extras (e.g. Countdown's ``nums``/``target``) are more
    columns, which TRL passes to the reward rules as keyword arguments.
    """

    name: str = ""
    description: str = ""
    rewards: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_REWARDS))
    reward_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    eval_mode: str = "strict"
    splits: tuple[str, ...] = ("train", "test")
    accuracy_rule: str = "accuracy"  # the rule that means "correct" (held-out numbers, evaluation)
    source: str | None = None  # default source: a Hub id, a local file, or a description
    last_source: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.eval_mode not in ("strict", "lenient"):
            raise TaskError(f"task {self.name!r}: eval_mode must be 'strict' or 'lenient', got {self.eval_mode!r}")
        self.splits = tuple(self.splits)

    def load(self, split: str = "train", *, source: str | None = None, limit: int | None = None,
             seed: int = 0) -> Any:
        """The problems of ``split`` as a ``datasets.Dataset`` (``question``, ``answer``, extras).

        ``source`` overrides where the data comes from (a local file or a Hub id); ``limit``
        keeps the first ``limit`` problems; ``seed`` drives procedural generation (same seed,
        same problems in the same order).
        """
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise TaskError(f"task {self.name!r}: limit must be a non-negative integer or None, got {limit!r}")
        if limit == 0:
            import datasets

            return datasets.Dataset.from_dict({"question": [], "answer": []})
        data = self._load(split, source=source, limit=limit, seed=seed)
        missing = {"question", "answer"} - set(data.column_names)
        if missing:
            raise TaskError(f"task {self.name!r} produced no {sorted(missing)} column(s); columns: {data.column_names}")
        if limit is not None and len(data) > limit:
            data = data.select(range(limit))
        return data

    def _load(self, split: str, *, source: str | None, limit: int | None, seed: int) -> Any:
        raise NotImplementedError(f"task {self.name!r} does not implement _load()")

    def check_split(self, split: str) -> None:
        if split not in self.splits:
            raise TaskError(f"task {self.name!r} has no split {split!r}; available: {', '.join(self.splits)}")

    def info(self) -> dict[str, Any]:
        """What ``r1lite tasks list`` shows."""
        return {"name": self.name, "description": self.description, "source": self.source or "",
                "splits": list(self.splits), "rewards": dict(self.rewards), "eval_mode": self.eval_mode}


def task(name: str, *, overwrite: bool = False) -> Callable[[Any], Any]:
    """Register a task under ``name``: a :class:`Task` subclass, a Task instance or a factory."""
    return TASKS.register(name, overwrite=overwrite)


def list_tasks() -> list[str]:
    return TASKS.names()


def get_task(spec: str, **options: Any) -> Task:
    """The task named ``spec`` (or ``file.py:obj``, ``module:obj``, ``gym:<dataset>``), built with ``options``.

    ``options`` are the task's fields and knobs, e.g. ``difficulty``/``num_examples`` for the
    procedural tasks or ``source``/``question_key``/``answer_key`` for data-backed ones.
    """
    if isinstance(spec, Task):
        return dataclasses.replace(spec, **options) if options else spec
    if not isinstance(spec, str) or not spec.strip():
        raise TaskError(f"empty task name; available: {', '.join(list_tasks())}")
    spec = spec.strip()
    if spec.startswith("gym:"):
        from r1lite.tasks.gym import gym_task

        return gym_task(spec[len("gym:"):], **options)
    try:
        obj = TASKS.get(spec)
    except RegistryError as exc:
        raise TaskError(str(exc)) from exc
    default_name = spec.rsplit(":", 1)[-1]
    return _instantiate(obj, spec, default_name, options)


def _instantiate(obj: Any, spec: str, default_name: str, options: dict[str, Any]) -> Task:
    if isinstance(obj, Task):
        built = dataclasses.replace(obj, **_checked(type(obj), spec, options)) if options else obj
    elif callable(obj):
        try:
            built = obj(**_checked(obj, spec, options))
        except TypeError as exc:
            raise TaskError(f"task {spec!r}: bad options {sorted(options)}: {exc}") from exc
    else:
        raise TaskError(f"task {spec!r} is neither a Task nor a callable returning one (got {type(obj).__name__})")
    if not isinstance(built, Task):
        raise TaskError(f"task {spec!r} must produce an r1lite.tasks.Task, got {type(built).__name__}")
    if not built.name:
        built.name = default_name
    return built


def _checked(target: Any, spec: str, options: dict[str, Any]) -> dict[str, Any]:
    """Reject unknown options with the list of accepted ones (a typo must not be ignored)."""
    if not options:
        return options
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return options
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    unknown = sorted(set(options) - set(params))
    if unknown:
        accepted = ", ".join(n for n in params if n != "self")
        raise TaskError(f"task {spec!r} has no option(s) {', '.join(unknown)}; accepted: {accepted}")
    return options
