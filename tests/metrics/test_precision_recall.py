"""Precision, recall, density and coverage on hand-computed point sets."""

from __future__ import annotations

import pytest
import torch

from genlab.errors import DataError
from genlab.metrics.precision_recall import knn_radii, knn_radii_for, manifold_metrics


def test_one_dimensional_sets_by_hand():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])  # k = 1: every real ball has radius 1
    fake = torch.tensor([[0.5], [10.0]])  # k = 1: both fake balls have radius 9.5
    result = manifold_metrics(fake, real, k=1, density_k=1)
    assert result["precision"] == pytest.approx(0.5)  # 0.5 lies in a real ball, 10 does not
    assert result["recall"] == pytest.approx(1.0)  # every real point is within 9.5 of 0.5
    assert result["density"] == pytest.approx(2 / 2)  # 0.5 lies in the balls of 0 and 1
    assert result["coverage"] == pytest.approx(2 / 5)  # the balls of 0 and 1 hold a fake sample


def test_knn_radii_exclude_the_point_itself():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x.double(), 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x.double(), 3).tolist() == [7.0, 6.0, 4.0, 7.0]
    both = knn_radii_for(x.double(), (1, 3))
    assert both[1].tolist() == [1.0, 1.0, 2.0, 4.0] and both[3].tolist() == [7.0, 6.0, 4.0, 7.0]


def test_density_and_coverage_use_their_own_k():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    fake = torch.tensor([[0.5], [1.5], [2.5], [3.5]])
    narrow = manifold_metrics(fake, real, k=1, density_k=1)
    wide = manifold_metrics(fake, real, k=1, density_k=2)
    assert narrow["precision"] == wide["precision"] == 1.0 and narrow["recall"] == wide["recall"] == 1.0
    # k = 1: every real ball has radius 1, and each fake point lies in the two balls 0.5 away: 8 / (1 * 4).
    assert narrow["density"] == pytest.approx(2.0)
    # k = 2: radii 2, 1, 1, 1, 2; the fake points lie in 2, 3, 3 and 2 of those balls: 10 / (2 * 4).
    assert wide["density"] == pytest.approx(1.25)


def test_same_distribution_scores_high_and_a_collapsed_one_has_no_recall():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(1500, 4, generator=g), torch.randn(1500, 4, generator=g)
    same = manifold_metrics(fake, real)  # k = 3 for precision/recall, 5 for density/coverage
    assert same["precision"] > 0.9 and same["recall"] > 0.9
    # Naeem et al.: for identical distributions E[density] = 1 and E[coverage] = 1 - 2^-k (equal set sizes).
    assert same["density"] == pytest.approx(1.0, abs=0.1)
    assert same["coverage"] == pytest.approx(1 - 2**-5, abs=0.03)
    collapsed = manifold_metrics(torch.randn(1500, 4, generator=g) * 0.05, real, k=3)  # one mode, tiny spread
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.05 and collapsed["coverage"] < 0.1


def test_chunking_gives_the_same_answer(monkeypatch):
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(300, 3, generator=g), torch.randn(200, 3, generator=g) + 0.3
    whole = manifold_metrics(fake, real)
    monkeypatch.setattr("genlab.metrics.precision_recall.CHUNK", 7)
    assert manifold_metrics(fake, real) == whole


def test_too_few_samples_fail_clearly():
    with pytest.raises(DataError, match="k = 5 needs at least 6 samples"):
        manifold_metrics(torch.randn(5, 2), torch.randn(10, 2))
    with pytest.raises(DataError, match="k = 3 needs at least 4 samples"):
        knn_radii(torch.randn(3, 2).double(), 3)  # a clear error, not topk's "selected index k out of range"
