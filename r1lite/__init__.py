"""r1lite: R1-Zero style RL from verifiable, rule-based rewards, built on TRL.

The package face: ``R1Trainer``/``R1Config`` (GRPO and the other estimators) and ``PPOTrainer``/``PPOConfig``
import from here; reward rules from ``r1lite.rewards``, tasks from ``r1lite.tasks``. They load lazily, so
``r1lite rewards ...`` never pays for importing TRL. Inside: ``rollout/`` (generation), ``train/`` (the
``r1lite train`` command, config, trainer, callbacks), ``algos/`` (estimators, PPO maths, critic), ``eval/``
(``r1lite eval``, grading, metrics); ``cli``, ``models``, ``registry``, ``jsonl``, ``hub`` and ``progress`` are
the small shared pieces at the top.
"""

from importlib import import_module as _import_module
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

_PUBLIC = {
    "R1Trainer": "r1lite.train.trainer",
    "R1Config": "r1lite.train.config",
    "PPOTrainer": "r1lite.algos.ppo",
    "PPOConfig": "r1lite.algos.ppo",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    """Import the public classes on first use (TRL is heavy; the rewards CLI must not pay for it)."""
    if name in _PUBLIC:
        return getattr(_import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'r1lite' has no attribute {name!r}")
