"""Observation models p(x|z) of the VAE, each a log-likelihood in nats summed over the pixels.

Batches arrive as images in [-1, 1] (8-bit pixels p as p / 127.5 - 1). Each likelihood turns them
into its observation x and scores decoder parameters against it:

- ``bernoulli``: x ∈ {0, 1} (binarised; dynamically or by threshold);
  log p(x) = Σ x·log σ(ℓ) + (1 - x)·log σ(-ℓ) for logits ℓ.
- ``gaussian``: x = p / 255 ∈ [0, 1]; log p(x) = Σ -½(log 2π + log σ² + (x - μ)² / σ²), a density.
- ``logistic``: x = p / 127.5 - 1; the discretised logistic of PixelCNN++ (Salimans et al. 2017):
  the probability of the bin [x - 1/255, x + 1/255] under Logistic(μ, s), the end bins open to ±∞.
- ``categorical``: x = p ∈ {0..255}; a 256-way softmax per sub-pixel.

The discrete ones are probabilities of the 8-bit (or binary) data, so their NLL converts to bits/dim.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)
BIN_HALF_WIDTH = 1 / 255  # half the spacing of the 256 levels on [-1, 1]
# A learned Gaussian variance below the spacing of 8-bit levels only sharpens a spike on each
# level: the density grows without bound on discrete data. Floor σ at one level.
GAUSSIAN_MIN_LOG_VAR = 2 * math.log(1 / 255)
LOGISTIC_MIN_LOG_SCALE = -7.0  # as PixelCNN++


def bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x; σ(logits)) for x ∈ {0, 1}, both (B, ...) → (B,)."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_log_prob(mean: torch.Tensor, log_var: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, exp(log_var)), all (B, ...) → (B,)."""
    return -0.5 * (LOG_2PI + log_var + (x - mean).square() * torch.exp(-log_var)).flatten(1).sum(1)


def discretized_logistic_log_prob(mean: torch.Tensor, log_scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log P(bin of x) under Logistic(mean, exp(log_scale)) for x on the 256-level grid of [-1, 1] → (B,).

    With u, l the standardised bin edges, σ(u) - σ(l) = σ(u)·σ(-l)·(1 - e^(l-u)), which gives the log
    of the bin mass without cancellation however far the bin lies in a tail.
    """
    centered = x - mean
    inv_scale = torch.exp(-log_scale)
    upper = inv_scale * (centered + BIN_HALF_WIDTH)
    lower = inv_scale * (centered - BIN_HALF_WIDTH)
    log_cdf_upper = F.logsigmoid(upper)  # the bin of level 0 is (-∞, upper]
    log_survival_lower = F.logsigmoid(-lower)  # the bin of level 255 is [lower, ∞)
    log_mass = log_cdf_upper + log_survival_lower + torch.log(-torch.expm1(lower - upper))
    log_prob = torch.where(x < -1 + BIN_HALF_WIDTH, log_cdf_upper,
                           torch.where(x > 1 - BIN_HALF_WIDTH, log_survival_lower, log_mass))
    return log_prob.flatten(1).sum(1)


def categorical_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log softmax(logits)[x] for logits (B, C, 256, H, W) and levels x (B, C, H, W) in 0..255 → (B,)."""
    log_probs = F.log_softmax(logits, dim=2)
    return log_probs.gather(2, x[:, :, None]).flatten(1).sum(1)


class Likelihood:
    """One observation model: how many decoder outputs it needs per channel and how it scores them.

    ``params`` are decoder outputs shaped (B, C, P, H, W) with P = ``params_per_channel``.
    """

    params_per_channel = 1
    discrete = True  # a probability of the data (bits/dim apply), not a density

    def observe(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] → the observation x this likelihood scores."""
        return images

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """The observation mapped back to [-1, 1] for the encoder."""
        return x

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """E[x|z] as images (B, C, H, W) in [-1, 1], for pictures."""
        raise NotImplementedError


class Bernoulli(Likelihood):
    def __init__(self, binarize: str) -> None:
        self.binarize = binarize

    def observe(self, images, generator=None):
        probabilities = (images + 1) / 2
        if self.binarize == "threshold":
            return (images > 0).to(images.dtype)  # pixel ≥ 128
        if generator is not None and generator.device != images.device:  # a CPU generator: draw there
            return torch.bernoulli(probabilities.cpu(), generator=generator).to(images.device)
        return torch.bernoulli(probabilities, generator=generator)

    def encoder_input(self, x):
        return 2 * x - 1

    def log_prob(self, params, x):
        return bernoulli_log_prob(params[:, :, 0], x)

    def mean(self, params):
        return 2 * torch.sigmoid(params[:, :, 0]) - 1


class Gaussian(Likelihood):
    discrete = False

    def __init__(self, variance: str, sigma: float) -> None:
        self.learned = variance == "learned"
        self.params_per_channel = 2 if self.learned else 1
        self.fixed_log_var = 2 * math.log(sigma)

    def observe(self, images, generator=None):
        return (images + 1) / 2

    def encoder_input(self, x):
        return 2 * x - 1

    def log_prob(self, params, x):
        if self.learned:
            log_var = GAUSSIAN_MIN_LOG_VAR + F.softplus(params[:, :, 1] - GAUSSIAN_MIN_LOG_VAR)
        else:
            log_var = torch.full_like(x, self.fixed_log_var)
        return gaussian_log_prob(params[:, :, 0], log_var, x)

    def mean(self, params):
        return 2 * params[:, :, 0].clamp(0, 1) - 1


class Logistic(Likelihood):
    params_per_channel = 2

    def log_prob(self, params, x):
        return discretized_logistic_log_prob(params[:, :, 0], params[:, :, 1].clamp(min=LOGISTIC_MIN_LOG_SCALE), x)

    def mean(self, params):
        return params[:, :, 0].clamp(-1, 1)  # the logistic is symmetric: its mean is μ, before the end bins


class Categorical(Likelihood):
    params_per_channel = 256

    def observe(self, images, generator=None):
        return ((images + 1) * 127.5).round().long()

    def encoder_input(self, x):
        return x.float() / 127.5 - 1

    def log_prob(self, params, x):
        return categorical_log_prob(params, x)

    def mean(self, params):
        levels = torch.arange(256, device=params.device, dtype=params.dtype)
        expected = (F.softmax(params, dim=2) * levels[:, None, None]).sum(2)  # (B, C, H, W) in [0, 255]
        return expected / 127.5 - 1


def build_likelihood(config) -> Likelihood:
    """The likelihood a :class:`~genlab.models.vae.config.VAEConfig` names."""
    if config.likelihood == "bernoulli":
        return Bernoulli(config.binarize)
    if config.likelihood == "gaussian":
        return Gaussian(config.gaussian_variance, config.gaussian_sigma)
    return Logistic() if config.likelihood == "logistic" else Categorical()
