"""Checks shared by the metrics: enough samples, matching features."""

from __future__ import annotations

import torch

from genlab.errors import DataError


def require_samples(n: int, needed: int, what: str) -> None:
    """Raise a DataError unless ``n`` >= ``needed`` samples are available for ``what``."""
    if n < needed:
        raise DataError(f"{what} needs at least {needed} samples but got {n}; pass more images (e.g. a larger --n).")


def as_features(x: torch.Tensor | list, name: str) -> torch.Tensor:
    """Features as a float64 (N, D) tensor; anything else is a DataError naming ``name``."""
    x = torch.as_tensor(x).double()
    if x.dim() != 2:
        raise DataError(f"{name} must be features of shape (N, D), got shape {tuple(x.shape)}.")
    if not torch.isfinite(x).all():
        raise DataError(f"{name} holds NaN or infinite values; the feature extractor or the images are broken.")
    return x


def same_dim(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape[1] != b.shape[1]:
        raise DataError(f"The generated and reference features differ in size ({a.shape[1]} vs {b.shape[1]}); "
                        "compute both with the same --extractor.")
