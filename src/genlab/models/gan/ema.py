"""Exponential moving average of a network's weights (Yazıcı et al. 2019; used by BigGAN, StyleGAN)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def ema_update(average: nn.Module, current: nn.Module, decay: float) -> None:
    """average ← decay·average + (1 − decay)·current for parameters; buffers (BN statistics) are copied."""
    averaged = list(average.parameters())
    torch._foreach_lerp_(averaged, [p.detach() for p in current.parameters()], 1.0 - decay)
    for mine, theirs in zip(average.buffers(), current.buffers()):
        mine.copy_(theirs)
