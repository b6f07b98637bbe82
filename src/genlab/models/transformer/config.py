"""The transformer's config: architecture, tokenizer and optimisation in one dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from genlab.config import check_adam_betas, check_non_negative, is_set, refuse_inapplicable
from genlab.errors import ConfigError
from genlab.tokenizers import UNKNOWN

MAX_CONTEXT = 131_072  # tokens; the position tables and attention grow with it


@dataclass
class TransformerConfig:
    # Filled by training from the data config, not an option (genlab.models.rgan.config.RGANConfig.FROM_DATA).
    FROM_DATA: ClassVar[dict[str, str]] = {"held_out_fraction": "--data.validation_fraction"}

    tokenizer: Literal["char", "byte", "word"] = "char"  # how text becomes tokens
    vocab: list[str] | None = None  # char/word symbols in id order; None: built from the training text
    max_words: int = 20000  # word tokenizer: vocabulary size, <unk> included
    context: int = 64  # tokens the model attends over (its trained window)
    layers: int = 4  # transformer blocks
    heads: int = 4  # attention heads of each block (must divide width)
    width: int = 128  # embedding size; the MLP is 4× wider
    dropout: float = 0.0  # dropout rate in every block and on the embeddings (training only)
    # Rotary: the setting measured in benchmarks/transformer_shakespeare.py.
    positions: Literal["learned", "rotary"] = "rotary"
    bias: bool = True  # biases in the linear layers and LayerNorms
    tie_weights: bool = True  # the output layer reuses the token embedding
    # AdamW with decoupled weight decay on the weight matrices only (not on norms, biases, embeddings).
    lr: float = 3e-3  # peak learning rate, reached at the end of the warmup
    min_lr: float = 3e-4  # the cosine schedule decays lr to this
    warmup_steps: int = 100  # linear warmup: step s (from 0) runs at lr · (s + 1) / warmup_steps
    # cosine decay ends here (set it to --train.steps); constant min_lr after; 0: constant lr after the warmup
    decay_steps: int = 2000
    weight_decay: float = 0.1  # AdamW's, on weight matrices only
    betas: tuple[float, float] = (0.9, 0.99)  # AdamW (β1, β2)
    grad_clip: float = 1.0  # clip the global gradient norm to this; 0: off
    grad_accumulation: int = 1  # micro-batches per optimizer step; the batch is split evenly
    preview_tokens: int = 300  # length of the text samples written during training
    # The last fraction of the text that training left out, copied from --data.validation_fraction,
    # so that 'genlab eval' scores exactly the held-out part.
    held_out_fraction: float = 0.1

    def validate(self) -> None:
        for name in ("max_words", "context", "layers", "heads", "width", "grad_accumulation", "preview_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--model.{name} must be at least 1 (got {getattr(self, name)}).")
        if self.context > MAX_CONTEXT:
            raise ConfigError(f"--model.context must be at most {MAX_CONTEXT:,} tokens (got {self.context:,}).")
        if self.width % self.heads:
            raise ConfigError(f"--model.width {self.width} must be divisible by --model.heads {self.heads}.")
        if self.positions == "rotary" and (self.width // self.heads) % 2:
            raise ConfigError(f"Rotary positions need an even head size; width/heads is {self.width // self.heads}.")
        if not 0 < self.held_out_fraction < 1:
            raise ConfigError(f"--model.held_out_fraction must lie strictly between 0 and 1 (got "
                              f"{self.held_out_fraction}); it is set from --data.validation_fraction.")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"--model.dropout must lie in [0, 1) (got {self.dropout}).")
        # min_lr is read only by the decay (a default one above a small lr is no error without it)
        if not 0 < self.lr < math.inf or (self.decay_steps and not 0 <= self.min_lr <= self.lr):
            raise ConfigError(f"--model.lr must be positive and --model.min_lr between 0 and lr "
                              f"(got lr {self.lr}, min_lr {self.min_lr}).")
        check_non_negative(self, "warmup_steps", "decay_steps", "weight_decay", "grad_clip")
        check_adam_betas(self.betas)
        if self.vocab is not None and (not self.vocab or len(set(self.vocab)) != len(self.vocab)):
            raise ConfigError(f"--model.vocab must list distinct symbols, one per token id (got {len(self.vocab)}, "
                              f"{len(set(self.vocab))} distinct); leave it out to build it from the training text.")
        if self.vocab is not None and self.tokenizer == "char" and any(len(symbol) != 1 for symbol in self.vocab):
            raise ConfigError("--model.vocab of the char tokenizer must list single characters; leave it out to "
                              "build it from the training text.")
        if self.vocab is not None and self.tokenizer == "word" and self.vocab[0] != UNKNOWN:
            raise ConfigError(f"--model.vocab of the word tokenizer must start with {UNKNOWN} (a run's vocabulary is "
                              "its --model.tokenizer's: keep that one); leave it out to build it from the training "
                              "text.")
        refuse_inapplicable(self)

    def check_training(self) -> None:
        """Settings a model may hold (one saved with them still loads and samples) but a run should not
        train with."""
        if 0 < self.decay_steps <= self.warmup_steps:  # the rate would fall from lr to min_lr in one step
            raise ConfigError(f"--model.decay_steps {self.decay_steps} ends the cosine decay before "
                              f"--model.warmup_steps {self.warmup_steps} ends the warm-up (both count from step 0); "
                              "pass a decay_steps above the warm-up (or a shorter --model.warmup_steps), or 0 for "
                              "no decay.")

    def inapplicable(self) -> dict[str, str]:
        """Options set where nothing reads them, each with the sentence refusing it (genlab.config)."""
        found: dict[str, str] = {}
        if is_set(self, "max_words") and self.tokenizer != "word":
            keeps = {"char": "every character it sees", "byte": "its 256 byte values"}[self.tokenizer]
            found["max_words"] = (f"--model.max_words caps the word tokenizer's vocabulary, and the {self.tokenizer} "
                                  f"tokenizer keeps {keeps}; drop it, or set --model.tokenizer word.")
        if is_set(self, "vocab") and self.tokenizer == "byte":
            found["vocab"] = "--model.vocab is not used by the byte tokenizer (its 256 symbols are fixed); drop it."
        if is_set(self, "min_lr") and not self.decay_steps:
            found["min_lr"] = ("--model.min_lr is where the cosine decay ends, and --model.decay_steps 0 keeps lr "
                               "constant; set --model.decay_steps too (e.g. to --train.steps), or drop it.")
        return found
