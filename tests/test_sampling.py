"""Latent interpolation: the great-circle path between two latents, and the rows --interpolate draws."""

import math

import torch

from genlab.models.gan import DCGAN, DCGANConfig
from genlab.sampling import interpolation_latents, slerp


def test_slerp_runs_on_the_great_circle_from_a_to_b():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])  # orthonormal: a quarter circle apart
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], a, atol=1e-6) and torch.allclose(path[-1], b, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-6)  # never through the low-norm middle
    assert torch.allclose(path[2], (a + b) / math.sqrt(2), atol=1e-6)
    angles = torch.arccos((path[1:] * path[:-1]).sum(1).clamp(-1, 1))
    assert torch.allclose(angles, torch.full((4,), math.pi / 8), atol=1e-5)  # equal steps along the arc
    # Latents of other lengths: the ends exactly, and the norm rising from |a| to |b| on the way.
    a, b = 2 * a, 3 * (a / 2 + b) / math.sqrt(2)
    path = slerp(a, b, torch.linspace(0, 1, 9))
    assert torch.allclose(path[[0, -1]], torch.stack([a, b]), atol=1e-5)
    norms = path.norm(dim=1)
    assert (norms[1:] >= norms[:-1] - 1e-5).all() and norms.min() >= a.norm() - 1e-5


def test_each_interpolation_row_runs_between_two_latents_drawn_as_samples_are():
    model = DCGAN(DCGANConfig(resolution=28, channels=1, latent_dim=4, generator_width=4, discriminator_width=4))
    rows, steps = 3, 5
    latents = interpolation_latents(model, rows, steps, torch.Generator().manual_seed(7))
    assert latents.shape == (rows * steps, 4)
    ends = model.sample_latent(2 * rows, torch.Generator().manual_seed(7))
    for r in range(rows):
        row = latents[r * steps:(r + 1) * steps]
        assert torch.allclose(row[0], ends[2 * r], atol=1e-5) and torch.allclose(row[-1], ends[2 * r + 1], atol=1e-5)
