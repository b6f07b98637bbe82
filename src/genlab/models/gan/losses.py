"""Adversarial losses on raw discriminator logits.

Non-saturating (Goodfellow et al. 2014, the DCGAN recipe):
    L_D = -log σ(D(x)) - log(1 - σ(D(G(z))))  =  softplus(-D(x)) + softplus(D(G(z)))
    L_G = -log σ(D(G(z)))                       =  softplus(-D(G(z)))
This is binary cross-entropy with logits against labels 1 (real) and 0 (fake), written with
softplus so it is stable for any logit.

Hinge (Lim & Ye 2017; SAGAN, BigGAN):
    L_D = relu(1 - D(x)) + relu(1 + D(G(z)));  L_G = -D(G(z))

Least squares (Mao et al. 2017, a = 0, b = c = 1):
    L_D = ½ (D(x) - 1)² + ½ D(G(z))²;  L_G = ½ (D(G(z)) - 1)²

Wasserstein (Arjovsky et al. 2017) with gradient penalty (Gulrajani et al. 2017):
    L_D = D(G(z)) - D(x) + λ (‖∇D(x̂)‖ - 1)²,  x̂ = εx + (1-ε)G(z), ε ~ U(0, 1);  L_G = -D(G(z))

Relativistic pairing, ``rsgan`` (Jolicoeur-Martineau 2019; RpGAN in Sun et al. 2020 and R3GAN,
Huang et al. 2024): each fake is judged against the real example beside it in the batch,
    L_D = softplus(D(G(z)) - D(x)) = -log σ(D(x) - D(G(z)));  L_G = softplus(D(x) - D(G(z)))
so D is asked only to rank every real above its fake, not to place each on an absolute scale.
Sun et al. prove its landscape has no bad basins, the mode-collapsed local minima of the
non-saturating loss.
All are averaged over the batch (over pairs for rsgan); the penalties below are added by the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

LossName = Literal["nonsaturating", "hinge", "least_squares", "wasserstein_gp", "rsgan"]


def discriminator_loss(kind: LossName, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "nonsaturating":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if kind == "least_squares":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()
    if kind == "wasserstein_gp":
        return fake_logits.mean() - real_logits.mean()
    if kind == "rsgan":
        return F.softplus(fake_logits - real_logits).mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def generator_loss(kind: LossName, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """G's loss; ``real_logits`` (the paired real examples', no gradient needed) only for rsgan."""
    if kind == "rsgan":
        if real_logits is None:
            raise ValueError("the rsgan generator loss pairs every fake logit with a real one")
        return F.softplus(real_logits - fake_logits).mean()
    if kind == "nonsaturating":
        return F.softplus(-fake_logits).mean()
    if kind in ("hinge", "wasserstein_gp"):
        return -fake_logits.mean()
    if kind == "least_squares":
        return 0.5 * ((fake_logits - 1) ** 2).mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def feature_mmd(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The unbiased estimate of ‖E f(fake) − E f(real)‖² (the MMD² of a linear kernel) from batches of
    features (n, F) and (m, F), divided by F. Unbiased: the squared difference of the two batch means
    would add each batch's variance / its size, whose gradient pushes G's samples together (towards
    collapse); here the pairs of a sample with itself are left out. Its expectation is 0 when the two
    distributions' features agree on average; an estimate may be negative."""
    n, m = fake.shape[0], real.shape[0]
    if n < 2 or m < 2:
        raise ValueError(f"feature matching needs at least 2 fake and 2 real feature rows (got {n} and {m})")
    # In fp32 (the sums of squares below cancel: bf16 would lose the difference), and centred on the real
    # mean, which changes nothing but the size of what cancels.
    centre = real.detach().float().mean(0)
    fake, real = fake.float() - centre, real.float() - centre
    fake_sum, real_sum = fake.sum(0), real.sum(0)
    fake_fake = (fake_sum.pow(2).sum() - fake.pow(2).sum()) / (n * (n - 1))
    real_real = (real_sum.pow(2).sum() - real.pow(2).sum()) / (m * (m - 1))
    return (fake_fake + real_real - 2 * (fake_sum / n) @ (real_sum / m)) / fake.shape[1]


def input_gradient_norms(critic: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                         group: int = 1, dual_norm: Callable[[torch.Tensor], torch.Tensor] | None = None
                         ) -> torch.Tensor:
    """‖∇ₓ critic(x)‖₂ per critic input (B/group,), kept in the graph so a penalty on it can train.

    ``group`` consecutive examples form one critic input (PacGAN packing): the norm is taken over
    the whole group, since that is what the critic sees as one point. ``dual_norm`` maps the
    gradient (B, ...) to its norm per input (B,) in place of the Euclidean one: the dual of the norm
    the critic is to be 1-Lipschitz in (Adler & Lunz 2018; ungrouped inputs only).
    """
    if dual_norm is not None and group != 1:
        raise ValueError("a dual norm applies to ungrouped critic inputs only")
    inputs = inputs.detach().requires_grad_(True)
    # The penalty differentiates this gradient again; the fused attention kernels (flash and
    # memory-efficient, on CPU and CUDA) have no second derivative, the math one does.
    with sdpa_kernel(SDPBackend.MATH):
        (grad,) = torch.autograd.grad(critic(inputs).sum(), inputs, create_graph=True)
    if dual_norm is not None:
        return dual_norm(grad)
    return grad.reshape(inputs.shape[0] // group, -1).norm(dim=1)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     group: int = 1, dual_norm: Callable[[torch.Tensor], torch.Tensor] | None = None
                     ) -> torch.Tensor:
    """WGAN-GP: E[(‖∇D(x̂)‖ − 1)²] at random points x̂ on lines between real and fake inputs; with
    ``dual_norm`` (see :func:`input_gradient_norms`) the gradient's norm is that one."""
    eps = torch.rand(real.shape[0] // group, *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    eps = eps.repeat_interleave(group, dim=0)  # one interpolation point per critic input
    mixed = eps * real.detach() + (1 - eps) * fake.detach()
    return ((input_gradient_norms(critic, mixed, group, dual_norm) - 1) ** 2).mean()


def squared_gradient_norm(critic: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                          group: int = 1) -> torch.Tensor:
    """E[‖∇D(x)‖²]: R1 (Mescheder et al. 2018) on real inputs, R2 on fakes; the model scales it by γ/2."""
    return (input_gradient_norms(critic, inputs, group) ** 2).mean()
