"""One thread policy (``r1lite.train.config.apply_threads``) for training, evaluation and every benchmark."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from r1lite.train.config import apply_threads, default_threads

REPO = Path(__file__).resolve().parent.parent


def test_only_the_policy_sets_torch_threads() -> None:
    """Nothing but ``apply_threads`` calls ``torch.set_num_threads`` (vllm_engine only puts back the number it
    was given after vLLM's worker replaced the function; the tests' own conftest aside)."""
    allowed = {"r1lite/train/config.py", "r1lite/rollout/vllm_engine.py"}
    offenders = [f"{rel}:{i}"
                 for folder in ("r1lite", "rewards", "tasks", "recipes", "bench")
                 for path in sorted((REPO / folder).rglob("*.py"))
                 if (rel := str(path.relative_to(REPO))) not in allowed
                 for i, line in enumerate(path.read_text().splitlines(), 1) if "set_num_threads(" in line]
    assert not offenders, offenders


@pytest.mark.parametrize("script", ["step_time.py", "generation.py", "algos.py"])
def test_benchmarks_default_to_the_policy(script: str) -> None:
    """Each torch benchmark's --threads defaults to None (the policy), never a hard-coded count."""
    text = (REPO / "bench" / script).read_text()
    flag = re.search(r'add_argument\("--threads", type=int, default=(\w+)', text)
    assert flag and flag.group(1) == "None", script
    assert "apply_threads(" in text or "default_threads()" in text


def test_apply_threads_uses_the_policy() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert apply_threads(None) == default_threads() == torch.get_num_threads()
        assert apply_threads(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
