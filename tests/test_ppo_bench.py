"""bench/algos.py as GRPO vs PPO (what bench/grpo_vs_ppo.py did, folded in): a smoke run on the tiny model where
PPO samples one completion per prompt (``--group ppo=1``); the report holds the ratios, PPO's critic figures and
the R1-Zero diagnostics per estimator."""

from __future__ import annotations

import json
from pathlib import Path

from bench_loader import load_bench


def test_grpo_vs_ppo_smoke_tiny(smollm2_dir: str, tmp_path: Path) -> None:
    bench = load_bench("algos")
    out, work = tmp_path / "results", tmp_path / "runs"
    rc = bench.main(["--tiny", "--estimators", "grpo,ppo", "--group", "ppo=1", "--num_generations", "2",
                     "--completions", "4", "--max_steps", "2", "--heldout_n", "2", "--heldout_every", "0",
                     "--set", "max_completion_length=8", "--out", str(out), "--work", str(work),
                     "--json", str(tmp_path / "bench.json")])
    assert rc == 0
    report = json.loads((out / "summary.json").read_text())
    assert report == json.loads((tmp_path / "bench.json").read_text())
    for algo, group in (("grpo", 2), ("ppo", 1)):
        argv = report[algo]["seeds"][0]["argv"]
        assert argv[argv.index("--num_generations") + 1] == str(group)
        r = report[algo]
        assert r["seconds_per_step"] > 0 and 0.1 < r["peak_rss_gb"] < 20
        assert 0.0 <= r["heldout_after"] <= 1.0 and r["seeds"][0]["heldout_n"] == 2
        # diagnostics from the run's metrics.jsonl, one point per step
        assert [p[0] for p in r["reflection_curve"]] == [1, 2] and r["reflection_last"] >= 0
        assert r["length_wrong_curve"] or r["length_correct_curve"]
    assert report["ppo"]["value_loss_last"] is not None and report["grpo"]["value_loss_last"] is None
    v = report["summary"]["ppo_vs_grpo"]
    assert v["rss_ratio_ppo_over_grpo"] > 0 and v["time_ratio_ppo_over_grpo"] > 0
    assert set(report["summary"]["diagnostics"]) == {"grpo", "ppo"}
    readme = (out / "README.md").read_text()
    assert "ppo: 4 x 1" in readme and "peak RSS PPO / GRPO" in readme and "R1-Zero diagnostics" in readme
    assert (out / "curves.png").stat().st_size > 1000
