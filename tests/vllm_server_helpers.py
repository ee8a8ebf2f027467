"""Shared by the vLLM server-mode tests (test_vllm_server, test_async_rollouts): tolerances, prompts, a trainer.

TOL and STALE as in tests/test_vllm.py (see its docstring for how they were measured).
"""

from __future__ import annotations

TOL = 1e-2
STALE = 0.1
PROMPTS = ["What is 2 + 3?", "Compute 7 * 8.", "A farmer has 17 sheep and buys 5 more."]


def varied_reward(completions, **kwargs):
    return [float(len(c)) for c in completions]


def make_trainer(model_dir: str, out: str, url: str, **overrides):
    from datasets import Dataset

    from r1lite.models import load_tokenizer
    from r1lite.train.config import R1Config
    from r1lite.train.trainer import R1Trainer

    settings = dict(output_dir=out, sampler="vllm", vllm_mode="server", vllm_server_base_url=url, max_steps=2,
                    num_generations=4, per_device_train_batch_size=8, max_completion_length=12, learning_rate=3e-2,
                    beta=0.0, save_strategy="no", report_to="none", logging_steps=1, seed=0, disable_tqdm=True)
    settings.update(overrides)
    cfg = R1Config(**settings)
    return R1Trainer(model=model_dir, reward_funcs=[varied_reward], args=cfg,
                     train_dataset=Dataset.from_dict({"prompt": PROMPTS * 8}), processing_class=load_tokenizer(model_dir))

