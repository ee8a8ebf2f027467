"""Seconds per GRPO step: plain TRL ``GRPOTrainer`` vs r1lite's ``R1Trainer``, without and with dropping
zero-variance groups, on the same model, data, rewards and batch, in one process.

The batch is built so that a known fraction of groups has zero reward variance (default 50%): prompts
alternate between "constant" problems (every completion scores 1) and "varying" ones (completion i of a
group scores i mod G), and the dataset is not shuffled, so every step holds exactly that fraction. This is
what dynamic sampling is for: with beta = 0 those groups give no gradient, and r1lite skips their
forward/backward pass.

    python bench/step_time.py [--model smollm2-135m] [--steps 6] [--rounds 2] [--json bench/step_time.json]

Summary keys: ``ratio_plain`` (r1lite without dropping / TRL; target <= 1.0) and ``ratio_dropping``
(r1lite with dropping / TRL; target <= 0.75). Medians over the steps after the first (warm-up) of every
round; the variants run in turns (``--rounds``), because on a shared 2-core box a busy spell during one
variant's turn moved a single-round ratio by 20%. Both sample with transformers ``generate``.

``--recipes arithmetic,gsm8k`` adds r1lite as users run it (vLLM rollouts, fused log-probs) against plain TRL
with ``generate`` on the same recipe config (CPU preset; GSM8K with 16 completions of up to 128 tokens), each
variant in its own process (the vLLM engine binds threads for the whole process). Summary keys
``ratio_vllm_arithmetic`` and ``ratio_vllm_gsm8k`` (targets <= 0.6 and <= 0.5) and the per-phase time split.

``--async-recipes arithmetic,gsm8k`` adds one-step-off-policy rows on the same 2-core budget: synchronous r1lite
(colocated vLLM) at each of ``--sync-threads`` (default 1,2; the best counts) against async r1lite (vLLM server
bound to one core, trainer on one thread, ``r1lite.rollout.async_rollout``). Summary keys
``ratio_async_arithmetic`` and ``ratio_async_gsm8k`` (async s/step / best sync s/step; target <= 0.7), the async
run's staleness, overlap and IS-ratio figures, and the peak memory (RSS of the whole process tree, trainer +
engine) of every row.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VARIANTS = ("trl", "r1lite", "r1lite_drop")


def controlled_reward(completions: list[Any], const: list[bool], **kwargs: Any) -> list[float]:
    """1.0 for every completion of a constant problem (zero variance); i mod G within a varying group."""
    g = int(os.environ.get("R1LITE_BENCH_G", "4"))
    return [1.0 if c else float(i % g) for i, c in enumerate(const)]


def build_dataset(tokenizer: Any, n: int, zero_frac_per_step: int, prompts_per_step: int) -> Any:
    """Arithmetic problems rendered like the CPU recipe; the first ``zero_frac_per_step`` of each step's prompts
    are constant-reward ones."""
    from r1lite.tasks import get_task
    from r1lite.tasks.templates import build_prompts

    recipe_template = Path(__file__).resolve().parent.parent / "recipes" / "templates" / "arithmetic_oneshot.txt"
    data = get_task("arithmetic").load("train", limit=n, seed=0)
    data = build_prompts(data, str(recipe_template), tokenizer)
    return data.add_column("const", [i % prompts_per_step < zero_frac_per_step for i in range(len(data))])


class StepTimer:
    """Wall time of each optimizer step (generation + scoring + update), from the trainer's callbacks."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        timer = self

        class _CB(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                timer.start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                timer.times.append(time.perf_counter() - timer.start)

        self.start = 0.0
        self.times: list[float] = []
        self.callback = _CB()


def run_variant(variant: str, model_path: str, tokenizer: Any, dataset: Any, args: argparse.Namespace,
                out_dir: str) -> dict[str, Any]:
    import torch
    from trl import GRPOConfig, GRPOTrainer

    from r1lite.train.config import R1Config
    from r1lite.train.trainer import R1Trainer

    common = dict(output_dir=out_dir, max_steps=args.steps, per_device_train_batch_size=args.prompts * args.g,
                  num_generations=args.g, max_completion_length=args.max_completion_length, learning_rate=1e-6,
                  beta=0.0, loss_type="dapo", shuffle_dataset=False, seed=0, logging_steps=1, save_strategy="no",
                  report_to="none", use_cpu=True, bf16=False, disable_tqdm=True,
                  model_init_kwargs={"dtype": torch.float32})
    timer = StepTimer()
    torch.manual_seed(0)
    if variant == "trl":
        cfg = GRPOConfig(**common, gradient_checkpointing=False)
        trainer = GRPOTrainer(model=model_path, reward_funcs=[controlled_reward], args=cfg, train_dataset=dataset,
                              processing_class=tokenizer, callbacks=[timer.callback])
    else:
        cfg = R1Config(**common, gradient_checkpointing=False, threads=args.threads, sampler="transformers",
                       dynamic_sampling=(variant == "r1lite_drop"), table_every=0, samples_every=0)
        trainer = R1Trainer(model=model_path, reward_funcs=[controlled_reward], args=cfg, train_dataset=dataset,
                            processing_class=tokenizer, callbacks=[timer.callback])
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    measured = timer.times[1:] if len(timer.times) > 1 else timer.times
    result = {
        "median_s": statistics.median(measured),
        "step_times_s": [round(t, 3) for t in timer.times],
        "zero_variance_frac": statistics.mean(h.get("frac_reward_zero_std", float("nan")) for h in logs),
        "kept_frac": statistics.mean(h.get("dynamic_sampling/kept_frac", 1.0) for h in logs),
        "mean_completion_length": statistics.mean(h.get("completions/mean_length", 0.0) for h in logs),
    }
    del trainer
    gc.collect()
    return result


RECIPE_OVERRIDES = {
    "arithmetic": [],
    "gsm8k": ["--num_generations", "8", "--per_device_train_batch_size", "16", "--max_completion_length", "128"],
}


ASYNC_FLAGS = ["--vllm_mode", "server", "--vllm_server_spawn", "true", "--vllm_server_threads", "1",
               "--async_rollouts", "true"]


def recipe_variant(recipe: str, variant: str, steps: int, threads: int, out_dir: str,
                   overrides: list[str] | None = None) -> dict[str, Any]:
    """One recipe's CPU preset for ``steps`` steps: plain TRL (generate) or r1lite (vLLM); step times + split.
    ``overrides`` (``FIELD=VALUE``, from ``--recipe-set``) change the preset in every row alike."""
    from dataclasses import fields

    from trl import GRPOConfig, GRPOTrainer

    from r1lite.train.command import build_run, parse_config
    from r1lite.train.trainer import PHASES, R1Trainer

    root = Path(__file__).resolve().parent.parent
    argv = ["--config", str(root / "recipes" / f"{recipe}.yaml"), "--preset", "cpu", "--max-steps", str(steps),
            "--output_dir", out_dir, "--heldout_n", "0", "--save_strategy", "no", "--threads", str(threads),
            "--table_every", "0", "--samples_every", "0", "--disable_tqdm", "true",
            "--sampler", "vllm" if variant in ("r1lite_vllm", "r1lite_async") else "transformers",
            *RECIPE_OVERRIDES[recipe], *(ASYNC_FLAGS if variant == "r1lite_async" else [])]
    for item in overrides or []:
        field, _, value = item.partition("=")
        argv += [f"--{field}", value]
    cfg, _ = parse_config(argv)
    run = build_run(cfg)
    cfg.reward_weights = run.weights
    timer = StepTimer()
    if variant == "trl":
        plain = {f.name: getattr(cfg, f.name) for f in fields(GRPOConfig) if f.init and hasattr(cfg, f.name)}
        plain.update(use_vllm=False, generation_kwargs=None, model_init_kwargs=None, generation_batch_size=None)
        trainer: Any = GRPOTrainer(model=run.model_path, reward_funcs=list(run.rules.values()),
                                   args=GRPOConfig(**plain), train_dataset=run.train_dataset,
                                   processing_class=run.tokenizer, callbacks=[timer.callback])
    else:
        trainer = R1Trainer(model=run.model_path, reward_funcs=list(run.rules.values()), args=cfg,
                            train_dataset=run.train_dataset, processing_class=run.tokenizer,
                            callbacks=[timer.callback])
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    measured = timer.times[1:] if len(timer.times) > 1 else timer.times
    split = {p: statistics.median(h.get(f"time/{p}", 0.0) for h in logs[1:] or logs) for p in PHASES}
    result = {"median_s": statistics.median(measured), "step_times_s": [round(t, 3) for t in timer.times],
              "time_split_s": split if variant != "trl" else None,
              "mean_completion_length": statistics.mean(h.get("completions/mean_length", 0.0) for h in logs)}
    keys = ("async/staleness", "async/overlap_s", "async/wait_s", "async/prefetch_hit", "dynamic_sampling/kept_frac",
            "frac_reward_zero_std",
            "sampling/importance_sampling_ratio/min", "sampling/importance_sampling_ratio/mean",
            "sampling/importance_sampling_ratio/max", "sampling/sampling_logp_difference/max")
    result["per_step"] = {k: [h.get(k) for h in logs] for k in keys if any(k in h for h in logs)}
    if variant == "r1lite_async":
        from r1lite.rollout.server import stop_server

        stop_server(trainer.vllm_generation)
    return result


def run_child(recipe: str, variant: str, args: argparse.Namespace, out_dir: str, threads: int | None = None,
              steps: int | None = None) -> dict[str, Any]:
    """Run :func:`recipe_variant` in a fresh interpreter and return its JSON, with the peak RSS of the child's
    whole process tree (trainer + any vLLM server it started) and the load average around it."""
    import subprocess
    import threading

    import psutil

    out = Path(out_dir) / "result.json"
    cmd = [sys.executable, __file__, "--child", f"{recipe}:{variant}", "--child-out", str(out),
           "--steps", str(steps or args.steps), "--threads", str(threads or args.threads),
           *[f"--recipe-set={item}" for item in args.recipe_set]]
    load_before = os.getloadavg()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            try:
                root = psutil.Process(proc.pid)
                rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    sampler.join(timeout=2)
    if proc.returncode != 0:
        raise SystemExit(f"{recipe}/{variant} failed:\n{stderr[-3000:]}")
    result = json.loads(out.read_text())
    result.update(peak_rss_gib=round(peak[0] / 2**30, 2), loadavg_before=load_before, loadavg_after=os.getloadavg())
    return result


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One variant's figures over all rounds: the median over every measured (non-warm-up) step."""
    measured = [t for r in rounds for t in (r["step_times_s"][1:] or r["step_times_s"])]
    merged = dict(rounds[0], median_s=statistics.median(measured),
                  step_times_s=[t for r in rounds for t in r["step_times_s"]],
                  round_medians_s=[round(r["median_s"], 3) for r in rounds])
    for key in ("zero_variance_frac", "kept_frac", "mean_completion_length"):
        merged[key] = statistics.mean(r[key] for r in rounds)
    return merged


def print_table(results: dict[str, dict[str, Any]], summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"seconds per GRPO step ({summary['model']}, {summary['completions_per_step']} completions, "
                        f"{summary['zero_variance_target']:.0%} zero-variance groups)")
    for col in ("variant", "median s/step", "ratio vs TRL", "zero-var frac", "kept rows", "mean len", "round medians (s)"):
        table.add_column(col, justify="right" if col != "variant" else "left")
    base = results["trl"]["median_s"]
    for name, r in results.items():
        table.add_row(name, f"{r['median_s']:.2f}", f"{r['median_s'] / base:.3f}", f"{r['zero_variance_frac']:.2f}",
                      f"{r['kept_frac']:.2f}", f"{r['mean_completion_length']:.1f}",
                      " ".join(f"{t:.1f}" for t in r["round_medians_s"]))
    console = Console(width=max(Console().width, 150))
    console.print(table)
    console.print(f"ratio_plain = {summary['ratio_plain']:.3f} (target <= 1.0), "
                    f"ratio_dropping = {summary['ratio_dropping']:.3f} (target <= 0.75)")


def sync_threads(spec: str, recipe: str) -> list[int]:
    """``1,2`` -> [1, 2] for every recipe; ``arithmetic:1,gsm8k:2`` -> this recipe's (all plain ones if unnamed)."""
    items = [x.strip() for x in spec.split(",") if x.strip()]
    named = [x.split(":", 1) for x in items if ":" in x]
    mine = [int(t) for r, t in named if r == recipe]
    return mine or [int(x) for x in items if ":" not in x] or [1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="alias, HF dir or Hub id (default smollm2-135m)")
    parser.add_argument("--steps", type=int, default=6, help="steps per variant; the first is warm-up (>= 6)")
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step")
    parser.add_argument("--g", type=int, default=4, help="completions per prompt (group size)")
    parser.add_argument("--zero-groups", type=int, default=2, help="constant-reward prompts per step")
    parser.add_argument("--max-completion-length", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="times each variant runs, in turns (noise on a shared box)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: r1lite's policy, 1 on a <=2-core box, else 4)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--recipes", default="", help="also time recipe configs with vLLM: arithmetic,gsm8k")
    parser.add_argument("--skip-controlled", action="store_true", help="only the --recipes comparisons")
    parser.add_argument("--async-recipes", default="", help="sync vs one-step-off async rows: arithmetic,gsm8k")
    parser.add_argument("--async-steps", type=int, default=4, help="steps per async/sync row (the first is warm-up)")
    parser.add_argument("--sync-threads", default="1,2",
                        help="thread settings for the sync rows (the best counts): 1,2 for every recipe, or per "
                             "recipe, e.g. arithmetic:1,gsm8k:2")
    parser.add_argument("--recipe-set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a preset field in every recipe row alike, e.g. dynamic_sampling=false "
                             "(equal update work per step when timing sync against async)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from r1lite.train.config import apply_threads

    args.threads = apply_threads(args.threads)  # r1lite's one thread policy, here and in every child
    if args.child:
        recipe, variant = args.child.split(":")
        result = recipe_variant(recipe, variant, args.steps, args.threads, str(Path(args.child_out).parent),
                                args.recipe_set)
        Path(args.child_out).write_text(json.dumps(result))
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    if args.steps < 6:
        parser.error("--steps must be >= 6 (1 warm-up + at least 5 measured steps)")
    if not 0 <= args.zero_groups <= args.prompts:
        parser.error("--zero-groups must be between 0 and --prompts")
    os.environ["R1LITE_BENCH_G"] = str(args.g)
    from transformers.utils import logging as hf_logging

    from r1lite.models import load_tokenizer, resolve_model

    hf_logging.disable_progress_bar()
    model_path = resolve_model(args.model)
    tokenizer = load_tokenizer(model_path)
    dataset = build_dataset(tokenizer, args.prompts * (args.steps + 2), args.zero_groups, args.prompts)
    summary: dict[str, Any] = {"model": args.model, "threads": args.threads}
    results: dict[str, Any] = {}
    if not args.skip_controlled:
        rounds: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):  # the variants take turns, so a busy spell on the box hits all of them
                for variant in VARIANTS:
                    print(f"[bench] round {r + 1}/{args.rounds} {variant}: {args.steps} steps ...", file=sys.stderr,
                          flush=True)
                    rounds[variant].append(run_variant(variant, model_path, tokenizer, dataset, args,
                                                       f"{tmp}/{variant}-{r}"))
        results = {v: merge_rounds(rs) for v, rs in rounds.items()}
        base = results["trl"]["median_s"]
        summary.update({
            "completions_per_step": args.prompts * args.g,
            "zero_variance_target": args.zero_groups / args.prompts,
            "median_s_trl": base,
            "median_s_r1lite": results["r1lite"]["median_s"],
            "median_s_r1lite_drop": results["r1lite_drop"]["median_s"],
            "ratio_plain": results["r1lite"]["median_s"] / base,
            "ratio_dropping": results["r1lite_drop"]["median_s"] / base,
        })
        print_table(results, summary)
    for recipe in filter(None, args.recipes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            pair = {}
            for variant in ("trl", "r1lite_vllm"):
                print(f"[bench] recipe {recipe} {variant}: {args.steps} steps ...", file=sys.stderr, flush=True)
                Path(tmp, variant).mkdir()
                pair[variant] = run_child(recipe, variant, args, str(Path(tmp, variant)))
        results[f"recipe_{recipe}"] = pair
        ratio = pair["r1lite_vllm"]["median_s"] / pair["trl"]["median_s"]
        summary[f"ratio_vllm_{recipe}"] = ratio
        summary[f"target_ratio_vllm_{recipe}"] = {"arithmetic": 0.6, "gsm8k": 0.5}.get(recipe)
        summary[f"time_split_{recipe}_s"] = pair["r1lite_vllm"]["time_split_s"]
        print(f"{recipe}: TRL+generate {pair['trl']['median_s']:.1f} s/step, r1lite+vLLM "
              f"{pair['r1lite_vllm']['median_s']:.1f} s/step, ratio {ratio:.3f}; r1lite split "
              + ", ".join(f"{k} {v:.1f}s" for k, v in pair["r1lite_vllm"]["time_split_s"].items()), flush=True)
    for recipe in filter(None, args.async_recipes.split(",")):
        rows: dict[str, Any] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for t in sync_threads(args.sync_threads, recipe):
                name = f"sync_vllm_t{t}"
                print(f"[bench] async rows {recipe} {name}: {args.async_steps} steps ...", file=sys.stderr, flush=True)
                Path(tmp, name).mkdir()
                rows[name] = run_child(recipe, "r1lite_vllm", args, str(Path(tmp, name)), threads=t,
                                       steps=args.async_steps)
            print(f"[bench] async rows {recipe} async: {args.async_steps} steps ...", file=sys.stderr, flush=True)
            Path(tmp, "async").mkdir()
            rows["async_1+1"] = run_child(recipe, "r1lite_async", args, str(Path(tmp, "async")), threads=1,
                                          steps=args.async_steps)
        results[f"async_{recipe}"] = rows
        best = min((r for r in rows if r.startswith("sync")), key=lambda r: rows[r]["median_s"])
        a = rows["async_1+1"]
        ratio = a["median_s"] / rows[best]["median_s"]
        per = a.get("per_step", {})
        summary.update({
            f"ratio_async_{recipe}": ratio, f"target_ratio_async_{recipe}": 0.7,
            f"best_sync_{recipe}": best, f"median_s_best_sync_{recipe}": rows[best]["median_s"],
            f"median_s_async_{recipe}": a["median_s"],
            f"async_staleness_max_{recipe}": max((x for x in per.get("async/staleness", []) if x is not None),
                                                 default=None),
            f"async_overlap_s_median_{recipe}": statistics.median(
                [x for x in per.get("async/overlap_s", [])[1:] if x is not None] or [0.0]),
            f"peak_rss_gib_{recipe}": {k: r["peak_rss_gib"] for k, r in rows.items()},
        })
        print(f"{recipe}: " + ", ".join(f"{k} {r['median_s']:.1f} s/step ({r['peak_rss_gib']} GiB)"
                                        for k, r in rows.items()) + f"; ratio_async_{recipe} = {ratio:.3f} "
              f"(async / {best}; target <= 0.7)", flush=True)
        write_json(args, summary, results)  # after each recipe: a long run cut short keeps what it measured
    write_json(args, summary, results)
    return 0


def write_json(args: argparse.Namespace, summary: dict[str, Any], results: dict[str, Any]) -> None:
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "results": results, "args": vars(args)}, indent=2,
                                        default=str) + "\n")

if __name__ == "__main__":
    sys.exit(main())
