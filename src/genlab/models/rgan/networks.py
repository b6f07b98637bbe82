"""The recurrent players: a generator fed its own previous output, and a recurrent discriminator.

Generator (C-RNN-GAN): at step t the recurrent stack reads [z_t, x_{t-1}, e(y)] — noise z_t ~ N(0, I)
(fresh at every step, or with ``noise`` "sequence" one draw per sequence, or both side by side), its
own previous output (zeros at t = 0) and, when conditional, a learned label
embedding — and emits x_t = σ(W h_t), in [0, 1] like the scaled data. Without ``feedback`` (the
RCGAN generator) it reads [z_t, e(y)] only, so the whole sequence is one call of the recurrent
stack instead of T. With attention layers, the hidden states of the whole sequence then pass
through causal self-attention blocks (step t sees steps ≤ t) before the same read-out gives the
final outputs; the step-by-step feedback stays the recurrent read-out, so generation remains one
pass.

Discriminator: a (optionally bidirectional) recurrent stack over [x_t, s_t, e(y)] — s_t, with
``minibatch_std``, the batch's spread at step t, and with ``differences`` Δx_t = x_t − x_{t−1}
(0 at t = 0) — optional non-causal self-attention blocks, and a linear head giving a logit per
step (B, T) — the losses average over steps, as C-RNN-GAN does — or one logit per sequence (B, 1)
from the last forward and first backward states.

Variable lengths: the discriminator takes ``lengths`` (B,) and packs its input, so its recurrence
reads only the valid steps (both directions) and its padded states are zero; the sequence logit
comes from the last *valid* forward state. The losses then average per-step logits over valid
steps only (``RecurrentGAN.counted_logits``; TimeGAN's losses use :func:`valid_mean`). The
generator and TimeGAN's networks are causal (unidirectional recurrence, causal attention), so a
valid step never sees a later padded one: they run on all T steps and the padded outputs are
dropped. Attention blocks in the discriminator leave the padded
positions out of their keys.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from genlab.data.sequences import length_mask
from genlab.models.rgan.config import RGANConfig
from genlab.nn.attention import AttentionBlocks

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


class LabelEmbedding(nn.Module):
    """Labels (B,) → embeddings repeated over ``steps``, (B, steps, label_dim); nothing when unconditional."""

    def __init__(self, num_classes: int, label_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_classes, label_dim) if num_classes else None
        self.dim = label_dim if num_classes else 0

    def forward(self, labels: torch.Tensor | None, steps: int) -> torch.Tensor | None:
        if self.embedding is None:
            return None
        return self.embedding(labels)[:, None].expand(-1, steps, -1)


class RecurrentGenerator(nn.Module):
    def __init__(self, config: RGANConfig, num_classes: int) -> None:
        super().__init__()
        c = config
        self.label = LabelEmbedding(num_classes, c.label_dim)
        dynamic = c.features - c.static_features
        # Static features: drawn once per sequence by an MLP from the first step's noise (and the
        # label: a class's attributes may differ from another's), then an input of every step (like
        # a label) and the last features of every step's output.
        noise_width = sum(c.noise_widths)
        self.static = nn.Sequential(nn.Linear(noise_width + self.label.dim, c.hidden_dim), nn.ReLU(),
                                    nn.Linear(c.hidden_dim, c.static_features), nn.Sigmoid()) \
            if c.static_features else None
        self.feedback = c.feedback
        self.rnn = CELLS[c.cell](noise_width + dynamic * c.feedback + self.label.dim + c.static_features, c.hidden_dim,
                                 c.layers, batch_first=True)
        self.attention = AttentionBlocks(c.hidden_dim, c.attention_layers, c.attention_heads, causal=True)
        self.out = nn.Linear(c.hidden_dim, dynamic)
        # [0, 1] like the scaled data; whitened coordinates (--model.whiten) are unbounded
        self.squash = nn.Identity() if c.whiten else nn.Sigmoid()

    def forward(self, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Noise (B, T, sum of noise_widths) → sequences (B, T, F) in [0, 1] (whitened coordinates
        with ``whiten``)."""
        steps = noise.shape[1]
        label = self.label(labels, 1)  # (B, 1, label_dim) or None
        static = None if self.static is None else \
            self.static(noise[:, :1] if label is None else torch.cat([noise[:, :1], label], dim=-1))  # (B, 1, S)
        conditions = [part for part in (label, static) if part is not None]  # each (B, 1, ·)
        if self.feedback:
            generated = self.fed_back(noise, conditions)
        else:  # the whole sequence in one call
            inputs = torch.cat([noise, *(part.expand(-1, steps, -1) for part in conditions)], dim=-1)
            generated = self.squash(self.out(self.attention(self.rnn(inputs)[0])))
        return generated if static is None else torch.cat([generated, static.expand(-1, steps, -1)], dim=-1)

    def fed_back(self, noise: torch.Tensor, conditions: list[torch.Tensor]) -> torch.Tensor:
        """The recurrence step by step, each output an input of the next step → (B, T, F - S)."""
        batch, steps, _ = noise.shape
        previous = noise.new_zeros(batch, 1, self.out.out_features)
        state, hidden, outputs = None, [], []
        for t in range(steps):
            h, state = self.rnn(torch.cat([noise[:, t:t + 1], previous, *conditions], dim=-1), state)  # (B, 1, H)
            previous = self.squash(self.out(h))  # (B, 1, F - S), the next step's input
            hidden.append(h)
            outputs.append(previous)
        if self.attention.attentions:
            return self.squash(self.out(self.attention(torch.cat(hidden, dim=1))))
        return torch.cat(outputs, dim=1)


class RecurrentDiscriminator(nn.Module):
    def __init__(self, config: RGANConfig, num_classes: int) -> None:
        super().__init__()
        c = config
        self.per_step = c.logits == "per_step"
        self.minibatch_std, self.differences = c.minibatch_std, c.differences
        # Under a Sobolev penalty of weight s > 1 the differences are read at the norm's scale (s·Δx), so
        # that a unit weight on them spends about the slope the norm allows them.
        self.difference_scale = max(c.sobolev, 1.0)
        self.label = LabelEmbedding(num_classes, c.label_dim)
        inputs = c.features * (1 + c.differences) + c.minibatch_std + self.label.dim
        self.rnn = CELLS[c.cell](inputs, c.hidden_dim, c.layers, batch_first=True, bidirectional=c.bidirectional)
        self.hidden_dim = c.hidden_dim
        width = c.hidden_dim * (2 if c.bidirectional else 1)
        self.attention = AttentionBlocks(width, c.attention_layers, c.attention_heads, causal=False)
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Sequences (B, T, F), valid ``lengths`` (B,) or None (all T) → logits (B, T) per step (those at
        padded steps are meaningless; ``RecurrentGAN.counted_logits`` drops them), or (B, 1) per sequence."""
        steps = x.shape[1]
        extra = [part for part in (self.difference_scale * torch.diff(x, dim=1, prepend=x[:, :1])
                                   if self.differences else None,
                                   self.batch_spread(x, lengths) if self.minibatch_std else None,
                                   self.label(labels, steps)) if part is not None]
        inputs = torch.cat([x, *extra], dim=-1)
        if lengths is None:
            h, _ = self.rnn(inputs)  # (B, T, H·directions)
        else:
            packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=steps)  # zeros after
        h = self.attention(h, length_mask(lengths, steps) if lengths is not None else None)
        if self.per_step:
            return self.head(h).squeeze(-1)
        # The forward direction has read the whole sequence at its last valid step, the backward one at the first.
        last = h[:, -1] if lengths is None else h[torch.arange(len(h), device=h.device), lengths - 1]
        final = last if not self.rnn.bidirectional else torch.cat(
            [last[:, :self.hidden_dim], h[:, 0, self.hidden_dim:]], dim=-1)
        return self.head(final)

    @staticmethod
    def batch_spread(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """The batch's standard deviation at each step, averaged over features, for every sequence
        (B, T, 1); with ``lengths``, over the sequences still valid at that step (0 where fewer than two)."""
        if lengths is None:
            valid = x.new_ones(x.shape[0], x.shape[1], 1)
        else:
            valid = length_mask(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        count = valid.sum(dim=0)  # (T, 1)
        mean = (x * valid).sum(dim=0) / count.clamp_min(1)
        variance = (((x - mean) * valid) ** 2).sum(dim=0) / count.clamp_min(1)
        # The 1e-8 keeps the gradient finite when the fakes coincide, the case this feature is for.
        spread = torch.where(count > 1, (variance + 1e-8).sqrt(), 0.0).mean(dim=-1)  # (T,)
        return spread.expand(len(x), -1).unsqueeze(-1)


class RecurrentMap(nn.Module):
    """A recurrent stack and a per-step read-out: (B, T, inputs) → activation(W h_t), (B, T, outputs).

    The building block of TimeGAN's five networks (embedder, recovery, generator, supervisor,
    discriminator), which differ only in their sizes and read-out activation.
    """

    def __init__(self, inputs: int, outputs: int, hidden: int, layers: int, cell: str,
                 activation: str | None = "sigmoid") -> None:
        super().__init__()
        self.rnn = CELLS[cell](inputs, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, outputs)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.out(self.rnn(x)[0])
        return torch.sigmoid(y) if self.activation == "sigmoid" else y


def valid_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``values`` (B, T, ...) over the valid steps (``mask`` (B, T) True); over all when ``mask`` is None.

    Selecting rather than multiplying by the mask keeps whatever the padded entries hold out of
    the result and its gradient.
    """
    return values.mean() if mask is None else values[mask].mean()


def noise_like(batch: int, steps: int, dim: int, device: torch.device, generator: torch.Generator | None = None,
               draw=torch.randn) -> torch.Tensor:
    """Noise (batch, steps, dim) from ``draw`` (N(0, I); ``torch.rand``: U(0, 1)). With a (CPU)
    generator it is drawn on the CPU, so a seed gives the same noise on every device, and step by
    step, so a longer draw begins with the same noise as a shorter one (``genlab sample --long``
    starts like the window of the same seed)."""
    if generator is None:
        return draw(batch, steps, dim, device=device)
    noise = torch.empty(batch, steps, dim)  # all at once, so too long a draw fails here, not after filling memory
    for t in range(steps):
        noise[:, t] = draw(batch, dim, generator=generator)
    return noise.to(device)

