"""Every advantage estimator on one task: held-out accuracy and reward vs step and vs wall time, s/step, peak RSS.

Each (estimator, seed) trains in its own process (``python -m r1lite.recipes.<recipe> --algo NAME``) on the
recipe's CPU preset with the same model, seed, completions per step (prompts x ``--num_generations``) and
held-out problems, evaluated every ``--heldout_every`` steps so there is a curve. Peak RSS is that process's
own (``wait4``). Only the estimator changes (Dr. GRPO also brings its loss normalisation, ``loss_type dr_grpo``).

    python bench/algos.py                                              # all built-ins, seed 42 (hours on 2 cores)
    python bench/algos.py --estimators grpo,rloo --seeds 42,43 --max_steps 30
    python bench/algos.py --tiny --max_steps 2 --heldout_n 4 --heldout_every 1 --out outputs/algos_tiny  # smoke
    python bench/algos.py --estimators grpo --samplers vllm,transformers --seeds 43,44,45 --max_steps 10 \
        --out results/samplers   # does the rollout sampler change learning? paired by seed

GRPO vs PPO (what ``bench/grpo_vs_ppo.py`` did): PPO's baseline is its critic, so it can take one completion per
prompt with the same completions per step (``--group ppo=1``: GRPO 2 prompts x 8, PPO 16 x 1); the report then adds
``ppo_vs_grpo`` (peak RSS and s/step ratios, held-out accuracy difference) and PPO's last value loss and explained
variance. ``--algo_set NAME:FIELD=VALUE`` overrides a field for one estimator only.

    python bench/algos.py --estimators grpo,ppo --group ppo=1 --max_steps 20 --heldout_every 10 --out results/grpo_vs_ppo

R1-Zero diagnostics per estimator, from each run's ``metrics.jsonl`` (``r1lite.train.diagnostics``): the
reflection-word rate per completion and the length of correct and of wrong completions, step by step (a table,
and two more rows in ``curves.png``), so a critic that suppresses reflective chain-of-thought would show as a
falling reflection curve under ``ppo`` next to ``grpo``'s.

With ``--samplers A,B`` every estimator runs under each sampler (``NAME@SAMPLER`` in the report): same seed, so
the same training problems and held-out set, only the rollout engine differs. The report then adds ``paired``:
per seed, B's held-out gain minus A's, their mean, and an exact sign-flip test of "no difference".

Writes ``OUT/summary.json`` (``OUT`` = ``--out``, default ``results/algos``): one object per estimator with
``seconds_per_step``, ``peak_rss_gb``, ``heldout_before``, ``heldout_after`` and ``step_to_gain_0_10`` (the
first step at which held-out accuracy was >= before + 0.10, null if never; on the seed-averaged curve), its
per-seed runs, a ``summary`` object with the headline numbers and ``meta`` (settings, and the smallest
accuracy difference the held-out set resolves); ``curves.png`` and ``README.md`` (the table) next to it.
``--json PATH`` writes the same report there too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def default_threads() -> int:
    """r1lite's one thread policy (r1lite.train.config.default_threads), imported late (no torch at parse)."""
    from r1lite.train.config import default_threads as policy

    return policy()
BUILTINS = ("reinforce", "rloo", "reinforce_pp", "grpo", "dr_grpo", "ppo")
GAIN = 0.10


# ---------------------------------------------------------------------------------------------------
# running one (estimator, seed)
# ---------------------------------------------------------------------------------------------------
def variant_name(algo: str, sampler: str | None) -> str:
    return f"{algo}@{sampler}" if sampler else algo


def split_variant(name: str) -> tuple[str, str | None]:
    algo, _, sampler = name.rpartition("@")
    return (algo, sampler) if algo else (name, None)


def group_of(algo: str, args: argparse.Namespace) -> int:
    """Completions per prompt for ``algo``: its ``--group NAME=G``, else ``--num_generations``."""
    return int(getattr(args, "groups", {}).get(algo, args.num_generations))


def train_argv(name: str, seed: int, out: Path, args: argparse.Namespace, model: str | None) -> list[str]:
    algo, sampler = split_variant(name)
    argv = [sys.executable, "-m", f"r1lite.recipes.{args.recipe}", "--preset", "cpu", "--algo", algo,
            "--seed", str(seed), "--max-steps", str(args.max_steps), "--output_dir", str(out),
            "--num_generations", str(group_of(algo, args)), "--per_device_train_batch_size", str(args.completions),
            "--gradient_accumulation_steps", "1", "--heldout_n", str(args.heldout_n),
            "--heldout_every", str(args.heldout_every), "--threads", str(args.threads or default_threads()),
            "--save_strategy", "no", "--table_every", "0", "--report_to", "none"]
    if model:
        argv += ["--model", model]
    if sampler:
        argv += ["--sampler", sampler]
    own = [item.split(":", 1)[1] for item in getattr(args, "algo_set", []) if item.split(":", 1)[0] == algo]
    for item in [*args.set, *own]:
        key, _, value = item.partition("=")
        argv += [f"--{key.lstrip('-')}", value]
    return argv


def run_one(algo: str, seed: int, args: argparse.Namespace, model: str | None, work: Path) -> dict[str, Any]:
    """Train in a child process; its own peak RSS comes from ``wait4`` (children run one at a time)."""
    import shutil

    out = work / safe_name(algo) / f"seed{seed}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    argv = train_argv(algo, seed, out, args, model)
    print(f"=== {algo} seed {seed}: {args.max_steps} steps, log {out / 'train.log'}", flush=True)
    start = time.perf_counter()
    with (out / "train.log").open("w") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (out / "train.log").read_text()[-2000:]
        sys.exit(f"{algo} seed {seed} failed (exit {proc.returncode}); last lines of {out / 'train.log'}:\n{tail}")
    run_meta = dict(**rss_meta(usage), wall_s=time.perf_counter() - start, argv=argv[1:],
                    cpus=sorted(os.sched_getaffinity(0)))
    (out / "run_meta.json").write_text(json.dumps(run_meta, indent=1))
    return reread_one(out, seed)


def rss_meta(usage: Any) -> dict[str, Any]:
    """A waited-for child's peak RSS for ``run_meta.json``, in GB (10^9 bytes; Linux's ``ru_maxrss`` is KiB)."""
    return {"peak_rss_gb": usage.ru_maxrss * 1024 / 1e9, "rss_unit": "GB"}


def peak_gb(meta: dict[str, Any]) -> float | None:
    """``run_meta.json``'s peak RSS in GB. Files without ``rss_unit`` (before 2026-12-06) hold GiB under the same
    key (``ru_maxrss / 1024**2``): they are converted, so old and new runs compare in one unit."""
    value = meta.get("peak_rss_gb")
    if not isinstance(value, (int, float)):
        return None
    return value if meta.get("rss_unit") == "GB" else value * 1024 ** 3 / 1e9


def reread_one(folder: Path, seed: int) -> dict[str, Any]:
    """A finished run read back (``--report_only``): lanes run on separate cores can be joined in one report."""
    meta_file = folder / "run_meta.json"
    run_meta = json.loads(meta_file.read_text()) if meta_file.exists() else {"peak_rss_gb": None, "wall_s": None}
    return {**read_run(folder), "seed": seed, **run_meta, "peak_rss_gb": peak_gb(run_meta)}


def safe_name(algo: str) -> str:
    return algo.rsplit(":", 1)[-1] if ":" in algo else algo


# ---------------------------------------------------------------------------------------------------
# reading a run folder (metrics.jsonl + summary.json)
# ---------------------------------------------------------------------------------------------------
def read_run(out: Path) -> dict[str, Any]:
    """Curves and headline numbers of one run folder.

    Wall time is training time: seconds since the "before" held-out evaluation ended, without the held-out
    evaluations in between (they cost the same for every estimator and are not part of learning).
    """
    from r1lite.train.callbacks import load_run_metrics

    steps, passes = load_run_metrics(out)  # metrics.jsonl + heldout_metrics.jsonl (or the old single file)
    train = [r for r in steps if "loss" in r]
    evals = sorted((r for r in passes if "accuracy" in r), key=lambda r: r.get("time", 0.0))
    before_eval = evals[0] if evals and evals[0].get("step", 0) == 0 else None
    if before_eval is not None:
        t0 = before_eval["time"]
    else:
        t0 = (train[0]["time"] - train[0].get("step_time", 0.0)) if train else 0.0
    timeline = sorted([(r.get("time", 0.0), "eval", r) for r in evals if r is not before_eval]
                      + [(r.get("time", 0.0), "step", r) for r in steps if "reward" in r], key=lambda x: x[0])
    eval_cost, reward_curve, heldout_curve = 0.0, [], []
    for when, kind, r in timeline:
        if kind == "eval":
            eval_cost += float(r.get("seconds", 0.0))
            heldout_curve.append([r["step"], r["accuracy"], round(when - t0 - eval_cost, 2)])
        else:
            reward_curve.append([r["step"], r["reward"], round(when - t0 - eval_cost, 2)])
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    before = summary.get("before", {}).get("accuracy")
    after = summary.get("after", {}).get("accuracy")
    if before is not None:
        heldout_curve.insert(0, [0, before, 0.0])
    times = [r["step_time"] for r in train if isinstance(r.get("step_time"), (int, float))]
    rewards = [r["reward"] for r in train if isinstance(r.get("reward"), (int, float))]
    tail = rewards[-max(1, len(rewards) // 5):] if rewards else []
    return {"steps": len(train), "seconds_per_step": statistics.median(times) if times else None,
            "heldout_before": before, "heldout_after": after, "heldout_n": summary.get("after", {}).get("n"),
            "heldout_format_before": summary.get("before", {}).get("format_rate"),
            "heldout_format_after": summary.get("after", {}).get("format_rate"),
            "step_to_gain_0_10": step_to_gain(heldout_curve, before),
            "reward_curve": reward_curve, "heldout_curve": heldout_curve,
            "reward_last_fifth_mean": statistics.fmean(tail) if tail else None,
            "zero_variance_frac_mean": _mean([r.get("dynamic_sampling/zero_variance_frac") for r in train]),
            "value_loss_last": _last(train, "value_loss"), "explained_variance_last": _last(train, "explained_variance"),
            **{f"{name}_curve": curve(train, key) for name, key in DIAG_CURVES.items()}}


#: R1-Zero diagnostics read per step from metrics.jsonl (r1lite.train.diagnostics): report name -> metric
DIAG_CURVES = {"reflection": "diag/reflection_rate", "length_correct": "diag/length_correct",
               "length_wrong": "diag/length_wrong", "entropy": "entropy"}


def curve(rows: list[dict[str, Any]], key: str) -> list[list[float]]:
    """``[[step, value], ...]`` of one metric over the logged steps (steps without it are skipped)."""
    return [[r["step"], float(r[key])] for r in rows if isinstance(r.get(key), (int, float))
            and not isinstance(r.get(key), bool) and math.isfinite(r[key])]


def _last(rows: list[dict[str, Any]], suffix: str) -> float | None:
    """The last logged ``<estimator>/<suffix>`` (e.g. ``ppo/value_loss``), None when never logged."""
    for r in reversed(rows):
        for key, value in r.items():
            if key.endswith(f"/{suffix}") and isinstance(value, (int, float)):
                return float(value)
    return None


def step_to_gain(curve: list[list[float]], before: float | None, gain: float = GAIN) -> int | None:
    """First step whose held-out accuracy is >= before + gain (None if never)."""
    if before is None:
        return None
    for step, acc, *_ in curve:
        if acc is not None and acc >= before + gain - 1e-9:
            return int(step)
    return None


# ---------------------------------------------------------------------------------------------------
# aggregating seeds
# ---------------------------------------------------------------------------------------------------
def mean_curve(curves: list[list[list[float]]]) -> list[list[float]]:
    """Average [step, value, wall] over seeds at the steps every seed has."""
    if not curves:
        return []
    by_step = [{int(p[0]): p for p in c} for c in curves]
    steps = sorted(set.intersection(*(set(d) for d in by_step)))
    return [[s, statistics.fmean(d[s][1] for d in by_step), round(statistics.fmean(d[s][2] for d in by_step), 2)]
            for s in steps]


def _mean(xs: list[Any]) -> float | None:
    nums = [x for x in xs if isinstance(x, (int, float))]
    return statistics.fmean(nums) if nums else None


def mean_points(curves: list[list[list[float]]]) -> list[list[float]]:
    """Average [step, value] over seeds at the steps every seed logged."""
    curves = [c for c in curves if c]
    if not curves:
        return []
    by_step = [{int(p[0]): p[1] for p in c} for c in curves]
    steps = sorted(set.intersection(*(set(d) for d in by_step)))
    return [[s, statistics.fmean(d[s] for d in by_step)] for s in steps]


def ends(points: list[list[float]], k: int = 3) -> tuple[float | None, float | None]:
    """Mean of the first and of the last ``k`` points of a curve (a step's batch is small: one step is noisy)."""
    if not points:
        return None, None
    k = max(1, min(k, len(points) // 2 or 1))
    return statistics.fmean(p[1] for p in points[:k]), statistics.fmean(p[1] for p in points[-k:])


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One estimator's figures over its seeds (curves averaged at common steps)."""
    before = _mean([r["heldout_before"] for r in runs])
    heldout = mean_curve([r["heldout_curve"] for r in runs])
    after = _mean([r["heldout_after"] for r in runs])
    best = max(heldout, key=lambda p: p[1], default=None)  # earliest step at the best mean accuracy
    return {
        "seconds_per_step": _mean([r["seconds_per_step"] for r in runs]),
        "peak_rss_gb": max((r["peak_rss_gb"] for r in runs if r.get("peak_rss_gb") is not None), default=None),
        "heldout_before": before,
        "heldout_after": after,
        "heldout_gain": after - before if after is not None and before is not None else None,
        "heldout_best": best[1] if best else None,
        "heldout_best_step": int(best[0]) if best else None,
        "step_to_gain_0_10": step_to_gain(heldout, before),
        "step_to_gain_0_10_per_seed": [r["step_to_gain_0_10"] for r in runs],
        "heldout_after_per_seed": [r["heldout_after"] for r in runs],
        "n_seeds": len(runs),
        "heldout_curve": heldout,
        "reward_curve": mean_curve([r["reward_curve"] for r in runs]),
        "heldout_format_before": _mean([r.get("heldout_format_before") for r in runs]),
        "heldout_format_after": _mean([r.get("heldout_format_after") for r in runs]),
        "reward_last_fifth_mean": _mean([r.get("reward_last_fifth_mean") for r in runs]),
        "zero_variance_frac_mean": _mean([r.get("zero_variance_frac_mean") for r in runs]),
        "value_loss_last": _mean([r.get("value_loss_last") for r in runs]),
        "explained_variance_last": _mean([r.get("explained_variance_last") for r in runs]),
        **diag_figures(runs),
    }


def diag_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Seed-mean diagnostics curves and their first / last values (mean of 3 steps at each end)."""
    out: dict[str, Any] = {}
    for name in DIAG_CURVES:
        points = mean_points([r.get(f"{name}_curve") or [] for r in runs])
        first, last = ends(points)
        out[f"{name}_curve"] = points
        out[f"{name}_first"], out[f"{name}_last"] = first, last
    return out


def _signed_sums(xs: list[float]) -> Any:
    """All 2^len(xs) sums of +-x (numpy; one half of the seeds at a time)."""
    import numpy as np

    sums = np.zeros(1)
    for x in xs:
        sums = np.concatenate([sums + x, sums - x])
    return sums


def sign_flip_p(diffs: list[float]) -> float | None:
    """Exact two-sided p-value of "mean difference 0" for paired differences: every sign pattern is equally
    likely under the null (no distribution assumed). The 2^n patterns are counted meet-in-the-middle (the sums
    of each half's patterns, one half sorted), so 30-40 seeds take milliseconds, not the hours enumeration takes."""
    import numpy as np

    if not diffs:
        return None
    threshold = abs(sum(diffs)) - 1e-12  # |pattern sum| >= |observed sum|, ties counted
    if threshold <= 0:
        return 1.0
    half = len(diffs) // 2
    left, right = np.sort(_signed_sums(diffs[:half])), _signed_sums(diffs[half:])
    upper = len(left) - np.searchsorted(left, threshold - right, side="left")  # left + right >= threshold
    lower = np.searchsorted(left, -threshold - right, side="right")  # left + right <= -threshold
    return float((upper.sum() + lower.sum()) / 2 ** len(diffs))


def sign_flip_interval(diffs: list[float], level: float = 0.95, grid: float = 0.001) -> tuple[float, float] | None:
    """The interval of shifts mu (on a ``grid``) that the sign-flip test of ``diffs - mu`` does not reject at
    1 - ``level``: a distribution-free interval for the mean paired difference, consistent with
    :func:`sign_flip_p` (0 lies in it when that p is >= 1 - level). Each end is found by bisection between the
    mean (p = 1) and a shift past every difference (all signs agree: p = 2 / 2^n). None when no shift can be
    rejected (too few seeds: 2 / 2^n >= 1 - level)."""
    alpha = 1 - level
    if not diffs or 2 / 2 ** len(diffs) >= alpha:
        return None

    def kept(k: int) -> bool:
        return sign_flip_p([d - k * grid for d in diffs]) >= alpha

    centre = round(sum(diffs) / len(diffs) / grid)
    ends = []
    for outside in (round(min(diffs) / grid) - 1, round(max(diffs) / grid) + 1):
        inside = centre  # invariant: kept(inside), not kept(outside)
        while abs(outside - inside) > 1:
            mid = (inside + outside) // 2
            inside, outside = (mid, outside) if kept(mid) else (inside, mid)
        ends.append(round(inside * grid, 6))
    return ends[0], ends[1]


def paired(runs: dict[str, list[dict[str, Any]]], samplers: list[str]) -> dict[str, Any]:
    """Per estimator: held-out gain (after - before) per seed under the first two samplers, B - A, and the
    sign-flip p-value. Seeds missing under either sampler are left out."""
    a, b = samplers[:2]
    out: dict[str, Any] = {}
    for algo in dict.fromkeys(split_variant(n)[0] for n in runs):
        gains = {}
        for sampler in (a, b):
            gains[sampler] = {r["seed"]: r["heldout_after"] - r["heldout_before"]
                              for r in runs.get(variant_name(algo, sampler), [])
                              if r["heldout_after"] is not None and r["heldout_before"] is not None}
        seeds = sorted(set(gains[a]) & set(gains[b]))
        diffs = [round(gains[b][s] - gains[a][s], 4) for s in seeds]
        out[algo] = {"a": a, "b": b, "seeds": seeds, f"gain_{a}": [gains[a][s] for s in seeds],
                     f"gain_{b}": [gains[b][s] for s in seeds], "b_minus_a": diffs,
                     "mean_b_minus_a": statistics.fmean(diffs) if diffs else None,
                     "b_better": sum(d > 0 for d in diffs), "a_better": sum(d < 0 for d in diffs),
                     "p_sign_flip": sign_flip_p(diffs)}
    return out


HEADLINE = ("seconds_per_step", "peak_rss_gb", "heldout_before", "heldout_after", "step_to_gain_0_10",
            "heldout_best", "heldout_best_step")


def resolution(n: int | None, p: float | None) -> float | None:
    """Half-width of a 95% interval for the difference of two accuracies measured on n problems each
    (normal approximation at accuracy p): differences smaller than this are not resolved."""
    if not n or p is None:
        return None
    p = min(max(p, 0.05), 0.95)
    return 1.96 * math.sqrt(2 * p * (1 - p) / n)


def build_report(runs: dict[str, list[dict[str, Any]]], meta: dict[str, Any]) -> dict[str, Any]:
    per_est = {name: aggregate(rs) for name, rs in runs.items()}
    accs = [v["heldout_after"] for v in per_est.values() if v["heldout_after"] is not None]
    n = next((r["heldout_n"] for rs in runs.values() for r in rs if r.get("heldout_n")), None)
    seeds = max((len(rs) for rs in runs.values()), default=1)
    meta = {**meta, "heldout_n": n,
            "resolvable_accuracy_difference_95": resolution(n * seeds if n else None, _mean(accs))}
    report: dict[str, Any] = {name: {**fig, "seeds": runs[name]} for name, fig in per_est.items()}
    report["summary"] = {name: {k: fig[k] for k in HEADLINE} for name, fig in per_est.items()}
    report["summary"]["resolvable_accuracy_difference_95"] = meta["resolvable_accuracy_difference_95"]
    if len(meta.get("samplers") or []) >= 2:
        report["paired"] = paired(runs, meta["samplers"])
        report["summary"]["paired"] = {algo: {k: v[k] for k in ("mean_b_minus_a", "b_better", "a_better",
                                                                "p_sign_flip")} | {"difference": f"{v['b']} - {v['a']}"}
                                       for algo, v in report["paired"].items()}
    if "grpo" in per_est and "ppo" in per_est:  # what bench/grpo_vs_ppo.py reported
        g, p = per_est["grpo"], per_est["ppo"]
        report["summary"]["ppo_vs_grpo"] = {
            "rss_ratio_ppo_over_grpo": _ratio(p["peak_rss_gb"], g["peak_rss_gb"]),
            "time_ratio_ppo_over_grpo": _ratio(p["seconds_per_step"], g["seconds_per_step"]),
            "heldout_accuracy_ppo_minus_grpo": _diff(p["heldout_after"], g["heldout_after"]),
            "reflection_last_ppo_minus_grpo": _diff(p["reflection_last"], g["reflection_last"])}
    report["summary"]["diagnostics"] = {name: {k: per_est[name][k] for k in DIAG_HEADLINE} for name in per_est}
    report["meta"] = meta
    return report


DIAG_HEADLINE = ("reflection_first", "reflection_last", "length_correct_last", "length_wrong_last", "entropy_first",
                 "entropy_last")


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


def _diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def paired_lines(report: dict[str, Any]) -> list[str]:
    """Markdown: one row per seed with both samplers' gains, then the mean difference and its p-value."""
    lines = []
    for algo, v in report.get("paired", {}).items():
        a, b = v["a"], v["b"]
        lines += [f"Paired by seed ({algo}; held-out gain = after - before):", "",
                  f"| seed | gain {a} | gain {b} | {b} - {a} |", "|---|---|---|---|"]
        lines += [f"| {s} | {ga:+.2f} | {gb:+.2f} | {d:+.2f} |"
                  for s, ga, gb, d in zip(v["seeds"], v[f"gain_{a}"], v[f"gain_{b}"], v["b_minus_a"], strict=True)]
        lines += ["", f"Mean {b} - {a}: {fmt(v['mean_b_minus_a'], '{:+.3f}')} over {len(v['seeds'])} seeds "
                  f"({b} better on {v['b_better']}, {a} on {v['a_better']}); exact sign-flip p = "
                  f"{fmt(v['p_sign_flip'], '{:.3f}')} (two-sided, no difference as the null).", ""]
    return lines


# ---------------------------------------------------------------------------------------------------
# table, README, plot
# ---------------------------------------------------------------------------------------------------
HEADERS = ["--algo", "s/step (median)", "peak RSS GB", "held-out acc before -> after", "best (step)", "step to +0.10",
           "seeds"]


def fmt(x: Any, spec: str = "{:.2f}") -> str:
    return spec.format(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else "-"


def variants(report: dict[str, Any]) -> list[str]:
    """The estimator (or estimator@sampler) entries of the summary, without its other headline objects."""
    return [k for k, v in report["summary"].items() if isinstance(v, dict) and "heldout_after" in v]


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name in variants(report):
        s = report["summary"][name]
        step = s["step_to_gain_0_10"]
        rows.append([name, fmt(s["seconds_per_step"], "{:.1f}"), fmt(s["peak_rss_gb"]),
                     f"{fmt(s['heldout_before'])} -> {fmt(s['heldout_after'])}",
                     f"{fmt(s.get('heldout_best'))} ({fmt(s.get('heldout_best_step'), '{}')})",
                     "never" if step is None else str(step), str(report[name]["n_seeds"])])
    return rows


DIAG_HEADERS = ["--algo", "reflection words / completion (first -> last)", "length correct (last)",
                "length wrong (last)", "entropy (first -> last)", "reward (last 20%)", "PPO value loss / expl. var."]


def diag_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name in variants(report):
        r = report[name]
        ppo = "-" if r.get("value_loss_last") is None else \
            f"{fmt(r['value_loss_last'], '{:.3f}')} / {fmt(r.get('explained_variance_last'))}"
        rows.append([name, f"{fmt(r.get('reflection_first'))} -> {fmt(r.get('reflection_last'))}",
                     fmt(r.get("length_correct_last"), "{:.0f}"), fmt(r.get("length_wrong_last"), "{:.0f}"),
                     f"{fmt(r.get('entropy_first'))} -> {fmt(r.get('entropy_last'))}",
                     fmt(r.get("reward_last_fifth_mean"), "{:.3f}"), ppo])
    return rows


def ppo_vs_grpo_lines(report: dict[str, Any]) -> list[str]:
    v = report["summary"].get("ppo_vs_grpo")
    if not v:
        return []
    return [f"- peak RSS PPO / GRPO: {fmt(v['rss_ratio_ppo_over_grpo'])} (the critic: a second backbone, its "
            "gradients and its AdamW state)",
            f"- seconds per step PPO / GRPO: {fmt(v['time_ratio_ppo_over_grpo'])}",
            f"- held-out accuracy PPO - GRPO: {fmt(v['heldout_accuracy_ppo_minus_grpo'], '{:+.3f}')}",
            f"- reflection words per completion at the end, PPO - GRPO: "
            f"{fmt(v['reflection_last_ppo_minus_grpo'], '{:+.3f}')}", ""]


def _groups_note(meta: dict[str, Any]) -> str:
    groups = meta.get("groups") or {}
    return "".join(f"; {name}: {meta['completions'] // g} x {g}" for name, g in groups.items())


def write_readme(path: Path, report: dict[str, Any]) -> None:
    meta = report["meta"]
    res = meta.get("resolvable_accuracy_difference_95")
    title = "Rollout samplers side by side" if len(meta.get("samplers") or []) >= 2 else "Advantage estimators side by side"
    lines = [f"# {title}", "",
             f"Recipe `{meta['recipe']}` (CPU preset), model `{meta['model']}`, seeds {meta['seeds']}, "
             f"{meta['completions']} completions per step ({meta['completions'] // meta['num_generations']} prompts "
             f"x {meta['num_generations']}{_groups_note(meta)}), {meta['max_steps']} steps, held-out n = {meta['heldout_n']} "
             f"(every {meta['heldout_every']} steps), {meta['threads']} torch thread(s). Generated by "
             f"`{meta['command']}` on {meta['date']}.", ""] + ([meta["note"], ""] if meta.get("note") else []) + [
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(report)]
    lines += ["", f"Differences in held-out accuracy below {fmt(res)} are within the noise of the held-out set "
              "(95% interval of a difference of two accuracies at this n).", ""] + paired_lines(report)
    lines += ppo_vs_grpo_lines(report)
    lines += ["R1-Zero diagnostics (training completions; first and last = mean of 3 logged steps at each end; "
              "seed means; `-`: not logged, e.g. runs from before r1lite.train.diagnostics):", "",
              "| " + " | ".join(DIAG_HEADERS) + " |", "|" + "---|" * len(DIAG_HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in diag_rows(report)]
    lines += ["", "![curves](curves.png)", ""]
    path.write_text("\n".join(lines))


def plot(report: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = variants(report)
    fig, axes = plt.subplots(3, 2, figsize=(12, 12))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(names):
        color = colors[i % len(colors)]
        for row, key in ((0, "heldout_curve"), (1, "reward_curve")):
            curve = report[name][key]
            if not curve:
                continue
            steps, ys, walls = zip(*curve, strict=True)
            if key == "reward_curve" and len(ys) > 10:
                w = max(len(ys) // 10, 1)
                ys = [statistics.fmean(ys[max(0, j - w + 1):j + 1]) for j in range(len(ys))]
            marker = "o" if key == "heldout_curve" else None
            axes[row][0].plot(steps, ys, marker=marker, color=color, label=name)
            axes[row][1].plot([w / 60 for w in walls], ys, marker=marker, color=color, label=name)
    for i, name in enumerate(names):  # R1-Zero diagnostics: reflection words, length of correct / wrong
        color = colors[i % len(colors)]
        r = report[name]
        if r.get("reflection_curve"):
            xs, ys = zip(*r["reflection_curve"], strict=True)
            axes[2][0].plot(xs, ys, color=color, label=name)
        for key, style in (("length_correct_curve", "-"), ("length_wrong_curve", "--")):
            if r.get(key):
                xs, ys = zip(*r[key], strict=True)
                axes[2][1].plot(xs, ys, color=color, linestyle=style,
                                label=f"{name} {'correct' if 'correct' in key else 'wrong'}")
    axes[2][0].set(xlabel="step", ylabel="reflection words per completion", title="reflection words (training)")
    axes[2][1].set(xlabel="step", ylabel="tokens", title="completion length: correct (solid) vs wrong (dashed)")
    for col, xlabel in ((0, "step"), (1, "training wall time (min, held-out evaluations excluded)")):
        axes[0][col].set(xlabel=xlabel, ylabel="held-out accuracy (greedy)", ylim=(-0.02, 1.02))
        axes[1][col].set(xlabel=xlabel, ylabel="training reward (moving average)")
    for ax in axes.flat:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rich_table(title: str, headers: list[str], rows: list[list[str]]) -> Any:
    """A right-aligned rich table (shared with bench/reliability.py)."""
    from rich.table import Table

    table = Table(title=title)
    for h in headers:
        table.add_column(h, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=max(Console().width, 120))
    console.print(rich_table("advantage estimators", HEADERS, table_rows(report)))
    res = report["meta"].get("resolvable_accuracy_difference_95")
    console.print(f"held-out differences below {fmt(res)} are noise (95%, n = {report['meta'].get('heldout_n')})")
    for line in paired_lines(report) + ppo_vs_grpo_lines(report):
        console.print(line, markup=False)
    console.print(rich_table("R1-Zero diagnostics (training completions)", DIAG_HEADERS, diag_rows(report)))


def write_outputs(report: dict[str, Any], out: Path, json_path: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1) + "\n"
    (out / "summary.json").write_text(text)
    if json_path:
        Path(json_path).write_text(text)
    meta = report["meta"]
    plot(report, out / "curves.png", f"{meta['recipe']}, {meta['model']}, {meta['completions']} completions/step, "
         f"seeds {meta['seeds']}")
    write_readme(out / "README.md", report)


# ---------------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------------
def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--estimators", default=",".join(BUILTINS), help="comma list of --algo values (plug-ins too)")
    p.add_argument("--seeds", default="42", help="comma list of seeds; every estimator runs every seed")
    p.add_argument("--max_steps", "--max-steps", type=int, default=40)
    p.add_argument("--heldout_n", "--heldout-n", type=int, default=100)
    p.add_argument("--heldout_every", "--heldout-every", type=int, default=10, help="held-out curve every N steps")
    p.add_argument("--recipe", default="arithmetic", help="recipes/<name>.yaml (CPU preset)")
    p.add_argument("--model", default=None, help="model for every run (default: the preset's)")
    p.add_argument("--tiny", action="store_true", help="a tiny random Llama (smoke test; numbers mean nothing)")
    p.add_argument("--completions", type=int, default=16, help="generated completions per step (all estimators)")
    p.add_argument("--num_generations", type=int, default=8, help="completions per prompt (all estimators)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run (runs are sequential; default: r1lite's policy)")
    p.add_argument("--samplers", default="", help="comma list of --sampler values (vllm, transformers): every "
                   "estimator under each, paired by seed (default: the preset's sampler)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="config override, every run")
    p.add_argument("--algo_set", "--algo-set", action="append", default=[], metavar="NAME:FIELD=VALUE",
                   help="config override for one estimator, e.g. ppo:critic_learning_rate=1e-4")
    p.add_argument("--group", action="append", default=[], metavar="NAME=G",
                   help="completions per prompt for one estimator (default --num_generations), e.g. ppo=1: "
                        "PPO's baseline is its critic, so it can sample one completion per prompt")
    p.add_argument("--out", default="results/algos", help="report folder")
    p.add_argument("--work", default="outputs/algos", help="training run folders")
    p.add_argument("--json", default=None, help="also write the report to this JSON file")
    p.add_argument("--note", default="", help="a sentence for the report (how the runs were made)")
    p.add_argument("--report_only", action="store_true", help="re-read the run folders in --work, train nothing")
    args = p.parse_args(argv)
    args.estimators = [e.strip() for e in args.estimators.split(",") if e.strip()]
    args.samplers = [x.strip() for x in args.samplers.split(",") if x.strip()]
    from r1lite.train.config import SAMPLERS

    if any(x not in SAMPLERS for x in args.samplers) or len(set(args.samplers)) != len(args.samplers):
        p.error(f"--samplers takes distinct values from {', '.join(SAMPLERS)}; got {args.samplers}")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    if not args.estimators or not args.seeds:
        p.error("--estimators and --seeds must name at least one value")
    args.groups = {}
    for item in args.group:
        name, _, value = item.partition("=")
        if not value.strip().isdigit() or int(value) < 1:
            p.error(f"--group takes NAME=G with G >= 1, got {item!r}")
        args.groups[name.strip()] = int(value)
    for item in args.algo_set:
        if ":" not in item or "=" not in item.split(":", 1)[1]:
            p.error(f"--algo_set takes NAME:FIELD=VALUE, got {item!r}")
    if args.num_generations < 1 or args.completions % args.num_generations:
        p.error(f"--completions ({args.completions}) must be a positive multiple of --num_generations "
                f"({args.num_generations})")
    if args.max_steps < 1 or args.heldout_n < 0 or args.heldout_every < 0:
        p.error("--max_steps must be >= 1, --heldout_n and --heldout_every >= 0")
    from r1lite.algos import needs_of
    from r1lite.registry import RegistryError

    for name in args.estimators:
        try:
            needs = needs_of(name)
        except RegistryError as exc:
            p.error(str(exc))
        group = group_of(name, args)
        if group < needs.min_group_size:
            flag = f"--group {name}=G" if name in args.groups else "--num_generations"
            p.error(f"{name} needs {flag} >= {needs.min_group_size}")
        if args.completions % group:
            p.error(f"--completions ({args.completions}) must be a multiple of {name}'s completions per prompt "
                    f"({group})")
    return args


def without_note(argv: list[str]) -> list[str]:
    """The command line for the report, minus ``--note TEXT`` (the note is printed on its own)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--note":
            skip = True
        elif not a.startswith("--note="):
            out.append(a)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    out, work = (Path(x) if Path(x).is_absolute() else REPO / x for x in (args.out, args.work))
    model = args.model
    if args.tiny:
        from r1lite.models import make_tiny_llama

        model = make_tiny_llama(work / "tiny_model", tokenizer_spec="smollm2-135m")
    runs: dict[str, list[dict[str, Any]]] = {}
    names = [variant_name(e, x) for e in args.estimators for x in (args.samplers or [None])]
    for name in names:
        runs[name] = []
        for seed in args.seeds:
            if args.report_only:
                runs[name].append(reread_one(work / safe_name(name) / f"seed{seed}", seed))
            else:
                runs[name].append(run_one(name, seed, args, model, work))
    meta = {"recipe": args.recipe, "model": "tiny random Llama" if args.tiny else (args.model or "preset default"),
            "seeds": args.seeds, "completions": args.completions, "num_generations": args.num_generations,
            "max_steps": args.max_steps, "heldout_every": args.heldout_every,
            "threads": args.threads or default_threads(),
            "set": args.set, "algo_set": args.algo_set, "groups": args.groups, "samplers": args.samplers, "note": args.note, "command": "python bench/algos.py " + " ".join(without_note(argv)),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    report = build_report(runs, meta)
    write_outputs(report, out, args.json)
    print_table(report)
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
