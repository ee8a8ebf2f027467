"""Shared by the grader-suite tests: bench/grader_suite.py as a module, and the documented deliberate
differences between ``accuracy`` and a suite's labels or math-verify (tests/data/grader_deliberate_differences.jsonl)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
DIFFERENCES = DATA / "grader_deliberate_differences.jsonl"
SUITES = {"in_sample": DATA / "equivalence.jsonl", "mathverify": DATA / "mathverify_cases.jsonl",
          "out_of_sample": DATA / "grader_out_of_sample.jsonl"}


def load_script(name: str) -> ModuleType:
    """``bench/<name>.py`` as the module ``bench_<name>`` (registered first: its dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_grader_suite() -> ModuleType:
    return load_script("grader_suite")


def difference_records() -> list[dict]:
    return [json.loads(line) for line in DIFFERENCES.read_text(encoding="utf-8").splitlines() if line.strip()]


def deliberate_differences(suite: str | None = None) -> dict[tuple[str, str], str]:
    """``(prediction, gold) -> reason`` for the documented deliberate differences (of one suite, or all)."""
    return {(r["prediction"], r["gold"]): r["reason"] for r in difference_records()
            if suite is None or r["suite"] == suite}
