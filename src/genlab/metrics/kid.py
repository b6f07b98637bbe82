"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2, cubic polynomial kernel.

k(x, y) = (x·y / D + 1)^3. The estimate is averaged over random subsets of equal size drawn
without replacement from each set (the protocol of the reference implementations: 100 subsets
of 1000); its standard deviation over the subsets (population std, as those implementations
compute it with numpy.std) is reported with it.
"""

from __future__ import annotations

import torch

from genlab.errors import ConfigError
from genlab.metrics.checks import as_features, require_samples, same_dim


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N, D), (M, D) → (N, M) kernel values (x·y / D + 1)^3."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 between equal-size samples x (m, D), y (m, D): the diagonal terms are left out."""
    m = len(x)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return within - 2 * kxy.sum() / (m * m)


def kernel_distance(generated: torch.Tensor, reference: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> dict[str, float | int]:
    """KID between features generated (N, D) and reference (M, D).

    Returns ``{"value": mean, "std": std over subsets, "subsets", "subset_size"}``; the subset
    size shrinks to the smaller set when either has fewer than ``subset_size`` samples.
    """
    if subsets < 1:
        raise ConfigError(f"KID needs at least 1 subset, got {subsets}.")
    x, y = as_features(generated, "generated features"), as_features(reference, "reference features")
    same_dim(x, y)
    size = min(subset_size, len(x), len(y))
    require_samples(size, 2, "KID")
    generator = torch.Generator().manual_seed(seed)
    values = torch.stack([
        mmd2_unbiased(x[torch.randperm(len(x), generator=generator)[:size]],
                      y[torch.randperm(len(y), generator=generator)[:size]])
        for _ in range(subsets)])
    return {"value": float(values.mean()), "std": float(values.std(unbiased=False)), "subsets": subsets,
            "subset_size": size}
