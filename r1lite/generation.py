"""Sampling completions for evaluation: a batched transformers backend (CPU or GPU) and vLLM.

Both backends return ``list[list[Completion]]`` (``n`` completions per prompt, in prompt order)
so everything downstream (grading, metrics, ``samples.jsonl``) is backend-agnostic.

The transformers path is what makes CPU evaluation bearable: prompts are sorted by token
length so a batch wastes little left padding, decoding uses the KV cache, and each row stops
on EOS or a stop string (``</answer>``) and drops out of the batch (and its cache) while the rest
carry on, so one long completion does not make the others pay for its length. Use
:func:`generate` directly from other code (the trainer's held-out evaluation does).
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_STOP: tuple[str, ...] = ("</answer>",)
FINISH_REASONS = ("stop", "eos", "length")


@dataclass(frozen=True)
class Completion:
    """One sampled continuation. ``finish_reason``: ``stop`` (a stop string, kept in ``text``),
    ``eos`` (end-of-sequence token, not in ``text``) or ``length`` (hit ``max_new_tokens``)."""

    text: str
    num_tokens: int
    finish_reason: str

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BackendError(RuntimeError):
    """A generation backend that cannot run here; the message says what is missing and what to do."""


def check_sampling(n: int, temperature: float, top_p: float, max_new_tokens: int) -> None:
    """Reject sampling settings that would give meaningless numbers, before any model loads."""
    if n < 1:
        raise ValueError(f"n must be >= 1 samples per problem, got {n}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if temperature == 0 and n > 1:
        raise ValueError(f"temperature 0 is greedy decoding: all {n} samples would be identical; "
                         "use --n 1 for greedy accuracy or a temperature > 0 for mean@n/pass@k")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if max_new_tokens < 1:
        raise ValueError(f"max new tokens must be >= 1, got {max_new_tokens}")


def wants_special_tokens(text: str, tokenizer: Any) -> bool:
    """Add the tokenizer's special tokens (BOS) unless the text already starts with them (chat templates do)."""
    bos = getattr(tokenizer, "bos_token", None)
    return not (bos and text.startswith(bos))


def finish_completion(ids: Sequence[int], tokenizer: Any, eos_ids: set[int], stop: Sequence[str]) -> Completion:
    """Cut one row of generated ids at the first EOS or stop string and label why it ended.

    Shared by both decoding paths so the naive benchmark baseline and the batched path produce
    byte-identical texts for identical token ids.
    """
    ids = list(ids)
    finish = "length"
    for i, tok in enumerate(ids):
        if tok in eos_ids:
            ids, finish = ids[:i], "eos"
            break
    text = tokenizer.decode(ids, skip_special_tokens=True)
    cut = _first_stop(text, stop)
    if cut is not None:
        end, stop_at = cut
        text = text[:end]
        return Completion(text, _tokens_to_stop(ids, tokenizer, stop), "stop")
    return Completion(text, len(ids) + (finish == "eos"), finish)


def _tokens_to_stop(ids: list[int], tokenizer: Any, stop: Sequence[str]) -> int:
    """Tokens up to and including the one that completed a stop string (binary search: log(L) decodes)."""
    lo, hi = 1, len(ids)  # the full prefix contains a stop string
    while lo < hi:
        mid = (lo + hi) // 2
        if _first_stop(tokenizer.decode(ids[:mid], skip_special_tokens=True), stop) is not None:
            hi = mid
        else:
            lo = mid + 1
    return hi


def _first_stop(text: str, stop: Sequence[str]) -> tuple[int, str] | None:
    """(end index of the earliest stop string in ``text``, that string), or None."""
    best: tuple[int, str] | None = None
    for s in stop:
        i = text.find(s)
        if i >= 0 and (best is None or i + len(s) < best[0]):
            best = (i + len(s), s)
    return best


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every id that ends a sequence: the model's generation config (may be a list) and the tokenizer's."""
    ids: set[int] = set()
    cfg = getattr(model, "generation_config", None)
    eos = getattr(cfg, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif eos is not None:
        ids.update(int(e) for e in eos)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


class StopOnStrings:
    """Per-row stopping criterion: True once a row's *generated* text contains a stop string.

    Only the newly generated part is decoded (the R1-Zero prompt itself mentions ``</answer>``),
    and only its tail, so the check costs a few short decodes per step.
    """

    def __init__(self, tokenizer: Any, stop: Sequence[str], prompt_len: int) -> None:
        import torch

        self.tokenizer = tokenizer
        self.stop = tuple(s for s in stop if s)
        self.prompt_len = prompt_len
        self.window = max((len(s) for s in self.stop), default=0) + 2  # every token is >= 1 character
        self.done: torch.Tensor | None = None

    def __call__(self, input_ids: Any, scores: Any = None, **kwargs: Any) -> Any:
        import torch

        if self.done is None:
            self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if not self.stop:
            return self.done.clone()
        gen = input_ids[:, self.prompt_len:]
        tails = gen[:, -self.window:].tolist()
        for row, tail in enumerate(tails):
            if not self.done[row]:
                text = self.tokenizer.decode(tail, skip_special_tokens=True)
                if any(s in text for s in self.stop):
                    self.done[row] = True
        return self.done.clone()


def _progress(enabled: bool, total: int, description: str) -> Any:
    from r1lite.progress import progress_bar

    progress = progress_bar("{task.description}", "rate", disable=not enabled, transient=False)
    task = progress.add_task(description, total=total, rate="")
    return progress, task


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    n: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    max_new_tokens: int = 256,
    seed: int = 0,
    stop: Sequence[str] = DEFAULT_STOP,
    batch_size: int = 16,
    progress: bool = True,
    on_prompt_done: Callable[[int, list[Completion]], None] | None = None,
    description: str = "generating",
) -> list[list[Completion]]:
    """``n`` completions for each of ``prompts`` (exact texts) with a transformers causal LM.

    Rows (prompt, sample) are sorted by prompt length (longest first) and decoded in batches of
    ``batch_size`` with left padding and the KV cache; a row stops at EOS or a ``stop`` string
    (kept in the text) and leaves the batch at once. Greedy when ``temperature == 0``. Each row
    samples from its own generator seeded by (``seed``, prompt, sample index), so a sample does
    not depend on batch size, prompt order or resuming (up to float noise from batch shapes);
    sampling follows HF's temperature + top-p warpers (no top-k). ``on_prompt_done(i,
    completions)`` fires as soon as all ``n`` samples of prompt ``i`` exist (for incremental
    saving). Returns completions in prompt order.
    """
    import torch

    check_sampling(n, temperature, top_p, max_new_tokens)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if tokenizer.pad_token_id is None:
        raise ValueError("tokenizer has no pad token: load it with r1lite.models.load_tokenizer (sets one)")
    if getattr(tokenizer, "padding_side", "left") != "left":
        raise ValueError("batched generation needs left padding: set tokenizer.padding_side = 'left'")
    prompts = list(prompts)
    lengths = [len(tokenizer(p, add_special_tokens=wants_special_tokens(p, tokenizer)).input_ids) for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    rows = [(i, j) for i in order for j in range(n)]
    results: list[list[Completion | None]] = [[None] * n for _ in prompts]
    remaining = [n] * len(prompts)
    eos_ids = eos_token_ids(model, tokenizer)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    bar, task = _progress(progress, len(rows), description)
    started, tokens = time.perf_counter(), 0
    try:
        with bar, torch.inference_mode():
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                texts = [prompts[i] for i, _ in batch]
                seeds = [row_seed(seed, prompts[i], j) for i, j in batch]
                done = _decode_batch(model, tokenizer, texts, seeds, temperature, top_p, max_new_tokens, stop,
                                     eos_ids, device)
                for (i, j), completion in zip(batch, done, strict=True):
                    results[i][j] = completion
                    tokens += completion.num_tokens
                    remaining[i] -= 1
                    if remaining[i] == 0 and on_prompt_done is not None:
                        on_prompt_done(i, list(results[i]))  # type: ignore[arg-type]
                elapsed = time.perf_counter() - started
                bar.update(task, advance=len(batch), rate=f"{tokens / max(elapsed, 1e-9):.0f} tok/s")
    finally:
        model.train(was_training)
    return [list(r) for r in results]  # type: ignore[misc]


def row_seed(seed: int, prompt: str, sample: int) -> int:
    """Seed of one (prompt, sample) row: its samples do not depend on batching, order or resuming."""
    digest = hashlib.sha256(f"{seed}\0{sample}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _next_tokens(logits: Any, temperature: float, top_p: float, generators: list[Any]) -> Any:
    """Greedy argmax, or temperature + nucleus sampling with one generator per row (as HF's warpers do)."""
    import torch

    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # drop a token once the mass before it already reaches top_p (the top token always stays)
        drop = (sorted_p.cumsum(dim=-1) - sorted_p) >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_p)
    return torch.cat([torch.multinomial(probs[r], 1, generator=g) for r, g in enumerate(generators)])


def _cache_kwarg(model: Any) -> str:
    """transformers 5 renamed ``past_key_values`` to ``cache``; older and remote-code models keep the old name."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _output_cache(out: Any) -> Any:
    cache = out.get("cache") if hasattr(out, "get") else None
    return cache if cache is not None else out.past_key_values


MIN_SHARED_PREFIX = 16  # tokens; below this, computing a shared prefix once is not worth a separate call


def _prefill(model: Any, tokenizer: Any, texts: list[str], device: Any) -> tuple[Any, Any, Any, Any]:
    """Run the prompts through the model once: ``(cache, last logits, attention mask, next positions)`` per row.

    Work is shared where it is identical: each distinct prompt is computed once (the ``n``
    samples of a problem reuse it), and a token prefix common to all prompts in the batch (the
    template's instructions or system prompt) is computed once and its cache copied to every
    row. The layout per row is ``[shared prefix][left padding][rest of prompt]``; the attention
    mask hides the padding and positions count only real tokens, so each row sees exactly its
    own prompt.
    """
    import torch

    special = wants_special_tokens(texts[0], tokenizer)
    unique = list(dict.fromkeys(texts))
    row_of = [unique.index(t) for t in texts] if len(unique) < len(texts) else None
    ids = tokenizer(unique, add_special_tokens=special).input_ids
    shared = _common_prefix(ids)
    shared = min(shared, min(len(x) for x in ids) - 1)  # every prompt keeps >= 1 token for its own logits
    if shared < MIN_SHARED_PREFIX or len(unique) == 1:
        shared = 0
    cache = None
    cache_kw = _cache_kwarg(model)
    if shared:
        out = model(input_ids=torch.tensor([ids[0][:shared]], device=device), use_cache=True)
        cache = _output_cache(out)
        cache.batch_select_indices(torch.zeros(len(unique), dtype=torch.long, device=device))
    width = max(len(x) - shared for x in ids)
    pad = tokenizer.pad_token_id
    suffix = torch.tensor([[pad] * (width - len(x) + shared) + x[shared:] for x in ids], device=device)
    suffix_mask = torch.tensor([[0] * (width - len(x) + shared) + [1] * (len(x) - shared) for x in ids],
                               device=device)
    mask = torch.cat([suffix_mask.new_ones(len(ids), shared), suffix_mask], dim=1)
    positions = shared + (suffix_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=suffix, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1,
                **{cache_kw: cache})
    cache, logits, next_pos = _output_cache(out), out.logits[:, -1, :], positions[:, -1] + 1
    if row_of is not None:  # fan the distinct prompts out to their sample rows
        index = torch.tensor(row_of, device=device)
        cache.batch_select_indices(index)
        logits, mask, next_pos = logits[index], mask[index], next_pos[index]
    return cache, logits, mask, next_pos


def _common_prefix(seqs: list[list[int]]) -> int:
    first = seqs[0]
    n = min(len(x) for x in seqs)
    for k in range(n):
        if any(x[k] != first[k] for x in seqs):
            return k
    return n


def _decode_batch(
    model: Any, tokenizer: Any, texts: list[str], seeds: list[int], temperature: float, top_p: float,
    max_new_tokens: int, stop: Sequence[str], eos_ids: set[int], device: Any,
) -> list[Completion]:
    """Decode one batch with the KV cache (see :func:`_prefill`), dropping each row as it finishes.

    ``model.generate`` keeps computing finished rows until the longest one ends; here a row
    leaves the batch (and the cache) at its EOS or stop string, so uneven lengths cost nothing.
    Greedy steps are the same argmax ``generate`` takes; sampling uses one seeded generator per row.
    """
    import torch

    cache, logits, mask, next_pos = _prefill(model, tokenizer, texts, device)
    cache_kw = _cache_kwarg(model)
    generators = [torch.Generator(device=device).manual_seed(s) for s in seeds] if temperature > 0 else []
    active = list(range(len(texts)))
    generated: list[list[int]] = [[] for _ in texts]
    window = max((len(s) for s in stop if s), default=0) + 2
    eos = torch.tensor(sorted(eos_ids), device=device)
    for step in range(max_new_tokens):
        tokens = _next_tokens(logits, temperature, top_p, generators)
        finished = torch.isin(tokens, eos).tolist()
        for k, (row, tok) in enumerate(zip(active, tokens.tolist(), strict=True)):
            generated[row].append(tok)
            if not finished[k] and stop:
                tail = tokenizer.decode(generated[row][-window:], skip_special_tokens=True)
                finished[k] = any(s in tail for s in stop if s)
        if step == max_new_tokens - 1 or all(finished):
            break
        if any(finished):
            keep = [k for k, f in enumerate(finished) if not f]
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, tokens, next_pos = mask[index], tokens[index], next_pos[index]
            active = [active[k] for k in keep]
            generators = [generators[k] for k in keep] if generators else []
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
        out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=next_pos[:, None],
                    use_cache=True, **{cache_kw: cache})
        cache, logits = _output_cache(out), out.logits[:, -1, :]
        next_pos = next_pos + 1
    return [finish_completion(ids, tokenizer, eos_ids, stop) for ids in generated]


# ----------------------------------------------------------------------------------------------
# Backends: one object per loaded model, same call signature, same result schema
# ----------------------------------------------------------------------------------------------


class TransformersBackend:
    """transformers ``generate`` on CPU (default) or a GPU, batched (see :func:`generate`)."""

    name = "transformers"

    def __init__(self, model_spec: str, device: str | None = None, batch_size: int = 16, dtype: Any = None) -> None:
        import torch

        from r1lite.models import load_model, load_tokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(f"--device {self.device} asked for CUDA, but torch sees no GPU; use --device cpu")
        self.tokenizer = load_tokenizer(model_spec)
        self.model = load_model(model_spec, dtype=dtype, device=self.device)
        self.batch_size = batch_size

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Sequence[str] = DEFAULT_STOP, progress: bool = True,
                 on_prompt_done: Callable[[int, list[Completion]], None] | None = None,
                 description: str = "generating") -> list[list[Completion]]:
        return generate(self.model, self.tokenizer, prompts, n=n, temperature=temperature, top_p=top_p,
                        max_new_tokens=max_new_tokens, seed=seed, stop=stop, batch_size=self.batch_size,
                        progress=progress, on_prompt_done=on_prompt_done, description=description)


def vllm_unavailable_reason() -> str | None:
    """Why the vLLM backend cannot run here (None when it can)."""
    if importlib.util.find_spec("vllm") is None:
        return "vLLM is not installed (pip install 'r1lite[vllm]' on a CUDA machine)"
    import torch

    if not torch.cuda.is_available():
        return "vLLM needs a CUDA GPU, but torch sees none (use --backend transformers on CPU)"
    return None


class VLLMBackend:
    """vLLM on a GPU: one batched, seeded call for all prompts and samples."""

    name = "vllm"

    def __init__(self, model_spec: str, gpu_memory_utilization: float = 0.85, max_model_len: int | None = None) -> None:
        reason = vllm_unavailable_reason()
        if reason:
            raise BackendError(reason)
        from vllm import LLM

        from r1lite.models import load_tokenizer, resolve_model

        self.tokenizer = load_tokenizer(model_spec)
        self.device = "cuda"
        kwargs: dict[str, Any] = {"gpu_memory_utilization": gpu_memory_utilization}
        if max_model_len:
            kwargs["max_model_len"] = max_model_len
        self.llm = LLM(model=resolve_model(model_spec), **kwargs)

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Sequence[str] = DEFAULT_STOP, progress: bool = True,
                 on_prompt_done: Callable[[int, list[Completion]], None] | None = None,
                 description: str = "generating") -> list[list[Completion]]:
        from vllm import SamplingParams

        check_sampling(n, temperature, top_p, max_new_tokens)
        params = SamplingParams(n=n, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                                max_tokens=max_new_tokens, seed=seed, stop=list(stop),
                                include_stop_str_in_output=True)
        # Tokenize here, exactly as the transformers path does, so both see the same ids.
        inputs = [{"prompt_token_ids": self.tokenizer(p, add_special_tokens=wants_special_tokens(p, self.tokenizer))
                   .input_ids} for p in prompts]
        outputs = self.llm.generate(inputs, params, use_tqdm=progress)
        results = []
        for i, out in enumerate(outputs):
            row = [_vllm_completion(o) for o in out.outputs]
            results.append(row)
            if on_prompt_done is not None:
                on_prompt_done(i, row)
        return results


def _vllm_completion(o: Any) -> Completion:
    if o.finish_reason == "length":
        finish = "length"
    elif isinstance(o.stop_reason, str):
        finish = "stop"
    else:
        finish = "eos"
    return Completion(o.text, len(o.token_ids), finish)


BACKENDS = ("auto", "transformers", "vllm")


def make_backend(name: str, model_spec: str, device: str | None = None, batch_size: int = 16) -> Any:
    """The backend called ``name`` for ``model_spec``; ``auto`` picks vLLM when it can run, else transformers."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
    if name == "auto":
        name = "vllm" if vllm_unavailable_reason() is None and device in (None, "cuda") else "transformers"
    if name == "vllm":
        return VLLMBackend(model_spec)
    return TransformersBackend(model_spec, device=device, batch_size=batch_size)
