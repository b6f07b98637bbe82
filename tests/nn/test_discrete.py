"""The Gumbel-max trick samples the softmax; its relaxation approaches that sample and passes gradients."""

import torch

from genlab.nn.discrete import categorical_sample, gumbel_noise, gumbel_softmax


def test_gumbel_max_draws_follow_the_softmax():
    logits = torch.tensor([2.0, 0.5, -1.0, 0.0])
    draws = 40_000
    noise = gumbel_noise((draws, 4), generator=torch.Generator().manual_seed(0))
    frequencies = torch.bincount((logits + noise).argmax(dim=-1), minlength=4) / draws
    # Binomial standard error is at most 0.0025 here: 0.01 is four of them.
    assert torch.allclose(frequencies, logits.softmax(dim=0), atol=0.01)


def test_low_temperature_approaches_the_argmax_one_hot():
    logits = torch.randn(64, 10, generator=torch.Generator().manual_seed(1))
    noise = gumbel_noise((64, 10), generator=torch.Generator().manual_seed(2))
    hard = torch.nn.functional.one_hot((logits + noise).argmax(dim=-1), 10).float()
    # Mean over rows: a row whose two best perturbed logits nearly tie converges only at a lower temperature.
    errors = [(gumbel_softmax(logits, t, noise) - hard).abs().sum(dim=-1).mean().item()
              for t in (1.0, 0.1, 0.01, 0.001)]
    assert errors[0] > errors[1] > errors[2] > errors[3] and errors[3] < 0.01


def test_straight_through_is_one_hot_forward_with_the_soft_gradient():
    logits = torch.randn(8, 6, generator=torch.Generator().manual_seed(3), requires_grad=True)
    noise = gumbel_noise((8, 6), generator=torch.Generator().manual_seed(4))
    weights = torch.randn(6)
    hard = gumbel_softmax(logits, 0.5, noise, hard=True)
    one_hot = torch.nn.functional.one_hot((logits + noise).argmax(dim=-1), 6).float()
    assert torch.allclose(hard, one_hot, atol=1e-6)  # exact up to the rounding of one_hot + soft - soft
    (hard * weights).sum().backward()
    straight_through = logits.grad.clone()
    logits.grad = None
    (gumbel_softmax(logits, 0.5, noise) * weights).sum().backward()
    assert straight_through.abs().sum() > 0 and torch.allclose(straight_through, logits.grad)
    tokens = torch.arange(8) % 6  # a sample drawn elsewhere: its one-hot is shown, whatever the argmax here
    given = gumbel_softmax(logits, 0.5, noise, hard=True, tokens=tokens)
    assert torch.allclose(given, torch.nn.functional.one_hot(tokens, 6).float(), atol=1e-6)


def test_low_temperature_relaxation_has_no_subnormal_probabilities_and_keeps_its_gradient():
    # Logits spread like a trained generator's over 5,000 tokens; at τ = 1/6 the plain softmax puts
    # a good share of its entries below float32's smallest normal number (slow on a CPU).
    logits = (4 * torch.randn(32, 5000, generator=torch.Generator().manual_seed(6))).requires_grad_()
    noise = gumbel_noise((32, 5000), generator=torch.Generator().manual_seed(7))
    plain = ((logits + noise) * 6).softmax(dim=-1)
    smallest_normal = torch.finfo(torch.float32).tiny
    assert ((plain > 0) & (plain < smallest_normal)).any()
    soft = gumbel_softmax(logits, 1 / 6, noise)
    assert soft.min() >= smallest_normal
    assert torch.allclose(soft, plain, rtol=1e-5, atol=1e-30)
    assert torch.allclose(soft.sum(dim=-1), torch.ones(32))
    weights = torch.randn(5000, generator=torch.Generator().manual_seed(8))
    (soft * weights).sum().backward()
    floored = logits.grad.clone()
    logits.grad = None
    (plain * weights).sum().backward()
    assert torch.allclose(floored, logits.grad, atol=1e-5)  # gradients up to ~3: rounding only


def test_noise_is_finite_and_reproducible():
    a = gumbel_noise((1000,), generator=torch.Generator().manual_seed(5))
    b = gumbel_noise((1000,), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.isfinite(a).all()


def test_inverse_cdf_draws_follow_the_softmax_and_are_reproducible():
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0, -30.0]]).repeat(40_000, 1)
    draws = categorical_sample(logits, torch.Generator().manual_seed(0))
    frequencies = torch.bincount(draws, minlength=5) / len(draws)
    assert torch.allclose(frequencies, logits[0].softmax(dim=0), atol=0.01)  # four binomial standard errors
    assert frequencies[4] == 0  # probability 1e-13: never drawn
    assert torch.equal(draws, categorical_sample(logits, torch.Generator().manual_seed(0)))
