"""What a training run did: the end-of-run block and ``r1lite report RUN_DIR`` (one self-contained ``report.html``).

Both read only the run directory (``summary.json``, ``heldout_before.jsonl`` / ``heldout_after.jsonl``,
``heldout_metrics.jsonl``, ``metrics.jsonl``, ``samples.jsonl``, ``curves.png``, ``config.yaml``), so a report can
be rebuilt for any past run. ``report.html`` needs no network and no server: the curves are an inline PNG
(base64), the filters inline JavaScript, the styles inline CSS.

The held-out change is reported with the 95% interval of the difference: a paired bootstrap over the held-out
problems when "before" and "after" answered the same problems (they do in every r1lite run:
:func:`r1lite.eval.metrics.paired_delta_ci`), else an unpaired normal interval of two proportions.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
CURVES_FILE = "curves.png"
SAMPLES_FILE = "samples.jsonl"
MAX_SAMPLES = 5000  # rows in report.html; above it each step keeps its first share (the report says so)
OUTCOMES = ("correct", "wrong", "unformatted")


class RunDirError(ValueError):
    """Not a training run directory (or an unreadable one); the message names the path and the fix."""


# ---------------------------------------------------------------------------------------------------
# reading a run
# ---------------------------------------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RunDirError(f"{path} line {i} is not JSON ({exc.msg}); the file is damaged") from exc
    return rows


def read_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SUMMARY_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path} is not JSON ({exc.msg})") from exc


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _hit(value: Any) -> float | None:
    v = _num(value)
    return None if v is None else float(v >= 1.0)


def question_of(prompt: Any) -> str:
    """The problem inside a rendered prompt: the last ``User:`` line (r1zero / one-shot templates), the last user
    turn of a chat template, else the prompt's tail."""
    text = prompt if isinstance(prompt, str) else json.dumps(prompt)
    if "User:" in text:
        return text.rsplit("User:", 1)[1].split("\nAssistant:", 1)[0].strip()
    for start, end in (("<|im_start|>user", "<|im_end|>"), ("<|user|>", "<|")):
        if start in text:
            return text.rsplit(start, 1)[1].split(end, 1)[0].strip()
    return text[-200:].strip()


def heldout_problems(run_dir: Path, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per held-out problem: question, gold, before / after completion, correct and formatted before / after,
    and ``flip``: ``gained`` (wrong -> correct), ``lost`` (correct -> wrong) or ``same``. Empty when the before
    and after files do not hold the same problems in the same order."""
    before = _read_jsonl(run_dir / "heldout_before.jsonl")
    after = _read_jsonl(run_dir / "heldout_after.jsonl")
    if not before or len(before) != len(after) or any(b.get("prompt") != a.get("prompt")
                                                      for b, a in zip(before, after, strict=True)):
        return []
    acc, fmt = summary.get("accuracy_rule") or "accuracy", "format"
    out = []
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        cb, ca = _hit(b.get(acc)), _hit(a.get(acc))
        flip = "same" if cb is None or ca is None or cb == ca else ("gained" if ca > cb else "lost")
        out.append({"index": i, "question": question_of(b.get("prompt")), "prompt": b.get("prompt"),
                    "answer": b.get("answer"), "before": b.get("completion"), "after": a.get("completion"),
                    "correct_before": cb, "correct_after": ca, "format_before": _hit(b.get(fmt)),
                    "format_after": _hit(a.get(fmt)), "flip": flip})
    return out


def delta_interval(before: list[float | None], after: list[float | None], paired: bool, seed: int = 0,
                   ) -> dict[str, Any] | None:
    """``{"delta", "low", "high", "method", "n"}`` for mean(after) - mean(before) (95%)."""
    from r1lite.eval.metrics import paired_delta_ci

    if paired:
        pairs = [(b, a) for b, a in zip(before, after, strict=True) if b is not None and a is not None]
        if not pairs:
            return None
        delta, lo, hi = paired_delta_ci([p[0] for p in pairs], [p[1] for p in pairs], seed=seed)
        return {"delta": delta, "low": lo, "high": hi, "method": "paired bootstrap", "n": len(pairs)}
    b = [x for x in before if x is not None]
    a = [x for x in after if x is not None]
    if not a or not b:
        return None
    pb, pa = sum(b) / len(b), sum(a) / len(a)
    se = math.sqrt(pb * (1 - pb) / len(b) + pa * (1 - pa) / len(a))
    return {"delta": pa - pb, "low": pa - pb - 1.96 * se, "high": pa - pb + 1.96 * se,
            "method": "unpaired normal", "n": min(len(a), len(b))}


def best_step(summary: dict[str, Any], heldout: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best held-out pass: ``summary["best"]`` when the run kept one (``output_dir/best/``), else the
    held-out curve's highest accuracy (earliest step on a tie)."""
    best = summary.get("best")
    if isinstance(best, dict) and best.get("step") is not None:
        return {"step": best["step"], "metric": best.get("metric", "accuracy"), "value": best.get("value"),
                "path": best.get("path")}
    points = [(r.get("step", 0), _num(r.get("accuracy"))) for r in heldout if _num(r.get("accuracy")) is not None]
    if not points:
        return None
    step, value = max(points, key=lambda p: (p[1], -p[0]))
    return {"step": step, "metric": "accuracy", "value": value, "path": None}


def outcome(run_dir: str | Path, seed: int = 0) -> dict[str, Any]:
    """Everything the end-of-run block and the report's headline say (see :func:`outcome_lines`)."""
    from r1lite.train.callbacks import load_run_metrics

    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    _, heldout = load_run_metrics(run_dir)
    problems = heldout_problems(run_dir, summary)
    out: dict[str, Any] = {"run_dir": str(run_dir), "metrics": {}}
    for key, col in (("accuracy", "correct"), ("format_rate", "format")):
        before, after = (summary.get("before") or {}).get(key), (summary.get("after") or {}).get(key)
        entry: dict[str, Any] = {"before": before, "after": after}
        if problems:
            ci = delta_interval([p[f"{col}_before"] for p in problems], [p[f"{col}_after"] for p in problems],
                                paired=True, seed=seed)
        elif _num(before) is not None and _num(after) is not None:
            n_b = int((summary.get("before") or {}).get("n") or 0)
            n_a = int((summary.get("after") or {}).get("n") or 0)
            ci = delta_interval([1.0] * round(before * n_b) + [0.0] * (n_b - round(before * n_b)),
                                [1.0] * round(after * n_a) + [0.0] * (n_a - round(after * n_a)), paired=False)
        else:
            ci = None
        if ci is not None:
            entry.update(ci)
        out["metrics"][key] = entry
    out["flips"] = {k: sum(p["flip"] == k for p in problems) for k in ("gained", "lost")} if problems else None
    out["best"] = best_step(summary, heldout)
    if out["best"] is not None:
        out["best"]["by"] = "validation" if "validation_before" in summary else "held-out"
    out["selected"] = summary.get("selected")
    out["wall_seconds"] = summary.get("wall_seconds")
    out["steps"] = (summary.get("after") or {}).get("step")
    out["files"] = {name: str(run_dir / name) for name in (CURVES_FILE, REPORT_FILE, "final", "best")
                    if (run_dir / name).exists() or name == REPORT_FILE}
    return out


def _signed(x: float) -> str:
    return f"{x:+.3f}"


def _duration(seconds: Any) -> str:
    s = _num(seconds)
    if s is None:
        return "-"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def outcome_lines(o: dict[str, Any]) -> list[str]:
    """The end-of-run block: held-out accuracy and format before -> after with the 95% interval of the difference,
    the best held-out step, wall time and where the curves, the report and the final model are."""
    lines = [f"== r1lite: what this run did ({o['run_dir']}) =="]
    for key, label in (("accuracy", "held-out accuracy"), ("format_rate", "held-out format  ")):
        m = o["metrics"].get(key) or {}
        if _num(m.get("before")) is None or _num(m.get("after")) is None:
            lines.append(f"{label}  - (no held-out evaluation: --heldout_n 0)")
            continue
        text = f"{label}  {m['before']:.3f} -> {m['after']:.3f}"
        if "delta" in m:
            text += (f"  ({_signed(m['delta'])}, 95% CI {_signed(m['low'])} to {_signed(m['high'])}; "
                     f"{m['method']}, {m['n']} problems)")
        lines.append(text)
    flips = o.get("flips")
    best = o.get("best")
    parts = []
    if flips:
        parts.append(f"problems gained {flips['gained']}, lost {flips['lost']}")
    if best:
        value = f" ({best['metric']} {best['value']:.3f})" if _num(best.get("value")) is not None else ""
        parts.append(f"best {best.get('by', 'held-out')} step {best['step']}{value}")
    parts.append(f"wall time {_duration(o.get('wall_seconds'))}")
    lines.append("; ".join(parts))
    chosen, before = o.get("selected") or {}, (o["metrics"].get("accuracy") or {}).get("before")
    if _num(chosen.get("accuracy")) is not None and _num(before) is not None:
        lines.append(f"selected checkpoint (best/, step {chosen['step']}, chosen on the validation problems): "
                     f"held-out accuracy {before:.3f} -> {chosen['accuracy']:.3f} "
                     f"({_signed(chosen['accuracy'] - before)})")
    files = o["files"]
    shown = [f"{name}{'/' if name in ('final', 'best') else ''}" for name in (CURVES_FILE, REPORT_FILE, "final", "best")
             if name in files]
    lines.append(f"files in {o['run_dir']}: {', '.join(shown)}")
    return lines


# ---------------------------------------------------------------------------------------------------
# samples of every step
# ---------------------------------------------------------------------------------------------------
def sample_outcome(row: dict[str, Any], accuracy_rule: str = "accuracy", format_rule: str = "format") -> str:
    """``correct``, ``unformatted`` (wrong and badly formatted) or ``wrong`` for a ``samples.jsonl`` row; rows written
    before the diagnostics existed are judged from their rule scores."""
    rewards = row.get("rewards") or {}
    correct = row.get("correct")
    if correct is None:
        correct = None if _hit(rewards.get(accuracy_rule)) is None else bool(_hit(rewards.get(accuracy_rule)))
    formatted = row.get("formatted")
    key = format_rule if format_rule in rewards else next((k for k in rewards if k.startswith("format")), None)
    if formatted is None and key is not None:  # the format rule is logged as format_reward
        formatted = None if _hit(rewards.get(key)) is None else bool(_hit(rewards.get(key)))
    if correct:
        return "correct"
    return "unformatted" if formatted is False else "wrong"


def load_samples(run_dir: Path, limit: int = MAX_SAMPLES) -> tuple[list[dict[str, Any]], int]:
    """``samples.jsonl`` rows (at most ``limit``: each step keeps its first ``limit // steps``) and the total."""
    rows = _read_jsonl(run_dir / SAMPLES_FILE)
    total = len(rows)
    if total <= limit:
        return rows, total
    steps = sorted({r.get("step") for r in rows}, key=lambda s: (s is None, s))
    per_step = max(1, limit // max(len(steps), 1))
    seen: dict[Any, int] = {}
    kept = []
    for r in rows:
        seen[r.get("step")] = seen.get(r.get("step"), 0) + 1
        if seen[r.get("step")] <= per_step:
            kept.append(r)
    return kept, total


# ---------------------------------------------------------------------------------------------------
# report.html
# ---------------------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;width:100%}td,th{border:1px solid #ddd;padding:3px 6px;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}pre{white-space:pre-wrap;margin:0;font-size:.95em;max-height:14em;overflow:auto}
.correct{background:#eaf7ea}.wrong{background:#fdf3e6}.unformatted{background:#fbeaea}
.gained td.flip{color:#087f23;font-weight:bold}.lost td.flip{color:#b00020;font-weight:bold}
.block{background:#f7f7f7;border:1px solid #ddd;padding:.6em 1em;font-family:monospace;white-space:pre-wrap}
.controls label{margin-right:1em}img{max-width:100%}.muted{color:#777}
"""

JS = """
function applyFilters(){
  var want={};document.querySelectorAll('input.outcome').forEach(function(c){want[c.value]=c.checked;});
  var step=document.getElementById('step').value;
  var shown=0;document.querySelectorAll('tr.sample').forEach(function(r){
    var ok=want[r.dataset.outcome]&&(step==='all'||r.dataset.step===step);
    r.style.display=ok?'':'none';if(ok)shown++;});
  document.getElementById('shown').textContent=shown;
}
function applyFlips(){
  var only=document.getElementById('flipped').checked;
  document.querySelectorAll('tr.problem').forEach(function(r){
    r.style.display=(!only||r.dataset.flip!=='same')?'':'none';});
}
document.addEventListener('DOMContentLoaded',function(){applyFilters();applyFlips();});
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _mark(v: Any) -> str:
    return "-" if v is None else ("yes" if v else "no")


def _curves_png(run_dir: Path) -> bytes | None:
    """``curves.png`` as written by the run, or drawn now from its metrics (a run with ``--plot false``)."""
    path = run_dir / CURVES_FILE
    if path.is_file():
        return path.read_bytes()
    from r1lite.train.callbacks import draw_curves, load_run_metrics

    steps, heldout = load_run_metrics(run_dir)
    if not steps and not heldout:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw_curves(steps, heldout, [])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def render_report(run_dir: str | Path, max_samples: int = MAX_SAMPLES) -> str:
    """The HTML text of ``report.html`` for ``run_dir``."""
    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    config = _config(run_dir)
    o = outcome(run_dir)
    problems = heldout_problems(run_dir, summary)
    samples, total = load_samples(run_dir, max_samples)
    acc_rule = summary.get("accuracy_rule") or "accuracy"
    title = f"r1lite run: {config.get('task', summary.get('task', '?'))} / {config.get('model', summary.get('model', '?'))}"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}</title><style>{CSS}</style>"
             f"<script>{JS}</script></head><body>", f"<h1>{_e(title)}</h1>"]
    keys = ("algo", "task", "model", "preset", "max_steps", "learning_rate", "num_generations", "temperature",
            "loss_type", "beta", "seed", "output_dir")
    parts.append("<p class='muted'>" + ", ".join(f"{k}: <code>{_e(config[k])}</code>" for k in keys if k in config)
                 + f"; directory <code>{_e(run_dir)}</code></p>")
    parts.append(f"<h2 id='outcome'>Outcome</h2><div class='block' id='outcome-block'>{_e(chr(10).join(outcome_lines(o)))}</div>")
    png = _curves_png(run_dir)
    parts.append("<h2 id='curves'>Curves</h2>")
    if png:
        parts.append(f"<img id='curves-img' alt='training curves' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    else:
        parts.append("<p class='muted'>no metrics logged yet</p>")
    parts.append(_heldout_section(problems))
    parts.append(_samples_section(samples, total, acc_rule))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _heldout_section(problems: list[dict[str, Any]]) -> str:
    out = ["<h2 id='heldout'>Held-out problems: before -> after</h2>"]
    if not problems:
        return out[0] + "<p class='muted'>no paired held-out files (heldout_before.jsonl / heldout_after.jsonl)</p>"
    gained = sum(p["flip"] == "gained" for p in problems)
    lost = sum(p["flip"] == "lost" for p in problems)
    out.append(f"<p>{len(problems)} problems: <b>{gained}</b> gained (wrong -> correct), <b>{lost}</b> lost "
               f"(correct -> wrong), {len(problems) - gained - lost} unchanged. "
               "<label><input type='checkbox' id='flipped' onchange='applyFlips()'> only flipped problems</label></p>")
    out.append("<table id='heldout-table'><tr><th>#</th><th>problem</th><th>gold</th><th>before</th><th>correct</th>"
               "<th>after</th><th>correct</th><th>flip</th></tr>")
    for p in problems:
        out.append(f"<tr class='problem {p['flip']}' data-flip='{p['flip']}' data-index='{p['index']}'>"
                   f"<td>{p['index']}</td><td>{_e(p['question'])}</td><td>{_e(p['answer'])}</td>"
                   f"<td><pre>{_e(p['before'])}</pre></td><td>{_mark(p['correct_before'])}</td>"
                   f"<td><pre>{_e(p['after'])}</pre></td><td>{_mark(p['correct_after'])}</td>"
                   f"<td class='flip'>{p['flip']}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _samples_section(samples: list[dict[str, Any]], total: int, acc_rule: str) -> str:
    out = ["<h2 id='samples'>Training samples of every step</h2>"]
    if not samples:
        return out[0] + "<p class='muted'>no samples.jsonl (samples_every 0?)</p>"
    steps = sorted({s.get("step") for s in samples if s.get("step") is not None})
    counts = {k: 0 for k in OUTCOMES}
    for s in samples:
        counts[sample_outcome(s, acc_rule)] += 1
    cut = f" (of {total}; each step's first rows, --max-samples)" if total > len(samples) else ""
    out.append(f"<p>{len(samples)} completions{cut} over {len(steps)} steps: " +
               ", ".join(f"{counts[k]} {k}" for k in OUTCOMES) + f". Showing <span id='shown'>{len(samples)}</span>.</p>")
    out.append("<p class='controls'>" + "".join(
        f"<label><input type='checkbox' class='outcome' value='{k}' checked onchange='applyFilters()'> {k}</label>"
        for k in OUTCOMES) + "<label>step <select id='step' onchange='applyFilters()'><option value='all'>all</option>"
        + "".join(f"<option value='{s}'>{s}</option>" for s in steps) + "</select></label></p>")
    rules = list(dict.fromkeys(k for s in samples for k in (s.get("rewards") or {})))
    out.append("<table id='samples-table'><tr><th>step</th><th>problem</th><th>completion</th>"
               + "".join(f"<th>{_e(r)}</th>" for r in rules)
               + "<th>advantage</th><th>outcome</th><th>tokens</th><th>reflection words</th></tr>")
    for s in samples:
        kind = sample_outcome(s, acc_rule)
        rewards = s.get("rewards") or {}
        cells = "".join(f"<td>{_fmt(rewards.get(r))}</td>" for r in rules)
        out.append(f"<tr class='sample {kind}' data-step='{_e(s.get('step'))}' data-outcome='{kind}'>"
                   f"<td>{_e(s.get('step'))}</td><td>{_e(question_of(s.get('prompt', '')))}</td>"
                   f"<td><pre>{_e(s.get('completion'))}</pre></td>{cells}<td>{_fmt(s.get('advantage'))}</td>"
                   f"<td>{kind}</td><td>{_e(s.get('length', '-'))}</td><td>{_e(s.get('reflections', '-'))}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _fmt(v: Any) -> str:
    n = _num(v)
    return "-" if n is None else f"{n:.3f}"


def write_report(run_dir: str | Path, path: str | Path | None = None, max_samples: int = MAX_SAMPLES) -> Path:
    run_dir = Path(run_dir)
    target = Path(path) if path else run_dir / REPORT_FILE
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(render_report(run_dir, max_samples), encoding="utf-8")
    tmp.replace(target)
    return target


def finish_run(run_dir: str | Path, write_html: bool = True) -> list[str]:
    """At the end of ``r1lite train``: ``summary.json`` gains ``outcome`` (the intervals), ``report.html`` is
    written, and the end-of-run block is returned for printing."""
    run_dir = Path(run_dir)
    if write_html:
        write_report(run_dir)
    o = outcome(run_dir)
    if not write_html:
        o["files"].pop(REPORT_FILE, None)
    path = run_dir / SUMMARY_FILE
    if path.is_file():
        summary = read_summary(run_dir)
        summary["outcome"] = {k: v for k, v in o.items() if k not in ("run_dir", "files")}
        path.write_text(json.dumps(summary, indent=2) + "\n")
    return outcome_lines(o)


# ---------------------------------------------------------------------------------------------------
# r1lite report
# ---------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``r1lite report RUN_DIR [--output FILE] [--max-samples N]``: write the run's report.html and print the block."""
    p = argparse.ArgumentParser(prog="r1lite report", description="Write RUN_DIR/report.html: curves, held-out "
                                "before/after per problem, the samples of every step (one self-contained file).")
    p.add_argument("run_dir", help="a training run's output_dir")
    p.add_argument("--output", default=None, help="where to write the HTML (default RUN_DIR/report.html)")
    p.add_argument("--max-samples", "--max_samples", type=int, default=MAX_SAMPLES,
                   help=f"most sample rows in the report (default {MAX_SAMPLES})")
    args = p.parse_args(argv)
    run_dir = Path(args.run_dir)
    try:
        if not run_dir.is_dir():
            raise RunDirError(f"{run_dir} is not a directory; pass a training run's output_dir")
        if not any((run_dir / f).is_file() for f in (SUMMARY_FILE, "metrics.jsonl", SAMPLES_FILE)):
            raise RunDirError(f"{run_dir} holds no summary.json, metrics.jsonl or samples.jsonl: not an r1lite "
                              "training run (r1lite train --output_dir writes them)")
        if args.max_samples < 1:
            raise RunDirError(f"--max-samples must be >= 1, got {args.max_samples}")
        target = write_report(run_dir, args.output, args.max_samples)
        print("\n".join(outcome_lines(outcome(run_dir))))
    except (RunDirError, OSError) as exc:
        print(f"r1lite report: {exc}", file=sys.stderr)
        return 2
    print(f"r1lite report: wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
