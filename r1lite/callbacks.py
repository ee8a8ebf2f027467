"""What a user sees during training: rich progress, a periodic metrics table, metrics.jsonl, curves.png.

Also the held-out evaluation hook (before / every N steps / after) that writes ``summary.json``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
CURVES_FILE = "curves.png"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


class MetricsJsonl(TrainerCallback):
    """One JSON line per logged step in ``output_dir/metrics.jsonl``; a resumed run drops lines past the checkpoint."""

    def __init__(self, output_dir: str | Path) -> None:
        self.path = Path(output_dir) / METRICS_FILE

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            keep = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= state.global_step]
            self.path.write_text("".join(line + "\n" for line in keep))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "time": time.time(), **logs}
        with self.path.open("a") as f:
            f.write(json.dumps(record, default=str) + "\n")

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record, default=str) + "\n")


# (column title, metric key or callable(logs) -> value, format)
def _table_columns(rule_names: list[str], accuracy_rule: str | None) -> list[tuple[str, str, str]]:
    cols = [("step", "step", "{:.0f}"), ("reward", "reward", "{:.3f}")]
    cols += [(name, f"rewards/{name}/mean", "{:.3f}") for name in rule_names]
    if accuracy_rule:
        cols.append(("parse fail", f"rewards/{accuracy_rule}/parse_failure_rate", "{:.2f}"))
    cols += [("KL", "kl", "{:.4f}"), ("clip", "clip_ratio/region_mean", "{:.3f}"), ("entropy", "entropy", "{:.2f}"),
             ("len", "completions/mean_length", "{:.0f}"), ("zero-var", "dynamic_sampling/zero_variance_frac", "{:.2f}"),
             ("t gen", "time/generation", "{:.1f}"), ("t score", "time/scoring", "{:.2f}"),
             ("t logp", "time/logprobs", "{:.1f}"), ("t upd", "time/update", "{:.1f}")]
    return cols


class RichProgress(TrainerCallback):
    """A rich progress bar with ETA (a one-line summary per step when stdout is not a terminal), and every
    ``table_every`` steps a compact table of the last rows."""

    def __init__(self, rule_names: list[str], accuracy_rule: str | None, table_every: int = 10,
                 label: str = "GRPO") -> None:
        from rich.console import Console

        self.console = Console(stderr=False)
        if not self.console.is_terminal:  # log files: wide enough for the table, no wrapping
            self.console = Console(stderr=False, width=200)
        self.columns = _table_columns(rule_names, accuracy_rule)
        self.accuracy_rule = accuracy_rule
        self.table_every = table_every
        self.label = label
        self.rows: list[dict[str, Any]] = []
        self.progress = None
        self.task = None
        self.start = time.time()
        self.start_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.start, self.start_step = time.time(), state.global_step
        if self.console.is_terminal:
            from r1lite.progress import progress_bar

            self.progress = progress_bar(f"[bold]{self.label}", "info", console=self.console, transient=False)
            self.progress.start()
            self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, info="")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "reward" not in logs:
            return
        row = {"step": state.global_step, **logs}
        self.rows.append(row)
        acc = logs.get(f"rewards/{self.accuracy_rule}/mean") if self.accuracy_rule else None
        info = f"reward {logs['reward']:.3f}" + (f"  acc {acc:.2f}" if _num(acc) is not None else "")
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step, info=info)
        else:
            done = max(state.global_step - self.start_step, 1)
            elapsed = time.time() - self.start
            eta = elapsed / done * (state.max_steps - state.global_step)
            print(f"step {state.global_step}/{state.max_steps}  {info}  {elapsed / done:.1f}s/step  "
                  f"elapsed {elapsed / 60:.1f}m  eta {eta / 60:.1f}m", flush=True)
        if self.table_every and state.global_step % self.table_every == 0:
            self.print_table()

    def print_table(self) -> None:
        from rich.table import Table

        rows = self.rows[-self.table_every:] if self.table_every else self.rows[-10:]
        present = [c for c in self.columns if any(_num(r.get(c[1])) is not None for r in rows)]
        table = Table(title=f"r1lite {self.label}", show_lines=False, pad_edge=False)
        for title, _, _ in present:
            table.add_column(title, justify="right")
        for r in rows:
            table.add_row(*[fmt.format(r[key]) if _num(r.get(key)) is not None else "-" for _, key, fmt in present])
        (self.progress.console if self.progress is not None else self.console).print(table)

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class HeldoutEval(TrainerCallback):
    """Held-out ``format_rate`` / ``accuracy`` before training, every ``every`` steps, and after training.

    ``evaluate(model) -> (metrics, samples)`` is supplied by the caller (it owns data and rules).
    ``summary.json`` holds ``{"before": ..., "after": ...}``; a resumed run keeps its original ``before``.
    """

    def __init__(self, output_dir: str | Path, evaluate: Callable[[Any], tuple[dict, list]], every: int = 0,
                 metrics: MetricsJsonl | None = None, extra: dict[str, Any] | None = None) -> None:
        self.dir = Path(output_dir)
        self.evaluate = evaluate
        self.every = every
        self.metrics = metrics
        self.extra = extra or {}

    @property
    def summary_path(self) -> Path:
        return self.dir / SUMMARY_FILE

    def _load(self) -> dict[str, Any]:
        return json.loads(self.summary_path.read_text()) if self.summary_path.exists() else {}

    def _save(self, summary: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.summary_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
        tmp.replace(self.summary_path)

    def _run(self, model: Any, label: str, step: int) -> dict[str, Any]:
        t0 = time.time()
        metrics, samples = self.evaluate(model)
        metrics["seconds"] = round(time.time() - t0, 1)
        metrics["step"] = step
        with (self.dir / f"heldout_{label}.jsonl").open("w") as f:
            for s in samples:
                f.write(json.dumps(s, default=str) + "\n")
        print(f"held-out [{label}] step {step}: accuracy {metrics.get('accuracy')}, "
              f"format_rate {metrics.get('format_rate')} (n={metrics.get('n')}, {metrics['seconds']}s)",
              file=sys.stderr, flush=True)
        if self.metrics is not None:
            self.metrics.append({"step": step, "time": time.time(), **{f"heldout/{k}": v for k, v in metrics.items()
                                                                       if _num(v) is not None}})
        return metrics

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        summary = self._load()
        if "before" not in summary:
            summary = {"before": self._run(model, "before", state.global_step), **self.extra}
            self._save(summary)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if (state.is_world_process_zero and self.every and state.global_step % self.every == 0
                and state.global_step < state.max_steps):
            self._run(model, f"step{state.global_step}", state.global_step)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        summary = self._load()
        summary["after"] = self._run(model, "after", state.global_step)
        before, after = summary.get("before", {}), summary["after"]
        for key in ("accuracy", "format_rate"):
            if _num(before.get(key)) is not None and _num(after.get(key)) is not None:
                summary.setdefault("delta", {})[key] = after[key] - before[key]
        self._save(summary)


class CurvesPlot(TrainerCallback):
    """``curves.png`` at the end: reward, per-rule rewards and held-out accuracy/format against steps."""

    def __init__(self, output_dir: str | Path, rule_names: list[str]) -> None:
        self.dir = Path(output_dir)
        self.rule_names = rule_names

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            plot_curves(self.dir / METRICS_FILE, self.dir / CURVES_FILE, self.rule_names)


def plot_curves(metrics_path: Path, out_path: Path, rule_names: list[str]) -> Path | None:
    """Plot training reward curves (left) and held-out accuracy / format rate (right) from metrics.jsonl."""
    if not metrics_path.exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for key, label in [("reward", "total reward")] + [(f"rewards/{n}/mean", n) for n in rule_names]:
        pts = [(r["step"], r[key]) for r in records if _num(r.get(key)) is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax1.plot(xs, ys, label=label, alpha=0.35 if len(xs) > 20 else 1.0)
            if len(xs) > 20:
                w = max(len(xs) // 15, 3)
                smooth = [sum(ys[max(0, i - w + 1):i + 1]) / len(ys[max(0, i - w + 1):i + 1]) for i in range(len(ys))]
                ax1.plot(xs, smooth, color=ax1.lines[-1].get_color(), label=f"{label} (avg {w})")
    ax1.set(xlabel="step", ylabel="training reward (batch mean)", title="training rewards")
    if ax1.lines:
        ax1.legend(fontsize=8)
    for key, label in (("heldout/accuracy", "held-out accuracy"), ("heldout/format_rate", "held-out format rate")):
        pts = [(r["step"], r[key]) for r in records if _num(r.get(key)) is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax2.plot(xs, ys, marker="o", label=label)
    ax2.set(xlabel="step", ylabel="rate", title="held-out (greedy)", ylim=(-0.02, 1.02))
    if ax2.lines:
        ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path
