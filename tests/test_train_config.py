"""Config parsing: YAML + presets + CLI overrides, and early, clear errors (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from r1lite.train.command import main, parse_config
from r1lite.train.config import ConfigError, R1Config, parse_weights

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def test_recipe_preset_and_overrides() -> None:
    cfg, flags = parse_config(["--preset", "cpu", "--max-steps", "7", "--learning_rate", "3e-6",
                               "--rewards", "accuracy=1.0,tag_count=0.25"], RECIPES / "arithmetic.yaml")
    assert flags.preset == "cpu" and cfg.preset == "cpu"
    assert cfg.max_steps == 7 and cfg.learning_rate == 3e-6
    assert cfg.rewards == {"accuracy": 1.0, "tag_count": 0.25}
    assert cfg.model == "smollm2-135m" and cfg.use_cpu and not cfg.bf16 and not cfg.gradient_checkpointing
    assert Path(cfg.template).is_absolute() and Path(cfg.template).is_file()  # relative to the YAML file
    gpu, _ = parse_config(["--preset", "gpu"], RECIPES / "gsm8k.yaml")
    assert gpu.model == "Qwen/Qwen2.5-0.5B-Instruct" and gpu.use_vllm and gpu.vllm_mode == "colocate"


@pytest.mark.parametrize("recipe", ["arithmetic", "countdown", "gsm8k", "math"])
def test_every_recipe_parses_both_presets(recipe: str) -> None:
    for preset in ("cpu", "gpu"):
        cfg, _ = parse_config(["--preset", preset], RECIPES / f"{recipe}.yaml")
        assert cfg.task == recipe and cfg.beta == 0.0 and cfg.stop_strings == "</answer>"


def test_variant_fields_pass_through() -> None:
    cfg, _ = parse_config(["--loss_type", "dr_grpo", "--scale_rewards", "none", "--epsilon_high", "0.3",
                           "--beta", "0.04", "--mask_truncated_completions", "true",
                           "--importance_sampling_level", "sequence"], RECIPES / "arithmetic.yaml")
    assert (cfg.loss_type, cfg.scale_rewards, cfg.epsilon_high, cfg.beta) == ("dr_grpo", "none", 0.3, 0.04)
    assert cfg.mask_truncated_completions and cfg.importance_sampling_level == "sequence"


def test_parse_weights_forms() -> None:
    assert parse_weights("accuracy=1,format=0.2") == {"accuracy": 1.0, "format": 0.2}
    assert parse_weights('{"accuracy": 2}') == {"accuracy": 2.0}
    assert parse_weights("accuracy,format") == {"accuracy": 1.0, "format": 1.0}
    with pytest.raises(ConfigError, match="number"):
        parse_weights("accuracy=high")


@pytest.mark.parametrize(("argv", "message"), [
    (["--learning_rat", "1"], "unknown argument '--learning_rat' (did you mean learning_rate?)"),
    (["--bogus", "1"], "unknown argument '--bogus'"),
    (["--preset", "tpu"], "has no preset 'tpu'; available: cpu, gpu"),
    (["--loss_type", "grpoo"], "loss_type='grpoo' is not valid"),
    (["--threads", "0"], "threads must be >= 1"),
])
def test_bad_command_line_fails_early(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(argv, default_config=RECIPES / "arithmetic.yaml") == 2
    assert message in capsys.readouterr().err


def test_unknown_yaml_field(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: arithmetic\nlearning_rte: 1.0e-5\n")
    assert main(["--config", str(bad)]) == 2
    assert "unknown config field 'learning_rte'" in capsys.readouterr().err
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    assert main(["--config", str(tmp_path / "list.yaml")]) == 2
    assert "must hold a YAML mapping" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_unknown_reward_and_task_fail_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["--output_dir", str(tmp_path / "out"), "--heldout_n", "0"]
    assert main(base + ["--rewards", "accuracy=1,formatt=0.2"], default_config=RECIPES / "arithmetic.yaml") == 2
    err = capsys.readouterr().err
    assert "reward rule 'formatt'" in err and "Available: accuracy" in err
    assert main(base + ["--task", "arithmetc"], default_config=RECIPES / "arithmetic.yaml") == 2
    assert "arithmetic" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the CPU defaults; CUDA is present")
def test_cpu_defaults_without_cuda() -> None:
    cfg = R1Config(output_dir="x")
    assert cfg.use_cpu and cfg.bf16 is False and cfg.gradient_checkpointing is False and cfg.threads >= 1


def test_vllm_gets_native_stop_strings() -> None:
    cfg = R1Config(output_dir="x", use_vllm=True, stop_strings="</answer>")
    assert cfg.generation_kwargs == {"stop": ["</answer>"], "include_stop_str_in_output": True}
    plain = R1Config(output_dir="x", sampler="transformers", stop_strings="</answer>")
    assert plain.generation_kwargs is None and not plain.use_vllm  # transformers: r1lite cuts


def test_help_lists_grpo_and_ppo_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    general, ppo = out.split("PPO fields")
    assert "learning_rate" in general and "dynamic_sampling" in general and "epsilon_high" in general
    assert "critic_learning_rate" in ppo and "lam" in ppo and "critic_learning_rate" not in general


@pytest.mark.parametrize(("argv", "resume", "dry_run"), [
    (["--resume"], "auto", False),
    (["--resume", "out/checkpoint-4"], "out/checkpoint-4", False),
    (["--resume", "--max-steps", "3"], "auto", False),
    (["--dry-run"], None, True),
    (["--dry_run=false"], None, False),
    ([f"--config={RECIPES / 'gsm8k.yaml'}", "--preset=cpu", "--dry-run", "--max-steps", "3"], None, True),
])
def test_run_flags(argv: list[str], resume: str | None, dry_run: bool) -> None:
    cfg, flags = parse_config(argv, RECIPES / "arithmetic.yaml")
    assert (flags.resume, flags.dry_run, flags.preset) == (resume, dry_run, "cpu")
    if "--max-steps" in argv:
        assert cfg.max_steps == 3
    assert cfg.task == ("gsm8k" if "gsm8k" in " ".join(argv) else "arithmetic")
