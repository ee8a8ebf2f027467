"""bench/algos.py's report on fake run folders: wall time without held-out evaluations, step to +0.10, seed
averaging, summary.json / README.md / curves.png (no training here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_loader import load_bench


def fake_run(folder: Path, before: float, mid: float, after: float, step3_time: float = 15.0,
             split: bool = True) -> None:
    """4 steps; held-out before (10 s), at step 2 (5 s) and after step 4 (8 s); n = 20. ``split``: held-out
    passes in ``heldout_metrics.jsonl`` as runs write them now; else in ``metrics.jsonl`` as older runs did."""
    folder.mkdir(parents=True)
    rows = [{"step": 0, "time": 100.0, "heldout/accuracy": before, "heldout/seconds": 10.0},
            {"step": 1, "time": 110.0, "loss": 0.1, "reward": 0.3, "step_time": 10.0,
             "diag/reflection_rate": 0.5, "diag/length_wrong": 40.0, "entropy": 1.0},
            {"step": 2, "time": 120.0, "loss": 0.1, "reward": 0.4, "step_time": 10.0,
             "diag/reflection_rate": 0.3, "diag/length_wrong": 30.0, "diag/length_correct": 20.0, "entropy": 0.8},
            {"step": 2, "time": 125.0, "heldout/accuracy": mid, "heldout/seconds": 5.0},
            {"step": 3, "time": 125.0 + step3_time, "loss": 0.1, "reward": 0.5, "step_time": step3_time},
            {"step": 4, "time": 135.0 + step3_time, "loss": 0.1, "reward": 0.6, "step_time": 10.0},
            {"step": 4, "time": 143.0 + step3_time, "heldout/accuracy": after, "heldout/seconds": 8.0}]
    if split:
        passes = [{"step": r["step"], "phase": phase, "time": r["time"], "accuracy": r["heldout/accuracy"],
                   "seconds": r["heldout/seconds"]}
                  for r, phase in zip([r for r in rows if "heldout/accuracy" in r], ["before", "step2", "after"],
                                      strict=True)]
        rows = [r for r in rows if "heldout/accuracy" not in r]
        (folder / "heldout_metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in passes))
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "summary.json").write_text(json.dumps({"before": {"accuracy": before, "n": 20},
                                                     "after": {"accuracy": after, "n": 20, "step": 4}}))


@pytest.mark.parametrize("split", [True, False], ids=["heldout_metrics_file", "older_single_file"])
def test_read_run_wall_time_and_step_to_gain(tmp_path: Path, split: bool) -> None:
    bench = load_bench("algos")
    fake_run(tmp_path / "r", before=0.2, mid=0.35, after=0.4, split=split)
    run = bench.read_run(tmp_path / "r")
    # training wall time: since the before-evaluation ended (t=100), minus the evaluations since (5 s, then 8 s)
    assert run["heldout_curve"] == [[0, 0.2, 0.0], [2, 0.35, 20.0], [4, 0.4, 45.0]]
    assert [p[2] for p in run["reward_curve"]] == [10.0, 20.0, 35.0, 45.0]
    assert run["seconds_per_step"] == 10.0 and run["steps"] == 4
    assert run["step_to_gain_0_10"] == 2  # 0.35 >= 0.2 + 0.10 first at step 2
    assert bench.step_to_gain([[0, 0.2, 0], [2, 0.25, 1], [4, 0.29, 2]], 0.2) is None


def test_report_from_fake_runs(tmp_path: Path) -> None:
    bench = load_bench("algos")
    work, out = tmp_path / "runs", tmp_path / "out"
    fake_run(work / "grpo" / "seed1", 0.2, 0.35, 0.4)
    fake_run(work / "grpo" / "seed2", 0.2, 0.25, 0.3, step3_time=25.0)
    fake_run(work / "rloo" / "seed1", 0.2, 0.2, 0.25)
    fake_run(work / "rloo" / "seed2", 0.2, 0.2, 0.25)
    rc = bench.main(["--report_only", "--estimators", "grpo,rloo", "--seeds", "1,2", "--work", str(work),
                     "--out", str(out), "--json", str(tmp_path / "r.json"), "--note", "Two lanes."])
    assert rc == 0
    report = json.loads((out / "summary.json").read_text())
    assert report == json.loads((tmp_path / "r.json").read_text())
    g, r = report["grpo"], report["rloo"]
    assert g["heldout_before"] == pytest.approx(0.2) and g["heldout_after"] == pytest.approx(0.35)
    assert g["step_to_gain_0_10_per_seed"] == [2, 4]
    assert g["step_to_gain_0_10"] == 2  # seed-mean curve: (0.35 + 0.25) / 2 = 0.30 at step 2
    assert [p[1] for p in g["heldout_curve"]] == pytest.approx([0.2, 0.3, 0.35])
    # wall time at step 4: seed 1 45 s, seed 2 55 s (its step 3 took 10 s longer)
    assert g["heldout_curve"][-1][2] == pytest.approx(50.0)
    assert g["seconds_per_step"] == pytest.approx(10.0) and g["n_seeds"] == 2
    assert r["step_to_gain_0_10"] is None and r["heldout_after"] == pytest.approx(0.25)
    for name in ("grpo", "rloo"):
        assert set(report["summary"][name]) == {"seconds_per_step", "peak_rss_gb", "heldout_before",
                                                "heldout_after", "step_to_gain_0_10", "heldout_best",
                                                "heldout_best_step"}
    assert (g["heldout_best"], g["heldout_best_step"]) == (pytest.approx(0.35), 4)
    # n = 20 per seed, 2 seeds, mean final accuracy 0.3: 1.96 * sqrt(2 * 0.3 * 0.7 / 40)
    assert report["meta"]["resolvable_accuracy_difference_95"] == pytest.approx(1.96 * (0.42 / 40) ** 0.5)
    readme = (out / "README.md").read_text()
    assert "| grpo | 10.0 | - | 0.20 -> 0.35 | 0.35 (4) | 2 | 2 |" in readme and "| rloo |" in readme and "never" in readme
    assert "\nTwo lanes.\n" in readme and "--note" not in report["meta"]["command"]
    assert (out / "curves.png").stat().st_size > 5000
    # R1-Zero diagnostics from metrics.jsonl: seed means at the steps both seeds logged
    assert g["reflection_curve"] == [[1, 0.5], [2, 0.3]] and g["length_correct_curve"] == [[2, 20.0]]
    assert (g["reflection_first"], g["reflection_last"]) == (0.5, 0.3) and g["length_wrong_last"] == 30.0
    assert report["summary"]["diagnostics"]["rloo"]["entropy_last"] == pytest.approx(0.8)
    assert "| grpo | 0.50 -> 0.30 | 20 | 30 | 1.00 -> 0.80 |" in readme
    assert "ppo_vs_grpo" not in report["summary"]


def test_group_and_algo_set_reach_one_estimator(tmp_path: Path) -> None:
    bench = load_bench("algos")
    args = bench.parse(["--estimators", "grpo,ppo", "--group", "ppo=1", "--algo_set", "ppo:critic_learning_rate=1e-4",
                        "--set", "beta=0.0"])
    ppo = bench.train_argv("ppo", 1, tmp_path, args, None)
    grpo = bench.train_argv("grpo", 1, tmp_path, args, None)
    assert ppo[ppo.index("--num_generations") + 1] == "1" and grpo[grpo.index("--num_generations") + 1] == "8"
    assert "--critic_learning_rate" in ppo and "--critic_learning_rate" not in grpo
    assert "--beta" in ppo and "--beta" in grpo


def test_bad_arguments_fail_clearly(capsys: pytest.CaptureFixture) -> None:
    bench = load_bench("algos")
    with pytest.raises(SystemExit):
        bench.parse(["--estimators", "rlooo"])
    assert "unknown advantage estimator 'rlooo'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse(["--estimators", "rloo", "--num_generations", "1", "--completions", "4"])
    assert "rloo needs --num_generations >= 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse(["--estimators", "grpo", "--group", "grpo=1"])
    assert "grpo needs --group grpo=G >= 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse(["--estimators", "ppo", "--group", "ppo=3"])
    assert "must be a multiple of ppo's completions per prompt (3)" in capsys.readouterr().err


def test_best_point_of_a_curve_that_peaks_and_falls() -> None:
    """A run that peaks mid-way and ends where it began: the report keeps the peak and its (earliest) step."""
    bench = load_bench("algos")
    run = {"heldout_before": 0.3, "heldout_after": 0.3, "seconds_per_step": 1.0, "peak_rss_gb": None,
           "heldout_curve": [[0, 0.3, 0.0], [10, 0.6, 5.0], [20, 0.6, 9.0], [40, 0.3, 20.0]],
           "reward_curve": [], "step_to_gain_0_10": 10}
    agg = bench.aggregate([run])
    assert (agg["heldout_best"], agg["heldout_best_step"], agg["heldout_gain"]) == (0.6, 10, 0.0)


def test_samplers_are_paired_by_seed(tmp_path: Path) -> None:
    """--samplers: each estimator under each sampler (``NAME@SAMPLER``), then per-seed gain differences, their
    mean and an exact sign-flip p-value; the training command names the sampler."""
    bench = load_bench("algos")
    work, out = tmp_path / "runs", tmp_path / "out"
    gains = {"vllm": {1: 0.1, 2: 0.0, 3: 0.2}, "transformers": {1: 0.2, 2: 0.3, 3: 0.1}}
    for sampler, by_seed in gains.items():
        for seed, gain in by_seed.items():
            fake_run(work / f"grpo@{sampler}" / f"seed{seed}", 0.2, 0.2, 0.2 + gain)
    rc = bench.main(["--report_only", "--estimators", "grpo", "--samplers", "vllm,transformers", "--seeds", "1,2,3",
                     "--work", str(work), "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "summary.json").read_text())
    assert set(report["summary"]) >= {"grpo@vllm", "grpo@transformers", "paired"}
    p = report["paired"]["grpo"]
    assert p["seeds"] == [1, 2, 3] and p["b_minus_a"] == pytest.approx([0.1, 0.3, -0.1])
    assert p["mean_b_minus_a"] == pytest.approx(0.1) and (p["b_better"], p["a_better"]) == (2, 1)
    # |sum| = 0.3; of the 8 sign patterns of (0.1, 0.3, 0.1) only (+,-,-) and (-,+,+) stay below it -> 6 of 8
    assert p["p_sign_flip"] == pytest.approx(0.75)
    assert report["summary"]["paired"]["grpo"]["difference"] == "transformers - vllm"
    readme = (out / "README.md").read_text()
    assert "| 2 | +0.00 | +0.30 | +0.30 |" in readme and "sign-flip p = 0.750" in readme
    args = bench.parse(["--estimators", "grpo", "--samplers", "vllm"])
    argv = bench.train_argv("grpo@vllm", 1, tmp_path, args, None)
    assert argv[argv.index("--sampler") + 1] == "vllm" and argv[argv.index("--algo") + 1] == "grpo"
    assert bench.sign_flip_p([0.1, 0.2, 0.3, 0.4]) == pytest.approx(2 / 16)
    with pytest.raises(SystemExit):
        bench.parse(["--samplers", "vllm,vlm"])
