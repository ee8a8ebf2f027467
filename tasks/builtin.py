"""Importing this module registers every built-in task (and the ``gym`` rule; reasoning-gym loads lazily)."""

from r1lite.tasks import arithmetic, countdown, gsm8k, gym, math, word_problems  # noqa: F401
