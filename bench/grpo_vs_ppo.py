"""GRPO vs PPO (actor + critic) on the same CPU task: reward and held-out accuracy curves, s/step, peak RSS.

Both runs use the same recipe (CPU preset), model, seed, learning rate and number of generated completions
per step; GRPO samples them as groups (default 2 prompts x 8), PPO one per prompt (16 x 1) because its
baseline is the critic. Each run is a separate process, so its peak RSS (``ru_maxrss``) is its own.

    python bench/grpo_vs_ppo.py --max-steps 20 --heldout-every 10             # smollm2-135m (~1.5 h on 2 cores)
    python bench/grpo_vs_ppo.py --tiny --max-steps 2 --heldout-n 4             # smoke run on a tiny model

Writes ``OUT/{summary.json,README.md,curves.png,metrics_grpo.jsonl,metrics_ppo.jsonl}`` (``OUT`` defaults to
``results/grpo_vs_ppo``, or ``outputs/grpo_vs_ppo_tiny`` with ``--tiny``) and, with ``--json PATH``, the same
figures there. ``summary.json`` holds ``grpo`` and ``ppo`` objects (``seconds_per_step``, ``peak_rss_gb``,
``heldout_accuracy``, ...) and a ``summary`` object with the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ALGOS = ("grpo", "ppo")


# ---------------------------------------------------------------------------------------------------
# one training run (child process)
# ---------------------------------------------------------------------------------------------------
def child(spec_path: str) -> int:
    """Run ``r1lite train`` in this process and record its own peak RSS and wall time."""
    spec = json.loads(Path(spec_path).read_text())
    from r1lite.train.command import main

    start = time.perf_counter()
    rc = main(spec["argv"], default_config=spec["default_config"])
    result = {"rc": rc, "wall_s": time.perf_counter() - start,
              "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}  # KiB on Linux
    Path(spec["result"]).write_text(json.dumps(result))
    return rc


def run_algo(algo: str, args: argparse.Namespace, model: str, work: Path) -> dict[str, Any]:
    out = work / algo
    group = args.grpo_group if algo == "grpo" else args.ppo_group
    argv = ["--algo", algo, "--model", model, "--output_dir", str(out), "--preset", "cpu",
            "--max-steps", str(args.max_steps), "--seed", str(args.seed), "--threads", str(args.threads),
            "--num_generations", str(group), "--per_device_train_batch_size", str(args.completions),
            "--gradient_accumulation_steps", "1", "--heldout_n", str(args.heldout_n),
            "--heldout_every", str(args.heldout_every), "--save_strategy", "no", "--table_every", "0",
            "--report_to", "none"]
    if args.max_completion_length:
        argv += ["--max_completion_length", str(args.max_completion_length)]
    if args.learning_rate:
        argv += ["--learning_rate", str(args.learning_rate)]
    if args.beta is not None:
        argv += ["--beta", str(args.beta)]
    for item in args.set + (args.ppo_set if algo == "ppo" else args.grpo_set):
        key, _, value = item.partition("=")
        argv += [f"--{key.lstrip('-')}", value]
    if out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True)
    spec = {"argv": argv, "default_config": str(REPO / "recipes" / f"{args.recipe}.yaml"),
            "result": str(out / "bench_result.json")}
    (out / "bench_spec.json").write_text(json.dumps(spec, indent=1))
    print(f"\n=== {algo.upper()}: {args.completions} completions/step ({args.completions // group} prompts x {group}), "
          f"{args.max_steps} steps ===", flush=True)
    proc = subprocess.run([sys.executable, __file__, "--child", str(out / "bench_spec.json")], cwd=REPO)
    if proc.returncode != 0 or not (out / "bench_result.json").exists():
        sys.exit(f"{algo} run failed (exit {proc.returncode}); its output is in {out}")
    result = json.loads((out / "bench_result.json").read_text())
    return {**result, **read_run(out), "argv": argv, "num_generations": group,
            "prompts_per_step": args.completions // group}


def read_run(out: Path) -> dict[str, Any]:
    """Per-step reward and step time, the held-out curve, and before/after numbers from a run directory."""
    from r1lite.train.callbacks import load_run_metrics

    records, passes = load_run_metrics(out)  # metrics.jsonl + heldout_metrics.jsonl (or the old single file)
    train = [r for r in records if "reward" in r]
    heldout = [(r["step"], r["accuracy"]) for r in passes if "accuracy" in r]
    times = [r["step_time"] for r in records if isinstance(r.get("step_time"), (int, float))]
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    before, after = summary.get("before", {}), summary.get("after", {})
    rewards = [r["reward"] for r in train]
    tail = rewards[-max(1, len(rewards) // 5):] if rewards else []
    return {
        "steps": len(train),
        "seconds_per_step": statistics.median(times) if times else None,
        "seconds_per_step_mean": statistics.fmean(times) if times else None,
        "heldout_accuracy": after.get("accuracy"),
        "heldout_accuracy_before": before.get("accuracy"),
        "heldout_format_rate": after.get("format_rate"),
        "heldout_format_rate_before": before.get("format_rate"),
        "heldout_n": after.get("n"),
        "reward_first": rewards[0] if rewards else None,
        "reward_last_fifth_mean": statistics.fmean(tail) if tail else None,
        "reward_curve": [(r["step"], r["reward"]) for r in train],
        "heldout_curve": heldout,
        "zero_variance_frac_mean": _mean([r.get("dynamic_sampling/zero_variance_frac") for r in train]),
        "ppo_value_loss_last": next((r["ppo/value_loss"] for r in reversed(train) if "ppo/value_loss" in r), None),
        "ppo_explained_variance_last": next((r["ppo/explained_variance"] for r in reversed(train)
                                             if "ppo/explained_variance" in r), None),
    }


def _mean(xs: list[Any]) -> float | None:
    nums = [x for x in xs if isinstance(x, (int, float))]
    return statistics.fmean(nums) if nums else None


# ---------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------
def smooth(ys: list[float], w: int) -> list[float]:
    return [statistics.fmean(ys[max(0, i - w + 1):i + 1]) for i in range(len(ys))]


def plot(results: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for algo, color in zip(ALGOS, ("tab:blue", "tab:orange"), strict=True):
        res = results[algo]
        if res["reward_curve"]:
            xs, ys = zip(*res["reward_curve"], strict=True)
            w = max(len(ys) // 10, 1)
            ax1.plot(xs, ys, color=color, alpha=0.3 if w > 1 else 1.0, label=f"{algo.upper()} (batch mean)")
            if w > 1:
                ax1.plot(xs, smooth(list(ys), w), color=color, label=f"{algo.upper()} (avg {w})")
        if res["heldout_curve"]:
            xs, ys = zip(*res["heldout_curve"], strict=True)
            ax2.plot(xs, ys, marker="o", color=color, label=f"{algo.upper()}")
    ax1.set(xlabel="step (same completions per step for both)", ylabel="training reward", title="training reward")
    ax2.set(xlabel="step", ylabel="accuracy", title="held-out accuracy (greedy)", ylim=(-0.02, 1.02))
    for ax in (ax1, ax2):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


def headline(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    g, p = results["grpo"], results["ppo"]
    acc = (p["heldout_accuracy"] - g["heldout_accuracy"]
           if p["heldout_accuracy"] is not None and g["heldout_accuracy"] is not None else None)
    return {"rss_ratio_ppo_over_grpo": ratio(p["peak_rss_gb"], g["peak_rss_gb"]),
            "time_ratio_ppo_over_grpo": ratio(p["seconds_per_step"], g["seconds_per_step"]),
            "heldout_accuracy_ppo_minus_grpo": acc}


def fmt(x: Any, spec: str = "{:.3f}") -> str:
    return spec.format(x) if isinstance(x, (int, float)) else "-"


def table_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for algo in ALGOS:
        r = results[algo]
        rows.append([algo.upper(), f"{r['prompts_per_step']} x {r['num_generations']}", str(r["steps"]),
                     fmt(r["seconds_per_step"], "{:.2f}"), fmt(r["peak_rss_gb"], "{:.2f}"),
                     f"{fmt(r['heldout_accuracy_before'], '{:.2f}')} -> {fmt(r['heldout_accuracy'], '{:.2f}')}",
                     f"{fmt(r['heldout_format_rate_before'], '{:.2f}')} -> {fmt(r['heldout_format_rate'], '{:.2f}')}",
                     fmt(r["reward_last_fifth_mean"])])
    return rows


HEADERS = ["algo", "prompts x group", "steps", "s/step (median)", "peak RSS GB", "held-out acc (before -> after)",
           "held-out format", "reward (last 20% of steps)"]


def write_readme(path: Path, results: dict[str, dict[str, Any]], summary: dict[str, Any], meta: dict[str, Any]) -> None:
    lines = ["# GRPO vs PPO", "",
             f"Task `{meta['recipe']}` (CPU preset), model `{meta['model']}`, seed {meta['seed']}, "
             f"{meta['completions']} generated completions per step for both, {meta['max_steps']} steps, "
             f"{meta['threads']} torch thread(s), held-out n = {meta['heldout_n']}. Generated by "
             f"`{meta['command']}` on {meta['date']}.", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    lines += ["", f"- peak RSS PPO / GRPO: {fmt(summary['rss_ratio_ppo_over_grpo'], '{:.2f}')} "
              "(the critic: a second backbone, its gradients and its AdamW state)",
              f"- seconds per step PPO / GRPO: {fmt(summary['time_ratio_ppo_over_grpo'], '{:.2f}')}",
              f"- held-out accuracy PPO - GRPO: {fmt(summary['heldout_accuracy_ppo_minus_grpo'], '{:+.3f}')}",
              f"- GRPO zero-variance groups (mean share per step; dropped before the update by dynamic "
              f"sampling when beta = 0): {fmt(results['grpo']['zero_variance_frac_mean'], '{:.2f}')}",
              "", "![curves](curves.png)", ""]
    path.write_text("\n".join(lines))


def print_table(results: dict[str, dict[str, Any]], summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="GRPO vs PPO")
    for h in HEADERS:
        table.add_column(h, justify="right")
    for row in table_rows(results):
        table.add_row(*row)
    console = Console(width=max(Console().width, 150))
    console.print(table)
    console.print(f"PPO/GRPO peak RSS {fmt(summary['rss_ratio_ppo_over_grpo'], '{:.2f}')}, "
                  f"s/step {fmt(summary['time_ratio_ppo_over_grpo'], '{:.2f}')}")


# ---------------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------------
def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m", help="model for both runs (alias, Hub id or dir)")
    p.add_argument("--tiny", action="store_true", help="use a tiny random Llama (smoke test; numbers mean nothing)")
    p.add_argument("--recipe", default="arithmetic", help="recipes/<name>.yaml, CPU preset")
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument("--completions", type=int, default=16, help="generated completions per step (both algos)")
    p.add_argument("--grpo-group", type=int, default=8, help="GRPO completions per prompt")
    p.add_argument("--ppo-group", type=int, default=1, help="PPO completions per prompt")
    p.add_argument("--heldout-n", type=int, default=100)
    p.add_argument("--heldout-every", type=int, default=10, help="held-out evaluation every N steps (curve)")
    p.add_argument("--max-completion-length", type=int, default=None, help="default: the recipe's")
    p.add_argument("--learning-rate", type=float, default=None, help="default: the recipe's (both algos)")
    p.add_argument("--beta", type=float, default=None, help="KL coefficient for both (default: recipe's, 0)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run (runs are sequential; default: r1lite's policy)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="config override, both runs")
    p.add_argument("--grpo-set", action="append", default=[], metavar="FIELD=VALUE", help="GRPO-only override")
    p.add_argument("--ppo-set", action="append", default=[], metavar="FIELD=VALUE", help="PPO-only override")
    p.add_argument("--out", default=None, help="results folder (default results/grpo_vs_ppo; tiny: outputs/...)")
    p.add_argument("--work", default=None, help="training run folders (default outputs/grpo_vs_ppo[_tiny])")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    for name in ("grpo_group", "ppo_group"):
        g = getattr(args, name)
        if g < 1 or args.completions % g:
            p.error(f"--completions ({args.completions}) must be a positive multiple of --{name.replace('_', '-')} "
                    f"({g})")
    if args.grpo_group < 2:
        p.error("--grpo-group must be >= 2: GRPO's baseline is the group mean")
    if args.max_steps < 1:
        p.error("--max-steps must be >= 1")
    from r1lite.train.config import default_threads

    args.threads = args.threads or default_threads()  # r1lite's one thread policy; each run applies it
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(argv[1])
    args = parse(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    suffix = "_tiny" if args.tiny else ""
    out = Path(args.out or (f"outputs/grpo_vs_ppo{suffix}" if args.tiny else "results/grpo_vs_ppo"))
    work = Path(args.work or f"outputs/grpo_vs_ppo{suffix}/runs")
    out = out if out.is_absolute() else REPO / out
    work = work if work.is_absolute() else REPO / work
    model = args.model
    if args.tiny:
        from r1lite.models import make_tiny_llama

        model = make_tiny_llama(work / "tiny_model", tokenizer_spec="smollm2-135m")
    results = {algo: run_algo(algo, args, model, work) for algo in ALGOS}
    summary = headline(results)
    meta = {"recipe": args.recipe, "model": "tiny random Llama" if args.tiny else args.model, "seed": args.seed,
            "completions": args.completions, "max_steps": args.max_steps, "threads": args.threads,
            "heldout_n": args.heldout_n, "command": "python bench/grpo_vs_ppo.py " + " ".join(argv),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    out.mkdir(parents=True, exist_ok=True)
    for algo in ALGOS:
        (out / f"metrics_{algo}.jsonl").write_text((work / algo / "metrics.jsonl").read_text())
        if (work / algo / "heldout_metrics.jsonl").exists():
            (out / f"heldout_metrics_{algo}.jsonl").write_text((work / algo / "heldout_metrics.jsonl").read_text())
    plot(results, out / "curves.png", f"{meta['recipe']}, {meta['model']}, {args.completions} completions/step, "
         f"seed {args.seed}")
    report = {"summary": summary, **results, "meta": meta}
    (out / "summary.json").write_text(json.dumps(report, indent=1) + "\n")
    write_readme(out / "README.md", results, summary, meta)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print_table(results, summary)
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
