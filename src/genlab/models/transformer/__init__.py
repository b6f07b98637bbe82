"""Transformer family: a decoder-only self-attention text generator with KV-cache decoding."""

from __future__ import annotations

import dataclasses

import torch

from genlab.data.text import TextDataConfig, TokenWindows, read_text, split_text
from genlab.errors import DataError
from genlab.models.registry import Family
from genlab.models.transformer.config import TransformerConfig
from genlab.models.transformer.model import Transformer
from genlab.tokenizers import WORD_UNKNOWN_ID, build_tokenizer, load_tokenizer

__all__ = ["FAMILY", "Transformer", "TransformerConfig"]


def build_text_data(data: TextDataConfig, model: TransformerConfig) -> tuple[TokenWindows, TransformerConfig]:
    """Windows of the training split, and the vocabulary unless the config already holds one (a
    resumed run). A word vocabulary is built from the training split only: which words it keeps
    (``max_words``, by frequency) must not depend on the held-out text, whose other words are then
    ``<unk>``, counted by 'genlab eval'. A character vocabulary is built from the whole text, as the
    char tokenizer has no ``<unk>``: the held-out text's characters are symbols the model never
    trained on, but evaluating it does not fail."""
    model.check_training()
    text, source = read_text(data.path)
    given = model.vocab is not None  # a resumed run's, or one taken over with another run's config.json
    train_text, _ = split_text(text, data.validation_fraction)
    if model.vocab is None and model.tokenizer != "byte":
        vocab_text = train_text if model.tokenizer == "word" else text
        model = dataclasses.replace(model, vocab=build_tokenizer(model.tokenizer, vocab_text, model.max_words).vocab)
    model = dataclasses.replace(model, held_out_fraction=data.validation_fraction)  # what genlab eval scores
    tokenizer = load_tokenizer(model.tokenizer, model.vocab or [])
    try:
        ids = torch.from_numpy(tokenizer.encode(train_text, source=source))
    except DataError:
        if not given:
            raise
        known = set(model.vocab)
        lacking = next((char for char in train_text if char not in known), "")
        raise DataError(f"{source} holds the character {lacking!r}, which the vocabulary that came with the config "
                        "lacks (the resumed run's, or that of the run whose config.json was given); resume on the "
                        "text it was built from, or start a new run from a config without model.vocab.") from None
    # A word vocabulary given with the config (another run's config.json) may not know this text's words.
    unknown = int((ids == WORD_UNKNOWN_ID).sum()) if model.tokenizer == "word" else 0
    unknown_note = f", {unknown:,} of them <unk> (words outside the vocabulary)" if unknown else ""
    description = (f"{source}: {ids.numel():,} training tokens ({model.tokenizer}-level, "
                   f"{tokenizer.vocab_size} symbols{unknown_note}), first {1 - data.validation_fraction:.0%} of the "
                   "text")
    return TokenWindows(ids, model.context, description), model


FAMILY = Family(
    name="transformer",
    description="decoder-only self-attention text generator (char, byte or word tokens; KV-cache decoding)",
    models={"transformer": Transformer},
    default_model="transformer",
    data_config=TextDataConfig,
    build_data=build_text_data,
)
