"""The textgan family's config: tokens, both players, and how the generator is trained.

Named models are presets of it: ``mle`` (maximum likelihood only, the baseline), ``seqgan``
(policy gradient with Monte-Carlo rollouts, Yu et al. 2017) and ``relgan`` (Gumbel-softmax
relaxation with a rising inverse temperature and the relativistic loss, Nie et al. 2019). mle
trains by maximum likelihood throughout; seqgan and relgan are first trained by it for
``pretrain_steps``, then adversarially. ``split``, ``vocab`` (or
``vocab_size``) and ``seq_len`` are filled from the training data. Each preset names its model,
whose options it checks: the others are refused (``mle`` has no discriminator, seqgan no
relaxation, relgan no rollouts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from genlab.config import check_adam_betas, check_learning_rates, check_non_negative, is_set, refuse_inapplicable
from genlab.errors import ConfigError
from genlab.tokenizers import EOS, UNKNOWN

# Options only some models read, with those models; the others refuse them.
MODEL_OPTIONS = (
    (("seqgan", "relgan"), ("discriminator", "d_embed_dim", "d_filters", "d_widths", "d_hidden_dim", "d_dropout",
                            "pretrain_steps", "discriminator_pretrain_steps", "loss", "discriminator_steps",
                            "lr_generator", "lr_discriminator")),  # adversarial training
    (("relgan",), ("max_inverse_temperature", "temperature_steps", "straight_through")),  # the relaxation
    (("seqgan",), ("rollouts",)),  # the policy gradient
)


@dataclass
class TextGANConfig:
    # --- tokens (filled from the data) ---
    split: Literal["word", "char", "ids"] | None = None  # None: word for text, ids for .npz token ids (pre-tokenised)
    vocab: list[str] | None = None  # word/char pieces in id order, <eos> and <unk> first
    vocab_size: int | None = None  # ids data: the number of ids
    max_words: int = 5000  # word/char vocabulary size, <eos> and <unk> included
    seq_len: int | None = None  # tokens per sequence; None: the longest training sentence + 1 (its <eos>)
    # --- generator ---
    generator: Literal["lstm", "transformer"] = "lstm"  # an LSTM or a causal transformer decoder
    embed_dim: int = 32  # LSTM input embedding
    hidden_dim: int = 32  # LSTM state, or the transformer's width
    layers: int = 1  # of the generator, and of the RNN / attention discriminator
    heads: int = 4  # attention heads of the transformer generator and the attention discriminator
    # --- discriminator ---
    discriminator: Literal["cnn", "rnn", "attention"] = "cnn"  # n-gram CNN, GRU or self-attention
    d_embed_dim: int = 64  # token embedding of the CNN / RNN discriminator (attention: d_hidden_dim)
    d_filters: int = 64  # CNN: filters per width
    d_widths: tuple[int, ...] = (2, 3, 4, 5)  # CNN: n-gram widths of the filters
    d_hidden_dim: int = 64  # RNN state / attention width
    d_dropout: float = 0.25  # dropout before the discriminator's output layer
    # --- training ---
    pretrain_steps: int = 1000  # seqgan/relgan: maximum-likelihood steps before adversarial training starts
    discriminator_pretrain_steps: int = 0  # of those, the last ones in which D trains too (all, if more)
    loss: Literal["rsgan", "nonsaturating"] = "rsgan"  # relativistic standard GAN (RelGAN's) or standard
    max_inverse_temperature: float = 100.0  # relgan: β rises from 1 to this (RelGAN's "temperature")
    # relgan: adversarial steps over which β rises as β_max^(n/N), then constant; the default fits the
    # default run (--train.steps 2000 = 1000 pretraining + 1000 adversarial), which ends at β_max
    temperature_steps: int = 1000
    # relgan: show D the exact one-hot tokens (the gradient still that of the relaxation), so the
    # softness of a relaxed sample cannot give it away as fake
    straight_through: bool = False
    rollouts: int = 8  # seqgan: Monte-Carlo completions per prefix
    discriminator_steps: int = 1  # adversarial: D updates per G update; the batch is split into d + 1 parts
    lr_pretrain: float = 1e-2  # Adam learning rate of maximum-likelihood training
    lr_generator: float = 1e-4  # adversarial phase: the generator's Adam learning rate
    lr_discriminator: float = 1e-4  # the discriminator's Adam learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam (β1, β2) of both players
    grad_clip: float = 5.0  # clip the generator's gradient norm (both phases); 0: off
    # the model whose options these are (a preset's); None: any, and only the options no model reads are refused
    model: ClassVar[str | None] = None

    @property
    def discriminated(self) -> bool:
        """Whether the model has a discriminator (every model but mle)."""
        return self.model != "mle"

    def validate(self) -> None:
        refuse_inapplicable(self)  # an option nothing reads is dropped, not range-checked
        for name in ("embed_dim", "hidden_dim", "layers", "heads", "d_embed_dim", "d_filters",
                     "d_hidden_dim", "temperature_steps", "rollouts", "discriminator_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--model.{name} must be at least 1 (got {getattr(self, name)}).")
        if self.max_words < 3:  # checked after the loop so its message names the real minimum
            raise ConfigError(f"--model.max_words must be at least 3 (<eos>, <unk> and one word; got "
                              f"{self.max_words}).")
        if self.seq_len is not None and self.seq_len < 2:
            raise ConfigError(f"--model.seq_len must be at least 2 (got {self.seq_len}).")
        if self.generator == "transformer" and self.hidden_dim % (2 * self.heads):
            raise ConfigError(f"--model.hidden_dim {self.hidden_dim} must be divisible by 2 × --model.heads "
                              f"{self.heads} (rotary positions need an even head size).")
        if self.discriminated and self.discriminator == "attention" and self.d_hidden_dim % self.heads:
            raise ConfigError(f"--model.d_hidden_dim {self.d_hidden_dim} must be divisible by --model.heads "
                              f"{self.heads}.")
        if not self.d_widths or min(self.d_widths) < 1:
            raise ConfigError(f"--model.d_widths must be positive filter widths (got {list(self.d_widths)}).")
        if (self.discriminated and self.discriminator == "cnn" and self.seq_len is not None
                and max(self.d_widths) > self.seq_len):
            raise ConfigError(f"--model.d_widths go up to {max(self.d_widths)}, longer than the {self.seq_len}-token "
                              "sequences; use narrower filters.")
        if not 0 <= self.d_dropout < 1:
            raise ConfigError(f"--model.d_dropout must lie in [0, 1) (got {self.d_dropout}).")
        check_non_negative(self, "pretrain_steps", "discriminator_pretrain_steps")
        if self.vocab is not None and (self.vocab[:2] != [EOS, UNKNOWN] or len(set(self.vocab)) != len(self.vocab)):
            raise ConfigError(f"--model.vocab must start with {EOS}, {UNKNOWN} and list each piece once; leave it out "
                              "to build it from the training sentences.")
        if not 1 <= self.max_inverse_temperature < math.inf:
            raise ConfigError(f"--model.max_inverse_temperature must be at least 1 (got "
                              f"{self.max_inverse_temperature}).")
        check_learning_rates(self, "lr_pretrain", "lr_generator", "lr_discriminator")
        check_non_negative(self, "grad_clip")
        check_adam_betas(self.betas)

    @classmethod
    def unread_options(cls) -> tuple[str, ...]:
        """The other models' options, which this model never reads (genlab.config)."""
        return tuple(name for models, names in MODEL_OPTIONS if cls.model is not None and cls.model not in models
                     for name in names)

    def inapplicable(self) -> dict[str, str]:
        """Options set where nothing reads them, each with the sentence refusing it (genlab.config): the
        other models' options, then those of the generator and discriminator not chosen, and those the kind
        of tokens (text or ids) does not read."""
        only = {name: models for models, names in MODEL_OPTIONS for name in names}
        found = {name: f"--model.{name} does not apply to {self.model}, only to {' and '.join(only[name])}; drop "
                       f"it, or use {' or '.join(only[name])}."
                 for name in self.unread_options() if is_set(self, name)}
        kind = self.discriminator
        attention = self.generator == "transformer" or (self.discriminated and kind == "attention")
        pretrained = self.pretrain_steps > 0 or not self.discriminated  # mle trains by maximum likelihood throughout
        unread = {
            "embed_dim": (self.generator == "transformer", "sizes the LSTM generator's input embedding (the "
                                                           "transformer generator's width is --model.hidden_dim)"),
            "heads": (not attention, "is for the transformer generator and the attention discriminator, and this "
                                     "model has neither"),
            "d_embed_dim": (kind == "attention", "sizes the cnn and rnn discriminators' token embedding (the "
                                                 "attention one's is --model.d_hidden_dim)"),
            "d_filters": (kind != "cnn", f"shapes the cnn discriminator, not an {kind} one"),
            "d_widths": (kind != "cnn", f"shapes the cnn discriminator, not an {kind} one"),
            "d_hidden_dim": (kind == "cnn", "sizes the rnn and attention discriminators, not a cnn"),
            "max_words": (self.split == "ids", "caps a vocabulary built from text, and token-id data has its own "
                                               "(--model.vocab_size)"),
            "vocab": (self.split == "ids", "is not used with token-id data (split ids)"),
            "vocab_size": (self.split in ("word", "char"), "is for token-id (.npz) data, and text builds its own "
                                                           "vocabulary (capped by --model.max_words)"),
            "lr_pretrain": (not pretrained, "is the learning rate of pretraining, and --model.pretrain_steps is 0"),
            "discriminator_pretrain_steps": (not pretrained, "counts steps of pretraining, and "
                                                             "--model.pretrain_steps is 0"),
        }
        for name, (ignored, what) in unread.items():
            if ignored and is_set(self, name) and name not in found:
                found[name] = f"--model.{name} {what}; drop it."
        return found


@dataclass
class MLEConfig(TextGANConfig):
    """Maximum likelihood alone: the generator's options, no discriminator's or adversarial ones."""

    model: ClassVar[str | None] = "mle"


@dataclass
class RelGANConfig(TextGANConfig):
    """RelGAN's defaults, the family's: RSGAN loss, D trained from the first adversarial step."""

    model: ClassVar[str | None] = "relgan"


@dataclass
class SeqGANConfig(TextGANConfig):
    """SeqGAN's defaults: D pretrained and trained with the standard (non-saturating) loss; a faster
    generator."""

    model: ClassVar[str | None] = "seqgan"
    discriminator_pretrain_steps: int = 200
    loss: Literal["rsgan", "nonsaturating"] = "nonsaturating"
    lr_generator: float = 1e-3
