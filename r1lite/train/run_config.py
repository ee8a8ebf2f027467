"""The training config that travels with the weights: ``r1lite_config.yaml`` in ``final/`` and every checkpoint.

Weights alone do not say how the model was prompted. A model trained on the one-shot arithmetic template
and evaluated with the chat template looks untrained, so every checkpoint carries the config it was trained
with (a template file is copied beside it, so the checkpoint stays usable after the recipe moves), and
``r1lite eval --model <checkpoint>`` reads the template from there.

Also here: the compact "non-default fields" view of a config printed at the start of a run.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import shutil
from pathlib import Path
from typing import Any

CHECKPOINT_CONFIG = "r1lite_config.yaml"
TEMPLATE_COPY = "r1lite_template.txt"

#: fields a user never sets that TRL/transformers fill in (their "non-default" value is noise)
_NOISE = frozenset({"accelerator_config", "dataloader_pin_memory", "debug", "disable_tqdm", "pad_to_multiple_of",
                    "logging_dir", "report_to", "reward_weights", "model_init_kwargs", "generation_kwargs",
                    "fsdp_config", "deepspeed", "lr_scheduler_kwargs"})


def config_dict(cfg: Any) -> dict[str, Any]:
    """``cfg`` as plain YAML-safe data (TrainingArguments.to_dict, enums and objects as strings)."""
    return json.loads(json.dumps(cfg.to_dict(), default=str))


def write_checkpoint_config(cfg: Any, directory: str | Path, tokenizer: Any = None) -> Path:
    """Write ``r1lite_config.yaml`` (and a copy of a template file) into ``directory``.

    ``template`` is stored resolved (``chat``/``r1zero`` when the run used the default) so the checkpoint
    says what the model saw, not what the tokenizer would pick; a file template is stored as
    ``r1lite_template.txt`` beside the weights with ``template_source`` naming the original.
    """
    import yaml

    from r1lite.tasks.templates import resolve_template

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    data = config_dict(cfg)
    template = data.get("template")
    try:
        resolved = resolve_template(template, tokenizer) if tokenizer is not None or template else template
    except ValueError:  # an unreadable template cannot have trained this model; keep what the config said
        resolved = template
    if resolved and Path(str(resolved)).is_file():
        shutil.copyfile(resolved, out / TEMPLATE_COPY)
        data["template_source"] = str(resolved)
        data["template"] = TEMPLATE_COPY
    else:
        data["template"] = resolved
    path = out / CHECKPOINT_CONFIG
    path.write_text("# r1lite: the training config of these weights (r1lite eval reads the template from here)\n"
                    + yaml.safe_dump(data, sort_keys=True))
    return path


def read_checkpoint_config(model: str | Path) -> dict[str, Any] | None:
    """The training config saved beside a model's weights, or None (not a local r1lite checkpoint)."""
    import yaml

    path = Path(str(model)).expanduser() / CHECKPOINT_CONFIG
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def checkpoint_template(model: str | Path) -> str | None:
    """The template a checkpoint was trained with (a name, or the absolute path of its copied file)."""
    data = read_checkpoint_config(model)
    template = (data or {}).get("template")
    if not template:
        return None
    if template == TEMPLATE_COPY:
        return str((Path(str(model)).expanduser() / TEMPLATE_COPY).resolve())
    return str(template)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def non_default_fields(cfg: Any) -> dict[str, Any]:
    """Fields of ``cfg`` that differ from the dataclass defaults: what the recipe, preset and flags changed,
    plus what r1lite resolved (threads, sampler, CPU). Fields left unset that resolved to "off" are omitted."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        if not f.init or f.name in _NOISE:
            continue
        value, default = _plain(getattr(cfg, f.name, None)), _plain(_default(f))
        if value == default or (default is None and not value):
            continue
        out[f.name] = value
    return out


def compact_config(cfg: Any) -> str:
    """``name=value`` for every non-default field, one line (paths under the working directory shortened)."""
    parts = []
    for name, value in sorted(non_default_fields(cfg).items()):
        if isinstance(value, str) and value.startswith(str(Path.cwd()) + "/"):
            value = value[len(str(Path.cwd())) + 1:]
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in value.items())
        out = str(value)
        parts.append(f"{name}={out}")
    return " ".join(parts)


def base_model_name(spec: str | None) -> tuple[str, bool]:
    """``(name, is_hub_id)`` of the model a run started from, for the model card.

    An alias names the Hub model behind its GGUF file; a Hub id is itself; an r1lite checkpoint names the
    model it was trained from (its ``r1lite_config.yaml``); any other local directory is named by its path.
    """
    from r1lite.models import ALIASES

    if not spec:
        return "unknown", False
    if spec in ALIASES:
        return ALIASES[spec].hub_id, True
    path = Path(spec).expanduser()
    if path.exists():
        parent = (read_checkpoint_config(path) or {}).get("model")
        if parent and str(parent) != spec:
            name, hub = base_model_name(str(parent))
            return name, hub
        return str(path.resolve()), False
    return spec, spec.count("/") == 1 and not spec.endswith(".gguf")
