"""Drawing discrete tokens: inverse-CDF sampling, the Gumbel-max trick and its relaxation, the
Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017).

:func:`sample_token` is how genlab's generators pick their next token when sampling and generating
text (temperature, top-k, top-p), and how seqgan draws its fakes and rollouts. relgan's
adversarial training is the exception: it draws each token as ``argmax(logits + g)`` with noise from
:func:`gumbel_noise` and keeps that noise for its :func:`gumbel_softmax` relaxation (the textgan
oracle, which makes synthetic data, calls :func:`categorical_sample` directly).
:func:`categorical_sample` draws one token per row with a single uniform number: on a CPU it is
about 10× faster than ``torch.multinomial`` over 5,000 categories, and than drawing V Gumbel
variables per row.

With g ~ Gumbel(0, 1) independently per category, ``argmax(logits + g)`` is an exact sample of
``softmax(logits)``. Replacing the argmax by ``softmax((logits + g) / τ)`` gives a point of the
simplex that approaches that one-hot sample as τ → 0 and is differentiable in the logits: this is
how a text generator's discrete choices can receive a discriminator's gradient. RelGAN writes the
temperature as an inverse temperature β = 1/τ that rises during training.

The straight-through variant (``hard=True``) returns the exact one-hot sample in the forward pass
and the gradient of the soft sample in the backward pass.

At a low temperature most of a soft sample's V entries are vanishingly small, and in float32 a
large share of them lands in the subnormal range (below 1.2e-38): 13% of them at β = 6 in a RelGAN
generator over 5,000 tokens. A CPU computes with subnormal numbers many times more slowly, which
doubled the time of RelGAN's training steps; ``torch.set_flush_denormal`` removed only half of
them (it appears to reach the calling thread, not the intra-op workers) and saved 12%.
:func:`gumbel_softmax` therefore floors the scaled logits so that no probability falls below the
smallest normal number: the entries it raises carry at most e · V² · 1.2e-38 of probability mass
between them (1e-30 at V = 5,000), and had no gradient to speak of.
"""

from __future__ import annotations

import math

import torch


def categorical_sample(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw from softmax(logits) per row (n, V) → (n,) ids, by inverting the cumulative distribution.

    The cumulative sum is float64 so that its rounding (up to V · 2^-24 in float32) does not distort
    the rare tokens' probabilities. With a ``generator`` the uniforms are drawn on the CPU.
    """
    weights = torch.exp(logits - logits.amax(dim=1, keepdim=True)).double().cumsum(dim=1)  # (n, V)
    u = torch.rand(len(logits), 1, generator=generator, dtype=torch.float64,
                   device="cpu" if generator is not None else logits.device).to(logits.device)
    # right=True: id k is drawn when cdf[k-1] <= u < cdf[k], probability cdf[k] - cdf[k-1] ∝ exp(logit k).
    ids = torch.searchsorted(weights, u * weights[:, -1:], right=True).squeeze(1)
    return ids.clamp_(max=logits.shape[1] - 1)  # defensive: u < 1 keeps u * total below the total


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """Standard Gumbel noise −log(−log u), u ~ U(0, 1), of ``shape``. With a ``generator`` the draw is
    made on the CPU (reproducible on any device) and moved to ``device``."""
    u = torch.rand(shape, generator=generator) if generator is not None else torch.rand(shape, device=device)
    tiny = torch.finfo(u.dtype).tiny  # keeps both logs finite at u = 0
    u = u.clamp_min(tiny)
    return -(-u.log()).clamp_min(tiny).log().to(device)


def gumbel_softmax(logits: torch.Tensor, temperature: float, noise: torch.Tensor | None = None,
                   hard: bool = False, tokens: torch.Tensor | None = None) -> torch.Tensor:
    """softmax((logits + g) / τ) over the last dimension (..., V); ``noise`` g is drawn when None.

    ``hard``: a one-hot forward, the soft sample's gradient backward; the one-hot of ``tokens`` (...)
    when given (the sample this relaxes, drawn elsewhere with the same noise: argmax(logits + g)
    recomputed here can differ from it at near-ties when the logits come from another pass under
    bf16), else of argmax(logits + g).
    """
    if temperature <= 0:
        raise ValueError(f"the Gumbel-softmax temperature must be positive (got {temperature})")
    if noise is None:
        noise = gumbel_noise(logits.shape, device=logits.device)
    scaled = (logits + noise) / temperature
    # No probability below the smallest normal number (see the module's docstring): exp(floor) / V
    # stays above it even when all V terms of the normaliser are at their largest, 1.
    tiny = torch.finfo(scaled.dtype).tiny
    if tiny < 1e-30:  # float32, bfloat16, float64; float16's range is too short to spare any of it
        floor = math.log(tiny) + math.log(scaled.shape[-1]) + 1.0
        scaled = (scaled - scaled.detach().amax(dim=-1, keepdim=True)).clamp(min=floor)
    soft = scaled.softmax(dim=-1)
    if not hard:
        return soft
    index = soft.argmax(dim=-1, keepdim=True) if tokens is None else tokens.unsqueeze(-1)
    one_hot = torch.zeros_like(soft).scatter_(-1, index, 1.0)
    return one_hot + soft - soft.detach()


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Logits (B, V) with every token outside the top ``top_k`` and outside the smallest set whose
    probability reaches ``top_p`` set to -inf (the most likely token always stays)."""
    logits = logits.clone()
    if top_k is not None and top_k < logits.shape[-1]:
        keep = torch.topk(logits, top_k, dim=-1).indices  # by index: exactly k even when logits tie at the k-th
        logits = torch.full_like(logits, float("-inf")).scatter(-1, keep, logits.gather(-1, keep))
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # probability mass of the tokens ranked above each one
        drop = before >= top_p
        drop[:, 0] = False  # the most likely token, even for top_p ≤ 0
        logits.scatter_(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    return logits


def sample_token(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row of logits (B, V) → (B,): softmax(logits / temperature) restricted to the
    top-k / top-p tokens, drawn by :func:`categorical_sample`; temperature 0 is greedy (argmax).

    The transformer's and the text GANs' sampling and generation draw through this one function
    (relgan's adversarial training draws by the Gumbel-max trick instead: see the module's docstring).
    With a ``generator`` the uniform numbers come from the CPU, so a seed draws the same numbers on
    every device.
    """
    if temperature == 0:
        return logits.argmax(dim=-1)
    return categorical_sample(filter_logits(tempered(logits.float(), temperature), top_k, top_p), generator)


def tempered(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / temperature up to a constant per row (the same softmax), shifted so that each row's
    largest is 0 first: a tiny temperature then sends the others to -inf, not every logit to ±inf
    (whose differences are NaN). Divided in float64: a temperature below float32's smallest number
    would round to 0 there and make the largest 0 / 0."""
    if temperature == 1.0:
        return logits
    return ((logits - logits.amax(dim=-1, keepdim=True)).double() / temperature).to(logits.dtype)
