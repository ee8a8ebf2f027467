"""math-verify's own public test cases (tests/data/mathverify_cases.jsonl, ported by
tests/scripts/port_mathverify_tests.py) as a regression gate: ``accuracy``'s grader agrees with every expected
verdict except the deliberate differences listed, with their reasons, in tests/data/grader_deliberate_differences.jsonl."""

from __future__ import annotations

import json

import pytest
from grader_cases import SUITES, deliberate_differences, difference_records, load_grader_suite

SUITE = SUITES["mathverify"]


@pytest.fixture(scope="module")
def bench():
    return load_grader_suite()


@pytest.fixture(scope="module")
def cases(bench):
    return bench.load_suite(SUITE)


def test_the_port_cites_its_source_and_holds_both_verdicts(cases) -> None:
    header = json.loads(SUITE.read_text(encoding="utf-8").splitlines()[0])
    assert "huggingface/Math-Verify" in header["_comment"] and header["cases"] == len(cases) >= 200
    assert sum(header["skipped"].values()) > 0  # what was left out is counted
    assert all(c.source.startswith("tests/test_") and "::test_" in c.source for c in cases)
    assert {c.verdict for c in cases} == {True, False}


def test_every_deliberate_difference_has_a_reason_and_a_case(bench) -> None:
    for rec in difference_records():
        assert rec["suite"] in {*SUITES, "bench_rewards"} and len(rec["reason"].split()) >= 5, rec
        path = SUITES.get(rec["suite"])
        if path is not None and path.is_file():  # a listed pair must exist: no stale exceptions
            pairs = {(c.prediction, c.gold) for c in bench.load_suite(path)}
            assert (rec["prediction"], rec["gold"]) in pairs, rec


def test_accuracy_agrees_with_math_verifys_expected_verdicts(bench, cases) -> None:
    verdicts = bench.r1lite_verdicts(cases, timeout=20.0)  # a loaded test machine must not turn into misses
    rows = bench.disagreements(cases, [v.reward for v in verdicts], [v.reason for v in verdicts])
    allowed = deliberate_differences("mathverify")
    unexpected = [r for r in rows if (r["prediction"], r["gold"]) not in allowed]
    report = "\n".join(bench.format_disagreement(r) for r in unexpected)
    assert not unexpected, f"{len(unexpected)} disagreements outside the deliberate differences:\n{report}"
    agreement = 1 - len(rows) / len(cases)
    assert agreement >= 0.98, f"agreement {agreement:.1%} < 98% ({len(rows)} deliberate differences)"
