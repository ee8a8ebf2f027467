"""One rich progress bar layout for training and generation, so both read the same way; and training *phases*.

A phase (held-out evaluation) is work inside a training run that is not a training step: announcing it with
:func:`phase` lets the training display show it as its own line and keep it out of s/step and the ETA.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


def progress_bar(label: str, field: str, eta_field: str | None = None, **kwargs: Any) -> Any:
    """A ``rich.progress.Progress``: label, bar, n/total, elapsed, ETA, then ``task.fields[field]``.

    ``eta_field``: show ``task.fields[eta_field]`` as the ETA instead of rich's own estimate (which averages
    over wall time and so counts pauses such as a held-out evaluation as slow steps).
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

    eta = TextColumn(f"{{task.fields[{eta_field}]}}") if eta_field else TimeRemainingColumn()
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
                    eta, TextColumn(f"{{task.fields[{field}]}}"), **kwargs)


class PhaseListener(Protocol):
    def phase_start(self, name: str, detail: str) -> None: ...

    def phase_end(self, name: str, seconds: float) -> None: ...


_display: list[PhaseListener] = []  # the one training display of this process (the latest run's)


def set_display(listener: PhaseListener | None) -> None:
    """Make ``listener`` the display that phase announcements go to (a new training run replaces the last)."""
    _display[:] = [listener] if listener is not None else []


@contextmanager
def phase(name: str, detail: str = "") -> Iterator[None]:
    """Announce a phase (``name``, e.g. ``held-out before``) to the training display for its duration."""
    listeners = list(_display)
    for listener in listeners:
        listener.phase_start(name, detail)
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        for listener in listeners:
            listener.phase_end(name, seconds)
