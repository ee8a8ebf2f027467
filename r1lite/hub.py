"""Is the Hugging Face Hub reachable? One quick check before the first Hub call of a run.

Without a network, ``huggingface_hub`` retries every request with back-off (1+2+4+8+8 s, ~23 s per file,
and a model or dataset load asks for several files) before transformers or datasets give up with a
long traceback. r1lite probes the Hub's host once per process instead (a TCP connect, a few seconds at
most) and, when it cannot be reached, switches this process to the libraries' own offline mode
(what ``HF_HUB_OFFLINE=1`` does): files already in the Hugging Face cache still load, anything else
fails at once and r1lite's message says what to do.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@functools.cache
def offline_reason() -> str | None:
    """Why the Hub cannot be used now (offline mode set, or its host unreachable), or None when it can."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    if any(os.environ.get(v) for v in PROXY_VARS):  # a direct connect says nothing about a proxy: let it decide
        return None
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        return f"cannot reach {host}: {exc.strerror or type(exc).__name__}"
    return None


def offline_if_unreachable() -> str | None:
    """Put huggingface_hub, transformers and datasets in offline mode when the Hub cannot be reached;
    returns the reason (None: online). Cached models and datasets keep loading."""
    reason = offline_reason()
    if reason is None:
        return None
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"  # read by datasets (and vLLM) when they are first imported
    constants.HF_HUB_OFFLINE = True  # read on every request by huggingface_hub, hence transformers
    datasets = sys.modules.get("datasets")
    if datasets is not None:
        datasets.config.HF_HUB_OFFLINE = True
    return reason


def cached_model(repo_id: str) -> bool:
    """Whether ``repo_id``'s config.json is in the local Hugging Face cache (loadable offline)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an id the cache layout cannot hold (bad characters): not cached
        return False
