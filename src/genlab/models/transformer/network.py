"""The decoder-only transformer: token (+ learned position) embeddings, pre-norm blocks of causal
self-attention and a 4× MLP, a final LayerNorm and a linear head tied to the token embedding."""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab.models.transformer.config import TransformerConfig
from genlab.nn.attention import KVCache, SelfAttention


class Block(nn.Module):
    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(c.width, bias=c.bias)
        self.attention = SelfAttention(c.width, c.heads, c.dropout, c.bias, causal=True,
                                       rotary=c.positions == "rotary", max_positions=c.context)
        self.mlp_norm = nn.LayerNorm(c.width, bias=c.bias)
        self.mlp = nn.Sequential(nn.Linear(c.width, 4 * c.width, bias=c.bias), nn.GELU(),
                                 nn.Linear(4 * c.width, c.width, bias=c.bias), nn.Dropout(c.dropout))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), cache)
        return x + self.mlp(self.mlp_norm(x))


class TransformerNet(nn.Module):
    def __init__(self, c: TransformerConfig, vocab_size: int) -> None:
        super().__init__()
        self.context = c.context
        self.token_embedding = nn.Embedding(vocab_size, c.width)
        self.position_embedding = nn.Embedding(c.context, c.width) if c.positions == "learned" else None
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.norm = nn.LayerNorm(c.width, bias=c.bias)
        self.head = nn.Linear(c.width, vocab_size, bias=False)
        if c.tie_weights:
            self.head.weight = self.token_embedding.weight
        # GPT-2 initialisation: N(0, 0.02), and the projections that write into the residual stream
        # scaled by 1/sqrt(2·layers) so its variance does not grow with depth.
        for name, p in self.named_parameters():
            if p.dim() == 2:
                residual = name.endswith("attention.out.weight") or name.endswith("mlp.2.weight")
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c.layers) if residual else 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def new_caches(self, batch: int) -> list[KVCache]:
        """One empty KV cache per block, for ``batch`` sequences of up to ``context`` tokens."""
        weight = self.token_embedding.weight
        return [block.attention.new_cache(batch, self.context, weight.device, weight.dtype) for block in self.blocks]

    def forward(self, tokens: torch.Tensor, caches: list[KVCache] | None = None) -> torch.Tensor:
        """Token ids (B, T) at positions start..start+T-1 (start: the caches' length, else 0)
        → next-token logits (B, T, V)."""
        start = caches[0].length if caches else 0
        if start + tokens.shape[1] > self.context:
            raise ValueError(f"positions {start}..{start + tokens.shape[1] - 1} run past the context of "
                             f"{self.context} tokens; pass at most {self.context - start} tokens")
        x = self.token_embedding(tokens)  # (B, T, width)
        if self.position_embedding is not None:
            x = x + self.position_embedding.weight[start:start + tokens.shape[1]]
        x = self.dropout(x)
        for i, block in enumerate(self.blocks):
            x = block(x, caches[i] if caches else None)
        return self.head(self.norm(x))  # (B, T, V)
