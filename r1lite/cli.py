"""The ``r1lite`` console script.

Each subcommand lives in its own module and exposes ``main(argv: list[str]) -> int``;
they are imported lazily so ``r1lite rewards ...`` never pays for importing TRL.
"""

from __future__ import annotations

import difflib
import importlib
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "rewards": ("r1lite.rewards.cli", "score completions with reward rules, list rules"),
    "tasks": ("r1lite.tasks.cli", "list tasks, show rendered prompts and gold answers"),
    "train": ("r1lite.train.command", "train with GRPO (or PPO) from a recipe/config"),
    "report": ("r1lite.train.report", "write report.html for a training run (curves, held-out flips, samples)"),
    "eval": ("r1lite.eval.evaluate", "evaluate a model on math benchmarks"),
    "models": ("r1lite.models", "prepare models (e.g. convert the smollm2-135m GGUF)"),
    "serve": ("r1lite.rollout.server", "run the vLLM rollout server for a trainer (--vllm_mode server)"),
    "env": ("r1lite.train.env", "print the sampler, torch build, device and threads a run would use"),
}


def _usage() -> str:
    lines = ["usage: r1lite <command> [args]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run `r1lite <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from r1lite import __version__

        print(f"r1lite {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        close = difflib.get_close_matches(name, list(SUBCOMMANDS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        print(f"r1lite: unknown command {name!r}{hint}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(SUBCOMMANDS[name][0])
        return int(module.main(rest) or 0)
    except KeyboardInterrupt:  # `train` says more (step, checkpoint); the rest have nothing to resume
        print(f"\nr1lite {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
