"""Safe, fast answer verification: math-verify semantics without its hazards (the public API).

Why not call ``math_verify.parse``/``verify`` directly (as TRL and open-r1 do)?

* Their timeout uses ``signal.alarm``, which raises ``ValueError`` off the main thread (TRL then
  simply disables it), and a signal cannot interrupt C-level work at all: ``9^{9^{9^9}}`` hangs
  the process forever inside a big-integer power.
* The gold is re-parsed for every completion, and a plain ``18`` goes through LaTeX parsing.

So: (1) plain numbers (also inside ``\\boxed{}``, ``$..$``, or a short sentence such as "18
dollars") take an exact-rational fast path (:mod:`~r1lite.rewards.numeric`, microseconds) that
decides only where math-verify would decide the same way and defers otherwise; a prediction that
merely re-wraps the gold, or a sentence with nothing math-verify could extract, is decided without
parsing it; (2) everything else runs in persistent worker subprocesses
(:mod:`~r1lite.rewards.pool`, :mod:`~r1lite.rewards.worker`), jobs routed by gold so each worker
keeps its own parsed-gold cache, with a soft per-item deadline inside the worker and a hard
deadline in the caller past which the worker is killed and replaced; inside them the math-verify
checker (:mod:`~r1lite.rewards.mvcheck`) runs with two-stage SLL-then-LL LaTeX parsing and a
start-up warm-up (:mod:`~r1lite.rewards.warmup`); (3) verdicts are cached per ``(pred, gold)``;
(4) oversized, absurdly nested or power-tower input is refused before parsing
(:mod:`~r1lite.rewards.guards`). Every shortcut has a test proving it agrees with math-verify.
All of this works from any thread.

Public API: :func:`verify_answer`, :func:`verify_batch`, :class:`Verdict`, :func:`prefetch_golds`
(parse a batch's golds in the background while the policy generates), :func:`numeric_fast_path`,
:func:`warm_up`, :func:`reset_pool`, :func:`clear_caches`. The independent sympy checker for
evaluation cross-checks lives in :mod:`r1lite.eval.sympy_check`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from .guards import DEFAULT_TIMEOUT, HARD_GRACE, MAX_ANSWER_CHARS, MAX_NESTING, Verdict, refuse_reason
from .mvcheck import check_answer, gold_verdict, mathverify_verdict, number_certainly_wrong, parse_answer
from .normalize import canonical, juxtaposed_numbers, mathverify_inputs, normalize
from .numeric import (
    certainly_unparseable,
    empty_latex,
    exact_value,
    numeric_fast_path,
    parse_plain_number,
    prose_number,
)
from .pool import KILLED, VerifyPool, close_pool, default_workers, get_pool
from .warmup import WARM_UP_ANSWERS, WARM_UP_PAIRS, clear_math_verify_caches, two_stage_latex_parsing

__all__ = [
    "DEFAULT_TIMEOUT", "HARD_GRACE", "MAX_ANSWER_CHARS", "MAX_NESTING", "WARM_UP_ANSWERS", "WARM_UP_PAIRS",
    "Verdict", "VerifyPool", "canonical", "certainly_unparseable", "check_answer",
    "clear_caches", "clear_math_verify_caches", "decide", "default_workers", "empty_latex", "exact_value",
    "get_pool", "gold_verdict", "mathverify_inputs", "mathverify_verdict", "normalize", "number_certainly_wrong", "numeric_fast_path", "parse_answer", "parse_plain_number",
    "prefetch_golds", "prose_number", "refuse_reason", "reset_pool", "two_stage_latex_parsing",
    "verify_answer", "verify_batch", "warm_up",
]

_CACHE_SIZE = 65_536
_VERDICTS: OrderedDict[tuple[str, str], Verdict] = OrderedDict()
_VERDICTS_LOCK = threading.Lock()


def _cache_get(key: tuple[str, str]) -> Verdict | None:
    with _VERDICTS_LOCK:
        hit = _VERDICTS.get(key)
        if hit is not None:
            _VERDICTS.move_to_end(key)
        return hit


def _cache_put(key: tuple[str, str], verdict: Verdict) -> None:
    with _VERDICTS_LOCK:
        _VERDICTS[key] = verdict
        if len(_VERDICTS) > _CACHE_SIZE:
            _VERDICTS.popitem(last=False)


def clear_caches(golds: bool = True) -> None:
    """Forget cached verdicts and, with ``golds``, which golds parse (the workers' parsed golds are
    bounded LRUs; :func:`reset_pool` drops them too)."""
    with _VERDICTS_LOCK:
        _VERDICTS.clear()
        if golds:
            _GOLD_OK.clear()


def decide(pred: str | None, gold: str | None) -> tuple[Verdict | None, bool]:
    """``(verdict, needs_gold)`` reached without a worker, or ``(None, False)``.

    Numbers (after :func:`~r1lite.rewards.normalize.normalize`) are compared exactly here, a prediction with
    the gold's canonical text is correct even when the gold does not parse, and a sentence or cut-off LaTeX
    with nothing to read is a parse failure. ``needs_gold``: the verdict stands only if the gold can be
    graded (a missing answer against an ungradable gold is skipped, not scored 0), which the caller learns
    once per gold.
    """
    if gold is None or not str(gold).strip():
        return Verdict(False, gold_unparseable=True, reason="gold missing"), False
    gold = str(gold).strip()
    why = refuse_reason(gold)
    if why:
        return Verdict(False, gold_unparseable=True, reason=f"gold refused: {why}"), False
    if pred is None or not pred.strip():
        return Verdict(False, parse_failed=True, reason="no answer"), True
    pred = pred.strip()
    why = refuse_reason(pred)
    if why:
        timed = why.startswith("power")
        return Verdict(False, parse_failed=not timed, timed_out=timed, reason=f"refused: {why}"), True
    pn, gn = normalize(pred), normalize(gold)
    fast = numeric_fast_path(pn, gn)
    if fast is None and exact_value(gn) is not None:
        number = prose_number(pred)
        fast = numeric_fast_path(number, gn) if number is not None else None
    if fast is not None:
        return Verdict(fast, fast_path=True), False
    if canonical(pred) == canonical(gold):
        return Verdict(True, fast_path=True, reason="same text as gold"), False
    if juxtaposed_numbers(pn):
        return Verdict(False, parse_failed=True, reason="two numbers side by side"), True
    if certainly_unparseable(pn) or (empty_latex(pred) and exact_value(gn) is not None):
        return Verdict(False, parse_failed=True, reason="prediction unparseable"), True
    return None, False


def verify_batch(
    pairs: Sequence[tuple[str | None, str | None]], timeout: float = DEFAULT_TIMEOUT
) -> list[Verdict]:
    """Verify many ``(pred, gold)`` pairs (extracted answers, not whole completions).

    Cheap cases are decided here (:func:`decide`), duplicates are checked once, and the rest
    spreads over the worker pool, each item with at most ``timeout`` seconds (plus a hard grace
    period), never retried. Thread-safe.
    """
    if timeout is None or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    out: list[Verdict | None] = [None] * len(pairs)
    todo: dict[tuple[str, str], list[int]] = {}
    waiting: dict[str, list[tuple[int, Verdict]]] = {}  # gold -> items whose verdict needs its status
    for i, (pred, gold) in enumerate(pairs):
        verdict, needs_gold = decide(pred, gold)
        if verdict is not None:
            if not needs_gold:
                out[i] = verdict
                continue
            g = str(gold).strip()
            status = _gold_status(g)
            if status is None:
                waiting.setdefault(g, []).append((i, verdict))
            else:
                out[i] = verdict if status else _GOLD_BAD
            continue
        key = (str(pred).strip(), str(gold).strip())
        hit = _cache_get(key)
        if hit is not None:
            out[i] = hit
        else:
            todo.setdefault(key, []).append(i)
    if todo or waiting:
        keys = list(todo)
        covered = {g for _, g in keys}
        gold_jobs = [g for g in waiting if g not in covered]
        jobs = [("mv", p, g, float(timeout)) for p, g in keys] + [("gold", "", g, float(timeout)) for g in gold_jobs]
        verdicts = get_pool().run(jobs)
        for key, verdict in zip(keys, verdicts, strict=False):
            _cache_put(key, verdict)
            _note_gold(key[1], verdict)
            for i in todo[key]:
                out[i] = verdict
        for gold, verdict in zip(gold_jobs, verdicts[len(keys):], strict=True):
            _note_gold(gold, verdict)
        for gold, held in waiting.items():
            ok = bool(_gold_status(gold))
            for i, verdict in held:
                out[i] = verdict if ok else _GOLD_BAD
    return [v if v is not None else Verdict(False, parse_failed=True) for v in out]


_GOLD_BAD = Verdict(False, gold_unparseable=True, reason="gold unparseable")
_GOLD_OK: OrderedDict[str, bool] = OrderedDict()


def _gold_status(gold: str) -> bool | None:
    if exact_value(normalize(gold)) is not None:  # numbers are always gradable
        return True
    with _VERDICTS_LOCK:
        return _GOLD_OK.get(gold)


def _note_gold(gold: str, verdict: Verdict) -> None:
    if verdict.reason.startswith(KILLED):  # the worker died before telling us about the gold
        return
    if verdict.correct and verdict.reason == "same text as gold":  # decided without grading the gold
        return
    with _VERDICTS_LOCK:
        _GOLD_OK[gold] = not verdict.gold_unparseable
        if len(_GOLD_OK) > _CACHE_SIZE:
            _GOLD_OK.popitem(last=False)


def prefetch_golds(golds: Iterable[Any], timeout: float = DEFAULT_TIMEOUT) -> threading.Thread | None:
    """Parse golds in the workers in the background; returns the thread (None if nothing to do).

    Call it when a batch's prompts are drawn, before generation: the golds are then parsed while
    the policy generates, instead of on the reward's critical path (MATH golds cost ~3-10 ms each
    in math-verify's LaTeX parser). Plain-number golds need no parsing and are skipped.
    """
    todo = []
    for g in dict.fromkeys(str(g).strip() for g in golds if g is not None):
        if g and _gold_status(g) is None and not refuse_reason(g):
            todo.append(g)
    if not todo:
        return None

    def work() -> None:
        verdicts = get_pool().run([("gold", "", g, float(timeout)) for g in todo])
        for g, v in zip(todo, verdicts, strict=True):
            _note_gold(g, v)

    thread = threading.Thread(target=work, name="r1lite-gold-prefetch", daemon=True)
    thread.start()
    return thread


def verify_answer(pred: str | None, gold: str | None, timeout: float = DEFAULT_TIMEOUT) -> Verdict:
    """Check one extracted answer against one gold answer (see :class:`Verdict`). Thread-safe."""
    return verify_batch([(pred, gold)], timeout)[0]


def reset_pool() -> None:
    """Stop the workers and forget every cache (a cold start, e.g. between benchmark passes)."""
    close_pool()
    clear_caches()


def warm_up() -> None:
    """Start every worker now (e.g. before a timed loop or while a model loads), not on first use."""
    get_pool().start()

