"""The README says what the code does: the recipe table matches recipes/*.yaml, the install is true off this machine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from r1lite.train.command import parse_config

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
RECIPES = sorted(p.stem for p in (REPO / "recipes").glob("*.yaml"))


TRAINING = (REPO / "docs" / "training.md").read_text()


def recipe_table(text: str = README) -> dict[tuple[str, str], list[str]]:
    """(recipe, preset) -> the other cells of the recipe table in ``text`` (the README's, or the docs')."""
    README = text
    start = README.index("<!-- recipe-table")
    rows: dict[tuple[str, str], list[str]] = {}
    for line in README[start:].splitlines()[3:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[(cells[0].strip("`"), cells[1].strip("`"))] = cells[2:]
    return rows


def expected_cells(recipe: str, preset: str) -> list[str]:
    """The row as the config the recipe's preset parses to (what a run really uses)."""
    cfg, _ = parse_config(["--preset", preset, "--output_dir", "unused"], REPO / "recipes" / f"{recipe}.yaml")
    completions = cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps
    steps = str(cfg.max_steps) if cfg.max_steps > 0 else f"{cfg.num_train_epochs:g} epoch"
    template = f"`{Path(cfg.template).name}`" if cfg.template else "auto"
    return [f"`{cfg.model}`", f"{completions // cfg.num_generations} prompts x {cfg.num_generations} completions",
            str(cfg.max_completion_length), steps, f"{cfg.learning_rate:g}", str(cfg.heldout_n), template]


@pytest.mark.parametrize("text", [README, TRAINING], ids=["README", "docs/training.md"])
def test_recipe_table_lists_every_recipe_and_preset(text: str) -> None:
    assert RECIPES and set(recipe_table(text)) == {(r, p) for r in RECIPES for p in ("cpu", "gpu")}


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("preset", ["cpu", "gpu"])
def test_recipe_table_row_matches_the_yaml(recipe: str, preset: str) -> None:
    expected = expected_cells(recipe, preset)
    assert recipe_table()[(recipe, preset)] == expected
    assert recipe_table(TRAINING)[(recipe, preset)] == expected


def bash_block_after(marker: str) -> str:
    rest = README[README.index(marker):]
    return rest[rest.index("```bash") + 7: rest.index("```", rest.index("```bash") + 7)]


def test_install_gives_the_cpu_torch_a_stock_machine_needs() -> None:
    ci = bash_block_after("<!-- ci:install -->")
    pin = re.search(r"pip install (torch==[\w.]+)\n", ci)
    assert pin and "--index-url" not in ci  # CI here installs from the local wheel directory, offline
    user = bash_block_after("**On your own Linux machine**")
    assert f"pip install {pin.group(1)} --index-url https://download.pytorch.org/whl/cpu" in user
    same = [line.split("#")[0].strip() for line in ci.splitlines() if "torch==" not in line]
    assert same == [line.strip() for line in user.splitlines() if "torch==" not in line]  # otherwise the same
