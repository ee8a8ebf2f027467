"""Launched by tests/test_critic_multiprocess.py (DDP, CPU processes, gloo) and tests/test_critic_sharded.py
(FSDP / DeepSpeed ZeRO from recipes/accelerate/, CUDA): the critic under ``accelerate launch``, or alone.

``critic MODEL OUT``: a bare Critic attached to an Accelerator, two updates on this process's rows of a fixed
batch (every process starts from a differently seeded value head: preparing must make them equal), then
``Critic.save`` to ``OUT/critic_ckpt``.
``ppo MODEL OUT RULE``: two PPO steps through r1lite's trainer (the GPU preset where CUDA is present).
Both write the critic's full weights (gathered: a sharded process may hold none) from every process that has them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "arithmetic.yaml"


def fixed_batch(vocab: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    prompt_ids = torch.randint(5, vocab, (4, 3), generator=gen)
    completion_ids = torch.randint(5, vocab, (4, 5), generator=gen)
    returns = torch.tensor([[1.0] * 5, [-1.0] * 5, [0.5] * 5, [2.0] * 5])
    return prompt_ids, torch.ones(4, 3, dtype=torch.long), completion_ids, torch.ones(4, 5, dtype=torch.long), returns


def save_full_state(critic, path: Path) -> None:
    """The critic's full weights on CPU (FSDP / ZeRO-3 gather them on the main process only)."""
    state = critic.full_state_dict()
    if state:
        torch.save({k: v.detach().float().cpu() for k, v in state.items()}, path)


def critic_mode(model_dir: str, out: Path) -> None:
    from accelerate import Accelerator

    from r1lite.algos.critic import Critic

    acc = Accelerator(cpu=not torch.cuda.is_available())
    rank, world = acc.process_index, acc.num_processes
    torch.manual_seed(100 + rank)
    critic = Critic.from_pretrained(model_dir, lr=1e-2, max_grad_norm=1.0)
    critic.attach(acc)
    pi, pm, ci, cm, ret = fixed_batch(critic.model.config.vocab_size)
    rows = slice(rank * 4 // world, (rank + 1) * 4 // world)  # 2 processes: 2 rows each; 1 process: all 4
    pi, pm, ci, cm, ret = (t[rows].to(acc.device) for t in (pi, pm, ci, cm, ret))
    for step in range(2):
        old = critic.values(pi, pm, ci, cm)
        critic.update(pi, pm, ci, cm, old, ret, clip=None, epochs=1, seed=step)
    save_full_state(critic, out / f"critic_rank{rank}_of{world}.pt")
    critic.save(out / "critic_ckpt", is_main=acc.is_main_process)
    (out / f"critic_rank{rank}_of{world}.json").write_text(json.dumps({"wrapper": type(critic.wrapped).__name__,
                                                                       "distributed": critic.distributed_type}))


def ppo_mode(model_dir: str, out: Path, rule: str) -> None:
    from r1lite.train.command import build_run, make_trainer, parse_config
    from r1lite.train.config import apply_threads

    preset = ["--preset", "gpu", "--use_vllm", "false"] if torch.cuda.is_available() else ["--preset", "cpu"]
    argv = ["--algo", "ppo", "--model", model_dir, "--output_dir", str(out / "run"), *preset,
            "--sampler", "transformers", "--per_device_train_batch_size", "4", "--num_generations", "2",
            "--max_completion_length", "8", "--heldout_n", "0", "--learning_rate", "1e-3",
            "--critic_learning_rate", "1e-2", "--max-steps", "2", "--save_strategy", "no", "--table_every", "0",
            "--plot", "false", "--rewards", f"{rule}=1.0,format=0.2"]
    cfg, _ = parse_config(argv, default_config=RECIPE)
    apply_threads(cfg.threads)
    trainer = make_trainer(build_run(cfg))
    trainer.train()
    rank = trainer.accelerator.process_index
    save_full_state(trainer.critic, out / f"ppo_critic_rank{rank}.pt")
    (out / f"ppo_rank{rank}.json").write_text(json.dumps({"wrapper": type(trainer.critic.wrapped).__name__,
                                                          "updates": trainer._critic_updates}))


if __name__ == "__main__":
    mode, model, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if mode == "critic":
        critic_mode(model, folder)
    else:
        ppo_mode(model, folder, sys.argv[4])
