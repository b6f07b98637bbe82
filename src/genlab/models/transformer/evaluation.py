"""Held-out loss of a transformer: mean next-token cross-entropy, perplexity, bits per character.

Protocol: the held-out text — the last fraction of the characters, of the embedded tiny
Shakespeare or of ``--data``, that training held out (``--data.validation_fraction``, 10% by
default) — is tokenized and cut into consecutive windows of ``context + 1`` tokens that overlap
by one token, so every token after the first is predicted exactly once, from the tokens before
it in its window (between 1 and context of them). No sampling is involved: the result is
deterministic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from genlab.data.provenance import training_data_section
from genlab.data.text import read_text, refuse_embedded_text_for_other_training, split_text
from genlab.errors import ConfigError, DataError, GenlabError
from genlab.models.base import EvalOptions, evaluating
from genlab.tokenizers import WORD_UNKNOWN_ID, ByteTokenizer


@torch.no_grad()
def held_out_loss(net, ids: torch.Tensor, batch_size: int, max_windows: int | None = None) -> tuple[float, int]:
    """(summed cross-entropy in nats, number of predicted tokens) over the windows of ids (N,)."""
    context, n = net.context, ids.numel()
    starts = list(range(0, n - 1, context))[:max_windows]
    full = [s for s in starts if s + context + 1 <= n]
    tail = starts[len(full):]  # the last window may be shorter
    groups = [full[i:i + batch_size] for i in range(0, len(full), batch_size)] + ([tail] if tail else [])
    total, count = 0.0, 0
    for group in groups:
        size = min(context + 1, n - group[0])
        windows = torch.stack([ids[s:s + size] for s in group]).to(net.head.weight.device)  # (b, T + 1)
        logits = net(windows[:, :-1])  # (b, T, V)
        total += F.cross_entropy(logits.flatten(0, 1).float(), windows[:, 1:].flatten(), reduction="sum").item()
        count += windows[:, 1:].numel()
    return total, count


def evaluate_text(model, options: EvalOptions) -> dict[str, Any]:
    if options.is_given("seed"):  # it would be ignored
        raise ConfigError("--seed is not used: this evaluation samples nothing, so its result is the same for "
                          "every seed; drop it.")
    fraction = model.config.held_out_fraction
    if options.data is None:
        refuse_embedded_text_for_other_training(model, f"pass that text with --data (its last {fraction * 100:.4g}%, "
                                                       "held out in training, is what is scored)")
    text, source = read_text(options.data, options.data_flag)
    _, held_out = split_text(text, fraction)
    try:
        ids = torch.from_numpy(model.tokenizer.encode(held_out, source=f"the held-out text of {source}"))
    except DataError:
        if options.data is not None:
            raise
        # Without --data the default text is tiny Shakespeare, which a model trained on other text
        # need not cover: the fix is --data, not a different tokenizer.
        raise DataError(f"This model's {model.tokenizer.vocab_size}-symbol vocabulary does not cover {source}, the "
                        "text 'genlab eval' uses without --data; pass --data with the text the model was "
                        "trained on.") from None
    if ids.numel() < 2:
        raise DataError(f"The held-out text of {source} has fewer than 2 tokens; evaluate on more text.")
    with evaluating(model):
        nats, tokens = held_out_loss(model.net, ids, options.batch_size, options.max_examples)
    characters, size = predicted_text_size(model.tokenizer, held_out, tokens)
    loss = nats / tokens
    split, warning = describe_split(model, held_out, fraction)
    protocol = {
        "data": source,
        "split": split,
        "tokenizer": f"{model.config.tokenizer}-level, {model.tokenizer.vocab_size} symbols",
        "predicted_tokens": tokens,
        "characters": characters,
        "bytes": size,
        "windows": f"consecutive windows of context {model.config.context} + 1 tokens, overlapping by one"
                   + (f"; the first {options.max_examples:,} of them (--max-examples)"
                      if options.max_examples is not None else ""),
    }
    if model.config.tokenizer == "word":  # <unk> is one symbol for many words: per-token scores flatter
        protocol["unknown_tokens"] = int((ids[1:tokens + 1] == WORD_UNKNOWN_ID).sum())
        protocol["perplexity"] = ("exp(loss) per token, and the word tokenizer's tokens include runs of whitespace "
                                  "and punctuation marks: lower than a perplexity per word")
    per_text = True  # bits per character and per byte: what the model pays for the text itself
    if protocol.get("unknown_tokens"):
        # An <unk> stands for a whole word at the price of one symbol: the smaller the vocabulary, the
        # cheaper the text would look (an untrained 3-word model scored 0.68 bits per character).
        per_text = False
        protocol["bits_per_character"] = (f"not reported: {protocol['unknown_tokens']:,} of the scored tokens are "
                                          "<unk>, each a whole word for the price of one symbol; a larger "
                                          "--model.max_words leaves fewer")
    if warning:
        protocol["warning"] = warning
    return {
        "loss": loss,
        "perplexity": math.exp(loss),
        "bits_per_token": loss / math.log(2),
        "bits_per_character": nats / math.log(2) / characters if characters and per_text else None,
        "bits_per_byte": nats / math.log(2) / size if per_text else None,
        "protocol": protocol,
    }


OVERLAP_PIECE = 256  # characters: the scored text is compared with the training text in pieces of this size


def describe_split(model, held_out: str, fraction: float) -> tuple[str, str | None]:
    """What the scored text (the last ``fraction`` of the evaluated text) is to ``model``: the part its
    training held out, or other text (its run's training text is read again to tell); and a warning
    when pieces of it are text the model trained on."""
    split = f"last {fraction * 100:.4g}% of the characters"
    section = training_data_section(model.loaded_from) if model.loaded_from is not None else None
    if section is None:  # an export without its run: what it trained on is not recorded beside it
        return split, None
    try:
        trained_on, _ = read_text(section.get("path"), "--data")
    except (GenlabError, OSError):
        return f"{split} (the model's training text could not be read again to compare)", None
    trained_part, held_back = split_text(trained_on, fraction)
    if held_out == held_back:
        return f"{split} (held out in training)", None
    pieces = [held_out[i:i + OVERLAP_PIECE] for i in range(0, len(held_out) - OVERLAP_PIECE + 1, OVERLAP_PIECE)]
    seen = sum(piece in trained_part for piece in pieces or [held_out])
    if not seen:
        return f"{split} (another text than the one the model trained on)", None
    return (f"{split} (not the part training held out)",
            f"{seen} of the {len(pieces or [held_out])} {OVERLAP_PIECE}-character pieces of the scored text are in "
            "the text the model trained on: the loss shows fit to the training text, not generalisation; pass the "
            "training file itself (its held-out part is scored) or text the model never saw with --data")


def predicted_text_size(tokenizer, text: str, tokens: int) -> tuple[int, int]:
    """(characters, UTF-8 bytes) of the text behind tokens 1..``tokens`` of ``text``, the ones predicted.

    Measured on the text, not on decoded ids: a word model's ``<unk>`` decodes to five characters
    whatever word it stands for, and a byte model's ids may begin inside a character.
    """
    if isinstance(tokenizer, ByteTokenizer):
        predicted = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)[1:tokens + 1]
        return int(np.count_nonzero((predicted & 0xC0) != 0x80)), len(predicted)  # characters begun in them
    predicted = "".join(tokenizer.pieces(text)[1:tokens + 1])
    return len(predicted), len(predicted.encode("utf-8"))
