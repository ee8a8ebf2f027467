"""Shared-prompt scoring (r1lite.rollout.prefix_sharing) gives TRL's numbers: log-probs, entropies, gradients, a whole step.

fp32 on CPU; the two paths differ only in summation order (attention over a cache vs one sequence), so they agree
to ~1e-6; ``TOL = 1e-4`` is far below any real difference (one changed weight moves log-probs by > 1e-2).
"""

from __future__ import annotations

import itertools

import pytest
import torch

TOL = 1e-4


@pytest.fixture()
def fused_model(tiny_model_dir: str):
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    add_fused_lm_head(model, temperature=0.7, outputs=("log_probs", "entropy"))
    return model


def batch(pad_id: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Two prompts (one left-padded) x 3 completions each, completions right-padded to different lengths."""
    g = torch.Generator().manual_seed(0)
    prompts = [torch.randint(5, 1000, (9,), generator=g), torch.randint(5, 1000, (6,), generator=g)]
    lengths = [5, 3, 4, 2, 5, 1]
    t, width = 5, 9
    ids = torch.full((6, width + t), pad_id)
    mask = torch.zeros_like(ids)
    for row in range(6):
        p = prompts[row // 3]
        ids[row, width - len(p):width] = p
        mask[row, width - len(p):width] = 1
        ids[row, width:width + lengths[row]] = torch.randint(5, 1000, (lengths[row],), generator=g)
        mask[row, width:width + lengths[row]] = 1
    return ids, mask, t


def trl_pass(model, ids, mask, t):
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :-t] = -100
    out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    return out.log_probs[:, -t:], out.entropy[:, -t:]


def test_groups_in_order_of_first_appearance() -> None:
    from r1lite.rollout.prefix_sharing import prompt_groups

    ids = torch.tensor([[3, 4], [1, 2], [3, 4], [1, 2], [0, 9]])
    first, inverse = prompt_groups(ids, torch.ones_like(ids))
    assert first.tolist() == [0, 1, 4] and inverse.tolist() == [0, 1, 0, 1, 2]
    mask = torch.tensor([[1, 1], [1, 1], [0, 1], [1, 1], [1, 1]])  # same ids, other padding: another prompt
    assert prompt_groups(ids, mask)[0].tolist() == [0, 1, 2, 4]


def test_log_probs_entropies_and_gradients_match_trl(fused_model) -> None:
    from r1lite.rollout.prefix_sharing import shared_prefix_logps

    ids, mask, t = batch(pad_id=0)
    ref_lp, ref_ent = trl_pass(fused_model, ids, mask, t)
    (ref_lp * mask[:, -t:]).sum().backward()
    ref_grads = {n: p.grad.clone() for n, p in fused_model.named_parameters() if p.grad is not None}
    fused_model.zero_grad()

    lp, ent = shared_prefix_logps(fused_model, ids, mask, t, compute_entropy=True)
    (lp * mask[:, -t:]).sum().backward()
    valid = mask[:, -t:].bool()
    assert valid.sum() > 10 and ref_lp[valid].abs().min() > 1e-3  # real numbers, not zeros
    assert (lp[valid] - ref_lp[valid]).abs().max() < TOL
    assert (ent[valid] - ref_ent[valid]).abs().max() < TOL
    assert (lp[~valid] == 0).all()
    for name, grad in ref_grads.items():
        got = dict(fused_model.named_parameters())[name].grad
        assert got is not None, name
        assert (got - grad).abs().max() <= TOL * max(1.0, grad.abs().max().item()), name


def test_a_training_step_is_the_same_with_and_without_sharing(tiny_model_dir: str, tmp_path) -> None:
    """One R1Trainer step each way, same seed and samples: same loss, same updated weights; sharing was used."""
    from datasets import Dataset

    import r1lite.rollout.prefix_sharing as ps
    from r1lite.models import load_tokenizer
    from r1lite.train.config import R1Config
    from r1lite.train.trainer import R1Trainer

    calls = {"shared": 0}
    original = ps.shared_prefix_logps

    def counting(*args, **kwargs):
        calls["shared"] += 1
        return original(*args, **kwargs)

    def run(share: bool):
        tokenizer = load_tokenizer(tiny_model_dir)
        cfg = R1Config(output_dir=str(tmp_path / str(share)), sampler="transformers", max_steps=1, num_generations=4,
                       per_device_train_batch_size=8, max_completion_length=8, learning_rate=1e-2, beta=0.04,
                       save_strategy="no", report_to="none", logging_steps=1, seed=0, disable_tqdm=True,
                       share_prompt_prefix=share)
        data = Dataset.from_dict({"prompt": ["What is 2 + 3? Think first.", "Compute 7 * 8 please."] * 4})
        trainer = R1Trainer(model=tiny_model_dir, reward_funcs=[lambda completions, **kw: [float(len(c)) for c in
                                                                                           completions]],
                            args=cfg, train_dataset=data, processing_class=tokenizer)
        trainer.train()
        loss = next(h["loss"] for h in trainer.state.log_history if "loss" in h)
        return loss, {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}

    ps.shared_prefix_logps = counting
    try:
        loss_shared, weights_shared = run(True)
        assert calls["shared"] >= 2  # the update and the reference model (beta > 0) both used it
        loss_plain, weights_plain = run(False)
    finally:
        ps.shared_prefix_logps = original
    assert loss_shared == pytest.approx(loss_plain, abs=TOL)
    for name, value in weights_plain.items():
        assert (weights_shared[name] - value).abs().max() < TOL, name


def test_group_shuffle_keeps_groups_whole_and_the_random_stream() -> None:
    """Whole groups in the order their first row is drawn, from the very draw TRL's own row shuffle makes."""
    from trl.trainer.utils import shuffle_sequence_dict

    from r1lite.rollout.prefix_sharing import group_shuffle

    g, n = 3, 14  # four groups of 3 and two zero-advantage fillers (a short last group)
    batch = {"ids": torch.arange(n) * 10, "text": [f"r{i}" for i in range(n)], "scalar": torch.tensor(7.0),
             "none": None}
    orders = set()
    for seed in range(6):
        torch.manual_seed(seed)
        drawn = torch.randperm(n)
        torch.manual_seed(seed)
        out = group_shuffle(batch, g)
        after_ours = torch.rand(1)
        torch.manual_seed(seed)
        shuffle_sequence_dict(batch)
        assert torch.equal(torch.rand(1), after_ours)  # the same random stream afterwards as TRL's shuffle

        rows = (out["ids"] // 10).tolist()
        assert sorted(rows) == list(range(n)) and out["text"] == [f"r{i}" for i in rows]
        assert out["scalar"] == 7.0 and out["none"] is None
        runs = [list(run) for _, run in itertools.groupby(rows, key=lambda r: r // g)]
        assert [run[0] // g for run in runs] == list(dict.fromkeys((drawn // g).tolist()))  # order of first draw
        for run in runs:  # each group whole and in its own order
            assert run == list(range(run[0] // g * g, min(n, run[0] // g * g + g)))
        expected = tuple(run[0] // g for run in runs)
        orders.add(expected)
    assert len(orders) > 1  # shuffled, not a fixed order


def test_micro_batches_hold_whole_groups_when_prompts_are_shared(tiny_model_dir: str, tmp_path) -> None:
    """With ``share_prompt_prefix`` every micro-batch of G rows is one group (its prompt runs once); without it,
    TRL's row shuffle mixes the groups."""
    from datasets import Dataset

    from r1lite.models import load_tokenizer
    from r1lite.train.config import R1Config
    from r1lite.train.trainer import R1Trainer

    def prompts_per_micro_batch(share: bool) -> list[int]:
        seen: list[int] = []

        class Recording(R1Trainer):
            def _compute_loss(self, model, inputs):
                seen.append(torch.unique(inputs["prompt_ids"], dim=0).size(0))
                return super()._compute_loss(model, inputs)

        tokenizer = load_tokenizer(tiny_model_dir)
        cfg = R1Config(output_dir=str(tmp_path / str(share)), sampler="transformers", max_steps=2, num_generations=4,
                       per_device_train_batch_size=4, gradient_accumulation_steps=4, max_completion_length=6,
                       learning_rate=1e-3, save_strategy="no", report_to="none", logging_steps=1, seed=1,
                       disable_tqdm=True, share_prompt_prefix=share, dynamic_sampling=False)
        data = Dataset.from_dict({"prompt": [f"Question {i}: what is {i} + {i}?" for i in range(16)]})
        trainer = Recording(model=tiny_model_dir, args=cfg, train_dataset=data, processing_class=tokenizer,
                            reward_funcs=[lambda completions, **kw: [float(len(c) % 3) for c in completions]])
        trainer.train()
        return seen

    shared = prompts_per_micro_batch(True)
    assert len(shared) == 8 and set(shared) == {1}
    assert max(prompts_per_micro_batch(False)) > 1


def test_narrow_cpu_logprob_tiles_give_the_same_logprobs_and_gradients(fused_model) -> None:
    """TRL's kernel with 4096-column vocabulary tiles (r1lite on CPU) against its own 32768: the same log-probs,
    entropies and gradients (the tiny model has SmolLM2's 49k vocabulary, so both widths really tile it)."""
    import trl.trainer.utils as trl_utils

    from r1lite.train.trainer import CPU_LOGPROB_VOCAB_TILE, narrow_cpu_logprob_tiles

    assert fused_model.config.vocab_size > 32768
    ids, mask, t = batch(pad_id=0)
    original = trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE
    results = []
    try:
        for width in (32768, None):
            trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE = 32768
            if width is None:
                narrow_cpu_logprob_tiles("cpu")
                assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == CPU_LOGPROB_VOCAB_TILE
            fused_model.zero_grad()
            lp, ent = trl_pass(fused_model, ids, mask, t)
            (lp * mask[:, -t:] + 0.1 * ent * mask[:, -t:]).sum().backward()
            results.append((lp.detach(), ent.detach(), {n: p.grad.clone() for n, p in fused_model.named_parameters()
                                                        if p.grad is not None}))
        narrow_cpu_logprob_tiles("meta")  # another device: left alone
        assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == CPU_LOGPROB_VOCAB_TILE
        trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE = 32768
        narrow_cpu_logprob_tiles("meta")
        assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == 32768
    finally:
        trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE = original
    (lp_wide, ent_wide, g_wide), (lp_narrow, ent_narrow, g_narrow) = results
    valid = mask[:, -t:].bool()
    assert (lp_narrow[valid] - lp_wide[valid]).abs().max() < TOL
    assert (ent_narrow[valid] - ent_wide[valid]).abs().max() < TOL
    for name, grad in g_wide.items():
        assert (g_narrow[name] - grad).abs().max() <= TOL * max(1.0, grad.abs().max().item()), name
