"""Multi-head self-attention over a sequence, causal by default, with an optional KV cache, and
:class:`AttentionBlocks`, a stack of pre-norm residual self-attention layers (the rgan and textgan
players' attention).

Built on ``F.scaled_dot_product_attention``, which picks a fused kernel (flash / memory-efficient
on CUDA, a blocked kernel on CPU). Positions can be rotary (RoPE, Su et al. 2021): queries and
keys are rotated by an angle proportional to their position, so attention scores depend on
relative offsets only.

For generation, a :class:`KVCache` keeps the keys and values of the positions already seen, so
each new token costs one query against the cache instead of re-running the whole context.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """Keys and values of one attention layer for up to ``capacity`` positions, preallocated."""

    def __init__(self, batch: int, heads: int, capacity: int, head_dim: int, device: torch.device,
                 dtype: torch.dtype) -> None:
        self.keys = torch.zeros(batch, heads, capacity, head_dim, device=device, dtype=dtype)
        self.values = torch.zeros_like(self.keys)
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.keys.shape[2]

    def append(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add (B, H, T, hd) keys and values; return those of every position so far, (B, H, L, hd)."""
        end = self.length + keys.shape[2]
        if end > self.capacity:
            raise ValueError(f"KV cache overflow: {end} positions, capacity {self.capacity}")
        self.keys[:, :, self.length:end] = keys
        self.values[:, :, self.length:end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]


def rotary_tables(positions: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (positions, hd) tables of :func:`rotate`: [cos θ, cos θ] and [-sin θ, sin θ], with
    θ = position · 10000^(-2i/hd) for i < hd/2."""
    frequencies = 10000.0 ** (-torch.arange(0, head_dim, 2).float() / head_dim)
    angles = torch.arange(positions).float()[:, None] * frequencies  # (P, hd/2)
    return angles.cos().repeat(1, 2), torch.cat((-angles.sin(), angles.sin()), dim=-1)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of (..., T, hd) by the tables cos, sin (T, hd) of :func:`rotary_tables`.

    The two halves a, b of each head are the real and imaginary parts of hd/2 complex numbers,
    rotated by θ: [a cos θ - b sin θ, b cos θ + a sin θ] = x·cos + [b, a]·sin. Three ops instead
    of the seven of the written-out form: in token-by-token decoding each op's overhead counts.
    """
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin)


class SelfAttention(nn.Module):
    """Multi-head self-attention: (B, T, dim) → (B, T, dim).

    ``max_positions`` bounds the positions rotary embeddings are precomputed for; ``causal``
    lets position t attend only to positions ≤ t.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0, bias: bool = True, causal: bool = True,
                 rotary: bool = False, max_positions: int = 0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.head_dim = dim // heads
        self.causal = causal
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.out = nn.Linear(dim, dim, bias=bias)
        self.out_dropout = nn.Dropout(dropout)
        self.rotary = rotary
        if rotary:
            if self.head_dim % 2:
                raise ValueError(f"rotary positions need an even head size, got {self.head_dim}")
            cos, sin = rotary_tables(max_positions, self.head_dim)  # (P, hd) each
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)

    def new_cache(self, batch: int, capacity: int, device: torch.device, dtype: torch.dtype) -> KVCache:
        return KVCache(batch, self.heads, capacity, self.head_dim, device, dtype)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None,
                key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, dim) at positions start..start+T-1, where start is the cache length (else 0).

        ``key_mask`` (B, start + T), True where a position may be attended: padding of a batch of
        variable-length sequences is left out this way. Every query must keep at least one key.
        """
        b, t, dim = x.shape
        start = cache.length if cache is not None else 0
        qkv = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, B, H, T, hd)
        if self.rotary:
            if start + t > self.cos.shape[0]:
                raise ValueError(f"position {start + t - 1} is beyond max_positions {self.cos.shape[0]}")
            # Queries and keys rotated in one call: in token-by-token decoding each op's overhead counts.
            q, k = rotate(qkv[:2], self.cos[start:start + t], self.sin[start:start + t])
            v = qkv[2]
        else:
            q, k, v = qkv
        if cache is not None:
            k, v = cache.append(k, v)  # (B, H, start + T, hd)
        mask, is_causal = None, False
        if self.causal and t > 1:
            if start == 0:
                is_causal = True
            else:  # queries at start..start+T-1 see every cached position and the new ones up to their own
                mask = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(diagonal=start)
        if key_mask is not None:
            if is_causal:  # the fused causal flag cannot be combined with a mask: spell it out
                mask, is_causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril(), False
            keys = key_mask[:, None, None, :]  # (B, 1, 1, start + T), broadcast over heads and queries
            mask = keys if mask is None else mask & keys
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                           dropout_p=self.dropout if self.training else 0.0)  # (B, H, T, hd)
        y = y.transpose(1, 2).reshape(b, t, dim)  # (B, T, dim)
        return self.out_dropout(self.out(y))


class AttentionBlocks(nn.Module):
    """``layers`` pre-norm residual blocks x ← x + SelfAttention(LayerNorm(x)): (B, T, dim) → (B, T, dim)."""

    def __init__(self, dim: int, layers: int, heads: int, causal: bool) -> None:
        super().__init__()
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(layers)])
        self.attentions = nn.ModuleList([SelfAttention(dim, heads, causal=causal) for _ in range(layers)])

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``key_mask`` (B, T): the positions that may be attended (None: all)."""
        for norm, attention in zip(self.norms, self.attentions):
            x = x + attention(norm(x), key_mask=key_mask)
        return x
