"""bench/sampler_agreement.py's comparison on fixed per-prompt results (no sampling here): differences are paired
by prompt, their interval comes from the per-prompt spread, and a real difference is reported as one."""

from __future__ import annotations

import math

import pytest
from bench_loader import load_bench


def fake(sampler: str, accuracies: list[float], shift: float = 0.0) -> dict:
    return {"sampler": sampler, "seconds": 1.0,
            "per_prompt": [{"accuracy": a, "format_rate": 0.5, "mean_tokens": 30.0 + shift, "stopped": 1.0}
                           for a in accuracies]}


def test_paired_by_prompt() -> None:
    bench = load_bench("sampler_agreement")
    # prompts differ a lot in difficulty, the samplers little: pairing keeps the interval small
    a = fake("vllm", [0.0, 0.5, 1.0, 0.25])
    b = fake("transformers", [0.05, 0.5, 1.0, 0.3])
    report = bench.compare(a, b, {"prompts": 4, "samples": 4})
    acc = report["differences"]["accuracy"]
    diffs = [0.05, 0.0, 0.0, 0.05]
    mean = sum(diffs) / 4
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 3)
    assert acc["difference"] == pytest.approx(mean) and acc["ci95"] == pytest.approx(1.96 * sd / 2)
    assert report["samplers"]["vllm"]["accuracy"] == pytest.approx(0.4375)
    assert report["summary"]["difference"] == "transformers - vllm"


def test_a_real_difference_is_not_called_noise() -> None:
    bench = load_bench("sampler_agreement")
    report = bench.compare(fake("vllm", [0.2] * 10), fake("transformers", [0.2] * 9 + [0.3], shift=5.0),
                           {"prompts": 10, "samples": 4})
    assert report["differences"]["mean_tokens"]["difference"] == pytest.approx(5.0)
    assert not report["differences"]["mean_tokens"]["within_noise"]
    assert report["summary"]["all_within_noise"] is False
    with pytest.raises(SystemExit):
        bench.parse(["--samplers", "vllm"])


def test_a_metric_without_scores_is_left_out() -> None:
    """No format rule (format_rate None on every prompt): reported as absent, not as a rate of 0."""
    bench = load_bench("sampler_agreement")
    a, b = fake("vllm", [0.2, 0.4]), fake("transformers", [0.3, 0.4])
    for s in (a, b):
        for p in s["per_prompt"]:
            p["format_rate"] = None
    report = bench.compare(a, b, {"prompts": 2, "samples": 4})
    assert "format_rate" not in report["differences"] and "format_rate" not in report["samplers"]["vllm"]
    assert report["differences"]["accuracy"]["difference"] == pytest.approx(0.05)
