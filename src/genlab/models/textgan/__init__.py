"""textgan family: adversarial text generation — an LSTM or transformer generator trained by
maximum likelihood (``mle``), then by policy gradient (``seqgan``) or through the Gumbel-softmax
relaxation (``relgan``) against a CNN, RNN or self-attention discriminator."""

from __future__ import annotations

import dataclasses

import torch

from genlab.data.sentences import (SentenceDataConfig, SentenceDataset, encode_sentences, is_token_file, read_lines,
                                   read_token_ids)
from genlab.errors import ConfigError, DataError
from genlab.models.registry import Family
from genlab.models.textgan.config import MLEConfig, RelGANConfig, SeqGANConfig, TextGANConfig
from genlab.models.textgan.model import MODELS, RelGAN, SeqGAN, TextGAN
from genlab.tokenizers import SENTENCE_UNKNOWN_ID, SentenceTokenizer

MAX_VOCABULARY = 1 << 20  # ids taken from data: a larger vocabulary is almost surely unnumbered ids

__all__ = ["FAMILY", "MLEConfig", "RelGAN", "RelGANConfig", "SeqGAN", "SeqGANConfig", "TextGAN", "TextGANConfig"]


def build_sentence_data(data: SentenceDataConfig, model: TextGANConfig) -> tuple[SentenceDataset, TextGANConfig]:
    """Fixed-length training sequences; split, vocabulary and seq_len default to the data's. A
    config that already holds a vocabulary (a resumed run) keeps it."""
    if is_token_file(data.path):
        if model.split not in (None, "ids"):
            raise ConfigError(f"{data.path} holds token ids, but --model.split is {model.split}; drop --model.split.")
        tokens = read_token_ids(data.path)
        if model.vocab_size is None and tokens.max() >= MAX_VOCABULARY:
            raise DataError(f"{data.path} holds token id {tokens.max()}: a vocabulary of more than "
                            f"{MAX_VOCABULARY:,} ids is refused; renumber the ids to 0..V-1, e.g. with "
                            "np.unique(tokens, return_inverse=True).")
        vocab_size = model.vocab_size or int(tokens.max()) + 1
        if tokens.max() >= vocab_size:
            raise DataError(f"{data.path} holds token id {tokens.max()}, outside --model.vocab_size {vocab_size}.")
        seq_len = model.seq_len or tokens.shape[1]
        if seq_len != tokens.shape[1]:
            raise ConfigError(f"--model.seq_len {seq_len} differs from the length {tokens.shape[1]} of the sequences "
                              f"in {data.path}; drop --model.seq_len.")
        model = dataclasses.replace(model, split="ids", vocab_size=vocab_size, seq_len=seq_len)
        model.validate()
        description = f"{data.path}: {tokens.shape[0]:,} sequences of {seq_len} token ids, vocabulary {vocab_size}"
        return SentenceDataset(torch.from_numpy(tokens), description), model
    if model.split == "ids":
        raise ConfigError("--model.split ids needs an .npz of token ids as --data.path; use word or char for text.")
    lines, source = read_lines(data.path)
    split = model.split or "word"
    if model.vocab is None:
        tokenizer = SentenceTokenizer.from_lines(lines, split, model.max_words)
    else:
        tokenizer = SentenceTokenizer(model.vocab, split)
    longest = max(len(tokenizer.pieces(line)) for line in lines)
    seq_len = model.seq_len or longest + 1
    model = dataclasses.replace(model, split=split, vocab=tokenizer.vocab, seq_len=seq_len)
    model.validate()
    tokens, cut = encode_sentences(tokenizer, lines, seq_len)
    unknown = int((tokens == SENTENCE_UNKNOWN_ID).sum())
    description = (f"{source}: {len(lines):,} sentences, {split}-level, {tokenizer.vocab_size:,} symbols, "
                   f"{seq_len} tokens each with <eos> padding"
                   + (f"; {cut:,} sentences cut to fit (or left without <eos>)" if cut else "")
                   + (f"; {unknown:,} tokens outside the vocabulary became <unk>" if unknown else ""))
    return SentenceDataset(tokens, description), model


FAMILY = Family(
    name="textgan",
    description="adversarial text generation: mle (baseline), seqgan (policy gradient), relgan (Gumbel-softmax); "
                "LSTM or transformer generator; BLEU, self-BLEU and NLL with 'genlab eval RUN --data REFS'",
    models=MODELS,
    default_model="relgan",
    data_config=SentenceDataConfig,
    build_data=build_sentence_data,
)
