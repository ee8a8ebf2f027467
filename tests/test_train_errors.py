"""``r1lite train``: every failure is one line naming the fault and the fix; ``--set`` binds or fails;
relative paths in a YAML mean relative to it; ``--help`` lists r1lite's own fields first, one line each."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from r1lite.train.command import build_run, main, make_trainer, parse_config, resolve_rules
from r1lite.train.config import ConfigError

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
CONCISE = '''
def concise(completions, max_words: int = 50, **kwargs):
    """1.0 for a completion of at most ``max_words`` words."""
    return [float(len(c.split()) <= max_words) for c in completions]
'''


def one_error_line(err: str) -> str:
    """The single ``r1lite train:`` line of ``err``, asserting there is exactly one and no traceback."""
    lines = [line for line in err.splitlines() if line.startswith("r1lite train:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_rules.py"
    path.write_text(CONCISE)
    return path


# ---------------------------------------------------------------------------------------------------
# YAML and command-line values
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("yaml_text", "where", "expected"), [
    ("task: arithmetic\npresets:\n  cpu:\n    learning_rate: fast\n", "presets.cpu.learning_rate", "a number"),
    ("task: arithmetic\nmax_steps: true\n", "max_steps", "an integer"),
    ("task: arithmetic\nlr_scheduler_type: cosinus\n", "lr_scheduler_type", "one of linear, cosine"),
    ("task: arithmetic\nuse_peft: maybe\n", "use_peft", "true or false"),
])
def test_yaml_type_error_names_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture, yaml_text: str,
                                            where: str, expected: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml_text)
    assert main(["--config", str(path), "--preset", "cpu"] if "presets" in yaml_text else ["--config", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{path}: {where}: expected {expected}" in line and "fix the value in the file" in line
    assert "usage" not in line


def test_yaml_values_convert_as_the_command_line_would(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("task: arithmetic\nlearning_rate: 1e-5\ntrain_limit: null\nwarmup_steps: 3\n"
                    "reward_weights: [1, 2]\nrewards: {accuracy: 1, format: 2}\nuse_peft: 'yes'\n")
    cfg, _ = parse_config(["--config", str(path)])
    assert cfg.learning_rate == 1e-5 and isinstance(cfg.learning_rate, float)  # YAML reads 1e-5 as text
    assert cfg.train_limit is None and cfg.warmup_steps == 3 and cfg.reward_weights == [1.0, 2.0]
    assert cfg.rewards == {"accuracy": 1.0, "format": 2.0} and cfg.use_peft is True


def test_command_line_type_error_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["--max_steps", "abc"], default_config=RECIPES / "arithmetic.yaml") == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--max_steps" in line and "invalid int value: 'abc'" in line


def test_report_to_without_the_package_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr("transformers.integrations.integration_utils.is_wandb_available", lambda: False)
    assert main(["--report_to", "wandb"], default_config=RECIPES / "arithmetic.yaml") == 2
    line = one_error_line(capsys.readouterr().err)
    assert "wandb is not installed; pip install 'r1lite[wandb]'" in line
    import tomllib

    extras = tomllib.loads((RECIPES.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("wandb") for dep in extras["wandb"])  # the extra the message names exists
    assert main(["--report_to", "wandbb"], default_config=RECIPES / "arithmetic.yaml") == 2
    assert "did you mean wandb" in one_error_line(capsys.readouterr().err)


def test_relative_paths_in_yaml_are_relative_to_it(tmp_path: Path, rules_file: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t.txt").write_text("Q: {question}\nA:")
    (tmp_path / "data.jsonl").write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    (tmp_path / "run.yaml").write_text("task: gsm8k\ntemplate: t.txt\ntask_source: data.jsonl\noutput_dir: out\n"
                                       "rewards:\n  my_rules.py:concise: 1.0\n  format: 0.5\n")
    monkeypatch.chdir(RECIPES.parent)  # anywhere but the YAML's directory
    cfg, _ = parse_config(["--config", str(tmp_path / "run.yaml")])
    assert cfg.template == str(tmp_path / "t.txt") and cfg.task_source == str(tmp_path / "data.jsonl")
    assert cfg.rewards == {f"{rules_file}:concise": 1.0, "format": 0.5}
    assert cfg.output_dir == "out"  # not a file next to the YAML: stays relative to the working directory


# ---------------------------------------------------------------------------------------------------
# --set binds or fails
# ---------------------------------------------------------------------------------------------------
def test_set_binds_a_rule_loaded_from_a_file(rules_file: Path) -> None:
    cfg, flags = parse_config(["--rewards", f"{rules_file}:concise=1.0", "--set", "concise.max_words=2"],
                              RECIPES / "arithmetic.yaml")
    assert flags.set == ["concise.max_words=2"] and cfg.reward_params["concise"] == {"max_words": 2}
    from r1lite.tasks import get_task

    rules, _ = resolve_rules(cfg, get_task("arithmetic"))
    assert rules["concise"](["one two three", "one two"]) == [0.0, 1.0]  # max_words=2, not the default 50


def test_set_merges_over_reward_params(tmp_path: Path) -> None:
    cfg, _ = parse_config(["--reward_params", '{"accuracy": {"mode": "lenient", "timeout": 1.0}}',
                           "--set", "accuracy.timeout=3"], RECIPES / "arithmetic.yaml")
    assert cfg.reward_params["accuracy"] == {"mode": "lenient", "timeout": 3}


@pytest.mark.parametrize(("argv", "message"), [
    (["--set", "accuracy.nosuch=2"], "has no parameter 'nosuch'; its parameters: mode, timeout, answer_key"),
    (["--set", "overlong.max_len=2"], "not used: 'overlong'"),
    (["--set", "accuracy"], "expected RULE.PARAM=VALUE"),
])
def test_set_fails_listing_the_valid_names(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                                           message: str) -> None:
    assert main([*argv, "--output_dir", str(tmp_path / "o"), "--heldout_n", "0"],
                default_config=RECIPES / "arithmetic.yaml") == 2
    assert message in one_error_line(capsys.readouterr().err)


# ---------------------------------------------------------------------------------------------------
# model and data
# ---------------------------------------------------------------------------------------------------
def test_bad_model_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["--output_dir", str(tmp_path / "o"), "--heldout_n", "0"]
    assert main([*base, "--model", str(tmp_path / "nosuch")], default_config=RECIPES / "arithmetic.yaml") == 2
    assert "is not a model directory or .gguf file" in one_error_line(capsys.readouterr().err)


def test_uncached_hub_id_offline_fails_fast(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """conftest sets HF_HUB_OFFLINE=1: no ~23 s of Hub retries, one line with the way out."""
    started = time.perf_counter()
    rc = main(["--output_dir", str(tmp_path / "o"), "--heldout_n", "0", "--model", "HuggingFaceTB/SmolLM3-nosuch"],
              default_config=RECIPES / "arithmetic.yaml")
    assert rc == 2 and time.perf_counter() - started < 15
    line = one_error_line(capsys.readouterr().err)
    assert "not in the local Hugging Face cache" in line and "HF_HUB_OFFLINE is set" in line
    assert "smollm2-135m" in line


def test_empty_data_file_says_so(tiny_model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "train.jsonl"
    empty.write_text("\n")
    assert main(["--model", tiny_model_dir, "--task", "gsm8k", "--task_source", str(empty), "--heldout_n", "0",
                 "--output_dir", str(tmp_path / "o")], default_config=RECIPES / "gsm8k.yaml") == 2
    assert f"data file {empty} is empty" in one_error_line(capsys.readouterr().err)


# ---------------------------------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------------------------------
def test_ctrl_c_says_where_to_resume(tiny_model_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    from transformers import TrainerCallback

    class CtrlC(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr("r1lite.train.command.make_trainer", lambda run: make_trainer(run, [CtrlC()]))
    out = tmp_path / "run"
    argv = ["--model", tiny_model_dir, "--output_dir", str(out), "--sampler", "transformers", "--heldout_n", "0",
            "--per_device_train_batch_size", "4", "--num_generations", "2", "--max_completion_length", "4",
            "--save_steps", "1", "--max-steps", "5", "--plot", "false"]
    assert main(argv, default_config=RECIPES / "arithmetic.yaml") == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1] == f"r1lite train: interrupted at step 2, last complete checkpoint {out / 'checkpoint-2'}, " \
                   "continue with --resume"


def test_ctrl_c_before_a_checkpoint(tmp_path: Path) -> None:
    from r1lite.train.command import interrupted_message

    cfg, _ = parse_config(["--output_dir", str(tmp_path / "o"), "--save_steps", "10"], RECIPES / "arithmetic.yaml")
    assert interrupted_message(cfg, None) == (f"interrupted before training started, no complete checkpoint in "
                                              f"{tmp_path / 'o'} yet (one every 10 steps, --save_steps): a new run "
                                              "starts from scratch")


# ---------------------------------------------------------------------------------------------------
# help
# ---------------------------------------------------------------------------------------------------
def test_help_lists_r1lite_fields_first_one_line_each(capsys: pytest.CaptureFixture) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    own_at, trl_at = out.index("r1lite fields"), out.index("TRL GRPOConfig")
    assert out.index("Run:") < own_at < trl_at < out.index("PPO fields")
    own = out[own_at:trl_at].splitlines()[1:]
    names = [m.group(1) for line in own if (m := re.match(r"  --(\w+) ", line))]
    assert {"model", "task", "rewards", "threads", "heldout_n", "dynamic_sampling", "stop_strings"} <= set(names)
    assert len(names) == len([line for line in own if line.strip()])  # every line is one field, with its help
    assert all(len(line.split(None, 2)) == 3 for line in own if line.strip())
    assert "--learning_rate" not in out[own_at:trl_at] and " learning_rate " in out[trl_at:]


def test_set_reaches_the_rules_the_run_is_built_with(tiny_model_dir: str, tmp_path: Path) -> None:
    cfg, _ = parse_config(["--model", tiny_model_dir, "--output_dir", str(tmp_path), "--heldout_n", "0",
                           "--set", "format.prefilled_think=true", "--train_limit", "4"], RECIPES / "arithmetic.yaml")
    run = build_run(cfg)
    assert run.rules["format"].keywords == {"prefilled_think": True}
    with pytest.raises(ConfigError, match="unknown argument '--sett' \\(did you mean set, "):
        parse_config(["--sett", "a.b=1"], RECIPES / "arithmetic.yaml")


def test_cli_suggests_commands_and_catches_ctrl_c(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    from r1lite import cli

    assert cli.main(["trian"]) == 2
    assert "unknown command 'trian' (did you mean train?)" in capsys.readouterr().err

    def interrupted(argv: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("r1lite.train.env.main", interrupted)
    assert cli.main(["env"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "r1lite env: interrupted" and "Traceback" not in err


def test_model_directory_without_weights_is_one_line(tiny_model_dir: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    import shutil

    model = tmp_path / "no_weights"
    shutil.copytree(tiny_model_dir, model, ignore=shutil.ignore_patterns("*.safetensors"))
    assert main(["--model", str(model), "--output_dir", str(tmp_path / "o"), "--heldout_n", "0"],
                default_config=RECIPES / "arithmetic.yaml") == 2
    assert f"{model} has a config but no weight files" in one_error_line(capsys.readouterr().err)
