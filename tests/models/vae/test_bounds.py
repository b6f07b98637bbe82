"""The maths of the bounds: closed-form KL, IWAE ordering, and the NLL estimate against an exact marginal."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from genlab.models.base import EvalOptions
from genlab.models.vae import VAE, VAEConfig
from genlab.models.vae.bounds import free_bits_kl, gaussian_kl, log_prior_ratio


def test_closed_form_kl_matches_a_monte_carlo_estimate():
    generator = torch.Generator().manual_seed(0)
    mean = torch.tensor([0.0, 1.5, -0.7, 0.3], dtype=torch.float64)
    log_var = torch.tensor([0.0, -1.0, 0.8, -2.5], dtype=torch.float64)
    q, p = Normal(mean, torch.exp(0.5 * log_var)), Normal(0.0, 1.0)
    z = mean + torch.exp(0.5 * log_var) * torch.randn(400_000, 4, generator=generator, dtype=torch.float64)
    log_ratio = q.log_prob(z) - p.log_prob(z)  # (S, 4)
    monte_carlo, error = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(z.shape[0])
    closed = gaussian_kl(mean, log_var)
    assert closed[0] == 0  # q = p
    assert ((closed - monte_carlo).abs() < 4 * error + 1e-12).all()


def test_log_prior_ratio_matches_the_two_log_densities():
    torch.manual_seed(0)
    mean, log_var, noise = torch.randn(3, 5), torch.randn(3, 5), torch.randn(7, 3, 5)
    z = mean + torch.exp(0.5 * log_var) * noise
    direct = (Normal(0.0, 1.0).log_prob(z) - Normal(mean, torch.exp(0.5 * log_var)).log_prob(z)).sum(-1)
    assert torch.allclose(log_prior_ratio(z, noise, log_var), direct, atol=1e-5)


def test_free_bits_floor_the_batch_mean_kl_of_each_unit():
    kl_units = torch.tensor([[0.1, 2.0, 0.0], [0.3, 4.0, 0.2]])  # batch means 0.2, 3.0, 0.1
    assert free_bits_kl(kl_units, 0.0).item() == pytest.approx(3.3)
    assert free_bits_kl(kl_units, 0.5).item() == pytest.approx(0.5 + 3.0 + 0.5)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from genlab.data.images import embedded_digits_path

    with np.load(embedded_digits_path()) as data:
        x = data["x"][:6]
    path = tmp_path_factory.mktemp("digits") / "six.npz"
    np.savez(path, x=x)
    return path, torch.from_numpy(x).float()[:, None]


@pytest.fixture(scope="module")
def tiny_model(digits):
    """A VAE with one latent unit, so log p(x) = log ∫ p(x|z) N(z; 0, 1) dz is a 1-D integral,
    trained briefly on the six digits so that p(x|z) depends strongly on z."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(resolution=28, channels=1, latent_dim=1, width=2, hidden_dim=8, binarize="threshold",
                          lr=3e-2))
    optimizers = model.configure_optimizers()
    images = digits[1] / 127.5 - 1
    for _ in range(100):
        model.training_step({"images": images}, optimizers)
    return model.eval()


def exact_nll(model, pixels):
    """-log p(x) per example by quadrature over z on [-10, 10] (rectangle rule, 20,001 nodes)."""
    nodes = torch.linspace(-10, 10, 20_001, dtype=torch.float64)
    width = (nodes[1] - nodes[0]).item()
    x = (pixels > 127).double().flatten(1)  # (N, 784): threshold binarisation, as the model observes it
    with torch.no_grad():
        logits = model.decoder(nodes.float()[:, None])[:, :, 0].double().flatten(1)  # (nodes, 784)
    # log Bernoulli(x; σ(ℓ)) = x·ℓ - log(1 + e^ℓ), summed over the pixels
    log_px = x @ logits.T - torch.nn.functional.softplus(logits).sum(1)  # (N, nodes)
    log_joint = log_px.T + Normal(0.0, 1.0).log_prob(nodes)[:, None]  # (nodes, N)
    return -(torch.logsumexp(log_joint, 0) + math.log(width))


def test_importance_sampled_nll_is_an_upper_bound_that_tightens_with_k(tiny_model, digits):
    path, pixels = digits
    exact = exact_nll(tiny_model, pixels).mean().item()
    estimates = {k: tiny_model.evaluate(EvalOptions(data=str(path), nll=True, k=k, seed=1))["nll"]
                 for k in (1, 10, 100, 5000)}
    assert estimates[1] > estimates[10] > estimates[100] > estimates[5000] >= exact - 1e-3
    assert estimates[1] - exact > 1  # the test is not vacuous: one sample is far off
    assert estimates[5000] - exact < 0.5


def test_iwae_bound_does_not_decrease_with_k_on_average(tiny_model, digits):
    _, pixels = digits
    x = (pixels > 127).float()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        mean, log_var = tiny_model.posterior(x, None)
        bounds = {}
        for k in (1, 2, 5, 20):
            # 200 independent repetitions of L_k per example.
            log_px, log_ratio = tiny_model.importance_terms(x, None, mean, log_var, 200 * k, generator)
            log_w = (log_px + log_ratio).view(200, k, -1)
            bounds[k] = (torch.logsumexp(log_w, 1) - math.log(k)).mean().item()
    assert bounds[1] < bounds[2] < bounds[5] < bounds[20]


def test_dynamically_binarised_test_set_is_the_same_for_every_k_and_batch_size(digits):
    """The closed-form KL depends on the binarised images only: it must not move with the number of
    latents drawn between batches."""
    path, _ = digits
    torch.manual_seed(0)
    model = VAE(VAEConfig(resolution=28, channels=1, latent_dim=2, width=2, hidden_dim=8, binarize="dynamic"))
    kls = {(k, size): model.evaluate(EvalOptions(data=str(path), nll=True, k=k, batch_size=size, seed=3))["kl"]
           for k, size in ((1, 2), (50, 2), (50, 6))}
    assert kls[(1, 2)] == pytest.approx(kls[(50, 2)], abs=1e-9) and kls[(50, 2)] == pytest.approx(kls[(50, 6)], abs=1e-6)
    other_seed = model.evaluate(EvalOptions(data=str(path), nll=True, k=1, batch_size=2, seed=4))["kl"]
    assert other_seed != pytest.approx(kls[(1, 2)], abs=1e-6)  # the binarisation is random


def test_a_large_decoder_output_is_decoded_a_few_pairs_at_a_time(digits, monkeypatch):
    """A 256-way categorical decoder of 32×32×3 images outputs 786,432 values per (example, sample)
    pair: 2,048 pairs at once would be 6.4 GB of logits."""
    from genlab.models.vae import evaluation

    colour = VAE(VAEConfig(resolution=32, channels=3, likelihood="categorical", latent_dim=2, width=2, hidden_dim=8))
    assert evaluation.decode_pairs(colour) == (1 << 24) // (3 * 256 * 32 * 32) == 21
    grey = VAE(VAEConfig(resolution=28, channels=1, latent_dim=2, width=2, hidden_dim=8))
    assert evaluation.decode_pairs(grey) == evaluation.DECODE_BATCH  # small outputs: the usual batch
    monkeypatch.setattr(evaluation, "DECODE_VALUES", 784 * 5)  # five grey images' worth per pass
    decoded, terms = [], grey.importance_terms
    monkeypatch.setattr(grey, "importance_terms", lambda x, labels, mean, log_var, samples, generator:
                        decoded.append(samples * len(x)) or terms(x, labels, mean, log_var, samples, generator))
    path, _ = digits
    result = grey.evaluate(EvalOptions(data=str(path), nll=True, k=7, batch_size=64, seed=0))
    assert max(decoded) <= 5 and sum(decoded) == 7 * result["protocol"]["examples"]
