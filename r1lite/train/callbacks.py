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
HELDOUT_FILE = "heldout_metrics.jsonl"  # heldout_<phase>.jsonl hold the completions
VALIDATION_FILE = "validation_metrics.jsonl"  # validation_<phase>.jsonl: the passes that pick best/
SUMMARY_FILE = "summary.json"
CURVES_FILE = "curves.png"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def is_step_log(logs: dict[str, Any]) -> bool:
    """A training step's log (TRL logs loss and rewards every ``logging_steps``), not the end-of-training
    summary (``train_runtime``) or an evaluation."""
    return "train_runtime" not in logs and ("loss" in logs or "reward" in logs)


def load_run_metrics(run_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(steps, heldout)`` of a run directory: one row per logged training step, one per held-out pass.

    Reads ``metrics.jsonl`` + ``heldout_metrics.jsonl``; runs written before the split kept held-out rows
    (``heldout/<key>``) and the end-of-training summary in ``metrics.jsonl``: those are sorted out here, so
    every reader copes with both layouts.
    """
    run_dir = Path(run_dir)
    steps, heldout = [], _read_jsonl(run_dir / HELDOUT_FILE)
    old_heldout = []
    for row in _read_jsonl(run_dir / METRICS_FILE):
        if any(k.startswith("heldout/") for k in row):
            old_heldout.append({"step": row.get("step"), "time": row.get("time"),
                                **{k[len("heldout/"):]: v for k, v in row.items() if k.startswith("heldout/")}})
        elif is_step_log(row):
            steps.append(row)
    return steps, heldout or old_heldout


def load_validation_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """One row per validation pass (``validation_metrics.jsonl``; empty for runs without ``validation_n``)."""
    return _read_jsonl(Path(run_dir) / VALIDATION_FILE)


class MetricsJsonl(TrainerCallback):
    """The run's metric files: ``metrics.jsonl`` (one line per logged training step) and
    ``heldout_metrics.jsonl`` (one line per held-out pass, with its ``phase``: before / stepN / after). A resumed run drops lines past
    its checkpoint, and the previous run's "after" pass (the continued run makes its own)."""

    def __init__(self, output_dir: str | Path) -> None:
        self.path = Path(output_dir) / METRICS_FILE
        self.heldout_path = Path(output_dir) / HELDOUT_FILE
        self.validation_path = Path(output_dir) / VALIDATION_FILE

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for path in (self.path, self.heldout_path, self.validation_path):
            if path.exists():
                keep = [r for r in _read_jsonl(path) if r.get("step", 0) <= state.global_step
                        and r.get("phase") != "after"]
                path.write_text("".join(json.dumps(r, default=str) + "\n" for r in keep))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or not is_step_log(logs):
            return
        self._append(self.path, {"step": state.global_step, "time": time.time(), **logs})

    def append_heldout(self, record: dict[str, Any], kind: str = "heldout") -> None:
        self._append(self.validation_path if kind == "validation" else self.heldout_path, record)

    @staticmethod
    def _append(path: Path, record: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(json.dumps(record, default=str) + "\n")


ENTROPY_TREND = "entropy/trend"
TREND_WINDOW = 5


def trend(values: list[float]) -> float | None:
    """Least-squares slope per step of the last ``TREND_WINDOW`` values (None with fewer than 2)."""
    ys = [v for v in values if _num(v) is not None][-TREND_WINDOW:]
    if len(ys) < 2:
        return None
    mx, my = (len(ys) - 1) / 2, sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in enumerate(ys)) / sum((x - mx) ** 2 for x in range(len(ys)))


#: r1lite.train.diagnostics in the table: length of correct / wrong completions, reflection words per completion
DIAG_COLUMNS = (("len ok", "diag/length_correct", "{:.0f}"), ("len bad", "diag/length_wrong", "{:.0f}"),
                ("reflect", "diag/reflection_rate", "{:.2f}"))


# (column title, metric key or callable(logs) -> value, format)
def _table_columns(rule_names: list[str], accuracy_rule: str | None) -> list[tuple[str, str, str]]:
    cols = [("step", "step", "{:.0f}"), ("reward", "reward", "{:.3f}")]
    cols += [(name, f"rewards/{name}/mean", "{:.3f}") for name in rule_names]
    if accuracy_rule:
        cols.append(("parse fail", f"rewards/{accuracy_rule}/parse_failure_rate", "{:.2f}"))
    cols += [("KL", "kl", "{:.4f}"), ("clip", "clip_ratio/region_mean", "{:.3f}"), ("entropy", "entropy", "{:.2f}"),
             ("H trend", ENTROPY_TREND, "{:+.3f}"),
             ("len", "completions/mean_length", "{:.0f}"), *DIAG_COLUMNS,
             ("zero-var", ZERO_VARIANCE, "{:.2f}"),
             ("t gen", "time/generation", "{:.1f}"), ("t score", "time/scoring", "{:.2f}"),
             ("t logp", "time/logprobs", "{:.1f}"), ("t upd", "time/update", "{:.1f}")]
    return cols


class RichProgress(TrainerCallback):
    """A rich progress bar (a one-line summary per step when stdout is not a terminal), and every
    ``table_every`` steps a compact table of the last rows.

    s/step and the ETA count training steps only: held-out evaluation announces itself as a phase
    (:func:`r1lite.progress.phase`), shows as its own line, and its time is kept apart (the ETA adds the
    passes still to come at the measured duration). After the first steps, the no-signal guard
    (:class:`r1lite.train.learning_signal.NoSignalGuard`) prints one loud line if no group carried a reward difference.
    """

    def __init__(self, rule_names: list[str], accuracy_rule: str | None, table_every: int = 10,
                 label: str = "GRPO", console: Any = None) -> None:
        from rich.console import Console

        from r1lite.train.learning_signal import NoSignalGuard

        self.console = console or Console(stderr=False)
        if console is None and not self.console.is_terminal:  # log files: wide enough for the table, no wrapping
            self.console = Console(stderr=False, width=200)
        self.rule_names = list(rule_names)
        self.columns = _table_columns(rule_names, accuracy_rule)
        self.accuracy_rule = accuracy_rule
        self.table_every = table_every
        self.label = label
        self.guard = NoSignalGuard(rule_names, accuracy_rule)
        self.rows: list[dict[str, Any]] = []
        self.progress = None
        self.task = None
        self.phase_task = None
        self.start = time.time()
        self.start_step = 0
        self.paused = 0.0  # seconds spent in phases (held-out evaluation) since start
        self.phase_seconds: dict[str, float] = {}
        self.heldout_every = 0

    # -- phases (r1lite.progress.phase) --------------------------------------------------------------
    def phase_start(self, name: str, detail: str) -> None:
        if self.progress is not None:
            self.phase_task = self.progress.add_task(name, total=None, info=detail, eta="")
        else:
            print(f"{name}: running{(' ' + detail) if detail else ''} ...", flush=True)

    def phase_end(self, name: str, seconds: float) -> None:
        self.paused += seconds
        self.phase_seconds[name.split()[0]] = seconds
        if self.progress is not None and self.phase_task is not None:
            self.progress.remove_task(self.phase_task)
            self.phase_task = None

    # -- training --------------------------------------------------------------------------------------
    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from r1lite import progress

        self.start, self.start_step, self.paused = time.time(), state.global_step, 0.0
        self.heldout_every = int(getattr(args, "heldout_every", 0) or 0)
        progress.set_display(self)  # after training it still prints phases (the final held-out pass)
        if self.console.is_terminal:
            self.progress = progress.progress_bar("[bold]{task.description}", "info", eta_field="eta",
                                                  console=self.console, transient=False)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=state.max_steps, completed=state.global_step,
                                               info="", eta="")

    def step_seconds(self, step: int) -> float:
        """Wall seconds per training step since this invocation started, phases (held-out passes) excluded."""
        done = max(step - self.start_step, 1)
        return max(time.time() - self.start - self.paused, 0.0) / done

    def eta_seconds(self, step: int, max_steps: int) -> float:
        """Steps left at the measured s/step, plus the held-out passes still to come at their last duration."""
        eta = self.step_seconds(step) * max(max_steps - step, 0)
        heldout = self.phase_seconds.get("held-out")
        if heldout is not None:
            every = self.heldout_every
            mid = sum(1 for s in range(step + 1, max_steps) if every and s % every == 0)
            eta += heldout * (mid + 1)  # + the "after" pass
        return eta

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "reward" not in logs:
            return
        row = {"step": state.global_step, **logs}
        slope = trend([r.get("entropy") for r in self.rows] + [logs.get("entropy")])
        if slope is not None and _num(logs.get("entropy")) is not None:
            row[ENTROPY_TREND] = slope  # the table's "H trend": entropy change per step, last 5 steps
        if not self.rows:  # columns from the rule names the trainer logs (TRL's names, not the config's)
            from r1lite.train.learning_signal import logged_rules

            self.columns = _table_columns(logged_rules(logs) or self.rule_names, self.accuracy_rule)
        self.rows.append(row)
        acc = logs.get(f"rewards/{self.accuracy_rule}/mean") if self.accuracy_rule else None
        per_step, eta = self.step_seconds(state.global_step), self.eta_seconds(state.global_step, state.max_steps)
        info = f"reward {logs['reward']:.3f}" + (f"  acc {acc:.2f}" if _num(acc) is not None else "") + \
            f"  {per_step:.1f}s/step"
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step, info=info, eta=f"{eta / 60:.1f}m")
        else:
            elapsed = time.time() - self.start
            print(f"step {state.global_step}/{state.max_steps}  {info}  elapsed {elapsed / 60:.1f}m  "
                  f"eta {eta / 60:.1f}m", flush=True)
        line = self.guard.observe(logs, args, state.max_steps - self.start_step)
        if line:
            self._loud(line)
        if self.table_every and state.global_step % self.table_every == 0:
            self.print_table()

    def _loud(self, line: str) -> None:
        from rich.console import Console

        console = self.progress.console if self.progress is not None else Console(stderr=True)
        console.print(line, style="bold red", markup=False, soft_wrap=True)

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


ZERO_VARIANCE = "dynamic_sampling/zero_variance_frac"


def updated_nothing(row: dict[str, Any]) -> bool | None:
    """Did this logged step update nothing (every group without a reward difference)? None when not logged."""
    value = _num(row.get(ZERO_VARIANCE))
    return None if value is None else value >= 1.0 - 1e-9


class NoSignalStop(TrainerCallback):
    """End the run after ``patience`` consecutive steps in which every group had zero reward variance: such a step
    updates nothing (no advantage is non-zero), so spending more of them only costs time. Says so in one line."""

    def __init__(self, patience: int) -> None:
        self.patience = int(patience)
        self.run = 0
        self.stopped_at: int | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        nothing = updated_nothing(logs or {})
        if nothing is None or not self.patience:
            return
        self.run = self.run + 1 if nothing else 0
        if self.run >= self.patience and state.global_step < state.max_steps:
            self.stopped_at = state.global_step
            control.should_training_stop = True
            if state.is_world_process_zero:
                print(f"r1lite train: no learning signal left: the last {self.run} steps had no group with a reward "
                      f"difference (they update nothing); stopping at step {state.global_step} "
                      f"(stop_after_no_signal_steps {self.patience})", file=sys.stderr, flush=True)


BEST_DIR = "best"


class BestCheckpoint:
    """``output_dir/best/``: the weights of the best held-out pass so far, by ``metric`` (higher is better), and
    early stopping after ``patience`` held-out passes without a new best (0: never).

    The "before" pass counts (a run that never beats its start keeps the base model as its best). ``save(path)``
    writes the current weights; it is supplied by the caller, who owns the trainer.
    """

    def __init__(self, output_dir: str | Path, metric: str, save: Callable[[Path], Any], patience: int = 0) -> None:
        self.path = Path(output_dir) / BEST_DIR
        self.metric = metric
        self.save = save
        self.patience = int(patience or 0)
        self.value: float | None = None
        self.step: int | None = None
        self.since_best = 0

    def observe(self, step: int, metrics: dict[str, Any]) -> bool:
        """Record one held-out pass; saves the weights and returns True when it is a new best."""
        value = _num(metrics.get(self.metric))
        if value is None:
            return False
        if self.value is None or value > self.value + 1e-12:
            self.value, self.step, self.since_best = value, step, 0
            self.save(self.path)
            return True
        self.since_best += 1
        return False

    @property
    def should_stop(self) -> bool:
        return bool(self.patience) and self.since_best >= self.patience

    def state(self) -> dict[str, Any]:
        return {"metric": self.metric, "value": self.value, "step": self.step, "path": self.path.name,
                "passes_since_best": self.since_best}

    def load(self, state: dict[str, Any]) -> None:
        if state.get("metric") == self.metric and _num(state.get("value")) is not None:
            self.value, self.step = float(state["value"]), state.get("step")
            self.since_best = int(state.get("passes_since_best", 0))


def _delta(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, float]:
    """``after - before`` of the held-out accuracy and format rate, where both passes have them."""
    before, after = before or {}, after or {}
    return {key: after[key] - before[key] for key in ("accuracy", "format_rate")
            if _num(before.get(key)) is not None and _num(after.get(key)) is not None}


class HeldoutEval(TrainerCallback):
    """Held-out ``format_rate`` / ``accuracy`` before training, every ``every`` steps, and after training; with
    ``validate``, validation passes (before, every ``validate_every`` steps, after) pick ``best/`` instead.

    ``evaluate(model) -> (metrics, samples)`` / ``validate`` are supplied by the caller (it owns data and rules;
    either may be None). ``summary.json`` holds ``{"before": ..., "after": ...}`` (the held-out passes); a resumed
    run keeps its original ``before``. With validation it also gets ``selected``: the held-out figures of the
    checkpoint the validation passes chose, when a held-out pass scored those weights (its start, its end, or a
    mid-run point); otherwise ``selected_pending`` names the step, and :meth:`score_selected` scores ``best/``
    after training (HF Trainer's ``load_best_model_at_end``, but the figure is not chosen on its own problems).
    """

    def __init__(self, output_dir: str | Path, evaluate: Callable[[Any], tuple[dict, list]] | None, every: int = 0,
                 metrics: MetricsJsonl | None = None, extra: dict[str, Any] | None = None,
                 best: BestCheckpoint | None = None, validate: Callable[[Any], tuple[dict, list]] | None = None,
                 validate_every: int = 0) -> None:
        self.dir = Path(output_dir)
        self.evaluate = evaluate
        self.every = every if evaluate else 0
        self.metrics = metrics
        self.extra = extra or {}
        self.best = best
        self.validate = validate
        self.validate_every = validate_every if validate else 0
        self.stopped_early_at: int | None = None
        self.scored: dict[int, dict[str, Any]] = {}  # step -> held-out metrics of a pass this run made

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

    def _run(self, model: Any, label: str, step: int, kind: str = "heldout", log: bool = True) -> dict[str, Any] | None:
        """One pass: ``kind`` "heldout" (the reported figures) or "validation" (picks ``best/`` when given);
        ``log=False`` keeps it off the metrics file (a pass after training, of earlier weights, is no curve point)."""
        from r1lite.progress import phase

        score = self.validate if kind == "validation" else self.evaluate
        if score is None:
            return None
        shown = "held-out" if kind == "heldout" else kind
        t0 = time.time()
        with phase(f"{shown} {label}", f"(step {step})"):
            metrics, samples = score(model)
        metrics["seconds"] = round(time.time() - t0, 1)
        metrics["step"] = step
        with (self.dir / f"{kind}_{label}.jsonl").open("w") as f:
            for s in samples:
                f.write(json.dumps(s, default=str) + "\n")
        print(f"{shown} [{label}] step {step}: accuracy {metrics.get('accuracy')}, "
              f"format_rate {metrics.get('format_rate')} (n={metrics.get('n')}, {metrics['seconds']}s)",
              file=sys.stderr, flush=True)
        if self.metrics is not None and log:
            self.metrics.append_heldout({"step": step, "phase": label, "time": time.time(),
                                         **{k: v for k, v in metrics.items() if _num(v) is not None}}, kind)
        if kind == "heldout":
            self.scored[step] = metrics
        picks = "validation" if self.validate else "heldout"
        if kind == picks and self.best is not None and self.best.observe(step, metrics):
            print(f"{shown} [{label}] step {step}: new best {self.best.metric} {self.best.value} -> "
                  f"{self.best.path}", file=sys.stderr, flush=True)
        return metrics

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        summary = self._load()
        if self.best is not None and isinstance(summary.get("best"), dict):  # a resumed run keeps its best
            self.best.load(summary["best"])
        if "before" not in summary and "validation_before" not in summary:
            before = self._run(model, "before", state.global_step)
            validation = self._run(model, "before", state.global_step, "validation")
            summary = {**({"before": before} if before else {}), **self.extra,
                       **({"validation_before": validation} if validation else {})}
            if self.best is not None:
                summary["best"] = self.best.state()
            self._save(summary)
        elif isinstance(summary.get("before"), dict):
            self.scored[0] = summary["before"]

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero or state.global_step >= state.max_steps:
            return
        step = state.global_step
        if self.every and step % self.every == 0:
            self._run(model, f"step{step}", step)
        if self.validate_every and step % self.validate_every == 0:
            self._run(model, f"step{step}", step, "validation")
        mid_point = self.validate_every if self.validate else self.every
        if self.best is not None and mid_point and step % mid_point == 0:
            summary = self._load()
            summary["best"] = self.best.state()
            self._save(summary)
            if self.best.should_stop:
                self.stopped_early_at = step
                control.should_training_stop = True
                print(f"r1lite train: early stop at step {step}: {self.best.since_best} "
                      f"{'validation' if self.validate else 'held-out'} passes without a better {self.best.metric} "
                      f"than {self.best.value} (step {self.best.step}; early_stopping_patience "
                      f"{self.best.patience})", file=sys.stderr, flush=True)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        summary = self._load()
        after = self._run(model, "after", state.global_step)
        validation = self._run(model, "after", state.global_step, "validation")
        summary.update({"after": after} if after else {}, **({"validation_after": validation} if validation else {}))
        delta = _delta(summary.get("before"), after)
        if delta:
            summary["delta"] = delta
        summary["final"] = {"step": state.global_step, "path": "final"}
        if self.best is not None:
            summary["best"] = self.best.state()
            if self.stopped_early_at is not None:
                summary["early_stopped_at"] = self.stopped_early_at
            if self.validate and self.evaluate and self.best.step is not None:
                chosen = self.scored.get(int(self.best.step))
                if chosen is not None:
                    summary["selected"] = self._selected(chosen, summary)
                else:
                    summary["selected_pending"] = int(self.best.step)
        self._save(summary)

    def _selected(self, metrics: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
        """``selected``: the chosen checkpoint's step, its held-out figures and their change from ``before``."""
        out = {"step": self.best.step if self.best else None, "by": "validation", "path": BEST_DIR,
               **{k: v for k, v in metrics.items() if _num(v) is not None}}
        delta = _delta(summary.get("before"), metrics)
        if delta:
            out["delta"] = delta
        return out

    def score_selected(self, model: Any, load_best: Callable[[Path], Any]) -> dict[str, Any] | None:
        """After training: when the validation passes chose a mid-run checkpoint no held-out pass scored, load
        ``best/`` into ``model`` (``load_best(path)``) and score it on the held-out problems (pass "selected").
        ``final/`` must already be saved: the model holds ``best/``'s weights afterwards."""
        summary = self._load()
        step = summary.pop("selected_pending", None)
        if step is None or self.evaluate is None or self.best is None:
            return summary.get("selected")
        load_best(self.best.path)
        metrics = self._run(model, "selected", int(step), log=False)
        summary["selected"] = self._selected(metrics, summary)
        self._save(summary)
        return summary["selected"]


class CurvesPlot(TrainerCallback):
    """``curves.png`` at the end: reward, per-rule rewards and held-out accuracy/format against steps."""

    def __init__(self, output_dir: str | Path, rule_names: list[str]) -> None:
        self.dir = Path(output_dir)
        self.rule_names = rule_names

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            plot_curves(self.dir / METRICS_FILE, self.dir / CURVES_FILE, self.rule_names)


#: (linestyle, marker, marker size, hollow): consecutive curves never share one, so equal curves stay visible
_STYLES = (("-", "o", 7, True), ("--", "s", 5, False), (":", "^", 6, False), ("-.", "D", 4, False),
           ((0, (5, 1, 1, 1)), "v", 6, True), ((0, (1, 1)), "x", 6, False))


def _style(i: int, n_points: int) -> dict[str, Any]:
    ls, marker, size, hollow = _STYLES[i % len(_STYLES)]
    style: dict[str, Any] = dict(linestyle=ls, marker=marker, markersize=size, alpha=0.85, linewidth=1.6,
                                 markevery=max(1, n_points // 12))
    if hollow:
        style["markerfacecolor"] = "none"
    return style


def plot_curves(metrics_path: Path, out_path: Path, rule_names: list[str]) -> Path | None:
    """``curves.png`` from a run directory's ``metrics.jsonl`` (+ ``heldout_metrics.jsonl``; older single-file
    runs too, see :func:`load_run_metrics`). Every rule the trainer logged is plotted (``rule_names`` only
    when the log names none)."""
    metrics_path = Path(metrics_path)
    if not metrics_path.exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, heldout = load_run_metrics(metrics_path.parent)
    fig = draw_curves(steps, heldout, rule_names)
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
    return out_path


def draw_curves(steps: list[dict[str, Any]], heldout: list[dict[str, Any]], rule_names: list[str]) -> Any:
    """The figure: training rewards and held-out accuracy / format rate against steps, then the R1-Zero
    diagnostics (:func:`r1lite.train.diagnostics.draw_panels`).

    Steps are integers on the axis; each curve has its own line style and marker (hollow and filled
    alternate), so curves that coincide, e.g. held-out accuracy and format both at 1.0, all stay visible.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from r1lite.train.diagnostics import draw_panels
    from r1lite.train.learning_signal import logged_rules

    fig, axes = plt.subplots(2, 4, figsize=(22, 9))
    ax1, ax2 = axes[0][0], axes[0][1]
    draw_panels(list(axes.flat[2:6]), steps, _style)  # R1-Zero diagnostics: shares, lengths, reflection, per type
    entropy = [(r["step"], r["entropy"]) for r in steps if _num(r.get("entropy")) is not None]
    if entropy:
        _entropy_panel(axes.flat[6], entropy)
    else:
        axes.flat[6].set(title="policy entropy")
        axes.flat[6].text(0.5, 0.5, "not logged", ha="center", va="center", transform=axes.flat[6].transAxes)
    axes.flat[7].axis("off")
    names = list(dict.fromkeys([n for r in steps for n in logged_rules(r)] or rule_names))
    curves = [("reward", "total reward")] + [(f"rewards/{n}/mean", n) for n in names]
    for i, (key, label) in enumerate(curves):
        pts = [(r["step"], r[key]) for r in steps if _num(r.get(key)) is not None]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        if len(xs) > 20:
            w = max(len(xs) // 15, 3)
            ax1.plot(xs, ys, alpha=0.25, linewidth=1.0, linestyle=_STYLES[i % len(_STYLES)][0])
            smooth = [sum(ys[max(0, k - w + 1):k + 1]) / len(ys[max(0, k - w + 1):k + 1]) for k in range(len(ys))]
            ax1.plot(xs, smooth, color=ax1.lines[-1].get_color(), label=f"{label} (avg {w})", **_style(i, len(xs)))
        else:
            ax1.plot(xs, ys, label=label, **_style(i, len(xs)))
    ax1.set(xlabel="step", ylabel="training reward (batch mean)", title="training rewards")
    for i, (key, label) in enumerate((("accuracy", "held-out accuracy"), ("format_rate", "held-out format rate"))):
        pts = [(r["step"], r[key]) for r in heldout if _num(r.get(key)) is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax2.plot(xs, ys, label=label, **_style(i, len(xs)))
    ax2.set(xlabel="step", ylabel="rate", title="held-out (greedy)", ylim=(-0.04, 1.04))
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if any(not str(line.get_label()).startswith("_") for line in ax.lines):
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _entropy_panel(ax: Any, points: list[tuple[int, float]]) -> None:
    """Policy entropy per step (nats per token) and its trend (slope over the last 5 steps, right axis):
    a falling entropy with a negative trend that does not level off is entropy collapse."""
    from matplotlib.ticker import MaxNLocator

    xs, ys = zip(*points, strict=True)
    ax.plot(xs, ys, label="entropy", **_style(0, len(xs)))
    slopes = [(x, trend(list(ys[:k + 1]))) for k, x in enumerate(xs)]
    slopes = [(x, v) for x, v in slopes if v is not None]
    ax.set(xlabel="step", ylabel="entropy (nats/token)", title="policy entropy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if slopes:
        twin = ax.twinx()
        sx, sy = zip(*slopes, strict=True)
        twin.plot(sx, sy, color="gray", label="trend (per step, last 5)", **_style(1, len(sx)))
        twin.axhline(0.0, color="gray", linewidth=0.6)
        twin.set_ylabel("entropy trend (per step)")
        lines = ax.get_lines() + twin.get_lines()[:1]
        ax.legend(lines, [line.get_label() for line in lines], fontsize=8)
    else:
        ax.legend(fontsize=8)
