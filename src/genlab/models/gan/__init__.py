"""GAN family: adversarial image generators (DCGAN; more backbones in later issues)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from genlab.data.image_dataset import ImageDataConfig, ImageTensorDataset
from genlab.errors import ConfigError
from genlab.models.gan.dcgan import DCGAN, RESOLUTIONS, DCGANConfig
from genlab.models.registry import Family

__all__ = ["DCGAN", "DCGANConfig", "FAMILY"]


def build_image_data(data: ImageDataConfig, model):
    """Load images at the model's resolution and channels; fill those the model left open."""
    from genlab.data.images import load_images

    images = load_images(data.path, resolution=data.resolution or model.resolution,
                         channels=data.channels or model.channels, skip_corrupt=data.skip_corrupt)
    n, height, width, channels = images.images.shape
    if height != width:
        raise ConfigError(f"Images in {images.source} are {height}×{width}; pass --data.resolution N "
                          "to resize and centre-crop them to N×N.")
    if model.resolution is None and height not in RESOLUTIONS:
        raise ConfigError(f"Images in {images.source} are {height}×{width}, which {type(model).__name__} does "
                          f"not support; pass --model.resolution with one of {', '.join(map(str, RESOLUTIONS))}.")
    model = dataclasses.replace(model, resolution=model.resolution or height, channels=model.channels or channels)
    tensor = torch.from_numpy(np.ascontiguousarray(images.images.transpose(0, 3, 1, 2)))  # (N, C, H, W) uint8
    labels = torch.from_numpy(images.labels) if images.labels is not None else None
    skipped = f", {images.skipped} unreadable files skipped" if images.skipped else ""
    description = f"{n} images {height}×{width}×{channels} from {images.source}{skipped}"
    return ImageTensorDataset(tensor, labels, hflip=data.hflip, description=description), model


FAMILY = Family(
    name="gan",
    description="adversarial image generators: DCGAN",
    models={"dcgan": DCGAN},
    default_model="dcgan",
    data_config=ImageDataConfig,
    build_data=build_image_data,
)
