"""The verify worker pool (caller side): a few subprocesses shared by all threads, each job under a
hard deadline past which its worker is killed and replaced.

Standard library only. The workers run :mod:`r1lite.rewards.worker` as a script.
"""

from __future__ import annotations

import atexit
import os
import queue
import subprocess
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from .guards import HARD_GRACE, Verdict

Job = tuple[str, str, str, float]  # (kind, pred, gold, timeout): see r1lite.rewards.worker
WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
KILLED = ("hard time limit", "worker died")  # reasons of a verdict the worker never gave


class _Worker:
    """One verification subprocess: ``python worker.py --worker R W`` talking pickles over pipes.

    A plain subprocess, not ``multiprocessing``: spawn/forkserver re-import the caller's
    ``__main__`` (breaking unguarded training scripts) and fork is unsafe in threaded trainers.
    """

    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        cmd = [sys.executable, WORKER_SCRIPT, "--worker", str(to_child_r), str(from_child_w)]
        self.proc = subprocess.Popen(cmd, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                                     close_fds=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self.conn = Connection(from_child_r, writable=False)
        self.ready = False

    def send(self, msg: Any) -> None:
        self._send.send(msg)

    def wait_ready(self, timeout: float = 120.0) -> None:
        if self.ready:
            return
        try:
            ok = self.conn.poll(timeout) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ok = False
        if not ok:
            self.kill()
            raise RuntimeError(
                "r1lite verify worker failed to start; check that `python -c 'import math_verify'` works"
            )
        self.ready = True

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for c in (self._send, self.conn):
            try:
                c.close()
            except OSError:
                pass

    def close(self) -> None:
        try:
            self.send(None)
            self.proc.wait(1)
        except Exception:
            pass
        self.kill()


def default_workers() -> int:
    """One worker per two CPUs, 1 to 4: the trainer and the tokenizer need the other cores, and
    on a 2-core box a second worker only fights the first (measured: slower, not faster)."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


def _result(kind: str, got: Any) -> Any:
    return Verdict(*got) if kind in ("mv", "gold") else got


def _dead(kind: str, why: str) -> Any:
    return Verdict(False, timed_out=True, reason=why) if kind in ("mv", "gold") else None


class VerifyPool:
    """A few verification subprocesses shared by all threads of this process.

    Jobs are routed by gold (a stable hash), so each gold is parsed and cached by one worker
    only; an idle worker steals from a long queue so no core sits idle.
    """

    def __init__(self, workers: int | None = None) -> None:
        env = os.environ.get("R1LITE_VERIFY_WORKERS")
        n = workers or (int(env) if env else default_workers())
        if n < 1:
            raise ValueError(f"need at least one verify worker, got {n} (R1LITE_VERIFY_WORKERS)")
        self.size = n
        self.pid = os.getpid()
        self._workers: list[_Worker | None] = [None] * n  # started lazily
        self._idle: queue.Queue[int] = queue.Queue()
        for slot in range(n):
            self._idle.put(slot)
        self.timeouts = 0
        self.restarts = 0

    def _worker(self, slot: int) -> _Worker:
        w = self._workers[slot]
        if w is None or not w.alive():
            if w is not None:
                w.kill()
                self.restarts += 1
            w = self._workers[slot] = _Worker()
        return w

    def run(self, jobs: Sequence[Job]) -> list[Any]:
        """Run ``(kind, pred, gold, timeout)`` jobs on idle workers; hard-kill any past deadline."""
        results: list[Any] = [None] * len(jobs)
        if not jobs:
            return results
        slots = [self._idle.get()]
        while len(slots) < min(self.size, len(jobs)):
            try:
                slots.append(self._idle.get_nowait())
            except queue.Empty:
                break
        try:
            self._drive(jobs, slots, results)
        finally:
            for slot in slots:
                self._idle.put(slot)
        return results

    def start(self) -> None:
        """Start every worker and wait until each is ready."""
        slots = [self._idle.get() for _ in range(self.size)]
        try:
            for slot in slots:
                self._worker(slot).wait_ready()
        finally:
            for slot in slots:
                self._idle.put(slot)

    def _route(self, jobs: Sequence[Job], slots: list[int]) -> dict[int, deque[int]]:
        queues: dict[int, deque[int]] = {s: deque() for s in slots}
        for i, job in enumerate(jobs):
            pref = zlib.crc32(job[2].encode("utf-8", "replace")) % self.size
            queues[pref if pref in queues else slots[pref % len(slots)]].append(i)
        return queues

    def _drive(self, jobs: Sequence[Job], slots: list[int], results: list[Any]) -> None:
        queues = self._route(jobs, slots)
        busy: dict[int, tuple[int, float]] = {}  # slot -> (job index, hard deadline)
        while busy or any(queues.values()):
            for slot in slots:
                if slot in busy:
                    continue
                if queues[slot]:
                    i = queues[slot].popleft()
                else:
                    donor = max(queues, key=lambda k: len(queues[k]))
                    if len(queues[donor]) < 2:
                        continue
                    i = queues[donor].pop()
                self._submit(slot, jobs[i])
                busy[slot] = (i, time.monotonic() + jobs[i][3] + HARD_GRACE)
            if not busy:
                continue
            nearest = min(d for _, d in busy.values())
            conns = {self._workers[s].conn: s for s in busy}  # type: ignore[union-attr]
            ready = wait(list(conns), timeout=max(0.0, nearest - time.monotonic()))
            for slot in list(busy):
                i, deadline = busy[slot]
                w = self._workers[slot]
                assert w is not None
                if w.conn in ready:
                    try:
                        results[i] = _result(jobs[i][0], w.conn.recv())
                    except (EOFError, OSError):  # the worker died (e.g. memory limit)
                        results[i] = _dead(jobs[i][0], "worker died")
                        self._restart(slot)
                    del busy[slot]
                elif time.monotonic() >= deadline:
                    results[i] = _dead(jobs[i][0], f"hard time limit {jobs[i][3] + HARD_GRACE:.1f}s")
                    self.timeouts += 1
                    self._restart(slot)
                    del busy[slot]

    def _submit(self, slot: int, job: Job) -> None:
        """Send a job, replacing the worker once if it died since its last answer."""
        for attempt in (1, 2):
            w = self._worker(slot)
            try:
                w.wait_ready()
                w.send(job)
                return
            except (OSError, EOFError, RuntimeError):
                if attempt == 2:
                    raise RuntimeError("r1lite verify worker keeps dying on start; see its stderr above") from None
                self._restart(slot)

    def _restart(self, slot: int) -> None:
        w = self._workers[slot]
        if w is not None:
            w.kill()
        self._workers[slot] = _Worker()
        self.restarts += 1

    def close(self) -> None:
        if self.pid != os.getpid():  # a forked copy: the workers belong to the parent
            return
        for slot, w in enumerate(self._workers):
            if w is not None:
                w.close()
                self._workers[slot] = None


_POOL: VerifyPool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> VerifyPool:
    """This process's worker pool, started on first use.

    A forked child (e.g. a data-loader worker) must not talk to its parent's workers through
    the inherited pipes, so a pool belongs to the process that made it.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = VerifyPool()
            atexit.register(_POOL.close)
        return _POOL


def close_pool() -> None:
    """Stop this process's workers (the next :func:`get_pool` starts fresh ones)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None
