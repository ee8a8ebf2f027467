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
from collections.abc import Callable
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

    vllm_kv_cache_gib: float | None = field(
        default=None, metadata={"help": "CPU vLLM KV cache in GiB (default: sized to one generation batch or held-out "
                                        "pass at full length, at most 2; VLLM_CPU_KVCACHE_SPACE wins)."})

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
    validation_n: int = field(
        default=0, metadata={"help": "Validation problems that pick output_dir/best/ (drawn from heldout_split, "
                                     "disjoint from the held-out and training problems); 0: the held-out passes "
                                     "pick it (an optimistic figure: chosen and scored on the same problems)."})
    validation_every: int = field(
        default=0, metadata={"help": "Validation passes every N steps, besides before and after training "
                                     "(0: only those two)."})

    # --- reliability (docs/reliability.md) -------------------------------------------------------------
    best_metric: str | None = field(
        default="accuracy", metadata={"help": "Metric that picks output_dir/best/ (higher is better), on the "
                                              "validation passes with validation_n, else the held-out passes; "
                                              "None: no best checkpoint."})
    early_stopping_patience: int = field(
        default=0, metadata={"help": "Stop after this many validation (or held-out) points without a new best "
                                     "(0: never)."})
    stop_after_no_signal_steps: int = field(
        default=0, metadata={"help": "End the run after N consecutive steps with no reward variance in any group "
                                     "(steps that update nothing; 0: never)."})
    difficulty_sampling: bool = field(
        default=False, metadata={"help": "Before generating, swap prompts whose recent groups all had zero reward "
                                         "variance (always right / always wrong) for others (kept with "
                                         "difficulty_retry_prob)."})
    difficulty_window: int = field(
        default=1, metadata={"help": "A prompt is settled when its last N groups all had zero reward variance."})
    difficulty_retry_prob: float = field(
        default=0.1, metadata={"help": "Chance a settled prompt is trained on anyway (exploration floor)."})
    clip_cov_ratio: float = field(
        default=0.0, metadata={"help": "Clip-Cov (entropy control): share of completion tokens, among those whose "
                                       "covariance of log-prob and advantage lies in [clip_cov_lb, clip_cov_ub], "
                                       "whose gradient is dropped each update (0: off)."})
    lr_decay_after_steps: int = field(
        default=0, metadata={"help": "Hold the learning rate (after warm-up) for this many steps, then decay it "
                                     "(cosine) to 0 at max_steps (transformers' warmup_stable_decay); 0: "
                                     "lr_scheduler_type as given."})
    clip_cov_lb: float = field(default=1.0, metadata={"help": "Clip-Cov lower covariance bound."})
    clip_cov_ub: float = field(default=5.0, metadata={"help": "Clip-Cov upper covariance bound."})

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
    reflection_words: str | None = field(
        default=None, metadata={"help": "Reflection words counted per completion (comma list); default: SimpleRL-Zoo's "
                                        "+ understand-r1-zero's lists (r1lite.train.diagnostics)."})
    report: bool = field(default=True, metadata={"help": "Write report.html (r1lite report) at the end."})
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
        check_ranges(self)
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
        self._decay_lr_after()
        self._check_generation_kwargs()
        self._check_reliability()
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
        if self.validation_n < 0 or self.validation_every < 0:
            raise ConfigError("validation_n and validation_every must be >= 0")
        if self.dynamic_sampling_refill < 0:
            raise ConfigError("dynamic_sampling_refill must be >= 0 (number of extra generation rounds)")

    def _decay_lr_after(self) -> None:
        """``lr_decay_after_steps: N``: a run's first N steps are the constant-rate run's, step for step; a longer
        run then anneals (cosine to 0 at ``max_steps``) instead of taking full-size steps on ever fewer informative
        groups (the collapse of docs/reliability.md). transformers' WSD schedule does it; r1lite only derives its
        stable and decay lengths from N and ``max_steps``, which transformers takes as fixed numbers."""
        n = self.lr_decay_after_steps
        if not n:
            return
        kind = getattr(self.lr_scheduler_type, "value", self.lr_scheduler_type)
        if self.max_steps is None or self.max_steps <= 0:
            raise ConfigError("lr_decay_after_steps needs a step budget to decay over: set --max_steps")
        if kind == "warmup_stable_decay" and (self.lr_scheduler_kwargs or {}).get("num_decay_steps") == \
                self.max_steps - n:  # a config this method already resolved (re-read from a run folder)
            return
        if kind not in ("constant", "constant_with_warmup"):
            raise ConfigError(f"lr_decay_after_steps holds a constant rate, then decays it; lr_scheduler_type={kind} "
                              "already decays: keep it with --lr_decay_after_steps 0, or set --lr_scheduler_type "
                              "constant_with_warmup")
        warm = self.get_warmup_steps(self.max_steps) if kind == "constant_with_warmup" else 0
        if n < warm:
            raise ConfigError(f"lr_decay_after_steps={n} is inside the {warm} warm-up steps; hold the rate after "
                              "warm-up (a larger value, or fewer --warmup_steps)")
        if self.max_steps <= n:  # the whole run is the constant part
            return
        from transformers.trainer_utils import SchedulerType

        self.lr_scheduler_type = SchedulerType.WARMUP_STABLE_DECAY
        self.warmup_steps = warm
        self.lr_scheduler_kwargs = {"num_stable_steps": n - warm, "num_decay_steps": self.max_steps - n,
                                    "decay_type": "cosine", "min_lr_ratio": 0.0}

    def _check_generation_kwargs(self) -> None:
        """No ``seed`` in ``generation_kwargs``: TRL passes it to one ``SamplingParams`` shared by every request,
        so the G copies of a prompt sample the same stream and come out identical (no reward variance, no signal).
        The run's ``seed`` already seeds the engine; each copy then draws its own numbers."""
        kwargs = self.generation_kwargs
        if isinstance(kwargs, str):
            kwargs = _parse_mapping("generation_kwargs", kwargs)
        if isinstance(kwargs, dict) and kwargs.get("seed") is not None:
            raise ConfigError(f"generation_kwargs seed={kwargs['seed']!r} makes all {self.num_generations} completions "
                              "of a prompt identical (one sampling stream per request); remove it and set --seed "
                              "instead")

    def _check_reliability(self) -> None:
        """The reliability options (docs/reliability.md) hold values that can run."""
        if self.best_metric is not None and not str(self.best_metric).strip():
            raise ConfigError("best_metric is empty; name a held-out metric, e.g. --best_metric accuracy")
        if self.early_stopping_patience < 0:
            raise ConfigError(f"early_stopping_patience must be >= 0 (0: never stop early), got "
                              f"{self.early_stopping_patience}")
        mid_run_points = self.validation_every if self.validation_n else self.heldout_n and self.heldout_every
        if self.early_stopping_patience and not mid_run_points:
            raise ConfigError("early_stopping_patience needs held-out points during training: set --heldout_every N "
                              "(and --heldout_n > 0), or --validation_every N with --validation_n > 0")
        if self.validation_n and self.best_metric is None:
            raise ConfigError("validation_n picks output_dir/best/ by best_metric, which is None: set --best_metric "
                              "accuracy or --validation_n 0")
        if self.stop_after_no_signal_steps < 0:
            raise ConfigError(f"stop_after_no_signal_steps must be >= 0 (0: never stop), got {self.stop_after_no_signal_steps}")
        if not 0.0 <= self.difficulty_retry_prob <= 1.0:
            raise ConfigError(f"difficulty_retry_prob must be in [0, 1], got {self.difficulty_retry_prob}")
        if self.difficulty_window < 1:
            raise ConfigError(f"difficulty_window must be >= 1 (groups of history), got {self.difficulty_window}")
        if not 0.0 <= self.clip_cov_ratio <= 1.0:
            raise ConfigError(f"clip_cov_ratio must be in [0, 1] (share of tokens), got {self.clip_cov_ratio}")
        if self.clip_cov_ratio and self.clip_cov_lb >= self.clip_cov_ub:
            raise ConfigError(f"clip_cov_lb ({self.clip_cov_lb}) must be below clip_cov_ub ({self.clip_cov_ub})")

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


# field -> (allowed, what the value means / how to fix it). ``allowed`` is a predicate on a set value; ``None``
# is always allowed for optional fields. Only ranges that TRL / transformers do not check themselves (or check
# only after the model has loaded, with a traceback) are here.
def _positive(v: float) -> bool:
    return v > 0


def _at_least_1(v: float) -> bool:
    return v >= 1


def _non_negative(v: float) -> bool:
    return v >= 0


def _unit(v: float) -> bool:
    return 0 <= v <= 1


RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "learning_rate": (_non_negative, "must be >= 0 (a step size; typical 1e-6 to 1e-5 full, 1e-4 LoRA)"),
    "max_completion_length": (_at_least_1, "must be >= 1 token (e.g. 256)"),
    "max_prompt_length": (_at_least_1, "must be >= 1 token, or null for no limit"),
    "heldout_max_new_tokens": (_at_least_1, "must be >= 1 token, or unset for max_completion_length"),
    "num_generations": (_at_least_1, "must be >= 1 completion per prompt (GRPO needs >= 2)"),
    "per_device_train_batch_size": (_at_least_1, "must be >= 1"),
    "per_device_eval_batch_size": (_at_least_1, "must be >= 1"),
    "gradient_accumulation_steps": (_at_least_1, "must be >= 1"),
    "generation_batch_size": (_at_least_1, "must be >= 1 completion, or unset"),
    "steps_per_generation": (_at_least_1, "must be >= 1, or unset"),
    "num_iterations": (_at_least_1, "must be >= 1 (updates per rollout)"),
    "heldout_batch_size": (_at_least_1, "must be >= 1 prompt per generate call"),
    "train_limit": (_at_least_1, "must be >= 1 problem, or unset for the whole split"),
    "temperature": (_positive, "must be > 0: training samples (and divides logits by it); 1.0 is R1-Zero's"),
    "heldout_temperature": (_non_negative, "must be >= 0 (0 = greedy)"),
    "top_p": (lambda v: 0 < v <= 1, "must lie in (0, 1] (1.0 = off)"),
    "top_k": (_non_negative, "must be >= 0 (0 = off)"),
    "min_p": (_unit, "must lie in [0, 1], or unset"),
    "repetition_penalty": (_positive, "must be > 0 (1.0 = off)"),
    "beta": (_non_negative, "must be >= 0 (KL coefficient; 0 = no reference model)"),
    "epsilon": (_positive, "must be > 0 (PPO clip range, e.g. 0.2)"),
    "epsilon_high": (_positive, "must be > 0 (upper clip range, e.g. 0.28), or unset for epsilon"),
    "delta": (_positive, "must be > 0 (two-sided clip bound), or unset"),
    "top_entropy_quantile": (_unit, "must lie in [0, 1] (1.0 = every token)"),
    "vllm_gpu_memory_utilization": (lambda v: 0 < v <= 1, "must lie in (0, 1] (a fraction of GPU memory)"),
    "vllm_importance_sampling_cap": (_positive, "must be > 0, or unset"),
    "max_steps": (lambda v: v >= 1 or v == -1, "must be >= 1 step, or -1 to train for num_train_epochs"),
    "num_train_epochs": (_positive, "must be > 0"),
    "logging_steps": (_positive, "must be > 0 (steps, or a fraction of the run below 1)"),
    "save_steps": (_positive, "must be > 0 (steps, or a fraction of the run below 1)"),
    "eval_steps": (_positive, "must be > 0, or unset"),
    "save_total_limit": (_at_least_1, "must be >= 1 checkpoint, or null to keep all"),
    "warmup_steps": (_non_negative, "must be >= 0"),
    "lr_decay_after_steps": (_non_negative, "must be >= 0 steps (0 = off)"),
    "weight_decay": (_non_negative, "must be >= 0"),
    "max_grad_norm": (_non_negative, "must be >= 0 (0 = no clipping)"),
    "seed": (lambda v: 0 <= v < 2**32, "must lie in [0, 2**32)"),
    "table_every": (_non_negative, "must be >= 0 (0 = never)"),
    "samples_every": (_non_negative, "must be >= 0 (0 = never)"),
    "lora_r": (_at_least_1, "must be >= 1"),
    "lora_alpha": (_positive, "must be > 0"),
    "lora_dropout": (lambda v: 0 <= v < 1, "must lie in [0, 1)"),
}


def check_ranges(cfg: Any) -> None:
    """Every numeric field in :data:`RANGES` within its range, else one :class:`ConfigError` line naming the field,
    the value, the range and the flag to fix it. Runs in ``R1Config.__post_init__``, before anything loads."""
    for name, (allowed, what) in RANGES.items():
        value = getattr(cfg, name, None)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not allowed(value):
            raise ConfigError(f"{name}={value:g} is out of range: {what}; fix --{name} (or {name}: in the config)")


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
