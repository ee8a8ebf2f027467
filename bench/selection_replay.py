"""What would choosing the checkpoint on validation problems have delivered? Replayed on finished runs.

A run of ``bench/reliability.py`` with ``--heldout_every 5`` scores the same held-out problems at steps 0, 5, ...
and at its end, greedy, problem by problem (``heldout_<phase>.jsonl``). Splitting those problems at random into
``--validation_n`` validation problems and the rest, choosing the step with the best validation accuracy (the first
such step, as ``best/`` keeps it) and scoring that step on the rest is exactly what ``validation_n`` does in a
run, with the problems drawn from the same split, only fewer of them left to score on. Averaged over
``--splits`` random splits per run (the same splits for every arm of a seed), per arm: the mean and worst gain of
the final weights and of the chosen checkpoint, the expected number of seeds below their start, and paired by seed
(the first two arms) the mean gain difference with the exact sign-flip p.

    python bench/selection_replay.py --work /work/runs/final5 --arms preset@vllm,preset@transformers \\
        --seeds 211,212 --steps 10 --json results/selection-replay/summary.json

A seed folder ``seedN`` or, failing that, ``seedN-long`` (a longer run: its points up to ``--steps``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from algos import fmt, rich_table, sign_flip_p  # noqa: E402


def correct_by_step(folder: Path, steps: int) -> tuple[list[int], np.ndarray] | None:
    """The held-out points of a run up to ``steps``: their steps and a (points, problems) 0/1 array."""
    def load(path: Path) -> list[float] | None:
        if not path.is_file():
            return None
        return [float(json.loads(line)["accuracy"]) for line in path.read_text().splitlines() if line.strip()]

    before = load(folder / "heldout_before.jsonl")
    if before is None:
        return None
    points, rows = [0], [before]
    for step in range(1, steps + 1):
        row = load(folder / f"heldout_step{step}.jsonl")
        if row is None and step == steps:
            row = load(folder / "heldout_after.jsonl")
        if row is not None:
            points.append(step)
            rows.append(row)
    if points[-1] != steps or len({len(r) for r in rows}) != 1:
        return None
    return points, np.array(rows)


def replay(correct: np.ndarray, validation_n: int, rng: np.random.Generator, splits: int) -> dict[str, np.ndarray]:
    """Per split: the final weights' gain and the chosen checkpoint's gain on the problems left to score, and the
    index of the chosen point."""
    n = correct.shape[1]
    if not 0 < validation_n < n:
        raise SystemExit(f"--validation_n must be between 1 and {n - 1} (the runs scored {n} problems)")
    final, chosen, index = np.empty(splits), np.empty(splits), np.empty(splits, dtype=int)
    for k in range(splits):
        order = rng.permutation(n)
        valid, rest = correct[:, order[:validation_n]].mean(1), correct[:, order[validation_n:]].mean(1)
        i = int(np.argmax(valid))  # the first best: best/ only moves on a strictly better pass
        final[k], chosen[k], index[k] = rest[-1] - rest[0], rest[i] - rest[0], i
    return {"final": final, "selected": chosen, "index": index, "points": correct.shape[0]}


def arm_figures(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    fin = {s: float(r["final"].mean()) for s, r in per_seed.items()}
    sel = {s: float(r["selected"].mean()) for s, r in per_seed.items()}
    return {"seeds": sorted(per_seed), "mean_gain_final": round(float(np.mean(list(fin.values()))), 4),
            "min_gain_final": round(min(fin.values()), 4),
            "mean_gain_selected": round(float(np.mean(list(sel.values()))), 4),
            "min_gain_selected": round(min(sel.values()), 4),
            "expected_below_start_final": round(sum(float((r["final"] < 0).mean()) for r in per_seed.values()), 3),
            "expected_below_start_selected": round(sum(float((r["selected"] < 0).mean())
                                                       for r in per_seed.values()), 3),
            "per_seed": {str(s): {"final": round(fin[s], 4), "selected": round(sel[s], 4),
                                  "chosen_point_counts": np.bincount(r["index"], minlength=r["points"]).tolist()}
                         for s, r in per_seed.items()}}


def paired(a: dict[int, dict], b: dict[int, dict], key: str) -> dict[str, Any]:
    seeds = sorted(set(a) & set(b))
    diffs = [round(float(b[s][key].mean() - a[s][key].mean()), 4) for s in seeds]
    return {"of": key, "seeds": seeds, "mean_b_minus_a": round(float(np.mean(diffs)), 4) if diffs else None,
            "sd": round(float(np.std(diffs, ddof=1)), 4) if len(diffs) > 1 else None,
            "p_sign_flip": sign_flip_p(diffs) if diffs else None}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, required=True, help="folder of arm folders of seed folders")
    p.add_argument("--arms", required=True, help="comma-separated arm folder names; the first two are paired")
    p.add_argument("--seeds", required=True, help="comma-separated seeds")
    p.add_argument("--steps", type=int, default=10, help="the preset's steps (a longer run is read up to them)")
    p.add_argument("--validation_n", type=int, default=40)
    p.add_argument("--splits", type=int, default=4000)
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args(argv)
    args.arms, args.seeds = args.arms.split(","), [int(s) for s in args.seeds.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    runs: dict[str, dict[int, dict]] = {}
    for arm in args.arms:
        runs[arm] = {}
        for seed in args.seeds:
            folder = next((f for f in (args.work / arm / f"seed{seed}", args.work / arm / f"seed{seed}-long")
                           if (f / "heldout_before.jsonl").is_file()), None)
            points = correct_by_step(folder, args.steps) if folder else None
            if points is None:
                print(f"{arm} seed {seed}: no complete held-out points up to step {args.steps}; left out",
                      file=sys.stderr)
                continue
            rng = np.random.default_rng(seed)  # the same splits for every arm of a seed
            runs[arm][seed] = replay(points[1], args.validation_n, rng, args.splits)
    arms = {arm: arm_figures(r) for arm, r in runs.items() if r}
    report: dict[str, Any] = {"summary": {"arms": arms, "validation_n": args.validation_n, "splits": args.splits,
                                          "steps": args.steps}}
    if len(arms) >= 2:
        a, b = list(arms)[:2]
        report["summary"]["paired_final"] = paired(runs[a], runs[b], "final")
        report["summary"]["paired_selected"] = paired(runs[a], runs[b], "selected")
    headers = ["arm", "seeds", "final: mean (min)", "selected: mean (min)", "seeds below start: final",
               "selected (expected)"]
    rows = [[arm, str(len(f["seeds"])), f"{fmt(f['mean_gain_final'], '{:+.3f}')} ({fmt(f['min_gain_final'], '{:+.2f}')})",
             f"{fmt(f['mean_gain_selected'], '{:+.3f}')} ({fmt(f['min_gain_selected'], '{:+.2f}')})",
             fmt(f["expected_below_start_final"]), fmt(f["expected_below_start_selected"])] for arm, f in arms.items()]
    from rich.console import Console

    Console(width=120).print(rich_table(f"checkpoint chosen on {args.validation_n} validation problems, "
                                        f"{args.splits} splits", headers, rows))
    for key in ("paired_final", "paired_selected"):
        pair = report["summary"].get(key)
        if pair:
            print(f"{key}: {list(arms)[1]} - {list(arms)[0]} = {fmt(pair['mean_b_minus_a'], '{:+.3f}')} "
                  f"(per-seed SD {fmt(pair['sd'], '{:.3f}')}, sign-flip p {fmt(pair['p_sign_flip'], '{:.3f}')}, "
                  f"{len(pair['seeds'])} seeds)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
