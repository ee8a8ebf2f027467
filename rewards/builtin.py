"""Importing this module registers every built-in reward rule."""

from r1lite.rewards import accuracy, countdown, format, language, overlong, repetition  # noqa: F401
