"""Image training data held in memory as one uint8 tensor, batched by index.

Keeping the whole set as uint8 (N, C, H, W) and gathering batches by index avoids DataLoader
workers entirely: on a CPU this is faster than any worker pipeline for datasets that fit in
memory (MNIST 60k: 47 MB; CIFAR-10 50k: 154 MB), and the batch order is a pure function of
(seed, step), which is what makes resume exact.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from genlab.config import MAX_CLASSES
from genlab.errors import ConfigError


@dataclass
class ImageDataConfig:
    path: str | None = None  # .npz, image folder, CIFAR-10 python folder, MNIST IDX; None: embedded digits
    resolution: int | None = None  # None: the model's resolution, else the data's own
    channels: int | None = None  # None: the model's channels, else the data's own
    hflip: bool = False  # random horizontal flips, for photos (digits and text would be flipped too if asked)
    skip_corrupt: bool = False  # skip unreadable images (counted) instead of stopping

    def validate(self) -> None:
        if self.resolution is not None and self.resolution < 1:
            raise ConfigError(f"--data.resolution must be a positive integer (got {self.resolution}).")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"--data.channels must be 1 or 3 (got {self.channels}).")


class ImageTensorDataset:
    """Images as uint8 (N, C, H, W) with optional int64 labels; batches are float in [-1, 1]."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None, hflip: bool = False,
                 description: str = "") -> None:
        self.images = images
        self.labels = labels
        self.hflip = hflip
        self.description = description

    def __len__(self) -> int:
        return self.images.shape[0]

    def get_batch(self, indices: torch.Tensor, device: torch.device) -> dict[str, Any]:
        """Gather ``indices`` → {"images": float (B, C, H, W) in [-1, 1], "labels": (B,) or None}."""
        images = self.images[indices].to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
        if self.hflip:
            # Draw on the CPU generator whatever the device, so the flips are the same everywhere.
            flip = torch.rand(len(indices)) < 0.5
            images[flip.to(device)] = images[flip.to(device)].flip(-1)
        labels = self.labels[indices].to(device) if self.labels is not None else None
        return {"images": images, "labels": labels}


def build_image_dataset(data: ImageDataConfig, model: Any, resolutions: tuple[int, ...]):
    """Load images for a model config; fill the config fields it left to the data.

    ``model`` is any dataclass config with ``resolution`` and ``channels`` (None: from the data)
    and optionally ``conditional`` / ``num_classes`` (None: one more than the largest label).
    Returns (ImageTensorDataset, completed model config).
    """
    from genlab.data.images import load_images

    for name in ("resolution", "channels"):
        asked, wanted = getattr(data, name), getattr(model, name)
        if asked is not None and wanted is not None and asked != wanted:
            raise ConfigError(f"--data.{name} {asked} differs from --model.{name} {wanted}; set one of them, "
                              "or both to the same value.")
    if data.resolution is not None and model.resolution is None and data.resolution not in resolutions:
        raise ConfigError(f"--data.resolution {data.resolution} is not a resolution this model supports; choose one "
                          f"of {', '.join(map(str, resolutions))}.")
    images = load_images(data.path, resolution=data.resolution or model.resolution,
                         channels=data.channels or model.channels, skip_corrupt=data.skip_corrupt)
    n, height, width, channels = images.images.shape
    if height != width:
        raise ConfigError(f"Images in {images.source} are {height}×{width}; pass --data.resolution N "
                          "to resize and centre-crop them to N×N.")
    if model.resolution is None and height not in resolutions:
        raise ConfigError(f"Images in {images.source} are {height}×{width}, which this model does not support; "
                          f"pass --model.resolution with one of {', '.join(map(str, resolutions))}.")
    filled = {"resolution": model.resolution or height, "channels": model.channels or channels}
    if getattr(model, "conditional", False):
        if images.labels is None:
            raise ConfigError(f"The model is conditional but {images.source} has no labels; use labelled data "
                              "(class subfolders, or y in the .npz) or set --model.conditional false.")
        found = int(images.labels.max()) + 1
        if found > MAX_CLASSES:
            raise ConfigError(f"{images.source} has labels up to {found - 1}, more than a conditional model takes "
                              f"({MAX_CLASSES:,} classes); number the classes from 0.")
        if model.num_classes is not None and found > model.num_classes:
            raise ConfigError(f"{images.source} has labels up to {found - 1}, more than --model.num_classes "
                              f"{model.num_classes}; raise it or leave it unset (a resumed run keeps its "
                              "checkpoint's classes: start a new run with another --out).")
        absent = np.flatnonzero(np.bincount(images.labels, minlength=found) == 0)
        if len(absent):  # a class the model would learn, and be asked for, with no image of it
            listed = ", ".join(map(str, absent[:5])) + (", ..." if len(absent) > 5 else "")
            classes = f"class{'es' if len(absent) > 1 else ''} {listed}"
            raise ConfigError(f"{images.source} has labels 0 to {found - 1} but no image of {classes}; number the "
                              "classes that occur 0 to K-1, without gaps.")
        if model.num_classes is not None and found < model.num_classes:  # fakes of classes no real image has
            raise ConfigError(f"{images.source} has labels 0 to {found - 1}, fewer classes than --model.num_classes "
                              f"{model.num_classes}; set it to {found} or leave it unset (a resumed run keeps its "
                              "checkpoint's classes: start a new run with another --out).")
        filled["num_classes"] = model.num_classes or found
        names = tuple(images.class_names) if images.class_names is not None else None
        saved = getattr(model, "class_names", None)
        if saved is not None and names is not None and names != tuple(saved):  # a resumed run on other folders
            raise ConfigError(f"{images.source} has classes {', '.join(names)}, and the model config records "
                              f"{', '.join(saved)} (the classes of the run it was saved by); resume on data of those "
                              "classes, or start a new run from a config without model.class_names.")
        if saved is None and names is not None and len(names) == filled["num_classes"] and hasattr(model, "class_names"):
            filled["class_names"] = names  # so that evaluation matches other data's labels by name
    tensor = torch.from_numpy(np.ascontiguousarray(images.images.transpose(0, 3, 1, 2)))  # (N, C, H, W) uint8
    labels = torch.from_numpy(images.labels) if images.labels is not None else None
    skipped = f", {images.skipped} unreadable files skipped" if images.skipped else ""
    description = f"{n} images {height}×{width}×{channels} from {images.source}{skipped}"
    dataset = ImageTensorDataset(tensor, labels, hflip=data.hflip, description=description)
    return dataset, dataclasses.replace(model, **filled)
