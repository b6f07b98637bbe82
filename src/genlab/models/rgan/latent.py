"""A latent GAN for sequences: an autoencoder of whole windows, then a GAN on its codes.

The latent GAN of Achlioptas et al. (2018, "l-GAN", for point clouds) carried to time series: a
sequence of T steps and F features is one point of T·F values, and a GAN in its T·F dimensions
must learn both what a sequence looks like and how sequences vary. Here the two are learned apart:

- autoencoder phase (steps [0, autoencoder_steps)): an MLP encoder maps a whole window (B, T, F) to
  a code (B, code_dim), batch-normalised without learned scale, so the codes the GAN later sees
  have about zero mean and unit variance; an MLP decoder maps the code back to the window through a
  sigmoid (the data is scaled to [0, 1]). Both minimise the squared error over valid steps, at
  ``lr_autoencoder`` decayed on a cosine to 0 at the phase's end. Reconstruction is supervised, so
  the decoder learns every shape the data has (a sine that comes back down included), which an
  adversarial critic may value at nothing (docs/rgan.md).
- GAN phase (every later step): the encoder and decoder are frozen; an MLP generator maps
  ``noise_dim`` N(0, 1) values to a code and an MLP critic judges codes — the encoder's codes of the
  real batch against the generator's — with the family's adversarial losses (WGAN-GP by default)
  and ``discriminator_steps`` critic updates per generator update, the batch split between them.
  ``decay_steps`` decays both learning rates from the phase's first step, as TimeGAN's does.

Samples are decoder(generator(z)). The networks are MLPs over a fixed window, so there is no
recurrence to run past it: ``genlab sample --long`` is refused. Variable-length data: the encoder
reads padding as zeros, the reconstruction counts valid steps only, and generated lengths are drawn
from the training lengths' histogram, as for the other models of the family. Neither labels nor
static features are modelled: ``--model.conditional`` and static features are refused, and the
labels of a labelled .npz are not read.
"""

from __future__ import annotations

import copy
from functools import partial

import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.imaging import refuse_non_finite
from genlab.models.base import evaluating
from genlab.models.gan.ema import ema_update
from genlab.models.gan.losses import discriminator_loss, generator_loss, gradient_penalty
from genlab.models.rgan.config import LatentGANConfig
from genlab.models.rgan.model import RecurrentGAN, pad_with
from genlab.models.rgan.networks import valid_mean
from genlab.models.rgan.timegan import PhasedSteps, frozen, minimise
from genlab.nn.perceptron import perceptron
from genlab.train.distributed import batch_option, global_mean
from genlab.train.schedule import set_learning_rate, warmup_cosine


class LatentGAN(PhasedSteps, RecurrentGAN):
    name = "latentgan"
    config_class = LatentGANConfig
    # Four networks, two frozen after the first phase, with their own optimizers: as for TimeGAN,
    # under torchrun each optimizer step averages its gradients across processes.
    ddp_modules = ()
    averages_gradients = True
    compile_targets = ()
    nothing_to_compile = "its four MLPs are small and run eager; leave it off"
    samples_long_series = False  # MLPs over a fixed window: nothing runs past it

    def build_networks(self, config: LatentGANConfig) -> None:
        c = config
        if c.static_features:
            raise ConfigError("latentgan does not model static features (the .npz's static array); train crnngan or "
                              "rcgan on it, or save the data without static.")
        values = c.seq_len * c.features
        leaky = partial(nn.LeakyReLU, 0.2)
        self.encoder = nn.Sequential(perceptron(values, c.code_dim, c.hidden_dim, c.layers, nn.ReLU),
                                     nn.BatchNorm1d(c.code_dim, affine=False))
        self.decoder = perceptron(c.code_dim, values, c.hidden_dim, c.layers, nn.ReLU)
        self.generator = perceptron(c.noise_dim, c.code_dim, c.hidden_dim, c.gan_layers, leaky)
        self.discriminator = perceptron(c.code_dim, 1, c.hidden_dim, c.gan_layers, leaky)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if c.ema_decay else None
        self.step = 0  # steps taken: the phase is a pure function of it (on_train_step sets it exactly)
        self.generator_updates = 0  # the EMA's update count

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config

        def adam(module: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
            return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, fused=True)

        return {"autoencoder": torch.optim.Adam([*self.encoder.parameters(), *self.decoder.parameters()],
                                                lr=c.lr_autoencoder, fused=True),
                "generator": adam(self.generator, c.lr_generator, c.betas),
                "discriminator": adam(self.discriminator, c.lr_discriminator, c.betas)}

    def on_train_step(self, step: int, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        c = self.config
        self.step = step
        self.generator_updates = max(0, step - c.autoencoder_steps)
        if step < c.autoencoder_steps:
            set_learning_rate(optimizers["autoencoder"], warmup_cosine(step, c.lr_autoencoder, 0.0, 0,
                                                                       c.autoencoder_steps))
        elif c.decay_steps:
            for name, lr in (("generator", c.lr_generator), ("discriminator", c.lr_discriminator)):
                set_learning_rate(optimizers[name], warmup_cosine(step - c.autoencoder_steps, lr, 0.0, 0,
                                                                  c.decay_steps - c.autoencoder_steps))

    @property
    def phase(self) -> str:
        return "autoencoder" if self.step < self.config.autoencoder_steps else "gan"

    # --- training ------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Windows (B, T, F), padding read as zeros → codes (B, code_dim)."""
        if mask is not None:
            x = torch.where(mask[..., None], x, 0.0)
        return self.encoder(x.flatten(1))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, code_dim) → windows (B, T, F) in [0, 1]."""
        c = self.config
        return torch.sigmoid(self.decoder(codes)).view(len(codes), c.seq_len, c.features)

    def _phase_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        x, mask, lengths = batch["sequences"], batch.get("mask"), batch.get("lengths")
        self.keep_preview(x, lengths)
        c = self.config
        if len(x) % c.discriminator_steps or len(x) < 2:  # checked from the first step, not when the GAN begins
            raise ConfigError(f"{batch_option(len(x))} must split into --model.discriminator_steps "
                              f"{c.discriminator_steps} equal parts, and hold at least 2 sequences (the codes are "
                              "batch-normalised); raise it.")
        if self.phase == "autoencoder":
            was_training = self.encoder.training
            self.encoder.train()  # its batch norm learns the codes' statistics
            try:
                reconstruction = valid_mean((self.decode(self.encode(x, mask)) - x) ** 2, mask)
                minimise(optimizers["autoencoder"], reconstruction)
            finally:
                self.encoder.train(was_training)
            if self.step == c.autoencoder_steps - 1:  # the autoencoder is done: the checkpoint after holds this
                self.share_code_statistics()
            return {"loss_reconstruction": reconstruction.detach()}
        with torch.no_grad(), evaluating(self.encoder):  # the codes of the finished autoencoder
            real = self.encode(x, mask)
        size = len(real) // c.discriminator_steps
        for i in range(c.discriminator_steps):
            real_part = real[i * size:(i + 1) * size]
            with torch.set_grad_enabled(i == c.discriminator_steps - 1):  # only the last fakes train G
                fake = self.generator(torch.randn(size, c.noise_dim, device=real.device))
            terms = self._critic_update(real_part, fake.detach(), optimizers["discriminator"])
        with frozen(self.discriminator):
            real_logits = self.discriminator(real_part)[:, 0].detach() if c.loss == "rsgan" else None
            g_loss = generator_loss(c.loss, self.discriminator(fake)[:, 0], real_logits)
            minimise(optimizers["generator"], g_loss)
        self.generator_updates += 1
        if self.generator_ema is not None:
            ema_update(self.generator_ema, self.generator, c.ema_decay, updates=self.generator_updates)
        return {**terms, "loss_generator": g_loss.detach(),
                # Spread of the codes across the batch, averaged over their values: a collapsing G drives it to 0.
                "fake_spread": fake.detach().std(0).mean(), "real_spread": real.std(0).mean()}

    def monitor(self, logged: dict[str, float]) -> list[str]:
        real, fake = logged.get("real_spread"), logged.get("fake_spread")
        if real and fake is not None and fake < 0.1 * real:
            return [f"generated codes barely differ from each other (spread {fake:.3f} vs {real:.3f} for the data's "
                    "codes): mode collapse if it lasts past the first few hundred GAN steps; try --model.loss "
                    "wasserstein_gp (the default) with more --model.discriminator_steps, or lower learning rates"]
        return []

    def _critic_update(self, real: torch.Tensor, fake: torch.Tensor,
                       optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        c = self.config
        terms = {"loss_discriminator": discriminator_loss(c.loss, self.discriminator(real)[:, 0],
                                                          self.discriminator(fake)[:, 0])}
        loss = terms["loss_discriminator"]
        if c.loss == "wasserstein_gp":
            terms["penalty_gradient"] = gradient_penalty(lambda codes: self.discriminator(codes)[:, 0], real, fake)
            loss = loss + c.gradient_penalty * terms["penalty_gradient"]
        minimise(optimizer, loss)
        return {name: value.detach() for name, value in terms.items()}

    @torch.no_grad()
    def share_code_statistics(self) -> None:
        """Under torchrun, every process's codes normalised alike: when the autoencoder is done, the
        batch-norm statistics are pooled over processes — the mean of their means, and the mean of
        their variances plus the variance of their means (a no-op in one process)."""
        norm = self.encoder[-1]
        mean = global_mean(norm.running_mean)
        second_moment = global_mean(norm.running_var + norm.running_mean ** 2)
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(second_moment - mean ** 2)

    # --- sampling ------------------------------------------------------------------------------
    def draw_noise(self, n: int, steps: int, device: torch.device,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """The generator's noise, one draw of ``noise_dim`` N(0, 1) values per sequence, (n, 1, noise_dim)."""
        return super().draw_noise(n, 1, device, generator)

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                 lengths: torch.Tensor | None = None, steps: int | None = None,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
        """n sequences (n, T, F) in [0, 1]: decoder(generator(z)) (its EMA when there is one), 0 past
        ``lengths`` (n,) (None: all valid); ``noise`` as :meth:`draw_noise` draws it."""
        if steps is not None and steps != self.config.seq_len:
            raise ConfigError(f"latentgan generates windows of {self.config.seq_len} steps only; drop --long "
                              "(or train crnngan, whose recurrence runs past its window).")
        net = self.generator_ema if self.generator_ema is not None else self.generator
        if noise is None:
            noise = self.draw_noise(n, 1, self.device, generator)
        with evaluating(self):
            generated = self.decode(net(noise[:, 0]))
        return pad_with(refuse_non_finite(generated, "sequences with NaN or infinite values"), lengths, 0.0)
