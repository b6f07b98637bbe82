"""Fréchet distance: closed forms for Gaussians, and agreement with scipy.linalg.sqrtm."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from genlab.errors import DataError
from genlab.metrics.frechet import feature_statistics, frechet_distance, frechet_distance_features


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def scipy_frechet(mu1, s1, mu2, s2) -> float:
    """The pytorch-fid formula, computed directly with scipy's matrix square root."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_diagonal_gaussians_closed_form():
    # For diagonal covariances: |mu1-mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-10)


def test_identical_distributions_are_zero_and_scaled_ones_match_formula():
    rng = np.random.default_rng(0)
    s = random_spd(rng, 16)
    mu = rng.standard_normal(16)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)
    # S2 = c^2 S1 → tr(S1) (1 - c)^2
    assert frechet_distance(mu, s, mu, 4 * s) == pytest.approx(np.trace(s) * (1 - 2) ** 2, rel=1e-9)


def test_a_set_against_itself_is_never_negative():
    # Rounding leaves tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2)) a hair below zero for some draws (seeds 2, 3, 9, ...).
    for seed in range(12):
        x = torch.randn(200, 64, generator=torch.Generator().manual_seed(seed)) * 3 + 1
        assert frechet_distance_features(x, x) >= 0.0


@pytest.mark.parametrize("d", [2, 8, 64])
def test_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-8)


def test_singular_covariances_from_few_samples_match_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((20, 50)), rng.standard_normal((30, 50)) + 0.5  # N < D: rank-deficient
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    ours = frechet_distance_features(torch.tensor(a), torch.tensor(b))
    assert ours == pytest.approx(scipy_frechet(mu1, s1, mu2, s2), rel=1e-6)


def test_statistics_match_numpy():
    x = np.random.default_rng(2).standard_normal((100, 5))
    mu, sigma = feature_statistics(torch.tensor(x))
    np.testing.assert_allclose(mu.numpy(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma.numpy(), np.cov(x, rowvar=False), rtol=1e-12)


def test_sample_estimate_approaches_population_value():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 4, generator=g, dtype=torch.float64)
    b = torch.randn(20000, 4, generator=g, dtype=torch.float64) * 2 + 1
    expected = 4 * 1 + 4 * (1 - 2) ** 2  # |mu|^2 + tr(I) + tr(4I) - 2 tr(2I)
    assert frechet_distance_features(a, b) == pytest.approx(expected, rel=0.05)


def test_bad_input_is_a_clear_error():
    with pytest.raises(DataError, match="at least 2 samples"):
        feature_statistics(torch.zeros(1, 3))
    with pytest.raises(DataError, match="same --extractor"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(DataError, match="NaN"):
        feature_statistics(torch.tensor([[0.0, float("nan")], [1.0, 2.0]]))
