"""The cost table of ``bench/eval_cost.sh``: wall time, tokens/s and problems/min per run, from each run's
``results.json``, ``samples.jsonl`` and ``timing.txt`` (uptime before/after, SIGINT and resume stamps).

    python bench/eval_cost_table.py runs/eval-cost --json results/eval-cost-summary.json

Prints a table; ``--json PATH`` writes ``{"summary": {run: figures}, "runs": {...}}``. ``--results DIR`` also
copies each benchmark's runs into ``DIR/eval-<benchmark>/results.json`` (figures + the full results.json of
every run, samples left out).
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

RUNS = ("gsm8k-greedy", "math500-greedy", "gsm8k-sampled-200", "math500-sampled-200", "gsm8k-issue-command-full")


def threads_note(command: list[str]) -> str:
    """How many CPU threads the run had: its ``--threads``, else r1lite's default policy."""
    if "--threads" in command:
        return f"--threads {command[command.index('--threads') + 1]}"
    return "r1lite default thread policy (1 thread on this 2-core box)"


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def timing(path: Path) -> dict[str, Any]:
    """Stamps of timing.txt: start/resume/end times and load averages, SIGINT (or SIGTERM) times, the samples
    kept after each, return codes. ``parts``: the [from, to] spans the command ran (start or resume -> stop or end)."""
    out: dict[str, Any] = {"rc": [], "load": {}, "stops": [], "kept": [], "resumes": [], "parts": []}
    opened = None
    for line in path.read_text().splitlines():
        word, _, rest = line.partition(" ")
        if word in ("start", "resume", "end"):
            at = _time(rest.split()[0])
            m = re.search(r"load average: ([\d.]+), ([\d.]+), ([\d.]+)", rest)
            out["load"].setdefault(word, [float(x) for x in m.groups()] if m else None)
            if word == "end":
                out["end"] = at
                if opened is not None:
                    out["parts"].append([opened, at])
                opened = None
            else:
                out.setdefault("start", at)
                if word == "resume":
                    out["resumes"].append(at)
                opened = at
        elif word == "sigint":
            at = _time(rest.split()[0])
            out["stops"].append(at)
            if opened is not None:
                out["parts"].append([opened, at])
            opened = None
        elif word == "kept":
            out["kept"].append(int(rest.split()[0]))
        elif word == "rc":
            out["rc"].append(rest)
    return out


def figures(run_dir: Path) -> dict[str, Any] | None:
    res_path = run_dir / "results.json"
    if not res_path.is_file() or not (run_dir / "timing.txt").is_file():
        return None
    res = json.loads(res_path.read_text())
    t = timing(run_dir / "timing.txt")
    if "end" not in t:
        return None
    (name, bench), = res["benchmarks"].items()
    tokens = sum(json.loads(line)["num_tokens"] for line in (run_dir / "samples.jsonl").read_text().splitlines()
                 if line.strip())
    # interrupted and resumed: the spans it ran (each resumed part's engine start counted), not the pauses
    wall = sum((b - a).total_seconds() for a, b in t["parts"])
    sampling = res["sampling"]
    key = "greedy" if sampling["greedy"] else f"mean@{sampling['n']}"
    acc = {mode: bench["metrics"][mode][key] for mode in ("strict", "lenient")}
    row = {
        "benchmark": name, "problems": bench["num_problems"], "samples": bench["num_samples"],
        "n": sampling["n"], "temperature": sampling["temperature"], "top_p": sampling["top_p"],
        "max_tokens": sampling["max_tokens"], "wall_s": round(wall, 1), "completion_tokens": tokens,
        "tokens_per_s": round(tokens / wall, 1), "problems_per_min": round(bench["num_problems"] / wall * 60, 2),
        "samples_per_min": round(bench["num_samples"] / wall * 60, 2),
        "generation_s_last_command": bench["generation_seconds"], "grading_s": bench["grading_seconds"],
        "mean_response_tokens": round(bench["mean_response_tokens"], 1),
        "truncation_rate": round(bench["truncation_rate"], 4), "format_rate": round(bench["format_rate"], 4),
        "metric": key, "accuracy_strict": acc["strict"], "accuracy_lenient": acc["lenient"],
        "load_start": t["load"].get("start"), "load_end": t["load"].get("end"),
        "started": t["start"].isoformat() + "Z", "ended": t["end"].isoformat() + "Z",
        "interrupted": None if not t["stops"] else {
            "stops": [{"at": at.isoformat() + "Z", "samples_saved": k}
                      for at, k in zip(t["stops"], t["kept"], strict=False)],
            "resumed": [at.isoformat() + "Z" for at in t["resumes"]], "resumed_samples": bench["resumed_samples"],
            "wall_parts_s": [(b - a).total_seconds() for a, b in t["parts"]],
            "wall_start_to_end_s": (t["end"] - t["start"]).total_seconds(),
            "generated_by_last_part": bench["generated_samples"], "return_codes": t["rc"]},
        "device": res["device"], "threads_note": threads_note(res["command"]),
        "command": " ".join(res["command"]), "versions": res["versions"],
    }
    return {"figures": row, "results": res}


def fmt_acc(v: dict[str, Any]) -> str:
    return f"{100 * v['value']:.1f} [{100 * v['ci'][0]:.1f}, {100 * v['ci'][1]:.1f}]"


def table(rows: dict[str, dict[str, Any]]) -> str:
    head = ("| run | problems x n | wall | completion tokens | tokens/s | problems/min | accuracy strict (lenient) % "
            "| mean tokens | truncated | load start -> end |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for name, f in rows.items():
        wall = f["wall_s"]
        lines.append(
            f"| {name} | {f['problems']} x {f['n']} | {int(wall // 60)}m{int(wall % 60):02d}s | "
            f"{f['completion_tokens']:,} | {f['tokens_per_s']:.0f} | {f['problems_per_min']:.1f} | "
            f"{f['metric']} {fmt_acc(f['accuracy_strict'])} ({fmt_acc(f['accuracy_lenient'])}) | "
            f"{f['mean_response_tokens']:.0f} | {100 * f['truncation_rate']:.0f}% | "
            f"{f['load_start'][0] if f['load_start'] else '?'} -> {f['load_end'][0] if f['load_end'] else '?'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, help="the output dir of bench/eval_cost.sh")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--results", type=Path, default=None, help="write DIR/eval-<benchmark>/results.json")
    args = p.parse_args(argv)
    done = {name: f for name in RUNS if (f := figures(args.runs / name)) is not None}
    missing = [name for name in RUNS if name not in done]
    rows = {name: f["figures"] for name, f in done.items()}
    print(table(rows))
    if missing:
        print(f"not in {args.runs} (or not finished): {', '.join(missing)}")
    if args.json:
        args.json.write_text(json.dumps({"summary": rows, "missing": missing}, indent=2) + "\n")
    if args.results:
        for bench in ("gsm8k", "math500"):
            mine = {n: f for n, f in done.items() if n.startswith(bench + "-")}
            out = args.results / f"eval-{bench}"
            out.mkdir(parents=True, exist_ok=True)
            old = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else {}
            # runs measured earlier (another runs dir) are kept; a run measured again here replaces its entry
            payload = {"summary": {**old.get("summary", {}), **{n: f["figures"] for n, f in mine.items()}},
                       "runs": {**old.get("runs", {}), **{n: f["results"] for n, f in mine.items()}}}
            payload["missing"] = [n for n in RUNS if n.startswith(bench + "-") and n not in payload["summary"]]
            (out / "results.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
            (out / "table.md").write_text(table(payload["summary"]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
