"""Exponential moving average of a network's weights (Yazıcı et al. 2019; used by BigGAN, StyleGAN)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize


@torch.no_grad()
def ema_update(average: nn.Module, current: nn.Module, decay: float, updates: int) -> None:
    """The ``updates``-th update (1, 2, ...) of a bias-corrected average of ``current``'s parameters:
    average ← average + w·(current − average) with w = (1 − decay) / (1 − decay^updates), which
    is the decay^(t−i)-weighted mean of the weights after updates i = 1..t, normalised as Adam's
    moments are. The first update copies the weights, so the network's random initial weights
    never enter the average (uncorrected, they would still weigh decay^t: 37% after 1,000 updates
    at 0.999); late in training w is 1 − decay. Buffers are copied."""
    weight = (1.0 - decay) / (1.0 - decay ** max(updates, 1))
    averaged = list(average.parameters())
    torch._foreach_lerp_(averaged, [p.detach() for p in current.parameters()], weight)
    copy_buffers(average, current)


@torch.no_grad()
def copy_buffers(average: nn.Module, current: nn.Module) -> None:
    """``current``'s buffers (BatchNorm statistics, spectral norms' singular vectors) into ``average``."""
    for mine, theirs in zip(average.buffers(), current.buffers()):
        mine.copy_(theirs)


@torch.no_grad()
def spectral_norm_iterations(net: nn.Module, iterations: int = 30) -> None:
    """Run the power iteration of every spectrally normalised weight of ``net`` on that weight.

    An averaged network needs it: ``ema_update`` copies the live network's singular-vector
    estimates (buffers), which are not quite the averaged weight's, and σ estimated with them,
    uᵀWv, falls short of the averaged weight's largest singular value."""
    for module in net.modules():
        if parametrize.is_parametrized(module, "weight"):
            chain = module.parametrizations.weight
            was_training = chain.training
            chain.train()  # spectral norm steps its power iteration when its weight is read in training mode
            try:
                for _ in range(iterations):
                    module.weight
            finally:
                chain.train(was_training)


def batch_norms(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def standing_statistics(net: nn.Module, batches: Iterable[tuple]) -> None:
    """Recompute every BatchNorm's running mean and variance from ``net``'s own forward passes on
    ``batches`` (argument tuples), averaged with equal weight ("standing statistics", BigGAN).

    An averaged generator needs this. The statistics ``ema_update`` copies describe the live
    weights' activations; averaged weights are smaller (oscillations cancel) and point elsewhere, so
    normalising their activations with the live statistics rescales every feature map.
    """
    norms = batch_norms(net)
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    was_training = net.training
    net.eval()  # everything else as at sampling: spectral norm's power iteration must not step
    for norm in norms:
        norm.train()
    try:
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average over the batches below
        for args in batches:
            net(*args)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        net.train(was_training)
