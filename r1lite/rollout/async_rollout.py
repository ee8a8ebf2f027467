"""One-step-off-policy rollouts: the vLLM server samples step t+1's completions while the trainer updates on step t's.

Timeline (``w_k`` = the policy after k optimizer steps; every push waits for the rollout in flight to finish, so
weights never change under a request)::

    step k:  push w_k  ->  take rollout R_k (sampled from w_{k-1}, started during step k-1)
                       ->  start R_{k+1} from w_k in a background thread  ->  score R_k, update w_k -> w_{k+1}

So a rollout is one update old when it is trained on (``staleness`` = 1; step 0's is sampled synchronously). TRL's
vLLM importance-sampling correction (``vllm_importance_sampling_correction``, on by default) reweights each token
by pi_current / pi_behaviour with the engine's own log-probs of the sampled tokens, which is the off-policy
correction (NeMo-RL and verl do the same); its ratio statistics are logged as ``sampling/importance_sampling_ratio/*``.

The next step's prompts come from the trainer's own data order: ``get_batch_samples`` reads the epoch iterator
through :class:`Lookahead`, which can peek at the batch TRL's ``RepeatSampler`` will hand out next. A prefetched
rollout is used only if its prompt token ids are exactly the ones the trainer asks for and it is at most
``max_staleness`` steps old; otherwise (epoch start, resume, dynamic-sampling refills, held-out passes) the rollout
is sampled synchronously, so a wrong guess costs time, never correctness.

Logged every step: ``async/staleness``, ``async/overlap_s`` (seconds the background rollout ran while the trainer
worked), ``async/wait_s`` (seconds the trainer then waited for it), ``async/prefetch_hit``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any


class Lookahead:
    """An iterator that yields what ``source`` yields and can peek ahead (buffering what it read)."""

    def __init__(self, source: Iterator) -> None:
        self.source, self.buffer, self.consumed = source, deque(), 0

    def __iter__(self) -> Lookahead:
        return self

    def __next__(self) -> Any:
        item = self.buffer.popleft() if self.buffer else next(self.source)
        self.consumed += 1
        return item

    def peek(self, offset: int) -> Any:
        """The item ``offset`` places after the next one (0: the next), or None past the end."""
        while len(self.buffer) <= offset:
            try:
                self.buffer.append(next(self.source))
            except StopIteration:
                return None
        return self.buffer[offset]


class Pending:
    """One rollout running in a background thread."""

    def __init__(self, key: tuple, version: int, fn: Any) -> None:
        self.key, self.version = key, version
        self.launched = time.perf_counter()
        self.done_at: float | None = None
        self.first_wait: float | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), name="r1lite-async-rollout", daemon=True)
        self.thread.start()

    def _run(self, fn: Any) -> None:
        try:
            self.result = fn()
        except BaseException as exc:  # re-raised in the trainer's thread by wait()
            self.error = exc
        finally:
            self.done_at = time.perf_counter()

    def wait(self) -> Any:
        if self.first_wait is None:
            self.first_wait = time.perf_counter()
        self.thread.join()  # bounded: every request has the client's timeout
        if self.error is not None:
            raise self.error
        return self.result

    @property
    def overlap_s(self) -> float:
        end = self.done_at if self.first_wait is None else min(self.done_at or self.first_wait, self.first_wait)
        return max(0.0, end - self.launched)

    @property
    def wait_s(self) -> float:
        if self.first_wait is None or self.done_at is None:
            return 0.0
        return max(0.0, self.done_at - self.first_wait)


class AsyncRollouts:
    """Prefetches the next step's rollout on the server (see module doc). Single process only."""

    def __init__(self, trainer: Any, gen: Any) -> None:
        if trainer.accelerator.num_processes != 1:
            raise ValueError("async_rollouts runs in a single training process; use vllm_mode=server without "
                             "async_rollouts for multi-process training")
        self.trainer, self.gen = trainer, gen
        self.max_staleness = int(getattr(trainer.args, "max_staleness", 1))
        self.pending: Pending | None = None
        self.lookahead: Lookahead | None = None
        self.misses = 0
        original = trainer.get_batch_samples

        def get_batch_samples(epoch_iterator: Any, num_batches: int, device: Any) -> Any:
            if self.lookahead is None or self.lookahead.source is not epoch_iterator:
                self.lookahead = Lookahead(epoch_iterator)
            return original(self.lookahead, num_batches, device)

        trainer.get_batch_samples = get_batch_samples  # this trainer only

    @property
    def repeat(self) -> int:
        """Dataloader items per generation batch (TRL's RepeatSampler hands each out this many times)."""
        a = self.trainer.args
        return int(a.steps_per_generation) * int(self.trainer.num_iterations)

    # ------------------------------------------------------------------------------------------------
    def before_sync(self) -> None:
        """A weight push is coming: let the rollout in flight finish first (its result is kept). The wait is
        generation on the critical path, not weight sync: it is moved to the trainer's ``generation`` phase (the
        sync is timed inside ``_generate``, which keeps what is not ``weight_sync``)."""
        if self.pending is not None:
            start = time.perf_counter()
            self.pending.wait()
            phases = getattr(self.trainer, "_phase", None)
            if isinstance(phases, dict):
                phases["weight_sync"] = phases.get("weight_sync", 0.0) - (time.perf_counter() - start)

    def close(self) -> None:
        if self.pending is not None:
            self.pending.thread.join(timeout=1.0)
            self.pending = None

    def generate(self, prompts: list[list[int]], images: Any, num_generations: int) -> tuple:
        trainer = self.trainer
        key = (tuple(map(tuple, prompts)), num_generations)
        version = int(trainer.state.global_step)
        result, behaviour, overlap, wait = None, version, 0.0, 0.0
        pending = self.pending
        if pending is not None and pending.key == key and images is None:
            self.pending = None
            out = pending.wait()
            if version - pending.version <= self.max_staleness:
                result, behaviour, overlap, wait = out, pending.version, pending.overlap_s, pending.wait_s
        elif pending is not None and trainer.model.training and version - pending.version >= self.max_staleness:
            self.pending = None  # mispredicted: it could only be used staler than allowed
            pending.wait()  # (never leave a request running into the next weight push)
        hit = result is not None
        if not hit:
            self.misses += 1
            result = self._request(prompts, images, num_generations)
        if trainer.model.training:
            trainer.log_metric("async/staleness", version - behaviour)
            trainer.log_metric("async/overlap_s", overlap)
            trainer.log_metric("async/wait_s", wait)
            trainer.log_metric("async/prefetch_hit", float(hit))
            if self.pending is None:
                self._launch_next(num_generations)
        return result

    def _request(self, prompts: list[list[int]], images: Any, num_generations: int) -> tuple:
        gen = self.gen
        if gen.r1_version is not None:
            gen.vllm_client.check_version(gen.r1_version)
        return gen._r1_super_generate(prompts, images, num_generations, None)

    def _next_prompts(self) -> list[list[int]] | None:
        """Token ids of the next generation batch, read ahead from the trainer's data order (None: unknown)."""
        la, trainer = self.lookahead, self.trainer
        if la is None or not trainer.model.training:
            return None
        if trainer.state.max_steps and trainer.state.global_step + 1 >= trainer.state.max_steps:
            return None  # this was the last step's rollout
        r = self.repeat
        current = ((la.consumed - 1) // r) * r if la.consumed else 0
        rows = la.peek(current + r - la.consumed)
        if not rows or not isinstance(rows, list) or not all(isinstance(x, dict) and "prompt" in x for x in rows):
            return None
        prompt_ids, images, _ = trainer._tokenize_prompts([x["prompt"] for x in rows])
        return None if images is not None else [list(p) for p in prompt_ids]

    def _launch_next(self, num_generations: int) -> None:
        if self.max_staleness < 1:
            return
        prompts = self._next_prompts()
        if prompts is None:
            return
        next_key = (tuple(map(tuple, prompts)), num_generations)
        self.pending = Pending(next_key, int(self.trainer.state.global_step),
                               lambda: self._request(prompts, None, num_generations))
