"""Resume continues with the same data order; an interrupted checkpoint save never corrupts the previous one;
dry run loads and scores one batch without training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import TrainerCallback

from r1lite.train.command import build_run, main, make_trainer, parse_config

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "arithmetic.yaml"


def args(model: str, out: Path, *extra: str) -> list[str]:
    return ["--model", model, "--output_dir", str(out), "--preset", "cpu", "--per_device_train_batch_size", "8",
            "--gradient_accumulation_steps", "1",
            "--num_generations", "4", "--max_completion_length", "8", "--heldout_n", "2", "--heldout_batch_size", "2",
            "--learning_rate", "1e-3", "--save_steps", "2", "--table_every", "0", "--max-steps", "4", *extra]


def prompts_by_step(out: Path) -> dict[int, list[str]]:
    steps: dict[int, list[str]] = {}
    for line in (out / "samples.jsonl").read_text().splitlines():
        rec = json.loads(line)
        steps.setdefault(rec["step"], []).append(rec["prompt"])
    return steps


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def test_resume_same_data_order(tiny_model_dir: str, tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    assert main(args(tiny_model_dir, straight), default_config=RECIPE) == 0
    resumed = tmp_path / "resumed"
    cfg, _ = parse_config(args(tiny_model_dir, resumed), RECIPE)
    make_trainer(build_run(cfg), extra_callbacks=[StopAt(2)]).train()  # "interrupted" after step 2
    assert (resumed / "checkpoint-2").is_dir()
    assert main(args(tiny_model_dir, resumed), default_config=RECIPE) == 2  # refuses to overwrite silently
    assert main(args(tiny_model_dir, resumed, "--resume"), default_config=RECIPE) == 0
    a, b = prompts_by_step(straight), prompts_by_step(resumed)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4]
    for step in (3, 4):
        assert a[step] == b[step], f"step {step} saw different prompts after --resume"
    assert a[3] != a[1]
    steps = [json.loads(line)["step"] for line in (resumed / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == [1, 2, 3, 4]  # no duplicated or missing metrics lines across the restart
    summary = json.loads((resumed / "summary.json").read_text())
    assert summary["before"]["step"] == 0 and summary["after"]["step"] == 4


def test_interrupted_save_keeps_previous_checkpoint(tiny_model_dir: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    from r1lite.train.trainer import R1Trainer

    out = tmp_path / "crash"
    original = R1Trainer._save_optimizer_and_scheduler
    calls = {"n": 0}

    def crash_on_second_save(self, output_dir):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed while saving")
        return original(self, output_dir)

    monkeypatch.setattr(R1Trainer, "_save_optimizer_and_scheduler", crash_on_second_save)
    assert main(args(tiny_model_dir, out), default_config=RECIPE) == 130  # Ctrl-C: a message, not a traceback
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"r1lite train: interrupted at step 4, last complete checkpoint {out / 'checkpoint-2'}, continue with --resume")
    monkeypatch.undo()
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2"]
    assert (out / "checkpoint-2" / "optimizer.pt").is_file() and (out / "checkpoint-2" / "trainer_state.json").is_file()
    assert main(args(tiny_model_dir, out, "--resume"), default_config=RECIPE) == 0
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    assert not (out / ".staging").exists()


def test_dry_run_scores_one_batch(tiny_model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "dry"
    assert main(args(tiny_model_dir, out, "--dry-run"), default_config=RECIPE) == 0
    text = capsys.readouterr().out
    assert "dry run" in text and "8 completions (2 prompts x 4)" in text
    assert "accuracy" in text and "format" in text and "zero-variance groups" in text
    assert not list(out.glob("checkpoint-*")) and not (out / "metrics.jsonl").exists()
