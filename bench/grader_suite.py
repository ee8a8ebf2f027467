"""Grader suites: r1lite's ``accuracy`` verdicts and math-verify's against labelled equivalences.

    python bench/grader_suite.py [--suite PATH ...] [--json results/grader_suite.json]

Three suites by default, each reported on its own (summary keys ``<suite>_cases``, ``<suite>_agreement``,
``<suite>_false_positives``, ``<suite>_false_negatives`` and ``<suite>_mathverify_*`` of the same):

* ``in_sample``: ``tests/data/equivalence.jsonl``, written alongside the rules (19 families);
* ``mathverify``: ``tests/data/mathverify_cases.jsonl``, math-verify's own public test cases with their
  expected verdicts (ported by ``tests/scripts/port_mathverify_tests.py``);
* ``out_of_sample``: ``tests/data/grader_out_of_sample.jsonl``, real model outputs labelled independently
  of the rules (skipped with a note while that file is absent).

Every case is a (prediction, gold) pair as a model writes it inside its answer tag (or, where ``"extract"``
names a side, a whole solution whose answer is taken as ``accuracy(mode="lenient")`` takes it), labelled
correct or not by mathematical equivalence in context, with the reason and a family. Both graders score every pair:

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
DATA = REPO / "tests" / "data"
DEFAULT_SUITE = DATA / "equivalence.jsonl"
SUITES = {"in_sample": DEFAULT_SUITE, "mathverify": DATA / "mathverify_cases.jsonl",
          "out_of_sample": DATA / "grader_out_of_sample.jsonl"}
FIELDS = ("family", "prediction", "gold", "verdict", "reason")
EXTRACT = ("answer", "prediction", "gold", "both")  # which side is a whole solution (see Case.pair)


@dataclass(frozen=True)
class Case:
    family: str
    prediction: str
    gold: str
    verdict: bool
    reason: str
    line: int
    extract: str = "answer"  # the side(s) that are whole solutions: "prediction", "gold", "both"
    source: str = ""

    def pair(self) -> tuple[str | None, str | None]:
        """The (answer, gold) strings the grader sees: as written, or, for a side that is a whole solution,
        its answer as ``accuracy(mode="lenient")`` takes it."""
        from r1lite.rewards.extract import extract_answer

        pred = extract_answer(self.prediction, "lenient") if self.extract in ("prediction", "both") else self.prediction
        gold = extract_answer(self.gold, "lenient") if self.extract in ("gold", "both") else self.gold
        return pred, gold


def load_suite(path: Path = DEFAULT_SUITE) -> list[Case]:
    """The labelled cases; a malformed line is an error naming the file and line. A line with a
    ``_comment`` key is the file's header (provenance, what was left out) and holds no case."""
    from r1lite.jsonl import read_jsonl

    cases = []
    for lineno, rec in read_jsonl(path):
        if "_comment" in rec:
            continue
        missing = [f for f in FIELDS if f not in rec]
        if missing or not isinstance(rec["verdict"], bool) or not str(rec["reason"]).strip():
            raise ValueError(f"{path} line {lineno}: need {', '.join(FIELDS)} (verdict a bool, a reason), "
                             f"missing {missing or 'a valid verdict/reason'}")
        extract = rec.get("extract", "answer")
        if extract not in EXTRACT:
            raise ValueError(f"{path} line {lineno}: extract must be one of {', '.join(EXTRACT)}, got {extract!r}")
        cases.append(Case(rec["family"], rec["prediction"], rec["gold"], rec["verdict"], rec["reason"], lineno,
                          extract, str(rec.get("source", ""))))
    return cases


def r1lite_verdicts(cases: list[Case], timeout: float | None = None) -> list[Any]:
    """r1lite's :class:`~r1lite.rewards.verify.Verdict` per case (``timeout``: seconds per item)."""
    from r1lite.rewards.verify import DEFAULT_TIMEOUT, verify_batch

    return verify_batch([c.pair() for c in cases], timeout=timeout or DEFAULT_TIMEOUT)


def mathverify_reward(pred: str, gold: str) -> float | None:
    """math-verify alone, in this process: None when the gold does not parse."""
    from math_verify import verify
    from r1lite.rewards.mvcheck import has_expr, parse_answer

    gold_parsed = parse_answer(gold, timeout=5)
    if not has_expr(gold_parsed):
        return None
    return float(verify(gold_parsed, parse_answer(pred, timeout=5), timeout_seconds=5))


def mathverify_rewards(cases: list[Case]) -> list[float | None]:
    """math-verify's reward per case, on the same (answer, gold) strings r1lite grades."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)
    out = []
    for c in cases:
        pred, gold = c.pair()
        try:
            out.append(mathverify_reward(pred or "", gold or ""))
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


def worse_than_mathverify(cases: list[Case], ours: list[float | None], theirs: list[float | None]) -> list[int]:
    """Indices of the cases plain math-verify gets right and r1lite gets wrong."""
    return [i for i, (c, a, b) in enumerate(zip(cases, ours, theirs, strict=True))
            if credit(b) == c.verdict and credit(a) != c.verdict]


def print_table(name: str, ours: dict[str, dict[str, int]], theirs: dict[str, dict[str, int]]) -> None:
    table = Table(title=f"grader suite {name}: {ours['all']['cases']} labelled (prediction, gold) pairs",
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


def run_suite(name: str, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Score one suite with both graders: its summary figures (``<name>_*`` keys) and its details."""
    cases = load_suite(path)
    t0 = time.perf_counter()
    verdicts = r1lite_verdicts(cases)
    ours = [v.reward for v in verdicts]
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = mathverify_rewards(cases)
    theirs_s = time.perf_counter() - t0
    ours_score, theirs_score = score(cases, ours), score(cases, theirs)
    print_table(name, ours_score, theirs_score)
    ours_rows = disagreements(cases, ours, [v.reason for v in verdicts])
    theirs_rows = disagreements(cases, theirs)
    for row in ours_rows:
        print(name, "r1lite", format_disagreement(row))
    worse = worse_than_mathverify(cases, ours, theirs)
    n = len(cases)
    a, b = ours_score["all"], theirs_score["all"]
    summary = {
        f"{name}_cases": n,
        f"{name}_agreement": a["agree"] / n,
        f"{name}_false_positives": a["false_pos"],
        f"{name}_false_negatives": a["false_neg"],
        f"{name}_mathverify_agreement": b["agree"] / n,
        f"{name}_mathverify_false_positives": b["false_pos"],
        f"{name}_mathverify_false_negatives": b["false_neg"],
        f"{name}_worse_than_mathverify": len(worse),
        f"{name}_labelled_correct": sum(c.verdict for c in cases),
        f"{name}_r1lite_seconds": ours_s,
        f"{name}_mathverify_seconds": theirs_s,
    }
    print(f"{name}: r1lite agrees on {a['agree'] / n:.1%} ({a['false_pos']} false positives), math-verify on "
          f"{b['agree'] / n:.1%} ({b['false_pos']} false positives); math-verify right where r1lite is wrong: "
          f"{len(worse)}")
    details = {"path": str(path.relative_to(REPO) if path.is_relative_to(REPO) else path),
               "families": {k: {"r1lite": ours_score[k], "mathverify": theirs_score[k]} for k in ours_score},
               "r1lite_disagreements": ours_rows, "mathverify_disagreements": theirs_rows}
    return summary, details


def parse_suite_arg(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    return (name, Path(path)) if sep else (Path(text).stem, Path(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", action="append", type=parse_suite_arg, metavar="[NAME=]PATH",
                    help="labelled JSONL (family, prediction, gold, verdict, reason); repeatable; default: "
                    + ", ".join(f"{k}={v.relative_to(REPO)}" for k, v in SUITES.items()))
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    suites = args.suite or list(SUITES.items())
    for _name, path in suites:
        if args.suite and not path.is_file():
            print(f"error: suite {path} not found; pass --suite [NAME=]PATH", file=sys.stderr)
            return 2
    summary: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name, path in suites:
        if not path.is_file():
            print(f"note: suite {name} ({path.relative_to(REPO)}) is absent; skipped")
            continue
        summary_one, details[name] = run_suite(name, path)
        summary.update(summary_one)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"summary": summary, "suites": details}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
