"""What the benchmark scripts share (they run as ``python benchmarks/NAME.py``, so this imports as ``common``)."""

from __future__ import annotations

import atexit
import contextlib
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from genlab.config import RunConfig
from genlab.data.images import load_images
from genlab.runtime import tune_allocator
from genlab.train.run import train

tune_allocator()  # as the CLI does: big CPU activations reuse heap memory instead of fresh mmaps


def command_line() -> str:
    """How this benchmark was invoked, for its JSON: ``python benchmarks/NAME.py ARGS``."""
    return shlex.join(["python", *sys.argv])


def json_or_text(value: str):
    """A ``--set KEY=VALUE`` value: JSON where it parses (numbers, true, lists), else the text itself."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def model_options(items: list[str]) -> dict:
    """``--set`` items KEY=VALUE → model options."""
    return {key: json_or_text(value) for key, value in (item.split("=", 1) for item in items)}


def work_folder(out: str | None, prefix: str) -> Path:
    """Where a benchmark puts its run (and data it made): ``--out`` DIR, kept so that the run can be
    looked at or scored again (``--score``); else a temporary folder, removed when the benchmark exits."""
    if out:
        path = Path(out).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


OUT_HELP = "keep the run in this folder (default: a temporary folder, removed at the end)"


def timed_training(config: RunConfig) -> tuple[Path, float, float]:
    """Train ``config`` as ``genlab train`` does, without a progress bar and with the trainer's
    chatter on stderr (a benchmark's stdout carries its JSON alone); (run directory, wall seconds,
    CPU seconds: the process's time on all its threads, about wall × threads when compute-bound)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(sys.stderr):
        run_dir = train(config, progress=False)
    return run_dir, time.perf_counter() - start, time.process_time() - cpu_start


def read_images(paths: list[Path]) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 images (N, H, W, C) and labels (N,) of image files read one after another (the CIFAR-10
    copy in ../shared comes in two parts); labels None unless every file has them."""
    sets = [load_images(path) for path in paths]
    labels = None if any(s.labels is None for s in sets) else np.concatenate([s.labels for s in sets])
    return np.concatenate([s.images for s in sets]), labels
