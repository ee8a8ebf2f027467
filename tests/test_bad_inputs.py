"""Bad inputs to ``r1lite train`` (issue 26, item 6): each exits non-zero in at most 3 lines of output, with no
traceback, naming the field and the fix, before any model or tokenizer loads. Run through the real console entry
(``r1lite.cli.main``) and once as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from r1lite.cli import main as cli_main
from r1lite.train.config import RANGES, R1Config
from r1lite.train.parser import attach_negative_values

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model, tokenizer or data load fails the test: the error must come before them."""

    def loaded(*args, **kwargs):
        raise AssertionError("a model, tokenizer or data set was loaded before the input was checked")

    for name in ("resolve_model", "load_tokenizer", "load_model"):
        monkeypatch.setattr(f"r1lite.models.{name}", loaded)
    monkeypatch.setattr("r1lite.tasks.get_task", loaded)


def run_train(argv: list[str], capfd: pytest.CaptureFixture) -> tuple[int, list[str]]:
    code = cli_main(["train", *argv])
    out, err = capfd.readouterr()
    lines = [line for line in (out + err).splitlines() if line.strip()]
    return code, lines


def assert_short_error(code: int, lines: list[str], *needles: str) -> str:
    text = "\n".join(lines)
    assert code != 0, text
    assert 1 <= len(lines) <= 3, text
    assert "Traceback" not in text and "usage:" not in text, text
    for needle in needles:
        assert needle in text, text
    return text


@pytest.mark.parametrize(("flag", "value", "needle"), [
    ("--max_completion_length", "0", "max_completion_length=0 is out of range: must be >= 1 token"),
    ("--learning_rate", "-1e-5", "learning_rate=-1e-05 is out of range: must be >= 0"),
    ("--learning_rate", "-0.001", "learning_rate=-0.001 is out of range"),
    ("--num_generations", "0", "num_generations=0 is out of range"),
    ("--per_device_train_batch_size", "0", "per_device_train_batch_size=0 is out of range"),
    ("--gradient_accumulation_steps", "0", "gradient_accumulation_steps=0 is out of range"),
    ("--temperature", "0", "temperature=0 is out of range: must be > 0"),
    ("--temperature", "-0.5", "temperature=-0.5 is out of range"),
    ("--top_p", "0", "top_p=0 is out of range: must lie in (0, 1]"),
    ("--top_p", "1.5", "top_p=1.5 is out of range"),
    ("--beta", "-0.1", "beta=-0.1 is out of range: must be >= 0"),
    ("--epsilon", "-0.2", "epsilon=-0.2 is out of range: must be > 0"),
    ("--epsilon_high", "0", "epsilon_high=0 is out of range"),
    ("--max_steps", "0", "max_steps=0 is out of range: must be >= 1 step, or -1"),
    ("--max_steps", "-3", "max_steps=-3 is out of range"),
    ("--logging_steps", "-1", "logging_steps=-1 is out of range"),
    ("--save_steps", "0", "save_steps=0 is out of range"),
    ("--eval_steps", "-1", "eval_steps=-1 is out of range"),
    ("--num_iterations", "0", "num_iterations=0 is out of range"),
    ("--heldout_batch_size", "0", "heldout_batch_size=0 is out of range"),
    ("--heldout_temperature", "-1", "heldout_temperature=-1 is out of range"),
    ("--min_p", "2", "min_p=2 is out of range"),
    ("--seed", "-1", "seed=-1 is out of range"),
    ("--lora_dropout", "1.5", "lora_dropout=1.5 is out of range"),
])
def test_out_of_range_number_is_one_short_error(flag: str, value: str, needle: str,
                                                capfd: pytest.CaptureFixture) -> None:
    code, lines = run_train([flag, value], capfd)
    text = assert_short_error(code, lines, needle, f"fix {flag}")
    assert text.count("r1lite train:") == 1


def test_out_of_range_value_in_a_yaml_file(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("task: arithmetic\nmax_completion_length: 0\n")
    code, lines = run_train(["--config", str(path)], capfd)
    assert_short_error(code, lines, "max_completion_length=0 is out of range")


def test_template_file_without_placeholder(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    template = tmp_path / "prompt.txt"
    template.write_text("Solve the problem. Answer in <answer></answer> tags.\n")
    code, lines = run_train(["--template", str(template), "--output_dir", str(tmp_path / "run")], capfd)
    assert_short_error(code, lines, "--template", f"template file {template} has no {{question}} placeholder")
    assert not (tmp_path / "run").exists()


def test_template_that_is_neither_a_name_nor_a_file(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    code, lines = run_train(["--template", str(tmp_path / "missing.txt")], capfd)
    assert_short_error(code, lines, "unknown template", "chat, r1zero")


def test_output_dir_naming_a_file(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("not a run directory\n")
    code, lines = run_train(["--output_dir", str(target)], capfd)
    assert_short_error(code, lines, f"--output_dir {target} is a file", "choose a directory path")
    assert target.read_text() == "not a run directory\n"


def test_output_dir_below_a_file(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("x")
    code, lines = run_train(["--output_dir", str(target / "run")], capfd)
    assert_short_error(code, lines, f"is inside {target}, which is a file")


def test_valid_boundaries_are_accepted() -> None:
    cfg = R1Config(learning_rate=0.0, top_p=1.0, beta=0.0, max_steps=-1, heldout_temperature=0.0, min_p=0.0,
                   logging_steps=0.5, table_every=0, samples_every=0, report_to="none")
    assert cfg.max_steps == -1 and cfg.top_p == 1.0


def test_every_range_names_a_real_field() -> None:
    """A typo in RANGES would silently check nothing."""
    from r1lite.algos.ppo import PPOConfig

    names = {f for f in R1Config.__dataclass_fields__} | set(PPOConfig.__dataclass_fields__)
    assert set(RANGES) <= names, set(RANGES) - names


def test_negative_numbers_attach_to_their_flag() -> None:
    assert attach_negative_values(["--learning_rate", "-1e-5", "--beta", "0.1"]) == \
        ["--learning_rate=-1e-5", "--beta", "0.1"]
    assert attach_negative_values(["--dry-run", "--output_dir", "-x"]) == ["--dry-run", "--output_dir", "-x"]


def test_subprocess_console_entry(tmp_path: Path) -> None:
    """The real process: exit status 2, at most 3 lines on stdout + stderr, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "r1lite.cli", "train", "--max_completion_length", "0",
                           "--output_dir", str(tmp_path / "run")], capture_output=True, text=True, env=env,
                          timeout=300, cwd=tmp_path)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert 1 <= len(lines) <= 3 and "Traceback" not in proc.stderr, lines
    assert "max_completion_length=0 is out of range" in proc.stderr
