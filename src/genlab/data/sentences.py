"""Sentence data for the textgan family: one sentence per sequence, padded to a fixed length.

Two formats:

- a UTF-8 ``.txt`` file (or a folder of them) with one sentence per line; empty lines are skipped.
  Sentences are split into words and punctuation marks (or characters) by
  :class:`genlab.tokenizers.SentenceTokenizer`, ended by ``<eos>`` and padded with it.
- an ``.npz`` holding ``tokens`` (N, T): pre-tokenised integer ids 0..V-1, all of length T — the
  synthetic-oracle setting, where the ids are the oracle's own.

Without a path, the data is the lines of the embedded tiny Shakespeare: the first 90% of the
non-empty lines train and the last 10% are the held-out references of ``genlab eval``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.data.npz import load_npz_arrays
from genlab.data.text import read_text
from genlab.errors import DataError
from genlab.tokenizers import SENTENCE_EOS_ID, SentenceTokenizer

EMBEDDED_TRAIN_FRACTION = 0.9


@dataclass
class SentenceDataConfig:
    path: str | None = None  # .txt (one sentence per line) or .npz of token ids; None: embedded tiny Shakespeare


def read_lines(path: str | os.PathLike | None, held_out: bool = False,
               option: str = "--data") -> tuple[list[str], str]:
    """The non-empty lines of a text file or folder → (lines, description). Without a path, the
    embedded tiny Shakespeare: its first 90% of lines, or with ``held_out`` its last 10%. Errors
    name ``option``."""
    text, source = read_text(path, option)
    # Split at line ends only: str.splitlines would also split at U+2028, U+0085 and other separators.
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text)]
    lines = [line for line in lines if line]
    if path is None:
        cut = int(len(lines) * EMBEDDED_TRAIN_FRACTION)
        train = f"{EMBEDDED_TRAIN_FRACTION:.0%}"
        held = f"{1 - EMBEDDED_TRAIN_FRACTION:.0%}"
        lines, part = (lines[cut:], f"last {held}") if held_out else (lines[:cut], f"first {train}")
        source = f"{source}, {part} of the lines"
    if not lines:
        raise DataError(f"{path} holds no non-empty lines; use a file with one sentence per line.")
    return lines, source


def read_token_ids(path: str | os.PathLike) -> np.ndarray:
    """``tokens`` (N, T) of an .npz of pre-tokenised ids, checked: integers ≥ 0, N ≥ 1, T ≥ 2."""
    arrays = load_npz_arrays(path, "save the token ids with np.savez(path, tokens=ids).")
    if "tokens" not in arrays:
        raise DataError(f"{path} has no 'tokens' array (it holds {', '.join(map(repr, arrays)) or 'nothing'}); "
                        "save the token ids as np.savez(path, tokens=ids) with ids of shape (N, T).")
    tokens = arrays["tokens"]
    if tokens.ndim != 2 or tokens.shape[0] < 1 or tokens.shape[1] < 2 or tokens.dtype.kind not in "iu":
        raise DataError(f"{path}: 'tokens' must be an integer array of shape (N, T) with T ≥ 2 (got "
                        f"{tokens.dtype} {tokens.shape}).")
    if tokens.min() < 0 or tokens.max() > np.iinfo(np.int64).max:  # uint64 beyond int64 would wrap negative
        raise DataError(f"{path}: 'tokens' holds ids from {tokens.min()} to {tokens.max()}; ids must be 0..V-1.")
    return tokens.astype(np.int64)


def is_token_file(path: str | os.PathLike | None) -> bool:
    return path is not None and Path(path).suffix.lower() == ".npz"


def encode_sentences(tokenizer: SentenceTokenizer, lines: list[str], seq_len: int) -> tuple[torch.Tensor, int]:
    """Sentences → ids (N, seq_len), each ended by ``<eos>`` and padded with it; a sentence of
    ``seq_len`` or more pieces keeps its first ``seq_len`` and no ``<eos>``. Returns (ids, number of
    sentences without their ``<eos>``)."""
    tokens = torch.full((len(lines), seq_len), SENTENCE_EOS_ID, dtype=torch.long)
    cut = 0
    for row, line in enumerate(lines):
        ids = tokenizer.encode(line)[:seq_len]
        cut += len(ids) == seq_len
        tokens[row, :len(ids)] = torch.from_numpy(ids)
    return tokens, cut


class SentenceDataset:
    """Fixed-length token sequences (N, T); a batch is ``{"tokens": (B, T) int64}``."""

    def __init__(self, tokens: torch.Tensor, description: str) -> None:
        self.tokens = tokens
        self.description = description

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def get_batch(self, indices: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
        return {"tokens": self.tokens[indices].to(device, non_blocking=True)}
