"""What the benchmark scripts share (they run as ``python benchmarks/NAME.py``, so this imports as ``common``)."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from genlab.config import RunConfig
from genlab.train.run import train


def timed_training(config: RunConfig) -> tuple[Path, float]:
    """Train ``config`` as ``genlab train`` does, without a progress bar and with the trainer's
    chatter on stderr (a benchmark's stdout carries its JSON alone); (run directory, wall seconds)."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        run_dir = train(config, progress=False)
    return run_dir, time.perf_counter() - start
