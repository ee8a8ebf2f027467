"""Grader suite: r1lite's ``accuracy`` verdicts and math-verify's against labelled equivalences.

    python bench/grader_suite.py [--suite tests/data/equivalence.jsonl] [--json results/grader_suite.json]

Every case of the suite is a (prediction, gold) pair as a model writes it inside its answer tag,
labelled correct or not by mathematical equivalence in context, with the reason and a family
(separators, e-notation, mixed numbers, percents, units, intervals, sets vs tuples, ...). Both graders
score every pair:

* r1lite: :func:`r1lite.rewards.verify.verify_batch`, the code behind the ``accuracy`` reward;
* math-verify in-process, as TRL and open-r1 call it: ``parse`` of the gold and of the prediction (the
  same ``$...$`` wrapping of bare LaTeX r1lite hands it, so only the grading differs), then
  ``verify(gold, pred)``.

A reward of 1.0 is credit; 0.0 and ``None`` (the gold could not be graded, the item is skipped) are not.
Agreement is the share of cases where credit matches the label; a false positive is credit for a case
labelled wrong (a reward a policy can learn to hack). The table shows both graders per family.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SUITE = REPO / "tests" / "data" / "equivalence.jsonl"
FIELDS = ("family", "prediction", "gold", "verdict", "reason")


@dataclass(frozen=True)
class Case:
    family: str
    prediction: str
    gold: str
    verdict: bool
    reason: str
    line: int


def load_suite(path: Path = DEFAULT_SUITE) -> list[Case]:
    """The labelled cases; a malformed line is an error naming the file and line."""
    from r1lite.jsonl import read_jsonl

    cases = []
    for lineno, rec in read_jsonl(path):
        missing = [f for f in FIELDS if f not in rec]
        if missing or not isinstance(rec["verdict"], bool) or not str(rec["reason"]).strip():
            raise ValueError(f"{path} line {lineno}: need {', '.join(FIELDS)} (verdict a bool, a reason), "
                             f"missing {missing or 'a valid verdict/reason'}")
        cases.append(Case(rec["family"], rec["prediction"], rec["gold"], rec["verdict"], rec["reason"], lineno))
    return cases


def r1lite_verdicts(cases: list[Case], timeout: float | None = None) -> list[Any]:
    """r1lite's :class:`~r1lite.rewards.verify.Verdict` per case (``timeout``: seconds per item)."""
    from r1lite.rewards.verify import DEFAULT_TIMEOUT, verify_batch

    return verify_batch([(c.prediction, c.gold) for c in cases], timeout=timeout or DEFAULT_TIMEOUT)


def mathverify_reward(pred: str, gold: str) -> float | None:
    """math-verify alone, in this process: None when the gold does not parse."""
    from math_verify import verify
    from r1lite.rewards.mvcheck import has_expr, parse_answer

    gold_parsed = parse_answer(gold, timeout=5)
    if not has_expr(gold_parsed):
        return None
    return float(verify(gold_parsed, parse_answer(pred, timeout=5), timeout_seconds=5))


def mathverify_rewards(cases: list[Case]) -> list[float | None]:
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)
    out = []
    for c in cases:
        try:
            out.append(mathverify_reward(c.prediction, c.gold))
        except Exception:  # noqa: BLE001 - math-verify raising is "no credit", as in a reward function
            out.append(0.0)
    return out


def credit(reward: float | None) -> bool:
    return reward == 1.0


def disagreements(cases: list[Case], rewards: list[float | None], why: list[str] | None = None
                  ) -> list[dict[str, Any]]:
    """Cases where credit differs from the label, as readable rows (``why``: the grader's reasons)."""
    rows = []
    for i, (c, r) in enumerate(zip(cases, rewards, strict=True)):
        if credit(r) != c.verdict:
            rows.append({"line": c.line, "family": c.family, "prediction": c.prediction, "gold": c.gold,
                         "label": c.verdict, "reward": r, "kind": "false positive" if credit(r) else "false negative",
                         "reason": c.reason, "grader_said": why[i] if why else ""})
    return rows


def score(cases: list[Case], rewards: list[float | None]) -> dict[str, dict[str, int]]:
    """Per family (and ``all``): cases, agreements, false positives, false negatives."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "agree": 0, "false_pos": 0, "false_neg": 0})
    for c, r in zip(cases, rewards, strict=True):
        for key in (c.family, "all"):
            row = out[key]
            row["cases"] += 1
            row["agree"] += credit(r) == c.verdict
            row["false_pos"] += credit(r) and not c.verdict
            row["false_neg"] += c.verdict and not credit(r)
    return dict(out)


def format_disagreement(row: dict[str, Any]) -> str:
    said = f", grader: {row['grader_said']}" if row.get("grader_said") else ""
    return (f"line {row['line']} [{row['family']}] {row['kind']}: pred {row['prediction']!r} vs gold "
            f"{row['gold']!r} -> reward {row['reward']}{said}; label {row['label']} ({row['reason']})")


def print_table(ours: dict[str, dict[str, int]], theirs: dict[str, dict[str, int]]) -> None:
    table = Table(title=f"grader suite: {ours['all']['cases']} labelled (prediction, gold) pairs",
                  caption="agreement with the labels; FP: credit for a wrong answer, FN: none for a right one")
    for col in ("family", "cases", "r1lite", "math-verify", "FP r1lite", "FP m-v", "FN r1lite", "FN m-v"):
        table.add_column(col, justify="left" if col == "family" else "right", no_wrap=True)
    for fam in [*sorted(k for k in ours if k != "all"), "all"]:
        a, b = ours[fam], theirs[fam]
        n = a["cases"]
        table.add_row(fam, str(n), f"{a['agree'] / n:.1%}", f"{b['agree'] / n:.1%}", str(a["false_pos"]),
                      str(b["false_pos"]), str(a["false_neg"]), str(b["false_neg"]),
                      style="bold" if fam == "all" else None)
    console = Console()
    console.width = max(console.width, 100)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", type=Path, default=DEFAULT_SUITE, help="labelled JSONL (family, prediction, gold, "
                    "verdict, reason)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    if not args.suite.is_file():
        print(f"error: suite {args.suite} not found; pass --suite", file=sys.stderr)
        return 2
    cases = load_suite(args.suite)
    t0 = time.perf_counter()
    verdicts = r1lite_verdicts(cases)
    ours = [v.reward for v in verdicts]
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = mathverify_rewards(cases)
    theirs_s = time.perf_counter() - t0
    ours_score, theirs_score = score(cases, ours), score(cases, theirs)
    print_table(ours_score, theirs_score)
    ours_rows = disagreements(cases, ours, [v.reason for v in verdicts])
    theirs_rows = disagreements(cases, theirs)
    for row in ours_rows:
        print("r1lite", format_disagreement(row))
    n = len(cases)
    summary = {
        "cases": n,
        "r1lite_agreement": ours_score["all"]["agree"] / n,
        "mathverify_agreement": theirs_score["all"]["agree"] / n,
        "false_positives": ours_score["all"]["false_pos"],
        "false_negatives": ours_score["all"]["false_neg"],
        "mathverify_false_positives": theirs_score["all"]["false_pos"],
        "mathverify_false_negatives": theirs_score["all"]["false_neg"],
        "labelled_correct": sum(c.verdict for c in cases),
        "families": len(ours_score) - 1,
        "r1lite_seconds": ours_s,
        "mathverify_seconds": theirs_s,
    }
    print(f"r1lite agrees on {summary['r1lite_agreement']:.1%} ({summary['false_positives']} false positives), "
          f"math-verify on {summary['mathverify_agreement']:.1%} ({summary['mathverify_false_positives']} false "
          "positives)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"summary": summary, "families": {k: {"r1lite": ours_score[k], "mathverify": theirs_score[k]}
                                                    for k in ours_score},
                   "r1lite_disagreements": ours_rows, "mathverify_disagreements": theirs_rows}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
