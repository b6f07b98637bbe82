"""Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features).

FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).

The trace of the matrix square root is computed without forming (S1 S2)^(1/2): S1 S2 is similar
to the symmetric PSD matrix A = S1^(1/2) S2 S1^(1/2), so tr((S1 S2)^(1/2)) = sum(sqrt(eig(A))).
Both square roots come from symmetric eigendecompositions in float64, which stay exact and real
for the singular covariances of small samples (where sqrtm-based code needs an epsilon retry).
"""

from __future__ import annotations

import torch

from genlab.errors import DataError
from genlab.metrics.checks import as_features, require_samples


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (N, D) → mean (D,) and unbiased covariance (D, D), float64 (as numpy.cov)."""
    x = as_features(features, "features")
    require_samples(len(x), 2, "A covariance")
    mu = x.mean(0)
    centred = x - mu  # (N, D)
    return mu, centred.T @ centred / (len(x) - 1)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric PSD matrix (D, D); tiny negative eigenvalues from rounding become 0."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): means (D,), covariances (D, D)."""
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(t).double() for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape:
        raise DataError(f"The two feature statistics differ in size ({mu1.shape[0]} vs {mu2.shape[0]}); compute "
                        "both with the same --extractor.")
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1  # (D, D), similar to sigma1 @ sigma2
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    diff = mu1 - mu2
    distance = float(diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt)
    return max(distance, 0.0)  # a distance: rounding can leave identical sets at -1e-7


def frechet_distance_features(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between the Gaussians fitted to features a (N, D) and b (M, D)."""
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))
