"""The MLP backbone for low-dimensional data (the 2-D mixtures of the mode-collapse benchmarks).

Generator: z → [Linear → ReLU] × depth → Linear to ``channels`` coordinates.
Discriminator: (B, channels·pack) → [Linear → LeakyReLU(0.2)] × depth → head.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from genlab.models.gan.config import GANConfig
from genlab.models.gan.layers import DiscriminatorHead, spectral
from genlab.nn.perceptron import hidden_layers


def spectral_linear(inputs: int, outputs: int, sn: bool) -> nn.Module:
    """A linear layer, spectrally normalised when ``sn``."""
    return spectral(nn.Linear(inputs, outputs), sn)


class Generator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        sn = config.spectral_norm == "both"
        widths = [config.latent_dim] + [config.generator_width] * config.mlp_depth
        layers = hidden_layers(widths, partial(nn.ReLU, inplace=True), partial(spectral_linear, sn=sn))
        self.net = nn.Sequential(*layers, spectral(nn.Linear(widths[-1], config.channels), sn))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)  # (B, latent_dim) → (B, channels)


class Discriminator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        sn = config.spectral_norm != "none"
        widths = [config.channels * config.pack] + [config.discriminator_width] * config.mlp_depth
        self.trunk = nn.Sequential(*hidden_layers(widths, partial(nn.LeakyReLU, 0.2, inplace=True),
                                                  partial(spectral_linear, sn=sn)))
        self.head = DiscriminatorHead(widths[-1], num_classes, config.discriminator_conditioning, sn)

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None, features: bool = False):
        """(B, channels·pack) → (logits (B,), class logits or None[, the head's input (B, width)])."""
        h = self.trunk(points)
        return (*self.head(h, labels), h) if features else self.head(h, labels)
