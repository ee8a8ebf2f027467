"""``R1Parser``: the ``r1lite train`` command line, TRL's ``TrlParser`` plus what r1lite's recipes need.

TRL's parser turns every dataclass field into ``--field VALUE`` (transformers' ``HfArgumentParser``),
reads ``--config FILE.yaml`` as defaults that the command line overrides, and applies the file's
``env:`` block. r1lite extends it where a recipe or a new user needs more:

* ``presets:`` sections in the YAML, one picked by ``--preset`` (default: ``gpu`` with CUDA, else ``cpu``);
* a recipe's default config (``python -m r1lite.recipes.gsm8k`` passes ``recipes/gsm8k.yaml``);
* YAML values checked against the field types *before* argparse sees them, so a wrong value names the
  file and the key (argparse would blame a command-line flag and print 200 lines of usage);
* relative paths in the YAML (templates, data files, ``file.py:name`` plugins) mean relative to the file;
* unknown names fail with the closest valid ones, and no flag matches by prefix;
* ``--dry-run``, ``--resume [CHECKPOINT]`` and ``--set RULE.PARAM=VALUE`` (a reward rule's parameter);
* every error is a one-line :class:`ConfigError`, never a usage dump or a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from transformers.hf_argparser import string_to_bool
from trl import GRPOConfig, TrlParser

from r1lite.train.config import ConfigError, R1Config, cuda_available, suggest

RUN_FLAGS = ("config", "dry_run", "resume", "set")
# fields whose relative paths in a YAML file mean "next to that file" (when such a file exists there)
PATH_FIELDS = ("template", "task_source", "model")
PLUGIN_FIELDS = ("task", "rewards")  # "file.py:name" specs
USAGE = ("usage: r1lite train [--config FILE.yaml] [--preset cpu|gpu] [--dry-run] [--resume [CHECKPOINT]]\n"
         "                    [--set RULE.PARAM=VALUE ...] [--FIELD VALUE ...]")
TRL_DOCS = "https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig"


@dataclass
class RunFlags:
    """Flags that steer the run but are not training hyper-parameters."""

    config: str | None = None
    preset: str | None = None
    dry_run: bool = False
    resume: str | None = None  # "auto" (last complete checkpoint in output_dir) or a checkpoint path
    set: list[str] = field(default_factory=list)  # RULE.PARAM=VALUE


@dataclass
class ConfigFile:
    """A YAML config with its chosen preset merged in; ``origins`` maps a field to where it was set."""

    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    preset: str | None = None

    def where(self, key: str) -> str:
        return f"{self.path}: {self.origins.get(key, key)}"


def config_class(algo: str) -> type[R1Config]:
    """R1Config, or for an estimator with a critic (ppo) ``r1lite.algos.ppo.PPOConfig`` with the critic's fields."""
    from r1lite.algos import needs_of
    from r1lite.registry import RegistryError

    try:
        needs = needs_of(algo)
    except RegistryError as exc:
        raise ConfigError(f"algo: {exc}") from exc
    if not needs.critic:
        return R1Config
    try:
        return importlib.import_module("r1lite.algos.ppo").PPOConfig
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"algo={algo} needs r1lite.algos.ppo (PPOConfig, PPOTrainer): {exc}") from exc


def load_config_file(path: str | Path, preset: str | None) -> ConfigFile:
    """Read a YAML config, apply its ``env:`` block and merge the chosen preset into its fields."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a YAML mapping of config fields")
    env = data.pop("env", None) or {}
    if not isinstance(env, dict):
        raise ConfigError(f"{path}: 'env' must map variable names to values")
    for key, value in env.items():  # as TrlParser does
        os.environ[str(key)] = str(value)
    presets = data.pop("presets", None) or {}
    if not isinstance(presets, dict):
        raise ConfigError(f"{path}: 'presets' must map a preset name to its fields")
    origins = {str(k): str(k) for k in data}
    chosen = preset or (("gpu" if cuda_available() else "cpu") if presets else None)
    if chosen is not None and chosen not in presets:
        if preset is not None:
            raise ConfigError(f"{path} has no preset {chosen!r}; available: {', '.join(presets) or 'none'}")
        chosen = None
    if chosen is not None:
        section = presets[chosen] or {}
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: preset {chosen!r} must map config fields to values")
        data.update(section)
        origins.update({str(k): f"presets.{chosen}.{k}" for k in section})
        data["preset"] = chosen
    resolve_relative_paths(data, path.parent)
    return ConfigFile(path, data, origins, chosen)


def resolve_relative_paths(data: dict[str, Any], base: Path) -> None:
    """A relative path in a config file means relative to that file, so recipes work from any directory.
    Only paths that exist there are rewritten (``outputs/run`` stays relative to the working directory)."""

    def local(value: str) -> str:
        target = Path(value).expanduser()
        return str((base / target).resolve()) if not target.is_absolute() and (base / target).exists() else value

    def plugin(spec: str) -> str:
        file, colon, name = spec.rpartition(":")
        return f"{local(file)}:{name}" if colon and file.endswith(".py") else spec

    for key in PATH_FIELDS:
        if isinstance(data.get(key), str):
            data[key] = local(data[key])
    if isinstance(data.get("task"), str):
        data["task"] = plugin(data["task"])
    rewards = data.get("rewards")
    if isinstance(rewards, dict):
        data["rewards"] = {plugin(str(k)): v for k, v in rewards.items()}
    elif isinstance(rewards, str):
        data["rewards"] = ",".join(plugin(part.strip()) for part in rewards.split(","))


class _OneLineErrors:
    """argparse prints the usage and exits on a bad value; r1lite raises one line instead."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; run `r1lite train --help` for the fields")


class _Prescan(_OneLineErrors, argparse.ArgumentParser):
    """What decides which parser to build: the config file, its preset and the algorithm."""

    def __init__(self) -> None:
        super().__init__(add_help=False, allow_abbrev=False)
        for name in ("--config", "--preset", "--algo"):
            self.add_argument(name)


def _type_name(action: argparse.Action) -> str:
    """int, float, str, string_to_bool, ... (TRL wraps converters of ``X | None`` fields, keeping the name)."""
    return getattr(action.type, "__name__", "")


def _kind(action: argparse.Action) -> str:
    if action.choices:
        return "one of " + ", ".join(map(str, action.choices))
    return {"int": "an integer", "float": "a number", "string_to_bool": "true or false"}.get(_type_name(action),
                                                                                              "a value")


class R1Parser(_OneLineErrors, TrlParser):
    """TRL's ``TrlParser`` for :class:`R1Config` (or PPO's subclass) with r1lite's additions (module docstring).

    ``parse_args_and_config(argv, default_config)`` returns ``(config, RunFlags)``."""

    def __init__(self, config_cls: type[R1Config] = R1Config) -> None:
        super().__init__(config_cls, allow_abbrev=False)  # a typo must never select another field
        self.config_cls = config_cls
        run = self.add_argument_group("run")
        run.add_argument("--config", metavar="FILE.yaml", help="YAML config (recipes/<task>.yaml)")
        run.add_argument("--dry-run", "--dry_run", dest="dry_run", type=string_to_bool, nargs="?", const=True,
                         default=False, metavar="BOOL", help="load everything, score one batch, print samples, exit")
        run.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CHECKPOINT",
                         help="continue from the last complete checkpoint in output_dir (or this one)")
        run.add_argument("--set", dest="set", action="append", default=[], metavar="RULE.PARAM=VALUE",
                         help="bind a reward rule's parameter, e.g. --set accuracy.mode=lenient (JSON values)")

    # ---------------------------------------------------------------------------------------------
    def parse_args_and_config(self, args: list[str] | None = None,  # type: ignore[override]
                              default_config: str | Path | None = None) -> tuple[R1Config, RunFlags]:
        """YAML (with preset) -> defaults, then the command line; every unknown name is an error."""
        args = attach_negative_values(list(sys.argv[1:] if args is None else args))
        pre, _ = _Prescan().parse_known_args(args)
        path = pre.config or (str(default_config) if default_config else None)
        if path is None and pre.preset:
            raise ConfigError("--preset needs a config with presets: pass --config recipes/<task>.yaml "
                              "or run python -m r1lite.recipes.<task>")
        file = load_config_file(path, pre.preset) if path else ConfigFile()
        cls = config_class(pre.algo or str(file.data.get("algo", "grpo")))
        if cls is not self.config_cls:  # PPO has its own fields: parse with a parser built for them
            return type(self)(cls).parse_args_and_config(args, default_config)
        self.set_defaults_with_config(**self.checked(file))  # TRL's: file values become the defaults
        try:
            cfg, namespace, remaining = self.parse_args_into_dataclasses(args=args, return_remaining_strings=True)
        except ConfigError:
            raise
        except (ValueError, TypeError) as exc:  # TrainingArguments' own checks
            raise ConfigError(" ".join(str(exc).split())) from exc
        if remaining:
            bad = remaining[0]
            name = bad.lstrip("-").split("=")[0].replace("-", "_")
            raise ConfigError(f"unknown argument {bad!r}{suggest(name, self.field_names() | set(RUN_FLAGS))}; "
                              "run `r1lite train --help` for the fields")
        flags = RunFlags(config=path, preset=file.preset if cfg.preset is None else cfg.preset,
                         dry_run=bool(namespace.dry_run), resume=namespace.resume, set=list(namespace.set))
        bind_settings(cfg, flags.set)
        return cfg, flags

    def field_names(self) -> set[str]:
        return {f.name for f in dataclasses.fields(self.config_cls) if f.init}

    def checked(self, file: ConfigFile) -> dict[str, Any]:
        """The file's fields, each known and of its field's type (converted as argparse would convert the
        same text on the command line); errors name the file and the key."""
        known = self.field_names()
        actions = {a.dest: a for a in self._actions if a.option_strings and a.type is not None}
        out: dict[str, Any] = {}
        for key, value in file.data.items():
            if key not in known:
                raise ConfigError(f"unknown config field {key!r} in {file.path}{suggest(key, known)}; "
                                  "run `r1lite train --help` for the list of fields")
            action = actions.get(key)
            out[key] = value if action is None else _convert(action, value, file.where(key))
        return out

    # ---------------------------------------------------------------------------------------------
    def format_help(self, description: str = "", default_config: str | Path | None = None) -> str:  # type: ignore[override]
        """r1lite's own fields first, one line each; then TRL's inherited fields by name; then PPO's."""
        own = own_fields(self.config_cls)
        lines = [USAGE, "", description.strip(), ""]
        if default_config:
            lines += [f"Default config: {default_config}", ""]
        lines += ["Run:"] + [_line(self._action(d)) for d in ("config", "preset", "dry_run", "resume", "set")]
        lines += ["", "r1lite fields (YAML key or --field VALUE):"]
        lines += [_line(self._action(f.name)) for f in own if f.name != "preset"]
        inherited = sorted(f.name for f in dataclasses.fields(GRPOConfig) if f.init and f.name not in
                           {o.name for o in own})
        lines += ["", f"TRL GRPOConfig / transformers TrainingArguments fields (same forms; {TRL_DOCS}):"]
        lines += _wrapped(inherited)
        if self.config_cls is R1Config:
            ppo = config_class("ppo")
            extra = [f for f in own_fields(ppo) if f.name not in {g.name for g in dataclasses.fields(R1Config)}]
            ppo_parser = R1Parser(ppo)
            lines += ["", "PPO fields (with --algo ppo):"] + [_line(ppo_parser._action(f.name)) for f in extra]
        return "\n".join(lines) + "\n"

    def _action(self, dest: str) -> argparse.Action:
        return next(a for a in self._actions if a.dest == dest and a.option_strings
                    and not a.option_strings[0].startswith("--no"))


def attach_negative_values(args: list[str]) -> list[str]:
    """``--flag -1e-5`` as ``--flag=-1e-5``: argparse takes ``-1e-5`` (unlike ``-1`` or ``-0.5``) for an option
    and would report the flag as missing its value instead of checking the value's range."""
    out: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if token.startswith("--") and "=" not in token and nxt is not None and nxt.startswith("-") and _number(nxt):
            out.append(f"{token}={nxt}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def own_fields(cls: type) -> list[dataclasses.Field]:
    """Fields declared in ``cls`` or an r1lite base class (not only in TRL's or transformers' classes),
    in declaration order."""
    order: list[str] = []
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("r1lite"):
            order += [n for n in getattr(klass, "__annotations__", {}) if n not in order]
    by_name = {f.name: f for f in dataclasses.fields(cls) if f.init}
    return [by_name[n] for n in order if n in by_name]


def _line(action: argparse.Action) -> str:
    """``  --name TYPE   help (default: x)`` on one line."""
    first = " ".join(str(action.help or "").split())
    default = action.default
    shown = "" if default in (None, [], "") or default is argparse.SUPPRESS else f" (default: {default})"
    flag = f"{action.option_strings[0]} {_metavar(action)}".rstrip()
    return f"  {flag:<34} {first}{shown}"


def _metavar(action: argparse.Action) -> str:
    if action.metavar:
        return f"[{action.metavar}]" if action.nargs == "?" else str(action.metavar)
    if action.choices:
        return "{" + ",".join(map(str, action.choices)) + "}" if len(action.choices) <= 8 else "CHOICE"
    if _type_name(action) == "string_to_bool":
        return "[BOOL]" if action.nargs == "?" else "BOOL"
    return {"int": "N", "float": "X"}.get(_type_name(action), "" if action.nargs == 0 else "TEXT")


def _wrapped(names: list[str], width: int = 100) -> list[str]:
    lines, line = [], " "
    for name in names:
        if len(line) + len(name) + 1 > width:
            lines.append(line)
            line = " "
        line += " " + name
    return lines + [line]


def _convert(action: argparse.Action, value: Any, where: str) -> Any:
    """``value`` from a YAML file as the field's type; a :class:`ConfigError` naming ``where`` if it is not."""
    if value is None or _type_name(action) == "str":  # str fields also take mappings (rewards) and TRL's bools
        return value
    if isinstance(value, (dict, list)):
        if action.nargs in ("+", "*") and isinstance(value, list):
            return [_convert_scalar(action, v, where) for v in value]
        if _type_name(action) in ("int", "float", "string_to_bool") or action.choices:
            raise ConfigError(f"{where}: expected {_kind(action)}, got {type(value).__name__} {value!r}; "
                              "fix the value in the file")
        return value
    return _convert_scalar(action, value, where)


def _convert_scalar(action: argparse.Action, value: Any, where: str) -> Any:
    wrong = isinstance(value, bool) and _type_name(action) in ("int", "float")  # YAML's true is not a number
    try:
        converted = None if wrong else action.type(value if isinstance(value, str) else str(value))
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        wrong = True
    if wrong or (action.choices and converted not in action.choices):
        hint = suggest(str(value), [str(c) for c in action.choices]) if action.choices else ""
        raise ConfigError(f"{where}: expected {_kind(action)}, got {value!r}{hint}; fix the value in the file")
    return converted


def bind_settings(cfg: R1Config, items: list[str]) -> None:
    """``--set RULE.PARAM=VALUE`` items into ``cfg.reward_params`` (over the file's and ``--reward_params``)."""
    if not items:
        return
    from r1lite.rewards.base import parse_settings

    try:
        settings = parse_settings(items)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    params = dict(cfg.reward_params or {})
    for rule, values in settings.items():
        params[rule] = {**(params.get(rule) or {}), **values}
    cfg.reward_params = params
