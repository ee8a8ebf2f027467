"""``r1lite rewards``: score a JSONL file of completions with reward rules, or list the rules.

    r1lite rewards score --rules accuracy,format --input completions.jsonl --output scored.jsonl
    r1lite rewards list

Each input line is a JSON object with the completion (``--completion-key``, default
``completion``) and the gold (``--answer-key``, default ``answer``, handed to rules as
``answer``). Every other field is passed to the rules like a TRL dataset column (``nums`` and
``target`` for countdown; ``prompt`` becomes ``prompts`` for prefill and language detection).
The whole input is validated before anything is scored, and the output appears atomically, so
bad input never leaves a partial file behind.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from r1lite.registry import RegistryError

BATCH = 256


class InputError(ValueError):
    """Bad input or arguments; the message names the file, line and fix."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="r1lite rewards", description="Score completions with reward rules.")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("score", help="score a JSONL file of completions")
    s.add_argument("--rules", required=True, help="comma-separated rule names or file.py:fn / module:fn specs")
    s.add_argument("--input", required=True, type=Path, help="JSONL with one record per completion")
    s.add_argument("--output", type=Path, help="JSONL written with one extra field per rule")
    s.add_argument("--answer-key", default="answer", help="field holding the gold answer (default: answer)")
    s.add_argument("--completion-key", default="completion", help="field holding the completion text")
    s.add_argument("--mode", choices=("strict", "lenient"), default="strict",
                   help="answer extraction mode for rules that take one (accuracy, countdown)")
    s.add_argument("--set", action="append", default=[], metavar="RULE.PARAM=VALUE",
                   help="bind a rule parameter, e.g. --set overlong.max_len=512 (JSON values)")
    sub.add_parser("list", help="list the available reward rules")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "list":
            return list_command()
        return score_command(args)
    except (InputError, RegistryError, ValueError, TypeError) as exc:
        print(f"r1lite rewards: error: {exc}", file=sys.stderr)
        return 2


def list_command() -> int:
    from r1lite.rewards.base import REWARDS, rule_parameters
    from rich.console import Console
    from rich.table import Table

    table = Table(title="reward rules (bind parameters with --set RULE.PARAM=VALUE)")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("parameters")
    table.add_column("what earns credit")
    for name, rule in REWARDS.items():
        defaults = {k: v.default for k, v in inspect.signature(rule).parameters.items()}
        params = [k if defaults[k] is inspect.Parameter.empty else f"{k}={defaults[k]!r}"
                  for k in rule_parameters(rule)]
        table.add_row(name, ", ".join(params), summary_line(inspect.getdoc(rule) or ""))
    Console().print(table)
    return 0


_ROLE = re.compile(r":[a-z]+:`~?(?:[\w.]*\.)?([^`]+)`")  # :func:`~pkg.mod.name` -> name
_LITERAL = re.compile(r"``(.+?)``")


def summary_line(doc: str) -> str:
    """A docstring's first sentence as plain text: reST roles and ````literals```` unwrapped."""
    text = " ".join(doc.split("\n\n")[0].split())
    text = _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text))
    end = re.search(r"\.(\s|$)", text)
    return text[: end.start() + 1] if end else text


def parse_settings(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["overlong.max_len=512"]`` -> ``{"overlong": {"max_len": 512}}`` (values read as JSON)."""
    from r1lite.rewards.base import parse_settings as parse

    try:
        return parse(items)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def load_records(path: Path, completion_key: str, answer_key: str, need_answer: bool) -> list[dict[str, Any]]:
    """All records of a JSONL file, validated; errors name the line and what is wrong."""
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    from r1lite.jsonl import read_jsonl

    records: list[dict[str, Any]] = []
    for lineno, rec in read_jsonl(path, InputError):
        for key, needed in ((completion_key, True), (answer_key, need_answer)):
            if needed and key not in rec:
                raise InputError(
                    f"{path} line {lineno}: missing key {key!r} (has: {', '.join(sorted(rec)) or 'nothing'}); "
                    f"use --completion-key / --answer-key to name the right field"
                )
        records.append(rec)
    if not records:
        raise InputError(f"{path}: no records (empty file)")
    return records


def build_rules(spec: str, mode: str, settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Rules by name; ``settings`` may name a rule by its spec (``my_rules.py:concise``) or its short name
    (``concise``), and a setting for a rule not in ``spec`` is an error, never silently dropped."""
    from r1lite.rewards.base import get_rule

    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise InputError("--rules is empty; e.g. --rules accuracy,format")
    rules: dict[str, Any] = {}
    used: set[str] = set()
    for name in names:
        short = name.rsplit(":", 1)[-1]
        params = {**settings.get(short, {}), **settings.get(name, {})}
        used.update({short, name})
        probe = get_rule(name)
        if "mode" in inspect.signature(probe).parameters:
            params.setdefault("mode", mode)
        rules[short] = get_rule(name, **params)
    unknown = set(settings) - used
    if unknown:
        raise InputError(f"--set names rules not in --rules: {', '.join(sorted(unknown))} "
                         f"(rules: {', '.join(rules)})")
    return rules


def columns(batch: list[dict[str, Any]], completion_key: str, answer_key: str) -> dict[str, list[Any]]:
    """Record fields as TRL-style per-completion columns (``answer``, ``prompts``, others)."""
    keys = {k for rec in batch for k in rec} - {completion_key}
    cols = {k: [rec.get(k) for rec in batch] for k in keys}
    if answer_key in cols:
        cols["answer"] = cols.pop(answer_key) if answer_key != "answer" else cols["answer"]
    if "prompt" in cols and "prompts" not in cols:
        cols["prompts"] = cols["prompt"]
    return cols


def score_records(records: list[dict[str, Any]], rules: dict[str, Any], completion_key: str,
                  answer_key: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """Score every record with every rule; returns the scored records and raw diagnostics."""
    from rich.progress import Progress

    diagnostics: dict[str, dict[str, float]] = {}
    out = [dict(rec) for rec in records]
    with Progress(transient=True, disable=len(records) < 2 * BATCH) as progress:
        task = progress.add_task("scoring", total=len(records))
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            comps = [rec[completion_key] for rec in batch]
            cols = columns(batch, completion_key, answer_key)
            for name, rule in rules.items():
                scores = rule(comps, diagnostics=diagnostics, **cols)
                if len(scores) != len(batch):
                    raise InputError(f"rule {name!r} returned {len(scores)} scores for {len(batch)} completions")
                for rec, s in zip(out[start : start + BATCH], scores, strict=True):
                    rec[name] = s
            progress.advance(task, len(batch))
    return out, diagnostics


def write_jsonl_atomic(path: Path, records: list[dict[str, Any]]) -> None:
    """Write to a temporary file beside ``path`` and rename, so no partial file is ever seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary_rows(scored: list[dict[str, Any]], rules: dict[str, Any],
                 diagnostics: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    rows = []
    for name in rules:
        vals = [r[name] for r in scored if r[name] is not None and not math.isnan(r[name])]
        diag = diagnostics.get(name, {})
        n = diag.get("n") or len(scored)
        parse_fail = diag.get("parse_failure", 0) + diag.get("no_answer", 0) + diag.get("invalid", 0)
        other = {k: v for k, v in diag.items()
                 if k not in ("n", "parse_failure", "no_answer", "invalid", "timeout") and v}
        rows.append({
            "rule": name,
            "mean": sum(vals) / len(vals) if vals else float("nan"),
            "scored": len(vals),
            "skipped": len(scored) - len(vals),
            "parse_failure_rate": parse_fail / n,
            "timeout_rate": diag.get("timeout", 0) / n,
            "other": ", ".join(f"{k}={int(v)}" for k, v in sorted(other.items())),
        })
    return rows


def print_summary(rows: list[dict[str, Any]], n: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{n} completions")
    for col in ("rule", "mean", "scored", "skipped (None)", "parse failures", "timeouts"):
        table.add_column(col, justify="left" if col == "rule" else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["rule"], f"{r['mean']:.4f}", str(r["scored"]), str(r["skipped"]),
                      f"{r['parse_failure_rate']:.1%}", f"{r['timeout_rate']:.1%}")
    console = Console()
    console.print(table)
    for r in rows:
        if r["other"]:
            console.print(f"  {r['rule']}: {r['other']}", highlight=False)


def score_command(args: argparse.Namespace) -> int:
    settings = parse_settings(args.set)
    rules = build_rules(args.rules, args.mode, settings)
    records = load_records(args.input, args.completion_key, args.answer_key, need_answer="accuracy" in rules)
    scored, diagnostics = score_records(records, rules, args.completion_key, args.answer_key)
    if args.output:
        write_jsonl_atomic(args.output, scored)
    print_summary(summary_rows(scored, rules, diagnostics), len(scored))
    if args.output:
        print(f"wrote {len(scored)} scored records to {args.output}")
    return 0
