"""The textgan players.

Generators map input ids (B, T) to next-token logits (B, T, V). The input at position 0 is the
start symbol, id V, which has an embedding but is never an output; the input at position t is the
token generated at t - 1. They run a whole sequence at once (teacher forcing, and the gradient pass
of adversarial training) or step by step with a state (sampling):

- :class:`LSTMGenerator`: embedding → LSTM → linear (the SeqGAN / Texygen generator).
- :class:`TransformerGenerator`: the transformer family's decoder (causal self-attention, rotary
  positions, KV cache for stepping) over the V + 1 symbols; the self-attention variant.

Discriminators map a batch of sequences to one logit each (B,). A sequence is either token ids
(B, T) or a point of the simplex per position (B, T, V) — the Gumbel-softmax relaxation of a
generated sequence; both meet the same embedding matrix (a lookup, or a product with it):

- :class:`CNNDiscriminator`: n-gram convolutions of several widths, max-pooled over time, a highway
  layer and dropout (Kim 2014, as in SeqGAN and RelGAN).
- :class:`RNNDiscriminator`: a GRU; the logit comes from its last state.
- :class:`AttentionDiscriminator`: non-causal self-attention blocks over learned position
  embeddings, mean-pooled.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genlab.models.textgan.config import TextGANConfig
from genlab.models.transformer.config import TransformerConfig
from genlab.models.transformer.network import TransformerNet
from genlab.nn.attention import AttentionBlocks


class LSTMGenerator(nn.Module):
    def __init__(self, c: TextGANConfig, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size + 1, c.embed_dim)  # + the start symbol
        self.lstm = nn.LSTM(c.embed_dim, c.hidden_dim, c.layers, batch_first=True)
        self.head = nn.Linear(c.hidden_dim, vocab_size)

    def new_state(self, batch: int) -> Any:
        return None  # zeros

    def forward(self, inputs: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Input ids (B, T) after ``state`` → (logits (B, T, V), state after them)."""
        hidden, state = self.lstm(self.embedding(inputs), state)
        return self.head(hidden), state


class TransformerGenerator(nn.Module):
    def __init__(self, c: TextGANConfig, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        net_config = TransformerConfig(context=c.seq_len, layers=c.layers, heads=c.heads, width=c.hidden_dim)
        self.net = TransformerNet(net_config, vocab_size + 1)  # + the start symbol

    def new_state(self, batch: int) -> Any:
        return self.net.new_caches(batch)

    def forward(self, inputs: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Input ids (B, T) after the cached positions of ``state`` → (logits (B, T, V), state)."""
        return self.net(inputs, state)[..., :self.vocab_size], state


def build_generator(c: TextGANConfig, vocab_size: int) -> nn.Module:
    return (TransformerGenerator if c.generator == "transformer" else LSTMGenerator)(c, vocab_size)


class TokenEmbedding(nn.Embedding):
    """Ids (B, T) → their rows (B, T, E); distributions (B, T, V) → their mixtures of rows."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight if x.is_floating_point() else super().forward(x)


class CNNDiscriminator(nn.Module):
    def __init__(self, c: TextGANConfig, vocab_size: int) -> None:
        super().__init__()
        self.embedding = TokenEmbedding(vocab_size, c.d_embed_dim)
        self.convolutions = nn.ModuleList([nn.Conv1d(c.d_embed_dim, c.d_filters, w) for w in c.d_widths])
        features = c.d_filters * len(c.d_widths)
        self.highway = nn.Linear(features, 2 * features)  # transform and gate halves
        self.dropout = nn.Dropout(c.d_dropout)
        self.head = nn.Linear(features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embedding(x).transpose(1, 2)  # (B, E, T)
        h = torch.cat([conv(e).relu().amax(dim=-1) for conv in self.convolutions], dim=-1)  # (B, F·widths)
        transform, gate = self.highway(h).chunk(2, dim=-1)
        gate = gate.sigmoid()
        h = gate * transform.relu() + (1 - gate) * h
        return self.head(self.dropout(h))[:, 0]


class RNNDiscriminator(nn.Module):
    def __init__(self, c: TextGANConfig, vocab_size: int) -> None:
        super().__init__()
        self.embedding = TokenEmbedding(vocab_size, c.d_embed_dim)
        self.rnn = nn.GRU(c.d_embed_dim, c.d_hidden_dim, c.layers, batch_first=True)
        self.dropout = nn.Dropout(c.d_dropout)
        self.head = nn.Linear(c.d_hidden_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embedding(x))
        return self.head(self.dropout(hidden[:, -1]))[:, 0]


class AttentionDiscriminator(nn.Module):
    def __init__(self, c: TextGANConfig, vocab_size: int) -> None:
        super().__init__()
        self.embedding = TokenEmbedding(vocab_size, c.d_hidden_dim)
        self.positions = nn.Parameter(torch.zeros(c.seq_len, c.d_hidden_dim))
        self.blocks = AttentionBlocks(c.d_hidden_dim, c.layers, c.heads, causal=False)
        self.norm = nn.LayerNorm(c.d_hidden_dim)
        self.dropout = nn.Dropout(c.d_dropout)
        self.head = nn.Linear(c.d_hidden_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.embedding(x) + self.positions[:x.shape[1]])
        return self.head(self.dropout(self.norm(h).mean(dim=1)))[:, 0]


def build_discriminator(c: TextGANConfig, vocab_size: int) -> nn.Module:
    kinds = {"cnn": CNNDiscriminator, "rnn": RNNDiscriminator, "attention": AttentionDiscriminator}
    return kinds[c.discriminator](c, vocab_size)
