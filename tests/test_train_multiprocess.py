"""Two CPU processes (gloo) through `accelerate launch`: groups split across ranks, 2 steps, tiny model.

accelerate's `--cpu` launcher starts a single process unless MPI is set up, so the two processes come from its
torchrun-based launcher (`--multi_gpu --num_processes 2`); with no GPU, r1lite's config sets `use_cpu` and
accelerate runs DistributedType.MULTI_CPU over gloo.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

RULE = "def length_parity(completions, **kwargs):\n    return [float(len(c) % 2 == 0) for c in completions]\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_run(tiny_model_dir: str, tmp_path: Path) -> None:
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    assert accelerate, "accelerate CLI not found next to the Python interpreter"
    rule = tmp_path / "parity.py"
    rule.write_text(RULE)
    out = tmp_path / "ddp"
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
           "-m", "r1lite.recipes.arithmetic", "--preset", "cpu", "--model", tiny_model_dir, "--output_dir", str(out),
           "--max-steps", "2", "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1", "--num_generations", "8",
           "--max_completion_length", "8", "--heldout_n", "4", "--heldout_batch_size", "4", "--save_steps", "1",
           "--learning_rate", "1e-3", "--rewards", f"{rule}:length_parity=1.0,format=0.2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("r1lite train: task arithmetic") == 2  # one line per rank
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in lines if "loss" in r]
    assert [r["step"] for r in train] == [1, 2]
    # each group of 8 is split over both ranks (4 + 4); rewards and advantages are gathered: 8 samples per step
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert sum(s["step"] == 1 for s in samples) == 8
    assert (out / "checkpoint-2" / "model.safetensors").is_file() and (out / "final" / "config.json").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["after"]["step"] == 2
