"""PCA and exact t-SNE for the real-vs-synthetic figures."""

import math

import pytest
import torch

from genlab.metrics.projection import conditional_affinities, pca_fit_transform, tsne


def test_pca_recovers_a_plane_and_projects_other_points_on_the_same_axes():
    generator = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(6, 2, generator=generator, dtype=torch.float64))
    mean = torch.randn(6, generator=generator, dtype=torch.float64)
    coordinates = torch.randn(200, 2, generator=generator, dtype=torch.float64) * torch.tensor([3.0, 1.0])
    points = coordinates @ basis.T + mean
    other = torch.randn(10, 2, generator=generator, dtype=torch.float64) @ basis.T + mean
    projected, projected_other = pca_fit_transform(points, other)
    # Points on a plane: the projection is an isometry of it (pairwise distances kept).
    assert torch.allclose(torch.cdist(projected, projected), torch.cdist(points, points), atol=1e-6)
    assert torch.allclose(torch.cdist(projected_other, projected), torch.cdist(other, points), atol=1e-6)
    assert projected[:, 0].var() > projected[:, 1].var()  # the first axis carries the most variance


def test_each_row_of_the_affinities_has_the_requested_perplexity():
    points = torch.randn(150, 5, generator=torch.Generator().manual_seed(1))
    p = conditional_affinities(points, perplexity=20)
    assert torch.allclose(p.sum(1), torch.ones(150, dtype=p.dtype))
    assert (p.diagonal() == 0).all()
    entropy = -(p * torch.log(p.clamp_min(1e-300))).sum(1)
    assert torch.allclose(entropy, torch.full_like(entropy, math.log(20)), atol=1e-4)
    with pytest.raises(ValueError, match="perplexity"):
        conditional_affinities(points[:10], perplexity=20)


def test_tsne_keeps_well_separated_clusters_apart():
    generator = torch.Generator().manual_seed(2)
    clusters = [torch.randn(60, 12, generator=generator) + 10 * k for k in range(3)]
    embedding = tsne(torch.cat(clusters), perplexity=20, iterations=500)
    assert embedding.shape == (180, 2) and torch.isfinite(embedding).all()
    labels = torch.arange(180) // 60
    distances = torch.cdist(embedding, embedding).fill_diagonal_(math.inf)
    neighbours = distances.topk(5, largest=False).indices
    assert (labels[neighbours] == labels[:, None]).float().mean() > 0.98
