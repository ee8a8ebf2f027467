"""Port math-verify's public test cases into tests/data/mathverify_cases.jsonl (run by hand, not by CI).

    python tests/scripts/port_mathverify_tests.py --repo /path/to/Math-Verify/.git [--commit HEAD]

Reads every ``@pytest.mark.parametrize`` list of (gold, pred, expected) in math-verify's ``tests/`` at one
commit (with ``git show``, so a bare clone is enough) and writes one JSON line per case that is a plain
answer/gold string pair graded under math-verify's default settings, citing the file, function and line
it came from. What is left out, and why, is counted in the header line the script writes first:

* test files that do not compare a gold with a prediction (``test_string_extraction.py``: multiple-choice
  string extraction; ``test_configs.py``, ``test_timeout.py``, ``test_raise_on_error.py``: parser/verify
  options and mocks) are not read; in ``test_all.py``, ``test_precision`` calls ``sympy_expr_eq`` directly;
* cases whose verdict depends on a non-default setting: ``precision=2`` rows of
  ``test_complex_math_expressions``, ``allow_set_relation_comp=True`` and ``strict=False`` rows, and rows
  whose expected verdict the installed math-verify gives under the test's own extraction config
  (``match_types=["latex"]`` or ``["expr"]``) but not under its default one (``Answer $ \\n 9 \\n $`` is no
  answer only when expressions are not extracted);
* cases whose prediction is a whole free-text solution with no ``\\boxed{}``: they test math-verify's
  extraction heuristics (the last LaTeX or expression anywhere in prose, "final answer is" patterns),
  which r1lite replaces by its own extraction modes (answer tag, last box, last number);
* cases whose gold is a whole solution with no ``\\boxed{}`` (a dataset's answer column is an answer).

A prediction or gold longer than ``LONG`` characters with a ``\\boxed{}`` is a whole solution: ``"extract"``
names it (``prediction``, ``gold`` or ``both``) and the test takes its answer as ``accuracy(mode="lenient")``
does (:func:`r1lite.rewards.extract.extract_answer`), then grades that. Everything else (``"extract":
"answer"``) is graded as written, as the content of an answer tag.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import subprocess
from pathlib import Path

LONG = 200
FILES = ("tests/test_all.py", "tests/test_boxed.py", "tests/test_numina_cases.py", "tests/test_open_thoughts.py",
         "tests/test_yujianll.py", "tests/test_strict.py")
OUT = Path(__file__).resolve().parents[1] / "data" / "mathverify_cases.jsonl"


def git_show(repo: str, commit: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def comment_above(lines: list[str], lineno: int) -> str:
    """The ``# ...`` comment lines right above a case (the upstream reason), joined."""
    out = []
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        out.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    return " ".join(out)


def literal(node: ast.AST) -> object:
    """A case value; the one f-string upstream (``f"{math.sqrt(17):.15f}"``) is evaluated with ``math``."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        return eval(compile(ast.Expression(node), "<case>", "eval"), {"math": math})  # noqa: S307 - upstream test


def precision_of(func: ast.FunctionDef) -> int | None:
    """The ``precision=`` a test function passes to ``compare_strings`` as a constant, if any."""
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "precision" and isinstance(kw.value, ast.Constant):
                    return kw.value.value
    return None


def match_types_of(func: ast.FunctionDef) -> list[str] | None:
    """The ``match_types=[...]`` a test function passes to ``compare_strings``, if any."""
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "match_types":
                    return ast.literal_eval(kw.value)
    return None


def config_specific(func: ast.FunctionDef, gold: str, pred: str, expected: bool) -> bool:
    """True when the installed math-verify gives the expected verdict under the test's own extraction config
    (``match_types=["latex"]`` or ``["expr"]``) but another one under its default config (LaTeX and
    expressions): such a case tests the config, not the comparison."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    types = match_types_of(func)
    if types is None or sorted(types) == ["expr", "latex"]:
        return False
    configs = [LatexExtractionConfig(boxed_match_priority=0) if t == "latex" else ExprExtractionConfig() for t in types]
    own = bool(verify(parse(gold, configs), parse(pred, configs)))
    default = bool(verify(parse(gold), parse(pred)))
    return own == expected and default != expected


def cases_in(path: str, source: str, commit: str) -> tuple[list[dict], dict[str, int]]:
    lines = source.splitlines()
    tree = ast.parse(source)
    kept: list[dict] = []
    skipped: dict[str, int] = {}

    def skip(why: str) -> None:
        skipped[why] = skipped.get(why, 0) + 1

    for func in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")):
        if not any(isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "parametrize"
                   for d in func.decorator_list):
            skip(f"{func.name}: not a gold/prediction pair (direct sympy_expr_eq calls)")
            continue
        for deco in func.decorator_list:
            if not (isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize"):
                continue
            names = [n.strip() for n in ast.literal_eval(deco.args[0]).split(",")]
            for row in deco.args[1].elts:
                values = dict(zip(names, (literal(v) for v in row.elts), strict=True))
                gold, pred = values["gold"], values["pred"]
                expected = values.get("expected", values.get("result"))
                precision = values.get("precision", precision_of(func) or 6)
                where = f"{path}::{func.name} line {row.lineno} @{commit[:7]}"
                if precision < 5:
                    skip("precision below 5 (a looser setting than the default 6)")
                    continue
                if values.get("allow_set_relation_comp") or values.get("strict") is False:
                    skip("allow_set_relation_comp=True or strict=False")
                    continue
                if (len(pred) > LONG and "boxed" not in pred) or (len(gold) > LONG and "boxed" not in gold):
                    skip("a whole free-text solution without \\boxed (tests free-text extraction)")
                    continue
                extract = {(False, False): "answer", (True, False): "prediction", (False, True): "gold",
                           (True, True): "both"}[(len(pred) > LONG, len(gold) > LONG)]
                if config_specific(func, gold, pred, bool(expected)):
                    skip("the expected verdict holds only under the test's non-default extraction config")
                    continue
                note = comment_above(lines, row.lineno)
                kept.append({
                    "family": func.name, "prediction": pred, "gold": gold, "verdict": bool(expected),
                    "reason": f"math-verify's expected verdict{': ' + note if note else ''}",
                    "source": where, "extract": extract, "precision": precision,
                })
    return kept, skipped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="math-verify's git directory")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    commit = subprocess.run(["git", "--git-dir", args.repo, "rev-parse", args.commit], check=True,
                            capture_output=True, text=True).stdout.strip()
    rows: list[dict] = []
    skipped: dict[str, int] = {}
    for path in FILES:
        kept, skip = cases_in(path, git_show(args.repo, commit, path), commit)
        rows += kept
        for k, v in skip.items():
            skipped[f"{path}: {k}"] = v
    header = {"_comment": f"math-verify's public test cases (github.com/huggingface/Math-Verify, tests/ at {commit}), "
                          "ported by tests/scripts/port_mathverify_tests.py: one (prediction, gold, verdict) per "
                          "line, 'source' cites file, function and line. Cases left out, and why: see 'skipped' "
                          "and the script's docstring. 'extract' names a side that is a whole solution, "
                          "whose answer is taken as accuracy's lenient mode takes it.",
              "skipped": skipped, "cases": len(rows)}
    with args.out.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} cases to {args.out}; skipped {sum(skipped.values())}: {skipped}")


if __name__ == "__main__":
    main()
