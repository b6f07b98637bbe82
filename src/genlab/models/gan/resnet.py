"""The ResNet backbone of SNGAN (Miyato et al. 2018) for 32×32 and 64×64 images.

Generator: z (and, when class-conditional, its class one-hot) → linear to a 4×4 map → up-sampling
residual blocks (BN-ReLU-up-conv3-BN-ReLU-conv3, with an up-sampled 1×1 shortcut) →
BN-ReLU-conv3-tanh. Discriminator: an "optimised" first block, down-sampling residual blocks, two
blocks at the final resolution, ReLU, sum over positions, then the (projection) head. Every stage
has the same width, as in the paper's CIFAR-10 networks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genlab.models.gan.config import GANConfig
from genlab.models.gan.layers import DiscriminatorHead, Norm2d, spectral
from genlab.nn.attention2d import SelfAttention2d
from genlab.nn.conditioning import with_label_maps, with_one_hot


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, num_classes: int | None, sn: bool) -> None:
        super().__init__()
        self.norm1, self.norm2 = Norm2d(c_in, num_classes), Norm2d(c_out, num_classes)
        self.conv1 = spectral(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.conv2 = spectral(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.shortcut = spectral(nn.Conv2d(c_in, c_out, 1), sn)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, labels)), scale_factor=2)  # (B, c_in, 2H, 2W)
        h = self.conv2(F.relu(self.norm2(self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DownBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, down: bool, first: bool, sn: bool) -> None:
        super().__init__()
        self.first, self.down = first, down
        self.conv1 = spectral(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.conv2 = spectral(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.shortcut = spectral(nn.Conv2d(c_in, c_out, 1), sn) if (c_in != c_out or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        skip = x
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.shortcut is not None:  # the first block pools before its shortcut conv, the others after
            skip = self.shortcut(F.avg_pool2d(skip, 2) if self.first else skip)
            if self.down and not self.first:
                skip = F.avg_pool2d(skip, 2)
        return h + skip


class Generator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        sn = config.spectral_norm == "both"
        width = config.generator_width
        stages = int(math.log2(config.resolution // 4))
        self.width = width
        self.num_classes = num_classes  # a conditional G reads its class one-hot beside z
        self.stem = spectral(nn.Linear(config.latent_dim + (num_classes or 0), 4 * 4 * width), sn)
        self.blocks = nn.ModuleList([UpBlock(width, width, num_classes, sn) for _ in range(stages)])
        sizes = [8 * 2 ** i for i in range(stages)]  # feature-map size after each block
        self.feature_sizes = set(sizes)  # where self-attention can sit
        self.attention = nn.ModuleDict({str(i): SelfAttention2d(width, sn) for i, s in enumerate(sizes)
                                        if s in config.attention_resolutions})
        self.norm = nn.BatchNorm2d(width)
        self.to_image = spectral(nn.Conv2d(width, config.channels, 3, 1, 1), sn)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.stem(with_one_hot(z, labels, self.num_classes)).view(z.shape[0], self.width, 4, 4)  # (B, w, 4, 4)
        for i, block in enumerate(self.blocks):
            x = block(x, labels)  # ×2 resolution
            if str(i) in self.attention:
                x = self.attention[str(i)](x)
        return torch.tanh(self.to_image(F.relu(self.norm(x))))  # (B, C, H, W)


class Discriminator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        sn = config.spectral_norm != "none"
        width = config.discriminator_width
        downs = int(math.log2(config.resolution // 8))  # 32 → 2 down blocks, 64 → 3
        blocks: list[nn.Module] = []
        size = config.resolution
        self.feature_sizes = {config.resolution // 2 ** (i + 1) for i in range(downs)}  # where self-attention can sit
        self.concat_classes = num_classes if config.discriminator_conditioning == "concat" else None
        inputs = config.channels * config.pack + (self.concat_classes or 0) * config.pack
        for i in range(downs + 2):
            down = i < downs
            blocks.append(DownBlock(inputs if i == 0 else width, width, down, i == 0, sn))
            size //= 2 if down else 1
            if size in config.attention_resolutions and i < downs:
                blocks.append(SelfAttention2d(width, sn))
        self.trunk = nn.Sequential(*blocks)
        self.head = DiscriminatorHead(width, num_classes, config.discriminator_conditioning, sn)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None, features: bool = False):
        """(B, C·pack, H, W) → (logits (B,), class logits (B, K) or None[, the head's input (B, width)])."""
        if self.concat_classes is not None:
            images = with_label_maps(images, labels, self.concat_classes)
        h = F.relu(self.trunk(images)).sum(dim=(2, 3))  # (B, width): sum over positions
        return (*self.head(h, labels), h) if features else self.head(h, labels)
