"""Issue 22: truncation, seeds in generation_kwargs, the training RNG across held-out passes, best checkpoint and
early stop, difficulty-aware prompt sampling, Clip-Cov, the entropy trend, the CPU KV cache size."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import tiny_trainer
import torch
from tiny_trainer import const_then_var
from trl import GRPOTrainer

from r1lite.train.config import ConfigError, R1Config
from r1lite.train.trainer import R1Trainer, clip_cov_keep


def make_trainer(model_dir: str, out, **overrides) -> R1Trainer:
    """The shared tiny trainer, sampling with transformers (the held-out RNG tests are about that sampler)."""
    return tiny_trainer.make_trainer(model_dir, out, **{"sampler": "transformers", **overrides})


# ------------------------------------------------------------------------------------------------------------
# hazard: a completion that stopped at a stop string is not truncated
# ------------------------------------------------------------------------------------------------------------
def test_stop_string_completions_are_not_truncated(tiny_model_dir: str, tmp_path, monkeypatch) -> None:
    trainer = make_trainer(tiny_model_dir, tmp_path, stop_strings="</answer>", mask_truncated_completions=True)
    tok = trainer._tokenizer
    stop = tok("<answer>4</answer>", add_special_tokens=False).input_ids
    eos = tok("no", add_special_tokens=False).input_ids + [tok.eos_token_id]
    filler = tok(" a", add_special_tokens=False).input_ids[0]
    long = [filler] * 10  # hit max_completion_length: the only truncated kind
    canned = [stop, eos, long, stop] * 2
    assert len(stop) <= 10 and stop[-1] not in (tok.eos_token_id, tok.pad_token_id)

    def fake(self, prompt_ids, *args, **kwargs):
        return [list(c) for c in canned[:len(prompt_ids)]], None

    monkeypatch.setattr(GRPOTrainer, "_generate_single_turn", fake)
    trainer.args.dynamic_sampling = False
    batch = trainer._generate_and_score_completions(const_then_var(trainer))
    kept = batch["completion_mask"].sum(dim=1)
    assert kept.tolist() == [len(stop), len(eos), 0, len(stop)] * 2  # only the length-limited rows are masked
    assert int(batch["num_items_in_batch"]) == 2 * (2 * len(stop) + len(eos))
    assert trainer._metrics["train"]["completions/clipped_ratio"][-1] == pytest.approx(0.25)
    assert trainer._metrics["train"]["completions/mean_terminated_length"][-1] == pytest.approx(
        (2 * len(stop) + len(eos)) / 3)


def test_a_seed_in_generation_kwargs_is_refused() -> None:
    with pytest.raises(ConfigError, match="identical") as err:
        R1Config(output_dir="/tmp/x", generation_kwargs={"seed": 7}, sampler="transformers", report_to="none")
    assert "\n" not in str(err.value) and "--seed" in str(err.value)
    R1Config(output_dir="/tmp/x", generation_kwargs={"top_k": 5}, sampler="transformers", report_to="none")


# ------------------------------------------------------------------------------------------------------------
# hazard: a held-out pass leaves the training RNG as it was
# ------------------------------------------------------------------------------------------------------------
def test_transformers_generation_leaves_the_global_rng_untouched(tiny_model_dir: str) -> None:
    from r1lite.models import load_model, load_tokenizer
    from r1lite.rollout.generation import generate

    model, tok = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    first = generate(model, tok, ["1 + 1 =", "2 + 2 ="], n=2, temperature=1.0, max_new_tokens=6, seed=5,
                     progress=False)
    assert torch.equal(torch.rand(4), expected)
    again = generate(model, tok, ["1 + 1 =", "2 + 2 ="], n=2, temperature=1.0, max_new_tokens=6, seed=5,
                     progress=False)
    assert [[c.text for c in g] for g in first] == [[c.text for c in g] for g in again]  # still seeded





def tiny_run(model: str, out: Path, rule: str, *extra: str) -> int:
    from r1lite.train.command import main

    return main(["--model", model, "--output_dir", str(out), "--preset", "cpu", "--per_device_train_batch_size", "8",
                 "--num_generations", "4", "--max_completion_length", "8", "--heldout_n", "4",
                 "--heldout_batch_size", "4", "--learning_rate", "1e-3", "--save_strategy", "no", "--table_every", "0",
                 "--sampler", "transformers", "--rewards", f"{rule}=1.0,format=0.2", "--plot", "false", *extra],
                default_config=Path("recipes/arithmetic.yaml"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_training_stream_is_the_same_with_and_without_heldout_passes(tiny_model_dir: str, parity_rule: str,
                                                                      tmp_path: Path) -> None:
    completions = {}
    for name, extra in (("plain", ()), ("heldout", ("--heldout_every", "1")),
                        ("validation", ("--validation_n", "4", "--validation_every", "1"))):
        out = tmp_path / name
        assert tiny_run(tiny_model_dir, out, parity_rule, "--max-steps", "3", *extra) == 0
        completions[name] = [(s["step"], s["completion"]) for s in read_jsonl(out / "samples.jsonl")]
    assert {step for step, _ in completions["heldout"]} == {1, 2, 3}
    assert completions["plain"] == completions["heldout"] == completions["validation"]


# ------------------------------------------------------------------------------------------------------------
# best checkpoint, early stopping
# ------------------------------------------------------------------------------------------------------------
def test_best_checkpoint_keeps_the_best_pass_and_counts_passes_since(tmp_path: Path) -> None:
    from r1lite.train.callbacks import BestCheckpoint

    saved = []
    best = BestCheckpoint(tmp_path, "accuracy", lambda path: saved.append(path), patience=2)
    for step, acc in ((0, 0.3), (5, 0.5), (10, 0.5), (15, 0.4)):
        best.observe(step, {"accuracy": acc})
    assert (best.step, best.value, best.since_best, len(saved)) == (5, 0.5, 2, 2)
    assert best.should_stop and saved[-1] == tmp_path / "best"
    assert not best.observe(20, {"accuracy": None}) and best.since_best == 2  # a pass with no score is no point


@pytest.mark.parametrize("points", [("--heldout_every", "1", "--validation_n", "0"),
                                    ("--validation_n", "4", "--validation_every", "1")], ids=["heldout", "validation"])
def test_best_and_final_checkpoints_and_early_stop(tiny_model_dir: str, parity_rule: str, tmp_path: Path,
                                                   points: tuple[str, ...]) -> None:
    out = tmp_path / "run"
    # a random tiny model scores 0 on arithmetic: step 0 stays the best, patience 1 stops after step 1's pass
    # (held-out passes pick best/ without validation problems, validation passes with them)
    assert tiny_run(tiny_model_dir, out, parity_rule, "--max-steps", "4", *points,
                    "--early_stopping_patience", "1") == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["before"]["accuracy"] == 0.0
    assert summary["best"]["step"] == 0 and summary["best"]["metric"] == "accuracy"
    assert summary["final"]["step"] == 1 and summary["early_stopped_at"] == 1
    assert summary["steps_logged"] == 1 and summary["steps_without_signal"] in (0, 1)
    assert (out / "best" / "model.safetensors").is_file() and (out / "best" / "r1lite_config.yaml").is_file()
    assert (out / "final" / "model.safetensors").is_file()
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl")]
    assert steps == [1]


# ------------------------------------------------------------------------------------------------------------
# validation problems pick best/; the held-out figure of the chosen checkpoint is not chosen on itself
# ------------------------------------------------------------------------------------------------------------
def test_validation_problems_are_disjoint_and_leave_the_heldout_set_alone(tiny_model_dir: str) -> None:
    from r1lite.train.command import build_run

    def run(validation_n: int):
        cfg = R1Config(output_dir="/tmp/x", task="arithmetic", model=tiny_model_dir, heldout_n=30,
                       validation_n=validation_n, sampler="transformers", report_to="none", seed=7)
        return build_run(cfg)

    plain, validated = run(0), run(20)
    assert plain.validation_rows == [] and len(validated.validation_rows) == 20
    assert [r["question"] for r in plain.heldout_rows] == [r["question"] for r in validated.heldout_rows]
    heldout = {r["question"] for r in validated.heldout_rows}
    valid = [r["question"] for r in validated.validation_rows]
    assert len(set(valid)) == 20 and not heldout & set(valid)
    assert not set(validated.train_dataset["question"]) & (heldout | set(valid))


def test_validation_larger_than_the_split_is_refused_with_the_fix(tiny_model_dir: str) -> None:
    from r1lite.train.command import build_run

    rows = [{"question": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(30)]
    data = Path(tempfile.mkdtemp()) / "tiny.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = R1Config(output_dir="/tmp/x", task="gsm8k", task_source=str(data), model=tiny_model_dir, heldout_n=20,
                   validation_n=20, sampler="transformers", report_to="none", train_limit=5)
    with pytest.raises(ConfigError, match="validation_n 20 need 40: lower them"):
        build_run(cfg)


def test_validation_needs_a_best_metric_and_early_stopping_its_points() -> None:
    with pytest.raises(ConfigError, match="--best_metric accuracy or --validation_n 0"):
        R1Config(output_dir="/tmp/x", validation_n=10, best_metric=None, sampler="transformers", report_to="none")
    with pytest.raises(ConfigError, match="--validation_every N"):
        R1Config(output_dir="/tmp/x", validation_n=10, heldout_every=5, early_stopping_patience=2,
                 sampler="transformers", report_to="none")
    R1Config(output_dir="/tmp/x", validation_n=10, validation_every=5, early_stopping_patience=2,
             sampler="transformers", report_to="none")


class _State:
    is_world_process_zero, max_steps = True, 3

    def __init__(self) -> None:
        self.global_step = 0


class _Control:
    should_training_stop = False


def _scripted(values: dict[int, float], state: _State, calls: list):
    def score(model):
        calls.append(state.global_step)
        acc = values[state.global_step]
        return {"accuracy": acc, "format_rate": 1.0, "n": 10}, [{"accuracy": acc}]
    return score


@pytest.mark.parametrize("heldout_every", [0, 1])
def test_validation_passes_pick_best_and_the_choice_is_scored_on_the_heldout_problems(tmp_path: Path,
                                                                                      heldout_every: int) -> None:
    """Validation peaks at step 1 and held-out at step 2: best/ is step 1's weights, and ``selected`` holds the
    held-out figures of step 1 (from the step-1 held-out pass, or, without one, a pass over best/ after training)."""
    from r1lite.train.callbacks import BestCheckpoint, HeldoutEval

    state, control, saved, heldout_calls, loaded = _State(), _Control(), [], [], []
    heldout = {0: 0.1, 1: 0.5, 2: 0.9, 3: 0.3}
    validation = {0: 0.2, 1: 0.7, 2: 0.4, 3: 0.3}
    best = BestCheckpoint(tmp_path, "accuracy", lambda path: saved.append(state.global_step))
    hook = HeldoutEval(tmp_path, _scripted(heldout, state, heldout_calls), heldout_every, best=best,
                       validate=_scripted(validation, state, []), validate_every=1)
    hook.on_train_begin(None, state, control)
    for step in (1, 2, 3):
        state.global_step = step
        hook.on_step_end(None, state, control)
    hook.on_train_end(None, state, control)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["best"]["step"] == 1 and saved == [0, 1]
    assert summary["validation_before"]["accuracy"] == 0.2 and summary["validation_after"]["accuracy"] == 0.3
    assert summary["before"]["accuracy"] == 0.1 and summary["after"]["accuracy"] == 0.3
    if heldout_every:
        assert "selected_pending" not in summary
    else:
        assert summary["selected_pending"] == 1 and heldout_calls == [0, 3]
        state.global_step = 1  # what load_best does to the real model: its weights are step 1's again
        hook.score_selected(None, lambda path: loaded.append(path))
        assert loaded == [tmp_path / "best"]
        summary = json.loads((tmp_path / "summary.json").read_text())
        assert "selected_pending" not in summary and (tmp_path / "heldout_selected.jsonl").is_file()
    chosen = summary["selected"]
    assert (chosen["step"], chosen["accuracy"], chosen["by"]) == (1, 0.5, "validation")
    assert chosen["delta"]["accuracy"] == pytest.approx(0.4)


def test_load_weights_puts_a_saved_checkpoint_back(tiny_model_dir: str, tmp_path: Path) -> None:
    from r1lite.train.command import load_weights, save_best

    trainer = make_trainer(tiny_model_dir, tmp_path)
    save_best(trainer, tmp_path / "best")
    saved = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)
    trainer._last_loaded_step = 0
    load_weights(trainer, tmp_path / "best")
    assert all(torch.equal(v, saved[k]) for k, v in trainer.model.state_dict().items())
    assert trainer._last_loaded_step is None
    with pytest.raises(FileNotFoundError, match="no .safetensors"):
        load_weights(trainer, tmp_path)


def test_a_run_with_validation_problems(tiny_model_dir: str, parity_rule: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert tiny_run(tiny_model_dir, out, parity_rule, "--max-steps", "2", "--validation_n", "4",
                    "--validation_every", "1") == 0
    summary = json.loads((out / "summary.json").read_text())
    phases = [(r["phase"], r["step"], r["n"]) for r in read_jsonl(out / "validation_metrics.jsonl")]
    assert phases == [("before", 0, 4), ("step1", 1, 4), ("after", 2, 4)]
    assert [r["phase"] for r in read_jsonl(out / "heldout_metrics.jsonl")] == ["before", "after"]
    assert summary["selected"]["step"] == summary["best"]["step"] and summary["selected"]["by"] == "validation"
    assert summary["time_split"]["validation_eval"] >= 0
    assert (out / "best" / "model.safetensors").is_file() and (out / "validation_step1.jsonl").is_file()


def test_early_stopping_needs_heldout_points() -> None:
    with pytest.raises(ConfigError, match="heldout_every"):
        R1Config(output_dir="/tmp/x", early_stopping_patience=2, heldout_every=0, sampler="transformers",
                 report_to="none")


# ------------------------------------------------------------------------------------------------------------
# difficulty-aware prompt sampling
# ------------------------------------------------------------------------------------------------------------
class Args:
    difficulty_sampling, difficulty_window, seed = True, 1, 0

    def __init__(self, retry: float = 0.0) -> None:
        self.difficulty_retry_prob = retry


def rows(*names: str) -> list[dict]:
    return [{"prompt": n} for n in names for _ in range(2)]


def test_difficulty_pool_swaps_settled_prompts_before_generating() -> None:
    from r1lite.train.difficulty import DifficultyPool

    data = [{"prompt": p} for p in ("easy", "hard", "open", "fresh")]
    pool = DifficultyPool(Args(), num_generations=2)
    pool.record(rows("easy", "hard", "open"), [1, 1, 0, 0, 0, 1], [1, 1, 0, 0, 0, 1])
    assert pool.settled("easy") and pool.settled("hard") and not pool.settled("open")
    out, swapped = pool.select(rows("easy", "open"), data)
    assert swapped == 0.5 and [r["prompt"] for r in out][2:] == ["open", "open"]
    assert out[0]["prompt"] == out[1]["prompt"] and out[0]["prompt"] in ("fresh",)  # the only unsettled other
    metrics = pool.metrics()
    assert metrics["difficulty/pass_rate/1"] == pytest.approx(1 / 3) and metrics["difficulty/pass_rate/0"] == \
        pytest.approx(1 / 3) and metrics["difficulty/settled_frac"] == pytest.approx(2 / 3)
    # an easy prompt that turns informative again is no longer settled
    pool.record(rows("easy"), [1, 0], [1, 0])
    assert not pool.settled("easy")


def test_difficulty_pool_exploration_floor_and_nothing_left() -> None:
    from r1lite.train.difficulty import DifficultyPool

    data = [{"prompt": "easy"}, {"prompt": "hard"}]
    keep_all = DifficultyPool(Args(retry=1.0), num_generations=2)
    keep_all.record(rows("easy"), [1, 1], [1, 1])
    assert keep_all.select(rows("easy"), data)[1] == 0.0  # retried with probability 1
    pool = DifficultyPool(Args(), num_generations=2)
    pool.record(rows("easy", "hard"), [1, 1, 0, 0], [1, 1, 0, 0])
    out, swapped = pool.select(rows("easy"), data)  # every prompt settled: train on the scheduled one
    assert swapped == 0.0 and [r["prompt"] for r in out] == ["easy", "easy"]
    state = json.loads(json.dumps(pool.state_dict()))
    again = DifficultyPool(Args(), num_generations=2)
    again.load_state_dict(state)
    assert again.settled("easy") and again.cursor == pool.cursor


def test_trainer_skips_a_zero_variance_prompt_on_its_next_draw(tiny_model_dir: str, tmp_path) -> None:
    trainer = make_trainer(tiny_model_dir, tmp_path, difficulty_sampling=True, difficulty_retry_prob=0.0)
    trainer._generate_and_score_completions(const_then_var(trainer))  # const prompt: all rewards 1
    assert trainer.difficulty.settled("Q: say one")
    assert trainer._metrics["train"]["difficulty/skipped_frac"] == [0.0]
    batch = trainer._generate_and_score_completions(const_then_var(trainer))
    assert trainer._metrics["train"]["difficulty/skipped_frac"][-1] == 0.5
    assert "difficulty/pass_rate/1" in trainer._metrics["train"]
    assert batch["prompt_ids"].shape[0] > 0
    off = make_trainer(tiny_model_dir, tmp_path / "off")
    off._generate_and_score_completions(const_then_var(off))
    assert "difficulty/skipped_frac" not in off._metrics["train"] and not off.difficulty.history


# ------------------------------------------------------------------------------------------------------------
# entropy control: Clip-Cov, the entropy trend
# ------------------------------------------------------------------------------------------------------------
def test_clip_cov_drops_tokens_inside_the_covariance_band() -> None:
    logps = torch.tensor([[0.0, -1.0, -4.0], [-2.0, -0.5, -3.0]])
    adv = torch.tensor([[2.0, 2.0, 2.0], [-2.0, -2.0, -2.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    lp, a = logps[mask.bool()], adv[mask.bool()]
    cov = (adv - a.mean()) * (logps - lp.mean())
    band = (cov > 0.5) & (cov < 5.0) & mask.bool()
    keep = clip_cov_keep(logps, adv, mask, ratio=1.0, lb=0.5, ub=5.0)
    assert band.any() and torch.equal(~keep, band)  # ratio 1: every token in the band
    one = clip_cov_keep(logps, adv, mask, ratio=0.01, lb=0.5, ub=5.0, generator=torch.Generator().manual_seed(0))
    assert int((~one).sum()) == 1 and band[~one].all()  # at least one token, always from the band
    assert clip_cov_keep(logps, adv, mask, ratio=0.0, lb=0.5, ub=5.0).all()


def test_clip_cov_reaches_the_loss(tiny_model_dir: str, tmp_path) -> None:
    def grad(trainer: R1Trainer) -> torch.Tensor:
        batch = trainer._generate_and_score_completions(const_then_var(trainer))
        trainer.model.zero_grad()
        trainer._compute_loss(trainer.model, batch).backward()
        return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])

    plain = grad(make_trainer(tiny_model_dir, tmp_path / "a"))
    clipped_trainer = make_trainer(tiny_model_dir, tmp_path / "b", clip_cov_ratio=1.0, clip_cov_lb=-1e9,
                                   clip_cov_ub=1e9)
    clipped = grad(clipped_trainer)
    assert plain.abs().sum() > 0 and clipped.abs().sum() == 0  # every token in the band: no policy gradient
    assert clipped_trainer._metrics["train"]["entropy_control/clip_cov_frac"][-1] == 1.0


def test_entropy_trend_on_the_table_and_in_the_curves(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from r1lite.train.callbacks import RichProgress, draw_curves, trend

    assert trend([3.0, 2.0, 1.0]) == pytest.approx(-1.0) and trend([1.0]) is None
    buf = io.StringIO()
    progress = RichProgress(["accuracy"], "accuracy", table_every=3, console=Console(file=buf, width=250))

    class State:
        is_world_process_zero, max_steps, global_step = True, 3, 0

    state = State()
    for step, h in ((1, 1.0), (2, 0.8), (3, 0.6)):
        state.global_step = step
        progress.on_log(None, state, None, logs={"reward": 0.5, "entropy": h})
    assert progress.rows[-1]["entropy/trend"] == pytest.approx(-0.2)
    assert "H trend" in buf.getvalue() and "-0.200" in buf.getvalue()
    fig = draw_curves([{"step": s, "reward": 0.5, "entropy": h} for s, h in ((1, 1.0), (2, 0.8))], [], ["accuracy"])
    assert any(ax.get_title() == "policy entropy" for ax in fig.axes)


# ------------------------------------------------------------------------------------------------------------
# memory: the CPU engine's KV cache sized to the run
# ------------------------------------------------------------------------------------------------------------
def test_kv_cache_sized_to_the_run(tiny_model_dir: str, monkeypatch) -> None:
    from r1lite.rollout import vllm_engine

    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    per_token = vllm_engine.kv_bytes_per_token(tiny_model_dir)
    assert per_token == 2 * 2 * 1 * 32 * 4  # K+V x 2 layers x 1 KV head x 32 x fp32

    class A:
        max_prompt_length, max_completion_length, heldout_max_new_tokens = 256, 64, None
        heldout_n, generation_batch_size, vllm_kv_cache_gib, vllm_dtype = 100, 16, None, "auto"

    out = vllm_engine.kv_cache_settings(A(), tiny_model_dir, None)
    assert out == {"max_model_len": 320, "kv_cache_memory_bytes": per_token * 320 * 32}  # 32 held-out at once
    A.generation_batch_size = 64
    assert vllm_engine.kv_cache_settings(A(), tiny_model_dir, None)["kv_cache_memory_bytes"] == per_token * 320 * 64
    A.vllm_kv_cache_gib = 0.5
    assert vllm_engine.kv_cache_settings(A(), tiny_model_dir, 512)["kv_cache_memory_bytes"] == 2 ** 29
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "3")  # the user's setting wins
    monkeypatch.setattr(vllm_engine, "_KV_SET_BY_R1LITE", False)
    assert vllm_engine.kv_cache_settings(A(), tiny_model_dir, None) == {"max_model_len": 320}


def test_update_split_in_two_micro_batches_is_the_same_step(tiny_model_dir: str, parity_rule: str,
                                                            tmp_path: Path) -> None:
    """16 completions per step updated as 1 x 16 or as 2 x 8 (gradient accumulation; the memory lever of the CPU
    preset): the same completions and the same weights after the step."""
    from safetensors.torch import load_file

    finals = {}
    for micro, accum in ((16, 1), (8, 2)):
        out = tmp_path / f"mb{micro}"
        assert tiny_run(tiny_model_dir, out, parity_rule, "--max-steps", "2", "--per_device_train_batch_size",
                        str(micro), "--gradient_accumulation_steps", str(accum), "--num_generations", "8",
                        "--heldout_n", "0", "--warmup_steps", "0") == 0
        finals[micro] = (load_file(str(out / "final" / "model.safetensors")),
                         [s["completion"] for s in read_jsonl(out / "samples.jsonl")])
    (w16, c16), (w8, c8) = finals[16], finals[8]
    assert c16 == c8 and len(c16) == 32
    # 1% of one AdamW step (lr 1e-3): summation order moves near-zero gradients, which AdamW scales up to ~lr
    # (seen: 1.6e-6 on 1 of 8192 weights at T = 0.7); a wrong accumulation differs by ~lr on many weights
    for key in w16:
        torch.testing.assert_close(w16[key], w8[key], rtol=1e-4, atol=1e-5)


def test_steps_without_signal_are_counted() -> None:
    from r1lite.train.command import signal_counts

    steps = [{"dynamic_sampling/zero_variance_frac": 1.0}, {"dynamic_sampling/zero_variance_frac": 0.5}, {"loss": 0.1}]
    assert signal_counts(steps) == {"steps_without_signal": 1, "steps_logged": 2, "steps_without_signal_frac": 0.5}
    assert signal_counts([{"loss": 0.1}]) == {}


def test_stop_after_no_signal_steps_ends_the_run_after_k_steps_without_signal() -> None:
    from r1lite.train.callbacks import NoSignalStop

    class State:
        is_world_process_zero, max_steps, global_step = True, 30, 0

    class Control:
        should_training_stop = False

    stop, state, control = NoSignalStop(2), State(), Control()
    for step, zero in ((1, 1.0), (2, 0.5), (3, 1.0), (4, 1.0), (5, 1.0)):
        state.global_step = step
        stop.on_log(None, state, control, logs={"dynamic_sampling/zero_variance_frac": zero})
        if control.should_training_stop:
            break
    assert control.should_training_stop and stop.stopped_at == 4  # steps 3 and 4 in a row; step 1 was reset by 2
    with pytest.raises(ConfigError, match="stop_after_no_signal_steps"):
        R1Config(output_dir="/tmp/x", stop_after_no_signal_steps=-1, sampler="transformers", report_to="none")


# ------------------------------------------------------------------------------------------------------------
# lr_decay_after_steps: the constant-rate run's first N steps, then a cosine decay to 0 at max_steps
# ------------------------------------------------------------------------------------------------------------
def _rates(cfg: R1Config) -> list[float]:
    """The learning rate of every optimizer step, from transformers' own ``Trainer.create_scheduler``."""
    import types

    from transformers import Trainer

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.learning_rate)
    holder = types.SimpleNamespace(args=cfg, lr_scheduler=None, optimizer=opt)
    sched = Trainer.create_scheduler(holder, num_training_steps=cfg.max_steps, optimizer=opt)
    rates = []
    for _ in range(cfg.max_steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def _lr_cfg(**kw) -> R1Config:
    base = {"output_dir": "/tmp/x", "sampler": "transformers", "report_to": "none", "learning_rate": 2e-5,
            "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 3}
    return R1Config(**{**base, **kw})


def test_lr_decay_after_steps_keeps_the_first_steps_then_decays_to_zero() -> None:
    constant = _rates(_lr_cfg(max_steps=30))
    decayed = _rates(_lr_cfg(max_steps=30, lr_decay_after_steps=10))
    assert decayed[:11] == pytest.approx(constant[:11], abs=0.0)  # steps 1..10 (and 11 starts the decay at 1.0)
    assert constant[10:] == pytest.approx([2e-5] * 20)
    tail = decayed[10:]
    assert all(b < a for a, b in zip(tail, tail[1:], strict=False))  # strictly falling after step 11
    assert tail[-1] < 0.01 * 2e-5 and tail[10] == pytest.approx(1e-5, rel=0.1)  # ~half way down at step 21
    # a run no longer than N steps is the constant run
    assert _rates(_lr_cfg(max_steps=10, lr_decay_after_steps=10)) == _rates(_lr_cfg(max_steps=10))
    resolved = _lr_cfg(max_steps=30, lr_decay_after_steps=10)  # a resolved config re-read is the same schedule
    again = R1Config(**{k: getattr(resolved, k) for k in ("output_dir", "sampler", "report_to", "learning_rate",
                                                          "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps",
                                                          "max_steps", "lr_decay_after_steps")})
    assert _rates(again) == decayed


def test_lr_decay_after_steps_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ConfigError, match="max_steps"):
        _lr_cfg(lr_decay_after_steps=10)  # epochs, no step budget
    with pytest.raises(ConfigError, match="already decays"):
        _lr_cfg(max_steps=30, lr_decay_after_steps=10, lr_scheduler_type="cosine")
    with pytest.raises(ConfigError, match="warm-up"):
        _lr_cfg(max_steps=30, lr_decay_after_steps=2)
    with pytest.raises(ConfigError, match=">= 0"):
        _lr_cfg(max_steps=30, lr_decay_after_steps=-1)


def test_arithmetic_cpu_preset_anneals_only_past_its_ten_steps() -> None:
    """The default command is the constant-rate 10-step run; --max_steps 30 holds 10 steps, then decays."""
    from r1lite.train.command import parse_config

    recipe = Path(__file__).resolve().parent.parent / "recipes" / "arithmetic.yaml"
    ten, _ = parse_config(["--preset", "cpu"], recipe)
    assert ten.max_steps == 10 and ten.dynamic_sampling_refill == 1
    assert _rates(ten) == _rates(_lr_cfg(max_steps=10))
    thirty, _ = parse_config(["--preset", "cpu", "--max_steps", "30"], recipe)
    rates = _rates(thirty)
    assert rates[:10] == _rates(ten) and rates[-1] < 0.01 * rates[9]
    with pytest.raises(ConfigError, match="--lr_decay_after_steps 0"):
        parse_config(["--preset", "cpu", "--max_steps", "30", "--lr_scheduler_type", "cosine"], recipe)
    assert _rates(parse_config(["--preset", "cpu", "--max_steps", "30", "--lr_scheduler_type", "cosine",
                                "--lr_decay_after_steps", "0"], recipe)[0])[-1] < rates[9]
