"""Runnable recipes: ``python -m r1lite.recipes.<name>``."""
