"""Presenting evaluation results: markdown/rich tables, bar charts, and ``r1lite eval compare``.

A delta between two runs is only called real when it lies outside the 95% confidence interval of
the difference: a paired bootstrap over problems when both runs scored the same problems (same
data fingerprint), else an unpaired normal approximation built from each run's own interval.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from r1lite.eval.metrics import paired_delta_ci

MODES = ("strict", "lenient")


class ReportError(ValueError):
    """A results file that cannot be read or compared; the message names the file and the fix."""


def run_label(results: dict[str, Any]) -> str:
    """The run's name: its ``--label`` (results written before labels existed: the model spec)."""
    return str(results.get("label") or results["model"]["spec"])


def pct(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def metric_cell(m: dict[str, Any]) -> str:
    lo, hi = m["ci"]
    return f"{pct(m['value'])} [{pct(lo)}, {pct(hi)}]"


def metric_names(results: dict[str, Any]) -> list[str]:
    """Metric names in report order (the first is the headline: mean@n or greedy)."""
    for bench in results["benchmarks"].values():
        return list(bench["metrics"][MODES[0]].keys())
    return []


def results_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (benchmark x mode) of the per-run table; accuracies in %, with 95% CIs."""
    names = metric_names(results)
    header = ["benchmark", "problems", "mode", *[f"{n} (95% CI)" if i == 0 else n for i, n in enumerate(names)],
              "format %", "mean tokens", "truncated %", "graders agree %"]
    rows = []
    for bench_name, bench in results["benchmarks"].items():
        for mode in _ordered_modes(bench):
            metrics = bench["metrics"][mode]
            cells = [metric_cell(metrics[n]) if i == 0 else pct(metrics[n]["value"]) for i, n in enumerate(names)]
            label = f"{mode} *" if mode == bench.get("eval_mode") else mode
            rows.append([bench_name, str(bench["num_problems"]), label, *cells, pct(bench["format_rate"]),
                         f"{bench['mean_response_tokens']:.0f}", pct(bench["truncation_rate"]),
                         pct(bench["grader_check"][mode]["agreement"])])
    return header, rows


def _ordered_modes(bench: dict[str, Any]) -> list[str]:
    first = bench.get("eval_mode", MODES[0])
    return [first] + [m for m in MODES if m != first]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def print_table(header: list[str], rows: list[list[str]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for h in header:
        table.add_column(h, overflow="fold")
    for r in rows:
        table.add_row(*r)
    console = Console()
    if not console.is_terminal:  # piped or captured: don't squeeze the table into 80 columns
        console = Console(width=200)
    console.print(table)


def results_markdown(results: dict[str, Any]) -> str:
    """The run's markdown report: settings line, the table, and how to read it."""
    s = results["sampling"]
    header, rows = results_rows(results)
    intro = (f"# r1lite eval: {run_label(results)}\n\nmodel `{results['model']['spec']}`, "
             f"backend {results['backend']} on {results['device']}, template `{s['template']}`, n={s['n']}, "
             f"temperature={s['temperature']}, top_p={s['top_p']}, max tokens={s['max_tokens']}, seed={s['seed']}\n\n")
    notes = ("\nAccuracies in %; brackets: 95% bootstrap CI over problems. `*` marks the benchmark's evaluation mode. "
             "strict: answer inside `<answer>` tags; lenient: tag, else last `\\boxed{}`, else last number. "
             "maj@k ties go to the answer voted first.\n")
    return intro + markdown_table(header, rows) + notes


def bar_chart(series: dict[str, dict[str, tuple[float, float, float]]], path: str | Path, title: str,
              ylabel: str) -> Path:
    """Grouped bars with CI whiskers: ``series[label][group] = (value, ci_low, ci_high)`` in [0, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(g for s in series.values() for g in s))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) * max(1, len(series))), 4.5))
    for k, (label, values) in enumerate(series.items()):
        xs, ys, err = [], [], [[], []]
        for i, g in enumerate(groups):
            if g in values:
                v, lo, hi = values[g]
                xs.append(i + (k - (len(series) - 1) / 2) * width)
                ys.append(100 * v)
                err[0].append(100 * max(0.0, v - lo))
                err[1].append(100 * max(0.0, hi - v))
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=label)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def results_chart(results: dict[str, Any], path: str | Path) -> Path:
    """Headline accuracy per benchmark, strict vs lenient, with CIs."""
    head = metric_names(results)[0]
    series = {mode: {name: _triple(b["metrics"][mode][head]) for name, b in results["benchmarks"].items()}
              for mode in MODES}
    return bar_chart(series, path, f"{run_label(results)}: {head}", f"{head} (%)")


def _triple(m: dict[str, Any]) -> tuple[float, float, float]:
    return m["value"], m["ci"][0], m["ci"][1]


# ----------------------------------------------------------------------------------------------
# compare
# ----------------------------------------------------------------------------------------------


def split_label(arg: str) -> tuple[str | None, str]:
    """``name=path`` -> (name, path); a plain path (even one containing ``=``, if it exists) -> (None, path)."""
    name, eq, path = arg.partition("=")
    if not eq or Path(arg).exists() or not name or not path:
        return None, arg
    return name, path


def compare_labels(a: dict[str, Any], b: dict[str, Any], given: tuple[str | None, str | None],
                   paths: tuple[str, str]) -> tuple[str, str]:
    """Names for the two runs: given (``name=path``), else each run's label; equal names (two runs of one
    model) get their output folder appended so the table never shows the same name twice."""
    la, lb = given[0] or run_label(a), given[1] or run_label(b)
    if la == lb:
        la, lb = f"{la} ({_run_dir_name(a, paths[0])})", f"{lb} ({_run_dir_name(b, paths[1])})"
    if la == lb:
        la, lb = f"{la} #1", f"{lb} #2"
    return la, lb


def _run_dir_name(results: dict[str, Any], path: str) -> str:
    p = Path(path)
    return (p if p.is_dir() else p.parent).resolve().name or str(results.get("output_dir", "?"))


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a ``results.json`` (or a run directory holding one) with clear errors."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.is_file():
        raise ReportError(f"{p}: no such results file; pass the results.json written by `r1lite eval`")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{p}: not valid JSON ({exc}); was the run interrupted? re-run `r1lite eval`") from exc
    if not isinstance(data, dict) or "benchmarks" not in data or "model" not in data:
        raise ReportError(f"{p}: not an r1lite eval results file (no 'benchmarks'/'model' keys)")
    return data


def compare_rows(a: dict[str, Any], b: dict[str, Any], n_boot: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """One row per (benchmark, mode, metric) present in both runs, with the delta and its 95% CI."""
    rows = []
    for name, ba in a["benchmarks"].items():
        bb = b["benchmarks"].get(name)
        if bb is None:
            continue
        paired = (ba["data"]["fingerprint"] == bb["data"]["fingerprint"]
                  and "per_problem" in ba and "per_problem" in bb)
        for mode in MODES:
            ma, mb = ba["metrics"][mode], bb["metrics"][mode]
            names = [m for m in ma if m in mb]
            pairs = [(m, m) for m in names] or [(next(iter(ma)), next(iter(mb)))]  # headline vs headline
            for na, nb in pairs:
                rows.append(_delta_row(name, mode, na, nb, ba, bb, paired, n_boot, seed))
    if not rows:
        raise ReportError("the two runs share no benchmark: nothing to compare")
    return rows


def _delta_row(bench: str, mode: str, na: str, nb: str, ba: dict[str, Any], bb: dict[str, Any], paired: bool,
               n_boot: int, seed: int) -> dict[str, Any]:
    va, vb = ba["metrics"][mode][na], bb["metrics"][mode][nb]
    if paired:
        delta, lo, hi = paired_delta_ci(ba["per_problem"][mode][na], bb["per_problem"][mode][nb], n_boot=n_boot,
                                        seed=seed)
        method = "paired"
    else:
        delta = vb["value"] - va["value"]
        se = math.hypot(*((m["ci"][1] - m["ci"][0]) / (2 * 1.96) for m in (va, vb)))
        lo, hi = delta - 1.96 * se, delta + 1.96 * se
        method = "unpaired"
    return {"benchmark": bench, "mode": mode, "metric": na if na == nb else f"{na} vs {nb}", "a": va, "b": vb,
            "delta": delta, "delta_ci": [lo, hi], "significant": bool(lo > 0 or hi < 0), "method": method}


def setting_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Sampling settings and data that differ between two runs, as ``name (A vs B)``."""
    out = [f"{k} ({a['sampling'].get(k)} vs {b['sampling'].get(k)})" for k in a["sampling"]
           if a["sampling"].get(k) != b["sampling"].get(k)]
    for name, ba in a["benchmarks"].items():
        bb = b["benchmarks"].get(name)
        if bb is not None and ba["data"]["fingerprint"] != bb["data"]["fingerprint"]:
            out.append(f"{name} problems ({ba['num_problems']} vs {bb['num_problems']}, different data)")
    return out


def compare_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["benchmark", "mode", "metric", "A", "B", "delta", "delta 95% CI", "outside CI", "test"]
    body = [[r["benchmark"], r["mode"], r["metric"], metric_cell(r["a"]), metric_cell(r["b"]),
             f"{100 * r['delta']:+.1f}", f"[{100 * r['delta_ci'][0]:+.1f}, {100 * r['delta_ci'][1]:+.1f}]",
             "yes" if r["significant"] else "no", r["method"]] for r in rows]
    return header, body


def compare_main(argv: list[str]) -> int:
    """``r1lite eval compare A/results.json B/results.json [--plot compare.png] [--markdown compare.md]``."""
    parser = argparse.ArgumentParser(prog="r1lite eval compare",
                                     description="Side-by-side table of two eval runs with deltas and CIs.")
    parser.add_argument("a", help="baseline results.json (or its run directory); NAME=PATH names the run")
    parser.add_argument("b", help="results.json to compare against the baseline; NAME=PATH names the run")
    parser.add_argument("--plot", default="compare.png", help="bar chart PNG path (default: compare.png)")
    parser.add_argument("--markdown", default=None, help="also write the table as markdown to this path")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the delta CI")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    (name_a, path_a), (name_b, path_b) = split_label(args.a), split_label(args.b)
    try:
        a, b = load_results(path_a), load_results(path_b)
        rows = compare_rows(a, b, n_boot=args.bootstrap, seed=args.seed)
    except ReportError as exc:
        print(f"r1lite eval compare: {exc}", file=sys.stderr)
        return 2
    name_a, name_b = compare_labels(a, b, (name_a, name_b), (path_a, path_b))
    label_a, label_b = f"A: {name_a}", f"B: {name_b}"
    header, body = compare_table(rows)
    print_table(header, body, f"{label_a}  vs  {label_b}  (accuracy %, delta = B - A)")
    differ = setting_differences(a, b)
    if differ:
        print("note: the runs differ in " + ", ".join(differ) + " (deltas mix model and evaluation settings)")
    if args.markdown:
        Path(args.markdown).write_text(f"A: `{name_a}` (model `{a['model']['spec']}`), "
                                       f"B: `{name_b}` (model `{b['model']['spec']}`)\n\n"
                                       + markdown_table(header, body))
    heads = [r for r in rows if r["metric"] == rows[0]["metric"] or " vs " in r["metric"]]
    series = {label_a: {}, label_b: {}}  # type: dict[str, dict[str, tuple[float, float, float]]]
    for r in heads:
        group = f"{r['benchmark']}/{r['mode']}"
        series[label_a][group] = _triple(r["a"])
        series[label_b][group] = _triple(r["b"])
    path = bar_chart(series, args.plot, f"{rows[0]['metric']}: A vs B (95% CI)", "accuracy (%)")
    print(f"bar chart: {path}")
    return 0
