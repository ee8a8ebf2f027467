"""One rich progress bar layout for training and generation, so both read the same way."""

from __future__ import annotations

from typing import Any


def progress_bar(label: str, field: str, **kwargs: Any) -> Any:
    """A ``rich.progress.Progress``: label, bar, n/total, elapsed, ETA, then ``task.fields[field]``.

    ``kwargs`` go to ``Progress`` (``console``, ``disable``, ``transient``). rich is imported here,
    not at module import, so importing r1lite stays cheap.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
                    TimeRemainingColumn(), TextColumn(f"{{task.fields[{field}]}}"), **kwargs)
