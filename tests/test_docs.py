"""Every ``r1lite ...`` and ``python -m r1lite...`` command in the README's and the docs' code blocks still parses:
its subcommand exists and every flag is one the command accepts (and, for training, every value is in range).
Nothing runs: argument parsing stops each command before it loads anything."""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest

from r1lite.cli import SUBCOMMANDS

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL = ("bash", "sh", "shell", "console", "")
ENV_ONLY = ("is not installed",)  # an optional extra this machine lacks is not a wrong command


def commands(path: Path) -> list[str]:
    """The r1lite commands in ``path``'s code blocks: continuation lines joined, comments and env prefixes
    stripped, anything before ``-m r1lite.`` (``accelerate launch ...``) dropped."""
    found = []
    for block in shell_blocks(path.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("#"):
                continue
            match = re.search(r"(?:^|\s)(r1lite\s.*|python3? -m r1lite\..*|-m r1lite\..*)$", line)
            if match:
                found.append(match.group(1).strip())
    return found


def shell_blocks(text: str) -> list[str]:
    """The bodies of the fenced code blocks whose language is a shell (or unnamed)."""
    blocks, lang, body = [], None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang, body = line[3:].strip(), []
            else:
                if lang in SHELL:
                    blocks.append("\n".join(body) + "\n")
                lang = None
        elif lang is not None:
            body.append(line)
    return blocks


CASES = [(path.name, cmd) for path in PAGES for cmd in commands(path)]


class Parsed(BaseException):
    """Raised right after a subcommand's argparse parser accepted the arguments (so nothing else runs)."""


def parse_train(args: list[str], default_config: Path | None) -> None:
    from r1lite.train.command import parse_config
    from r1lite.train.config import ConfigError

    try:
        parse_config(args, default_config)
    except ConfigError as exc:
        if not any(s in str(exc) for s in ENV_ONLY):
            raise


def check(cmd: str, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = shlex.split(cmd)
    if argv[0] in ("python", "python3"):
        argv = argv[1:]
    if argv[0] == "-m":
        module, args = argv[1], argv[2:]
        if module.startswith("r1lite.recipes."):
            recipe = REPO / "recipes" / f"{module.rsplit('.', 1)[1]}.yaml"
            assert recipe.is_file(), f"no recipe {recipe.name} for {cmd!r}"
            return parse_train(args, recipe)
        assert module == "r1lite.cli", f"unknown module in {cmd!r}"
        argv = ["r1lite", *args]
    assert argv[0] == "r1lite", cmd
    if len(argv) == 1 or argv[1] in ("-h", "--help", "-V", "--version"):
        return None
    name, args = argv[1], argv[2:]
    assert name in SUBCOMMANDS, f"unknown subcommand {name!r} in {cmd!r}"
    if name == "train":
        return parse_train(args, None)

    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        original(self, args, namespace)  # exits with status 2 on an unknown flag or a bad value
        raise Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    module = importlib.import_module(SUBCOMMANDS[name][0])
    try:
        module.main(args)
    except Parsed:
        return None
    except SystemExit as exc:
        pytest.fail(f"{cmd!r} does not parse (exit {exc.code})")
    pytest.fail(f"{cmd!r}: r1lite {name} ran without parsing arguments")


def test_pages_hold_commands() -> None:
    names = {page for page, _ in CASES}
    assert {"README.md", "training.md", "evaluation.md", "diagnostics.md"} <= names, names
    assert len(CASES) >= 25


@pytest.mark.parametrize(("page", "cmd"), CASES, ids=[f"{p}:{c[:60]}" for p, c in CASES])
def test_command_parses(page: str, cmd: str, monkeypatch: pytest.MonkeyPatch) -> None:
    check(cmd, monkeypatch)


@pytest.mark.parametrize("cmd", ["r1lite trian --max-steps 2", "r1lite eval --modle x",
                                 "python -m r1lite.recipes.arithmetic --max_stepz 3",
                                 "r1lite train --config recipes/arithmetic.yaml --learning_rate -1"])
def test_a_broken_command_is_caught(cmd: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a misspelled subcommand or flag, or a value out of range."""
    from r1lite.train.config import ConfigError

    with pytest.raises((AssertionError, pytest.fail.Exception, ConfigError)):
        check(cmd, monkeypatch)
