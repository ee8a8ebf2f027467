"""r1lite: R1-Zero style RL from verifiable, rule-based rewards, built on TRL."""

from pathlib import Path as _Path

__version__ = "0.1.0"

# `rewards/`, `tasks/` and `recipes/` live beside this folder and are mapped into the
# `r1lite` namespace by pyproject's package-dir.  When r1lite is imported straight from a
# source checkout (cwd on sys.path, e.g. `python -m r1lite.recipes.gsm8k` in the repo root
# with a non-editable install) that mapping is not in play, so point the package path at the
# checkout root too.  Installed wheels have no such siblings and are unaffected.
_root = _Path(__file__).resolve().parent.parent
if (_root / "pyproject.toml").is_file() and (_root / "rewards" / "__init__.py").is_file():
    __path__.append(str(_root))  # type: ignore[name-defined]  # noqa: F821
