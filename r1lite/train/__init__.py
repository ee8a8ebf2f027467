"""Training: the ``r1lite train`` command and everything one run is made of.

``command`` (the CLI: config -> model -> trainer -> run), ``parser`` (TRL's ``TrlParser`` extended),
``config`` (``R1Config``: TRL's ``GRPOConfig`` plus r1lite's fields, and the thread policy), ``run_config``
(the config that travels with the weights), ``trainer`` (``R1Trainer``, a ``GRPOTrainer`` subclass),
``callbacks`` (progress, metrics, held-out hooks, plots), ``learning_signal`` (the no-signal guard) and
``env`` (``r1lite env``). May import every other r1lite package; nothing outside ``r1lite.algos.ppo``
imports this one.
"""
