"""A new user's first run, end to end on the tiny model (transformers sampler, a few seconds per run).

The tiny random model never writes the tags, so every group scores 0: the dry run and the first training
steps must say there is no learning signal. A rule it earns half the time must not trigger that line.
Around it: metrics.jsonl one line per step, the training config beside every checkpoint, the model card
naming the base model, resume naming its checkpoint without a tied-weights warning, and ``r1lite eval`` on
the checkpoint prompting it with the template it was trained with.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r1lite.train.command import main

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "arithmetic.yaml"


def args(model: str, out: Path, *extra: str) -> list[str]:
    return ["--model", model, "--output_dir", str(out), "--preset", "cpu", "--sampler", "transformers",
            "--per_device_train_batch_size", "8", "--gradient_accumulation_steps", "1", "--num_generations", "4",
            "--max_completion_length", "8",
            "--heldout_n", "2", "--heldout_batch_size", "2", "--learning_rate", "1e-3", "--save_steps", "2",
            "--table_every", "0", "--max-steps", "3", *extra]


def read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]



def test_dry_run_without_signal_says_so(tiny_model_dir: str, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    assert main(args(tiny_model_dir, tmp_path / "dry", "--dry-run", "--validation_n", "2", "--validation_every", "2"),
                default_config=RECIPE) == 0
    out, err = capfd.readouterr()
    text = " ".join((out + err).split())  # rich may wrap the console lines
    assert "informative groups: 0 of 2 (0.00)" in text
    assert "estimated time: ~" in text and "s/step" in text and "per held-out pass (2 problems" in text
    # validation passes are part of the run's time
    assert "of validation passes" in text and "held-out passes + validation: ~" in text
    line = next(x for x in err.splitlines() if "NO LEARNING SIGNAL" in x)  # one line
    assert "all unformatted" in line and "--max_completion_length 16" in line and "--model" in line


def test_dry_run_with_signal_stays_quiet(tiny_model_dir: str, parity_rule: str, tmp_path: Path,
                                         capfd: pytest.CaptureFixture) -> None:
    assert main(args(tiny_model_dir, tmp_path / "dry", "--dry-run", "--rewards", f"{parity_rule}=1.0"),
                default_config=RECIPE) == 0
    out, err = capfd.readouterr()
    assert "informative groups:" in " ".join(out.split()) and "NO LEARNING SIGNAL" not in out + err


def test_training_signal_guard_and_artifacts(tiny_model_dir: str, tmp_path: Path,
                                             capfd: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(args(tiny_model_dir, out), default_config=RECIPE) == 0
    stdout, stderr = capfd.readouterr()
    assert (stdout + stderr).count("NO LEARNING SIGNAL") == 1
    assert "0 of 6 groups in the first 3 steps" in stdout + stderr
    config_line = next(x for x in stderr.splitlines() if x.startswith("r1lite train: config (non-default"))
    assert "max_steps=3" in config_line and "sampler=transformers" in config_line
    # s/step excludes the held-out passes, which show as their own phase
    assert "held-out before: running" in stdout and "held-out after: running" in stdout
    # metrics.jsonl: training steps only; held-out passes in their own file
    assert [r["step"] for r in read(out / "metrics.jsonl")] == [1, 2, 3]
    assert not any(k.startswith("heldout/") or k == "train_runtime" for r in read(out / "metrics.jsonl") for k in r)
    assert [(r["step"], r["phase"]) for r in read(out / "heldout_metrics.jsonl")] == [(0, "before"), (3, "after")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trainer"]["train_runtime"] > 0 and summary["time_split"]["heldout_eval"] >= 0
    # the training config (template copied) travels with final/ and every checkpoint
    for folder in ("final", "checkpoint-2", "checkpoint-3"):
        cfg = read_yaml(out / folder / "r1lite_config.yaml")
        assert cfg["task"] == "arithmetic" and cfg["stop_strings"] == "</answer>"
        assert cfg["template"] == "r1lite_template.txt" and cfg["template_source"].endswith("arithmetic_oneshot.txt")
        assert (out / folder / "r1lite_template.txt").read_text() == Path(cfg["template_source"]).read_text()
    card = (out / "final" / "README.md").read_text()
    assert "[None]" not in card and 'model="None"' not in card
    assert f"fine-tuned version of `{Path(tiny_model_dir).resolve()}` (a local model)" in card

    # resume: says which checkpoint; no "missing keys ['lm_head.weight']" for the tied embeddings
    assert main(args(tiny_model_dir, out, "--resume", "--max-steps", "4"), default_config=RECIPE) == 0
    stdout, stderr = capfd.readouterr()
    assert f"--resume: continuing from {out / 'checkpoint-3'} (step 3 of 4)" in stderr
    assert "missing keys" not in stdout + stderr
    assert [r["step"] for r in read(out / "metrics.jsonl")] == [1, 2, 3, 4]
    assert [(r["step"], r["phase"]) for r in read(out / "heldout_metrics.jsonl")] == [(0, "before"), (4, "after")]

    # r1lite eval on the checkpoint prompts it with its training template (an explicit --template wins)
    from r1lite.eval.evaluate import main as eval_main

    fast = ["--benchmarks", "arithmetic", "--limit", "2", "--n", "1", "--temperature", "0", "--max-tokens", "4",
            "--backend", "transformers", "--device", "cpu", "--no-progress", "--bootstrap", "50"]
    assert eval_main(["--model", str(out / "final"), "--output-dir", str(tmp_path / "ev"), *fast]) == 0
    stdout, stderr = capfd.readouterr()
    assert "using the template" in stderr and "r1lite_template.txt" in stderr
    oneshot = (out / "final" / "r1lite_template.txt").read_text().split("{question}")[0]
    assert all(r["prompt"].startswith(oneshot) for r in read(tmp_path / "ev" / "samples.jsonl"))
    results = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert results["label"] == "run/final"
    assert eval_main(["--model", str(out / "final"), "--output-dir", str(tmp_path / "ev2"), "--template", "r1zero",
                      *fast]) == 0
    assert "using the template" not in capfd.readouterr().err
    assert all(r["prompt"].startswith("A conversation") for r in read(tmp_path / "ev2" / "samples.jsonl"))


def test_training_with_signal_stays_quiet(tiny_model_dir: str, parity_rule: str, tmp_path: Path,
                                          capfd: pytest.CaptureFixture) -> None:
    assert main(args(tiny_model_dir, tmp_path / "p", "--rewards", f"{parity_rule}=1.0", "--heldout_n", "0"),
                default_config=RECIPE) == 0
    stdout, stderr = capfd.readouterr()
    assert "step 3/3" in stdout and "NO LEARNING SIGNAL" not in stdout + stderr


def read_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())
