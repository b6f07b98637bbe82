"""WGAN-GP in a Sobolev norm (``--model.sobolev``): the dual norm, the penalty, and the critic's inputs."""

import numpy as np
import pytest
import torch

from genlab.errors import ConfigError
from genlab.models.gan.losses import gradient_penalty
from genlab.models.rgan import RecurrentGAN
from genlab.models.rgan.config import CRNNGANConfig
from genlab.models.rgan.sobolev import sobolev_dual_norms

SOBOLEV = dict(features=3, seq_len=6, hidden_dim=8, layers=1, noise_dim=2, feature_min=[0.0] * 3,
               feature_max=[1.0] * 3, loss="wasserstein_gp", differences=True, sobolev=4.0)


def h1_norm(delta: np.ndarray, weight: float) -> float:
    """‖δ‖_H of one sequence (T, F) from its definition: Σ δ² + s² Σ (δ_t − δ_(t−1))²."""
    return float(np.sqrt((delta ** 2).sum() + weight ** 2 * (np.diff(delta, axis=0) ** 2).sum()))


def test_weight_zero_is_the_euclidean_norm():
    grad = torch.randn(5, 7, 3)
    torch.testing.assert_close(sobolev_dual_norms(grad, 0.0), grad.reshape(5, -1).norm(dim=1))


@pytest.mark.parametrize("weight", [0.5, 4.0, 16.0])
def test_dual_norm_is_the_largest_change_per_unit_of_the_h1_norm(weight):
    """‖g‖_* = sup g·δ / ‖δ‖_H: no direction exceeds it, and the maximiser (from a matrix built
    here by sums of outer products, not the module's) attains it."""
    rng = np.random.default_rng(0)
    grad = rng.standard_normal((1, 6, 2))
    dual = float(sobolev_dual_norms(torch.from_numpy(grad), weight)[0])
    for delta in rng.standard_normal((200, 6, 2)):
        assert (grad[0] * delta).sum() / h1_norm(delta, weight) <= dual * (1 + 1e-9)
    gram = np.eye(6)
    for t in range(1, 6):
        step = np.zeros(6)
        step[t], step[t - 1] = 1.0, -1.0
        gram += weight ** 2 * np.outer(step, step)
    best = np.linalg.solve(gram, grad[0])
    assert (grad[0] * best).sum() / h1_norm(best, weight) == pytest.approx(dual, rel=1e-9)
    assert dual < np.linalg.norm(grad)  # shape costs more, so a given gradient spends less of the budget


def test_padded_steps_are_not_in_the_norm():
    grad = torch.randn(3, 6, 2)
    lengths = torch.tensor([6, 3, 4])
    alone = torch.stack([sobolev_dual_norms(grad[i:i + 1, :n], 3.0)[0] for i, n in enumerate(lengths)])
    junk = grad.clone()
    junk[1, 3:], junk[2, 4:] = 100.0, -7.0
    torch.testing.assert_close(sobolev_dual_norms(grad, 3.0, lengths), alone)
    torch.testing.assert_close(sobolev_dual_norms(junk, 3.0, lengths), alone)


def test_the_dual_norm_differentiates_twice_so_its_penalty_trains_the_critic():
    grad = torch.randn(3, 5, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 2, 4])
    assert torch.autograd.gradcheck(lambda g: sobolev_dual_norms(g, 3.0, lengths), (grad,))
    assert torch.autograd.gradgradcheck(lambda g: sobolev_dual_norms(g, 3.0, lengths), (grad,))


def test_penalty_of_a_linear_critic_is_its_weights_dual_norm_minus_one_squared():
    """A linear critic's gradient is its weights w everywhere, so the penalty is (‖w‖_* − 1)² at
    every interpolation point; the Euclidean penalty (‖w‖ − 1)² differs."""
    weights = torch.randn(6, 3, dtype=torch.float64)

    def critic(x):
        return (x * weights).sum(dim=(1, 2))

    real, fake = torch.rand(4, 6, 3, dtype=torch.float64), torch.rand(4, 6, 3, dtype=torch.float64)
    penalty = gradient_penalty(critic, real, fake, dual_norm=lambda g: sobolev_dual_norms(g, 5.0))
    dual = sobolev_dual_norms(weights[None], 5.0)[0]
    torch.testing.assert_close(penalty, (dual - 1) ** 2)
    assert not torch.isclose(penalty, (weights.norm() - 1) ** 2)
    # And its gradient in the critic's weights is that of (√(wᵀ A⁻¹ w) − 1)², A built here from its definition.
    weights.requires_grad_(True)
    penalty = gradient_penalty(critic, real, fake, dual_norm=lambda g: sobolev_dual_norms(g, 5.0))
    (found,) = torch.autograd.grad(penalty, weights)
    gram = torch.eye(6, dtype=torch.float64)
    for t in range(1, 6):
        gram[t, t] += 25.0
        gram[t - 1, t - 1] += 25.0
        gram[t, t - 1] = gram[t - 1, t] = -25.0
    w = weights.detach()
    expected = 2 * (torch.sqrt((w * torch.linalg.solve(gram, w)).sum()) - 1) * torch.linalg.solve(gram, w) / torch.sqrt(
        (w * torch.linalg.solve(gram, w)).sum())
    torch.testing.assert_close(found, expected)
    with pytest.raises(ValueError, match="ungrouped"):
        gradient_penalty(critic, real, fake, group=2, dual_norm=lambda g: sobolev_dual_norms(g, 5.0))


def test_the_critic_update_penalises_the_dual_norm_and_the_critic_reads_scaled_differences(monkeypatch):
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**SOBOLEV))
    x = torch.rand(4, 6, 3)
    seen = []
    hook = model.discriminator.rnn.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach()))
    model.discriminator(x)
    hook.remove()
    torch.testing.assert_close(seen[0][..., 3:], 4.0 * torch.diff(x, dim=1, prepend=x[:, :1]))

    norms = []
    lengths = torch.tensor([6, 3, 5, 6])

    def recording_penalty(critic, real, fake, dual_norm=None):
        grad = torch.randn(4, 6, 3)
        norms.append((dual_norm(grad), sobolev_dual_norms(grad, 4.0, lengths)))
        return real.new_zeros(())

    monkeypatch.setattr("genlab.models.rgan.model.gradient_penalty", recording_penalty)
    model._discriminator_update(x, torch.rand(4, 6, 3), None, lengths,
                                torch.optim.SGD(model.discriminator.parameters(), lr=0.0))
    assert len(norms) == 1  # the norm over each sequence's own valid steps
    torch.testing.assert_close(*norms[0])


def test_below_weight_one_the_critic_reads_the_differences_unscaled():
    model = RecurrentGAN(CRNNGANConfig(**{**SOBOLEV, "sobolev": 0.5}))
    x = torch.rand(2, 6, 3)
    seen = []
    model.discriminator.rnn.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach()))
    model.discriminator(x)
    torch.testing.assert_close(seen[0][..., 3:], torch.diff(x, dim=1, prepend=x[:, :1]))


def test_sobolev_trains_and_its_penalty_is_finite():
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**SOBOLEV))
    optimizers = model.configure_optimizers()
    real = torch.rand(8, 6, 3, generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    for _ in range(3):
        losses = model.training_step({"sequences": real, "labels": None}, optimizers)
    assert all(torch.isfinite(v) for v in losses.values()) and losses["penalty_gradient"] >= 0
    assert any(not torch.equal(v, before[k]) for k, v in model.discriminator.state_dict().items())


@pytest.mark.parametrize("options, message", [
    ({"loss": "nonsaturating"}, "--model.sobolev applies only with --model.loss wasserstein_gp"),
    ({"sobolev": -1.0}, "--model.sobolev"),
    ({"gradient_penalty": 0.0}, "--model.sobolev sets the norm of WGAN-GP's penalty, which --model.gradient_penalty 0 "
                                "turns off"),
])
def test_bad_sobolev_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        CRNNGANConfig(**{**SOBOLEV, **options}).validate()
