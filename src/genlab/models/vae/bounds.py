"""The bounds on log p(x) that train and evaluate the VAE, in nats.

With q(z|x) = N(μ, diag σ²) from the encoder, p(z) = N(0, I) and the decoder's p(x|z):

- ELBO:  log p(x) ≥ E_q[log p(x|z)] - KL(q(z|x) ‖ p(z)), where in closed form
  KL = ½ Σ_d (μ_d² + σ_d² - 1 - log σ_d²)  (non-negative; zero only at μ = 0, σ = 1).
  The training loss is its negative: -E_q[log p(x|z)] + β·KL, summed over pixels and latent
  units, averaged over the batch; E_q is estimated with z = μ + σ·ε, ε ~ N(0, I).
- IWAE bound (Burda et al. 2016), with z_1..z_k ~ q(z|x) and weights w_i = p(x|z_i)·p(z_i) / q(z_i|x):
  log p(x) ≥ L_k = E[log (1/k) Σ_i w_i]; L_1 is the ELBO, L_k ≤ L_{k+1} and L_k → log p(x).
  The same average with k = 5000 is the importance-sampled NLL estimate of the literature.
- Free bits (Kingma et al. 2016): the KL of each unit, averaged over the batch, is floored at λ
  nats, Σ_d max(λ, E_batch[KL_d]), so units are not pushed below λ into posterior collapse.
"""

from __future__ import annotations

import math

import torch


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) ‖ N(0, 1)) per unit: (B, D) → (B, D), in nats."""
    return 0.5 * (mean.square() + torch.exp(log_var) - 1 - log_var)


def log_prior_ratio(z: torch.Tensor, noise: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log p(z) - log q(z|x) for z = μ + σ·noise: (..., D) → (...).

    log N(z; 0, I) = -½ Σ (log 2π + z²) and log N(z; μ, σ²) = -½ Σ (log 2π + log σ² + noise²);
    the 2π terms cancel.
    """
    return 0.5 * (noise.square() - z.square() + log_var).sum(-1)


def importance_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """L_k = log (1/k) Σ_i w_i from log weights (k, B) → (B,)."""
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


def free_bits_kl(kl_units: torch.Tensor, free_bits: float) -> torch.Tensor:
    """Σ_d max(free_bits, mean over the batch of KL_d) for per-unit KLs (B, D) → scalar."""
    return kl_units.mean(0).clamp(min=free_bits).sum()
