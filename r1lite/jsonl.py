"""Reading JSONL input files with errors that name the file and line (used by tasks and the rewards CLI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def read_jsonl(path: Path, error: type[Exception] = ValueError) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line; a line that is not a JSON object raises
    ``error`` with ``<path> line <n>: ...`` so a user can open the file at the right place."""
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{path} line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(rec, dict):
                raise error(f"{path} line {lineno}: expected a JSON object, got {type(rec).__name__}")
            yield lineno, rec
