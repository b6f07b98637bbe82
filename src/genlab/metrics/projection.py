"""Two-dimensional views of real and synthetic data: PCA fitted on the real points, and exact t-SNE.

Used for TimeGAN's qualitative figure (``genlab eval RUN --ref DATA --plots DIR``): each sequence
(T, F) becomes the T-vector of its per-step feature means, as the TimeGAN code reduces it; PCA is
fitted on the real vectors and applied to both, t-SNE embeds the two sets together.

t-SNE (van der Maaten & Hinton, 2008), exact O(n²) in float64: Gaussian affinities whose per-point
bandwidth is found by bisection so that each conditional distribution has the requested
perplexity, symmetrised; a Student-t kernel in 2-D; gradient descent with momentum (0.5, then 0.8)
and per-coordinate gains, the affinities multiplied by 12 for the first 250 iterations (early
exaggeration) and the learning rate max(n / 48, 50) — the defaults of scikit-learn's exact method,
started from random points (N(0, 10⁻⁸)) rather than its PCA start, with TimeGAN's perplexity of
40 (lowered to (n − 1) / 3 for few points). It costs O(n²) per iteration: 2,000 points take tens of
seconds on two CPU cores; it is not meant for many more.
"""

from __future__ import annotations

import math

import torch

EARLY_EXAGGERATION = 12.0
EXAGGERATED_ITERATIONS = 250


def pca_fit_transform(reference: torch.Tensor, *others: torch.Tensor, dims: int = 2) -> list[torch.Tensor]:
    """The ``dims`` principal coordinates of ``reference`` (N, D), and of each of ``others`` in the
    same axes (centred with the reference's mean). Signs follow the SVD's convention."""
    reference = reference.double()
    mean = reference.mean(0)
    _, _, vh = torch.linalg.svd(reference - mean, full_matrices=False)
    axes = vh[:dims].T  # (D, dims)
    return [(x.double() - mean) @ axes for x in (reference, *others)]


def conditional_affinities(points: torch.Tensor, perplexity: float, tolerance: float = 1e-5,
                           max_steps: int = 100) -> torch.Tensor:
    """P_{j|i} (n, n), zero diagonal: each row a Gaussian around point i whose precision is bisected
    until the row's entropy is log(perplexity) nats."""
    x = points.double()
    distances = torch.cdist(x, x).square()
    n = len(x)
    if not 1 <= perplexity < n:
        raise ValueError(f"perplexity must lie in [1, {n - 1}] for {n} points (got {perplexity})")
    eye = torch.eye(n, dtype=torch.bool)
    target = math.log(perplexity)
    low = torch.zeros(n, dtype=torch.float64)
    high = torch.full((n,), math.inf, dtype=torch.float64)
    beta = torch.ones(n, dtype=torch.float64)
    for _ in range(max_steps):
        # Subtracting each row's smallest distance keeps exp() from underflowing; it cancels.
        shifted = (distances - distances.masked_fill(eye, math.inf).min(1, keepdim=True).values).masked_fill(eye, 0)
        logits = (-shifted * beta[:, None]).masked_fill(eye, -math.inf)
        p = torch.softmax(logits, 1)
        entropy = -(p * torch.log(p.clamp_min(1e-300))).sum(1)
        too_flat = entropy > target  # too wide a kernel: raise the precision
        if (entropy - target).abs().max() < tolerance:
            break
        low = torch.where(too_flat, beta, low)
        high = torch.where(too_flat, high, beta)
        beta = torch.where(torch.isinf(high), beta * 2, (low + high) / 2)
    return p


def usable_perplexity(perplexity: float, n: int) -> float:
    """``perplexity``, lowered to (n − 1) / 3 when n points are too few for it (scikit-learn's bound)."""
    return min(perplexity, (n - 1) / 3)


def tsne(points: torch.Tensor, perplexity: float = 40.0, iterations: int = 1000, seed: int = 0) -> torch.Tensor:
    """A 2-D embedding (n, 2) of ``points`` (n, D) at :func:`usable_perplexity`; see the module docstring."""
    n = len(points)
    p = conditional_affinities(points, usable_perplexity(perplexity, n))
    p = ((p + p.T) / (2 * n)).clamp_min(1e-12).float()  # the descent runs in float32: n² memory traffic
    generator = torch.Generator().manual_seed(seed)
    y = 1e-4 * torch.randn(n, 2, generator=generator)
    update = torch.zeros_like(y)
    gains = torch.ones_like(y)
    rate = max(n / EARLY_EXAGGERATION / 4, 50.0)
    diagonal = torch.arange(n)
    for step in range(iterations):
        exaggeration = EARLY_EXAGGERATION if step < EXAGGERATED_ITERATIONS else 1.0
        momentum = 0.5 if step < EXAGGERATED_ITERATIONS else 0.8
        squared = (y * y).sum(1)
        kernel = torch.addmm(squared[:, None] + squared[None, :], y, y.T, alpha=-2).clamp_(min=0).add_(1).reciprocal_()
        kernel[diagonal, diagonal] = 0
        # (exaggeration·p − q) ⊙ kernel, with q = kernel / Σ kernel (pairs with q below 1e-12 are rare in 2-D)
        weights = torch.mul(p, exaggeration).sub_(kernel, alpha=1 / kernel.sum().item()).mul_(kernel)
        gradient = 4 * (weights.sum(1, keepdim=True) * y - weights @ y)
        same_sign = (gradient > 0) == (update > 0)
        gains = torch.where(same_sign, gains * 0.8, gains + 0.2).clamp_min(0.01)
        update = momentum * update - rate * gains * gradient
        y = y + update
    return y - y.mean(0)
