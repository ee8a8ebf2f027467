"""End-to-end training on the tiny model: finite loss, weights change, metrics/summary/checkpoints written."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from r1lite.train.command import main


def tiny_args(model: str, out: Path, *extra: str) -> list[str]:
    return ["--model", model, "--output_dir", str(out), "--preset", "cpu", "--per_device_train_batch_size", "8",
            "--gradient_accumulation_steps", "1",
            "--num_generations", "4", "--max_completion_length", "12", "--heldout_n", "6",
            "--heldout_batch_size", "6", "--learning_rate", "1e-3", "--save_steps", "2", "--table_every", "2",
            *extra]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_arithmetic_recipe_end_to_end(tiny_model_dir: str, parity_rule: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    rc = main(tiny_args(tiny_model_dir, out, "--max-steps", "3", "--rewards", f"{parity_rule}=1.0,format=0.2"),
              default_config=Path("recipes/arithmetic.yaml"))
    assert rc == 0
    train_lines = [r for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in train_lines] == [1, 2, 3]
    for r in train_lines:
        assert math.isfinite(r["loss"]) and math.isfinite(r["grad_norm"])
        assert "rewards/length_parity/mean" in r and "dynamic_sampling/zero_variance_frac" in r
        assert r["time/generation"] > 0 and r["time/update"] > 0
    # the weights moved
    before = load_file(str(Path(tiny_model_dir) / "model.safetensors"))
    after = load_file(str(out / "final" / "model.safetensors"))
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    summary = json.loads((out / "summary.json").read_text())
    for when in ("before", "after"):
        assert summary[when]["n"] == 6
        assert 0.0 <= summary[when]["accuracy"] <= 1.0 and 0.0 <= summary[when]["format_rate"] <= 1.0
    assert summary["after"]["step"] == 3
    assert (out / "checkpoint-2" / "model.safetensors").is_file() and (out / "checkpoint-3").is_dir()
    assert not (out / ".staging").exists()
    assert (out / "curves.png").stat().st_size > 1000
    samples = read_jsonl(out / "samples.jsonl")
    assert {s["step"] for s in samples} == {1, 2, 3} and "length_parity" in samples[0]["rewards"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU preset's training path is not "
                    "exercised here")
@pytest.mark.parametrize("algo", ["grpo", "ppo"])
def test_gpu_preset_trains_on_cuda(tiny_model_dir: str, parity_rule: str, tmp_path: Path, algo: str) -> None:
    """The GPU preset's path (bf16, gradient checkpointing, CUDA) without vLLM; vLLM has its own skip."""
    out = tmp_path / algo
    args = ["--model", tiny_model_dir, "--output_dir", str(out), "--preset", "gpu", "--use_vllm", "false",
            "--algo", algo, "--num_generations", "4" if algo == "grpo" else "1", "--per_device_train_batch_size", "8",
            "--max_completion_length", "12", "--heldout_n", "6", "--max-steps", "2", "--save_steps", "2",
            "--rewards", f"{parity_rule}=1.0,format=0.2"]
    assert main(args, default_config=Path("recipes/arithmetic.yaml")) == 0
    train_lines = [r for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in train_lines] == [1, 2] and all(math.isfinite(r["loss"]) for r in train_lines)
    cfg = (out / "config.yaml").read_text()
    assert "\nbf16: true" in cfg and "\ngradient_checkpointing: true" in cfg and "\nuse_cpu: false" in cfg
    assert (out / "final" / "model.safetensors").is_file()
