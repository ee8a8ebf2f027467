"""The critic through accelerate on two CPU processes (gloo): both processes end with identical critic weights,
equal to one process stepping on the whole batch (gradients are averaged, not just broadcast), and a
two-process PPO run through r1lite's trainer keeps its critic replicas identical."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parent / "scripts" / "critic_ddp.py"
RULE = "def length_parity(completions, **kwargs):\n    return [float(len(c) % 2 == 0) for c in completions]\n"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(*args: str) -> None:
    # `python -m accelerate.commands.launch`: this interpreter (a copied venv's bin/accelerate may point at another)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
           str(SCRIPT), *args]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def assert_same(a: dict, b: dict, exact: bool = True) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if exact:
            assert torch.equal(a[k], b[k]), k
        else:
            torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)


@pytest.mark.slow
def test_critic_ddp_matches_one_process_on_the_whole_batch(tiny_model_dir: str, tmp_path: Path) -> None:
    launch("critic", tiny_model_dir, str(tmp_path))
    proc = subprocess.run([sys.executable, str(SCRIPT), "critic", tiny_model_dir, str(tmp_path)], env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0, rank1, single = (torch.load(tmp_path / f"critic_rank{r}_of{w}.pt") for r, w in ((0, 2), (1, 2), (0, 1)))
    assert json.loads((tmp_path / "critic_rank0_of2.json").read_text()) == {
        "wrapper": "DistributedDataParallel", "distributed": "MULTI_CPU"}
    assert_same(rank0, rank1)  # one replica, although each process saw other rows and started from another head
    assert_same(rank0, single, exact=False)  # averaged gradients = one process on all rows (equal token counts)
    from r1lite.algos.critic import ValueModel

    start = ValueModel.from_pretrained(tiny_model_dir).state_dict()
    assert any(not torch.equal(start[k], rank0[k]) for k in start if k.startswith("backbone."))


@pytest.mark.slow
def test_two_process_ppo_keeps_identical_critics(tiny_model_dir: str, tmp_path: Path) -> None:
    rule = tmp_path / "parity.py"
    rule.write_text(RULE)
    launch("ppo", tiny_model_dir, str(tmp_path), f"{rule}:length_parity")
    rank0, rank1 = (torch.load(tmp_path / f"ppo_critic_rank{r}.pt") for r in (0, 1))
    assert_same(rank0, rank1)
    for r in (0, 1):
        info = json.loads((tmp_path / f"ppo_rank{r}.json").read_text())
        assert info == {"wrapper": "DistributedDataParallel", "updates": 2}
    from r1lite.algos.critic import ValueModel

    start = ValueModel.from_pretrained(tiny_model_dir).state_dict()
    assert any(not torch.equal(start[k], rank0[k]) for k in start if k.startswith("backbone."))
