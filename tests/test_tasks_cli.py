"""``r1lite tasks list|show`` end to end (offline, ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from r1lite.tasks.templates import SYSTEM_PROMPT

from r1lite.cli import main as r1lite_main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = r1lite_main(["tasks", *argv])
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


def test_list_shows_tasks_sources_and_rewards(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(["list"], capsys)
    assert rc == 0
    for name in ("gsm8k", "math500", "aime24", "amc23", "minerva_math", "countdown", "arithmetic"):
        assert name in out
    assert "openai/gsm8k" in out and "countdown=1" in out


def test_show_renders_the_exact_chat_prompt_and_gold(data_dir: Path, smollm2_dir: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(["show", "gsm8k", "--split", "test", "-n", "2", "--model", smollm2_dir], capsys)
    assert rc == 0
    assert out.count("<|im_start|>assistant") == 2 and SYSTEM_PROMPT in out
    assert "Janet’s ducks lay 16 eggs per day." in out and "gold answer: 18" in out
    assert "template chat" in out


def test_show_r1zero_without_tokenizer_and_task_options(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(["show", "countdown", "-n", "1", "--template", "r1zero", "--model", "none",
                   "--option", "difficulty=hard", "--seed", "5"], capsys)
    assert rc == 0
    assert out.count("Assistant: <think>") == 1 and "solution:" in out and "nums: [" in out


def test_show_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = run(["show", "gsm8k", "--model", "none", "--template", "r1zero",
                   "--data-path", str(tmp_path / "missing.jsonl")], capsys)
    assert rc == 2 and "not found" in out and "Traceback" not in out
    rc, out = run(["show", "nosuchtask", "--model", "none"], capsys)
    assert rc == 2 and "unknown task" in out and "gsm8k" in out
    rc, out = run(["show", "arithmetic", "--model", "none", "--option", "nokey"], capsys)
    assert rc == 2 and "key=value" in out
