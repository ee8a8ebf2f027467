"""Without a network a run fails in seconds with r1lite's message, not after ~23 s of Hub retries per file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from r1lite import hub
from r1lite.models import ModelError, load_tokenizer, resolve_model


@pytest.fixture()
def unreachable_hub(monkeypatch: pytest.MonkeyPatch):
    """Online mode, but the Hub's endpoint is a closed local port (the tests never touch the network)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # restored afterwards; offline_if_unreachable sets it
    for var in hub.PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    hub.offline_reason.cache_clear()
    yield constants
    hub.offline_reason.cache_clear()


def test_unreachable_hub_switches_to_offline_mode(unreachable_hub) -> None:
    started = time.perf_counter()
    reason = hub.offline_if_unreachable()
    assert reason is not None and reason.startswith("cannot reach 127.0.0.1")
    assert unreachable_hub.HF_HUB_OFFLINE is True  # the libraries now fail at once (and still read the cache)
    with pytest.raises(ModelError, match=r"not in the local Hugging Face cache .*cannot reach 127\.0\.0\.1"):
        resolve_model("HuggingFaceTB/no-such-model")
    assert time.perf_counter() - started < hub.PROBE_TIMEOUT_S + 2


def test_offline_dataset_fails_fast_with_the_data_dir_fix(unreachable_hub, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from r1lite.tasks import DataSourceError, get_task

    monkeypatch.setenv("R1LITE_DATA_DIR", str(tmp_path))
    started = time.perf_counter()
    with pytest.raises(DataSourceError, match="R1LITE_DATA_DIR") as err:
        get_task("gsm8k").load("test")
    assert time.perf_counter() - started < 15  # was ~23 s of retries before failing
    assert "openai/gsm8k" in str(err.value)


def test_reachable_hub_leaves_online_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from huggingface_hub import constants

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    for var in hub.PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    hub.offline_reason.cache_clear()
    try:
        assert hub.offline_if_unreachable() is None and constants.HF_HUB_OFFLINE is False
    finally:
        server.close()
        hub.offline_reason.cache_clear()


def test_tokenizer_failure_is_a_model_error(tmp_path: Path) -> None:
    model = tmp_path / "no_tokenizer"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(ModelError, match="cannot load the tokenizer of model .*needs its tokenizer files"):
        load_tokenizer(str(model))


def test_eval_with_an_uncached_hub_id_is_one_line(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from r1lite.eval.evaluate import main

    assert main(["--model", "HuggingFaceTB/no-such-model", "--benchmarks", "gsm8k", "--limit", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "r1lite eval: model 'HuggingFaceTB/no-such-model' is not in the local" in err
