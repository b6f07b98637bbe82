"""Each log-likelihood against a direct computation in float64, and the discrete ones normalise."""

import math

import pytest
import torch

from genlab.models.vae.config import VAEConfig
from genlab.models.vae.likelihoods import (bernoulli_log_prob, build_likelihood, categorical_log_prob,
                                           discretized_logistic_log_prob, gaussian_log_prob)

LEVELS = torch.arange(256, dtype=torch.float64) / 127.5 - 1  # the 8-bit grid on [-1, 1]


def test_bernoulli_matches_x_log_p_plus_one_minus_x_log_one_minus_p():
    torch.manual_seed(0)
    logits, x = torch.randn(3, 1, 4, 4, dtype=torch.float64) * 3, torch.randint(0, 2, (3, 1, 4, 4)).double()
    p = 1 / (1 + torch.exp(-logits))
    direct = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
    assert torch.allclose(bernoulli_log_prob(logits, x), direct)


def test_gaussian_matches_the_density_formula():
    torch.manual_seed(0)
    mean, log_var, x = (torch.randn(2, 3, 5, dtype=torch.float64) for _ in range(3))
    var = torch.exp(log_var)
    direct = (-(x - mean) ** 2 / (2 * var) - 0.5 * torch.log(2 * math.pi * var)).flatten(1).sum(1)
    assert torch.allclose(gaussian_log_prob(mean, log_var, x), direct)


def logistic_cdf(value, mean, scale):
    return 1 / (1 + torch.exp(-(value - mean) / scale))


@pytest.mark.parametrize("mean,log_scale", [(0.1, -3.0), (-0.9, -5.0), (0.99, -2.0), (0.3, 1.0), (-3.0, -4.0)])
def test_discretized_logistic_is_the_bin_mass_and_sums_to_one(mean, log_scale):
    mean_t = torch.full((256, 1), mean, dtype=torch.float64)
    log_scale_t = torch.full((256, 1), log_scale, dtype=torch.float64)
    log_probs = discretized_logistic_log_prob(mean_t, log_scale_t, LEVELS[:, None])  # one level per row
    scale = math.exp(log_scale)
    upper = torch.where(LEVELS > 1 - 1e-6, torch.ones(256, dtype=torch.float64),
                        logistic_cdf(LEVELS + 1 / 255, mean, scale))
    lower = torch.where(LEVELS < -1 + 1e-6, torch.zeros(256, dtype=torch.float64),
                        logistic_cdf(LEVELS - 1 / 255, mean, scale))
    direct = upper - lower
    assert torch.allclose(log_probs.exp(), direct, atol=1e-12)
    assert torch.exp(log_probs).sum().item() == pytest.approx(1.0, abs=1e-9)


def test_discretized_logistic_stays_finite_far_in_the_tails():
    # A bin 200 scales from the mean: the naive difference of two CDFs is 0 and its log is -inf.
    x = torch.tensor([[0.0]], dtype=torch.float32)
    log_prob = discretized_logistic_log_prob(torch.tensor([[-0.8]]), torch.tensor([[math.log(0.004)]]), x)
    assert torch.isfinite(log_prob).all()
    # In the tail σ(t) = e^t (to 1e-87 here): mass = e^(-d/s)·(e^(h/s) - e^(-h/s)) for half-width h.
    expected = -0.8 / 0.004 + math.log(2 * math.sinh(1 / 255 / 0.004))
    assert log_prob.item() == pytest.approx(expected, abs=1e-3)


def test_categorical_picks_the_log_softmax_of_the_observed_level():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 256, 4, 4, dtype=torch.float64)
    x = torch.randint(0, 256, (2, 3, 4, 4))
    probs = torch.exp(logits) / torch.exp(logits).sum(2, keepdim=True)
    direct = torch.zeros(2, dtype=torch.float64)
    for b in range(2):
        for c in range(3):
            for i in range(4):
                for j in range(4):
                    direct[b] += torch.log(probs[b, c, x[b, c, i, j], i, j])
    assert torch.allclose(categorical_log_prob(logits, x), direct)


def test_observations_recover_the_8_bit_levels_and_binarise():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    images = pixels.float() / 127.5 - 1
    levels = build_likelihood(VAEConfig(likelihood="categorical")).observe(images)
    assert torch.equal(levels, pixels.long())
    threshold = build_likelihood(VAEConfig(binarize="threshold")).observe(images)
    assert torch.equal(threshold, (pixels >= 128).float())
    dynamic = build_likelihood(VAEConfig()).observe(images.expand(4000, -1, -1, -1), torch.Generator().manual_seed(0))
    assert set(dynamic.unique().tolist()) == {0.0, 1.0}
    # P(1) = p / 255: the mean over 4000 draws is within 4 standard errors for every level.
    p = pixels.double() / 255
    assert ((dynamic.double().mean(0) - p).abs() <= 4 * (p * (1 - p) / 4000).sqrt() + 1e-9).all()


def test_a_gaussian_of_fixed_variance_scores_with_that_variance_and_a_learned_one_with_its_own():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    params = torch.randn(2, 1, 2, 4, 4, dtype=torch.float64)  # (B, C, P, H, W): mean, then the raw log-variance
    fixed = build_likelihood(VAEConfig(likelihood="gaussian", gaussian_variance="fixed", gaussian_sigma=0.1))
    assert fixed.params_per_channel == 1
    log_var = torch.full_like(x, 2 * math.log(0.1))
    assert torch.allclose(fixed.log_prob(params[:, :, :1], x), gaussian_log_prob(params[:, :, 0], log_var, x))
    learned = build_likelihood(VAEConfig(likelihood="gaussian", gaussian_variance="learned"))
    assert learned.params_per_channel == 2
    assert not torch.allclose(learned.log_prob(params, x), fixed.log_prob(params[:, :, :1], x))
