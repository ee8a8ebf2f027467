"""Tasks (``r1lite.tasks``): data source, prompt template, gold extraction and rewards for one kind of problem.

``get_task("gsm8k").load("test")`` gives a ``datasets.Dataset`` with ``question`` and ``answer``
(the gold). Register your own with ``@task("name")`` or load it as ``path/to/file.py:obj``,
``package.module:obj`` or an entry point in the group ``r1lite.tasks``.
"""

from r1lite.tasks.base import TASKS, Task, TaskError, get_task, list_tasks, task
from r1lite.tasks.sources import DataSourceError

__all__ = ["TASKS", "DataSourceError", "Task", "TaskError", "get_task", "list_tasks", "task"]
