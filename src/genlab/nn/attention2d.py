"""Self-attention over the positions of a feature map (SAGAN, Zhang et al. 2019).

Each position attends to every other: queries and keys are 1×1 convolutions to C/8 channels,
values a 1×1 convolution to C/2 channels projected back to C. The output is added to the input
through a learned gate γ that starts at 0, so at initialisation the block is the identity and
the network first learns local features, then how much non-local evidence to use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention2d(nn.Module):
    def __init__(self, channels: int, spectral_norm: bool = False) -> None:
        super().__init__()
        wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        inner = max(channels // 8, 1)
        self.query = wrap(nn.Conv2d(channels, inner, 1, bias=False))
        self.key = wrap(nn.Conv2d(channels, inner, 1, bias=False))
        self.value = wrap(nn.Conv2d(channels, max(channels // 2, 1), 1, bias=False))
        self.out = wrap(nn.Conv2d(max(channels // 2, 1), channels, 1, bias=False))
        self.gate = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        k = self.key(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        v = self.value(x).flatten(2).transpose(1, 2)  # (B, HW, C/2)
        # SAGAN uses unscaled dot products: scale=1 keeps the published formulation.
        attended = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], scale=1.0)[:, 0]
        attended = attended.transpose(1, 2).reshape(b, -1, h, w)  # (B, C/2, H, W)
        return x + self.gate * self.out(attended)
