"""``r1lite eval`` end to end on ../shared/data: schema, metrics wiring, resume, compare, errors.

Generation uses the tiny random Llama where the real pipeline matters, and a scripted backend
(completions written from the gold answers) where exact metric values must be checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from r1lite.eval import evaluate
from r1lite.eval.evaluate import main
from r1lite.rollout.generation import Completion

FAST = ["--max-tokens", "6", "--no-progress", "--bootstrap", "200", "--batch-size", "8", "--backend", "transformers",
        "--device", "cpu"]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def gsm8k_golds(data_dir: Path, limit: int) -> dict[str, str]:
    rows = read_jsonl(data_dir / "gsm8k" / "test.jsonl")[:limit]
    return {r["question"]: r["answer"].rsplit("####", 1)[1].strip() for r in rows}


class ScriptedBackend:
    """Answers from the gold: ``script(problem_index, sample_index, gold) -> completion text``."""

    device = "scripted"

    def __init__(self, golds: dict[str, str], script) -> None:
        self.golds, self.script, self.calls = golds, script, 0

    def generate(self, prompts, n, temperature, top_p, max_new_tokens, seed, stop=(), progress=True,
                 on_prompt_done=None, description=""):
        self.calls += 1
        out = []
        for k, prompt in enumerate(prompts):
            question = next(q for q in self.golds if q in prompt)
            index = list(self.golds).index(question)
            row = []
            for j in range(n):
                text = self.script(index, j, self.golds[question])
                row.append(Completion(text, len(text.split()), "length" if text.endswith("...") else "stop"))
            out.append(row)
            if on_prompt_done:
                on_prompt_done(k, row)
        return out


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: Any) -> None:
    monkeypatch.setattr(evaluate, "make_backend", lambda *a, **k: backend)


def tagged(answer: str) -> str:
    return f"<think>adding up</think> <answer>{answer}</answer>"


def test_tiny_model_end_to_end_schema_and_resume(tiny_model_dir: str, data_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    args = ["--model", tiny_model_dir, "--benchmarks", "gsm8k,math500", "--limit", "3", "--n", "2",
            "--temperature", "1.0", "--output-dir", str(out), *FAST]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["schema_version"] == 1 and results["backend"] == "transformers" and results["device"] == "cpu"
    assert results["sampling"] == {"n": 2, "temperature": 1.0, "top_p": 0.95, "max_tokens": 6, "seed": 0,
                                   "stop": ["</answer>"], "template": results["sampling"]["template"],
                                   "greedy": False}
    assert results["model"]["fingerprint"] and {"torch", "transformers", "math-verify"} <= set(results["versions"])
    assert results["wall_time_s"] > 0
    for name in ("gsm8k", "math500"):
        bench = results["benchmarks"][name]
        assert bench["num_problems"] == 3 and bench["num_samples"] == 6 and bench["generated_samples"] == 6
        assert bench["data"]["fingerprint"] and bench["data"]["split"] == "test"
        for mode in ("strict", "lenient"):
            assert list(bench["metrics"][mode]) == ["mean@2", "pass@2", "maj@2"]
            for m in bench["metrics"][mode].values():
                assert 0.0 <= m["ci"][0] <= m["value"] <= m["ci"][1] <= 1.0
            assert len(bench["per_problem"][mode]["mean@2"]) == 3
        assert 0 < bench["mean_response_tokens"] <= 6
        assert 0.0 <= bench["truncation_rate"] <= 1.0 and sum(bench["finish_reasons"].values()) == 6
    samples = read_jsonl(out / "samples.jsonl")
    assert len(samples) == 12
    for s in samples:
        assert {"prompt", "completion", "gold", "num_tokens", "finish_reason"} <= set(s)
        assert set(s["extracted"]) == set(s["correct"]) == {"strict", "lenient"}
    assert "gsm8k" in (out / "results.md").read_text()
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"

    # Same arguments again: everything comes from samples.jsonl; the model is never loaded.
    def no_model(*a: Any, **k: Any) -> Any:
        raise AssertionError("resume must not load the model")

    monkeypatch.setattr(evaluate, "make_backend", no_model)
    assert main(args) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["benchmarks"]["gsm8k"]["resumed_samples"] == 6
    assert again["benchmarks"]["gsm8k"]["generated_samples"] == 0
    assert [s["completion"] for s in read_jsonl(out / "samples.jsonl")] == [s["completion"] for s in samples]
    assert again["benchmarks"]["gsm8k"]["metrics"] == results["benchmarks"]["gsm8k"]["metrics"]

    # A larger --limit only generates the new problems.
    monkeypatch.undo()
    more = [a if a != "3" else "4" for a in args]
    assert main(more) == 0
    grown = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    assert (grown["resumed_samples"], grown["generated_samples"]) == (6, 2)

    # Different sampling settings never mix with these samples.
    capsys.readouterr()
    assert main([*args[:-len(FAST)], "--max-tokens", "7", *FAST[2:]]) == 2
    assert "different settings" in capsys.readouterr().err


def test_metrics_wiring_with_scripted_answers(data_dir: Path, tiny_model_dir: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    golds = gsm8k_golds(data_dir, 4)

    def script(i: int, j: int, gold: str) -> str:
        if i == 0:
            return tagged(gold)  # always right
        if i == 1:
            return tagged(gold) if j == 0 else tagged("-1")  # 1 of 4 right
        if i == 2:
            return f"so the total is \\boxed{{{gold}}}"  # right answer, wrong format: lenient only
        return "I keep thinking and thinking ..."  # truncated, no answer

    use_backend(monkeypatch, ScriptedBackend(golds, script))
    out = tmp_path / "scripted"
    assert main(["--model", tiny_model_dir, "--benchmarks", "gsm8k", "--limit", "4", "--n", "4",
                 "--output-dir", str(out), *FAST]) == 0
    bench = json.loads((out / "results.json").read_text())["benchmarks"]["gsm8k"]
    strict, lenient = bench["metrics"]["strict"], bench["metrics"]["lenient"]
    assert strict["mean@4"]["value"] == pytest.approx((1 + 0.25) / 4)
    assert lenient["mean@4"]["value"] == pytest.approx((1 + 0.25 + 1) / 4)
    assert strict["pass@2"]["value"] == pytest.approx((1 + 0.5) / 4)  # 1 - C(3,2)/C(4,2) = 0.5
    assert strict["pass@4"]["value"] == pytest.approx(2 / 4)
    assert strict["maj@4"]["value"] == pytest.approx(1 / 4)  # problem 1: "-1" wins 3 to 1
    assert lenient["maj@4"]["value"] == pytest.approx(2 / 4)
    assert bench["format_rate"] == pytest.approx(8 / 16)
    assert bench["truncation_rate"] == pytest.approx(4 / 16)
    assert bench["grader_check"]["strict"]["agreement"] == 1.0  # plain numbers: both checkers agree
    samples = read_jsonl(out / "samples.jsonl")
    boxed = next(s for s in samples if s["problem"] == 2)
    assert boxed["extracted"] == {"strict": None, "lenient": golds[list(golds)[2]]}
    assert boxed["correct"] == {"strict": False, "lenient": True} and boxed["format_ok"] is False


def test_greedy_is_reported_as_greedy(data_dir: Path, tiny_model_dir: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    use_backend(monkeypatch, ScriptedBackend(gsm8k_golds(data_dir, 2), lambda i, j, g: tagged(g)))
    out = tmp_path / "greedy"
    assert main(["--model", tiny_model_dir, "--benchmarks", "gsm8k", "--limit", "2", "--n", "1",
                 "--temperature", "0", "--output-dir", str(out), *FAST]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["sampling"]["greedy"] is True
    assert results["benchmarks"]["gsm8k"]["metrics"]["strict"] == {"greedy": {"value": 1.0, "ci": [1.0, 1.0]}}
    assert main(["--model", tiny_model_dir, "--benchmarks", "gsm8k", "--n", "4", "--temperature", "0",
                 *FAST]) == 2
    assert "greedy" in capsys.readouterr().err


def test_custom_jsonl_benchmark(tmp_path: Path, tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps({"q": f"What is {i} + {i}?", "gold": f"#### {2 * i}"}) for i in range(3)))
    golds = {f"What is {i} + {i}?": str(2 * i) for i in range(3)}
    use_backend(monkeypatch, ScriptedBackend(golds, lambda i, j, g: tagged(g if i else "7")))
    out = tmp_path / "custom"
    base = ["--model", tiny_model_dir, "--benchmarks", str(data), "--n", "1", "--temperature", "0",
            "--output-dir", str(out), *FAST]
    assert main([*base, "--question-key", "q", "--answer-key", "gold"]) == 0
    bench = json.loads((out / "results.json").read_text())["benchmarks"]["mine"]
    assert bench["metrics"]["strict"]["greedy"]["value"] == pytest.approx(2 / 3)
    assert bench["eval_mode"] == "strict"  # the same headline mode as the built-in tasks
    assert main([*base, "--question-key", "q", "--answer-key", "gold", "--eval-mode", "lenient"]) == 0
    assert json.loads((out / "results.json").read_text())["benchmarks"]["mine"]["eval_mode"] == "lenient"
    assert main(base) == 2  # default keys question/answer are not in the file
    assert "has no key 'question'" in capsys.readouterr().err


def run_scripted(tmp_path: Path, name: str, data_dir: Path, tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch,
                 script, limit: int = 30) -> Path:
    use_backend(monkeypatch, ScriptedBackend(gsm8k_golds(data_dir, limit), script))
    out = tmp_path / name
    assert main(["--model", tiny_model_dir, "--benchmarks", "gsm8k", "--limit", str(limit), "--n", "2",
                 "--output-dir", str(out), *FAST]) == 0
    return out / "results.json"


def test_compare_flags_real_deltas_only(data_dir: Path, tiny_model_dir: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    weak = run_scripted(tmp_path, "weak", data_dir, tiny_model_dir, monkeypatch,
                        lambda i, j, g: tagged(g) if i % 5 == 0 else tagged("0.5"))
    strong = run_scripted(tmp_path, "strong", data_dir, tiny_model_dir, monkeypatch,
                          lambda i, j, g: tagged(g) if i % 5 else tagged("0.5"))
    close = run_scripted(tmp_path, "close", data_dir, tiny_model_dir, monkeypatch,
                         lambda i, j, g: tagged(g) if i % 5 == 0 or i == 1 else tagged("0.5"))
    capsys.readouterr()
    plot, md = tmp_path / "cmp.png", tmp_path / "cmp.md"
    assert main(["compare", str(weak), str(strong), "--plot", str(plot), "--markdown", str(md)]) == 0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    rows = [line for line in md.read_text().splitlines() if line.startswith("| gsm8k")]
    mean_row = next(r for r in rows if "| strict | mean@2 |" in r)
    assert "+60.0" in mean_row and "| yes | paired |" in mean_row  # 20% -> 80% on the same 30 problems
    assert main(["compare", str(weak), str(close), "--plot", str(plot), "--markdown", str(md)]) == 0
    mean_row = next(r for r in md.read_text().splitlines() if "| strict | mean@2 |" in r)
    assert "+3.3" in mean_row and "| no | paired |" in mean_row  # one problem more: inside the CI
    short = run_scripted(tmp_path, "short", data_dir, tiny_model_dir, monkeypatch, lambda i, j, g: tagged(g),
                         limit=20)
    assert main(["compare", str(weak), str(short), "--plot", str(plot), "--markdown", str(md)]) == 0
    mean_row = next(r for r in md.read_text().splitlines() if "| strict | mean@2 |" in r)
    assert "+80.0" in mean_row and "| yes | unpaired |" in mean_row  # different problem sets: no pairing
    assert "gsm8k problems (30 vs 20, different data)" in capsys.readouterr().out


def test_compare_names_runs_by_label(data_dir: Path, tiny_model_dir: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Two runs of one model must not both read as that model (issue 16)."""
    a = run_scripted(tmp_path, "first", data_dir, tiny_model_dir, monkeypatch, lambda i, j, g: tagged(g), limit=5)
    b = run_scripted(tmp_path, "second", data_dir, tiny_model_dir, monkeypatch, lambda i, j, g: tagged("1"), limit=5)
    assert json.loads(a.read_text())["label"] == evaluate.default_label(tiny_model_dir)
    capsys.readouterr()
    md, plot = tmp_path / "cmp.md", tmp_path / "cmp.png"
    assert main(["compare", str(a), str(b), "--plot", str(plot), "--markdown", str(md)]) == 0
    head = md.read_text().splitlines()[0]
    assert "(first)`" in head and "(second)`" in head  # same label: the run folders tell them apart
    assert main(["compare", f"base={a}", f"rl={b}", "--plot", str(plot), "--markdown", str(md)]) == 0
    assert md.read_text().startswith("A: `base`") and "B: `rl`" in md.read_text()
    assert "A: base" in capsys.readouterr().out
    use_backend(monkeypatch, ScriptedBackend(gsm8k_golds(data_dir, 5), lambda i, j, g: tagged(g)))
    assert main(["--model", tiny_model_dir, "--benchmarks", "gsm8k", "--limit", "5", "--n", "2", "--label", "mine",
                 "--output-dir", str(tmp_path / "labelled"), *FAST]) == 0
    assert json.loads((tmp_path / "labelled" / "results.json").read_text())["label"] == "mine"
    assert "r1lite eval: mine" in capsys.readouterr().out


def test_errors_are_clear(data_dir: Path, tiny_model_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture) -> None:
    base = ["--model", tiny_model_dir, "--limit", "2", "--n", "1", "--temperature", "0",
            "--output-dir", str(tmp_path / "e"), *FAST]
    assert main([*base, "--benchmarks", "gsm9k"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'gsm9k'" in err and "gsm8k" in err and "Traceback" not in err
    assert main([*base, "--benchmarks", str(tmp_path / "nope.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err
    empty = tmp_path / "empty_data"
    empty.mkdir()
    monkeypatch.setenv("R1LITE_DATA_DIR", str(empty))
    assert main([*base, "--benchmarks", "aime24"]) == 2
    err = capsys.readouterr().err
    assert "aime24" in err and "Traceback" not in err
    monkeypatch.setenv("R1LITE_DATA_DIR", str(data_dir))
    assert main(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert "no such results file" in capsys.readouterr().err
