"""Throughput of r1lite's batched CPU generation vs a naive one-prompt-at-a-time ``model.generate`` loop.

Both decode the same GSM8K prompts greedily (so outputs are comparable token for token), with
the same stop rule (EOS or ``</answer>``) and the same torch thread count, in one process; the
headline is the ratio of wall times (JSON ``summary.speedup``).

    python bench/eval_throughput.py --problems 32 --max-tokens 64 --json bench_eval.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def gsm8k_questions(n: int) -> list[str]:
    """The first ``n`` GSM8K test questions from ``$R1LITE_DATA_DIR`` (default ``../shared/data``)."""
    root = Path(os.environ.get("R1LITE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = root / "gsm8k" / "test.jsonl"
    if not path.is_file():
        sys.exit(f"GSM8K test data not found at {path}: set R1LITE_DATA_DIR to a directory with gsm8k/test.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line)["question"] for line in lines]


def naive_loop(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int) -> list[Any]:
    """The baseline: one ``model.generate`` call per prompt, greedy, stopping on EOS or ``</answer>``."""
    import torch
    from transformers import StoppingCriteriaList

    from r1lite.generation import (
        DEFAULT_STOP,
        StopOnStrings,
        eos_token_ids,
        finish_completion,
        wants_special_tokens,
    )

    eos = eos_token_ids(model, tokenizer)
    out = []
    with torch.inference_mode():
        for p in prompts:
            enc = tokenizer(p, return_tensors="pt", add_special_tokens=wants_special_tokens(p, tokenizer))
            plen = enc.input_ids.shape[1]
            ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=sorted(eos),
                                 pad_token_id=tokenizer.pad_token_id,
                                 stopping_criteria=StoppingCriteriaList([StopOnStrings(tokenizer, DEFAULT_STOP, plen)]))
            out.append(finish_completion(ids[0, plen:].tolist(), tokenizer, eos, DEFAULT_STOP))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--problems", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64, help="max new tokens per completion")
    parser.add_argument("--batch-size", type=int, default=32, help="rows per batch for the batched backend")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both paths (1: shared 2-core box)")
    parser.add_argument("--template", default=None, help="prompt template (default: the evaluator's default)")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from rich.console import Console
    from rich.table import Table

    from r1lite.evaluate import render_prompts
    from r1lite.generation import generate
    from r1lite.models import load_model, load_tokenizer

    tokenizer, model = load_tokenizer(args.model), load_model(args.model)
    prompts, template = render_prompts(gsm8k_questions(args.problems), args.template, tokenizer)
    generate(model, tokenizer, prompts[:2], max_new_tokens=2, batch_size=2, progress=False)  # warm-up

    t0 = time.perf_counter()
    batched = generate(model, tokenizer, prompts, max_new_tokens=args.max_tokens, batch_size=args.batch_size,
                       progress=True, description="batched")
    t_batched = time.perf_counter() - t0
    batched = [row[0] for row in batched]
    t0 = time.perf_counter()
    naive = naive_loop(model, tokenizer, prompts, args.max_tokens)
    t_naive = time.perf_counter() - t0

    same = sum(a.text == b.text for a, b in zip(batched, naive, strict=True))
    tok_b, tok_n = sum(c.num_tokens for c in batched), sum(c.num_tokens for c in naive)
    rows = {
        "batched": {"seconds": t_batched, "problems_per_s": len(prompts) / t_batched, "tokens": tok_b,
                    "tokens_per_s": tok_b / t_batched},
        "naive": {"seconds": t_naive, "problems_per_s": len(prompts) / t_naive, "tokens": tok_n,
                  "tokens_per_s": tok_n / t_naive},
    }
    summary = {"speedup": t_naive / t_batched, "identical_outputs": same / len(prompts),
               "batched_problems_per_s": rows["batched"]["problems_per_s"],
               "batched_tokens_per_s": rows["batched"]["tokens_per_s"],
               "naive_problems_per_s": rows["naive"]["problems_per_s"],
               "naive_tokens_per_s": rows["naive"]["tokens_per_s"]}

    table = Table(title=f"eval throughput: {args.model}, {len(prompts)} GSM8K problems, greedy, "
                        f"<= {args.max_tokens} new tokens, {args.threads} thread(s), template {template}")
    for col in ("path", "seconds", "problems/s", "tokens", "tokens/s"):
        table.add_column(col, justify="right")
    for name, r in rows.items():
        table.add_row(name, f"{r['seconds']:.1f}", f"{r['problems_per_s']:.3f}", str(r["tokens"]),
                      f"{r['tokens_per_s']:.1f}")
    console = Console()
    console.print(table)
    console.print(f"speedup {summary['speedup']:.2f}x (target >= 3x); identical outputs {same}/{len(prompts)}")
    if args.json:
        finish = {k: sum(c.finish_reason == k for c in batched) for k in ("stop", "eos", "length")}
        Path(args.json).write_text(json.dumps({
            "summary": summary, "paths": rows, "finish_reasons": finish,
            "settings": {"model": args.model, "problems": len(prompts), "max_tokens": args.max_tokens,
                         "batch_size": args.batch_size, "threads": args.threads, "template": template},
            "mismatches": [{"index": i, "batched": a.text, "naive": b.text}
                           for i, (a, b) in enumerate(zip(batched, naive, strict=True)) if a.text != b.text],
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
