"""SeqGAN's oracle: the fixed random LSTM behind the synthetic-data benchmark and its NLL-oracle score.

SeqGAN (LantaoYu/SeqGAN ``target_lstm.py`` with ``save/target_params.pkl``), LeakGAN, Texygen and
RelGAN all use the same oracle: its samples are the training data, and a generator is scored by
NLL-oracle, the mean per-token negative log-likelihood of the generator's samples under the oracle
(nats; the oracle's own samples score 5.750 in RelGAN's Table 1, "Real").

The cell acts on row vectors, as in the TensorFlow code:

    i = σ(x Wi + h Ui + bi)        f = σ(x Wf + h Uf + bf)
    o = σ(x Wog + h Uog + bog)     c̃ = tanh(x Wc + h Uc + bc)
    c' = f·c + i·c̃                  h' = o·tanh(c')                logits = h' Wo + bo

with h0 = c0 = 0. The input at step 0 is the embedding of token 0, the start token, which is also an
ordinary vocabulary id that the oracle can emit; the input at step t is the token of step t - 1.
Sampling draws each token from softmax(logits), temperature 1. Vocabulary 5000, embedding and
hidden size 32 in the published parameters; the sizes are read from the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from genlab import fileio
from genlab.data.npz import load_npz_arrays
from genlab.errors import DataError
from genlab.nn.discrete import categorical_sample

# (W, U, b) of the input, forget and output gates and the candidate cell: the npz's order and ours.
GATE_KEYS = (("01_Wi", "02_Ui", "03_bi"), ("04_Wf", "05_Uf", "06_bf"), ("07_Wog", "08_Uog", "09_bog"),
             ("10_Wc", "11_Uc", "12_bc"))
NPZ_KEYS = ("00_g_embeddings", *(key for gate in GATE_KEYS for key in gate), "13_Wo", "14_bo")


class OracleLSTM(nn.Module):
    """The oracle with fixed parameters (buffers: nothing to train, moved by ``.to()``).

    ``embedding`` (V, E); ``input_weight`` (E, 4H), ``recurrent_weight`` (H, 4H) and ``bias`` (4H,)
    hold the four gates side by side in the order i, f, o, c̃ (one matrix product per step for all
    four); ``output_weight`` (H, V), ``output_bias`` (V,).
    """

    start_token = 0

    def __init__(self, embedding: torch.Tensor, input_weight: torch.Tensor, recurrent_weight: torch.Tensor,
                 bias: torch.Tensor, output_weight: torch.Tensor, output_bias: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("embedding", embedding)
        self.register_buffer("input_weight", input_weight)
        self.register_buffer("recurrent_weight", recurrent_weight)
        self.register_buffer("bias", bias)
        self.register_buffer("output_weight", output_weight)
        self.register_buffer("output_bias", output_bias)
        self.vocab_size, self.hidden_dim = embedding.shape[0], recurrent_weight.shape[0]

    @classmethod
    def from_npz(cls, path: str | Path) -> OracleLSTM:
        """Load SeqGAN's parameters from the npz of ``NPZ_KEYS`` (float arrays, shapes checked)."""
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path} {'is a folder' if path.is_dir() else fileio.missing(path)}; pass the SeqGAN "
                            "oracle parameters (seqgan_oracle_lstm_params.npz, converted from SeqGAN's "
                            "save/target_params.pkl).")
        arrays = load_npz_arrays(path, "pass the SeqGAN oracle parameters.")
        missing = [key for key in NPZ_KEYS if key not in arrays]
        if missing:
            raise DataError(f"{path} lacks {len(missing)} of the oracle's {len(NPZ_KEYS)} arrays (first: "
                            f"{missing[0]!r}); pass the SeqGAN oracle parameters file.")
        vocab, embed = _shape(arrays["00_g_embeddings"], 2, path, "00_g_embeddings")
        hidden = _shape(arrays["02_Ui"], 2, path, "02_Ui")[0]
        expected = {"00_g_embeddings": (vocab, embed), "13_Wo": (hidden, vocab), "14_bo": (vocab,)}
        for w, u, b in GATE_KEYS:
            expected |= {w: (embed, hidden), u: (hidden, hidden), b: (hidden,)}
        for key, shape in expected.items():
            if arrays[key].shape != shape or not np.issubdtype(arrays[key].dtype, np.floating):
                raise DataError(f"{path}: '{key}' is {arrays[key].dtype} of shape {arrays[key].shape}, but an oracle "
                                f"with vocabulary {vocab}, embedding {embed} and hidden size {hidden} needs float "
                                f"{shape}; pass the SeqGAN oracle parameters file.")
        tensor = {key: torch.from_numpy(np.ascontiguousarray(arrays[key], dtype=np.float32)) for key in NPZ_KEYS}
        return cls(tensor["00_g_embeddings"],
                   torch.cat([tensor[w] for w, _, _ in GATE_KEYS], dim=1),
                   torch.cat([tensor[u] for _, u, _ in GATE_KEYS], dim=1),
                   torch.cat([tensor[b] for _, _, b in GATE_KEYS]),
                   tensor["13_Wo"], tensor["14_bo"])

    def _projected_inputs(self) -> torch.Tensor:
        """x W + b for every token x of the vocabulary: (V, 4H), so a step only adds h U."""
        return self.embedding @ self.input_weight + self.bias

    def _cell(self, projected_input: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: x W + b (B, 4H) and (h, c) (B, H) each → (h', c')."""
        h, c = state
        gates = projected_input + h @ self.recurrent_weight  # (B, 4H)
        i, f, o, candidate = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(candidate)
        return torch.sigmoid(o) * torch.tanh(c), c

    def _zero_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = self.embedding.new_zeros(batch, self.hidden_dim)
        return zeros, zeros

    @torch.no_grad()
    def sample(self, n: int, seq_len: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` sequences of ``seq_len`` tokens drawn from the oracle → (n, seq_len) int64 ids in [0, V).

        ``generator`` (a CPU generator, on any device) makes the draw reproducible.
        """
        projected = self._projected_inputs()
        tokens = torch.full((n,), self.start_token, dtype=torch.long, device=self.embedding.device)
        state = self._zero_state(n)
        samples = []
        for _ in range(seq_len):
            state = self._cell(projected[tokens], state)
            tokens = categorical_sample(state[0] @ self.output_weight + self.output_bias, generator)
            samples.append(tokens)
        return torch.stack(samples, dim=1) if samples else tokens.new_empty(n, 0)

    @torch.no_grad()
    def nll(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids (n, T) → (n,) mean per-token negative log-likelihood under the oracle, in nats.

        NLL-oracle of a generator is the mean of this over its samples (all sequences of equal T).
        """
        if tokens.dim() != 2 or tokens.shape[1] == 0 or tokens.dtype.is_floating_point:
            raise DataError(f"The oracle scores integer token ids of shape (N, T) with T ≥ 1, got "
                            f"{tokens.dtype} of shape {tuple(tokens.shape)}.")
        if len(tokens) and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise DataError(f"Token ids must lie in 0..{self.vocab_size - 1} (the oracle's vocabulary), got ids "
                            f"from {int(tokens.min())} to {int(tokens.max())}.")
        tokens = tokens.long().to(self.embedding.device)
        start = torch.full_like(tokens[:, :1], self.start_token)
        projected = self._projected_inputs()[torch.cat([start, tokens[:, :-1]], dim=1)]  # (n, T, 4H)
        state = self._zero_state(len(tokens))
        total = self.embedding.new_zeros(len(tokens))
        # One step at a time: the (n, T, V) logits of a whole batch would not fit comfortably in memory.
        for t in range(tokens.shape[1]):
            state = self._cell(projected[:, t], state)
            logits = state[0] @ self.output_weight + self.output_bias  # (n, V)
            total += torch.logsumexp(logits, dim=1) - logits.gather(1, tokens[:, t:t + 1]).squeeze(1)
        return total / tokens.shape[1]


def _shape(array: np.ndarray, ndim: int, path: Path, key: str) -> tuple[int, ...]:
    if array.ndim != ndim:
        raise DataError(f"{path}: '{key}' has shape {array.shape}, but the oracle needs a {ndim}-D array; pass the "
                        "SeqGAN oracle parameters file.")
    return array.shape
