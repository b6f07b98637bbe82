"""``genlab generate``: continue a prompt with a text model, streamed to stdout.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from genlab.config import check_seed
from genlab.errors import ConfigError, out_of_memory_as

if TYPE_CHECKING:  # for annotations only: torch and the models load when a command runs, not for --help
    import torch


def generation_memory_guard(num_samples: int, max_new_tokens: int):
    """An allocation that fails while generating is one sentence naming the options that size it."""
    if num_samples == 1:
        return out_of_memory_as(f"A continuation of --max-new-tokens {max_new_tokens} tokens does not fit in memory; "
                                "lower it.")
    return out_of_memory_as(f"--num-samples {num_samples} continuations of --max-new-tokens {max_new_tokens} tokens "
                            "do not fit in memory; generate fewer or shorter ones (several calls with different "
                            "--seed values give more).")


def cmd_generate(args: argparse.Namespace) -> int:
    import torch

    from genlab.sampling import load_model
    from genlab.train.device import resolve_device

    check_decoding_options(args)
    model = load_model(args.model, device=resolve_device(args.device, "--device"))
    if not hasattr(model, "tokenizer"):
        raise ConfigError(f"'genlab generate' needs a text model; {args.model} holds a {model.family}/{model.name} "
                          "model — use 'genlab sample' for it.")
    if args.no_cache and model.family != "transformer":
        raise ConfigError(f"--no-cache is for the transformer family's key-value cache; {model.family}/{model.name} "
                          "has none, so drop it.")
    # A terminal or file whose encoding lacks a character (a byte model's U+FFFD for broken bytes, on
    # a Latin-1 or Windows console) gets a replacement mark, not a traceback halfway through the text.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    # A textgan model generates every token in model.generate, a transformer allocates the whole
    # sequence at its first step: both happen under the guard, before anything is written. A single
    # continuation streams; what it allocates later (a transformer's caches, rebuilt when its window
    # slides) is under the guard too.
    with generation_memory_guard(args.num_samples, args.max_new_tokens):
        steps = model.generate(args.prompt, args.num_samples, args.max_new_tokens, temperature=args.temperature,
                               top_k=args.top_k, top_p=args.top_p, generator=torch.Generator().manual_seed(args.seed),
                               use_cache=not args.no_cache)
        if args.num_samples == 1:
            stream_continuation(model.tokenizer, args.prompt, steps)
            return 0
        rows = torch.stack(list(steps), dim=1).tolist()  # (num_samples, tokens generated)
    for i, row in enumerate(rows):
        text = model.tokenizer.join(args.prompt, model.tokenizer.decode(row))
        sys.stdout.write(f"--- sample {i + 1} ---\n{text}\n")
    return 0


def check_decoding_options(args: argparse.Namespace) -> None:
    """Refuse decoding options out of range, and --top-k/--top-p where greedy decoding ignores them."""
    if not 0 <= args.temperature < float("inf"):  # NaN too
        raise ConfigError(f"--temperature must be a finite number of at least 0 (got {args.temperature}); 1 samples "
                          "the model's own distribution, 0 decodes greedily.")
    for option, value, low in (("--max-new-tokens", args.max_new_tokens, 1), ("--num-samples", args.num_samples, 1),
                               ("--top-k", args.top_k, 1)):
        if value is not None and not value >= low:
            raise ConfigError(f"{option} must be at least {low} (got {value}).")
    check_seed(args.seed)
    try:
        args.prompt.encode("utf-8")
    except UnicodeEncodeError:  # bytes the terminal's encoding could not decode arrive as lone surrogates
        raise ConfigError("--prompt is not valid UTF-8 text; pass the prompt as UTF-8.") from None
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise ConfigError(f"--top-p must lie in (0, 1] (got {args.top_p}).")
    for flag, value in (("--top-k", args.top_k), ("--top-p", args.top_p)):
        if args.temperature == 0 and value is not None:  # greedy decoding takes the top token whatever they keep
            raise ConfigError(f"{flag} has no effect at --temperature 0, which always takes the most likely token; "
                              "drop it, or sample at a temperature above 0.")


def stream_continuation(tokenizer: Any, prompt: str, steps: Iterator[torch.Tensor]) -> None:
    """Write ``prompt`` and then each generated token (``steps``: one (1,) tensor per token) as it comes."""
    first = next(steps, None)  # the first token is drawn before the prompt is written: a refusal leaves no output
    decode = tokenizer.stream_decoder(prompt)
    sys.stdout.write(prompt)
    for token in itertools.chain([] if first is None else [first], steps):
        sys.stdout.write(decode(int(token[0])))
        sys.stdout.flush()
    sys.stdout.write(decode(None) + "\n")  # what the decoder held back: a character cut off at the end
