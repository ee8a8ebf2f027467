"""bench/grpo_vs_ppo.py smoke run on the tiny model: both algorithms train, the report files hold the figures."""

from __future__ import annotations

import json
from pathlib import Path

from bench_loader import load_bench


def test_bench_smoke_tiny(smollm2_dir: str, tmp_path: Path) -> None:
    bench = load_bench("grpo_vs_ppo")
    out, work = tmp_path / "results", tmp_path / "runs"
    rc = bench.main(["--tiny", "--max-steps", "1", "--heldout-n", "2", "--heldout-every", "0", "--completions", "4",
                     "--grpo-group", "2", "--max-completion-length", "8", "--out", str(out), "--work", str(work),
                     "--json", str(tmp_path / "bench.json")])
    assert rc == 0
    report = json.loads((out / "summary.json").read_text())
    assert report == json.loads((tmp_path / "bench.json").read_text())
    for algo, group in (("grpo", 2), ("ppo", 1)):
        r = report[algo]
        assert r["steps"] == 1 and r["num_generations"] == group and r["prompts_per_step"] == 4 // group
        assert r["seconds_per_step"] > 0 and 0.1 < r["peak_rss_gb"] < 20
        assert 0.0 <= r["heldout_accuracy"] <= 1.0 and r["heldout_n"] == 2
    assert report["ppo"]["ppo_value_loss_last"] is not None and report["grpo"]["ppo_value_loss_last"] is None
    assert report["summary"]["rss_ratio_ppo_over_grpo"] > 0
    assert (out / "curves.png").stat().st_size > 1000
    readme = (out / "README.md").read_text()
    assert "| GRPO |" in readme and "| PPO |" in readme
    assert (out / "metrics_ppo.jsonl").is_file() and (out / "metrics_grpo.jsonl").is_file()
