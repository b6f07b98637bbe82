"""The VAE family's config: one dataclass for the networks, the likelihood and the objective.

Named models are presets of it (``vae``, ``beta_vae``, ``cvae``, ``iwae``): the same options,
different defaults, so any preset can be pushed toward another from the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from genlab.config import (check_adam_betas, check_classes, check_learning_rates, check_non_negative, default_value, is_set,
                           refuse_inapplicable, unconditional_classes)
from genlab.errors import ConfigError

RESOLUTIONS = (28, 32, 64)
LikelihoodName = Literal["bernoulli", "gaussian", "logistic", "categorical"]
# The options shaping the ELBO's KL term, which the iwae objective has none of: each with its neutral value.
KL_SHAPING = (("beta", 1, "weighs the ELBO's KL term"), ("kl_warmup_steps", 0, "ramps the ELBO's KL weight up from 0"),
              ("free_bits", 0, "leaves that many nats per latent unit of the ELBO's KL term unpenalised"))


@dataclass
class VAEConfig:
    resolution: int | None = None  # None: taken from the data
    channels: int | None = None  # 1 or 3; None: taken from the data
    latent_dim: int = 32  # size of z
    width: int = 32  # channels of the encoder's first stage (doubled at each ×½ stage)
    hidden_dim: int = 512  # the fully connected layer between the convolutions and the latent code
    decoder_attention: bool = False  # SAGAN self-attention on the decoder's first upsampled feature map
    # p(x|z): bernoulli (binarised pixels), gaussian (on [0, 1] pixels), logistic (discretised
    # logistic over the 256 levels) or categorical (256-way softmax per sub-pixel).
    likelihood: LikelihoodName = "bernoulli"
    binarize: Literal["dynamic", "threshold"] = "dynamic"  # bernoulli: resample each step, or pixel > 127
    gaussian_variance: Literal["learned", "fixed"] = "learned"  # learned: one log σ² per pixel
    gaussian_sigma: float = 0.1  # σ of the fixed-variance Gaussian, in [0, 1] pixel units
    # The objective: the ELBO (averaged over `samples` draws of z) or the IWAE bound with k = `samples`.
    objective: Literal["elbo", "iwae"] = "elbo"
    samples: int = 1  # draws of z per image in the training objective
    beta: float = 1.0  # weight of the KL term (β-VAE, Higgins et al. 2017); ELBO only
    kl_warmup_steps: int = 0  # β rises linearly from 0 over this many steps; 0: off
    free_bits: float = 0.0  # nats per latent unit below which the KL is not penalised (Kingma et al. 2016)
    conditional: bool = False  # labels, one-hot, into encoder and decoder (Sohn et al. 2015)
    num_classes: int | None = None  # None: taken from the data's labels
    class_names: tuple[str, ...] | None = None  # label k's name at k, from data that names its classes (folders)
    # Filled by training from the data, not an option (genlab.models.rgan.config.RGANConfig.FROM_DATA).
    FROM_DATA: ClassVar[dict[str, str]] = {"class_names": "the names of the data's classes"}
    lr: float = 1e-3  # Adam learning rate
    min_lr: float = 0.0  # the cosine schedule decays lr to this
    decay_steps: int = 0  # cosine decay ends here (set it to --train.steps); constant min_lr after; 0: constant lr
    betas: tuple[float, float] = (0.9, 0.999)  # Adam (β1, β2)

    def validate(self) -> None:
        if self.resolution is not None and self.resolution not in RESOLUTIONS:
            raise ConfigError(f"--model.resolution must be one of {', '.join(map(str, RESOLUTIONS))} (got "
                              f"{self.resolution}); set --data.resolution to resize the data.")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"--model.channels must be 1 or 3 (got {self.channels}).")
        for name in ("latent_dim", "width", "hidden_dim"):
            if not 1 <= getattr(self, name) <= 4096:
                raise ConfigError(f"--model.{name} must be between 1 and 4096 (got {getattr(self, name)}).")
        if not 1 <= self.samples <= 5000:
            raise ConfigError(f"--model.samples must be between 1 and 5000 (got {self.samples}).")
        check_learning_rates(self, "lr")
        check_non_negative(self, "beta", "free_bits", "kl_warmup_steps", "decay_steps")
        if not 0 <= self.min_lr <= self.lr:
            raise ConfigError(f"--model.min_lr must be between 0 and --model.lr (got min_lr {self.min_lr}, "
                              f"lr {self.lr}).")
        check_adam_betas(self.betas)
        if not 0 < self.gaussian_sigma < math.inf:
            raise ConfigError(f"--model.gaussian_sigma must be a positive number (got {self.gaussian_sigma}).")
        # KL shaping under iwae: options the user set are inapplicable(), one sentence each. A preset's own
        # non-neutral defaults (beta_vae's), which dropping an option cannot clear, are refused by value, all
        # named in one sentence, and before the rest, so that one fix is enough.
        kl_shaping = {name: getattr(self, name) for name, neutral, _ in KL_SHAPING if getattr(self, name) != neutral}
        preset_shapes = any(default_value(type(self), name) != neutral for name, neutral, _ in KL_SHAPING)
        if self.objective == "iwae" and kl_shaping and preset_shapes:
            held = ", ".join(f"--model.{name} {value}" for name, value in kl_shaping.items())
            raise ConfigError(f"--model.objective iwae is a bound on log p(x) with no separate KL term to shape, and "
                              f"this config has {held}; set --model.beta 1, --model.kl_warmup_steps 0 and "
                              "--model.free_bits 0, or use the elbo.")
        refuse_inapplicable(self)
        check_classes(self)

    def inapplicable(self) -> dict[str, str]:
        """Options set where nothing reads them, each with the sentence refusing it (genlab.config)."""
        found = {}
        if is_set(self, "gaussian_sigma") and (self.likelihood, self.gaussian_variance) != ("gaussian", "fixed"):
            found["gaussian_sigma"] = ("--model.gaussian_sigma is the σ of --model.likelihood gaussian with "
                                       "--model.gaussian_variance fixed; set those too, or drop it.")
        if is_set(self, "binarize") and self.likelihood != "bernoulli":
            found["binarize"] = (f"--model.binarize is for --model.likelihood bernoulli; the {self.likelihood} "
                                 "likelihood reads the pixels as they are, so drop it.")
        if is_set(self, "gaussian_variance") and self.likelihood != "gaussian":
            found["gaussian_variance"] = (f"--model.gaussian_variance is for --model.likelihood gaussian, not "
                                          f"{self.likelihood}; drop it.")
        if is_set(self, "min_lr") and not self.decay_steps:
            found["min_lr"] = ("--model.min_lr is where the cosine decay ends, and --model.decay_steps 0 keeps lr "
                               "constant; set --model.decay_steps too (e.g. to --train.steps), or drop it.")
        for name, neutral, what in KL_SHAPING:  # at its neutral value (beta_vae's beta 1) it undoes a preset: kept
            if self.objective == "iwae" and is_set(self, name) and getattr(self, name) != neutral:
                fix = "drop it" if default_value(type(self), name) == neutral else f"set it to {neutral}"
                found[name] = (f"--model.{name} {what}, and --model.objective iwae has no separate KL term; {fix}, "
                               "or set --model.objective elbo.")
        if self.objective == "elbo" and self.beta == 0:
            for name, neutral, _ in KL_SHAPING:
                if name != "beta" and is_set(self, name) and getattr(self, name) != neutral:
                    found[name] = (f"--model.{name} shapes the KL term, and --model.beta 0 leaves it out of the "
                                   "loss; drop it.")
        return found | unconditional_classes(self)


@dataclass
class BetaVAEConfig(VAEConfig):
    """β-VAE (Higgins et al. 2017): a heavier KL term, reached by a linear warm-up."""

    beta: float = 4.0
    kl_warmup_steps: int = 1000  # within the default 2,000 steps: β reaches 4 halfway


@dataclass
class CVAEConfig(VAEConfig):
    """Conditional VAE (Sohn et al. 2015): p(x|z, y) and q(z|x, y) for class labels y."""

    conditional: bool = True


@dataclass
class IWAEConfig(VAEConfig):
    """IWAE (Burda et al. 2016): the k-sample importance-weighted bound, k = 5 by default."""

    objective: Literal["elbo", "iwae"] = "iwae"
    samples: int = 5
