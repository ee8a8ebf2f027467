"""The package layout says what may import what (each subpackage's ``__init__`` docstring); this holds it.

Static: every ``import``/``from ... import`` in a module's source, at any depth (lazy imports count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "r1lite"
TOP_LEVEL = {"__init__.py", "cli.py", "models.py", "registry.py", "jsonl.py", "hub.py", "progress.py"}
SUBPACKAGES = {"algos", "eval", "rollout", "train"}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a file imports (``from r1lite.x import y`` gives ``r1lite.x`` and ``r1lite.x.y``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def package_imports(package: str) -> dict[str, set[str]]:
    return {p.name: imported_modules(p) for p in sorted((ROOT / package).glob("*.py"))}


def test_top_level_is_the_face_the_cli_and_small_utilities():
    files = {p.name for p in ROOT.glob("*.py")}
    dirs = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert files == TOP_LEVEL, f"new top-level modules belong in a subpackage: {sorted(files - TOP_LEVEL)}"
    assert dirs == SUBPACKAGES


@pytest.mark.parametrize("package", sorted(SUBPACKAGES))
def test_each_subpackage_says_what_lives_there(package):
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
    assert doc and "import" in doc, f"r1lite/{package}/__init__.py must say what lives there and what it may import"


def test_rollout_builds_on_nothing_above_it():
    for name, mods in package_imports("rollout").items():
        bad = {m for m in mods if m.startswith(("r1lite.train", "r1lite.eval"))}
        assert not bad, f"r1lite/rollout/{name} imports {sorted(bad)}"


def test_only_ppo_in_algos_reaches_the_trainer_and_ppo_maths_is_pure_torch():
    for name, mods in package_imports("algos").items():
        if name != "ppo.py":
            assert not {m for m in mods if m.startswith("r1lite.train")}, f"r1lite/algos/{name} imports r1lite.train"
        if name == "ppo_core.py":  # the one place for PPO maths: pure torch, testable by hand
            assert not {m for m in mods if m.split(".")[0] in {"trl", "transformers"}}, f"r1lite/algos/{name}"


def test_the_public_classes_import_from_the_package_face():
    import r1lite

    assert r1lite.R1Trainer.__module__ == "r1lite.train.trainer"
    assert r1lite.PPOTrainer.__module__ == "r1lite.algos.ppo"
    with pytest.raises(AttributeError):
        r1lite.NoSuchThing  # noqa: B018
