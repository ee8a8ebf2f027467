"""Run artifacts a user can trust: metrics.jsonl holds training steps only (held-out passes in their own file,
old single-file runs still read), curves with integer steps and distinguishable lines, the training config
beside every checkpoint, the base model named, the resolved config shown compactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from r1lite.train.callbacks import (
    HELDOUT_FILE,
    METRICS_FILE,
    MetricsJsonl,
    draw_curves,
    load_run_metrics,
    plot_curves,
)
from r1lite.train.run_config import (
    CHECKPOINT_CONFIG,
    TEMPLATE_COPY,
    base_model_name,
    checkpoint_template,
    compact_config,
    read_checkpoint_config,
    write_checkpoint_config,
)

REPO = Path(__file__).resolve().parent.parent
OLD_RUN = REPO / "results" / "arithmetic-cpu-generate"  # written before held-out rows had their own file


def state(step: int) -> SimpleNamespace:
    return SimpleNamespace(is_world_process_zero=True, global_step=step)


def read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_metrics_has_one_line_per_step_and_heldout_its_own_file(tmp_path: Path) -> None:
    m = MetricsJsonl(tmp_path)
    m.on_train_begin(None, state(0), None)
    m.append_heldout({"step": 0, "phase": "before", "accuracy": 0.1})
    for step in (1, 2, 3):
        m.on_log(None, state(step), None, logs={"loss": 0.1, "reward": 0.5})
    m.on_log(None, state(3), None, logs={"train_runtime": 9.0, "train_loss": 0.1})  # TRL's end-of-run summary
    m.append_heldout({"step": 3, "phase": "after", "accuracy": 0.2})
    assert [r["step"] for r in read(tmp_path / METRICS_FILE)] == [1, 2, 3]
    assert [r["phase"] for r in read(tmp_path / HELDOUT_FILE)] == ["before", "after"]
    # resuming from step 2: later steps and the old run's "after" pass go, "before" stays
    MetricsJsonl(tmp_path).on_train_begin(None, state(2), None)
    assert [r["step"] for r in read(tmp_path / METRICS_FILE)] == [1, 2]
    assert [r["phase"] for r in read(tmp_path / HELDOUT_FILE)] == ["before"]


def test_readers_cope_with_the_old_single_file_layout(tmp_path: Path) -> None:
    shutil.copy(OLD_RUN / METRICS_FILE, tmp_path / METRICS_FILE)  # held-out rows + train_runtime mixed in
    steps, heldout = load_run_metrics(tmp_path)
    assert [r["step"] for r in steps] == list(range(1, 41))
    assert [(r["step"], r["accuracy"]) for r in heldout] == [(0, 0.27), (40, 0.53)]
    out = plot_curves(tmp_path / METRICS_FILE, tmp_path / "curves.png", ["accuracy", "format"])
    assert out is not None and out.read_bytes()[:4] == b"\x89PNG"


def test_curves_integer_steps_and_no_hidden_line() -> None:
    import matplotlib

    matplotlib.use("Agg")
    steps = [{"step": s, "reward": 1.0, "rewards/accuracy/mean": 1.0, "rewards/format_reward/mean": 1.0}
             for s in (1, 2, 3)]
    heldout = [{"step": 0, "accuracy": 1.0, "format_rate": 1.0}, {"step": 3, "accuracy": 1.0, "format_rate": 1.0}]
    fig = draw_curves(steps, heldout, ["accuracy", "format"])
    for ax in fig.axes[:2]:  # rewards and held-out (the diagnostics panels: tests/test_diagnostics.py)
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        styles = [(str(line.get_linestyle()), line.get_marker()) for line in ax.lines]
        assert len(set(styles)) == len(styles) >= 2  # equal curves stay distinguishable
        assert all(line.get_alpha() < 1 for line in ax.lines)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["total reward", "accuracy", "format_reward"]  # the rules the trainer logged


def test_checkpoint_config_carries_the_template(tmp_path: Path) -> None:
    template = tmp_path / "oneshot.txt"
    template.write_text("Example.\nUser: {question}\nAssistant: <think>")
    cfg = SimpleNamespace(to_dict=lambda: {"template": str(template), "task": "arithmetic",
                                           "stop_strings": "</answer>", "model": "smollm2-135m"})
    ckpt = tmp_path / "checkpoint-2"
    write_checkpoint_config(cfg, ckpt)
    data = read_checkpoint_config(ckpt)
    assert data["template"] == TEMPLATE_COPY and data["template_source"] == str(template.resolve())
    assert data["task"] == "arithmetic" and data["stop_strings"] == "</answer>"
    template.unlink()  # the checkpoint stays usable after the recipe moves
    assert Path(checkpoint_template(ckpt)).read_text().startswith("Example.")
    # the default template is stored as what it resolved to for this tokenizer
    auto = SimpleNamespace(to_dict=lambda: {"template": None, "task": "gsm8k"})
    write_checkpoint_config(auto, tmp_path / "final", SimpleNamespace(chat_template="{{ x }}"))
    assert checkpoint_template(tmp_path / "final") == "chat"
    assert checkpoint_template(tmp_path) is None and read_checkpoint_config(tmp_path / "nope") is None


def test_base_model_name(tmp_path: Path) -> None:
    assert base_model_name("smollm2-135m") == ("HuggingFaceTB/SmolLM2-135M-Instruct", True)
    assert base_model_name("Qwen/Qwen2.5-0.5B-Instruct") == ("Qwen/Qwen2.5-0.5B-Instruct", True)
    assert base_model_name(str(tmp_path)) == (str(tmp_path.resolve()), False)
    (tmp_path / CHECKPOINT_CONFIG).write_text("model: smollm2-135m\n")  # continuing from an r1lite checkpoint
    assert base_model_name(str(tmp_path)) == ("HuggingFaceTB/SmolLM2-135M-Instruct", True)
    assert base_model_name(None) == ("unknown", False)


def test_compact_config_lists_what_the_run_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from r1lite.train.command import parse_config

    monkeypatch.chdir(REPO)
    cfg, _ = parse_config(["--preset", "cpu", "--sampler", "transformers", "--max-steps", "7"],
                          REPO / "recipes" / "arithmetic.yaml")
    line = compact_config(cfg)
    for shown in ("max_steps=7", "preset=cpu", "template=recipes/templates/arithmetic_oneshot.txt",
                  "rewards=accuracy=1.0,format=0.5", "stop_strings=</answer>", "lr_scheduler_type=constant_with_warmup"):
        assert shown in line, shown
    for hidden in ("accelerator_config", "bf16=", "report_to", "seed=", "beta="):
        assert hidden not in line, hidden  # noise, or unchanged from the default
