"""Importing this module registers every built-in reward rule (``gym`` lives with its task, which loads
reasoning-gym only when a gym task is used, so listing it costs nothing)."""

from r1lite.rewards import accuracy, countdown, format, language, overlong, repetition  # noqa: F401
from r1lite.tasks import gym  # noqa: F401
