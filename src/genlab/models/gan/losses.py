"""Adversarial losses on raw discriminator logits.

Non-saturating (Goodfellow et al. 2014, the DCGAN recipe):
    L_D = -log σ(D(x)) - log(1 - σ(D(G(z))))  =  softplus(-D(x)) + softplus(D(G(z)))
    L_G = -log σ(D(G(z)))                       =  softplus(-D(G(z)))
This is binary cross-entropy with logits against labels 1 (real) and 0 (fake), written with
softplus so it is stable for any logit.

Hinge (Lim & Ye 2017; SAGAN, BigGAN):
    L_D = relu(1 - D(x)) + relu(1 + D(G(z)));  L_G = -D(G(z))

Least squares (Mao et al. 2017, a = 0, b = c = 1):
    L_D = ½ (D(x) - 1)² + ½ D(G(z))²;  L_G = ½ (D(G(z)) - 1)²
All are averaged over the batch.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

LossName = Literal["nonsaturating", "hinge", "least_squares"]


def discriminator_loss(kind: LossName, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "nonsaturating":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if kind == "least_squares":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def generator_loss(kind: LossName, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "nonsaturating":
        return F.softplus(-fake_logits).mean()
    if kind == "hinge":
        return -fake_logits.mean()
    if kind == "least_squares":
        return 0.5 * ((fake_logits - 1) ** 2).mean()
    raise ValueError(f"unknown GAN loss {kind!r}")
