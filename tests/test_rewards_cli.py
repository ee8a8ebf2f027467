"""``r1lite rewards score`` / ``list`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from r1lite.rewards.cli import main

RECORDS = [
    {"completion": "<think>9*2</think>\n<answer>\n18\n</answer>", "answer": "18"},
    {"completion": "<think>half</think><answer>\\frac{1}{2}</answer>", "answer": "0.5"},
    {"completion": "I do not know", "answer": "3"},
    {"completion": "<think>x</think><answer>7</answer>", "answer": "\\frac{"},
]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_score_writes_one_field_per_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    out = tmp_path / "out.jsonl"
    assert main(["score", "--rules", "accuracy,format", "--input", str(src), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["accuracy"] for r in rows] == [1.0, 1.0, 0.0, None]
    assert [r["format"] for r in rows] == [1.0, 1.0, 0.0, 1.0]
    assert rows[0]["completion"] == RECORDS[0]["completion"]  # records are written back whole
    table = capsys.readouterr().out
    assert "accuracy" in table and "0.6667" in table  # mean over scored items
    assert "25.0%" in table  # 1 of 4 without an answer


def test_answer_key_mode_and_settings(tmp_path: Path) -> None:
    rows = [{"text": "so \\boxed{42}", "gold": "42", "nums": [40, 2], "target": 42},
            {"text": "<answer>40 + 2</answer>", "gold": "41", "nums": [40, 2], "target": 42}]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    code = main(["score", "--rules", "accuracy,countdown,overlong", "--input", str(src), "--output", str(out),
                 "--answer-key", "gold", "--completion-key", "text", "--mode", "lenient",
                 "--set", "overlong.max_len=16", "--set", "overlong.buffer=4"])
    assert code == 0
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["accuracy"] for g in got] == [1.0, 0.0]
    assert [g["countdown"] for g in got] == [0.0, 1.0]
    assert got[1]["overlong"] == -1.0  # 24 characters > max_len 16


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([RECORDS[0], "not json"], "line 2: not valid JSON"),
        ([RECORDS[0], {"completion": "x"}], "line 2: missing key 'answer'"),
        ([RECORDS[0], [1, 2]], "line 2: expected a JSON object"),
        ([], "no records"),
    ],
)
def test_bad_input_names_the_line_and_leaves_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     lines: list, message: str) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "sub" / "out.jsonl"
    assert main(["score", "--rules", "accuracy", "--input", str(src), "--output", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "sub").exists() or not list((tmp_path / "sub").iterdir())


def test_other_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    assert main(["score", "--rules", "accuracy", "--input", str(tmp_path / "nope.jsonl")]) == 2
    assert "input file not found" in capsys.readouterr().err
    assert main(["score", "--rules", "acc", "--input", str(src)]) == 2
    assert "Available: accuracy" in capsys.readouterr().err
    assert main(["score", "--rules", "accuracy", "--input", str(src), "--set", "oops"]) == 2
    assert "RULE.PARAM=VALUE" in capsys.readouterr().err
    assert main(["score", "--rules", "countdown", "--input", str(src)]) == 2  # rows have no nums/target
    assert "'nums'" in capsys.readouterr().err


def test_console_script_list_and_score(tmp_path: Path) -> None:
    """The installed ``r1lite`` entry point dispatches to this CLI."""
    exe = Path(sys.executable).with_name("r1lite")
    listed = subprocess.run([str(exe), "rewards", "list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0
    for name in ("accuracy", "format", "tag_count", "language", "overlong", "repetition", "countdown"):
        assert name in listed.stdout
    src = write_jsonl(tmp_path / "in.jsonl", RECORDS[:2])
    out = tmp_path / "o.jsonl"
    done = subprocess.run([str(exe), "rewards", "score", "--rules", "format,tag_count", "--input", str(src),
                           "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["tag_count"] for line in out.read_text().splitlines()] == [1.0, 1.0]


def test_list_shows_every_rule_in_plain_one_line_text(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    from r1lite.rewards import REWARDS
    from r1lite.rewards.cli import summary_line

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in REWARDS.names():
        assert re.search(rf"│ {name}\s", out), name
    assert "gym" in REWARDS.names()  # registered without importing the tasks first
    assert "``" not in out and ":func:" not in out
    assert summary_line("Partial credit (see :func:`~r1lite.x.tag_score`), max ``1.0``.\n\nMore.") == \
        "Partial credit (see tag_score), max 1.0."
    assert summary_line("1.0 if right. Else 0.0.") == "1.0 if right."


CONCISE = '''
def concise(completions, max_words: int = 50, **kwargs):
    return [float(len(c.split()) <= max_words) for c in completions]
'''


def test_set_binds_a_rule_loaded_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "my_rules.py").write_text(CONCISE)
    src = write_jsonl(tmp_path / "in.jsonl", [{"completion": "one two three", "answer": "1"}])
    out = tmp_path / "out.jsonl"
    spec = f"{tmp_path / 'my_rules.py'}:concise"
    assert main(["score", "--rules", spec, "--input", str(src), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["concise"] == 1.0  # default max_words=50
    for key in ("concise", spec):  # the short name and the full spec both bind
        assert main(["score", "--rules", spec, "--input", str(src), "--output", str(out),
                     "--set", f"{key}.max_words=2"]) == 0
        assert json.loads(out.read_text())["concise"] == 0.0, key


def test_set_unknown_parameter_lists_the_valid_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", RECORDS[:1])
    assert main(["score", "--rules", "accuracy", "--input", str(src), "--set", "accuracy.nosuch=2"]) == 2
    err = capsys.readouterr().err
    assert "reward rule 'accuracy' has no parameter 'nosuch'; its parameters: mode, timeout, answer_key" in err
    assert main(["score", "--rules", "accuracy", "--input", str(src), "--set", "format.prefilled_think=1"]) == 2
    assert "--set names rules not in --rules: format" in capsys.readouterr().err
