"""bench/reliability.py: fresh seeds only, the summary's figures from run folders, and a real tiny run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_loader import load_bench


def fake_seed(folder: Path, seed: int, curve: list[tuple[int, float]], wall: float = 100.0,
              meta: dict | None = None, validation: list[tuple[int, float]] | None = None) -> None:
    folder.mkdir(parents=True)
    if validation:
        (folder / "validation_metrics.jsonl").write_text("".join(
            json.dumps({"step": s, "phase": "x", "accuracy": a, "seconds": 1.0}) + "\n" for s, a in validation))
    steps = [{"step": s, "time": 10.0 * s, "loss": 0.1, "reward": 0.5, "entropy": 1.0 - 0.1 * s,
              "dynamic_sampling/zero_variance_frac": 1.0 if s == 2 else 0.5, "difficulty/skipped_frac": 0.25}
             for s in range(1, curve[-1][0] + 1)]
    passes = [{"step": s, "phase": "before" if s == 0 else ("after" if k == len(curve) - 1 else f"step{s}"),
               "time": 10.0 * s + 1, "accuracy": a, "seconds": 3.0} for k, (s, a) in enumerate(curve)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in steps))
    (folder / "heldout_metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in passes))
    best = max(curve, key=lambda p: p[1])
    (folder / "summary.json").write_text(json.dumps({
        "before": {"accuracy": curve[0][1], "n": 100}, "after": {"accuracy": curve[-1][1], "n": 100},
        "best": {"step": best[0], "value": best[1]}, "wall_seconds": wall}))
    (folder / "run_meta.json").write_text(json.dumps(meta or {"peak_rss_gb": 5.5, "rss_unit": "GB", "lanes": 1}))


def test_the_checkpoint_validation_chose_is_scored_on_the_heldout_curve(tmp_path: Path) -> None:
    """Validation picks step 5 on seed 1 (held-out 0.45 there, 0.40 at the end) and the start on seed 2 (its gain
    is 0, where the final weights lost 0.10); the step-5 pass of seed 1 is the command's, so its time stays in."""
    bench = load_bench("reliability")
    work, arms = tmp_path / "work", {n: bench.parse_arm(n) for n in ("vllm_arm", "gen_arm")}
    for name, shift in (("vllm_arm", 0.0), ("gen_arm", 0.05)):
        fake_seed(bench.run_folder(work, arms[name], 1, False), 1, [(0, 0.30), (5, 0.45 + shift), (10, 0.40)],
                  validation=[(0, 0.2), (5, 0.6), (10, 0.6)])
        fake_seed(bench.run_folder(work, arms[name], 2, False), 2, [(0, 0.30), (5, 0.25), (10, 0.20 + shift)],
                  validation=[(0, 0.5), (5, 0.4), (10, 0.5)])
    out = tmp_path / "out"
    assert bench.main(["--report_only", "--seeds", "1,2", "--arm", "vllm_arm", "--arm", "gen_arm", "--work",
                       str(work), "--out", str(out)]) == 0
    report = json.loads((out / "summary.json").read_text())
    s = report["summary"]
    assert s["mean_gain"] == pytest.approx(0.0) and s["frac_below_start"] == 0.5
    assert s["selected_steps"] == [5, 0] and s["mean_gain_selected"] == pytest.approx(0.075)
    assert s["min_gain_selected"] == pytest.approx(0.0) and s["frac_below_start_selected"] == 0.0 and s["n_selected"] == 2
    assert s["frac_gain_ge_0_10_selected"] == 0.5
    seed1 = report["runs"]["vllm_arm"][0]
    assert seed1["wall_seconds"] == pytest.approx(100.0)  # the chosen step's pass is not left out
    pair = s["paired_selected"]
    assert pair["of"] == "gain_selected" and pair["mean_b_minus_a"] == pytest.approx(0.025)
    readme = (out / "README.md").read_text()
    # without validation problems the same runs would not pay for the passes (3 x 1 s) nor the chosen step's pass
    assert [r["wall_seconds_without_validation"] for r in report["runs"]["vllm_arm"]] == [94.0, 94.0]
    assert "| vllm_arm | 2 | +0.075 | +0.00 | 0.50 | 0.00 | 0: 1, 5: 1 | 94 |" in readme
    assert "selected 0.45@5" in readme and "Paired by seed: mean selected gain gen_arm - vllm_arm = +0.025" in readme


def test_seed_42_is_refused() -> None:
    bench = load_bench("reliability")
    with pytest.raises(SystemExit):
        bench.parse(["--seeds", "41,42"])


def test_margin_must_be_positive() -> None:
    bench = load_bench("reliability")
    with pytest.raises(SystemExit):  # a band of width <= 0 would call every interval "not inside"
        bench.parse(["--seeds", "41", "--margin", "-0.05"])
    assert bench.parse(["--seeds", "41", "--margin", "0.05"]).margin == 0.05


def test_summary_fields_from_run_folders(tmp_path: Path) -> None:
    bench = load_bench("reliability")
    work = tmp_path / "work"
    arms = {"preset": bench.parse_arm("preset"), "cand": bench.parse_arm("cand:difficulty_sampling=true")}
    fake_seed(bench.run_folder(work, arms["preset"], 1, False), 1, [(0, 0.30), (5, 0.45), (10, 0.40)])
    fake_seed(bench.run_folder(work, arms["preset"], 2, False), 2, [(0, 0.30), (5, 0.25), (10, 0.20)])
    fake_seed(bench.run_folder(work, arms["cand"], 1, False), 1, [(0, 0.30), (5, 0.50), (10, 0.55)])
    fake_seed(bench.run_folder(work, arms["cand"], 2, False), 2, [(0, 0.30), (5, 0.40), (10, 0.42)])
    fake_seed(bench.run_folder(work, arms["preset"], 1, True), 1, [(0, 0.30), (10, 0.50), (30, 0.35)])
    out = tmp_path / "out"
    rc = bench.main(["--report_only", "--seeds", "1,2", "--arm", "preset", "--arm", "cand:difficulty_sampling=true",
                     "--long_factor", "3", "--work", str(work), "--out", str(out), "--json", str(tmp_path / "r.json")])
    assert rc == 0
    report = json.loads((out / "summary.json").read_text())
    s = report["summary"]
    assert s["arm"] == "preset" and s["seeds"] == [1, 2]
    assert s["mean_gain"] == pytest.approx(0.0) and s["min_gain"] == pytest.approx(-0.10)
    assert s["frac_gain_ge_0_10"] == 0.5 and s["frac_below_start"] == 0.5
    assert s["mean_wall_seconds"] == pytest.approx(97.0)  # the mid-run held-out pass (3 s) is left out
    assert s["mean_final_minus_best"] == pytest.approx(-0.15) and s["long_seeds"] == [1]
    assert s["mean_entropy_first"] == pytest.approx(0.9) and s["mean_skipped_frac"] == pytest.approx(0.25)
    cand = s["arms"]["cand"]
    assert cand["mean_gain"] == pytest.approx(0.185) and cand["frac_below_start"] == 0.0
    assert s["paired"]["mean_b_minus_a"] == pytest.approx(0.185) and s["paired"]["p_sign_flip"] == 0.5
    assert report["runs"]["preset"][1]["no_signal_steps"] == 1
    readme = (out / "README.md").read_text()
    assert "| preset | 2 | +0.000 | -0.10 |" in readme and "sign-flip p = 0.500" in readme
    assert (out / "curves.png").stat().st_size > 1000 and (tmp_path / "r.json").exists()


def test_three_arms_are_paired_two_by_two(tmp_path: Path) -> None:
    """With three arms (a sampler, the other, and a second sample stream of one) every pair is compared by seed."""
    bench = load_bench("reliability")
    work, out = tmp_path / "work", tmp_path / "out"
    ends = {"preset@vllm": (0.50, 0.60), "preset@transformers": (0.45, 0.45), "stream2@vllm": (0.40, 0.55)}
    for label, after in ends.items():
        for seed, a in zip((1, 2), after, strict=True):
            fake_seed(bench.run_folder(work, bench.parse_arm(label), seed, False), seed, [(0, 0.30), (10, a)])
    rc = bench.main(["--report_only", "--seeds", "1,2", *[x for label in ends for x in ("--arm", label)],
                     "--work", str(work), "--out", str(out)])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())["summary"]
    assert s["paired"]["b"] == "preset@transformers"  # the first two arms, as before
    pairs = {(p["a"], p["b"]): p["mean_b_minus_a"] for p in s["paired_all"]}
    assert pairs == pytest.approx({("preset@vllm", "preset@transformers"): -0.10,
                                   ("preset@vllm", "stream2@vllm"): -0.075,
                                   ("preset@transformers", "stream2@vllm"): 0.025})
    readme = (out / "README.md").read_text()
    assert "mean gain stream2@vllm - preset@transformers = +0.025 over 2 seeds" in readme
    assert readme.count("Paired by seed:") == 3


def test_long_only_runs_and_their_figures(tmp_path: Path) -> None:
    """--long_only adds 3x runs beside preset-length runs already in --work; an arm may have long runs only."""
    bench = load_bench("reliability")
    with pytest.raises(SystemExit):
        bench.parse(["--seeds", "1", "--long_only"])  # no --long_factor: nothing to run
    work, out = tmp_path / "work", tmp_path / "out"
    preset, cand = bench.parse_arm("preset"), bench.parse_arm("cand:clip_cov_ratio=0.02")
    fake_seed(bench.run_folder(work, preset, 1, False), 1, [(0, 0.30), (5, 0.45), (10, 0.40)])
    fake_seed(bench.run_folder(work, preset, 2, False), 2, [(0, 0.30), (5, 0.25), (10, 0.20)])
    fake_seed(bench.run_folder(work, preset, 1, True), 1, [(0, 0.30), (10, 0.40), (20, 0.50), (30, 0.35)])
    fake_seed(bench.run_folder(work, preset, 2, True), 2, [(0, 0.30), (10, 0.20), (20, 0.30), (30, 0.30)],
              meta={"peak_rss_gb": 6.0, "lanes": 2})  # written before rss_unit: GiB
    fake_seed(bench.run_folder(work, cand, 1, True), 1, [(0, 0.30), (10, 0.40), (20, 0.45), (30, 0.50)])
    fake_seed(bench.run_folder(work, cand, 2, True), 2, [(0, 0.30), (10, 0.30), (20, 0.40), (30, 0.40)])
    rc = bench.main(["--report_only", "--long_only", "--seeds", "1,2", "--arm", "preset", "--arm",
                     "cand:clip_cov_ratio=0.02", "--long_factor", "3", "--work", str(work), "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "summary.json").read_text())
    s = report["summary"]
    assert s["arm"] == "preset" and s["mean_gain"] == pytest.approx(0.0)
    assert s["mean_final_minus_best"] == pytest.approx(-0.075) and s["min_final_minus_best"] == pytest.approx(-0.15)
    assert s["long_mean_gain"] == pytest.approx(0.025) and s["long_mean_gain_at_preset_steps"] == pytest.approx(0.0)
    assert s["long_frac_below_start"] == 0.0 and report["meta"]["missing"] == []  # cand is a long-only arm
    assert report["long_runs"]["preset"][1]["peak_rss_gb"] == pytest.approx(6.0 * 1024 ** 3 / 1e9)
    cand_s = s["arms"]["cand"]
    assert cand_s["n"] == 0 and cand_s["mean_final_minus_best"] == pytest.approx(0.0)
    assert s["paired_long"]["mean_b_minus_a"] == pytest.approx(0.125) and s["paired_long"]["b"] == "cand"
    readme = (out / "README.md").read_text()
    assert "0.30 -> 0.40 -> 0.35 (best 0.50@20; -0.15)" in readme and "0.30 -> 0.40 -> 0.50 (best 0.50@30; +0.00)" in readme
    alone = tmp_path / "alone"  # a report of a long-only arm by itself
    assert bench.main(["--report_only", "--long_only", "--seeds", "1,2", "--arm", "cand:clip_cov_ratio=0.02",
                       "--long_factor", "3", "--work", str(work), "--out", str(alone)]) == 0
    assert json.loads((alone / "summary.json").read_text())["summary"]["arms"]["cand"]["long_seeds"] == [1, 2]


def test_short_from_long_reads_the_preset_length_figures_from_the_long_runs(tmp_path: Path) -> None:
    """--short_from_long: an arm with long runs only gets its 10-step figures from their first 10 steps."""
    bench = load_bench("reliability")
    work, out = tmp_path / "work", tmp_path / "out"
    cand = bench.parse_arm("cand:lr_decay_after_steps=10")
    fake_seed(bench.run_folder(work, cand, 1, True), 1, [(0, 0.30), (5, 0.45), (10, 0.50), (20, 0.40), (30, 0.35)],
              wall=300.0)
    fake_seed(bench.run_folder(work, cand, 2, True), 2, [(0, 0.30), (5, 0.20), (10, 0.25), (20, 0.40), (30, 0.40)],
              wall=300.0)
    argv = ["--report_only", "--long_only", "--seeds", "1,2", "--arm", "cand:lr_decay_after_steps=10",
            "--long_factor", "3", "--work", str(work), "--out", str(out)]
    assert bench.main(argv) == 0
    assert json.loads((out / "summary.json").read_text())["summary"]["arms"]["cand"]["n"] == 0  # not asked for
    assert bench.main([*argv, "--short_from_long"]) == 0
    report = json.loads((out / "summary.json").read_text())
    s = report["summary"]
    assert s["arm"] == "cand" and s["n"] == 2 and report["meta"]["short_from_long"] is True
    assert s["mean_gain"] == pytest.approx((0.20 - 0.05) / 2) and s["frac_below_start"] == 0.5
    first = report["runs"]["cand"][0]
    assert first["steps"] == 10 and first["best"] == 0.50 and first["best_step"] == 10 and first["from_long_run"]
    assert first["heldout_curve"] == [[0, 0.30], [5, 0.45], [10, 0.50]]
    # 300 s in all, less the 200 s after the step-10 pass (steps 11-30), less the step-5 pass (3 s)
    assert first["wall_seconds"] == pytest.approx(97.0) and first["mid_heldout_seconds"] == pytest.approx(3.0)
    assert first["entropy_last"] == pytest.approx(0.0) and first["zero_variance_frac"] == pytest.approx(0.55)
    assert s["mean_final_minus_best"] == pytest.approx((-0.15 + 0.0) / 2)  # the long runs' own figure
    assert "read from the 3x runs' first 10 steps" in (out / "README.md").read_text()


def test_tiny_runs_end_to_end(tmp_path: Path) -> None:
    bench = load_bench("reliability")
    out = tmp_path / "out"
    rc = bench.main(["--tiny", "--seeds", "1,2", "--samplers", "transformers", "--work", str(tmp_path / "work"),
                     "--out", str(out), "--heldout_every", "1", "--set", "max_steps=2", "--set", "heldout_n=4",
                     "--set", "heldout_batch_size=4", "--set", "max_completion_length=8", "--set", "plot=false",
                     "--arm", "preset", "--arm", "cand:difficulty_sampling=true,clip_cov_ratio=0.1"])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())["summary"]
    assert set(s["arms"]) == {"preset@transformers", "cand@transformers"}
    for arm in s["arms"].values():
        assert arm["seeds"] == [1, 2] and arm["mean_gain"] is not None and arm["mean_wall_seconds"] > 0
    runs = json.loads((out / "summary.json").read_text())["runs"]
    assert all(len(r["heldout_curve"]) == 3 for rs in runs.values() for r in rs)  # before, step 1, after
    assert s["arms"]["cand@transformers"]["mean_skipped_frac"] is not None
    assert s["arms"]["preset@transformers"]["mean_skipped_frac"] is None


@pytest.mark.parametrize(("shift", "inside"), [(0.01, True), (0.08, False)])
def test_paired_interval_and_margin(tmp_path: Path, shift: float, inside: bool) -> None:
    """Parity is shown by an interval inside the margin, not by a p-value above 0.05: six seeds whose gains
    differ by shift +- 0.02 give a 95% interval around shift, inside +-0.05 only when shift is small."""
    bench = load_bench("reliability")
    work, out = tmp_path / "work", tmp_path / "out"
    seeds = [1, 2, 3, 4, 5, 6]
    for k, seed in enumerate(seeds):
        after = 0.50 + 0.05 * k
        fake_seed(bench.run_folder(work, bench.parse_arm("a"), seed, False), seed, [(0, 0.30), (10, after)])
        other = after + shift + (0.02 if k % 2 else -0.02)
        fake_seed(bench.run_folder(work, bench.parse_arm("b"), seed, False), seed, [(0, 0.30), (10, other)])
    rc = bench.main(["--report_only", "--seeds", ",".join(map(str, seeds)), "--arm", "a", "--arm", "b",
                     "--margin", "0.05", "--work", str(work), "--out", str(out)])
    assert rc == 0
    p = json.loads((out / "summary.json").read_text())["summary"]["paired"]
    lo, hi = p["ci95_b_minus_a"]
    assert lo <= p["mean_b_minus_a"] <= hi and lo > -0.05 and hi < shift + 0.03
    assert p["margin"] == 0.05 and p["ci95_within_margin"] is inside
    readme = (out / "README.md").read_text()
    assert ("inside +-0.05" if inside else "not inside +-0.05") in readme
    # two seeds cannot reject anything at 5%: no interval, said so
    rc = bench.main(["--report_only", "--seeds", "1,2", "--arm", "a", "--arm", "b", "--work", str(work),
                     "--out", str(out)])
    assert rc == 0 and "too few seeds for a 95% interval" in (out / "README.md").read_text()
    assert json.loads((out / "summary.json").read_text())["summary"]["paired"]["ci95_b_minus_a"] is None
