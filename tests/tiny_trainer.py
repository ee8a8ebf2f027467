"""A tiny ``R1Trainer`` whose reward variance is known per prompt, for tests that call the trainer's pieces directly.

Rows 0-19 are 'var' prompts (the G completions of a group score 0, 1, 2, 3: reward variance), row 20 the 'const'
prompt (every completion scores 1: a zero-variance group).
"""

from __future__ import annotations

from datasets import Dataset

from r1lite.train.config import R1Config
from r1lite.train.trainer import R1Trainer

G = 4
CONST_ROW, VAR_ROW = 20, 0


def kind_reward(completions, kind, **kwargs):
    """'const' prompts: every completion scores 1 (zero variance); 'var': 0, 1, 2, 3 within the group."""
    return [1.0 if k == "const" else float(i % G) for i, k in enumerate(kind)]


def make_trainer(model_dir: str, out, **overrides) -> R1Trainer:
    from r1lite.models import load_tokenizer

    rows = [{"prompt": f"Q{i}: what is {i} + 1?", "kind": "var"} for i in range(20)]
    rows.append({"prompt": "Q: say one", "kind": "const"})
    params = dict(output_dir=str(out), per_device_train_batch_size=2 * G, num_generations=G,
                  max_completion_length=10, loss_type="dapo", report_to="none", save_strategy="no", seed=3)
    params.update(overrides)
    trainer = R1Trainer(model=model_dir, reward_funcs=[kind_reward], args=R1Config(**params),
                        train_dataset=Dataset.from_list(rows), processing_class=load_tokenizer(model_dir))
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer.train(); these tests call the pieces directly
    return trainer


def const_then_var(trainer: R1Trainer) -> list[dict]:
    """One zero-variance group followed by one group with variance."""
    return [dict(trainer.train_dataset[CONST_ROW])] * G + [dict(trainer.train_dataset[VAR_ROW])] * G
