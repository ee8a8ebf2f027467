"""Undecodable bytes in any JSONL/JSON/CSV the project reads: one error naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from r1lite.rewards.cli import main as rewards_main
from r1lite.tasks.base import TaskError
from r1lite.tasks.sources import read_records

from r1lite.eval.evaluate import EvalError, SampleStore, load_custom
from r1lite.jsonl import read_jsonl, read_text

GOOD = json.dumps({"question": "1+1?", "answer": "2", "completion": "<answer>2</answer>"})
# line 3 holds a Latin-1 "é" (0xe9), as a file saved in the wrong encoding does
BAD = (GOOD + "\n" + GOOD + "\n").encode() + b'{"question": "caf\xe9", "answer": "2", "completion": "x"}\n'


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_read_jsonl_names_file_line_and_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, "in.jsonl", BAD)
    rows = read_jsonl(path, TaskError)
    assert next(rows)[0] == 1 and next(rows)[0] == 2  # good lines before the bad one still read
    with pytest.raises(TaskError) as info:
        next(rows)
    assert str(info.value) == f"{path} line 3: not valid UTF-8 (byte 0xe9 at column 18); re-save the file as UTF-8"


def test_byte_order_mark_and_blank_lines_are_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, "bom.jsonl", b"\xef\xbb\xbf" + GOOD.encode() + b"\n\n" + GOOD.encode() + b"\n")
    assert [n for n, _ in read_jsonl(path)] == [1, 3]
    assert read_text(_write(tmp_path, "bom.json", b"\xef\xbb\xbf[]")) == "[]"


def test_read_text_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.txt", b"ok\nstill ok\nbad \xff here\n")
    with pytest.raises(ValueError, match=r"x.txt line 3: not valid UTF-8 \(byte 0xff at column 5\)"):
        read_text(path)


def test_rewards_score_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "completions.jsonl", BAD)
    assert rewards_main(["score", "--rules", "accuracy", "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path} line 3: not valid UTF-8" in err and err.count("\n") == 1  # one line, no traceback


@pytest.mark.parametrize(("name", "data", "line"), [
    ("data.jsonl", BAD, 3),
    ("data.json", b'[{"question": "a", "answer": "1"},\n {"question": "\xff", "answer": "2"}]', 2),
    ("data.csv", b"question,answer\nq1,1\nq\xfe,2\n", 3),
])
def test_task_data_files(tmp_path: Path, name: str, data: bytes, line: int) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(TaskError, match=rf"{name} line {line}: not valid UTF-8"):
        read_records(path)


def test_eval_inputs(tmp_path: Path) -> None:
    path = _write(tmp_path, "bench.jsonl", BAD)
    with pytest.raises(EvalError, match="bench.jsonl line 3: not valid UTF-8"):
        load_custom(str(path), None, "question", "answer")
    store = _write(tmp_path, "samples.jsonl", b'{"run_key": "k"}\n\xc3\x28\n')
    with pytest.raises(EvalError, match="samples.jsonl line 2: not valid UTF-8"):
        SampleStore(store, "k", overwrite=False)
