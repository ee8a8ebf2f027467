"""Rollouts: turning prompts into completions.

``generation`` is the one generation path (vLLM where installed, CPU or GPU, else transformers
``generate``); ``vllm_engine`` builds the in-process engine and syncs the policy's weights into it;
``prefix_sharing`` scores a group's completions with its prompt run once; ``sampling`` runs the held-out
passes during training; ``server`` runs the engine as a vLLM server (its own process, HTTP) and
``async_rollout`` generates the next step's rollouts on it while the trainer updates. May import ``r1lite.models``, ``r1lite.progress`` and ``r1lite.rewards``/``tasks``;
never ``r1lite.train`` or ``r1lite.eval`` (they build on this package, not the other way round).
"""
