"""k-means clusters of images' pixels: labels for a conditional model trained on unlabelled images.

A self-conditioned GAN (Liu et al. 2020) trains a class-conditional GAN on cluster indices in place
of classes and samples the clusters at their frequencies in the data, so every cluster's share of
the samples is the data's, which an unconditional generator is free to get wrong. Liu et al.
cluster the discriminator's features and cluster again as it learns; these are clusters of the
pixels, computed once before training, which needs nothing but the images.

Centres start at seeded random images (training uses seed 0, whatever --train.seed is) and every
distance and mean is taken in float64, so a resumed run recomputes the labels it trained on: an
image would have to lie within float64 rounding of the midpoint between two centres to move, where
in float32 sums taken in another order (another thread count) could move it.
"""

from __future__ import annotations

import torch

from genlab.errors import ConfigError

FIT_IMAGES = 20_000  # centres are fitted on this many images (seeded; more for more clusters), then all are assigned
ITERATIONS = 25  # Lloyd iterations
CHUNK = 4096  # images turned into float64 at a time


def pixel_clusters(images: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """Labels (N,) int64 in 0..k-1 of uint8 images (N, ...) by k-means on their pixels; every
    cluster holds at least one image."""
    n = len(images)
    if not 1 <= k <= n:
        raise ConfigError(f"--model.clusters {k} needs at least as many training images ({n:,} here) as clusters; "
                          "choose fewer clusters.")
    flat = images.reshape(n, -1)
    generator = torch.Generator().manual_seed(seed)
    fit = flat[torch.randperm(n, generator=generator)[:max(FIT_IMAGES, k)]].double()  # at least one image a centre
    centres = fit[torch.randperm(len(fit), generator=generator)[:k]].clone()
    for _ in range(ITERATIONS):
        labels = _nearest(fit, centres)
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros_like(centres).index_add_(0, labels, fit)
        # A centre no image chose starts again at a random image.
        fresh = fit[torch.randint(len(fit), (k,), generator=generator)]
        centres = torch.where((counts == 0)[:, None], fresh, sums / counts.clamp(min=1)[:, None])
    labels = torch.cat([_nearest(flat[i:i + CHUNK].double(), centres) for i in range(0, n, CHUNK)])
    empty = int((torch.bincount(labels, minlength=k) == 0).sum())
    if empty:  # a class the model would be asked for with no image of it
        raise ConfigError(f"{empty} of the --model.clusters {k} k-means clusters of the training images hold no image "
                          "(too few distinct images for that many); choose fewer clusters.")
    return labels


def _nearest(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Index of each row's nearest centre (squared Euclidean distance)."""
    distances = centres.square().sum(1) - 2 * x @ centres.T  # ‖x‖² is the same for every centre
    return distances.argmin(1)


def frequencies(labels: torch.Tensor, k: int) -> tuple[float, ...]:
    """Each label's share of ``labels``, as recorded in a model's config."""
    return tuple(float(c) for c in torch.bincount(labels, minlength=k).double() / len(labels))
