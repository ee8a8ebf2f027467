"""Safe verification: fast paths agree with the checker (and with math-verify where it reads the notation
right), hard limits hold, any thread works."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time

import pytest
from r1lite.rewards.verify import (
    HARD_GRACE,
    Verdict,
    canonical,
    check_answer,
    decide,
    get_pool,
    mathverify_inputs,
    mathverify_verdict,
    numeric_fast_path,
    prefetch_golds,
    refuse_reason,
    verify_answer,
    verify_batch,
)

from r1lite.eval.sympy_check import sympy_equal, sympy_equal_batch


def math_verify_says(pred: str, gold: str) -> Verdict:
    """math-verify's own verdict on the same strings (in-process), none of r1lite's rules."""
    return mathverify_verdict(pred, gold)


def checker_says(pred: str, gold: str) -> Verdict:
    """r1lite's full checker without its shortcuts (in-process, no time limit)."""
    return check_answer(pred, gold, None, shortcut=False)


# Number forms math-verify misreads (e-notation as Euler's e; a percent sign on a decimal against the bare
# number): there r1lite follows the labelled suite (tests/data/equivalence.jsonl), not math-verify.
MATHVERIFY_MISREADS = ("1e3", "%", "percent", "1,5")  # 1,5 against 1.5: a decimal comma (docs/grader.md)


NUMBER_FORMS = ("{v}", "${v}$", "\\boxed{{{v}}}", "{v}.00", "\\${v}", "${v}", "{v} dollars", "The answer is {v}.",
                "Answer: {v}")
OTHER_NUMBERS = ("0.5", "0.333333", "0.3333333", "0.333", "2.0000001", "1.9999999", "3.14159", "12345678901234.5",
                 "\\frac{1}{2}", "\\dfrac{1}{3}", "-\\frac{3}{4}", "\\frac{-3}{4}", "3/4", "\\frac12", "\\frac{4}{2}",
                 "007", "-0", "18 percent", "18%", "1,5", "1e3", "It's 18", "x y", "xy", "I am not sure.",
                 "no idea", "\\text{no}")


def _numbers() -> list[str]:
    out = list(OTHER_NUMBERS)
    for v in (0, 1, -1, 18, 1000, 1234567, -2500, 10**20):
        out += [f.format(v=v) for f in NUMBER_FORMS]
        if abs(v) >= 1000:
            out.append(f"{v:,}")
    return out


def test_fast_paths_agree_with_math_verify() -> None:
    """Every verdict reached without a worker equals the full checker's, and math-verify's own wherever
    math-verify reads both numbers' notation right (seeded sample of pairs)."""
    import random

    nums = _numbers()
    pairs = list(itertools.product(nums, nums))
    random.Random(0).shuffle(pairs)
    tricky = [("x y", "xy"), ("I am not sure.", "x"), ("It's 18", "18"), ("18 percent", "18"), ("18%", "18"),
              ("1,5", "1.5"), ("The answer is 18.", "18"), ("\\boxed{1,000}", "1000"), ("\\frac12", "0.5")]
    decided = compared = 0
    for pred, gold in tricky + pairs[:900]:
        fast, needs_gold = decide(pred, gold)
        if fast is None:
            continue
        decided += 1
        full = checker_says(pred, gold)
        assert (None if (needs_gold and full.gold_unparseable) else fast.reward) == full.reward, (pred, gold, fast)
        if any(m in pred + gold for m in MATHVERIFY_MISREADS):
            continue
        compared += 1
        mv = math_verify_says(pred, gold)
        got = None if (needs_gold and mv.gold_unparseable) else fast.reward
        assert got == mv.reward, (pred, gold, fast, mv)
    assert decided > 500 and compared > 400  # the fast paths really do cover plain numbers


EMPTY_LATEX = ("}{\\frac{", "\\boxed{}", "{}", "\\frac{}{}", "$$", "\\left{\\right}", "\\dfrac{ }{", "{{}}")


@pytest.mark.parametrize("pred", EMPTY_LATEX)
def test_empty_latex_is_decided_unparseable_as_math_verify_does(pred: str) -> None:
    """A cut-off answer with nothing but braces and structural commands never reaches the workers
    when the gold is a number, and math-verify agrees it matches no number. Other golds still go
    to math-verify: it reads ``{}`` as the empty set."""
    for gold in ("7", "0", "-12.5", "1,000", "\\frac{1}{2}"):
        fast, needs_gold = decide(pred, gold)
        assert fast is not None and fast.parse_failed and fast.reward == 0.0 and needs_gold
        assert math_verify_says(pred, gold).reward == 0.0, (pred, gold)
    for gold in ("\\emptyset", "\\{\\}", "x", "\\sqrt{2}"):
        assert decide(pred, gold)[0] is None
    for near in ("\\frac{1}{2}", "\\boxed{0}", "\\emptyset", "\\{\\}", "()", "\\pi"):
        assert decide(near, "7")[0] is None or decide(near, "7")[0].parse_failed is False


def test_same_text_shortcut_agrees_on_real_golds(eval_golds) -> None:
    """A prediction that only re-wraps the gold is correct for math-verify too (MATH-500 and Minerva)."""
    golds = eval_golds["math500"][::3] + eval_golds["minerva_math"][::3]
    checked = 0
    for gold in filter(None, golds):
        for pred in (f"${gold}$", f"\\boxed{{{gold}}}", gold.replace("\\frac", "\\dfrac"), f" {gold}  "):
            if canonical(pred) != canonical(gold):
                continue
            mv = math_verify_says(pred, gold)
            if mv.gold_unparseable:
                break
            assert mv.correct, (pred, gold)
            checked += 1
    assert checked > 300


@pytest.mark.parametrize(
    ("pred", "gold", "correct"),
    [
        ("18", "18", True),
        ("18.00", "18", True),
        ("$18", "18", True),
        ("1,000", "1000", True),
        ("\\frac{1}{2}", "0.5", True),
        ("0.333333", "\\frac{1}{3}", True),  # math-verify rounds floats to 6 places
        ("0.333", "\\frac{1}{3}", False),
        ("x^2+1", "1+x^2", True),
        ("\\sqrt{12}", "2\\sqrt{3}", True),
        ("(1,2)", "(2,1)", False),
        ("Evelyn", "\\text{Evelyn}", True),
        ("17", "18", False),
    ],
)
def test_verify_answer_matches_math_verify(pred: str, gold: str, correct: bool) -> None:
    v = verify_answer(pred, gold)
    assert v.correct is correct
    assert math_verify_says(pred, gold).correct is correct  # the expectation is math-verify's, not ours


def test_missing_and_unparseable() -> None:
    assert verify_answer(None, "5").parse_failed
    assert verify_answer("", "5").reward == 0.0
    gold_bad = verify_answer("7", "\\frac{")
    assert gold_bad.gold_unparseable and gold_bad.reward is None
    assert verify_answer("7", None).reward is None
    assert verify_answer("7", "   ").reward is None
    # a missing answer against an unparseable gold is skipped, not scored 0
    assert verify_answer(None, "\\frac{").reward is None
    pf = verify_answer("I am not sure.", "x^2")
    assert pf.parse_failed and pf.reward == 0.0


@pytest.mark.parametrize(
    "pred",
    ["9^{9^{9^9}}", "10^{10^{10}}", "2^{2^{2^{2^{2}}}}", "{" * 5000 + "1" + "}" * 5000, "1+" * 500_000 + "1",
     "\\frac{" * 200 + "1" + "}{2}" * 200],
)
def test_pathological_inputs_are_refused_fast(pred: str) -> None:
    start = time.perf_counter()
    v = verify_answer(pred, "5")
    assert time.perf_counter() - start < 0.5
    assert not v.correct and (v.timed_out or v.parse_failed)
    assert refuse_reason(pred)


def test_slow_item_times_out_and_counts_as_timeout() -> None:
    start = time.perf_counter()
    v = verify_answer("(1+x)^{100000}", "5", timeout=0.3)
    elapsed = time.perf_counter() - start
    assert v.timed_out and not v.correct and v.reward == 0.0
    assert elapsed < 0.3 + HARD_GRACE + 0.5


def test_stuck_worker_is_killed_and_replaced() -> None:
    """A worker that stops answering (as in C code no signal can interrupt) is killed at the hard limit."""
    pool = get_pool()
    verify_answer("x+2", "2+x")  # make sure a worker is running
    victims = [w for w in pool._workers if w is not None and w.alive()]
    for w in victims:
        os.kill(w.proc.pid, signal.SIGSTOP)
    restarts = pool.restarts
    start = time.perf_counter()
    v = verify_answer("x+3", "3+x", timeout=0.2)
    assert v.timed_out and "hard time limit" in v.reason
    assert time.perf_counter() - start < 0.2 + HARD_GRACE + 1.0
    assert pool.restarts > restarts
    assert verify_answer("x+4", "4+x").correct  # the replacement works


def test_works_off_the_main_thread() -> None:
    """math-verify's own timeout raises outside the main thread; ours must not."""
    results: list[Verdict] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results.append(verify_answer(f"{i}+y", f"y+{i}"))
            results.append(verify_answer("(1+x)^{100000}", "5", timeout=0.3))
        except BaseException as exc:  # pragma: no cover - the failure we test for
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sum(r.correct for r in results) == 4 and sum(r.timed_out for r in results) == 4


def test_batch_dedupes_and_keeps_order() -> None:
    pairs = [("x+1", "1+x"), ("18", "18"), (None, "3"), ("x+1", "1+x"), ("2x", "x+x"), ("5", "6")]
    assert [v.reward for v in verify_batch(pairs)] == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="timeout"):
        verify_batch(pairs, timeout=0)


def test_mathverify_inputs_wrapping() -> None:
    assert mathverify_inputs("x^2+1") == ["$x^2+1$"]  # bare LaTeX gets math delimiters
    assert mathverify_inputs("$x$") == ["$x$"]
    assert mathverify_inputs("\\$18") == ["$\\$18$"]  # an escaped dollar is currency, not a delimiter
    assert mathverify_inputs("18 dollars") == ["18 dollars"]  # prose: math-verify's own number rules
    assert mathverify_inputs("Evelyn") == ["Evelyn", "$Evelyn$"]


def test_numeric_fast_path_defers_in_the_rounding_sliver() -> None:
    assert numeric_fast_path("2.0000001", "2") is None  # rounding to 6 places decides: defer
    assert numeric_fast_path("2.01", "2") is False
    assert numeric_fast_path("\\boxed{1,000}", "1000") is True
    assert numeric_fast_path("x", "1") is None


def test_sympy_equal_second_opinion() -> None:
    assert sympy_equal("\\frac{1}{2}", "0.5") is True
    assert sympy_equal("2\\sqrt{3}", "\\sqrt{12}") is True
    assert sympy_equal("\\dfrac{\\pi}{2}", "\\frac{\\pi}{2}") is True
    assert sympy_equal("(1, 2)", "(1,2)") is True
    assert sympy_equal("x+1", "x+2") is False
    assert sympy_equal("\\frac{", "1") is None
    assert sympy_equal("9^{9^{9^9}}", "1") is None
    assert sympy_equal(None, "1") is None
    pairs = [("x^2", "x \\cdot x"), ("3", "3.0"), ("1", None), ("x^2", "x \\cdot x"), ("\\frac{", "1"), ("2", "3")]
    assert sympy_equal_batch(pairs) == [True, True, None, True, None, False]


def test_prefetch_golds_parses_in_the_background() -> None:
    from r1lite.rewards.verify import _gold_status

    golds = ["\\frac{\\pi}{7} + q_{1}", "\\sqrt{13} - w", "42", "\\frac{"]
    thread = prefetch_golds(golds + golds)
    assert thread is not None
    thread.join(30)
    assert _gold_status(golds[0]) is True and _gold_status(golds[1]) is True
    assert _gold_status("\\frac{") is False
    assert prefetch_golds(golds) is None  # everything known: nothing to do
    # a prediction written like a prefetched gold is then decided without a worker round trip
    start = time.perf_counter()
    assert verify_answer("\\boxed{\\sqrt{13} - w}", golds[1]).correct
    assert time.perf_counter() - start < 0.05
    assert verify_answer(None, "\\frac{").reward is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_workers() -> None:
    assert verify_answer("x+5", "5+x").correct  # the parent's pool is running
    parent_pool = get_pool()
    pid = os.fork()
    if pid == 0:  # child: must not use the parent's pipes
        ok = verify_answer("x+6", "6+x").correct and get_pool() is not parent_pool
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert verify_answer("x+7", "7+x").correct  # and the parent's still works


def test_dead_worker_is_replaced() -> None:
    pool = get_pool()
    assert verify_answer("x+8", "8+x").correct
    for w in [w for w in pool._workers if w is not None and w.alive()]:
        os.kill(w.proc.pid, signal.SIGKILL)
        w.proc.wait(5)
    assert verify_answer("x+9", "9+x").correct


@pytest.fixture(scope="module")
def number_shortcut_golds(eval_golds) -> dict[str, list[tuple[str, list[float]]]]:
    """MATH-500 and Minerva golds (as the checker reads them) of the kinds :func:`number_certainly_wrong` judges, with a few
    numbers of interest each (a constant's value, an interval's ends, ...)."""
    import sympy
    from r1lite.rewards.verify import exact_value, normalize, parse_answer

    out: dict[str, list] = {"constant": [], "intervals": [], "polynomial": []}
    for gold in dict.fromkeys(filter(None, eval_golds["math500"] + eval_golds["minerva_math"])):
        if exact_value(normalize(gold)) is not None:  # a number: decided before any shortcut
            continue
        parsed = parse_answer(normalize(gold))
        expr = parsed[0] if parsed else None
        if isinstance(expr, (sympy.Interval, sympy.Union)):
            ends = [e for iv in (expr.args if isinstance(expr, sympy.Union) else (expr,))
                    for e in getattr(iv, "args", ())[:2] if getattr(e, "is_finite", False)]
            out["intervals"].append((gold, [float(e) for e in ends]))
        elif isinstance(expr, sympy.Expr) and expr.free_symbols and not isinstance(expr, sympy.Symbol):
            out["polynomial"].append((gold, [0.0, 1.0, 2.0]))
        elif isinstance(expr, sympy.Expr) and expr.is_number and not isinstance(expr, sympy.Number):
            value = complex(expr.evalf(20))
            if value.imag == 0 and abs(value.real) < 1e12:
                out["constant"].append((gold, [value.real]))
    return out


def _numbers_near(values: list[float]) -> set[str]:
    preds = {"0", "1"}
    for v in values:
        preds |= {str(round(v) + 1), str(round(v, 6)), str(round(v, 2)), str(-round(v, 6)),
                  f"\\frac{{{round(v * 7)}}}{{7}}", f"{v:.6f}%"}
    return preds


@pytest.mark.parametrize("kind", ["constant", "intervals", "polynomial"])
def test_number_shortcut_agrees_with_math_verify(number_shortcut_golds, kind) -> None:
    """Numbers near and far from each gold (its value rounded or truncated, off by one, negated,
    an interval's ends, 0 and 1) get the same verdict with the shortcut as without, and it does fire."""
    golds = number_shortcut_golds[kind]
    golds = golds[:: max(1, len(golds) // 12)]  # a dozen of each kind keeps this under 10 s
    assert len(golds) >= 8, kind
    fired = 0
    for gold, values in golds:
        for pred in sorted(_numbers_near(values)):
            got = check_answer(pred, gold, None)
            assert got.correct == checker_says(pred, gold).correct, (pred, gold, got)
            fired += got.reason == "a number cannot match this gold"
    assert fired > 3 * len(golds)


def test_number_shortcut_leaves_the_doubtful_to_math_verify() -> None:
    from r1lite.rewards.verify import number_certainly_wrong, parse_answer

    for pred, gold in (("9", "9\\%"), ("1", "\\sin^2 x + \\cos^2 x"), ("3", "(1,2,3)"), ("2", "x=2"), ("5", "5"),
                       ("2", "\\sqrt{4}"), ("4.472136", "2\\sqrt{5}"), ("3", "\\{3\\}"),
                       ("2", "x"), ("1", "\\frac{x}{x}"), ("0", "[a, b]")):
        assert not number_certainly_wrong(parse_answer(gold), parse_answer(pred)), (pred, gold)
    for pred, gold in (("6", "2\\sqrt{5}"), ("3", "[0, 5)"), ("3", "(1,2)"), ("7", "(-\\infty, 1) \\cup (2, 3]"), ("4", "x^2+1")):
        assert number_certainly_wrong(parse_answer(gold), parse_answer(pred)), (pred, gold)


def test_worker_warm_up_parses_every_shape_and_leaves_no_gold_behind(eval_golds) -> None:
    """The start-up warm-up is hand-written shapes, not eval-set answers, each of which parses,
    and it forgets what it parsed, so no real gold is ever found pre-parsed."""
    from r1lite.rewards import mvcheck
    from r1lite.rewards.verify import WARM_UP_ANSWERS, WARM_UP_PAIRS, parse_answer, parse_plain_number
    from r1lite.rewards.warmup import warm_up_worker

    def text(s: str) -> str:  # as written: the warm-up must not copy an eval answer
        return "".join(s.replace("\\dfrac", "\\frac").split())

    golds = {text(g) for g in eval_golds["math500"] + eval_golds["minerva_math"] if g}
    strings = [s for pair in WARM_UP_PAIRS for s in pair] + list(WARM_UP_ANSWERS)
    assert not [s for s in strings if text(s) in golds and parse_plain_number(s) is None]
    assert all(any(not isinstance(p, str) for p in parse_answer(s)) for s in strings)
    warm_up_worker()
    assert not mvcheck._GOLD_CACHE
