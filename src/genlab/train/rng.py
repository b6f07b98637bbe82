"""Capture and restore every random number generator a run draws from.

The state is made of plain tuples, lists and tensors, so ``torch.load(weights_only=True)`` reads
it back (numpy's key array is stored as a tensor, not as a pickled ndarray).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


TRAINING_STREAM = 0x7472_6169  # tells training's streams apart from a checkpoint's (seed, step, rank) reseeding


def training_seed(seed: int, rank: int) -> int:
    """The seed (below 2**63) of one process's training randomness (noise, dropout, augmentation):
    unrelated to ``seed`` itself, which drew the initial weights, and to other ranks' and other seeds'
    streams (``seed + rank`` would give seed 1's rank 0 the stream of seed 0's rank 1)."""
    return int(np.random.SeedSequence([seed, TRAINING_STREAM, rank]).generate_state(1, np.uint64)[0]) >> 1


def capture_rng(device: torch.device | None = None) -> dict[str, Any]:
    """Every stream a run draws from: Python's, numpy's, torch's CPU generator and, for a CUDA
    ``device``, that GPU's generator (the one training draws from; other GPUs' are not its)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Put back what :func:`capture_rng` took; the saved GPU stream goes to the CUDA ``device``
    training now runs on, whatever its index was when saved (a run may resume on another GPU)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    saved = state.get("cuda")
    if saved is None or device is None or device.type != "cuda":
        return
    if isinstance(saved, (list, tuple)):  # checkpoints until 6 December: every GPU's stream, by index
        index = device.index if device.index is not None else torch.cuda.current_device()
        saved = saved[index] if index < len(saved) else None
    if saved is not None:
        torch.cuda.set_rng_state(saved, device)
