"""The GAN family's config: one dataclass for every backbone, loss and trick.

Named models are presets of it (``dcgan``, ``sngan``, ``sagan``): the same options, different
defaults, so any preset can be pushed toward another from the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from genlab.config import (MAX_CLASSES, check_adam_betas, check_classes, check_learning_rates, check_non_negative,
                           default_value, is_set, refuse_inapplicable, unconditional_classes)
from genlab.errors import ConfigError
from genlab.models.gan.losses import LossName

RESOLUTIONS = {"dcgan": (28, 32, 64), "resnet": (32, 64), "mlp": ()}  # mlp: vectors, no resolution
AUGMENTATIONS = ("color", "translation", "cutout")


@dataclass
class GANConfig:
    resolution: int | None = None  # None: taken from the data (unused by the mlp backbone)
    channels: int | None = None  # 1 or 3 (mlp: coordinates per point); None: taken from the data
    mixture: str | None = None  # mlp: the toy mixture (ring, grid) of its points, from the data; plots mark its modes
    latent_dim: int = 100  # size of z
    backbone: Literal["dcgan", "resnet", "mlp"] = "dcgan"  # convolutional DCGAN, SNGAN ResNet, or MLP for 2-D points
    mlp_depth: int = 3  # hidden layers of each mlp player
    generator_width: int = 64  # channels of the generator's last hidden stage
    discriminator_width: int = 64  # channels of the discriminator's first stage
    attention_resolutions: tuple[int, ...] = ()  # SAGAN: self-attention at these feature-map sizes
    # Class conditioning: G reads the class one-hot beside z and has class-conditional BatchNorm; D a
    # projection (Miyato & Koyama 2018), an auxiliary classifier head (AC-GAN, Odena et al. 2017),
    # or the class one-hot as extra input channels (concat, Mirza & Osindero 2014).
    conditional: bool = False
    num_classes: int | None = None  # None: taken from the data's labels
    class_names: tuple[str, ...] | None = None  # label k's name at k, from data that names its classes (folders)
    # A self-conditioned GAN (Liu et al. 2020): with conditional, the classes are this many k-means
    # clusters of the training images' pixels (genlab.data.clusters), not the data's labels, and
    # samples draw the clusters at their training frequencies; 0: the data's labels.
    clusters: int = 0
    class_frequencies: tuple[float, ...] | None = None  # each cluster's share of the training images
    # Filled by training from the data, not an option (genlab.models.rgan.config.RGANConfig.FROM_DATA).
    FROM_DATA: ClassVar[dict[str, str]] = {"class_names": "the names of the data's classes",
                                           "mixture": "the toy mixture of --data toy:NAME",
                                           "class_frequencies": "each --model.clusters cluster's share of the images"}
    discriminator_conditioning: Literal["projection", "auxiliary", "concat"] = "projection"  # how a conditional D reads labels
    auxiliary_weight: float = 1.0  # weight of the auxiliary classification loss
    loss: LossName = "nonsaturating"  # the adversarial loss of both players
    gradient_penalty: float = 10.0  # λ of WGAN-GP (used with loss wasserstein_gp)
    r1_gamma: float = 0.0  # R1 penalty γ/2·‖∇D(x)‖² on real data; 0: off
    r2_gamma: float = 0.0  # R2 penalty γ/2·‖∇D(G(z))‖² on fakes (R3GAN pairs it with R1 and rsgan); 0: off
    # Lazy R1 and R2 (StyleGAN2, Karras et al. 2020): the penalties on every r1_every-th discriminator
    # update only, weighted r1_every× (their average gradient is unchanged; under Adam the spikes also
    # raise the second-moment estimate). It saves most of their cost, a double backward pass each.
    r1_every: int = 1
    spectral_norm: Literal["none", "discriminator", "both"] = "none"  # which players' layers are normalised
    discriminator_steps: int = 1  # discriminator updates per generator update
    lr_generator: float = 2e-4  # Adam learning rate of the generator
    lr_discriminator: float = 2e-4  # differs from lr_generator for TTUR
    betas: tuple[float, float] = (0.5, 0.999)  # Adam (β1, β2) of both players
    # Both learning rates follow a cosine to 0 at this step (set it to --train.steps); 0: constant.
    # A vanishing step size lets the players settle instead of orbiting the equilibrium.
    decay_steps: int = 0
    ema_decay: float = 0.0  # EMA of the generator's weights, used for sampling; 0: off
    diffaugment: tuple[str, ...] = ()  # any of color, translation, cutout (Zhao et al. 2020)
    pack: int = 1  # PacGAN: the discriminator judges `pack` samples at once
    # Weight of feature matching in G's loss (Salimans et al. 2016, beside the adversarial loss here):
    # the unbiased linear-kernel MMD² between D's last features of the real and the fake batch, per
    # feature (losses.feature_mmd). It asks G's batch to match the data's batch on average, which
    # the per-sample adversarial loss does not (e.g. how often each digit is drawn); 0: off.
    feature_matching: float = 0.0
    truncation: float = 0.0  # sample z from N(0, I) truncated to |z| ≤ truncation; 0: off
    # NHWC activations: 5-16% faster training steps on CPU in three measurements (README: Speed).
    channels_last: bool = True

    @property
    def gradient_penalised(self) -> bool:
        """Whether a per-sample input-gradient penalty (WGAN-GP, R1 or R2) is part of D's loss."""
        return self.loss == "wasserstein_gp" or self.r1_gamma > 0 or self.r2_gamma > 0

    def validate(self) -> None:
        allowed = RESOLUTIONS[self.backbone]
        if self.backbone != "mlp" and self.resolution is not None and self.resolution not in allowed:
            raise ConfigError(f"--model.resolution must be one of {', '.join(map(str, allowed))} for the "
                              f"{self.backbone} backbone (got {self.resolution}); set --data.resolution to "
                              "resize the data.")
        if self.backbone != "mlp" and self.channels not in (None, 1, 3):
            raise ConfigError(f"--model.channels must be 1 or 3 (got {self.channels}).")
        if self.mixture is not None:
            from genlab.data.toy import MIXTURES

            if self.backbone != "mlp" or self.mixture not in MIXTURES:
                raise ConfigError(f"model.mixture {self.mixture!r} names the toy mixture of an mlp model's 2-D points "
                                  f"({', '.join(MIXTURES)}); remove it from the config to take the data's.")
        if self.backbone == "mlp" and self.conditional:
            raise ConfigError("--model.conditional needs a generator that reads labels, and the mlp backbone's "
                              "generator reads only z; use --model.backbone dcgan or resnet for a class-conditional "
                              "GAN.")
        for name in ("latent_dim", "generator_width", "discriminator_width", "mlp_depth"):
            value = getattr(self, name)
            if not 1 <= value <= 4096:
                raise ConfigError(f"--model.{name} must be between 1 and 4096 (got {value}).")
        if self.decay_steps < 0:
            raise ConfigError(f"--model.decay_steps must be 0 (constant learning rates) or a step count (got "
                              f"{self.decay_steps}).")
        for name in ("discriminator_steps", "pack", "r1_every"):
            if not 1 <= getattr(self, name) <= 64:
                raise ConfigError(f"--model.{name} must be between 1 and 64 (got {getattr(self, name)}).")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"--model.ema_decay must be in [0, 1) (got {self.ema_decay}).")
        check_classes(self)
        if not 0 <= self.clusters <= MAX_CLASSES:
            raise ConfigError(f"--model.clusters must be between 1 and {MAX_CLASSES:,} (or 0: the data's labels; got "
                              f"{self.clusters}).")
        if self.clusters and self.num_classes is not None and self.num_classes != self.clusters:
            raise ConfigError(f"--model.num_classes {self.num_classes} differs from --model.clusters {self.clusters}: "
                              "the clusters are the classes. Drop --model.num_classes; a resumed run keeps its "
                              "checkpoint's clusters (start a new run with another --out for other clusters).")
        shares = self.class_frequencies
        if self.clusters and shares is not None and (
                len(shares) != self.clusters or not all(math.isfinite(v) and v >= 0 for v in shares)
                or not sum(shares) > 0):
            raise ConfigError(f"model.class_frequencies must give each of the --model.clusters {self.clusters} "
                              "clusters' share of the images (non-negative, not all 0); remove it from the config "
                              "to take the data's.")
        unknown = [a for a in self.diffaugment if a not in AUGMENTATIONS]
        if unknown:
            raise ConfigError(f"--model.diffaugment has unknown augmentation {unknown[0]!r}; choose from "
                              f"{', '.join(AUGMENTATIONS)}.")
        check_learning_rates(self, "lr_generator", "lr_discriminator")
        check_adam_betas(self.betas)
        check_non_negative(self, "gradient_penalty", "r1_gamma", "r2_gamma", "truncation", "auxiliary_weight",
                           "feature_matching")
        refuse_inapplicable(self)

    def check_training(self) -> None:
        """Settings a model may hold (one saved with them still loads) but a new run should not train
        with: a weight of 0 switches off the part the other options ask for."""
        if self.loss == "wasserstein_gp" and self.gradient_penalty == 0:
            raise ConfigError("--model.gradient_penalty 0 leaves the Wasserstein critic unconstrained; give a positive "
                              "λ (WGAN-GP's is 10) or choose another --model.loss.")
        if self.conditional and self.discriminator_conditioning == "auxiliary" and self.auxiliary_weight == 0:
            raise ConfigError("--model.auxiliary_weight 0 switches the auxiliary classifier off, so the discriminator "
                              "ignores the labels; give a positive weight, or another "
                              "--model.discriminator_conditioning (projection, concat).")

    def inapplicable(self) -> dict[str, str]:
        """Options set where nothing reads them, each with the sentence refusing it (genlab.config)."""
        found = unconditional_classes(self)
        if is_set(self, "gradient_penalty") and self.loss != "wasserstein_gp":
            found["gradient_penalty"] = (f"--model.gradient_penalty is the λ of --model.loss wasserstein_gp; with the "
                                         f"{self.loss} loss use --model.r1_gamma for a gradient penalty, or drop it.")
        for name in ("discriminator_conditioning", "auxiliary_weight"):
            if is_set(self, name) and not self.conditional:
                found[name] = (f"--model.{name} shapes a conditional discriminator; set --model.conditional true "
                               "too, or drop it.")
        if is_set(self, "auxiliary_weight") and self.discriminator_conditioning != "auxiliary":
            found.setdefault("auxiliary_weight", "--model.auxiliary_weight weighs the auxiliary classifier's loss; set "
                                                 "--model.discriminator_conditioning auxiliary too, or drop it.")
        if self.clusters and not self.conditional:
            found["clusters"] = ("--model.clusters gives a conditional model cluster labels in place of classes; set "
                                 "--model.conditional true too, or drop it.")
        if self.clusters and self.backbone == "mlp":
            found["clusters"] = "--model.clusters groups images, and the mlp backbone reads points; drop it."
        if self.class_frequencies is not None and not self.clusters:
            found["class_frequencies"] = ("model.class_frequencies records the shares of --model.clusters clusters; "
                                          "remove it from the config.")
        if is_set(self, "mlp_depth") and self.backbone != "mlp":
            found["mlp_depth"] = (f"--model.mlp_depth counts the mlp backbone's hidden layers, not the {self.backbone} "
                                  "backbone's; drop it, or set --model.backbone mlp.")
        if is_set(self, "channels_last") and self.backbone == "mlp":
            found["channels_last"] = ("--model.channels_last lays out image tensors, and the mlp backbone reads "
                                      "points; drop it.")
        if is_set(self, "resolution") and self.backbone == "mlp":
            found["resolution"] = "--model.resolution sizes images, and the mlp backbone reads points; drop it."
        if is_set(self, "diffaugment") and self.backbone == "mlp":
            found["diffaugment"] = "--model.diffaugment augments images, and the mlp backbone reads points; drop it."
        if self.attention_resolutions and self.backbone == "mlp":  # at sagan's default too: no drop clears it
            default = list(default_value(type(self), "attention_resolutions"))
            fix = f"set it to [] (this preset's default is {default})" if default else "drop it"
            found["attention_resolutions"] = ("--model.attention_resolutions places self-attention on feature maps, "
                                              f"and the mlp backbone has none; {fix}.")
        if is_set(self, "r1_every") and not (self.r1_gamma or self.r2_gamma):
            found["r1_every"] = ("--model.r1_every paces the R1 and R2 penalties, which are off; set --model.r1_gamma "
                                 "or --model.r2_gamma too, or drop it.")
        return found


@dataclass
class DCGANConfig(GANConfig):
    """DCGAN as Radford et al. (2016) train it: BCE loss, Adam(2e-4, 0.5, 0.999)."""


@dataclass
class SNGANConfig(GANConfig):
    """SNGAN (Miyato et al. 2018): ResNet backbone (G 256, D 128 channels, as in the paper's CIFAR-10
    networks), spectral norm in D, hinge loss, 5 D steps."""

    latent_dim: int = 128
    backbone: Literal["dcgan", "resnet", "mlp"] = "resnet"
    generator_width: int = 256
    discriminator_width: int = 128
    loss: LossName = "hinge"
    spectral_norm: Literal["none", "discriminator", "both"] = "discriminator"
    discriminator_steps: int = 5
    betas: tuple[float, float] = (0.0, 0.9)


@dataclass
class SAGANConfig(GANConfig):
    """SAGAN (Zhang et al. 2019): ResNet + self-attention, SN in both players, hinge, TTUR."""

    latent_dim: int = 128
    backbone: Literal["dcgan", "resnet", "mlp"] = "resnet"
    generator_width: int = 64
    discriminator_width: int = 64
    attention_resolutions: tuple[int, ...] = (16,)
    loss: LossName = "hinge"
    spectral_norm: Literal["none", "discriminator", "both"] = "both"
    lr_generator: float = 1e-4
    lr_discriminator: float = 4e-4
    betas: tuple[float, float] = (0.0, 0.9)
