"""The recurrent GAN family's config: one dataclass for both players, their losses and the data's scale.

Named models are presets of it: ``crnngan`` (C-RNN-GAN, Mogren 2016), ``rcgan`` (RCGAN, Esteban
et al. 2017: the same players, conditioned on a label) and ``timegan`` (Yoon et al. 2019, with
the extra options of :class:`TimeGANConfig`). ``features``, ``seq_len``, ``columns``, the
min-max scale and, for variable-length data, the histogram of sequence lengths are filled from
the training data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from genlab.config import (check_adam_betas, check_classes, check_learning_rates, check_non_negative, is_set, refuse_inapplicable,
                           unconditional_classes)
from genlab.errors import ConfigError
from genlab.models.gan.losses import LossName


@dataclass
class RGANConfig:
    features: int | None = None  # F; None: taken from the data
    seq_len: int | None = None  # T; None: taken from the data
    columns: list[str] | None = None  # feature names, the header of CSV samples
    # the training data's own feature names when --model.columns renamed them (held-out data must
    # carry these, in this order); None: the same as columns
    data_columns: list[str] | None = None
    # CSV text columns one-hot encoded (--data.categorical) and each one's categories, in order:
    # their features are named "column=category"; samples are decoded back to the category text
    categorical_columns: list[str] | None = None
    categories: list[list[str]] | None = None  # each categorical column's categories, in order
    # how the training data was read (--data.time_column, --data.fill, --data.reverse), filled from
    # the data config: 'genlab eval' reads held-out data the same way
    data_time_column: str | None = None  # --data.time_column of the training data
    data_fill: Literal["none", "ffill", "zero"] = "none"  # --data.fill of the training data
    data_reverse: bool = False  # --data.reverse of the training data
    # --data.seed of the training 'sines': 'genlab eval' draws its reference with another seed. None: not
    # recorded (a model saved before genlab stored it; see UNRECORDED)
    data_seed: int | None = 0
    feature_min: list[float] | None = None  # per-feature min of the training data (original units)
    feature_max: list[float] | None = None  # per-feature max of the training data
    # per feature: the training data held only whole numbers (counts, volumes), so samples are rounded
    # to whole numbers there; None: not recorded (a model saved before genlab did), nothing rounded
    whole_numbers: list[bool] | None = None
    # training sequences of each length 1..seq_len (index L-1); None: every sequence has seq_len steps.
    # Generated lengths are drawn from this empirical distribution.
    length_counts: list[int] | None = None
    # the last static_features of the features are attributes of a whole sequence (an .npz's static):
    # the generator draws them once per sequence and holds them at every step
    static_features: int = 0
    cell: Literal["gru", "lstm"] = "gru"  # the recurrent cell of every network
    hidden_dim: int = 32  # recurrent state size of each player
    layers: int = 2  # recurrent layers of each player
    noise_dim: int = 8  # noise values of each kind read at each step, beside the previous output
    # step: noise_dim fresh N(0, 1) values at every step; sequence: noise_dim values drawn once per
    # sequence and read at every step, so every step-to-step change is the generator's own dynamics
    # (a smooth series then needs no learned cancelling of per-step noise); both: the two side by side
    noise: Literal["step", "sequence", "both"] = "step"
    # feed each generated step back as the next step's input (C-RNN-GAN); false: the generator's
    # recurrence reads only noise (and label / static features), as RCGAN's does, in one call
    feedback: bool = True
    bidirectional: bool = False  # a bidirectional recurrent discriminator
    # give D, at every step, the spread of its batch there (the minibatch standard deviation of
    # Karras et al. 2018) as one more input: a batch of near-identical fakes is then easy to tell
    # apart, which a D judging each sequence alone cannot do — a remedy for the collapse the
    # training monitor warns of. Each batch D sees is all real or all fake, as it must then be.
    minibatch_std: bool = False
    # give D, at every step, the change x_t - x_(t-1) of every feature (0 at the first step) beside x_t:
    # a recurrent D can compute it, but handed it directly it sees at once fakes rougher or smoother
    # than the data, which is what gives recurrent fakes away (docs/rgan.md)
    differences: bool = False
    # per_step: a logit per step, averaged (C-RNN-GAN); sequence: one logit from the final states
    logits: Literal["per_step", "sequence"] = "per_step"
    attention_layers: int = 0  # residual self-attention blocks after each player's recurrence
    attention_heads: int = 4  # must divide hidden_dim (and 2·hidden_dim with a bidirectional D)
    loss: LossName = "nonsaturating"  # the adversarial loss (crnngan, rcgan)
    gradient_penalty: float = 10.0  # λ of WGAN-GP (loss wasserstein_gp only)
    # WGAN-GP in a Sobolev norm (genlab.models.rgan.sobolev): s > 0 holds the critic 1-Lipschitz in
    # Σ δ² + s² Σ (δ_t − δ_(t−1))² over the valid steps rather than in Σ δ², so that a wrong shape (a
    # rise that should come back down) costs the generator more: a change spread over about k steps
    # about √(1 + (sπ/k)²) times more, a shift of the level nothing more. s is a weight, not a
    # Sobolev order. With ``differences`` D reads max(s, 1)·Δx. 0: the Euclidean norm (loss
    # wasserstein_gp only)
    sobolev: float = 0.0
    discriminator_steps: int = 1  # D updates per G update; the batch is split between them
    conditional: bool = False  # labels (y of an .npz) into both players (RCGAN)
    num_classes: int | None = None  # None: taken from the data's labels
    label_dim: int = 8  # size of the learned label embedding concatenated to each step's input
    lr_generator: float = 1e-3  # Adam learning rate of the generator (timegan: of every network but D)
    lr_discriminator: float = 1e-3  # Adam learning rate of the discriminator
    betas: tuple[float, float] = (0.9, 0.999)  # Adam (β1, β2) of every network
    # The learning rates follow a cosine to 0 at this step (set it to --train.steps); 0: constant.
    # TimeGAN's decay covers its joint phase only, latentgan's its GAN phase: it starts when that phase does.
    decay_steps: int = 0
    # EMA of the generator's weights, updated after each generator step and used for every sample and
    # score; 0: off (crnngan, rcgan and latentgan)
    ema_decay: float = 0.0
    # train both players on PCA-whitened features (genlab.models.rgan.whitening): the generator's
    # read-out is linear in the data's principal directions, each of unit variance, and the
    # discriminator reads them; samples are mapped back. For features that move together (prices).
    whiten: bool = False
    whitening_mean: list[float] | None = None  # filled from the training data when whiten is on
    whitening_basis: list[list[float]] | None = None  # F × F: scaled features = mean + whitened @ basis

    # What an option missing from a saved model's config (saved before the option existed) stands
    # for, where its default would claim what is not known (genlab.config.from_stored).
    UNRECORDED: ClassVar[dict[str, Any]] = {"data_seed": None}
    # Fields that training fills from the data (and saves with the model), not options: each with
    # where its value comes from. Given on the command line they would be overwritten silently.
    FROM_DATA: ClassVar[dict[str, str]] = {
        "data_columns": "the data's header", "categorical_columns": "--data.categorical",
        "categories": "--data.categorical and the data", "data_time_column": "--data.time_column",
        "data_fill": "--data.fill", "data_reverse": "--data.reverse", "data_seed": "--data.seed",
        "feature_min": "the data's range", "feature_max": "the data's range", "length_counts": "the data's lengths",
        "whole_numbers": "the data's values",
        "whitening_mean": "--model.whiten, fitted to the data", "whitening_basis": "--model.whiten, fitted to the data"}

    @property
    def data_header(self) -> list[str] | None:
        """The feature names data for this model must carry, in order (the training data's own)."""
        return self.data_columns or self.columns

    @property
    def trained_on_sines(self) -> bool:
        """Whether the training data was the 'sines' (recognised by their feature names)."""
        return self.features is not None and self.data_header == [f"sine_{i}" for i in range(self.features)]

    @property
    def noise_widths(self) -> tuple[int, int]:
        """(values drawn once per sequence, values drawn afresh at every step) of the generator's noise."""
        return (self.noise_dim if self.noise in ("sequence", "both") else 0,
                self.noise_dim if self.noise in ("step", "both") else 0)

    @property
    def encoding(self) -> list[tuple[str, list[str]]] | None:
        """The one-hot encoding of CSV text columns as (column, categories) pairs; None: none."""
        return None if self.categories is None else list(zip(self.categorical_columns, self.categories))

    def validate(self) -> None:
        # Options nothing reads first: "drop it" is the advice for them, not a range some check below
        # would hold them to (timegan's unread options would fail several of those checks).
        refuse_inapplicable(self)
        for name in ("hidden_dim", "layers", "noise_dim", "attention_heads", "discriminator_steps", "label_dim"):
            if not 1 <= getattr(self, name) <= 4096:
                raise ConfigError(f"--model.{name} must be between 1 and 4096 (got {getattr(self, name)}).")
        if self.seq_len is not None and self.seq_len < 2:
            raise ConfigError(f"--model.seq_len must be at least 2 steps (got {self.seq_len}).")
        if self.columns is not None and self.features is not None and len(self.columns) != self.features:
            raise ConfigError(f"--model.columns has {len(self.columns)} names for {self.features} features; give one "
                              "name per feature, or drop it to take the data's.")
        if self.static_features < 0 or (self.features is not None and self.static_features >= self.features):
            raise ConfigError(f"--model.static_features must lie in [0, features) (got {self.static_features}); "
                              "drop it to take it from the data.")
        if self.attention_layers < 0:
            raise ConfigError(f"--model.attention_layers must be non-negative (got {self.attention_layers}).")
        if self.attention_layers and self.hidden_dim % self.attention_heads:
            raise ConfigError(f"--model.hidden_dim {self.hidden_dim} must be divisible by --model.attention_heads "
                              f"{self.attention_heads}.")
        check_learning_rates(self, "lr_generator", "lr_discriminator")
        check_non_negative(self, "gradient_penalty", "sobolev", "decay_steps")
        if self.sobolev and self.loss == "wasserstein_gp" and self.gradient_penalty == 0:
            raise ConfigError("--model.sobolev sets the norm of WGAN-GP's penalty, which --model.gradient_penalty 0 "
                              "turns off; give a positive penalty, or drop --model.sobolev.")
        if self.noise not in ("step", "sequence", "both"):
            raise ConfigError(f"--model.noise must be step, sequence or both (got {self.noise!r}).")
        check_adam_betas(self.betas)
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"--model.ema_decay must be in [0, 1) (got {self.ema_decay}).")
        if self.whiten and self.static_features:
            raise ConfigError("--model.whiten cannot mix static features into the per-step ones; drop --model.whiten "
                              "or the data's static array.")
        if not self.whiten and (self.whitening_mean is not None or self.whitening_basis is not None):
            raise ConfigError("--model.whitening_mean and --model.whitening_basis belong to a model with "
                              "--model.whiten true; set it, or drop them.")
        if (self.whitening_mean is None) != (self.whitening_basis is None) or (self.whitening_mean is not None and (
                any(len(row) != len(self.whitening_mean) for row in self.whitening_basis)
                or len(self.whitening_basis) != len(self.whitening_mean)
                or (self.features is not None and len(self.whitening_mean) != self.features))):
            shape = "missing" if self.whitening_basis is None else f"{len(self.whitening_basis)} rows"
            raise ConfigError(f"--model.whitening_mean ({len(self.whitening_mean or [])} values) and "
                              f"--model.whitening_basis ({shape}) must be given together, F values and F × F with F "
                              f"the number of features ({self.features}); drop both to take them from the data.")
        if (self.feature_min is None) != (self.feature_max is None) or (
                self.feature_min is not None and len(self.feature_min) != len(self.feature_max)):
            raise ConfigError("--model.feature_min and --model.feature_max must be given together, one value per "
                              "feature.")
        if self.features is not None and self.feature_min is not None and len(self.feature_min) != self.features:
            raise ConfigError(f"--model.feature_min has {len(self.feature_min)} values for {self.features} features.")
        if (self.categorical_columns is None) != (self.categories is None) or (
                self.categories is not None and len(self.categories) != len(self.categorical_columns)):
            raise ConfigError("--model.categorical_columns and --model.categories must be given together, one list "
                              "of categories per column; drop both to take them from the data.")
        if self.length_counts is not None and (
                (self.seq_len is not None and len(self.length_counts) != self.seq_len)
                or min(self.length_counts) < 0 or sum(self.length_counts[1:]) == 0 or self.length_counts[0]):
            raise ConfigError("--model.length_counts must hold seq_len non-negative counts of the training sequences "
                              "of each length 1..seq_len, none of length 1; drop it to take it from the data.")
        check_classes(self)

    def inapplicable(self) -> dict[str, str]:
        """Options set where nothing reads them, each with the sentence refusing it (genlab.config)."""
        found = unconditional_classes(self)
        for name, condition, applies in (("gradient_penalty", "--model.loss wasserstein_gp",
                                          self.loss == "wasserstein_gp"),
                                         ("sobolev", "--model.loss wasserstein_gp", self.loss == "wasserstein_gp"),
                                         ("label_dim", "--model.conditional true", self.conditional),
                                         ("attention_heads", "--model.attention_layers 1 or more",
                                          self.attention_layers > 0)):
            if not applies and is_set(self, name):
                found[name] = f"--model.{name} applies only with {condition}; drop it, or set that."
        return found


@dataclass
class CRNNGANConfig(RGANConfig):
    """C-RNN-GAN (Mogren 2016): recurrent players, per-step discriminator logits averaged."""


@dataclass
class RCGANConfig(RGANConfig):
    """RCGAN (Esteban et al. 2017): both players see the sequence's label at every step. The
    generator keeps this family's feedback of its previous output; ``feedback: false`` gives
    RCGAN's own generator, which reads only noise and the label."""

    conditional: bool = True


@dataclass
class TimeGANConfig(RGANConfig):
    """TimeGAN (Yoon et al. 2019) in the reference code's three phases, chosen by step count.

    Steps [0, autoencoder_steps) train embedder + recovery on reconstruction; the next
    ``supervised_steps`` train the supervisor on next-step latent prediction; every later step is
    joint training. The loss weights are the reference's; ``bidirectional``, ``logits``, ``loss``
    and the attention options do not apply. The noise is U(0, 1): with ``noise`` "step" (the
    reference) F fresh values at every step (``noise_dim`` does not apply); with "sequence"
    ``noise_dim`` values drawn once per sequence and read at every step, so any step-to-step
    change in a sample is the generator's own dynamics rather than fresh noise; "both" reads the two.
    """

    hidden_dim: int = 24
    layers: int = 3
    autoencoder_steps: int = 1000  # phase 1: embedder and recovery alone
    supervised_steps: int = 1000  # phase 2: the supervisor on real latents; the joint phase follows
    gamma: float = 1.0  # weight of the discriminator's verdict on the un-supervised latents E_hat
    supervised_weight: float = 100.0  # η: weight of sqrt(L_S) in the generator loss
    moment_weight: float = 100.0  # weight of the mean/std matching terms in the generator loss
    reconstruction_weight: float = 10.0  # weight of sqrt(L_R) in the embedder loss
    embedder_supervised_weight: float = 0.1  # weight of L_S in the joint embedder loss
    generator_updates: int = 2  # generator + embedder updates per joint step (then one D update)
    discriminator_threshold: float = 0.15  # D is updated only while its loss exceeds this

    @property
    def noise_widths(self) -> tuple[int, int]:
        """As the other models', except that step noise is F values, as in the reference."""
        if self.features is None and self.noise != "sequence":
            raise ConfigError("timegan's step noise has one value per feature, and the features are not known yet.")
        return super().noise_widths[0], self.features if self.noise in ("step", "both") else 0

    def unfinished_phases(self, steps: int) -> str | None:
        """A warning when ``steps`` training steps end before the joint phase, else None."""
        before = self.autoencoder_steps + self.supervised_steps
        if steps > before:
            return None
        return (f"--train.steps {steps} ends before the joint phase (--model.autoencoder_steps "
                f"{self.autoencoder_steps} + --model.supervised_steps {self.supervised_steps}), so the generator and "
                f"discriminator do not train and samples are noise; raise --train.steps above {before} (or resume "
                "later with more).")

    @classmethod
    def unread_options(cls) -> tuple[str, ...]:
        """The crnngan/rcgan options, which timegan never reads (genlab.config)."""
        return ("conditional", "feedback", "minibatch_std", "differences", "bidirectional", "attention_layers",
                "logits", "loss", "discriminator_steps", "ema_decay", "whiten", "gradient_penalty", "sobolev",
                "label_dim", "attention_heads", "num_classes")

    def inapplicable(self) -> dict[str, str]:
        """The crnngan/rcgan options (at a value other than their default), then the family's own."""
        found = {name: f"--model.{name} does not apply to timegan; drop it (or use crnngan / rcgan)."
                 for name in self.unread_options() if is_set(self, name)}
        if is_set(self, "noise_dim") and self.noise == "step":
            found["noise_dim"] = ("--model.noise_dim sizes timegan's per-sequence noise, and with --model.noise step "
                                  "its noise is one value per feature at each step; drop it, or set --model.noise "
                                  "sequence or both.")
        return found | {name: message for name, message in super().inapplicable().items() if name not in found}

    def validate(self) -> None:
        super().validate()
        if self.layers < 2:
            raise ConfigError(f"timegan needs --model.layers of at least 2 (its supervisor has layers - 1); got "
                              f"{self.layers}.")
        check_non_negative(self, "autoencoder_steps", "supervised_steps", "gamma", "supervised_weight", "moment_weight",
                           "reconstruction_weight", "embedder_supervised_weight", "discriminator_threshold")
        if self.decay_steps and self.decay_steps <= self.autoencoder_steps + self.supervised_steps:
            raise ConfigError(f"--model.decay_steps {self.decay_steps} ends before timegan's joint phase begins (step "
                              f"{self.autoencoder_steps + self.supervised_steps}); set it to --train.steps, or 0.")
        if self.generator_updates < 1:
            raise ConfigError(f"--model.generator_updates must be at least 1 (got {self.generator_updates}).")


@dataclass
class LatentGANConfig(RGANConfig):
    """A latent GAN (Achlioptas et al. 2018) for sequences: an MLP autoencoder of whole windows
    trained first, for ``autoencoder_steps``, then a GAN of MLPs on its codes (genlab.models.rgan.latent).

    ``hidden_dim`` is the width of every MLP layer; ``layers`` the hidden layers of the encoder and
    of the decoder, ``gan_layers`` those of the generator and the critic. ``noise_dim`` N(0, 1)
    values, drawn once per sequence, feed the generator. The GAN's loss is ``loss`` (WGAN-GP by
    default) with ``discriminator_steps`` critic updates per generator update; ``decay_steps``
    decays its rates from the GAN phase's first step, as TimeGAN's joint-phase decay does.
    """

    hidden_dim: int = 256  # the width of every MLP layer (encoder, decoder, generator, critic)
    layers: int = 2  # hidden layers of the encoder and of the decoder
    gan_layers: int = 3  # hidden layers of the generator and of the critic
    code_dim: int = 16  # the autoencoder's code: what the GAN generates
    noise_dim: int = 16  # N(0, 1) values drawn once per sequence, the generator's input
    # phase 1: encoder and decoder on reconstruction; the GAN follows (the sines recipe: 20,000 of 30,000)
    autoencoder_steps: int = 1000
    lr_autoencoder: float = 1e-3  # Adam, decayed on a cosine to 0 at the end of the autoencoder phase
    loss: LossName = "wasserstein_gp"  # the GAN's adversarial loss on codes
    discriminator_steps: int = 5  # critic updates per generator update; the batch is split between them
    betas: tuple[float, float] = (0.5, 0.9)  # Adam (β1, β2) of the generator and the critic
    lr_generator: float = 2e-4  # Adam learning rate of the generator
    lr_discriminator: float = 2e-4  # Adam learning rate of the critic

    @property
    def noise_widths(self) -> tuple[int, int]:
        """noise_dim values drawn once per sequence; nothing drawn per step."""
        return self.noise_dim, 0

    def unfinished_phases(self, steps: int) -> str | None:
        """A warning when ``steps`` training steps end within the autoencoder phase, else None."""
        if steps > self.autoencoder_steps:
            return None
        return (f"--train.steps {steps} ends within the autoencoder phase (--model.autoencoder_steps "
                f"{self.autoencoder_steps}), so the GAN on its codes does not train and samples are decoded random "
                f"codes; raise --train.steps above {self.autoencoder_steps} (or resume later with more).")

    @classmethod
    def unread_options(cls) -> tuple[str, ...]:
        """The recurrent players' options, which latentgan never reads (genlab.config)."""
        return ("cell", "noise", "feedback", "minibatch_std", "differences", "bidirectional", "logits",
                "attention_layers", "attention_heads", "sobolev", "whiten", "conditional", "label_dim", "num_classes")

    def inapplicable(self) -> dict[str, str]:
        """The recurrent players' options (at a value other than their default), then the family's own."""
        found = {name: f"--model.{name} does not apply to latentgan; drop it (or use crnngan / rcgan)."
                 for name in self.unread_options() if is_set(self, name)}
        return found | {name: message for name, message in super().inapplicable().items() if name not in found}

    def validate(self) -> None:
        super().validate()
        for name in ("code_dim", "gan_layers"):
            if not 1 <= getattr(self, name) <= 4096:
                raise ConfigError(f"--model.{name} must be between 1 and 4096 (got {getattr(self, name)}).")
        check_learning_rates(self, "lr_autoencoder")
        if self.autoencoder_steps < 1:
            raise ConfigError(f"--model.autoencoder_steps must be at least 1 (got {self.autoencoder_steps}): the GAN "
                              "learns the codes of a trained autoencoder.")
        if self.decay_steps and self.decay_steps <= self.autoencoder_steps:
            raise ConfigError(f"--model.decay_steps {self.decay_steps} ends before latentgan's GAN phase begins (step "
                              f"{self.autoencoder_steps}); set it to --train.steps, or 0.")
