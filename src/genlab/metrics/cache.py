"""Cached reference features, one file per (dataset and its pixels, split, extractor and its
weights, resolution, the code that computes them).

The cache folder is ``$GENLAB_CACHE`` or ``~/.cache/genlab``; each entry is a safetensors file
of the reference features (and class probabilities) whose metadata records its protocol.
Deleting the folder is always safe.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from genlab import __version__
from genlab.fileio import atomic_write

# The modules whose code decides a cached entry's values: the extractors (resize, normalisation,
# networks) and the k-NN radii cached beside the features.
FEATURE_CODE = ("extractors.py", "inception.py", "evaluators.py", "precision_recall.py")


@functools.cache
def feature_code_digest() -> str:
    """sha256 (16 hex digits) of the :data:`FEATURE_CODE` files: any edit of them, even one the
    version number does not record, makes the cache compute its entries again."""
    digest = hashlib.sha256()
    for name in FEATURE_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """``$GENLAB_CACHE``, else ``~/.cache/genlab``. Raises RuntimeError where the user has no home
    folder (HOME unset and no password entry, as for an arbitrary uid in some containers)."""
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab").expanduser()


def home_cache(*parts: str) -> Path | None:
    """``~/.cache/PARTS``, or None where the user has no home folder."""
    try:
        return Path.home().joinpath(".cache", *parts)
    except RuntimeError:
        return None


def images_digest(images: np.ndarray) -> str:
    """sha256 of uint8 images (N, H, W, C), shape included: the identity of a reference set's pixels."""
    digest = hashlib.sha256(repr(images.shape).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def reference_key(dataset: str, images: str, split: str, extractor: str, weights: str,
                  resolution: int) -> dict[str, str | int]:
    """``images`` is the pixels' ``images_digest``, so an edited reference (even one whose path, size
    and modification time are unchanged) is recomputed; ``weights`` names the extractor's weights (a
    sha256), so features of retrained weights never meet features cached from the old ones; the
    code digest covers changes of the extractor's code (its resize, its normalisation)."""
    return {"dataset": dataset, "images": images, "split": split, "extractor": extractor, "weights": weights,
            "resolution": resolution, "genlab": __version__, "code": feature_code_digest()}


def _entry_path(key: dict[str, str | int]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return cache_dir() / "reference" / f"{key['extractor']}-{digest}.safetensors"


def load_reference(key: dict[str, str | int]) -> dict[str, torch.Tensor] | None:
    """The cached tensors for ``key``, or None when absent or unreadable (it is then recomputed)."""
    try:
        path = _entry_path(key)
    except RuntimeError:  # no home folder: nothing cached (save_reference says so)
        return None
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            if json.loads((f.metadata() or {}).get("key", "null")) != key:  # no metadata: not genlab's entry
                return None
            return {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError, RecursionError):
        return None


def save_reference(key: dict[str, str | int], tensors: dict[str, torch.Tensor],
                   what: str = "the reference features") -> Path | None:
    """Cache ``tensors`` under ``key``; a cache that cannot be written (a read-only home, a full
    disk) is a printed warning naming ``what`` and None, never the loss of the evaluation that
    computed them."""
    contiguous = {name: t.contiguous() for name, t in tensors.items()}
    try:
        path = _entry_path(key)
        return atomic_write(path, lambda tmp: save_file(contiguous, str(tmp), metadata={"key": json.dumps(key)}))
    except (OSError, RuntimeError) as e:  # RuntimeError: Path.home() with no home directory
        print(f"genlab: warning: {what} were not cached ({e}); the scores are unaffected. Set "
              "GENLAB_CACHE to a writable folder, or pass --no-cache.", file=sys.stderr)
        return None


def data_fingerprint(path: str | os.PathLike | None) -> list | None:
    """What identifies the data at ``path`` cheaply, without reading it: a file's resolved path, size and
    modification time; a folder's, and those of every file beneath it (a picture added, removed or
    rewritten changes it); None (the embedded digits) as genlab's version. None where ``path`` is gone.
    An edit that keeps a file's size and modification time (rare: ``touch -r`` after it) goes unseen."""
    if path is None:
        return ["embedded", __version__]
    path = Path(path).expanduser()
    try:
        stat = path.stat()
        if not path.is_dir():
            return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
        files, seen = hashlib.sha256(), set()
        # Linked folders are followed, as the image reader follows them; each real folder once (a loop ends).
        for folder, subfolders, names in os.walk(path, followlinks=True):
            real = os.path.realpath(folder)
            if real in seen:
                subfolders.clear()
                continue
            seen.add(real)
            subfolders.sort()
            for name in sorted(names):
                entry = Path(folder, name)
                try:
                    info = entry.stat()
                except OSError:  # a link to nothing: the reader skips it too
                    continue
                files.update(f"{entry.relative_to(path)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        return [str(path.resolve()), stat.st_mtime_ns, files.hexdigest()]
    except OSError:
        return None
