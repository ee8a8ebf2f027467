"""``python -m r1lite.recipes.math``: GRPO on the math task (CPU preset without CUDA, GPU preset with it).

Any config field can be overridden: ``--max-steps 50 --learning_rate 5e-6 --preset cpu --dry-run --resume``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from r1lite.train.command import main

CONFIG = Path(__file__).with_suffix(".yaml")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], default_config=CONFIG))
