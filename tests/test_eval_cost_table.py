"""bench/eval_cost_table.py on fake run folders: wall time, tokens/s, the thread count a run had, a SIGINT +
resume counted without the pause, and results written per benchmark without losing runs measured earlier."""

from __future__ import annotations

import json
from pathlib import Path

from bench_loader import load_bench


def fake_eval_run(folder: Path, command: list[str], timing: str, tokens: list[int]) -> None:
    """A finished ``r1lite eval`` output dir with only the fields the cost table reads."""
    folder.mkdir(parents=True)
    metric = {"value": 0.02, "ci": [0.01, 0.03]}
    bench = {"num_problems": len(tokens) // 4, "num_samples": len(tokens), "generation_seconds": 50.0,
             "grading_seconds": 1.0, "mean_response_tokens": sum(tokens) / len(tokens), "truncation_rate": 0.25,
             "format_rate": 0.0, "resumed_samples": 0, "generated_samples": len(tokens),
             "metrics": {"strict": {"mean@4": metric}, "lenient": {"mean@4": metric}}}
    res = {"benchmarks": {"gsm8k": bench}, "device": "cpu", "command": command, "versions": {},
           "sampling": {"greedy": False, "n": 4, "temperature": 0.6, "top_p": 0.95, "max_tokens": 256}}
    (folder / "results.json").write_text(json.dumps(res))
    (folder / "samples.jsonl").write_text("".join(json.dumps({"num_tokens": t}) + "\n" for t in tokens))
    (folder / "timing.txt").write_text(timing)


LOAD = "up 1:00,  0 user,  load average: 1.00, 0.50, 0.25"


def test_figures_threads_and_resume(tmp_path: Path) -> None:
    table = load_bench("eval_cost_table")
    fake_eval_run(tmp_path / "gsm8k-issue-command-full", ["r1lite", "eval", "--threads", "2"],
                  f"start 2026-12-06T06:00:00Z  {LOAD}\nrc 0\nend 2026-12-06T06:10:00Z  {LOAD}\n", [100] * 8)
    fig = table.figures(tmp_path / "gsm8k-issue-command-full")["figures"]
    assert fig["wall_s"] == 600.0 and fig["completion_tokens"] == 800
    assert fig["tokens_per_s"] == round(800 / 600, 1) and fig["problems_per_min"] == 0.2
    assert fig["threads_note"] == "--threads 2" and fig["load_start"] == [1.0, 0.5, 0.25]
    fake_eval_run(tmp_path / "gsm8k-sampled-200", ["r1lite", "eval"],
                  f"start 2026-12-06T06:00:00Z  {LOAD}\nsigint 2026-12-06T06:04:00Z at 4 samples\nrc 130\n"
                  f"kept 4 samples\nresume 2026-12-06T06:30:00Z  {LOAD}\nrc 0\nend 2026-12-06T06:35:00Z  {LOAD}\n",
                  [50] * 8)
    fig = table.figures(tmp_path / "gsm8k-sampled-200")["figures"]
    assert fig["wall_s"] == 540.0  # 4 min before the SIGINT + 5 min after the resume, not the 26 min pause
    assert fig["interrupted"]["stops"] == [{"at": "2026-12-06T06:04:00Z", "samples_saved": 4}]
    assert fig["interrupted"]["wall_parts_s"] == [240.0, 300.0]
    assert fig["threads_note"].startswith("r1lite default thread policy")
    assert table.figures(tmp_path / "no-such-run") is None


def test_stopped_twice(tmp_path: Path) -> None:
    """Stopped twice and resumed twice (as the full GSM8K run was): three parts, no pauses."""
    table = load_bench("eval_cost_table")
    fake_eval_run(tmp_path / "run", ["r1lite", "eval"],
                  f"start 2026-12-06T06:00:00Z  {LOAD}\nsigint 2026-12-06T06:10:00Z at 4 samples (SIGTERM)\n"
                  f"kept 4 samples\nresume 2026-12-06T06:11:00Z  {LOAD}\n"
                  f"sigint 2026-12-06T06:31:00Z at 6 samples\nrc 143\nkept 6 samples\n"
                  f"resume 2026-12-06T06:32:00Z  {LOAD}\nrc 0\nend 2026-12-06T06:42:00Z  {LOAD}\n", [50] * 8)
    fig = table.figures(tmp_path / "run")["figures"]
    assert fig["wall_s"] == 40 * 60
    assert fig["interrupted"]["wall_parts_s"] == [600.0, 1200.0, 600.0]
    assert [s["samples_saved"] for s in fig["interrupted"]["stops"]] == [4, 6]
    assert fig["interrupted"]["wall_start_to_end_s"] == 42 * 60


def test_results_keep_runs_measured_earlier(tmp_path: Path) -> None:
    table = load_bench("eval_cost_table")
    timing = f"start 2026-12-06T06:00:00Z  {LOAD}\nrc 0\nend 2026-12-06T06:01:40Z  {LOAD}\n"
    fake_eval_run(tmp_path / "first" / "gsm8k-greedy", ["r1lite", "eval"], timing, [10] * 4)
    fake_eval_run(tmp_path / "second" / "gsm8k-issue-command-full", ["r1lite", "eval"], timing, [20] * 4)
    out = tmp_path / "results"
    assert table.main([str(tmp_path / "first"), "--results", str(out)]) == 0
    assert table.main([str(tmp_path / "second"), "--results", str(out)]) == 0
    saved = json.loads((out / "eval-gsm8k" / "results.json").read_text())
    assert set(saved["summary"]) == set(saved["runs"]) == {"gsm8k-greedy", "gsm8k-issue-command-full"}
    assert saved["summary"]["gsm8k-greedy"]["completion_tokens"] == 40
    assert saved["missing"] == ["gsm8k-sampled-200"]
    assert "gsm8k-issue-command-full" in (out / "eval-gsm8k" / "table.md").read_text()
