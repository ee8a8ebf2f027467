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


def format_duration(seconds: float) -> str:
    """``1h02m03s`` / ``2m03s`` / ``3s``: elapsed times and ETAs in plain progress lines."""
    s = max(0, int(round(seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class CountProgress:
    """Progress of a long job counted in items (problems of an evaluation), with rate and ETA.

    On a terminal: the shared rich bar (count, elapsed, ETA, then ``N/min  tok/s``). Elsewhere (a log file, a
    background job, CI) rich draws nothing until the end, so one plain line goes to ``stream`` (stderr) every
    ``every`` seconds and at the end: ``gsm8k: 120/1319 problems (9.1%)  12.3/min  450 tok/s  elapsed 9m45s
    eta 1h37m20s``. The ETA is the items left at the mean rate so far.
    """

    def __init__(self, description: str, total: int, enabled: bool = True, unit: str = "problems",
                 every: float = 30.0, stream: Any = None, console: Any = None) -> None:
        import sys

        self.description, self.total, self.unit, self.every = description, total, unit, every
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.done = self.tokens = 0
        self.started = self.last_line = time.perf_counter()
        self._bar = self._task = None
        if enabled:
            from rich.console import Console

            console = console or Console(stderr=True)
            if console.is_terminal:
                self._bar = progress_bar("{task.description}", "rate", console=console, transient=False)
                self._task = self._bar.add_task(description, total=total, rate="")

    def __enter__(self) -> CountProgress:
        self.started = self.last_line = time.perf_counter()
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
        elif self.enabled and exc[0] is None:
            self._line()

    def rate_text(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return f"{60 * self.done / elapsed:.1f}/min  {self.tokens / elapsed:.0f} tok/s"

    def eta_seconds(self) -> float | None:
        if self.done == 0:
            return None
        return (self.total - self.done) * (time.perf_counter() - self.started) / self.done

    def advance(self, n: int = 1, tokens: int = 0) -> None:
        self.done += n
        self.tokens += tokens
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=n, rate=self.rate_text())
        elif time.perf_counter() - self.last_line >= self.every:
            self._line()

    def _line(self) -> None:
        self.last_line = now = time.perf_counter()
        eta = self.eta_seconds()
        pct = 100 * self.done / self.total if self.total else 100.0
        print(f"{self.description}: {self.done}/{self.total} {self.unit} ({pct:.1f}%)  {self.rate_text()}  "
              f"elapsed {format_duration(now - self.started)}  eta "
              f"{'?' if eta is None else format_duration(eta)}", file=self.stream, flush=True)
