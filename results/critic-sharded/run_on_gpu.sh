#!/bin/bash
# device check for #15: the critic under FSDP / ZeRO-2 / ZeRO-3 (tests/test_critic_sharded.py) + the CUDA-only tests
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site R1LITE_TEST_TINY_MODEL=$PWD/.devrun/tiny HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi -L
python3 -P -c "import torch, deepspeed, trl, accelerate, transformers, r1lite; print('torch', torch.__version__, 'ds', deepspeed.__version__, 'trl', trl.__version__, 'acc', accelerate.__version__, 'tf', transformers.__version__, r1lite.__file__)" 2>&1 | grep -v Warn | tail -3
set -o pipefail
timeout ${PYTEST_TIMEOUT:-420} python3 -P -m pytest -v -p no:cacheprovider -n ${NPROC:-4} --durations=0 -rA \
  tests/test_critic_sharded.py "tests/test_train.py::test_gpu_preset_trains_on_cuda" \
  "tests/test_eval_generation.py::test_transformers_backend_runs_on_cuda" "$@" 2>&1 | tee $OUT/pytest.log | grep -E "PASSED|FAILED|SKIPPED|ERROR|passed|failed|Error|assert" | head -80
