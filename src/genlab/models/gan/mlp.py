"""The MLP backbone for low-dimensional data (the 2-D mixtures of the mode-collapse benchmarks).

Generator: z → [Linear → ReLU] × depth → Linear to ``channels`` coordinates.
Discriminator: (B, channels·pack) → [Linear → LeakyReLU(0.2)] × depth → head.
"""

from __future__ import annotations

import torch
from torch import nn

from genlab.models.gan.config import GANConfig
from genlab.models.gan.layers import DiscriminatorHead, spectral


class Generator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        sn = config.spectral_norm == "both"
        widths = [config.latent_dim] + [config.generator_width] * config.mlp_depth
        layers: list[nn.Module] = []
        for a, b in zip(widths, widths[1:]):
            layers += [spectral(nn.Linear(a, b), sn), nn.ReLU(inplace=True)]
        layers.append(spectral(nn.Linear(widths[-1], config.channels), sn))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)  # (B, latent_dim) → (B, channels)


class Discriminator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        sn = config.spectral_norm != "none"
        widths = [config.channels * config.pack] + [config.discriminator_width] * config.mlp_depth
        layers: list[nn.Module] = []
        for a, b in zip(widths, widths[1:]):
            layers += [spectral(nn.Linear(a, b), sn), nn.LeakyReLU(0.2, inplace=True)]
        self.trunk = nn.Sequential(*layers)
        self.head = DiscriminatorHead(widths[-1], num_classes, config.discriminator_conditioning, sn)

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None, features: bool = False):
        """(B, channels·pack) → (logits (B,), class logits or None[, the head's input (B, width)])."""
        h = self.trunk(points)
        return (*self.head(h, labels), h) if features else self.head(h, labels)
