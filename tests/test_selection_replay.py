"""bench/selection_replay.py: choosing the checkpoint on validation problems, replayed on run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_loader import load_bench


def write_points(folder: Path, points: dict[str, list[int]]) -> None:
    folder.mkdir(parents=True)
    for phase, correct in points.items():
        (folder / f"heldout_{phase}.jsonl").write_text("".join(json.dumps({"accuracy": c}) + "\n" for c in correct))


def test_a_run_that_peaks_and_falls_delivers_its_peak(tmp_path: Path) -> None:
    """Step 5 answers all 20 problems, the end none: the final weights lose 0.5, the chosen checkpoint (step 5 on
    every split) gains 0.5; a run that only rises chooses its end, and the pair says so."""
    bench = load_bench("selection_replay")
    half = [1, 0] * 10
    write_points(tmp_path / "a" / "seed1", {"before": half, "step5": [1] * 20, "after": [0] * 20})
    write_points(tmp_path / "b" / "seed1", {"before": half, "step5": half, "after": [1] * 20})
    write_points(tmp_path / "b" / "seed2-long", {"before": half, "step5": half, "step10": [1] * 20, "after": [0] * 20})
    out = tmp_path / "r.json"
    assert bench.main(["--work", str(tmp_path), "--arms", "a,b", "--seeds", "1,2", "--validation_n", "8",
                       "--splits", "300", "--json", str(out)]) == 0
    s = json.loads(out.read_text())["summary"]
    a, b = s["arms"]["a"], s["arms"]["b"]
    assert a["seeds"] == [1] and b["seeds"] == [1, 2]  # seed 2 of b from its longer run, up to step 10
    assert a["mean_gain_final"] == pytest.approx(-0.5, abs=0.03) and a["mean_gain_selected"] == pytest.approx(0.5, abs=0.03)
    assert a["per_seed"]["1"]["chosen_point_counts"] == [0, 300, 0]
    assert a["expected_below_start_final"] > 0.95 and a["expected_below_start_selected"] == 0.0
    assert b["per_seed"]["2"]["selected"] == pytest.approx(0.5, abs=0.03)
    assert s["paired_selected"]["seeds"] == [1] and s["paired_selected"]["mean_b_minus_a"] == pytest.approx(0.0, abs=0.03)


def test_validation_n_must_leave_problems_to_score(tmp_path: Path) -> None:
    bench = load_bench("selection_replay")
    write_points(tmp_path / "a" / "seed1", {"before": [1, 0], "after": [1, 1]})
    with pytest.raises(SystemExit, match="between 1 and 1"):
        bench.main(["--work", str(tmp_path), "--arms", "a", "--seeds", "1", "--steps", "10", "--validation_n", "2"])
