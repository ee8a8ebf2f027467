"""The out-of-sample suite (tests/data/grader_out_of_sample.jsonl: real model outputs labelled without reading the
grader) through ``accuracy``'s grader: at least 97% agreement with the labels and no credit for a wrong answer."""

from __future__ import annotations

import pytest
from grader_cases import SUITES, load_grader_suite


def test_out_of_sample_agreement_and_no_false_positive() -> None:
    path = SUITES["out_of_sample"]
    if not path.is_file():
        pytest.skip(f"{path.name} is not in this checkout")
    bench = load_grader_suite()
    cases = bench.load_suite(path)
    verdicts = bench.r1lite_verdicts(cases, timeout=20.0)
    rows = bench.disagreements(cases, [v.reward for v in verdicts], [v.reason for v in verdicts])
    report = "\n".join(bench.format_disagreement(r) for r in rows)
    assert len(cases) >= 300
    assert not [r for r in rows if r["kind"] == "false positive"], f"credit for wrong answers:\n{report}"
    agreement = 1 - len(rows) / len(cases)
    assert agreement >= 0.97, f"agreement {agreement:.1%} < 97%:\n{report}"
