"""The critic under the FSDP and DeepSpeed ZeRO configs of ``recipes/accelerate/`` (CUDA only).

accelerate runs FSDP and DeepSpeed only on accelerators (on CPU it refuses FSDP's ``sync_module_states`` and
reports one process under DeepSpeed), so these run where CUDA is; the DDP critic has its CPU test in
``test_critic_multiprocess.py``. One process per GPU, at most two: on a one-GPU machine the wrappers still
flatten, gather and step the critic exactly as they do with more (the shard is the whole model).

What they check: the critic is wrapped by the config's engine (not left a plain module beside a sharded policy),
its two updates equal an unsharded critic's on the same rows (same optimizer maths, gradient clipping included),
``Critic.save`` writes gathered weights that load back, and two PPO steps through r1lite's trainer run under
each config with its own precision (bf16).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_critic_multiprocess import RULE, SCRIPT, free_port

REPO = Path(__file__).resolve().parents[1]
WRAPPER = {"fsdp": "FullyShardedDataParallel", "zero2": "DeepSpeedEngine", "zero3": "DeepSpeedEngine"}

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: accelerate runs FSDP and DeepSpeed "
                       "only on GPUs (the critic's DDP path is tested on CPU in test_critic_multiprocess.py)"),
]


def processes() -> int:
    return max(1, min(torch.cuda.device_count(), 2))


def needs_deepspeed(config: str) -> None:
    if config.startswith("zero") and importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed: pip install -e '.[deepspeed]'")


def launch(config: str, mixed_precision: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           str(REPO / "recipes" / "accelerate" / f"{config}.yaml"), "--num_processes", str(processes()),
           "--mixed_precision", mixed_precision, "--main_process_port", str(free_port()), str(SCRIPT), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-6000:])
    return proc


@pytest.mark.parametrize("config", ["fsdp", "zero2", "zero3"])
def test_sharded_critic_steps_like_an_unsharded_one(config: str, tiny_model_dir: str, tmp_path: Path) -> None:
    needs_deepspeed(config)
    from r1lite.algos.critic import ValueModel

    sharded, plain = tmp_path / "sharded", tmp_path / "plain"
    sharded.mkdir()
    plain.mkdir()
    launch(config, "no", "critic", tiny_model_dir, str(sharded))
    world = processes()
    info = json.loads((sharded / f"critic_rank0_of{world}.json").read_text())
    assert info["wrapper"] == WRAPPER[config], info
    assert info["distributed"] == ("FSDP" if config == "fsdp" else "DEEPSPEED")

    # the same seed, rows and updates without a launcher: a plain module on the same GPU
    proc = subprocess.run([sys.executable, str(SCRIPT), "critic", tiny_model_dir, str(plain)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours, ref = torch.load(sharded / f"critic_rank0_of{world}.pt"), torch.load(plain / "critic_rank0_of1.pt")
    start = ValueModel.from_pretrained(tiny_model_dir).state_dict()
    assert ours.keys() == ref.keys() == start.keys()
    moved = max((ref[k] - start[k]).abs().max().item() for k in ref)
    assert moved > 1e-3  # the updates did something (lr 1e-2, two Adam steps)
    if world == 1:  # several processes see other rows in another order (DDP's test covers the averaging)
        for k in ref:
            # fp32 both; reduction order differs, and Adam turns tiny gradient differences into ~lr-sized
            # ones only where a gradient is ~0: a tolerance well under one step (1e-2) still tells them apart
            torch.testing.assert_close(ours[k], ref[k], rtol=1e-3, atol=2e-4, msg=k)

    # Critic.save: gathered weights that load back, plus this process's optimizer shard
    ckpt = sharded / "critic_ckpt"
    reloaded = ValueModel.from_pretrained(str(ckpt)).state_dict()
    for k in ours:
        torch.testing.assert_close(reloaded[k].float(), ours[k], rtol=1e-6, atol=1e-6, msg=k)
    assert sorted(p.name for p in ckpt.glob("optimizer_rank*.pt")) == [f"optimizer_rank{r}.pt" for r in range(world)]


@pytest.mark.parametrize("config", ["fsdp", "zero2", "zero3"])
def test_ppo_trains_with_a_sharded_critic(config: str, tiny_model_dir: str, tmp_path: Path) -> None:
    needs_deepspeed(config)
    from r1lite.algos.critic import ValueModel

    rule = tmp_path / "parity.py"
    rule.write_text(RULE)
    launch(config, "bf16", "ppo", tiny_model_dir, str(tmp_path), f"{rule}:length_parity")
    info = json.loads((tmp_path / "ppo_rank0.json").read_text())
    assert info == {"wrapper": WRAPPER[config], "updates": 2}
    after = torch.load(tmp_path / "ppo_critic_rank0.pt")
    start = ValueModel.from_pretrained(tiny_model_dir).state_dict()
    assert after.keys() == start.keys() and all(torch.isfinite(v).all() for v in after.values())

    def moved(k: str) -> bool:  # ZeRO under bf16 hands back the bf16 module weights: rounding alone is no step
        return not (torch.equal(after[k], start[k]) or torch.equal(after[k], start[k].bfloat16().float()))

    assert any(moved(k) for k in start if k.startswith("backbone."))
