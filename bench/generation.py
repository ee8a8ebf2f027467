"""Sampling throughput: transformers ``generate`` vs vLLM (CPU build here), fp32 and bf16, in one run.

Every sampler gets the same GSM8K prompts (chat template of SmolLM2-135M-Instruct), the same number of samples
per prompt, temperature 1 and the same token budget: every completion is exactly ``--max-tokens`` long
(``min_new_tokens`` for transformers, ``ignore_eos`` for vLLM), so tokens/s compares equal work. Each sampler
runs in its own process with the same thread setting (r1lite's policy unless ``--threads``); a short warm-up is
excluded, and engine/model start-up is reported separately.

The baseline is what a user would run without r1lite's vLLM path: one batched ``model.generate`` call per
``--batch-size`` rows (what TRL's transformers path does), not a one-prompt loop.

    python bench/generation.py [--prompts 16] [--samples 4] [--max-tokens 128] [--json results/bench_generation.json]

Summary: ``vllm_vs_generate`` = best vLLM tokens/s / best transformers tokens/s (best dtype of each; target >= 4
on the CPU), plus each sampler's tokens/s and start-up seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SAMPLERS = ("generate_fp32", "generate_bf16", "vllm_fp32", "vllm_bf16")


def gsm8k_questions(n: int) -> list[str]:
    root = Path(os.environ.get("R1LITE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = root / "gsm8k" / "test.jsonl"
    if not path.is_file():
        sys.exit(f"GSM8K test data not found at {path}: set R1LITE_DATA_DIR to a directory with gsm8k/test.jsonl")
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()[:n]]


def prompts_for(model_path: str, n: int) -> tuple[Any, list[str]]:
    from r1lite.tasks.templates import prompt_text, render_prompt

    from r1lite.models import load_tokenizer

    tokenizer = load_tokenizer(model_path)
    return tokenizer, [prompt_text(render_prompt(q, "chat", tokenizer), tokenizer) for q in gsm8k_questions(n)]


def run_generate(model_path: str, dtype: str, prompts: list[str], tokenizer: Any, args: argparse.Namespace,
                 ) -> dict[str, Any]:
    """transformers: batched ``generate`` over (prompt, sample) rows, fixed length."""
    import torch

    from r1lite.models import load_model

    start = time.perf_counter()
    model = load_model(model_path, dtype=getattr(torch, {"fp32": "float32", "bf16": "bfloat16"}[dtype]))
    model.eval()
    startup = time.perf_counter() - start
    rows = [p for p in prompts for _ in range(args.samples)]

    def sample(batch_rows: list[str], tokens: int) -> int:
        done = 0
        for i in range(0, len(batch_rows), args.batch_size):
            enc = tokenizer(batch_rows[i:i + args.batch_size], return_tensors="pt", padding=True,
                            add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(**enc, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=True,
                                     temperature=1.0, top_p=1.0, top_k=0, pad_token_id=tokenizer.pad_token_id)
            done += int((out[:, enc.input_ids.shape[1]:] != -1).sum())
        return done

    sample(rows[:2], 8)  # warm-up
    start = time.perf_counter()
    tokens = sample(rows, args.max_tokens)
    return {"startup_s": startup, "seconds": time.perf_counter() - start, "tokens": tokens}


def run_vllm(model_path: str, dtype: str, prompts: list[str], tokenizer: Any, args: argparse.Namespace,
             ) -> dict[str, Any]:
    """vLLM in-process (the engine r1lite trains and evaluates with), ``n`` samples per prompt, fixed length."""
    from vllm import SamplingParams

    from r1lite.rollout.vllm_engine import build_llm

    start = time.perf_counter()
    llm = build_llm(model_path, threads=args.threads, dtype={"fp32": "float32", "bf16": "bfloat16"}[dtype],
                    enforce_eager=not args.compiled, max_model_len=1024)
    startup = time.perf_counter() - start
    inputs = [{"prompt_token_ids": tokenizer(p, add_special_tokens=False).input_ids} for p in prompts]

    def sample(batch: list[dict], tokens: int) -> int:
        params = SamplingParams(n=args.samples, temperature=1.0, max_tokens=tokens, ignore_eos=True, seed=0)
        outs = llm.generate(batch, params, use_tqdm=False)
        return sum(len(c.token_ids) for o in outs for c in o.outputs)

    sample(inputs[:2], 8)  # warm-up
    start = time.perf_counter()
    tokens = sample(inputs, args.max_tokens)
    return {"startup_s": startup, "seconds": time.perf_counter() - start, "tokens": tokens}


def plot(results: dict[str, Any], summary: dict[str, Any], path: Path) -> None:
    """Bar chart of tokens/s per sampler (PNG next to the JSON)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, r in results.items() if "tokens_per_s" in r]
    rates = [results[n]["tokens_per_s"] for n in names]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(names, rates, color=["#888" if n.startswith("generate") else "#2a7" for n in names])
    for i, r in enumerate(rates):
        ax.text(i, r, f"{r:.0f}", ha="center", va="bottom")
    ax.set(ylabel="tokens/s", title=f"sampling throughput, {summary['threads']} thread(s): vLLM / generate = "
           f"{summary['vllm_vs_generate']}x")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def worker(args: argparse.Namespace) -> None:
    from r1lite.models import resolve_model
    from r1lite.train.config import apply_threads

    apply_threads(args.threads)
    model_path = resolve_model(args.model)
    tokenizer, prompts = prompts_for(model_path, args.prompts)
    kind, dtype = args.worker.split("_")
    result = (run_vllm if kind == "vllm" else run_generate)(model_path, dtype, prompts, tokenizer, args)
    result["tokens_per_s"] = result["tokens"] / result["seconds"]
    Path(args.out).write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--samples", type=int, default=4, help="completions per prompt")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16,
                        help="rows per generate() call (transformers; 16 = one CPU-preset training step)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for every sampler (r1lite's policy)")
    parser.add_argument("--compiled", action="store_true", help="vLLM with torch.compile (minutes of start-up on CPU)")
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--json", default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    from rich.console import Console
    from rich.table import Table

    from r1lite.train.config import default_threads

    args.threads = args.threads or default_threads()
    results: dict[str, Any] = {}
    for name in args.samplers.split(","):
        out = Path(f"/tmp/r1lite_bench_generation_{os.getpid()}_{name}.json")
        cmd = [sys.executable, __file__, "--worker", name, "--out", str(out), "--model", args.model,
               "--prompts", str(args.prompts), "--samples", str(args.samples), "--max-tokens", str(args.max_tokens),
               "--batch-size", str(args.batch_size), "--threads", str(args.threads)] + \
            (["--compiled"] if args.compiled else [])
        print(f"== {name}", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            results[name] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
        else:
            results[name] = json.loads(out.read_text())
            out.unlink()
        print(f"   {name}: {results[name]}", file=sys.stderr, flush=True)
    table = Table(title=f"{args.prompts} GSM8K prompts x {args.samples} samples x {args.max_tokens} tokens, "
                        f"T=1, {args.threads} thread(s)")
    for col in ("sampler", "tokens/s", "seconds", "start-up s"):
        table.add_column(col, justify="left" if col == "sampler" else "right")
    for name, r in results.items():
        if "error" in r:
            table.add_row(name, "error", r["error"][:60], "")
        else:
            table.add_row(name, f"{r['tokens_per_s']:.0f}", f"{r['seconds']:.1f}", f"{r['startup_s']:.1f}")
    Console().print(table)

    def best(kind: str) -> float | None:
        rates = [r["tokens_per_s"] for n, r in results.items() if n.startswith(kind) and "tokens_per_s" in r]
        return max(rates) if rates else None

    gen, vllm = best("generate"), best("vllm")
    summary = {"vllm_vs_generate": round(vllm / gen, 2) if gen and vllm else None, "target_vllm_vs_generate": 4.0,
               "best_generate_tokens_per_s": gen, "best_vllm_tokens_per_s": vllm, "threads": args.threads,
               "vllm_compiled": args.compiled}
    print(json.dumps(summary))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"summary": summary, "samplers": results, "settings": {
            "model": args.model, "prompts": args.prompts, "samples": args.samples, "max_tokens": args.max_tokens,
            "batch_size": args.batch_size}}, indent=2) + "\n")
        plot(results, summary, Path(args.json).with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
