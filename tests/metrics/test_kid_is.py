"""KID and Inception Score on features and probabilities with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from genlab.errors import ConfigError, DataError
from genlab.metrics.inception_score import inception_score
from genlab.metrics.kid import kernel_distance, mmd2_unbiased


def loop_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    """The unbiased MMD^2 estimator written out term by term."""
    m, d = len(x), x.shape[1]
    k = lambda a, b: (float(a @ b) / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / m**2


def test_point_masses_give_the_kernel_formula():
    # X = {1}, Y = {0} in 1-D: k(1,1) + k(0,0) - 2 k(1,0) = 8 + 1 - 2 = 7, exactly (no sampling noise).
    result = kernel_distance(torch.ones(50, 1), torch.zeros(60, 1), subsets=5, subset_size=10)
    assert result["value"] == pytest.approx(7.0)
    assert result["std"] == pytest.approx(0.0)
    assert result["subset_size"] == 10


def test_mmd_matches_the_written_out_estimator():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(7, 3, generator=g, dtype=torch.float64), torch.randn(7, 3, generator=g, dtype=torch.float64)
    assert float(mmd2_unbiased(x, y)) == pytest.approx(loop_mmd2(x, y), rel=1e-10)


def test_unbiased_for_two_samples_of_one_distribution():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(2000, 8, generator=g), torch.randn(2000, 8, generator=g)
    result = kernel_distance(x, y, subsets=50, subset_size=200)
    # The mean over subsets is within a few standard errors of 0 (a biased estimator sits near 2/m * E k).
    assert abs(result["value"]) < 4 * result["std"] / math.sqrt(50) + 1e-3
    shifted = kernel_distance(x + 0.5, y, subsets=50, subset_size=200)
    assert shifted["value"] > 10 * shifted["std"] / math.sqrt(50)


def test_std_over_subsets_is_the_population_std_of_the_references(monkeypatch):
    # torch-fidelity and Bińkowski et al.'s code report numpy.std (ddof 0) of the subset estimates.
    estimates = iter([1.0, 3.0])
    monkeypatch.setattr("genlab.metrics.kid.mmd2_unbiased", lambda x, y: torch.tensor(next(estimates)))
    result = kernel_distance(torch.randn(20, 2), torch.randn(20, 2), subsets=2, subset_size=10)
    assert result["value"] == pytest.approx(2.0) and result["std"] == pytest.approx(1.0)  # not sqrt(2)


def test_subset_size_shrinks_and_too_few_samples_fail():
    assert kernel_distance(torch.randn(30, 2), torch.randn(40, 2), subsets=3)["subset_size"] == 30
    with pytest.raises(DataError, match="KID needs at least 2 samples"):
        kernel_distance(torch.randn(1, 2), torch.randn(40, 2))
    with pytest.raises(DataError, match="same --extractor"):
        kernel_distance(torch.randn(10, 2), torch.randn(10, 3))
    with pytest.raises(ConfigError, match="at least 1 subset"):
        kernel_distance(torch.randn(10, 2), torch.randn(10, 2), subsets=0)


def test_inception_score_known_answers():
    # One split, so the shuffle (see below) cannot matter.
    one_hot = torch.eye(10).repeat(10, 1)  # 100 confident samples spread evenly over 10 classes
    result = inception_score(one_hot, splits=1)
    assert result["value"] == pytest.approx(10.0)
    assert result["std"] == pytest.approx(0.0)
    assert inception_score(torch.full((100, 10), 0.1))["value"] == pytest.approx(1.0)
    # Two classes, each sample p = (0.9, 0.1) or (0.1, 0.9), balanced: exp(KL to (0.5, 0.5)).
    rows = torch.tensor([[0.9, 0.1], [0.1, 0.9]]).repeat(50, 1)
    kl = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert inception_score(rows, splits=1)["value"] == pytest.approx(math.exp(kl))


def test_inception_score_shuffles_before_splitting_and_refuses_bad_input():
    # Confident samples of 10 classes, 100 each, in class order: consecutive splits would each hold
    # one class and score 1. Shuffled, each split of 100 holds most classes: exp(H(its marginal)).
    probs = torch.eye(10).repeat_interleave(100, 0)
    result = inception_score(probs)
    order = torch.from_numpy(np.random.RandomState(result["shuffle_seed"]).permutation(1000))  # torch-fidelity's
    expected = [math.exp(-sum(c / 100 * math.log(c / 100) for c in torch.bincount(part, minlength=10).tolist() if c))
                for part in probs.argmax(1)[order].split(100)]
    assert result["splits"] == 10 and result["shuffle_seed"] == 2020
    assert result["value"] == pytest.approx(sum(expected) / 10) and result["value"] > 8
    assert result["std"] == pytest.approx(torch.tensor(expected).std(unbiased=False).item())
    with pytest.raises(DataError, match="at least 10 samples"):
        inception_score(torch.eye(5))
    with pytest.raises(DataError, match="softmax"):
        inception_score(torch.ones(20, 3))
