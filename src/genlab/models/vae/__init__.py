"""VAE family: convolutional variational autoencoders (VAE, β-VAE, conditional VAE, IWAE)."""

from __future__ import annotations

from genlab.data.image_dataset import ImageDataConfig, build_image_dataset
from genlab.models.registry import Family
from genlab.models.vae.config import RESOLUTIONS, BetaVAEConfig, CVAEConfig, IWAEConfig, VAEConfig
from genlab.models.vae.model import CVAE, IWAE, VAE, BetaVAE

__all__ = ["CVAE", "FAMILY", "IWAE", "VAE", "BetaVAE", "BetaVAEConfig", "CVAEConfig", "IWAEConfig", "VAEConfig"]


def build_vae_data(data: ImageDataConfig, model: VAEConfig):
    """Images in memory; resolution, channels and (conditional) classes default to the data's."""
    return build_image_dataset(data, model, RESOLUTIONS)


FAMILY = Family(
    name="vae",
    description="variational autoencoders: vae (every option open), presets beta_vae, cvae (class-conditional), "
                "iwae (importance-weighted bound); importance-sampled NLL with 'genlab eval --nll'",
    models={"vae": VAE, "beta_vae": BetaVAE, "cvae": CVAE, "iwae": IWAE},
    default_model="vae",
    data_config=ImageDataConfig,
    build_data=build_vae_data,
)
