"""Evaluation: ``r1lite eval`` and how its numbers are made.

``evaluate`` (the command: benchmarks, sampling, resume), ``grading`` (strict/lenient extraction, format,
a second checker), ``sympy_check`` (that independent checker), ``metrics`` (mean@n, pass@k, maj@k,
bootstrap intervals) and ``report`` (tables, charts, ``r1lite eval compare``). May import
``r1lite.rollout``, ``r1lite.rewards``, ``r1lite.tasks`` and the top-level utilities; ``evaluate`` reads
``r1lite.train.config``/``run_config`` only for the thread policy and a checkpoint's own template.
"""
