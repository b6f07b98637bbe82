"""Class conditioning by input: a label as a one-hot vector beside the features (Mirza & Osindero 2014),
or as constant maps beside an image's channels.

A GAN generator takes it beside z as well as through its class-conditional BatchNorms: entering
before the first normalisation, the label moves the features from the first steps, while
per-class BatchNorm scales and shifts start at 1 and 0 and take thousands of steps to do the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def require_labels(labels: torch.Tensor | None) -> None:
    """Refuse a class-conditional network's call without labels."""
    if labels is None:
        raise ValueError("a class-conditional network needs labels (B,) beside its input")


def with_one_hot(features: torch.Tensor, labels: torch.Tensor | None, num_classes: int | None) -> torch.Tensor:
    """Features (B, F) → (B, F + num_classes) with each row's class one-hot appended; the features
    themselves when unconditional (``num_classes`` None or 0)."""
    if not num_classes:
        return features
    require_labels(labels)
    return torch.cat([features, F.one_hot(labels, num_classes).to(features.dtype)], dim=1)


def with_label_maps(images: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """Images (B, C, H, W) and labels (B,) → (B, C + K, H, W): the class one-hot as K constant maps
    beside the channels (a discriminator's concatenation conditioning). Packed inputs' labels (B, pack)
    give pack·K maps, each member's one-hot in turn."""
    require_labels(labels)
    maps = F.one_hot(labels, num_classes).to(images.dtype).reshape(len(labels), -1)[:, :, None, None]
    return torch.cat([images, maps.expand(-1, -1, *images.shape[2:])], dim=1)
