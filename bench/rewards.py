"""Benchmark: r1lite's ``accuracy`` rule vs math-verify called in-process, per completion.

    python bench/rewards.py [--data-dir ../shared/data] [--json results/bench_rewards.json]

Builds >= 2,000 realistic R1-Zero completions from GSM8K and MATH-500 in GRPO groups of 8 per
problem (TRL's default ``num_generations``): correct answers written in several equivalent
ways (each group has a habitual format it uses 3 times in 4), wrong answers (two recurring
ones per group, as a policy's mistakes cluster, of the gold's type: another number for a number,
another fraction for a fraction, another problem's expression or a bare number otherwise),
unparseable/missing answers, and ~5%
pathological items such as ``9^{9^{9^9}}``, 1 MB strings and deeply nested braces. It scores
them

(a) with r1lite's ``accuracy`` rule, in TRL-sized batches, fresh workers started (start-up
    timed separately), caches cold;
(b) the way TRL's and open-r1's accuracy rewards do it: ``math_verify.parse`` of the gold and of
    the prediction, then ``verify``, per completion, in-process, with math-verify's own signal
    timeouts. (b) sees exactly the strings r1lite hands math-verify (same extraction, same
    ``$...$`` wrapping), so the two can only differ in speed and safety. Pathological items are
    not given to (b): ``10^{10^{10}}`` hangs it in C code where no signal can interrupt.

Both sides get the same warm-up first (the workers' start-up strings, then completions for other
problems), so one-off process costs (sympy's lazy imports, parser tables) count on neither.
Speed is compared on identical non-pathological items in ``--rounds`` rounds (default 3), each
on problems no other round or the warm-up uses; a round runs r1lite (default workers, 1 worker,
and the stock LaTeX parser as an ablation) and then the baseline, and the headline is the median
of the rounds' ratios (the machine is shared and noisy; the rounds also differ in problem mix).
A last pass scores every item of round 1, pathological ones included, one completion per call,
to measure the worst per-item wall time.

The mixed figure depends on the mix: every item that r1lite decides in the caller (a plain number, the
gold's own text, nothing to parse) is nearly free, so the more of those, the larger the speed-up. So each
round also records which path every item took (``path_share``) and times both sides again on the items
that reach math-verify alone (``speedup_mathverify_items``): the figure to expect on data whose answers
are mostly LaTeX (real model outputs on MATH, say), where few items can skip math-verify. No torch is involved (nothing to set threads for); the
verify workers default to one per two CPUs (``R1LITE_VERIFY_WORKERS`` overrides).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any

from r1lite.rewards import get_rule
from r1lite.rewards.extract import extract_answer
from r1lite.rewards.mvcheck import has_expr, parse_answer
from r1lite.rewards.verify import (
    DEFAULT_TIMEOUT,
    WARM_UP_ANSWERS,
    WARM_UP_PAIRS,
    VerifyPool,
    clear_caches,
    decide,
    get_pool,
    reset_pool,
    warm_up,
)
from rich.console import Console
from rich.progress import track
from rich.table import Table

GROUP = 8  # TRL's default num_generations


@dataclass
class Item:
    text: str
    gold: str
    kind: str  # correct | wrong | unparseable | pathological
    source: str  # gsm8k | math500
    huge_reasoning: bool = False  # pathological by size only: the answer itself is the gold


def _with_commas(n: int) -> str:
    return f"{n:,}"


def _gsm_rows(data_dir: Path) -> list[tuple[str, str]]:
    rows = []
    for line in (data_dir / "gsm8k" / "test.jsonl").open():
        rec = json.loads(line)
        reasoning, _, gold = rec["answer"].rpartition("####")
        rows.append((re.sub(r"<<[^>]*>>", "", reasoning).strip(), gold.strip().replace(",", "")))
    return rows


def _math_rows(data_dir: Path) -> list[tuple[str, str]]:
    rows = []
    for line in (data_dir / "math500" / "test.jsonl").open():
        rec = json.loads(line)
        rows.append((rec["solution"].replace("\\boxed", "")[:1500], rec["answer"].strip()))
    return rows


def _wrap(reasoning: str, answer: str) -> str:
    return f"<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>"


_GSM_FORMS = (str, lambda v: f"${v}", lambda v: f"{v}.00", lambda v: _with_commas(v) if isinstance(v, int) else v,
              lambda v: f"\\boxed{{{v}}}", lambda v: f"{v} dollars", lambda v: f"The answer is {v}.",
              lambda v: f"${v}$")
_MATH_FORMS = (str, lambda a: f"${a}$", lambda a: f"\\boxed{{{a}}}", lambda a: str(a).replace("\\frac", "\\dfrac"),
               lambda a: f"\\({a}\\)")


class _Policy:
    """How one sampled group answers one problem: a habitual answer format (used 3 times in 4)
    and two recurring wrong answers, the way a policy's samples cluster in a GRPO group."""

    def __init__(self, source: str, gold: str, other_golds: list[str], rng: random.Random) -> None:
        self.rng = rng
        self.forms = _GSM_FORMS if source == "gsm8k" else _MATH_FORMS
        self.habit = rng.randrange(len(self.forms))
        value: Any = int(gold) if re.fullmatch(r"-?\d+", gold) else gold
        self.gold_value = value
        frac = re.fullmatch(r"\\[dt]?frac\{(\d+)\}\{(\d+)\}", gold)
        if isinstance(value, int):  # a wrong number for a numeric question
            self.wrong: list[Any] = [value + rng.choice([-10, -2, -1, 1, 2, 3, 10]) for _ in range(2)]
        elif frac:  # a wrong fraction for a fraction
            a, b = frac.groups()
            self.wrong = [f"\\frac{{{int(a) + 1}}}{{{b}}}", f"\\frac{{{b}}}{{{a}}}"]
        else:  # an expression of another problem, or a bare number
            self.wrong = [rng.choice([o for o in other_golds if o != gold]), str(rng.randint(2, 100))]

    def answer(self, correct: bool) -> str:
        form = self.forms[self.habit if self.rng.random() < 0.75 else self.rng.randrange(len(self.forms))]
        value = self.gold_value if correct else self.rng.choice(self.wrong)
        return form(value if isinstance(value, int) else str(value))


_UNPARSEABLE = (
    lambda r, a: f"<think>\n{r}\n</think>\nSo the result is {a}.",  # no answer tag
    lambda r, a: f"<think>\n{r}\n</think>\n<answer>\n</answer>",
    lambda r, a: f"<think>\n{r}\n</think>\n<answer>I am not sure.</answer>",
    lambda r, a: f"<think>\n{r[: len(r) // 2]}",  # truncated mid-reasoning
    lambda r, a: f"<think>\n{r}\n</think>\n<answer>}}{{\\frac{{</answer>",
)

PATHOLOGICAL = (
    "9^{9^{9^9}}",
    "10^{10^{10}}",
    "2^{2^{2^{2^{2}}}}",
    "(1+x)^{100000}",
    "100000!",
    "{" * 5000 + "1" + "}" * 5000,
    "(" * 3000 + "1" + ")" * 3000,
    "1+" * 500_000 + "1",  # 1 MB answer
    "\\frac{" * 200 + "1" + "}{2}" * 200,
    "x" * 1_000_000,
)


def build_items(data_dir: Path, n_gsm: int, n_math: int, seed: int, n_warm: int = 0,
                rounds: int = 1) -> tuple[list[list[Item]], list[Item]]:
    """(timed items of each round, warm-up items): groups of ``GROUP`` completions per problem,
    ~5% pathological.

    Every round and the warm-up draw disjoint problems, so no pass finds a gold another parsed.
    """
    rng = random.Random(seed)
    gsm_rows, math_rows = _gsm_rows(data_dir), _math_rows(data_dir)
    need_gsm, need_math = n_gsm * rounds + n_warm, n_math * rounds + n_warm
    if need_gsm > len(gsm_rows) or need_math > len(math_rows):
        raise SystemExit(f"error: {rounds} rounds need {need_gsm} GSM8K and {need_math} MATH-500 problems, "
                         f"the data has {len(gsm_rows)} and {len(math_rows)}; lower --rounds, --gsm8k or --math500")
    gsm_all = rng.sample(gsm_rows, need_gsm)
    math_all = rng.sample(math_rows, need_math)
    math_golds = [g for _, g in math_all]
    warm = _completions(gsm_all[:n_warm], math_all[:n_warm], math_golds, rng)
    timed = [_completions(gsm_all[n_warm + r * n_gsm : n_warm + (r + 1) * n_gsm],
                          math_all[n_warm + r * n_math : n_warm + (r + 1) * n_math], math_golds, rng)
             for r in range(rounds)]
    return timed, [it for it in warm if it.kind != "pathological"]


def _completions(gsm: list[tuple[str, str]], math_rows: list[tuple[str, str]], math_golds: list[str],
                 rng: random.Random) -> list[Item]:
    items: list[Item] = []
    for source, rows in (("gsm8k", gsm), ("math500", math_rows)):
        for reasoning, gold in rows:
            policy = _Policy(source, gold, math_golds, rng)
            for _ in range(GROUP):
                u = rng.random()
                if u < 0.05:
                    if rng.random() < 0.5:
                        items.append(Item(_wrap(reasoning, rng.choice(PATHOLOGICAL)), gold, "pathological", source))
                    else:  # a 1 MB reasoning with an ordinary answer: extraction must stay linear
                        text = _wrap(("let me think again " * 60_000), gold)
                        items.append(Item(text, gold, "pathological", source, huge_reasoning=True))
                elif u < 0.50:
                    items.append(Item(_wrap(reasoning, policy.answer(True)), gold, "correct", source))
                elif u < 0.80:
                    items.append(Item(_wrap(reasoning, policy.answer(False)), gold, "wrong", source))
                else:
                    items.append(Item(rng.choice(_UNPARSEABLE)(reasoning, gold), gold, "unparseable", source))
    return items


def baseline_score(text: str, gold: str) -> float | None:
    """TRL/open-r1 style: parse gold and prediction, verify, in-process, every time."""
    from math_verify import verify

    gold_parsed = parse_answer(gold, timeout=10)
    if not has_expr(gold_parsed):
        return None
    pred = extract_answer(text, "strict")
    if pred is None:
        return 0.0
    return float(verify(gold_parsed, parse_answer(pred, timeout=10), timeout_seconds=5))


def start_r1lite(workers: int, warm_items: list[Item], batch: int, two_stage: bool = True) -> float:
    """Fresh workers (``workers`` of them), warmed on other problems, caches emptied: start-up seconds.
    ``two_stage=False`` leaves math-verify's LaTeX parser stock (the ablation)."""
    os.environ["R1LITE_VERIFY_WORKERS"] = str(workers)
    os.environ["R1LITE_TWO_STAGE_PARSE"] = "1" if two_stage else "0"
    reset_pool()
    t0 = time.perf_counter()
    warm_up()
    startup = time.perf_counter() - t0
    rule = get_rule("accuracy")
    # The baseline warms its parser on every warm-up item; the workers would only see the few the
    # fast paths leave them, so hand them every item too: both sides start equally warm.
    pairs = [(extract_answer(it.text, "strict") or it.gold, it.gold) for it in warm_items]
    get_pool().run([("mv", p, g, DEFAULT_TIMEOUT) for p, g in pairs])
    for i in range(0, len(warm_items), batch):
        chunk = warm_items[i : i + batch]
        rule([it.text for it in chunk], answer=[it.gold for it in chunk])
    clear_caches()
    return startup


def score_batches(items: list[Item], batch: int, label: str | None = None) -> tuple[float, list[float | None]]:
    """r1lite's ``accuracy`` rule over ``items`` in TRL-sized batches: (seconds, scores)."""
    rule = get_rule("accuracy")
    starts = range(0, len(items), batch)
    scores: list[float | None] = []
    t0 = time.perf_counter()
    for i in track(starts, description=label, transient=True) if label else starts:
        chunk = items[i : i + batch]
        scores += rule([it.text for it in chunk], answer=[it.gold for it in chunk])
    return time.perf_counter() - t0, scores


def run_r1lite(items: list[Item], batch: int, warm_items: list[Item], workers: int, two_stage: bool = True
               ) -> tuple[float, list[float | None], float, float]:
    """Cold caches: (seconds, scores, start-up seconds, seconds of a second pass that finds the golds
    parsed, as a second epoch or prefetching does)."""
    startup = start_r1lite(workers, warm_items, batch, two_stage)
    cold, scores = score_batches(items, batch, f"r1lite accuracy, {workers} worker(s)")
    clear_caches(golds=False)  # forget verdicts, keep the parsed golds
    cached, _ = score_batches(items, batch)
    return cold, scores, startup, cached


def warm_baseline(warm_items: list[Item]) -> None:
    """The same warm-up as r1lite's workers get: their start-up pairs and answer shapes (sympy's
    lazy imports, parser tables), then every warm-up item; one-off process costs must not count
    on either side."""
    for pred, gold in WARM_UP_PAIRS:
        baseline_score(_wrap("", pred), gold)
    for answer in WARM_UP_ANSWERS:
        baseline_score(_wrap("", answer), answer)
    for it in warm_items:
        baseline_score(it.text, it.gold)


def run_baseline(items: list[Item]) -> tuple[float, list[float | None], list[float]]:
    scores, times = [], []
    t0 = time.perf_counter()
    for it in track(items, description="math-verify in-process", transient=True):
        t = time.perf_counter()
        scores.append(baseline_score(it.text, it.gold))
        times.append(time.perf_counter() - t)
    return time.perf_counter() - t0, scores, times


def run_trl(items: list[Item], batch: int, warm_items: list[Item]) -> tuple[float, list[float | None]]:
    """TRL's own ``accuracy_reward`` (full-completion LaTeX extraction), for reference only: it
    parses differently (a bare ``18`` in the answer tag scores 0), so agreement is not expected."""
    from trl.rewards import accuracy_reward

    def score(chunk: list[Item]) -> list[float | None]:
        comps = [[{"role": "assistant", "content": it.text}] for it in chunk]
        return accuracy_reward(comps, solution=[it.gold for it in chunk])

    for i in range(0, len(warm_items), batch):
        score(warm_items[i : i + batch])
    scores: list[float | None] = []
    t0 = time.perf_counter()
    for i in track(range(0, len(items), batch), description="TRL accuracy_reward", transient=True):
        scores += score(items[i : i + batch])
    return time.perf_counter() - t0, scores


PATHS = ("numeric", "same_text", "unparseable", "no_answer", "math_verify")


def path_of(item: Item) -> str:
    """Which path r1lite takes for an item: decided in the caller (a number, the gold's text, nothing to
    parse, no answer) or sent to a worker's math-verify."""
    pred = extract_answer(item.text, "strict")
    if pred is None:
        return "no_answer"
    verdict, _ = decide(pred, item.gold)
    if verdict is None:
        return "math_verify"
    if verdict.reason == "same text as gold":
        return "same_text"
    return "unparseable" if verdict.parse_failed or verdict.timed_out else "numeric"


def run_per_item(items: list[Item]) -> tuple[list[float], list[float | None]]:
    """Every item alone (pathological included), cold caches: the per-item wall time."""
    reset_pool()
    warm_up()
    rule = get_rule("accuracy")
    times, scores = [], []
    for it in track(items, description="r1lite per item", transient=True):
        t = time.perf_counter()
        scores += rule([it.text], answer=[it.gold])
        times.append(time.perf_counter() - t)
    return times, scores


def plot_throughput(summary: dict[str, Any], path: Path) -> None:
    """Bar chart of completions/s, written beside the JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workers = summary["verify_workers"]
    bars_ = [(f"r1lite\n{workers} worker{'s' if workers > 1 else ''}", summary["r1lite_completions_per_s"], "#2a7")]
    if workers > 1:
        bars_.append(("r1lite\n1 worker", summary["r1lite_one_worker_completions_per_s"], "#5b8"))
    bars_ += [("r1lite, stock\nLaTeX parser", summary["r1lite_stock_parser_completions_per_s"], "#9c9"),
              ("r1lite, golds\nalready parsed", summary["r1lite_golds_parsed_completions_per_s"], "#7c9"),
              ("math-verify\nin-process", summary["math_verify_completions_per_s"], "#888"),
              ("TRL\naccuracy_reward", summary["trl_accuracy_reward_completions_per_s"], "#bbb")]
    labels, values, colors = zip(*bars_, strict=True)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 1]})
    bars = ax.bar(labels, values, color=colors)
    ax.bar_label(bars, fmt="%.0f")
    ax.set_ylabel("completions / s")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(f"all {summary['n_compared']} GSM8K/MATH-500 completions (median of {summary['rounds']} rounds)\n"
                 f"agreement with math-verify {summary['agreement']:.1%}, {summary['cpus']} CPUs", fontsize=9)
    share = summary["path_share"]["math_verify"]
    mv_bars = ax2.bar(["r1lite", "math-verify\nin-process"], [summary["r1lite_mathverify_items_per_s"],
                      summary["math_verify_mathverify_items_per_s"]], color=["#2a7", "#888"])
    ax2.bar_label(mv_bars, fmt="%.0f")
    ax2.tick_params(axis="x", labelsize=8)
    ax2.set_title(f"only the {share:.0%} reaching math-verify\n{summary['speedup_mathverify_items']:.1f}x "
                  "(what LaTeX-heavy data gets)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


@dataclass
class Round:
    """One round's timings (seconds) on its own ``n`` completions."""

    n: int
    r1lite: float
    r1lite_golds_parsed: float
    r1lite_one_worker: float
    r1lite_stock_parser: float
    baseline: float
    n_mathverify: int  # items of the round that reach math-verify in r1lite
    r1lite_mathverify_items: float  # both sides again, on those items alone
    baseline_mathverify_items: float


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("R1LITE_DATA_DIR", "../shared/data")))
    ap.add_argument("--gsm8k", type=int, default=150, help=f"GSM8K problems per round (x{GROUP} completions)")
    ap.add_argument("--math500", type=int, default=125, help=f"MATH-500 problems per round (x{GROUP} completions)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds on disjoint problems; speed-ups are the median of the rounds' ratios")
    ap.add_argument("--batch", type=int, default=64, help="completions per reward call (a TRL step)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warm", type=int, default=25, help="other problems per dataset used to warm up both sides")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    if not (args.data_dir / "gsm8k" / "test.jsonl").is_file():
        print(f"error: no GSM8K data under {args.data_dir}; pass --data-dir or set R1LITE_DATA_DIR", file=sys.stderr)
        return 2
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    rounds_items, warm_items = build_items(args.data_dir, args.gsm8k, args.math500, args.seed, args.warm,
                                           args.rounds)
    workers = VerifyPool().size  # the default for this machine (R1LITE_VERIFY_WORKERS or CPUs)
    warm_baseline(warm_items)
    rounds: list[Round] = []
    compared: list[tuple[float | None, float | None, Item]] = []
    base_times: list[float] = []
    startups: list[float] = []
    path_counts: Counter[str] = Counter()
    for r, items in enumerate(rounds_items):
        normal = [it for it in items if it.kind != "pathological"]
        r1_s, r1_scores, startup, r1_cached_s = run_r1lite(normal, args.batch, warm_items, workers)
        startups.append(startup)
        one_s = r1_s if workers == 1 else run_r1lite(normal, args.batch, warm_items, 1)[0]
        stock_s, stock_scores, _, _ = run_r1lite(normal, args.batch, warm_items, workers, two_stage=False)
        assert stock_scores == r1_scores, "two-stage parsing changed a verdict"
        base_s, base_scores, times = run_baseline(normal)
        base_times += times
        compared += list(zip(r1_scores, base_scores, normal, strict=True))
        paths = [path_of(it) for it in normal]
        path_counts.update(paths)
        mv_items = [it for it, p in zip(normal, paths, strict=True) if p == "math_verify"]
        r1_mv_s = run_r1lite(mv_items, args.batch, warm_items, workers)[0]
        base_mv_s = run_baseline(mv_items)[0]
        rounds.append(Round(len(normal), r1_s, r1_cached_s, one_s, stock_s, base_s, len(mv_items), r1_mv_s,
                            base_mv_s))
        print(f"round {r + 1}/{args.rounds}: {len(normal)} completions, r1lite {r1_s:.2f} s "
              f"({workers} worker{'s' if workers > 1 else ''}; 1 worker {one_s:.2f} s, stock LaTeX parser {stock_s:.2f} s, golds parsed "
              f"{r1_cached_s:.2f} s), math-verify {base_s:.2f} s -> {base_s / r1_s:.1f}x; the {len(mv_items)} items "
              f"reaching math-verify: {r1_mv_s:.2f} s vs {base_mv_s:.2f} s -> {base_mv_s / r1_mv_s:.1f}x")
    first = [it for it in rounds_items[0] if it.kind != "pathological"]
    trl_s, trl_scores = run_trl(first, args.batch, warm_items)
    os.environ["R1LITE_VERIFY_WORKERS"] = str(workers)
    os.environ["R1LITE_TWO_STAGE_PARSE"] = "1"
    items = rounds_items[0]
    item_times, all_scores = run_per_item(items)

    agree = sum(a == b for a, b, _ in compared)
    disagreements = [{"text_tail": it.text[-200:], "gold": it.gold, "r1lite": a, "math_verify": b}
                     for a, b, it in compared if a != b][:20]
    worst = max(range(len(items)), key=lambda i: item_times[i])
    patho = [i for i, it in enumerate(items) if it.kind == "pathological"]
    n_round = len(first)
    r1_first = [a for a, _, _ in compared[:n_round]]
    speedups = [x.baseline / x.r1lite for x in rounds]
    summary = {
        "speedup": median(speedups),
        "speedup_rounds": speedups,
        "speedup_one_worker": median([x.baseline / x.r1lite_one_worker for x in rounds]),
        "speedup_golds_parsed": median([x.baseline / x.r1lite_golds_parsed for x in rounds]),
        "speedup_stock_latex_parser": median([x.baseline / x.r1lite_stock_parser for x in rounds]),
        "speedup_mathverify_items": median([x.baseline_mathverify_items / x.r1lite_mathverify_items
                                            for x in rounds]),
        "speedup_mathverify_items_rounds": [x.baseline_mathverify_items / x.r1lite_mathverify_items for x in rounds],
        "n_mathverify_items": sum(x.n_mathverify for x in rounds),
        "r1lite_mathverify_items_per_s": median([x.n_mathverify / x.r1lite_mathverify_items for x in rounds]),
        "math_verify_mathverify_items_per_s": median([x.n_mathverify / x.baseline_mathverify_items
                                                      for x in rounds]),
        "path_share": {p: path_counts[p] / len(compared) for p in PATHS},
        "agreement": agree / len(compared),
        "max_item_seconds": item_times[worst],
        "speedup_vs_trl_accuracy_reward": trl_s / rounds[0].r1lite,
        "agreement_with_trl_accuracy_reward": sum(a == b for a, b in zip(r1_first, trl_scores, strict=True))
        / n_round,
        "r1lite_completions_per_s": median([x.n / x.r1lite for x in rounds]),
        "r1lite_one_worker_completions_per_s": median([x.n / x.r1lite_one_worker for x in rounds]),
        "r1lite_stock_parser_completions_per_s": median([x.n / x.r1lite_stock_parser for x in rounds]),
        "r1lite_golds_parsed_completions_per_s": median([x.n / x.r1lite_golds_parsed for x in rounds]),
        "math_verify_completions_per_s": median([x.n / x.baseline for x in rounds]),
        "trl_accuracy_reward_completions_per_s": n_round / trl_s,
        "rounds": args.rounds,
        "n_completions_per_round": len(items),
        "n_compared": len(compared),
        "n_pathological": len(patho),
        "worker_startup_seconds": median(startups),
        "n_warmup_completions": len(warm_items),
        "verify_workers": workers,
        "cpus": os.cpu_count(),
        "batch": args.batch,
        "math_verify_max_item_seconds": max(base_times),
        "pathological_max_item_seconds": max((item_times[i] for i in patho), default=0.0),
        "pathological_answers_scored_correct": sum(all_scores[i] == 1.0 for i in patho if not items[i].huge_reasoning),
        "huge_reasoning_scored_correct": f"{sum(all_scores[i] == 1.0 for i in patho if items[i].huge_reasoning)}"
        f"/{sum(items[i].huge_reasoning for i in patho)}",
    }
    print_table(summary, items[worst])
    for d in disagreements[:5]:
        print("DISAGREE", d)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        plot_throughput(summary, args.json.with_suffix(".png"))
        payload: dict[str, Any] = {"summary": summary, "rounds": [asdict(x) for x in rounds],
                                   "disagreements": disagreements,
                                   "worst_item": {"kind": items[worst].kind, "text_head": items[worst].text[:300]}}
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"wrote {args.json}")
    return 0


def print_table(summary: dict[str, Any], worst: Item) -> None:
    spread = ", ".join(f"{x:.1f}" for x in summary["speedup_rounds"])
    table = Table(title=f"accuracy reward: {summary['n_compared']} completions over {summary['rounds']} rounds "
                        f"(+{summary['n_pathological']} pathological), {summary['verify_workers']} verify workers, "
                        f"{summary['cpus']} CPUs")
    table.add_column("figure (median of the rounds)")
    table.add_column("value", justify="right")
    table.add_row("r1lite accuracy (completions/s)", f"{summary['r1lite_completions_per_s']:.0f}")
    table.add_row("math-verify in-process (completions/s)", f"{summary['math_verify_completions_per_s']:.0f}")
    table.add_row("speedup", f"{summary['speedup']:.1f}x (rounds: {spread})")
    shares = ", ".join(f"{k} {v:.0%}" for k, v in summary["path_share"].items())
    table.add_row("path taken by the items", shares)
    mv_spread = ", ".join(f"{x:.1f}" for x in summary["speedup_mathverify_items_rounds"])
    table.add_row(f"speedup on the {summary['n_mathverify_items']} items reaching math-verify",
                  f"{summary['speedup_mathverify_items']:.1f}x (rounds: {mv_spread})")
    table.add_row("speedup, 1 verify worker", f"{summary['speedup_one_worker']:.1f}x")
    table.add_row("speedup, stock LaTeX parser (no two-stage SLL/LL)", f"{summary['speedup_stock_latex_parser']:.1f}x")
    table.add_row("speedup, golds already parsed (2nd epoch / prefetch_golds)",
                  f"{summary['speedup_golds_parsed']:.1f}x")
    table.add_row("TRL accuracy_reward (completions/s), for reference",
                  f"{summary['trl_accuracy_reward_completions_per_s']:.0f}")
    table.add_row("speedup vs TRL accuracy_reward", f"{summary['speedup_vs_trl_accuracy_reward']:.1f}x")
    table.add_row("agreement with TRL accuracy_reward (different extraction)",
                  f"{summary['agreement_with_trl_accuracy_reward']:.1%}")
    table.add_row("agreement on non-pathological", f"{summary['agreement']:.2%} of {summary['n_compared']}")
    table.add_row("worst per-item wall time, r1lite", f"{summary['max_item_seconds']:.2f} s "
                  f"({worst.kind}, {worst.source})")
    table.add_row("worst per-item, math-verify (non-pathological)", f"{summary['math_verify_max_item_seconds']:.2f} s")
    table.add_row("verify worker start-up (once per process)", f"{summary['worker_startup_seconds']:.2f} s")
    console = Console()
    console.width = max(console.width, 110)
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
