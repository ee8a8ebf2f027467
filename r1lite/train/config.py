"""``R1Config``: TRL's ``GRPOConfig`` plus what an R1-Zero run needs (task, rewards, model alias, threads).

Every field can come from a YAML file (``recipes/*.yaml``, optionally with ``presets: {cpu: ..., gpu: ...}``)
and be overridden on the command line (``--field value``), following TRL's ``TrlParser`` pattern.
Unknown fields and unknown reward names fail before any model loads, with the closest valid names.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from trl import GRPOConfig

LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")
SCALE_REWARDS = ("group", "batch", "none")
IS_LEVELS = ("token", "sequence")
SAMPLERS = ("auto", "vllm", "transformers")


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the field and the fix."""


def cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # pragma: no cover - torch always importable here
        return False


def parse_weights(value: Any) -> dict[str, float] | None:
    """``{"accuracy": 1, ...}`` / JSON / ``"accuracy=1.0,format=0.2"`` / ``"accuracy,format"`` -> {rule: weight}."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        out = value
    elif isinstance(value, (list, tuple)):
        out = {str(v): 1.0 for v in value}
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                out = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"rewards: {text!r} is not valid JSON ({exc}); "
                                  "write e.g. --rewards accuracy=1.0,format=0.2") from exc
        else:
            out = {}
            for part in filter(None, (p.strip() for p in text.split(","))):
                name, _, weight = part.partition("=")
                out[name.strip()] = weight.strip() or 1.0
    else:
        raise ConfigError(f"rewards must be a mapping rule -> weight, got {type(value).__name__}")
    try:
        return {str(k): float(v) for k, v in out.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"rewards: every weight must be a number, got {out!r}") from exc


def _parse_mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name}: {value!r} is not a JSON object ({exc}); write e.g. "
                              f"--{name} '{{\"key\": 1}}'") from exc
        if isinstance(loaded, dict):
            return loaded
    raise ConfigError(f"{name} must be a mapping (YAML) or a JSON object (command line), got {value!r}")


@dataclass
class R1Config(GRPOConfig):
    """GRPOConfig + r1lite's fields. CPU-friendly defaults: fp32, no gradient checkpointing, one log per step."""

    # --- what to train -------------------------------------------------------------------------------
    model: str = field(default="smollm2-135m", metadata={"help": "Hub id, local dir, .gguf file or alias (smollm2-135m)."})
    algo: str = field(default="grpo", metadata={
        "help": "Advantage estimator: grpo (default), dr_grpo, rloo, reinforce, reinforce_pp, ppo (actor + critic), "
                "or file.py:fn / module:fn (r1lite.algos)."})
    task: str = field(default="arithmetic", metadata={"help": "Task name (r1lite tasks list) or file.py:object."})
    task_source: str | None = field(default=None, metadata={"help": "Hub id or local data file; default: the task's."})
    task_options: dict | str | None = field(default=None, metadata={"help": "Task options (JSON), e.g. difficulty."})
    train_split: str = field(default="train", metadata={"help": "Split used for training."})
    train_limit: int | None = field(default=None, metadata={"help": "Use at most this many training problems."})
    template: str | None = field(default=None, metadata={"help": "r1zero, chat or a template file; default: auto."})
    max_prompt_length: int | None = field(default=512, metadata={"help": "Drop (never truncate) longer prompts."})
    rewards: dict | str | None = field(
        default=None, metadata={"help": "Reward rules with weights, e.g. accuracy=1.0,format=0.2 (default: the task's)."})
    reward_params: dict | str | None = field(
        default=None, metadata={"help": "Per-rule parameters (JSON), e.g. {\"accuracy\": {\"mode\": \"strict\"}}."})

    stop_strings: str | None = field(
        default=None, metadata={"help": "End completions at these strings (comma list), e.g. </answer>."})

    # --- sampler -------------------------------------------------------------------------------------
    sampler: str = field(
        default="auto", metadata={"help": "Rollout sampler: auto (vLLM when importable, else transformers "
                                          "generate), vllm or transformers. Sets use_vllm."})
    use_vllm: bool | None = field(
        default=None, metadata={"help": "TRL's switch; true/false pins the sampler (vllm/transformers), unset: sampler."})
    vllm_dtype: str = field(default="auto", metadata={"help": "vLLM engine dtype (auto: float32 on CPU, the model's on GPU)."})
    vllm_enforce_eager: bool | None = field(
        default=None, metadata={"help": "Skip vLLM's torch.compile (default: on CPU, where compiling takes minutes)."})

    share_prompt_prefix: bool = field(
        default=True, metadata={"help": "Run each distinct prompt once when scoring its group's completions (exact; "
                                        "single process, no PEFT or gradient checkpointing)."})
    fused_logprobs: bool = field(
        default=True, metadata={"help": "vLLM importance-sampling ratio from the update's own forward (no extra "
                                        "no-grad pass) when num_iterations is 1."})

    # --- vLLM server mode and async rollouts (r1lite.rollout.server, r1lite.rollout.async_rollout) ----------
    vllm_server_spawn: bool = field(
        default=False, metadata={"help": "With vllm_mode=server: start the vLLM server as a child on 127.0.0.1 "
                                          "(own process group, stopped with the run) instead of connecting to one."})
    vllm_server_threads: int | None = field(
        default=None, metadata={"help": "CPU cores for a spawned server's engine (the machine's last ones); default 1."})
    vllm_request_timeout: float = field(
        default=600.0, metadata={"help": "Seconds one request to the vLLM server may take before the run stops "
                                         "(server hung or dead)."})
    vllm_weights_dir: str | None = field(
        default=None, metadata={"help": "CPU server mode: directory both trainer and server see, for the weights "
                                        "file (default: a fresh one in /dev/shm)."})
    async_rollouts: bool = field(
        default=False, metadata={"help": "Server mode: generate step t+1's rollouts while step t updates (one step "
                                         "off-policy, corrected by vLLM importance sampling)."})
    max_staleness: int = field(
        default=1, metadata={"help": "Async rollouts: most optimizer steps a rollout's policy may lag the trainer's; "
                                     "0 = synchronous."})

    # --- CPU -----------------------------------------------------------------------------------------
    threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads; default 1 on a <=2-core box (measured fastest), else 4."})

    # --- dynamic sampling (DAPO) ---------------------------------------------------------------------
    dynamic_sampling: bool = field(
        default=True, metadata={"help": "Drop zero-advantage groups before the update (only when beta == 0)."})
    dynamic_sampling_refill: int = field(
        default=0, metadata={"help": "Extra generation rounds allowed per step to refill dropped groups."})

    # --- held-out evaluation ---------------------------------------------------------------------------
    heldout_split: str = field(default="test", metadata={"help": "Split for the held-out before/after evaluation."})
    heldout_n: int = field(default=100, metadata={"help": "Held-out problems (0 disables the evaluation)."})
    heldout_every: int = field(default=0, metadata={"help": "Also evaluate every N steps (0: only before/after)."})
    heldout_max_new_tokens: int | None = field(default=None, metadata={"help": "Default: max_completion_length."})
    heldout_temperature: float = field(default=0.0, metadata={"help": "0 = greedy."})
    heldout_batch_size: int = field(default=16, metadata={"help": "Prompts per generate() call."})

    # --- LoRA ----------------------------------------------------------------------------------------
    use_peft: bool = field(default=False, metadata={"help": "Train a LoRA adapter instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: str = field(default="all-linear", metadata={"help": "Comma list or all-linear."})

    # --- what a user sees ----------------------------------------------------------------------------
    table_every: int = field(default=10, metadata={"help": "Print the metrics table every N steps (0: never)."})
    samples_every: int = field(default=1, metadata={"help": "Write completions+rewards to samples.jsonl every N steps."})
    plot: bool = field(default=True, metadata={"help": "Write curves.png at the end."})
    preset: str | None = field(default=None, metadata={"help": "Preset picked from the YAML (cpu or gpu)."})

    # --- TRL/transformers defaults changed for r1lite --------------------------------------------------
    logging_steps: float = field(default=1, metadata={"help": "Log every N steps (metrics.jsonl gets every log)."})
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "Default: on with CUDA, off on CPU (it only costs time there)."})
    save_steps: float = field(default=50, metadata={"help": "Checkpoint every N steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Keep this many checkpoints."})

    _VALID_DICT_FIELDS = GRPOConfig._VALID_DICT_FIELDS + ["task_options", "reward_params"]

    def __post_init__(self) -> None:
        self.rewards = parse_weights(self.rewards)
        self.task_options = _parse_mapping("task_options", self.task_options)
        self.reward_params = _parse_mapping("reward_params", self.reward_params)
        self._check_choices()
        self._check_algo()
        self._resolve_sampler()
        self._check_server_mode()
        on_gpu = cuda_available() and not self.use_cpu
        if not on_gpu:
            self.use_cpu = True
        if self.bf16 is None:  # TRL turns None into True; on CPU r1lite trains in fp32
            self.bf16 = bool(on_gpu and not self.fp16)
        wanted = self.gradient_checkpointing
        if "activation_checkpointing" in {f.name for f in fields(GRPOConfig)}:  # transformers >= 5.18 renamed it
            if getattr(self, "activation_checkpointing", None) is None:
                self.activation_checkpointing = bool(on_gpu) if wanted is None else bool(wanted)
                self.gradient_checkpointing = None  # mirrored from activation_checkpointing, without a warning
        elif wanted is None:
            self.gradient_checkpointing = bool(on_gpu)
        if self.threads is None:
            self.threads = default_threads()
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        if self.output_dir is None:
            from r1lite.algos import estimator_name

            self.output_dir = str(Path("outputs") / f"{self.task.replace(':', '_').replace('/', '_')}-"
                                                    f"{estimator_name(self.algo)}")
        single = self.num_generations == 1 and self.estimator_needs.min_group_size < 2
        if single:  # GRPOConfig insists on >= 2 (GRPO's group baseline); this estimator's baseline is not the group
            self.num_generations = _GroupSize(1)
        try:
            super().__post_init__()
        finally:
            if single:
                self.num_generations = 1
        check_report_to(self.report_to)
        if self.use_vllm and self.stop_strings:  # vLLM stops natively; keep the stop string in the text
            stops = [s for s in str(self.stop_strings).split(",") if s]
            kwargs = dict(self.generation_kwargs or {})
            kwargs.setdefault("stop", stops)
            kwargs.setdefault("include_stop_str_in_output", True)
            self.generation_kwargs = kwargs

    def _check_choices(self) -> None:
        checks = (("loss_type", LOSS_TYPES), ("scale_rewards", SCALE_REWARDS),
                  ("importance_sampling_level", IS_LEVELS), ("sampler", SAMPLERS))
        for name, allowed in checks:
            value = getattr(self, name)
            if isinstance(value, bool):  # TRL accepts scale_rewards True/False
                continue
            if value not in allowed:
                raise ConfigError(f"{name}={value!r} is not valid; choose one of {', '.join(allowed)}")
        if self.heldout_n < 0 or self.heldout_every < 0:
            raise ConfigError("heldout_n and heldout_every must be >= 0")
        if self.dynamic_sampling_refill < 0:
            raise ConfigError("dynamic_sampling_refill must be >= 0 (number of extra generation rounds)")

    @property
    def estimator_needs(self) -> Any:
        """What the ``algo`` estimator needs (:class:`r1lite.algos.Needs`)."""
        from r1lite.algos import needs_of

        return needs_of(self.algo)

    def _check_algo(self) -> None:
        """``algo`` names a registered estimator (or loads a plug-in); its needs fit the rest of the config."""
        from r1lite.registry import RegistryError

        try:
            needs = self.estimator_needs
        except RegistryError as exc:
            raise ConfigError(f"algo: {exc}") from exc
        if self.num_generations is not None and self.num_generations < needs.min_group_size:
            raise ConfigError(f"algo {self.algo} needs >= {needs.min_group_size} completions per prompt (its baseline "
                              f"is the group), got num_generations={self.num_generations}; raise --num_generations")
        if needs.loss_type and self.loss_type != needs.loss_type:
            print(f"r1lite: algo {self.algo} uses loss_type={needs.loss_type} (was {self.loss_type})", file=sys.stderr)
            self.loss_type = needs.loss_type
        if self.multi_objective_aggregation != "sum_then_normalize" and self.algo != "grpo":
            raise ConfigError(f"multi_objective_aggregation={self.multi_objective_aggregation} is GRPO's; algo "
                              f"{self.algo} uses the weighted sum of the rules (sum_then_normalize)")

    def _resolve_sampler(self) -> None:
        """``sampler`` decides ``use_vllm``; TRL's explicit ``use_vllm: true/false`` keeps its meaning."""
        from r1lite.rollout.vllm_engine import install_hint, vllm_installed

        if self.use_vllm is not None and self.sampler == "auto":
            self.sampler = "vllm" if self.use_vllm else "transformers"
        if self.sampler == "vllm" and not vllm_installed():
            raise ConfigError(f"sampler vllm: vLLM is not installed; {install_hint()}, or pass --sampler transformers")
        if self.sampler == "auto":
            self.sampler = "vllm" if vllm_installed() else "transformers"
            if self.sampler == "transformers":
                print(f"r1lite: vLLM is not installed, sampling with transformers generate (5-10x slower on CPU; "
                      f"{install_hint()})", file=sys.stderr)
        self.use_vllm = self.sampler == "vllm"

    def _check_server_mode(self) -> None:
        if self.max_staleness < 0:
            raise ConfigError(f"max_staleness must be >= 0, got {self.max_staleness}")
        if self.async_rollouts and not (self.use_vllm and self.vllm_mode == "server"):
            raise ConfigError("async_rollouts needs the vLLM server: pass --sampler vllm --vllm_mode server "
                              "(with --vllm_server_spawn true, or --vllm_server_base_url of a running `r1lite serve`)")

    @property
    def heldout_tokens(self) -> int:
        return int(self.heldout_max_new_tokens or self.max_completion_length or 256)


class _GroupSize(int):
    """``num_generations`` while TRL validates the config: GRPOConfig insists on >= 2 because GRPO's baseline is
    the group mean; an estimator whose baseline is the batch or a critic runs with one completion per prompt.
    Only ``<`` is changed, and the plain int is put back right after validation."""

    def __lt__(self, other: object) -> bool:
        return False


# report_to integration -> (transformers' availability check, what to install)
REPORTERS: dict[str, tuple[str, str]] = {
    "wandb": ("is_wandb_available", "pip install 'r1lite[wandb]'"),
    "tensorboard": ("is_tensorboard_available", "pip install 'r1lite[tensorboard]'"),
    "trackio": ("is_trackio_available", "pip install trackio"),
    "mlflow": ("is_mlflow_available", "pip install mlflow"),
    "comet_ml": ("is_comet_available", "pip install comet_ml"),
    "clearml": ("is_clearml_available", "pip install clearml"),
    "swanlab": ("is_swanlab_available", "pip install swanlab"),
    "dvclive": ("is_dvclive_available", "pip install dvclive"),
    "neptune": ("is_neptune_available", "pip install neptune"),
}


def check_report_to(report_to: Any) -> None:
    """Each ``report_to`` integration is installed: say what to install now, not at the trainer's start after
    the model has loaded (transformers raises there, from deep inside ``Trainer.__init__``)."""
    from transformers.integrations import integration_utils

    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    known = getattr(integration_utils, "INTEGRATION_TO_CALLBACK", {})
    for name in names:
        if name in ("none", "all"):
            continue
        if known and name not in known:
            raise ConfigError(f"report_to {name!r} is not an integration transformers knows{suggest(name, set(known))}; "
                              f"choose from none, all, {', '.join(sorted(known))}")
        if name not in REPORTERS:
            continue
        check, install = REPORTERS[name]
        available = getattr(integration_utils, check, None)
        if available is not None and not available():
            raise ConfigError(f"report_to {name}: {name} is not installed; {install}, or pass --report_to none")


def default_threads() -> int:
    """One thread on a small shared box: on 2 cores, 2 threads contend with everything else and run slower."""
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(4, cores)


def apply_threads(threads: int | None = None) -> int:
    """r1lite's one thread policy (training, evaluation, benchmarks): ``threads`` or :func:`default_threads`,
    applied to torch now; a vLLM engine started later binds the same number of cores."""
    import torch

    n = int(threads or default_threads())
    if n < 1:
        raise ConfigError(f"threads must be >= 1, got {n}")
    torch.set_num_threads(n)
    return n


def config_field_names() -> set[str]:
    return {f.name for f in fields(R1Config) if f.init}


def suggest(name: str, choices: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""
