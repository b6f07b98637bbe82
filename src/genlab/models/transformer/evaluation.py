"""Held-out loss of a transformer: mean next-token cross-entropy, perplexity, bits per character.

Protocol: the held-out text (the last 10% of the characters of the embedded tiny Shakespeare, or
of ``--data``) is tokenized and cut into consecutive windows of ``context + 1`` tokens that
overlap by one token, so every token after the first is predicted exactly once, from the tokens
before it in its window (between 0 and context - 1 of them). No sampling is involved: the result
is deterministic.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from genlab.data.text import read_text, split_text
from genlab.errors import DataError
from genlab.models.base import EvalOptions

VALIDATION_FRACTION = 0.1


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
    text, source = read_text(options.data)
    _, held_out = split_text(text, VALIDATION_FRACTION)
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
    was_training = model.training
    model.eval()
    try:
        nats, tokens = held_out_loss(model.net, ids, options.batch_size, options.max_examples)
    finally:
        model.train(was_training)
    predicted = model.tokenizer.decode(ids[1:tokens + 1].tolist())
    loss = nats / tokens
    return {
        "loss": loss,
        "perplexity": math.exp(loss),
        "bits_per_token": loss / math.log(2),
        "bits_per_character": nats / math.log(2) / len(predicted),
        "bits_per_byte": nats / math.log(2) / len(predicted.encode("utf-8")),
        "protocol": {
            "data": source,
            "split": f"last {VALIDATION_FRACTION:.0%} of the characters",
            "tokenizer": f"{model.config.tokenizer}-level, {model.tokenizer.vocab_size} symbols",
            "predicted_tokens": tokens,
            "characters": len(predicted),
            "windows": f"consecutive windows of context {model.config.context} + 1 tokens, overlapping by one",
        },
    }
