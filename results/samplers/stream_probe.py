"""One-off probe: the same seed (same training problems, held-out set, init) with another sampling stream:
the global torch RNG is reseeded from (offset, step) before each rollout. A one-off probe kept as the record of results/samplers/stream_probe.json."""
import os
import runpy
import sys

import torch

from r1lite.train.trainer import R1Trainer

OFFSET = int(os.environ["STREAM_OFFSET"])
_orig = R1Trainer._generate

def _generate(self, prompts):
    torch.manual_seed(1_000_003 * OFFSET + self.state.global_step)
    return _orig(self, prompts)

R1Trainer._generate = _generate
sys.argv = ["r1lite.recipes.arithmetic", *sys.argv[1:]]
runpy.run_module("r1lite.recipes.arithmetic", run_name="__main__")
