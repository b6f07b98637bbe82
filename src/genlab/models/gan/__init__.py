"""GAN family: adversarial image generators (DCGAN, SNGAN, SAGAN; conditional and unconditional)."""

from __future__ import annotations

from genlab.data.image_dataset import ImageDataConfig, build_image_dataset
from genlab.models.gan.config import RESOLUTIONS, DCGANConfig, GANConfig, SAGANConfig, SNGANConfig
from genlab.models.gan.model import DCGAN, GAN, SAGAN, SNGAN
from genlab.models.registry import Family

__all__ = ["DCGAN", "DCGANConfig", "FAMILY", "GAN", "GANConfig", "SAGAN", "SAGANConfig", "SNGAN", "SNGANConfig"]


def build_gan_data(data: ImageDataConfig, model: GANConfig):
    return build_image_dataset(data, model, RESOLUTIONS[model.backbone])


FAMILY = Family(
    name="gan",
    description="adversarial image generators: DCGAN, SNGAN (ResNet + spectral norm), SAGAN (self-attention)",
    models={"dcgan": DCGAN, "sngan": SNGAN, "sagan": SAGAN},
    default_model="dcgan",
    data_config=ImageDataConfig,
    build_data=build_gan_data,
)
