"""GAN family: adversarial image generators (DCGAN, SNGAN, SAGAN; conditional and unconditional)."""

from __future__ import annotations

import dataclasses

from genlab.config import is_set
from genlab.data.clusters import frequencies, pixel_clusters
from genlab.data.image_dataset import ImageDataConfig, build_image_dataset
from genlab.data.toy import PointDataset, get_mixture
from genlab.errors import ConfigError
from genlab.models.gan.config import RESOLUTIONS, DCGANConfig, GANConfig, SAGANConfig, SNGANConfig
from genlab.models.gan.model import DCGAN, GAN, SAGAN, SNGAN
from genlab.models.registry import Family

__all__ = ["DCGAN", "DCGANConfig", "FAMILY", "GAN", "GANConfig", "SAGAN", "SAGANConfig", "SNGAN", "SNGANConfig"]


def build_gan_data(data: ImageDataConfig, model: GANConfig):
    """Images for the convolutional backbones; ``--data toy:ring`` / ``toy:grid`` points for mlp."""
    model.check_training()
    is_toy = data.path is not None and data.path.startswith("toy:")
    if is_toy:
        get_mixture(data.path[4:])  # an unknown one is named as such, before the backbone's rule
    if is_toy != (model.backbone == "mlp"):
        raise ConfigError("The 2-D toy data (--data toy:ring, toy:grid) goes with --model.backbone mlp, and "
                          "the mlp backbone only with toy data.")
    if is_toy:
        for name in ("resolution", "channels", "hflip", "skip_corrupt"):  # options of image files
            if is_set(data, name):
                raise ConfigError(f"--data.{name} is for images, and {data.path} holds 2-D points; drop it.")
        if model.channels not in (None, 2):
            raise ConfigError(f"--model.channels is the points' dimension, 2 for {data.path} (got {model.channels}); "
                              "drop it.")
        return PointDataset(get_mixture(data.path[4:]), seed=0), dataclasses.replace(model, channels=2,
                                                                                     mixture=data.path[4:])
    if not model.clusters:
        return build_image_dataset(data, model, RESOLUTIONS[model.backbone])
    # Self-conditioned: the images' k-means clusters are the classes, whatever labels the data has.
    dataset, filled = build_image_dataset(data, dataclasses.replace(model, conditional=False),
                                          RESOLUTIONS[model.backbone])
    dataset.labels = pixel_clusters(dataset.images, model.clusters)
    dataset.description += f", labelled by {model.clusters} k-means clusters of their pixels"
    return dataset, dataclasses.replace(filled, conditional=True, num_classes=model.clusters,
                                        class_frequencies=frequencies(dataset.labels, model.clusters))


FAMILY = Family(
    name="gan",
    description="adversarial generators: gan (every option open), presets dcgan, sngan (ResNet + spectral "
                "norm), sagan (self-attention)",
    models={"gan": GAN, "dcgan": DCGAN, "sngan": SNGAN, "sagan": SAGAN},
    default_model="dcgan",
    data_config=ImageDataConfig,
    build_data=build_gan_data,
)
