import math

import pytest
import torch

from genlab.data.toy import PointDataset, get_mixture, grid, mode_statistics, ring
from genlab.errors import ConfigError


def test_mixture_geometry():
    assert ring().centres.shape == (8, 2) and torch.allclose(ring().centres.norm(dim=1), torch.ones(8))
    centres = grid().centres
    assert centres.shape == (25, 2) and set(centres[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_samples_from_the_mixture_score_perfectly():
    mixture = ring()
    stats = mode_statistics(mixture.sample(20_000, torch.Generator().manual_seed(0)), mixture)
    assert stats["modes_captured"] == 8
    # The distance of a 2-D Gaussian sample from its mean is Rayleigh: P(r ≤ 3σ) = 1 − e^(−9/2) ≈ 0.989.
    assert abs(stats["high_quality_fraction"] - (1 - math.exp(-4.5))) < 0.003
    assert stats["reverse_kl"] < 0.01


def test_collapse_to_one_mode_has_kl_log_m_and_far_points_are_low_quality():
    mixture = grid()
    collapsed = mixture.centres[:1].repeat(100, 1)
    stats = mode_statistics(collapsed, mixture)
    assert stats["modes_captured"] == 1
    assert math.isclose(stats["reverse_kl"], math.log(25), rel_tol=1e-9)
    far = mode_statistics(torch.full((10, 2), 1.0), mixture)  # midway between modes
    assert far["high_quality_fraction"] == 0 and far["modes_captured"] == 0 and far["reverse_kl"] is None


def test_point_dataset_batches_and_unknown_name():
    data = PointDataset(ring(), count=100)
    assert data.get_batch(torch.arange(5), torch.device("cpu"))["points"].shape == (5, 2)
    with pytest.raises(ConfigError, match="Unknown toy dataset 'toy:spiral'"):
        get_mixture("spiral")
