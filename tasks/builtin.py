"""Importing this module registers every built-in task."""

from r1lite.tasks import arithmetic, countdown, gsm8k, math  # noqa: F401
