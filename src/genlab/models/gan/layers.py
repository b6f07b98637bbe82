"""Building blocks shared by the GAN backbones."""

from __future__ import annotations

import torch
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (de Vries et al. 2017; BigGAN).

    Scales start at 1 and shifts at 0, so at initialisation it is plain BatchNorm.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) * (B, C, 1, 1) + (B, C, 1, 1)
        return self.norm(x) * self.scale(labels)[:, :, None, None] + self.shift(labels)[:, :, None, None]


class Norm2d(nn.Module):
    """BatchNorm, class-conditional when ``num_classes`` is given; called as ``norm(x, labels)``."""

    def __init__(self, channels: int, num_classes: int | None) -> None:
        super().__init__()
        self.conditional = num_classes is not None
        self.norm = ConditionalBatchNorm2d(channels, num_classes) if self.conditional else nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.norm(x, labels) if self.conditional else self.norm(x)


def spectral(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018): weight / σ_max(weight), one power iteration a call."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


class DiscriminatorHead(nn.Module):
    """Features (B, F) → real/fake logit (B,), plus the class term of a conditional discriminator.

    projection: logit = ψ(h) + ⟨embed(y), h⟩ (Miyato & Koyama 2018); a packed input's labels come as
                (B, pack), and the class term is ⟨Σⱼ embed(yⱼ), h⟩: an optimal packed D's logit is the
                sum of its members' log-ratios, and each member's class enters its own term.
    auxiliary:  an extra linear classifier over the classes (AC-GAN); returned separately.
    concat:     nothing here; the trunk read the class as input maps
                (:func:`genlab.nn.conditioning.with_label_maps`).
    """

    def __init__(self, features: int, num_classes: int | None, conditioning: str, sn: bool) -> None:
        super().__init__()
        self.linear = spectral(nn.Linear(features, 1), sn)
        self.projection = self.classifier = None
        if num_classes is not None and conditioning == "projection":
            embedding = nn.Embedding(num_classes, features)
            # Glorot-uniform, as Miyato & Koyama's code draws it. nn.Embedding's own N(0, 1) would make
            # the class term ~√features times the unconditional one, and D saturated from step 0.
            # (Under spectral norm the scale is divided out; the init matters for a plain D.)
            nn.init.xavier_uniform_(embedding.weight)
            self.projection = spectral(embedding, sn)
        elif num_classes is not None and conditioning == "auxiliary":
            self.classifier = spectral(nn.Linear(features, num_classes), sn)

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits = self.linear(h).flatten()  # (B,)
        if self.projection is not None:
            embedded = self.projection(labels)  # (B, F), or (B, pack, F) for packed labels
            logits = logits + ((embedded.sum(1) if labels.dim() == 2 else embedded) * h).sum(1)
        return logits, self.classifier(h) if self.classifier is not None else None
