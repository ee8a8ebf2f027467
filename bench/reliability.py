"""Does the default command learn on every seed? A recipe's CPU default command on N fresh seeds, per arm.

Each run is the recipe's own command (``python -m r1lite.recipes.<recipe> --preset cpu --seed S``) with only the
seed, the run folder, held-out points for the curve (``--heldout_every``) and the arm's overrides changed. A seed
draws its own training problems and its own held-out problems (the task samples both from the seed); seed 42,
on which the presets were tuned, is refused. Held-out scoring is training's: greedy, the task's rules, problems
never trained on.

    python bench/reliability.py --seeds 101,102,103                          # the preset as it is (vLLM or not)
    python bench/reliability.py --seeds 101,102 --samplers vllm,transformers  # paired by seed, sign-flip p
    python bench/reliability.py --seeds 101,102 --arm preset --arm "candidate:difficulty_sampling=true,clip_cov_ratio=0.02"
    python bench/reliability.py --seeds 101 --long_factor 3                  # + a 3x-steps run per seed (collapse)
    python bench/reliability.py --seeds 101 --long_factor 3 --long_only      # only those (1x runs already in --work)
    python bench/reliability.py --tiny --seeds 1,2 --set max_steps=2 --set heldout_n=4 --out /tmp/rel  # smoke

An arm is ``NAME`` or ``NAME:FIELD=VALUE,FIELD=VALUE`` (config overrides), optionally ``@SAMPLER``; with
``--samplers A,B`` every arm runs under both samplers. The first two arms are compared paired by seed (gain
difference per seed, mean, exact sign-flip p and the 95% interval of the mean, the test inverted) as
``bench/algos.py`` does; with three or more, every pair (``paired_all``). ``--margin M`` also says whether that
interval lies inside +-M: that the arms are equivalent to within M, which "no difference found" does not say.

Writes ``OUT/summary.json`` (``summary``: per arm ``seeds``, ``mean_gain``, ``min_gain``, ``frac_gain_ge_0_10``,
``frac_below_start``, ``mean_wall_seconds``, ``mean_final_minus_best`` (from the ``--long_factor`` runs; null
without them), ``mean_best_minus_start``, entropy and skipped-prompt figures, ``paired`` and ``paired_all``),
``OUT/README.md``
(the tables) and ``OUT/curves.png`` (every seed's held-out curve and entropy, per arm). ``--json PATH`` writes the
report there too. ``--lock FILE`` takes an flock on FILE around each wave of runs (``--lanes`` runs at once, each
pinned to its own core), so other heavy jobs can interleave between waves.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from algos import (  # noqa: E402
    fmt,
    peak_gb,
    read_run,
    rich_table,
    rss_meta,
    sign_flip_interval,
    sign_flip_p,
    without_note,
)

GAIN = 0.10
TUNED_SEED = 42


# ---------------------------------------------------------------------------------------------------
# arms and runs
# ---------------------------------------------------------------------------------------------------
def parse_arm(text: str) -> dict[str, Any]:
    """``name[:field=value,field=value][@sampler]`` -> {name, sets, sampler}."""
    body, _, sampler = text.partition("@")
    name, _, sets = body.partition(":")
    pairs = [p.strip() for p in sets.split(",") if p.strip()]
    for p in pairs:
        if "=" not in p:
            raise ValueError(f"arm {text!r}: {p!r} is not FIELD=VALUE")
    return {"name": name.strip() or "preset", "sets": pairs, "sampler": sampler.strip() or None}


def arm_label(arm: dict[str, Any]) -> str:
    return f"{arm['name']}@{arm['sampler']}" if arm["sampler"] else arm["name"]


def preset_steps(recipe: str) -> int:
    import yaml

    data = yaml.safe_load((REPO / "recipes" / f"{recipe}.yaml").read_text())
    return int((data.get("presets") or {}).get("cpu", {}).get("max_steps") or data.get("max_steps") or 10)


def run_argv(arm: dict[str, Any], seed: int, out: Path, args: argparse.Namespace, steps: int | None) -> list[str]:
    argv = [sys.executable, "-m", f"r1lite.recipes.{args.recipe}", "--preset", "cpu", "--seed", str(seed),
            "--output_dir", str(out), "--heldout_every", str(args.heldout_every), "--save_strategy", "no",
            "--table_every", "0", "--report_to", "none"]
    if args.model:
        argv += ["--model", args.model]
    if arm["sampler"]:
        argv += ["--sampler", arm["sampler"]]
    if steps:
        argv += ["--max-steps", str(steps)]
    for item in [*args.set, *arm["sets"]]:
        key, _, value = item.partition("=")
        argv += [f"--{key.strip().lstrip('-')}", value.strip()]
    return argv


def run_folder(work: Path, arm: dict[str, Any], seed: int, long: bool) -> Path:
    return work / arm_label(arm).replace(":", "_") / f"seed{seed}{'-long' if long else ''}"


def run_wave(jobs: list[tuple[list[str], Path]], lock: str | None) -> None:
    """Start every job at once (each pinned to its own core when there are enough), wait for all; each folder gets
    ``run_meta.json`` (peak RSS from ``wait4``, wall seconds, command)."""
    handle = open(lock, "a") if lock else None  # noqa: SIM115 - held for the whole wave
    if handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        cores = sorted(os.sched_getaffinity(0))
        procs = {}
        for k, (argv, out) in enumerate(jobs):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            pin = [cores[k % len(cores)]] if len(jobs) > 1 and len(cores) >= len(jobs) else None
            log = (out / "train.log").open("w")
            print(f"=== {out.parent.name} {out.name}: log {out / 'train.log'}", flush=True)
            proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                    env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
                                    preexec_fn=(lambda p=pin: os.sched_setaffinity(0, p)) if pin else None)
            procs[proc.pid] = (proc, out, argv, time.perf_counter(), log)
        while procs:
            pid, status, usage = os.wait4(-1, 0)
            if pid not in procs:
                continue
            proc, out, argv, start, log = procs.pop(pid)
            log.close()
            code = os.waitstatus_to_exitcode(status)
            meta = {**rss_meta(usage), "wall_s": time.perf_counter() - start,
                    "exit": code, "argv": argv[1:], "lanes": len(jobs)}
            (out / "run_meta.json").write_text(json.dumps(meta, indent=1))
            if code != 0:
                tail = (out / "train.log").read_text()[-1500:]
                print(f"!!! {out} failed (exit {code}):\n{tail}", file=sys.stderr, flush=True)
    finally:
        if handle:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


# ---------------------------------------------------------------------------------------------------
# reading runs back
# ---------------------------------------------------------------------------------------------------
def read_seed(folder: Path, seed: int, upto: int | None = None) -> dict[str, Any] | None:
    """One run's figures, or None when it did not finish. ``upto``: the figures of its first ``upto`` steps, read
    from a longer run whose first ``upto`` steps are the shorter run's (a learning rate constant through them and
    seeded sampling: ``--short_from_long``); None when it has no held-out point there."""
    summary_file = folder / "summary.json"
    if not summary_file.exists():
        return None
    summary = json.loads(summary_file.read_text())
    if "after" not in summary:
        return None
    from r1lite.train.callbacks import load_run_metrics, load_validation_metrics

    run = read_run(folder)
    steps, passes = load_run_metrics(folder)
    validation = [r for r in load_validation_metrics(folder) if int(r.get("step") or 0) <= (upto or run["steps"])]
    meta = json.loads((folder / "run_meta.json").read_text()) if (folder / "run_meta.json").exists() else {}
    curve = [[int(s), a] for s, a, *_ in run["heldout_curve"]]
    wall = summary.get("wall_seconds")
    last = upto or run["steps"]
    chosen, selected = selected_point(validation, summary, curve, upto is not None)
    # a mid-run held-out pass is the curve's, not the command's: left out of the wall time, except at the step the
    # validation passes chose (without it, the command scores best/ after training: a pass it pays for)
    mid_passes = {int(p.get("step") or 0): float(p.get("seconds", 0.0)) for p in passes
                  if str(p.get("phase", "")).startswith("step") and int(p.get("step") or 0) < last}
    kept = mid_passes.get(chosen, 0.0) if chosen is not None else 0.0
    mid = sum(mid_passes.values()) - kept
    # what the same run costs without validation problems (its training is the same): less the validation passes
    # and the chosen step's held-out pass that was kept in above
    extra = kept + sum(float(r.get("seconds", 0.0)) for r in validation)
    before, after = run["heldout_before"], run["heldout_after"]
    # the run's own best/ step, unless validation picked it or only the first ``upto`` steps are read
    best_step = summary.get("best", {}).get("step") if not validation and upto is None else None
    if upto is not None:
        after = at_step(curve, upto)
        if after is None:
            return None
        curve = [c for c in curve if c[0] <= upto]
        steps = [r for r in steps if int(r.get("step") or 0) <= upto]
        at = next(float(p["time"]) for p in passes if p.get("step") == upto and p.get("phase") != "before")
        end = next((float(p["time"]) for p in passes if p.get("phase") == "after"), at)
        if isinstance(wall, (int, float)):  # the time after its step-``upto`` pass went on steps a short run has not
            wall -= end - at
    if best_step is None and curve:  # the held-out curve's best, the first to reach it (validation picks best/)
        best_step = max((c for c in curve if c[1] is not None), key=lambda c: c[1])[0]
    best = max((a for _, a in curve if a is not None), default=None)
    entropy = [[r["step"], r["entropy"]] for r in steps if isinstance(r.get("entropy"), (int, float))]
    skipped = [r["difficulty/skipped_frac"] for r in steps if isinstance(r.get("difficulty/skipped_frac"), (int, float))]
    zero = [r["dynamic_sampling/zero_variance_frac"] for r in steps
            if isinstance(r.get("dynamic_sampling/zero_variance_frac"), (int, float))]
    return {
        "seed": seed, "steps": last, "before": before, "after": after,
        "gain": after - before if after is not None and before is not None else None,
        "best": best, "best_step": best_step,
        "final_minus_best": after - best if after is not None and best is not None else None,
        "selected_step": chosen, "selected": selected,
        "gain_selected": selected - before if selected is not None and before is not None else None,
        "wall_seconds": round(wall - mid, 1) if isinstance(wall, (int, float)) else None,
        "wall_seconds_without_validation": round(wall - mid - extra, 1)
        if isinstance(wall, (int, float)) and chosen is not None else None,
        "mid_heldout_seconds": round(mid, 1), "peak_rss_gb": peak_gb(meta), "lanes": meta.get("lanes"),
        "entropy_first": entropy[0][1] if entropy else None, "entropy_last": entropy[-1][1] if entropy else None,
        "skipped_frac": statistics.fmean(skipped) if skipped else None,
        "zero_variance_frac": statistics.fmean(zero) if zero else None,
        "no_signal_steps": sum(1 for z in zero if z >= 1.0 - 1e-9),
        "heldout_curve": curve, "entropy_curve": entropy, "from_long_run": upto is not None,
    }


def selected_point(validation: list[dict[str, Any]], summary: dict[str, Any], curve: list[list[Any]],
                   partial: bool) -> tuple[int | None, float | None]:
    """The step the run's validation passes (those up to the steps read) chose (the first best, as ``best/``
    keeps it) and that step's held-out accuracy: from the held-out curve, else ``summary["selected"]`` (scored
    after training). ``(None, None)`` for a run without validation passes."""
    from r1lite.train.report import best_step

    chosen = best_step({}, validation)
    if chosen is None:
        return None, None
    step = int(chosen["step"])
    held = at_step(curve, step)
    if held is None and not partial and (summary.get("selected") or {}).get("step") == step:
        held = summary["selected"].get("accuracy")
    return step, held


def _mean(xs: list[Any]) -> float | None:
    nums = [x for x in xs if isinstance(x, (int, float))]
    return round(statistics.fmean(nums), 4) if nums else None


def _share(xs: list[float], test: Any) -> float | None:
    """The share of ``xs`` that pass ``test`` (None for no figures)."""
    return round(sum(bool(test(x)) for x in xs) / len(xs), 3) if xs else None


def at_step(curve: list[list[Any]], step: int) -> float | None:
    """The held-out accuracy a curve has at ``step`` (None when it has no point there)."""
    return next((a for s, a in curve if s == step and a is not None), None)


def long_summary(long_runs: list[dict[str, Any]], steps: int) -> dict[str, Any]:
    """The 3x-steps runs: what they gained by the preset's step count, at their end, and what they lost of their
    best point (a constant learning rate after warm-up makes a long run's first ``steps`` steps the preset's run)."""
    gains = [r["gain"] for r in long_runs if r["gain"] is not None]
    at = [at_step(r["heldout_curve"], steps) for r in long_runs]
    at_gains = [a - r["before"] for a, r in zip(at, long_runs, strict=True) if a is not None and r["before"] is not None]
    fmb = [r["final_minus_best"] for r in long_runs if r["final_minus_best"] is not None]
    return {
        "mean_final_minus_best": _mean(fmb), "min_final_minus_best": min(fmb) if fmb else None,
        "long_seeds": [r["seed"] for r in long_runs],
        "long_mean_gain": _mean(gains), "long_min_gain": min(gains) if gains else None,
        "long_frac_below_start": _share(gains, lambda g: g < -1e-9),
        "long_mean_gain_at_preset_steps": _mean(at_gains),
        "long_mean_entropy_last": _mean([r["entropy_last"] for r in long_runs]),
        "long_mean_zero_variance_frac": _mean([r["zero_variance_frac"] for r in long_runs]),
        "long_no_signal_steps": [r["no_signal_steps"] for r in long_runs],
    }


def selected_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The same figures for the checkpoint the validation passes chose (``best/``: what the command delivers);
    empty for runs without validation passes."""
    gains = [r.get("gain_selected") for r in runs if r.get("gain_selected") is not None]
    if not gains:
        return {}
    return {"n_selected": len(gains), "mean_gain_selected": _mean(gains), "min_gain_selected": min(gains),
            "frac_gain_ge_0_10_selected": _share(gains, lambda g: g >= GAIN - 1e-9),
            "frac_below_start_selected": _share(gains, lambda g: g < -1e-9),
            "selected_steps": [r.get("selected_step") for r in runs],
            "mean_wall_seconds_without_validation": _mean([r.get("wall_seconds_without_validation") for r in runs])}


def arm_summary(runs: list[dict[str, Any]], long_runs: list[dict[str, Any]], steps: int = 0) -> dict[str, Any]:
    gains = [r["gain"] for r in runs if r["gain"] is not None]
    return {
        "seeds": [r["seed"] for r in runs], "n": len(runs),
        "mean_gain": _mean(gains), "min_gain": min(gains) if gains else None, "max_gain": max(gains) if gains else None,
        "frac_gain_ge_0_10": _share(gains, lambda g: g >= GAIN - 1e-9),
        "frac_below_start": _share(gains, lambda g: g < -1e-9),
        "mean_before": _mean([r["before"] for r in runs]), "mean_after": _mean([r["after"] for r in runs]),
        "mean_best_minus_start": _mean([r["best"] - r["before"] for r in runs
                                        if r["best"] is not None and r["before"] is not None]),
        "mean_wall_seconds": _mean([r["wall_seconds"] for r in runs]),
        "max_peak_rss_gb": max((r["peak_rss_gb"] for r in runs if r["peak_rss_gb"]), default=None),
        "mean_entropy_first": _mean([r["entropy_first"] for r in runs]),
        "mean_entropy_last": _mean([r["entropy_last"] for r in runs]),
        "mean_skipped_frac": _mean([r["skipped_frac"] for r in runs]),
        "mean_zero_variance_frac": _mean([r["zero_variance_frac"] for r in runs]),
        **selected_summary(runs),
        **long_summary(long_runs, steps),
    }


def paired(a: str, b: str, runs: dict[str, list[dict[str, Any]]], margin: float | None = None,
           key: str = "gain") -> dict[str, Any]:
    """Gain B - A per seed both arms ran, its mean, the exact sign-flip p and the 95% interval of the mean (the
    test inverted). ``margin``: also whether that interval lies inside +-margin (equivalence shown, not just no
    difference found). ``key="gain_selected"``: the gains of the checkpoints the validation passes chose."""
    ga = {r["seed"]: r[key] for r in runs[a] if r.get(key) is not None}
    gb = {r["seed"]: r[key] for r in runs[b] if r.get(key) is not None}
    seeds = sorted(set(ga) & set(gb))
    diffs = [round(gb[s] - ga[s], 4) for s in seeds]
    interval = sign_flip_interval(diffs)
    ci = list(interval) if interval else None  # a list, as JSON writes it
    return {"a": a, "b": b, "of": key, "seeds": seeds, "gain_a": [ga[s] for s in seeds], "gain_b": [gb[s] for s in seeds],
            "b_minus_a": diffs, "mean_b_minus_a": _mean(diffs), "b_better": sum(d > 0 for d in diffs),
            "a_better": sum(d < 0 for d in diffs), "p_sign_flip": sign_flip_p(diffs),
            "ci95_b_minus_a": ci, "margin": margin,
            "ci95_within_margin": None if margin is None or ci is None else -margin <= ci[0] and ci[1] <= margin}


def build_report(runs: dict[str, list[dict[str, Any]]], long_runs: dict[str, list[dict[str, Any]]],
                 meta: dict[str, Any]) -> dict[str, Any]:
    order = list(meta.get("arms") or {}) or list(runs)
    arms = {name: arm_summary(runs.get(name, []), long_runs.get(name, []), int(meta.get("steps") or 0))
            for name in order if name in runs or name in long_runs}
    names = [n for n in arms if n in runs]
    summary: dict[str, Any] = dict(arms[names[0]]) if names else {}
    summary["arm"] = names[0] if names else None
    summary["arms"] = arms
    report: dict[str, Any] = {"summary": summary, "runs": runs, "long_runs": long_runs, "meta": meta}
    # every pair, in arm order (the first is the first two arms'); e.g. a sampler against a second stream of the other
    margin = meta.get("margin")
    pairs = [paired(a, b, runs, margin) for i, a in enumerate(names) for b in names[i + 1:]]
    if pairs:
        report["paired"], summary["paired"] = pairs[0], _compact(pairs[0])
    if len(pairs) > 1:
        report["paired_all"], summary["paired_all"] = pairs, [_compact(p) for p in pairs]
    chosen = [n for n in names if arms[n].get("mean_gain_selected") is not None]
    if len(chosen) >= 2:  # what the two commands deliver (best/ by validation), paired the same way
        report["paired_selected"] = paired(chosen[0], chosen[1], runs, margin, key="gain_selected")
        summary["paired_selected"] = _compact(report["paired_selected"])
    long_names = [n for n in arms if long_runs.get(n)]
    if len(long_names) >= 2:  # the long runs' end points, paired the same way
        report["paired_long"] = paired(long_names[0], long_names[1], long_runs, margin)
        summary["paired_long"] = _compact(report["paired_long"])
    return report


def _compact(pair: dict[str, Any]) -> dict[str, Any]:
    """A :func:`paired` result without its per-seed lists, for ``summary``."""
    keys = ("a", "b", "of", "mean_b_minus_a", "b_better", "a_better", "p_sign_flip", "ci95_b_minus_a", "margin",
            "ci95_within_margin")
    return {k: pair[k] for k in keys}


# ---------------------------------------------------------------------------------------------------
# table, README, plot
# ---------------------------------------------------------------------------------------------------
HEADERS = ["arm", "seeds", "mean gain", "min gain", "gain >= 0.10", "below start", "best - start", "final - best (3x)",
           "entropy first -> last", "skipped", "zero-var", "wall s", "peak RSS GB"]


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, s in report["summary"]["arms"].items():
        rows.append([name, str(s["n"]), fmt(s["mean_gain"], "{:+.3f}"), fmt(s["min_gain"], "{:+.2f}"),
                     fmt(s["frac_gain_ge_0_10"]), fmt(s["frac_below_start"]), fmt(s["mean_best_minus_start"], "{:+.3f}"),
                     fmt(s["mean_final_minus_best"], "{:+.3f}"),
                     f"{fmt(s['mean_entropy_first'])} -> {fmt(s['mean_entropy_last'])}",
                     fmt(s["mean_skipped_frac"]), fmt(s["mean_zero_variance_frac"]), fmt(s["mean_wall_seconds"], "{:.0f}"),
                     fmt(s["max_peak_rss_gb"])])
    return rows


def seed_lines(report: dict[str, Any]) -> list[str]:
    names = list(report["runs"])
    seeds = sorted({r["seed"] for rs in report["runs"].values() for r in rs})
    by = {n: {r["seed"]: r for r in report["runs"][n]} for n in names}
    lines = ["| seed | " + " | ".join(f"{n}: before -> after (best@step)" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for s in seeds:
        cells = []
        for n in names:
            r = by[n].get(s)
            chosen = "" if r is None or r.get("selected") is None else \
                f"; selected {fmt(r['selected'])}@{r['selected_step']}"
            cells.append("-" if r is None else f"{fmt(r['before'])} -> {fmt(r['after'])} ({fmt(r['gain'], '{:+.2f}')}; "
                         f"best {fmt(r['best'])}@{fmt(r['best_step'], '{}')}{chosen})")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return lines


def long_lines(report: dict[str, Any]) -> list[str]:
    """The 3x-steps runs, per seed: held-out before, at the preset's step count, at the end, and the best point."""
    long_runs, steps = report.get("long_runs") or {}, int(report["meta"].get("steps") or 0)
    names = [n for n in long_runs if long_runs[n]]
    if not names:
        return []
    seeds = sorted({r["seed"] for n in names for r in long_runs[n]})
    by = {n: {r["seed"]: r for r in long_runs[n]} for n in names}
    lines = [f"Runs of {report['meta'].get('long_factor')}x the preset's steps (collapse): held-out before -> at step "
             f"{steps} -> at the end (best@step; end - best):", "",
             "| seed | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for s in seeds:
        cells = []
        for n in names:
            r = by[n].get(s)
            cells.append("-" if r is None else
                         f"{fmt(r['before'])} -> {fmt(at_step(r['heldout_curve'], steps))} -> {fmt(r['after'])} "
                         f"(best {fmt(r['best'])}@{fmt(r['best_step'], '{}')}; {fmt(r['final_minus_best'], '{:+.2f}')})")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    p = report.get("paired_long")
    if p:
        lines += ["", f"Paired by seed, the long runs' end gain: {p['b']} - {p['a']} = "
                      f"{fmt(p['mean_b_minus_a'], '{:+.3f}')} over {len(p['seeds'])} seeds; exact sign-flip p = "
                      f"{fmt(p['p_sign_flip'], '{:.3f}')}."]
    return lines + [""]


def interval_text(pair: dict[str, Any]) -> str:
    """The README's clause for a pair's 95% interval and, with a margin, whether it lies inside +-margin."""
    ci = pair.get("ci95_b_minus_a")
    if not ci:
        return "; too few seeds for a 95% interval"
    text = f"; 95% interval of the mean {fmt(ci[0], '{:+.3f}')} to {fmt(ci[1], '{:+.3f}')} (the test inverted)"
    if pair.get("margin") is not None:
        verdict = "inside" if pair["ci95_within_margin"] else "not inside"
        text += f", {verdict} +-{pair['margin']:g}"
    return text


def selected_lines(report: dict[str, Any]) -> list[str]:
    """What the command delivers: ``best/`` as the validation passes chose it, scored on the held-out problems."""
    arms = {n: a for n, a in report["summary"]["arms"].items() if a.get("mean_gain_selected") is not None}
    if not arms:
        return []
    lines = ["The checkpoint each run delivers in `best/`, chosen on its validation problems (never the held-out "
             "ones), scored on the held-out problems: gain over the start.", "",
             "| arm | seeds | mean gain | min gain | gain >= 0.10 | below start | chosen at step | wall s without "
             "validation |", "|---|---|---|---|---|---|---|---|"]
    for n, a in arms.items():
        steps = [x for x in a["selected_steps"] if x is not None]
        counts = ", ".join(f"{k}: {steps.count(k)}" for k in sorted(set(steps)))
        lines.append(f"| {n} | {a['n_selected']} | {fmt(a['mean_gain_selected'], '{:+.3f}')} | "
                     f"{fmt(a['min_gain_selected'], '{:+.2f}')} | {fmt(a['frac_gain_ge_0_10_selected'])} | "
                     f"{fmt(a['frac_below_start_selected'])} | {counts} | "
                     f"{fmt(a['mean_wall_seconds_without_validation'], '{:.0f}')} |")
    return lines + [""]


def paired_lines(report: dict[str, Any]) -> list[str]:
    pairs = report.get("paired_all") or ([report["paired"]] if report.get("paired") else [])
    if report.get("paired_selected"):
        pairs = [*pairs, report["paired_selected"]]
    return [f"Paired by seed: mean {'selected ' if p.get('of') == 'gain_selected' else ''}gain {p['b']} - {p['a']} = {fmt(p['mean_b_minus_a'], '{:+.3f}')} over "
            f"{len(p['seeds'])} seeds ({p['b']} better on {p['b_better']}, {p['a']} on {p['a_better']}); exact "
            f"sign-flip p = {fmt(p['p_sign_flip'], '{:.3f}')} (two-sided, no difference as the null)"
            f"{interval_text(p)}." for p in pairs] + ([""] if pairs else [])


def write_readme(path: Path, report: dict[str, Any]) -> None:
    meta = report["meta"]
    lines = ["# Reliability: the default command on fresh seeds", "",
             f"Recipe `{meta['recipe']}` (CPU preset, {meta['steps']} steps), model `{meta['model']}`, seeds "
             f"{meta['seeds']}, held-out point every {meta['heldout_every']} steps (their time is left out of wall s). "
             f"Generated by `{meta['command']}` on {meta['date']}.", ""]
    if meta.get("note"):
        lines += [meta["note"], ""]
    lines += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(report)]
    lines += ["", "Arms: " + "; ".join(f"`{n}` = {', '.join(a['sets']) or 'the preset as it is'}"
                                       f"{' (sampler ' + a['sampler'] + ')' if a['sampler'] else ''}"
                                       for n, a in meta["arms"].items()), ""]
    derived = [n for n, rs in report["runs"].items() if any(r.get("from_long_run") for r in rs)]
    if derived:
        lines += [f"{', '.join(f'`{n}`' for n in derived)}: the {meta['steps']}-step figures are read from the "
                  f"{meta.get('long_factor')}x runs' first {meta['steps']} steps (`--short_from_long`: the learning "
                  f"rate is constant through them, so they are the {meta['steps']}-step run's); wall s is the long "
                  f"run's time to its step-{meta['steps']} held-out pass, peak RSS the long run's.", ""]
    lines += selected_lines(report) + seed_lines(report) + [""] + paired_lines(report) + long_lines(report) + ["![curves](curves.png)", ""]
    path.write_text("\n".join(lines))


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["summary"].get("arms") or report["runs"])
    seeds = sorted({r["seed"] for group in (report["runs"], report["long_runs"]) for rs in group.values() for r in rs})
    color = {s: f"C{k % 10}" for k, s in enumerate(seeds)}  # a seed keeps its colour in every panel
    fig, axes = plt.subplots(2, max(len(names), 1), figsize=(6 * max(len(names), 1), 8), squeeze=False)
    for col, name in enumerate(names):
        short = {r["seed"] for r in report["runs"].get(name, [])}
        for long, runs in ((False, report["runs"].get(name, [])), (True, report["long_runs"].get(name, []))):
            style = {"linestyle": "--", "alpha": 0.6} if long else {"marker": "o", "alpha": 0.8}
            for r in runs:
                label = None if long and r["seed"] in short else f"seed {r['seed']}"  # one legend entry per seed
                for row, key in ((0, "heldout_curve"), (1, "entropy_curve")):
                    if r[key]:
                        xs, ys = zip(*r[key], strict=True)
                        axes[row][col].plot(xs, ys, color=color[r["seed"]], label=label,
                                            **(style if row == 0 else {**style, "marker": None}))
        if report["long_runs"].get(name):
            axes[0][col].text(0.01, 0.01, "dashed: the 3x-steps runs", transform=axes[0][col].transAxes, fontsize=7)
        axes[0][col].set(title=f"{name}: held-out accuracy (greedy)", xlabel="step", ylim=(-0.02, 1.02))
        axes[1][col].set(title=f"{name}: policy entropy", xlabel="step", ylabel="nats/token")
        for ax in (axes[0][col], axes[1][col]):
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=max(Console().width, 160))
    console.print(rich_table("reliability over seeds", HEADERS, table_rows(report)))
    for line in seed_lines(report) + paired_lines(report) + long_lines(report):
        console.print(line, markup=False)


# ---------------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------------
def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="arithmetic")
    p.add_argument("--seeds", default="101,102,103,104,105,106,107,108,109,110",
                   help="comma list of fresh seeds (42, the presets' tuning seed, is refused)")
    p.add_argument("--samplers", "--sampler", default="", help="vllm and/or transformers; every arm under each")
    p.add_argument("--arm", action="append", default=[], help="NAME[:FIELD=VALUE,...][@SAMPLER] (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override for every run")
    p.add_argument("--heldout_every", type=int, default=5, help="held-out points for the curve (0: before/after)")
    p.add_argument("--long_factor", type=int, default=0, help="also run K x the preset's steps per seed (collapse)")
    p.add_argument("--long_only", action="store_true",
                   help="run only the --long_factor runs (the preset-length runs are already in --work)")
    p.add_argument("--short_from_long", action="store_true",
                   help="an arm with long runs only: read its preset-length figures from their first steps (valid "
                        "when the learning rate is constant through them, e.g. lr_decay_after_steps = the preset's)")
    p.add_argument("--lanes", type=int, default=1, help="runs at once (each pinned to a core)")
    p.add_argument("--lock", default=None, help="flock this file around each wave of runs")
    p.add_argument("--model", default=None)
    p.add_argument("--tiny", action="store_true", help="a tiny random Llama (smoke test; numbers mean nothing)")
    p.add_argument("--out", default="results/reliability")
    p.add_argument("--work", default="outputs/reliability")
    p.add_argument("--json", default=None)
    p.add_argument("--note", default="")
    p.add_argument("--margin", type=float, default=None,
                   help="equivalence margin for the paired gains: is the 95%% interval inside +-MARGIN?")
    p.add_argument("--report_only", action="store_true", help="re-read the run folders, train nothing")
    args = p.parse_args(argv)
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    if not args.seeds:
        p.error("--seeds must name at least one seed")
    if args.margin is not None and not args.margin > 0:
        p.error(f"--margin is the half-width of the equivalence band (e.g. 0.05), so it must be > 0; got {args.margin}")
    if TUNED_SEED in args.seeds:
        p.error(f"seed {TUNED_SEED} is the presets' tuning seed: reliability is measured on fresh seeds only")
    from r1lite.train.config import SAMPLERS

    args.samplers = [x.strip() for x in args.samplers.split(",") if x.strip()]
    if any(x not in SAMPLERS for x in args.samplers):
        p.error(f"--samplers takes values from {', '.join(SAMPLERS)}; got {args.samplers}")
    try:
        arms = [parse_arm(a) for a in (args.arm or ["preset"])]
    except ValueError as exc:
        p.error(str(exc))
    if args.samplers:
        arms = [{**a, "sampler": s} for a in arms for s in args.samplers]
    args.arms = {arm_label(a): a for a in arms}
    if len(args.arms) != len(arms):
        p.error("two arms have the same name")
    if args.lanes < 1 or args.long_factor < 0 or args.heldout_every < 0:
        p.error("--lanes must be >= 1, --long_factor and --heldout_every >= 0")
    if args.long_only and not args.long_factor:
        p.error("--long_only runs only the long runs: give --long_factor K (K x the preset's steps)")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    out, work = (Path(x) if Path(x).is_absolute() else REPO / x for x in (args.out, args.work))
    if args.tiny and not args.model:
        from r1lite.models import make_tiny_llama

        args.model = make_tiny_llama(work / "tiny_model", tokenizer_spec="smollm2-135m")
    steps = next((int(v.partition("=")[2]) for v in args.set if v.partition("=")[0].strip("- ") in
                  ("max_steps", "max-steps")), None) or preset_steps(args.recipe)
    jobs = []  # seed-major: with --lanes 2 the arms of one seed run side by side, under the same load
    for seed in args.seeds:
        for arm in args.arms.values():
            if not args.long_only:
                jobs.append((run_argv(arm, seed, run_folder(work, arm, seed, False), args, None),
                             run_folder(work, arm, seed, False)))
            if args.long_factor:
                jobs.append((run_argv(arm, seed, run_folder(work, arm, seed, True), args, steps * args.long_factor),
                             run_folder(work, arm, seed, True)))
    if not args.report_only:
        for k in range(0, len(jobs), args.lanes):
            run_wave(jobs[k:k + args.lanes], args.lock)
    runs: dict[str, list[dict[str, Any]]] = {}
    long_runs: dict[str, list[dict[str, Any]]] = {}
    missing = []
    for name, arm in args.arms.items():
        absent = []
        for seed in args.seeds:
            r = read_seed(run_folder(work, arm, seed, False), seed)
            if r is None:
                absent.append(f"{name} seed {seed}")
            else:
                runs.setdefault(name, []).append(r)
            if args.long_factor:
                lr = read_seed(run_folder(work, arm, seed, True), seed)
                if lr is None:
                    missing.append(f"{name} seed {seed} (long)")
                else:
                    long_runs.setdefault(name, []).append(lr)
                    short = read_seed(run_folder(work, arm, seed, True), seed, upto=steps) if r is None and \
                        args.short_from_long else None
                    if short is not None:
                        runs.setdefault(name, []).append(short)
                        absent.remove(f"{name} seed {seed}")
        if not (args.long_only and name not in runs):  # an arm measured by --long_only runs alone
            missing += absent
    if not runs and not long_runs:
        print(f"bench/reliability: no finished run in {work} ({', '.join(missing)})", file=sys.stderr)
        return 1
    if missing:
        print(f"bench/reliability: left out (unfinished or failed): {', '.join(missing)}", file=sys.stderr)
    meta = {"recipe": args.recipe, "model": "tiny random Llama" if args.tiny else (args.model or "preset default"),
            "seeds": args.seeds, "steps": steps, "heldout_every": args.heldout_every, "long_factor": args.long_factor,
            "lanes": args.lanes, "set": args.set, "short_from_long": args.short_from_long, "arms": args.arms,
            "missing": missing, "note": args.note, "margin": args.margin,
            "command": "python bench/reliability.py " + " ".join(without_note(argv)),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    report = build_report(runs, long_runs, meta)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1) + "\n"
    (out / "summary.json").write_text(text)
    if args.json:
        Path(args.json).write_text(text)
    plot(report, out / "curves.png")
    write_readme(out / "README.md", report)
    print_table(report)
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
