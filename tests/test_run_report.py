"""The end-of-run block and ``r1lite report RUN_DIR`` (report.html): checked with an HTML parser against the run's
own files, on a hand-built run directory and on a real (tiny-model) training run."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from r1lite.cli import main as cli_main
from r1lite.eval.metrics import paired_delta_ci
from r1lite.train.report import outcome, outcome_lines

PNG = b"\x89PNG\r\n\x1a\n" + b"fake-but-distinct-bytes"
PROMPT = "Example.\nUser: What is {q}?\nAssistant: <think>"


class Page(HTMLParser):
    """Rows by class, attributes of every tag, and the text inside the outcome block."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: list[dict[str, str]] = []
        self.cells: list[list[str]] = []
        self.block = ""
        self._in_block = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "tr" and ("sample" in a.get("class", "") or "problem" in a.get("class", "")):
            self.rows.append(a)
            self.cells.append([])
        if tag == "td" and self.cells:
            self._cell = []
        if a.get("id") == "outcome-block":
            self._in_block = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells[-1].append("".join(self._cell))
            self._cell = None
        if tag == "div":
            self._in_block = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_block:
            self.block += data


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def make_run(run: Path, *, best: bool = False) -> dict:
    """A run directory as r1lite train leaves it: 6 held-out problems (2 gained, 1 lost), 2 steps x 4 samples."""
    run.mkdir(parents=True)
    before_acc = [0, 0, 1, 1, 0, 0]
    after_acc = [1, 1, 0, 1, 0, 0]
    fmt_before = [1, 0, 1, 1, 0, 1]
    fmt_after = [1, 1, 1, 1, 1, 1]
    for name, acc, fmt in (("before", before_acc, fmt_before), ("after", after_acc, fmt_after)):
        write_jsonl(run / f"heldout_{name}.jsonl", [
            {"prompt": PROMPT.format(q=f"{i} + {i}"), "answer": str(2 * i), "completion": f"{name} <answer>{i}</answer>",
             "accuracy": float(a), "format": float(f)} for i, (a, f) in enumerate(zip(acc, fmt, strict=True))])
    write_jsonl(run / "heldout_metrics.jsonl", [{"step": 0, "phase": "before", "accuracy": 2 / 6, "format_rate": 4 / 6},
                                                {"step": 1, "phase": "step1", "accuracy": 4 / 6, "format_rate": 1.0},
                                                {"step": 2, "phase": "after", "accuracy": 3 / 6, "format_rate": 1.0}])
    summary = {"before": {"n": 6, "accuracy": 2 / 6, "format_rate": 4 / 6, "step": 0},
               "after": {"n": 6, "accuracy": 3 / 6, "format_rate": 1.0, "step": 2},
               "accuracy_rule": "accuracy", "task": "arithmetic", "model": "tiny", "wall_seconds": 75.0}
    if best:
        summary["best"] = {"metric": "accuracy", "value": 0.5, "step": 2, "path": "best"}
    (run / "summary.json").write_text(json.dumps(summary))
    # samples: step 1 has 2 correct, 1 formatted-wrong, 1 unformatted; step 2 all wrong-formatted
    samples = []
    for step, kinds in ((1, ["correct", "correct", "wrong", "unformatted"]), (2, ["wrong"] * 4)):
        for j, kind in enumerate(kinds):
            samples.append({"step": step, "prompt": PROMPT.format(q=f"{step} * {j}"), "completion": f"<c {step}.{j}>",
                            "rewards": {"accuracy": float(kind == "correct"),
                                        "format_reward": float(kind != "unformatted")},
                            "advantage": 0.5 if kind == "correct" else -0.25})
    write_jsonl(run / "samples.jsonl", samples)
    write_jsonl(run / "metrics.jsonl", [{"step": 1, "loss": 0.1, "reward": 0.5}, {"step": 2, "loss": 0.2, "reward": 0.1}])
    (run / "curves.png").write_bytes(PNG)
    (run / "final").mkdir()
    return {"before": before_acc, "after": after_acc, "samples": samples}


def test_report_html_matches_the_run_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    made = make_run(run)
    assert cli_main(["report", str(run)]) == 0
    out = capsys.readouterr()
    page = Page()
    page.feed((run / "report.html").read_text())

    # self-contained: no network, no server
    for tag, attrs in page.tags:
        assert tag != "link", attrs
        assert not (tag == "script" and attrs.get("src")), attrs
        for key in ("src", "href"):
            assert not attrs.get(key, "").startswith(("http:", "https:", "//")), attrs
    img = next(a for t, a in page.tags if t == "img")
    assert base64.b64decode(img["src"].split(",", 1)[1]) == PNG

    samples = [(r, c) for r, c in zip(page.rows, page.cells, strict=True) if "sample" in r["class"]]
    assert len(samples) == len(made["samples"])
    want = ["correct", "correct", "wrong", "unformatted", "wrong", "wrong", "wrong", "wrong"]
    assert [r["data-outcome"] for r, _ in samples] == want
    assert [int(r["data-step"]) for r, _ in samples] == [s["step"] for s in made["samples"]]
    assert [c[2] for _, c in samples] == [s["completion"] for s in made["samples"]]  # escaped, then read back
    assert samples[0][1][1] == "What is 1 * 0?"  # the problem, not the whole one-shot prompt

    problems = [(r, c) for r, c in zip(page.rows, page.cells, strict=True) if "problem" in r["class"]]
    assert [r["data-flip"] for r, _ in problems] == ["gained", "gained", "lost", "same", "same", "same"]
    assert problems[0][1][3] == "before <answer>0</answer>" and problems[0][1][5] == "after <answer>0</answer>"

    delta, lo, hi = paired_delta_ci(made["before"], made["after"])
    assert "0.333 -> 0.500" in page.block and f"{delta:+.3f}, 95% CI {lo:+.3f} to {hi:+.3f}" in page.block
    assert "paired bootstrap, 6 problems" in page.block and "gained 2, lost 1" in page.block
    assert "best held-out step 1 (accuracy 0.667)" in page.block  # from the held-out curve (no best/ kept)
    assert "wall time 75 s" in page.block
    assert "0.333 -> 0.500" in out.out and f"wrote {run / 'report.html'}" in out.err


def test_outcome_reads_the_kept_best_step(tmp_path: Path) -> None:
    make_run(tmp_path / "run", best=True)
    o = outcome(tmp_path / "run")
    assert o["best"]["step"] == 2 and o["best"]["value"] == 0.5
    lines = outcome_lines(o)
    assert len(lines) == 5 and lines[-1].endswith("curves.png, report.html, final/")


def test_unpaired_interval_without_per_problem_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_run(run)
    (run / "heldout_after.jsonl").unlink()
    m = outcome(run)["metrics"]["accuracy"]
    assert m["method"] == "unpaired normal" and m["delta"] == pytest.approx(1 / 6)
    se = ((2 / 6) * (4 / 6) / 6 + 0.25 / 6) ** 0.5  # two proportions, 6 problems each
    assert m["low"] == pytest.approx(1 / 6 - 1.96 * se) and m["high"] == pytest.approx(1 / 6 + 1.96 * se)


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_report_of_a_non_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, make: str) -> None:
    target = tmp_path / "x"
    if make == "empty":
        target.mkdir()
    assert cli_main(["report", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("r1lite report:") and "output_dir" in err[0]


def test_training_run_ends_with_the_block_report_and_diagnostics(tiny_model_dir: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    """A real (tiny-model) run: diag/* in metrics.jsonl, diagnostics in samples.jsonl, the end-of-run block,
    report.html whose sample rows are samples.jsonl's."""
    from r1lite.train.command import main

    rule = tmp_path / "parity.py"
    rule.write_text("def parity(completions, **kw):\n    return [float(len(c) % 2 == 0) for c in completions]\n")
    out = tmp_path / "run"
    rc = main(["--model", tiny_model_dir, "--output_dir", str(out), "--preset", "cpu",
               "--per_device_train_batch_size", "8", "--num_generations", "4", "--max_completion_length", "12",
               "--heldout_n", "6", "--heldout_batch_size", "6", "--learning_rate", "1e-3", "--table_every", "0",
               "--max-steps", "2", "--save_steps", "5", "--rewards", f"{rule}:parity=1.0,accuracy=0.0,format=0.2"],
              default_config=Path("recipes/arithmetic.yaml"))
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"== r1lite: what this run did ({out}) ==" in printed
    assert "held-out accuracy" in printed and "95% CI" in printed and "paired bootstrap, 6 problems" in printed
    assert "curves.png, report.html, final/" in printed
    steps = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if '"loss"' in x]
    for row in steps:
        assert {"diag/reflection_rate", "diag/length_wrong", "diag/correct_share", "entropy"} <= set(row), row.keys()
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert all(s["length"] >= 0 and s["correct"] is False and s["labels"]["type"] == "+" for s in samples)
    # TRL logs the format rule as format_reward: the diagnostics read it under that name
    assert [s["formatted"] for s in samples] == [s["rewards"]["format_reward"] >= 1.0 for s in samples]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcome"]["metrics"]["accuracy"]["method"] == "paired bootstrap"
    page = Page()
    page.feed((out / "report.html").read_text())
    rows = [r for r in page.rows if "sample" in r["class"]]
    assert len(rows) == len(samples) and {r["data-step"] for r in rows} == {"1", "2"}


def test_many_samples_keep_each_steps_first_rows(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    make_run(run)
    assert cli_main(["report", str(run), "--max-samples", "4"]) == 0
    page = Page()
    page.feed((run / "report.html").read_text())
    rows = [r for r in page.rows if "sample" in r["class"]]
    assert [(r["data-step"], r["data-outcome"]) for r in rows] == [("1", "correct"), ("1", "correct"),
                                                                  ("2", "wrong"), ("2", "wrong")]
    assert "4 completions (of 8;" in (run / "report.html").read_text()
