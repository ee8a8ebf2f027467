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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1lite.train.config import ConfigError, R1Config
from r1lite.train.parser import R1Parser, RunFlags, config_class  # noqa: F401  (config_class: part of this API)

WEIGHTS = ("*.safetensors", "pytorch_model*.bin")  # weight files from_pretrained loads


def parse_config(argv: list[str], default_config: str | Path | None = None) -> tuple[R1Config, RunFlags]:
    """YAML (with preset) -> defaults, then command-line overrides, through :class:`r1lite.train.parser.R1Parser`
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
    validation_rows: list[dict[str, Any]] = field(default_factory=list)  # pick best/ (disjoint from held-out)


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
    from r1lite.tasks.base import TaskError
    from r1lite.tasks.templates import build_prompts, resolve_template

    try:
        template = resolve_template(cfg.template, tokenizer)
        return build_prompts(dataset, template, tokenizer, max_prompt_length=cfg.max_prompt_length)
    except TaskError as exc:  # e.g. 'chat' with a tokenizer that has no chat template
        raise ConfigError(f"--template: {exc}") from exc


def check_inputs(cfg: R1Config, dry_run: bool = False) -> None:
    """What the config names on disk, checked before anything loads: the output directory is a directory
    (or can become one) and a template file exists and holds ``{question}``; one :class:`ConfigError` line."""
    from r1lite.tasks.base import TaskError
    from r1lite.tasks.templates import TEMPLATES, resolve_template

    if cfg.template and cfg.template.strip() not in (*TEMPLATES, "auto"):
        try:
            resolve_template(cfg.template, None)
        except TaskError as exc:
            raise ConfigError(f"--template: {exc}") from exc
    if dry_run:
        return
    out = Path(cfg.output_dir)
    blocker = next((p for p in (out, *out.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        what = "is a file" if blocker == out else f"is inside {blocker}, which is a file"
        raise ConfigError(f"--output_dir {out} {what}: choose a directory path (a new run creates it)")
    if blocker is not None and not os.access(blocker, os.W_OK):
        raise ConfigError(f"--output_dir {out}: {blocker} is not writable; choose another --output_dir")


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
    heldout, validation = _heldout_rows(cfg, task, tokenizer, train)
    return Run(cfg, model_path, tokenizer, task, train, heldout, rules, weights, eval_rules, acc_rule, fmt_rule,
               validation)


def _heldout_rows(cfg: R1Config, task: Any, tokenizer: Any, train: Any) -> tuple[list[dict], list[dict]]:
    """``heldout_n`` problems of ``heldout_split`` never trained on, then the next ``validation_n`` (the
    validation problems that pick ``best/``): the held-out problems do not depend on ``validation_n``, and the
    two sets never share a problem, so the held-out figure of the chosen checkpoint is not chosen on itself."""
    want = cfg.heldout_n + cfg.validation_n
    if not want:
        return [], []
    seen = set(train["question"]) if "question" in train.column_names else set()
    try:
        raw = task.load(cfg.heldout_split, source=cfg.task_source, limit=want * 2 + 50, seed=cfg.seed + 1)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot load held-out split {cfg.heldout_split!r} of {cfg.task}: {exc}; "
                          "set --heldout_split or --heldout_n 0 --validation_n 0") from exc
    fresh = [dict(row) for row in _prompts(raw, cfg, tokenizer) if row.get("question") not in seen]
    heldout = fresh[:cfg.heldout_n]
    in_heldout = {row.get("question") for row in heldout}
    validation = [row for row in fresh[cfg.heldout_n:] if row.get("question") not in in_heldout][:cfg.validation_n]
    if len(validation) < cfg.validation_n:
        raise ConfigError(f"{cfg.heldout_split!r} of {cfg.task} has {len(heldout) + len(validation)} problems "
                          f"that were not trained on; heldout_n {cfg.heldout_n} + validation_n {cfg.validation_n} need "
                          f"{want}: lower them")
    return heldout, validation


def make_trainer(run: Run, extra_callbacks: list | None = None) -> Any:
    """The trainer for ``run.cfg.algo`` with r1lite's callbacks (progress, metrics.jsonl, held-out, curves)."""
    import torch
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from r1lite.rollout.sampling import STOP_STRINGS, evaluate_heldout
    from r1lite.train.callbacks import (
        BestCheckpoint,
        CurvesPlot,
        HeldoutEval,
        MetricsJsonl,
        NoSignalStop,
        RichProgress,
    )
    from r1lite.train.trainer import parse_stop_strings

    cfg = run.cfg
    cfg.reward_weights = run.weights
    cfg.disable_tqdm = True
    if cfg.model_init_kwargs is None:
        cfg.model_init_kwargs = {"dtype": torch.float32 if cfg.use_cpu else (torch.bfloat16 if cfg.bf16 else "auto")}
    trainer_cls = _trainer_class(cfg.algo)
    metrics = MetricsJsonl(cfg.output_dir)
    names = list(run.rules)
    callbacks = [metrics, RichProgress(names, run.accuracy_rule, cfg.table_every,
                                           label=_algo_label(cfg.algo))]
    built: dict[str, Any] = {}
    def scorer(rows: list[dict[str, Any]]) -> Any:
        def evaluate(model: Any) -> tuple[dict, list]:  # the trainer's sampler: vLLM with current weights
            return evaluate_heldout(built["trainer"].sampler(cfg.heldout_batch_size), rows,
                                    run.eval_rules, run.accuracy_rule, run.format_rule,
                                    max_new_tokens=cfg.heldout_tokens, temperature=cfg.heldout_temperature,
                                    seed=cfg.seed, stop=parse_stop_strings(cfg.stop_strings) or STOP_STRINGS)
        return evaluate if rows else None

    if run.heldout_rows or run.validation_rows:
        best = BestCheckpoint(cfg.output_dir, cfg.best_metric, lambda path: save_best(built["trainer"], path),
                              cfg.early_stopping_patience) if cfg.best_metric else None
        callbacks.append(HeldoutEval(cfg.output_dir, scorer(run.heldout_rows), cfg.heldout_every, metrics,
                                     extra={"task": cfg.task, "model": cfg.model, "heldout_split": cfg.heldout_split,
                                            "accuracy_rule": run.accuracy_rule}, best=best,
                                     validate=scorer(run.validation_rows), validate_every=cfg.validation_every))
    if cfg.stop_after_no_signal_steps:
        callbacks.append(NoSignalStop(cfg.stop_after_no_signal_steps))
    if cfg.plot:
        callbacks.append(CurvesPlot(cfg.output_dir, names))
    trainer = trainer_cls(model=run.model_path, reward_funcs=list(run.rules.values()), args=cfg,
                          train_dataset=run.train_dataset, processing_class=run.tokenizer,
                          callbacks=callbacks + list(extra_callbacks or []), peft_config=_peft_config(cfg))
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    built["trainer"] = trainer
    trainer.diagnostics = _diagnostics(run, list(getattr(trainer, "reward_func_names", []) or []))
    return trainer


def _diagnostics(run: Run, logged_names: list[str] | None = None) -> Any:
    """The task's notion of correct / formatted for the per-step diagnostics (r1lite.train.diagnostics), under the
    names TRL logs the rules by (``logged_names``, in rule order: the format rule is logged as format_reward)."""
    from r1lite.train.diagnostics import Diagnostics

    logged = dict(zip(run.rules, logged_names or list(run.rules), strict=False))
    acc = logged.get(run.accuracy_rule, run.accuracy_rule)
    fmt = logged.get(run.format_rule) if run.format_rule else None
    format_fn = run.eval_rules.get(run.format_rule) if run.format_rule and fmt is None else None
    fmt = fmt or run.format_rule
    return Diagnostics(acc, fmt, words=run.cfg.reflection_words, format_fn=format_fn)


def _trainer_class(algo: str) -> type:
    """The actor-critic trainer for estimators that need a critic (ppo), else R1Trainer."""
    from r1lite.algos import needs_of

    if needs_of(algo).critic:
        return importlib.import_module("r1lite.algos.ppo").PPOTrainer
    from r1lite.train.trainer import R1Trainer

    return R1Trainer


def _algo_label(algo: str) -> str:
    from r1lite.algos import estimator_name

    return estimator_name(algo).upper()


def _peft_config(cfg: R1Config) -> Any:
    if not cfg.use_peft:
        return None
    from peft import LoraConfig

    targets = cfg.lora_target_modules
    modules: Any = targets if targets == "all-linear" else [m.strip() for m in targets.split(",") if m.strip()]
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=modules, task_type="CAUSAL_LM")


def save_final(trainer: Any, out_dir: Path, merge: bool = True) -> Path:
    """A plain HF directory (LoRA merged) that transformers and vLLM load, with the training config
    (``r1lite_config.yaml``: template, task, stop strings; ``r1lite eval`` reads it) and the model card; written
    to a temporary folder and moved into place, so a crash never leaves half a model. ``merge=False`` keeps a LoRA
    run's adapter unmerged (for ``best/``, written while the model is still training)."""
    from r1lite.train.run_config import write_checkpoint_config

    model = trainer.accelerator.unwrap_model(trainer.model)
    if merge and hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    trainer.processing_class.save_pretrained(tmp)
    write_checkpoint_config(trainer.args, tmp, trainer.processing_class)
    card = Path(trainer.args.output_dir) / "README.md"
    if merge and card.is_file():
        shutil.copyfile(card, tmp / "README.md")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def save_best(trainer: Any, out_dir: Path) -> Path:
    """``best/``: the current weights, loadable like ``final/`` (with ``r1lite_config.yaml``). A LoRA run saves its
    adapter (merging would change the model still being trained)."""
    return save_final(trainer, out_dir, merge=False)


def save_config(cfg: R1Config, flags: RunFlags) -> None:
    """``config.yaml`` (every field, resolved) in the run directory, and the non-default fields printed as one
    line, so a log shows what this run changed without reading the YAML."""
    import yaml

    from r1lite.train.run_config import compact_config, config_dict

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = config_dict(cfg)
    data["_run"] = {"config": flags.config, "preset": flags.preset, "resume": flags.resume, "set": flags.set}
    (out / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=True))
    print(f"r1lite train: config (non-default fields; all in {out / 'config.yaml'}): {compact_config(cfg)}",
          file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# dry run
# ---------------------------------------------------------------------------------------------------
def dry_run(run: Run) -> int:
    """Load everything, sample and score one step's completions, print one sample per rule outcome, whether the
    batch carries a learning signal (the no-signal guard) and the time a step and a held-out pass will take."""
    from rich.console import Console
    from rich.table import Table

    from r1lite.rollout.generation import make_backend
    from r1lite.rollout.sampling import prompt_texts, score_completions
    from r1lite.train.learning_signal import check_groups, no_signal_line, rule_roles
    from r1lite.train.trainer import parse_stop_strings

    cfg, console = run.cfg, Console()
    g = cfg.num_generations
    n_prompts = max(1, min(cfg.generation_batch_size // g, len(run.train_dataset)))
    problems = [dict(run.train_dataset[i]) for i in range(n_prompts)]
    rows = [p for p in problems for _ in range(g)]
    backend = make_backend(cfg.sampler, run.model_path, batch_size=len(rows), threads=cfg.threads, seed=cfg.seed)
    texts = prompt_texts([p["prompt"] for p in problems], run.tokenizer)
    t0 = time.perf_counter()
    # n=g per prompt (not g copies of it): a per-prompt seed would make copies identical on vLLM
    sampled = backend.generate(texts, n=g, temperature=cfg.temperature, top_p=cfg.top_p,
                               max_new_tokens=cfg.max_completion_length, seed=cfg.seed,
                               stop=tuple(parse_stop_strings(cfg.stop_strings)), progress=False)
    gen_s = time.perf_counter() - t0
    flat = [c for group in sampled for c in group]
    completions = [c.text for c in flat]
    t0 = time.perf_counter()
    scores = score_completions(run.rules, completions, rows)
    score_s = time.perf_counter() - t0
    totals = [sum(w * (scores[n][i] or 0.0) for n, w in zip(run.rules, run.weights, strict=True))
              for i in range(len(rows))]
    check = check_groups(totals, scores, g, truncated=sum(c.truncated for c in flat) / len(flat))
    console.rule(f"dry run: task {cfg.task}, model {cfg.model}, preset {cfg.preset}")
    console.print(f"train problems: {len(run.train_dataset)}, held-out problems: {len(run.heldout_rows)}, "
                  f"rules: {dict(zip(run.rules, run.weights, strict=True))}")
    console.print("[bold]prompt[/bold] (as the model sees it):")
    console.print(texts[0], markup=False)
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
    console.print(f"mean reward per rule: { {n: round(v, 3) for n, v in check.rule_means.items()} }; "
                  f"truncated: {check.truncated:.2f}; informative groups: "
                  f"{round(check.informative * check.groups)} of {check.groups} ({check.informative:.2f}); "
                  f"zero-variance groups: {1 - check.informative:.2f}")
    console.print(_time_estimate(run, backend, sampled, texts, gen_s + score_s), markup=False, soft_wrap=True)
    line = no_signal_line(check, cfg, *rule_roles(list(run.rules), run.accuracy_rule))
    if line:
        Console(stderr=True).print(line, style="bold red", markup=False, soft_wrap=True)
    return 0


def _time_estimate(run: Run, backend: Any, sampled: list, texts: list[str], rollout_s: float) -> str:
    """Seconds per step (this rollout, measured, plus one measured forward/backward over its completions) and per
    held-out pass (one held-out batch, measured, scaled to ``heldout_n``), and the whole run from those."""
    from r1lite.rollout.sampling import STOP_STRINGS, prompt_texts
    from r1lite.train.trainer import parse_stop_strings

    cfg = run.cfg
    try:
        update_s: float | None = _update_seconds(run, backend, sampled, texts)
    except (RuntimeError, MemoryError):  # e.g. no room beside the vLLM engine on the GPU: estimate without it
        update_s = None
    step_s = rollout_s + (update_s or 0.0)
    heldout_s, passes, heldout_note = 0.0, 0, ""
    if run.heldout_rows:
        k = max(1, min(cfg.heldout_batch_size, len(run.heldout_rows)))
        prompts = prompt_texts([r["prompt"] for r in run.heldout_rows[:k]], run.tokenizer)
        t0 = time.perf_counter()
        backend.generate(prompts, n=1, temperature=cfg.heldout_temperature, top_p=1.0,
                         max_new_tokens=cfg.heldout_tokens, seed=cfg.seed, progress=False,
                         stop=tuple(parse_stop_strings(cfg.stop_strings) or STOP_STRINGS))
        heldout_s = (time.perf_counter() - t0) * len(run.heldout_rows) / k
        passes = _pass_count(cfg.heldout_every, cfg.max_steps)
        heldout_note = f", ~{_duration(heldout_s)} per held-out pass ({len(run.heldout_rows)} problems, {k} measured)"
    validation_s = 0.0
    if run.validation_rows and run.heldout_rows:  # the same kind of pass over fewer problems
        validation_s = heldout_s * len(run.validation_rows) / len(run.heldout_rows) * _pass_count(
            cfg.validation_every, cfg.max_steps)
        heldout_note += f", ~{_duration(validation_s)} of validation passes"
    total = ""
    if cfg.max_steps and cfg.max_steps > 0:
        total = (f"; {cfg.max_steps} steps + {passes} held-out passes"
                 f"{' + validation' if validation_s else ''}: "
                 f"~{_duration(step_s * cfg.max_steps + heldout_s * passes + validation_s)}")
    update = f"update {update_s:.1f} s" if update_s is not None else "update not measured (no memory for it)"
    return (f"estimated time: ~{step_s:.1f} s/step (rollout {rollout_s:.1f} s + {update}, measured on this batch; "
            f"completion lengths change as the model learns){heldout_note}{total}")


def _pass_count(every: int, max_steps: int) -> int:
    """Passes a run makes: before and after training, and every ``every`` steps in between."""
    return 2 + ((max_steps - 1) // every if every and max_steps > 0 else 0)


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _update_seconds(run: Run, backend: Any, sampled: list, texts: list[str]) -> float:
    """One forward + backward of the policy over the sampled completions, in training-size micro-batches:
    what a step's update costs (a vLLM backend holds no torch model, so the policy loads once here)."""
    import torch

    from r1lite.models import load_model

    cfg = run.cfg
    model = getattr(backend, "model", None)
    loaded = model is None
    if loaded:
        model = load_model(run.model_path, device=None if cfg.use_cpu else "cuda")
    tok = run.tokenizer
    seqs = [(tok(p, add_special_tokens=False).input_ids, tok(c.text, add_special_tokens=False).input_ids)
            for p, group in zip(texts, sampled, strict=True) for c in group]
    device = next(model.parameters()).device
    size = max(1, int(cfg.per_device_train_batch_size))
    was_training = model.training
    model.train()
    t0 = time.perf_counter()
    try:
        for k in range(0, len(seqs), size):
            batch = [p + c for p, c in seqs[k:k + size]]
            keep = max(len(c) for _, c in seqs[k:k + size]) + 1  # TRL computes logits for completions only
            width = max(len(s) for s in batch)
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, s in enumerate(batch):  # left padding, as TRL lays prompts out
                ids[r, width - len(s):] = torch.tensor(s)
                mask[r, width - len(s):] = 1
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), logits_to_keep=keep)
            torch.logsumexp(out.logits.float(), dim=-1).mean().backward()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    seconds = time.perf_counter() - t0
    if loaded:
        del model
    return seconds


# ---------------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------------
def _last_checkpoint(output_dir: str) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None


def _checkpoint_step(checkpoint: str) -> int | str:
    """The step a checkpoint holds, from its trainer_state.json (a folder can be renamed; the state cannot)."""
    try:
        return int(json.loads((Path(checkpoint) / "trainer_state.json").read_text())["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


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
    except RuntimeError as exc:  # the vLLM server died, hung or holds other weights: one line, no traceback
        from r1lite.rollout.server import ServerError

        if not isinstance(exc, ServerError):
            raise
        print(f"r1lite train: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nr1lite train: {interrupted_message(cfg, trainer[0] if trainer else None)}", file=sys.stderr)
        return 130
    finally:
        if trainer:  # a vLLM server this run started stops with it (r1lite.rollout.server)
            from r1lite.rollout.server import stop_server

            stop_server(getattr(trainer[0], "vllm_generation", None))


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
    from r1lite.train.config import apply_threads

    check_inputs(cfg, flags.dry_run)
    apply_threads(cfg.threads)
    _quiet()
    resume = None
    if flags.resume:
        resume = _last_checkpoint(cfg.output_dir) if flags.resume == "auto" else flags.resume
        if resume is None:
            print(f"r1lite train: --resume: no complete checkpoint in {cfg.output_dir}; starting from scratch",
                  file=sys.stderr)
        else:
            print(f"r1lite train: --resume: continuing from {resume} (step {_checkpoint_step(resume)} of "
                  f"{cfg.max_steps})", file=sys.stderr, flush=True)
    elif not flags.dry_run and _last_checkpoint(cfg.output_dir):
        raise ConfigError(f"{cfg.output_dir} already holds checkpoints: pass --resume to continue that run "
                          "or choose another --output_dir")
    run = build_run(cfg)
    if flags.dry_run:
        return dry_run(run)
    out = Path(cfg.output_dir)
    if resume is None:
        for name in ("metrics.jsonl", "heldout_metrics.jsonl", "validation_metrics.jsonl", "summary.json",
                     "samples.jsonl"):
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
        score_selected(trainer)
        write_timing(out, trainer, time.perf_counter() - started)
        print_outcome(out, cfg)
    return 0


def score_selected(trainer: Any) -> None:
    """With validation passes, the held-out figures of the checkpoint they chose (``summary.json``
    ``selected``); when no held-out pass scored those weights, ``best/`` is loaded into the model and scored
    here, after ``final/`` is saved."""
    from r1lite.train.callbacks import HeldoutEval

    hook = next((c for c in trainer.callback_handler.callbacks if isinstance(c, HeldoutEval)), None)
    if hook is not None and hook.validate is not None:
        hook.score_selected(trainer.model, lambda path: load_weights(trainer, path))


def load_weights(trainer: Any, path: Path) -> None:
    """Put a saved checkpoint's weights (``save_best``'s folder: full weights, or a LoRA run's adapter) into the
    trainer's model in place, and have the vLLM engine take them on its next use."""
    from safetensors.torch import load_file

    model = trainer.accelerator.unwrap_model(trainer.model)
    files = sorted(Path(path).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{path} holds no .safetensors weights")
    state = {k: v for f in files for k, v in load_file(str(f)).items()}
    if hasattr(model, "peft_config"):
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, state)
    else:
        missing, unexpected = model.load_state_dict(state, strict=False)
        tied = {k for k in missing if "lm_head" in k}  # a tied output head is saved once, as the embedding
        if unexpected or set(missing) - tied:
            raise RuntimeError(f"{path} does not match the model: missing {sorted(set(missing) - tied)[:5]}, "
                               f"unexpected {sorted(unexpected)[:5]}")
    trainer._last_loaded_step = None  # the engine holds other weights now: push these on the next sampler()


def signal_counts(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """``steps_without_signal``: logged steps whose every group had zero reward variance (they updated nothing),
    out of ``steps_logged``; ``steps_without_signal_frac``."""
    from r1lite.train.callbacks import updated_nothing

    flags = [f for f in (updated_nothing(h) for h in steps) if f is not None]
    if not flags:
        return {}
    none = sum(flags)
    return {"steps_without_signal": none, "steps_logged": len(flags),
            "steps_without_signal_frac": round(none / len(flags), 3)}


def print_outcome(out: Path, cfg: R1Config) -> None:
    """The end-of-run block (r1lite.train.report): held-out before -> after with the 95% interval of the
    difference, the best step, wall time, where curves.png, report.html and final/ are. A report that cannot be
    written costs one line, never the trained run."""
    from r1lite.train.report import finish_run

    try:
        lines = finish_run(out, write_html=bool(getattr(cfg, "report", True)))
    except Exception as exc:  # noqa: BLE001 - the model is saved; say what failed and how to retry
        print(f"r1lite train: the run is saved in {out}, but its report failed ({type(exc).__name__}: {exc}); "
              f"retry with r1lite report {out}", file=sys.stderr)
        return
    print("\n".join(lines), flush=True)


def write_timing(out: Path, trainer: Any, wall: float) -> None:
    """``summary.json`` gains ``wall_seconds`` (this invocation, held-out passes included), ``time_split``:
    seconds per training phase summed over the steps, plus the held-out evaluations and the rest (start-up,
    checkpoints, the engine's start), and ``trainer``: TRL's end-of-training numbers (``train_runtime``, ...)."""
    from r1lite.train.callbacks import is_step_log, load_run_metrics, load_validation_metrics
    from r1lite.train.trainer import PHASES

    path = out / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    steps = [h for h in trainer.state.log_history if "loss" in h]
    split = {p: round(sum(h.get(f"time/{p}", 0.0) for h in steps), 1) for p in PHASES}
    _, heldout = load_run_metrics(out)
    split["heldout_eval"] = round(sum(r.get("seconds", 0.0) for r in heldout), 1)
    validation = load_validation_metrics(out)
    if validation:
        split["validation_eval"] = round(sum(r.get("seconds", 0.0) for r in validation), 1)
    split["other"] = round(wall - sum(split.values()), 1)
    final = next((h for h in reversed(trainer.state.log_history) if "train_runtime" in h and not is_step_log(h)), {})
    summary.update(wall_seconds=round(wall, 1), time_split=split, **signal_counts(steps))
    if final:
        summary["trainer"] = {k: v for k, v in final.items() if k != "step"}
    path.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
