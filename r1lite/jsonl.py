"""Reading JSONL (and other text) input files with errors that name the file and line (used by tasks,
the rewards CLI and the evaluator).

Decoding is done here, line by line, rather than by ``open(encoding="utf-8")``: Python's codec error
("'utf-8' codec can't decode byte 0xff in position 12") names neither the file nor the line, and a user
with one bad byte in a 100 MB file needs both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def decode_line(raw: bytes, path: Path | str, lineno: int, error: type[Exception] = ValueError) -> str:
    """``raw`` as UTF-8 (a leading byte-order mark on line 1 is dropped), or ``error`` naming the spot."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise error(f"{path} line {lineno}: not valid UTF-8 (byte 0x{bad} at column {exc.start + 1}); "
                    "re-save the file as UTF-8") from None
    return text.removeprefix("\ufeff") if lineno == 1 else text


def read_text(path: Path | str, error: type[Exception] = ValueError) -> str:
    """The whole file as UTF-8 text; undecodable bytes raise ``error`` with the file and line."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        decode_line(data[start : len(data) if end < 0 else end], path, lineno, error)
        raise  # pragma: no cover - decode_line raised for the same bytes


def read_jsonl(path: Path, error: type[Exception] = ValueError) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line; a line that is not UTF-8 or not a JSON object
    raises ``error`` with ``<path> line <n>: ...`` so a user can open the file at the right place."""
    with Path(path).open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = decode_line(raw, path, lineno, error)
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{path} line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(rec, dict):
                raise error(f"{path} line {lineno}: expected a JSON object, got {type(rec).__name__}")
            yield lineno, rec
