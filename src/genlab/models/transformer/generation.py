"""Autoregressive decoding: temperature, top-k and top-p (nucleus) sampling, a KV cache, and a
sliding window for sequences longer than the trained context.

Sliding window: the model sees at most ``context`` tokens. When the sequence outgrows its window,
the window jumps forward so that it holds the newest ``context - stride`` tokens (at least one), and the cache is
refilled from them in one pass; until the next jump every token costs one cached step. The
recompute path (``use_cache=False``) follows exactly the same windows, re-running the whole window
for every token, so the two give the same tokens — the cache only changes the speed.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from genlab.models.transformer.network import TransformerNet
from genlab.nn.discrete import sample_token


def window_start(start: int, length: int, context: int, stride: int) -> int:
    """Where the window of a ``length``-token sequence begins, given where it began before."""
    if length - start <= context:
        return start
    return length - max(1, context - stride)


@torch.inference_mode()  # lighter than no_grad: no version counters or view tracking for a per-token op
def generate(net: TransformerNet, prompt: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
             use_cache: bool = True, stride: int | None = None) -> Iterator[torch.Tensor]:
    """Yield ``max_new_tokens`` tokens (B,) one step at a time, continuing prompt ids (B, P), P ≥ 1.

    ``stride`` (default context/4) is how far the window jumps once the sequence outgrows it.
    """
    context = net.context
    stride = max(1, context // 4) if stride is None else stride
    batch, length = prompt.shape
    tokens = torch.empty(batch, length + max_new_tokens, dtype=torch.long, device=prompt.device)
    tokens[:, :length] = prompt
    start = max(0, length - context)  # the newest context tokens of a long prompt
    caches = net.new_caches(batch) if use_cache else None
    logits = net(tokens[:, start:length], caches)[:, -1]  # (B, V)
    for _ in range(max_new_tokens):
        token = sample_token(logits, temperature, top_k, top_p, generator)
        yield token
        tokens[:, length] = token
        length += 1
        if length == tokens.shape[1]:
            return
        moved = window_start(start, length, context, stride)
        if not use_cache:
            start = moved
            logits = net(tokens[:, start:length])[:, -1]
        elif moved != start:  # refill the cache from the new window
            start, caches = moved, net.new_caches(batch)
            logits = net(tokens[:, start:length], caches)[:, -1]
        else:
            logits = net(tokens[:, length - 1:length], caches)[:, -1]
