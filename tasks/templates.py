"""Prompt templates: ``r1zero`` for base models, ``chat`` for instruct models, or a user file.

* ``r1zero``: the DeepSeek-R1-Zero template, a plain string ending with ``Assistant: <think>``,
  so the completion starts inside the think block (the ``format`` rule counts the prefilled tag).
* ``chat``: chat messages (system prompt asking for the same tags + the question); the tokenizer's
  chat template turns them into text with the generation prompt.
* a file: any text with ``{question}`` (replaced literally, so LaTeX braces need no escaping).

The default is ``chat`` when the tokenizer has a chat template, else ``r1zero``. A prompt is
either a string or a message list, which is what TRL's ``GRPOTrainer`` accepts in its ``prompt``
column; :func:`prompt_text` gives the exact text the model sees for either.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from r1lite.tasks.base import TaskError

TEMPLATES = ("chat", "r1zero")
PLACEHOLDER = "{question}"

R1ZERO_INSTRUCTION = (
    "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process in the mind and then provides the User with "
    "the answer. The reasoning process is enclosed within <think> </think> and the answer is enclosed "
    "within <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>."
)
R1ZERO_TEMPLATE = R1ZERO_INSTRUCTION + "\nUser: {question}\nAssistant: <think>"
SYSTEM_PROMPT = (
    "You are a helpful assistant. You first think about the reasoning process step by step and then give "
    "the final answer. Put the reasoning inside <think> </think> tags and only the final answer inside "
    "<answer> </answer> tags, i.e., <think> reasoning process here </think> <answer> answer here </answer>."
)


class TemplateError(TaskError):
    """Unknown template, unreadable template file or missing chat template."""


def has_chat_template(tokenizer: Any) -> bool:
    return bool(tokenizer is not None and getattr(tokenizer, "chat_template", None))


def resolve_template(template: str | None, tokenizer: Any = None) -> str:
    """``"chat"``, ``"r1zero"`` or the absolute path of a template file; ``None`` picks by tokenizer."""
    if template is None or template in ("", "auto"):
        return "chat" if has_chat_template(tokenizer) else "r1zero"
    if not isinstance(template, str):
        raise TemplateError(f"template must be a name or a file path, got {type(template).__name__}")
    name = template.strip()
    if name in TEMPLATES:
        if name == "chat" and tokenizer is not None and not has_chat_template(tokenizer):
            raise TemplateError("template 'chat' needs a tokenizer with a chat template (this one has none); "
                                "use --template r1zero for base models")
        return name
    path = Path(name).expanduser()
    if not path.is_file():
        raise TemplateError(f"unknown template {template!r}: use one of {', '.join(TEMPLATES)} "
                            "or the path of a text file containing {question}")
    _read_template_file(path)  # validate now, not at the first prompt
    return str(path.resolve())


def _read_template_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template file {path}: {exc}") from exc
    if PLACEHOLDER not in text:
        raise TemplateError(f"template file {path} has no {PLACEHOLDER} placeholder")
    return text.rstrip("\n")


def render_prompt(question: str, template: str | None, tokenizer: Any = None) -> str | list[dict[str, str]]:
    """The prompt for ``question``: a string (``r1zero``, files) or chat messages (``chat``)."""
    name = resolve_template(template, tokenizer)
    if name == "r1zero":
        return R1ZERO_TEMPLATE.replace(PLACEHOLDER, question)
    if name == "chat":
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
    return _read_template_file(Path(name)).replace(PLACEHOLDER, question)


def prompt_text(prompt: str | list[dict[str, str]], tokenizer: Any = None) -> str:
    """Exactly the text the model sees: a string as is, messages through the chat template."""
    if isinstance(prompt, str):
        return prompt
    if tokenizer is None or not has_chat_template(tokenizer):
        raise TemplateError("chat-message prompts need a tokenizer with a chat template")
    return tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True)


def prompt_length(prompt: str | list[dict[str, str]], tokenizer: Any) -> int:
    """Prompt tokens as TRL counts them (special tokens added for strings; the chat template has its own)."""
    text = prompt_text(prompt, tokenizer)
    return len(tokenizer(text, add_special_tokens=isinstance(prompt, str))["input_ids"])


def build_prompts(dataset: Any, template: str | None, tokenizer: Any, max_prompt_length: int | None = None) -> Any:
    """``dataset`` with a ``prompt`` column; prompts over ``max_prompt_length`` tokens are dropped, never cut.

    The number dropped is printed; dropping everything is an error (raise the limit).
    """
    name = resolve_template(template, tokenizer)
    if "question" not in dataset.column_names:
        raise TaskError(f"build_prompts needs a 'question' column; got {dataset.column_names}")
    if "prompt" in dataset.column_names:
        dataset = dataset.remove_columns("prompt")
    data = dataset.add_column("prompt", [render_prompt(q, name, tokenizer) for q in dataset["question"]])
    if max_prompt_length is None or tokenizer is None:
        return data
    lengths = [prompt_length(p, tokenizer) for p in data["prompt"]]
    keep = [i for i, n in enumerate(lengths) if n <= max_prompt_length]
    dropped = len(lengths) - len(keep)
    if dropped:
        print(f"[r1lite] dropped {dropped} of {len(lengths)} prompts longer than max_prompt_length="
              f"{max_prompt_length} tokens (longest: {max(lengths)}); they are never truncated", file=sys.stderr)
    if lengths and not keep:
        raise TaskError(f"every prompt is longer than max_prompt_length={max_prompt_length} tokens "
                        f"(shortest: {min(lengths)}); raise --max_prompt_length")
    return data.select(keep) if dropped else data
