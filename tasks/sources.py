"""Where a task's records come from: a local file, ``$R1LITE_DATA_DIR`` or the Hugging Face Hub.

Resolution order (first that loads wins):

1. an explicit source: a local JSONL/JSON/Parquet/CSV file (or, if it is not a path, a Hub id);
2. ``$R1LITE_DATA_DIR/<data_name>/<split>.jsonl`` (the layout of ``../shared/data``);
3. the task's default Hub dataset (``datasets.load_dataset``).

When nothing loads, :class:`DataSourceError` lists every attempt and how to pass a local file,
so an offline machine or a typo gets a fix rather than a traceback from deep inside ``datasets``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from r1lite.tasks.base import TaskError

FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
DATA_DIR_ENV = "R1LITE_DATA_DIR"


class DataSourceError(TaskError, FileNotFoundError):
    """No source could be loaded; the message lists what was tried."""


def looks_like_path(source: str) -> bool:
    """A file path (by suffix, separator or existence) rather than a Hub id like ``openai/gsm8k``."""
    s = source.strip()
    return (s.lower().endswith(FILE_SUFFIXES) or s.startswith((".", "~", "/")) or os.sep in s and Path(s).exists()
            or Path(s).expanduser().is_file())


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Records of a JSONL, JSON (a list of objects, or ``{"data": [...]}``), Parquet or CSV file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataSourceError(f"data file {p} not found")
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        records = _read_jsonl(p)
    elif suffix == ".json":
        records = _read_json(p)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        records = pq.read_table(p).to_pylist()
    elif suffix == ".csv":
        from r1lite.jsonl import read_text

        records = [dict(row) for row in csv.DictReader(io.StringIO(read_text(p, TaskError), newline=""))]
    else:
        raise DataSourceError(f"data file {p}: unsupported format {suffix!r}; use one of {', '.join(FILE_SUFFIXES)}")
    if not records:  # said here, by name: later it would be a dataset of 0 rows failing somewhere deep
        raise DataSourceError(f"data file {p} is empty (no records); fill it or point at another file")
    return records


def _read_jsonl(p: Path) -> list[dict[str, Any]]:
    from r1lite.jsonl import read_jsonl

    return [rec for _, rec in read_jsonl(p, TaskError)]


def _read_json(p: Path) -> list[dict[str, Any]]:
    from r1lite.jsonl import read_text

    try:
        data = json.loads(read_text(p, TaskError))
    except json.JSONDecodeError as exc:
        raise TaskError(f"{p}: not valid JSON ({exc})") from exc
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise TaskError(f"{p}: expected a list of objects (or an object holding exactly one list)")
        data = lists[0]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise TaskError(f"{p}: expected a list of objects")
    return data


def data_dir_file(data_name: str, split: str) -> Path | None:
    """``$R1LITE_DATA_DIR/<data_name>/<split>.jsonl`` (any supported suffix) if it exists."""
    root = os.environ.get(DATA_DIR_ENV)
    if not root:
        return None
    for suffix in FILE_SUFFIXES:
        path = Path(root).expanduser() / data_name / f"{split}{suffix}"
        if path.is_file():
            return path
    return None


def load_hub(hub_id: str, config: str | None, split: str) -> list[dict[str, Any]]:
    """Records of one split of a Hub dataset (raises whatever ``datasets`` raises)."""
    import datasets

    ds = datasets.load_dataset(hub_id, config, split=split)
    return [dict(r) for r in ds]


def resolve_records(
    task_name: str,
    split: str,
    *,
    source: str | None,
    data_name: str,
    hub_id: str | None,
    hub_config: str | None = None,
    hub_split: str | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Load ``split``'s records following the resolution order; returns ``(records, source description)``."""
    tried: list[str] = []
    if source:
        if looks_like_path(source):
            path = Path(source).expanduser()
            if not path.is_file():
                raise DataSourceError(
                    f"task {task_name!r}: data file {path} not found. Pass an existing JSONL/JSON/Parquet/CSV "
                    f"file (--data-path / --task_source / source=) or a Hub dataset id.")
            return read_records(path), str(path.resolve())
        hub_id, hub_config, hub_split = source, None, None  # an explicit Hub id replaces the default
    else:
        local = data_dir_file(data_name, split)
        if local is not None:
            return read_records(local), str(local.resolve())
        root = os.environ.get(DATA_DIR_ENV)
        tried.append(f"${DATA_DIR_ENV}/{data_name}/{split}.jsonl" + (f" (in {root}: not found)" if root
                                                                       else f" (${DATA_DIR_ENV} is not set)"))
    if hub_id:
        where = f"Hub dataset {hub_id}" + (f" (config {hub_config})" if hub_config else "") + f", split {hub_split or split}"
        from r1lite.hub import offline_if_unreachable

        offline = offline_if_unreachable()  # no network: the cache or a quick failure, not ~23 s of retries
        print(f"[r1lite] task {task_name}: loading {where}" + (f" from the local cache ({offline})" if offline
                                                                else "") + " ...", file=sys.stderr)
        try:
            return load_hub(hub_id, hub_config, hub_split or split), where
        except Exception as exc:  # offline, unknown id, missing split: all end up in the message
            tried.append(f"{where}: {type(exc).__name__}: {_first_line(exc)}")
    else:
        tried.append("no default Hub dataset for this task")
    raise DataSourceError(
        f"task {task_name!r}: could not load split {split!r}. Tried:\n  - " + "\n  - ".join(tried)
        + f"\nFix: pass a local JSONL/JSON/Parquet/CSV file (`r1lite tasks show --data-path FILE`, "
          f"`--task_source FILE` when training, source='FILE' in Python), "
          f"or set {DATA_DIR_ENV} to a directory holding {data_name}/{split}.jsonl, or go online for the Hub."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""
