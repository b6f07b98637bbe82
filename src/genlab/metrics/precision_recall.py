"""k-NN manifold metrics: improved precision/recall (Kynkäänniemi et al. 2019) and
density/coverage (Naeem et al. 2020).

Each set's manifold is the union of balls around its points, each ball reaching the point's k-th
nearest neighbour within its own set. Precision: the fraction of generated samples inside the
real manifold; recall: the fraction of real samples inside the generated manifold. Density
counts how many real balls hold each generated sample (divided by k); coverage is the fraction
of real balls holding at least one generated sample. Each pair uses its paper's k: 3 for
precision/recall, 5 for density/coverage.
"""

from __future__ import annotations

import torch

from genlab.metrics.checks import as_features, require_samples, same_dim

CHUNK = 1024  # at most this many rows of the pairwise-distance matrix at once ...
MAX_ELEMENTS = 1 << 24  # ... and at most this many distances (128 MiB of float64)


def _rows(m: int) -> int:
    """Rows per chunk of an (n, m) distance matrix."""
    return max(1, min(CHUNK, MAX_ELEMENTS // m))


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (n, D), (m, D) → (n, m) through one matrix product; float64 keeps it accurate."""
    return torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist")


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point of x (N, D) to its k-th nearest other point → (N,)."""
    return knn_radii_for(x, (k,))[k]


def knn_radii_for(x: torch.Tensor, ks: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """``knn_radii(x, k)`` for each k of ``ks``, from one pass over the distances."""
    largest = max(ks)
    require_samples(len(x), largest + 1, f"k-NN radii with k = {largest}")
    step = _rows(len(x))
    nearest = torch.cat([_distances(x[i:i + step], x).topk(largest + 1, dim=1, largest=False).values
                         for i in range(0, len(x), step)])  # (N, largest + 1); column 0: the point itself
    return {k: nearest[:, k].contiguous() for k in ks}


def ball_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each point (N, D): how many balls (centres (M, D), radii (M,)) contain it → (N,)."""
    step = _rows(len(centres))
    return torch.cat([(_distances(points[i:i + step], centres) <= radii).sum(1)
                      for i in range(0, len(points), step)])


def manifold_metrics(generated: torch.Tensor, reference: torch.Tensor, k: int = 3, density_k: int = 5,
                     reference_radii: dict[int, torch.Tensor] | None = None) -> dict[str, float]:
    """Precision and recall (k neighbours), density and coverage (``density_k``) of generated (N, D)
    against reference (M, D) features.

    ``reference_radii``: ``knn_radii_for(reference, (k, density_k))`` when already known (it is
    cached with the reference).
    """
    fake, real = as_features(generated, "generated features"), as_features(reference, "reference features")
    same_dim(fake, real)
    largest = max(k, density_k)
    require_samples(min(len(fake), len(real)), largest + 1, f"Precision/recall/density/coverage with k = {largest}")
    if reference_radii is None or not {k, density_k} <= reference_radii.keys():
        reference_radii = knn_radii_for(real, (k, density_k))
    real_radii, density_radii = reference_radii[k].double(), reference_radii[density_k].double()
    in_real = ball_counts(fake, real, density_radii)  # (N,) real balls holding each generated sample
    step = _rows(len(fake))
    covered = torch.cat([(_distances(real[i:i + step], fake).min(1).values <= density_radii[i:i + step])
                         for i in range(0, len(real), step)])  # (M,)
    return {
        "precision": float((ball_counts(fake, real, real_radii) > 0).double().mean()),
        "recall": float((ball_counts(real, fake, knn_radii(fake, k)) > 0).double().mean()),
        "density": float(in_real.double().sum() / (density_k * len(fake))),
        "coverage": float(covered.double().mean()),
    }
