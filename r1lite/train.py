"""r1lite train: GRPO (or PPO) on rule rewards from a recipe or config file.

A config is a YAML mapping of config fields; an optional presets: mapping holds per-preset overrides
(cpu is picked when CUDA is absent, else gpu). Command-line flags override the file; relative paths in
the file are relative to it. Unknown fields, wrong values and unknown reward names fail before anything
loads, in one line. Example: r1lite train --config recipes/arithmetic.yaml --preset cpu --max-steps 20
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1lite.config import ConfigError, R1Config
from r1lite.parser import R1Parser, RunFlags, config_class  # noqa: F401  (config_class: part of this API)

WEIGHTS = ("*.safetensors", "pytorch_model*.bin")  # weight files from_pretrained loads


def parse_config(argv: list[str], default_config: str | Path | None = None) -> tuple[R1Config, RunFlags]:
    """YAML (with preset) -> defaults, then command-line overrides, through :class:`r1lite.parser.R1Parser`
    (TRL's ``TrlParser`` extended); every unknown name and every wrong value is a one-line ConfigError."""
    return R1Parser().parse_args_and_config(list(argv), default_config)


# ---------------------------------------------------------------------------------------------------
# building the run
# ---------------------------------------------------------------------------------------------------
@dataclass
class Run:
    cfg: R1Config
    model_path: str
    tokenizer: Any
    task: Any
    train_dataset: Any
    heldout_rows: list[dict[str, Any]]
    rules: dict[str, Any]  # training rules, name -> callable (in weight order)
    weights: list[float]
    eval_rules: dict[str, Any]  # rules used for held-out scoring (training rules + format)
    accuracy_rule: str
    format_rule: str | None


def resolve_rules(cfg: R1Config, task: Any) -> tuple[dict[str, Any], list[float]]:
    """The task's rules and weights unless the config names its own; unknown names fail with the list."""
    from r1lite.registry import RegistryError
    from r1lite.rewards import get_rule

    weights = dict(cfg.rewards) if cfg.rewards else dict(getattr(task, "rewards", None) or {})
    if not weights:
        raise ConfigError(f"no reward rules: task {cfg.task!r} names none; pass --rewards accuracy=1.0,format=0.2")
    by_name = {short: name for name in weights for short in (name, name.rsplit(":", 1)[-1])}
    params: dict[str, dict[str, Any]] = {}
    for source, given in ((getattr(task, "reward_params", None) or {}, False), (cfg.reward_params or {}, True)):
        for key, p in source.items():
            if key not in by_name:  # a rule loaded as my_rules.py:concise is `concise` here too
                if given:
                    raise ConfigError(f"reward_params / --set for a rule that is not used: {key!r}; used: "
                                      f"{', '.join(sorted({n.rsplit(':', 1)[-1] for n in weights}))}")
                continue
            params.setdefault(by_name[key], {}).update(p or {})
    rules = {}
    for name in weights:
        try:
            rule = get_rule(name, **params.get(name, {}))
        except (RegistryError, KeyError, ImportError, TypeError, ValueError, OSError) as exc:
            msg = str(exc)
            raise ConfigError(msg if "reward rule" in msg else f"reward rule {name!r}: {msg}") from exc
        rules[getattr(rule, "__name__", name)] = rule  # TRL logs rewards/<__name__>/mean
    if cfg.reward_weights is not None and list(cfg.reward_weights) != list(weights.values()):
        raise ConfigError("give weights either in `rewards` (rule: weight) or in `reward_weights`, not both")
    return rules, list(weights.values())


def pick_rules(task: Any, rules: dict[str, Any]) -> tuple[str, str | None]:
    """Which rule means "correct" (accuracy) and which means "well formatted" for held-out numbers."""
    acc = getattr(task, "accuracy_rule", None)
    if acc is None:
        acc = next((n for n in ("accuracy", "countdown") if n in rules), "accuracy")
    return acc, "format"


def _load_task(cfg: R1Config) -> Any:
    from r1lite.tasks import get_task

    try:
        return get_task(cfg.task, **(cfg.task_options or {}))
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, ImportError) as exc:
        raise ConfigError(f"task {cfg.task!r}: {exc}") from exc


def _prompts(dataset: Any, cfg: R1Config, tokenizer: Any) -> Any:
    from r1lite.tasks.templates import build_prompts, resolve_template

    template = resolve_template(cfg.template, tokenizer)
    return build_prompts(dataset, template, tokenizer, max_prompt_length=cfg.max_prompt_length)


def build_run(cfg: R1Config) -> Run:
    """Task, data, tokenizer and rules for ``cfg`` (everything but the model weights)."""
    from r1lite.models import ModelError, load_tokenizer, resolve_model
    from r1lite.rewards import get_rule

    task = _load_task(cfg)
    rules, weights = resolve_rules(cfg, task)
    try:
        model_path = resolve_model(cfg.model)
        tokenizer = load_tokenizer(model_path)
    except ModelError as exc:  # the same one-line message `r1lite eval` gives
        raise ConfigError(f"--model: {exc}") from exc
    if Path(model_path).is_dir() and not any(next(Path(model_path).glob(w), None) for w in WEIGHTS):
        raise ConfigError(f"--model: {model_path} has a config but no weight files ({', '.join(WEIGHTS)}); pass a "
                          "directory saved with save_pretrained, a .gguf file, an alias or a Hub id")
    try:
        train = task.load(cfg.train_split, source=cfg.task_source, limit=cfg.train_limit, seed=cfg.seed)
    except (FileNotFoundError, ValueError, KeyError, OSError) as exc:
        raise ConfigError(f"cannot load {cfg.task} split {cfg.train_split!r}: {exc}") from exc
    train = _prompts(train, cfg, tokenizer)
    acc_rule, fmt_rule = pick_rules(task, rules)
    eval_rules = dict(rules)
    task_params = getattr(task, "reward_params", None) or {}
    for name in (acc_rule, fmt_rule):  # held-out numbers always use the task's notion of correct/formatted
        if name and name not in eval_rules:
            eval_rules[name] = get_rule(name, **(task_params.get(name) or {}))
    heldout: list[dict[str, Any]] = []
    if cfg.heldout_n:
        seen = set(train["question"]) if "question" in train.column_names else set()
        try:
            raw = task.load(cfg.heldout_split, source=cfg.task_source, limit=cfg.heldout_n * 2 + 50,
                            seed=cfg.seed + 1)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot load held-out split {cfg.heldout_split!r} of {cfg.task}: {exc}; "
                              "set --heldout_split or --heldout_n 0") from exc
        raw = _prompts(raw, cfg, tokenizer)
        for row in raw:
            if row.get("question") not in seen:
                heldout.append(dict(row))
            if len(heldout) >= cfg.heldout_n:
                break
    return Run(cfg, model_path, tokenizer, task, train, heldout, rules, weights, eval_rules, acc_rule, fmt_rule)


def make_trainer(run: Run, extra_callbacks: list | None = None) -> Any:
    """The trainer for ``run.cfg.algo`` with r1lite's callbacks (progress, metrics.jsonl, held-out, curves)."""
    import torch
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from r1lite.callbacks import CurvesPlot, HeldoutEval, MetricsJsonl, RichProgress
    from r1lite.sampling import STOP_STRINGS, evaluate_heldout
    from r1lite.trainer import parse_stop_strings

    cfg = run.cfg
    cfg.reward_weights = run.weights
    cfg.disable_tqdm = True
    if cfg.model_init_kwargs is None:
        cfg.model_init_kwargs = {"dtype": torch.float32 if cfg.use_cpu else (torch.bfloat16 if cfg.bf16 else "auto")}
    trainer_cls = _trainer_class(cfg.algo)
    metrics = MetricsJsonl(cfg.output_dir)
    names = list(run.rules)
    callbacks = [metrics, RichProgress(names, run.accuracy_rule, cfg.table_every, label=cfg.algo.upper())]
    built: dict[str, Any] = {}
    if cfg.heldout_n and run.heldout_rows:
        def evaluate(model: Any) -> tuple[dict, list]:  # the trainer's sampler: vLLM with current weights
            return evaluate_heldout(built["trainer"].sampler(cfg.heldout_batch_size), run.heldout_rows,
                                    run.eval_rules, run.accuracy_rule, run.format_rule,
                                    max_new_tokens=cfg.heldout_tokens, temperature=cfg.heldout_temperature,
                                    seed=cfg.seed, stop=parse_stop_strings(cfg.stop_strings) or STOP_STRINGS)
        callbacks.append(HeldoutEval(cfg.output_dir, evaluate, cfg.heldout_every, metrics,
                                     extra={"task": cfg.task, "model": cfg.model, "heldout_split": cfg.heldout_split,
                                            "accuracy_rule": run.accuracy_rule}))
    if cfg.plot:
        callbacks.append(CurvesPlot(cfg.output_dir, names))
    trainer = trainer_cls(model=run.model_path, reward_funcs=list(run.rules.values()), args=cfg,
                          train_dataset=run.train_dataset, processing_class=run.tokenizer,
                          callbacks=callbacks + list(extra_callbacks or []), peft_config=_peft_config(cfg))
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    built["trainer"] = trainer
    return trainer


def _trainer_class(algo: str) -> type:
    if algo == "ppo":
        return importlib.import_module("r1lite.ppo").PPOTrainer
    from r1lite.trainer import R1Trainer

    return R1Trainer


def _peft_config(cfg: R1Config) -> Any:
    if not cfg.use_peft:
        return None
    from peft import LoraConfig

    targets = cfg.lora_target_modules
    modules: Any = targets if targets == "all-linear" else [m.strip() for m in targets.split(",") if m.strip()]
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=modules, task_type="CAUSAL_LM")


def save_final(trainer: Any, out_dir: Path) -> Path:
    """A plain HF directory (LoRA merged) that transformers and vLLM load."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    trainer.processing_class.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def save_config(cfg: R1Config, flags: RunFlags) -> None:
    import yaml

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = json.loads(json.dumps(cfg.to_dict(), default=str))
    data["_run"] = {"config": flags.config, "preset": flags.preset, "resume": flags.resume, "set": flags.set}
    (out / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=True))


# ---------------------------------------------------------------------------------------------------
# dry run
# ---------------------------------------------------------------------------------------------------
def dry_run(run: Run) -> int:
    """Load everything, generate and score one generation batch, print one sample per rule outcome, exit."""
    from rich.console import Console
    from rich.table import Table

    from r1lite.generation import make_backend
    from r1lite.sampling import generate_texts, score_completions
    from r1lite.trainer import parse_stop_strings

    cfg, console = run.cfg, Console()
    g = cfg.num_generations
    n_prompts = max(1, min(cfg.generation_batch_size // g, len(run.train_dataset)))
    rows = [dict(run.train_dataset[i]) for i in range(n_prompts) for _ in range(g)]
    backend = make_backend(cfg.sampler, run.model_path, batch_size=len(rows), threads=cfg.threads, seed=cfg.seed)
    completions = generate_texts(backend, [r["prompt"] for r in rows], max_new_tokens=cfg.max_completion_length,
                                 temperature=cfg.temperature, seed=cfg.seed,
                                 stop=parse_stop_strings(cfg.stop_strings))
    scores = score_completions(run.rules, completions, rows)
    totals = [sum(w * (scores[n][i] or 0.0) for n, w in zip(run.rules, run.weights, strict=True))
              for i in range(len(rows))]
    zero = sum(len({round(t, 6) for t in totals[k:k + g]}) == 1 for k in range(0, len(rows), g)) / n_prompts
    console.rule(f"dry run: task {cfg.task}, model {cfg.model}, preset {cfg.preset}")
    console.print(f"train problems: {len(run.train_dataset)}, held-out problems: {len(run.heldout_rows)}, "
                  f"rules: {dict(zip(run.rules, run.weights, strict=True))}")
    console.print("[bold]prompt[/bold] (as the model sees it):")
    from r1lite.sampling import prompt_texts

    console.print(prompt_texts([rows[0]["prompt"]], run.tokenizer)[0], markup=False)
    console.print(f"[bold]gold[/bold]: {rows[0].get('answer')}")
    table = Table(title=f"{len(rows)} completions ({n_prompts} prompts x {g})")
    table.add_column("completion (first 120 chars)")
    for name in run.rules:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right")
    for i in range(min(len(rows), 8)):
        table.add_row(completions[i][:120].replace("\n", " "), *[f"{scores[n][i]}" for n in run.rules],
                      f"{totals[i]:.3f}")
    console.print(table)
    means = {n: sum(v or 0.0 for v in scores[n]) / len(rows) for n in run.rules}
    console.print(f"mean reward per rule: {means}; zero-variance groups: {zero:.2f}")
    return 0


# ---------------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------------
def _last_checkpoint(output_dir: str) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None


def _quiet() -> None:
    """Silence per-checkpoint shard progress bars and deprecation chatter from TRL's calls into transformers."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def main(argv: list[str] | None = None, default_config: str | Path | None = None) -> int:
    """Exit codes: 0 done, 2 a configuration or input that cannot run (one line on stderr), 130 Ctrl-C."""
    started = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(R1Parser().format_help(__doc__ or "", default_config))
        return 0
    trainer: list[Any] = []  # filled once built, so Ctrl-C can say which step it stopped at
    cfg: R1Config | None = None
    try:
        cfg, flags = parse_config(argv, default_config)
        return _train(cfg, flags, started, trainer)
    except ConfigError as exc:
        print(f"r1lite train: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nr1lite train: {interrupted_message(cfg, trainer[0] if trainer else None)}", file=sys.stderr)
        return 130


def interrupted_message(cfg: R1Config | None, trainer: Any) -> str:
    """What Ctrl-C stopped and how to continue (instead of a traceback through the trainer)."""
    if cfg is None:
        return "interrupted before the run started"
    checkpoint = _last_checkpoint(cfg.output_dir)
    step = trainer.state.global_step if trainer is not None else 0
    where = f"interrupted at step {step}" if trainer is not None else "interrupted before training started"
    if checkpoint:
        return f"{where}, last complete checkpoint {checkpoint}, continue with --resume"
    return (f"{where}, no complete checkpoint in {cfg.output_dir} yet (one every {cfg.save_steps:g} steps, "
            "--save_steps): a new run starts from scratch")


def _train(cfg: R1Config, flags: RunFlags, started: float, built: list[Any]) -> int:
    from r1lite.config import apply_threads

    apply_threads(cfg.threads)
    _quiet()
    resume = None
    if flags.resume:
        resume = _last_checkpoint(cfg.output_dir) if flags.resume == "auto" else flags.resume
        if resume is None:
            print(f"r1lite train: --resume: no complete checkpoint in {cfg.output_dir}; starting from scratch",
                  file=sys.stderr)
    elif not flags.dry_run and _last_checkpoint(cfg.output_dir):
        raise ConfigError(f"{cfg.output_dir} already holds checkpoints: pass --resume to continue that run "
                          "or choose another --output_dir")
    run = build_run(cfg)
    if flags.dry_run:
        return dry_run(run)
    out = Path(cfg.output_dir)
    if resume is None:
        for name in ("metrics.jsonl", "summary.json", "samples.jsonl"):
            (out / name).unlink(missing_ok=True)
    save_config(cfg, flags)
    print(f"r1lite train: task {cfg.task}, model {cfg.model} ({run.model_path}), preset {cfg.preset}, "
          f"{len(run.train_dataset)} train / {len(run.heldout_rows)} held-out problems, threads {cfg.threads}, "
          f"rules {dict(zip(run.rules, run.weights, strict=True))}, output {out}", file=sys.stderr, flush=True)
    trainer = make_trainer(run)
    built.append(trainer)
    trainer.train(resume_from_checkpoint=resume)
    if trainer.accelerator.is_main_process:
        final = save_final(trainer, out / "final")
        print(f"r1lite train: final model in {final}", file=sys.stderr)
        write_timing(out, trainer, time.perf_counter() - started)
    return 0


def write_timing(out: Path, trainer: Any, wall: float) -> None:
    """``summary.json`` gains ``wall_seconds`` (this invocation, held-out passes included) and ``time_split``:
    seconds per training phase summed over the steps, plus the held-out evaluations and the rest (start-up,
    checkpoints, the engine's start)."""
    from r1lite.trainer import PHASES

    path = out / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    steps = [h for h in trainer.state.log_history if "loss" in h]
    split = {p: round(sum(h.get(f"time/{p}", 0.0) for h in steps), 1) for p in PHASES}
    metrics = out / "metrics.jsonl"
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()] if metrics.exists() else []
    split["heldout_eval"] = round(sum(r.get("heldout/seconds", 0.0) for r in rows), 1)
    split["other"] = round(wall - sum(split.values()), 1)
    summary.update(wall_seconds=round(wall, 1), time_split=split)
    path.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
