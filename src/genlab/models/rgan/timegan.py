"""TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019), following the reference code's losses.

Five recurrent networks (each a :class:`RecurrentMap` with a sigmoid read-out but D):
embedder h = E(x), recovery x̃ = R(h), generator ê = G(z) with z ~ U(0, 1)^(T×F) (or, with
``--model.noise sequence``, one U(0, 1)^noise_dim draw repeated at every step; ``both``, the two), supervisor
ĥ = S(·) (one layer fewer) predicting the next latent step, and a discriminator D giving a logit
per step. With BCE(logits, label) averaged over batch and steps:

- autoencoder phase: L_R = MSE(x, x̃);  E, R minimise w_R·√L_R
- supervised phase:  L_S = MSE(h_{2..T}, S(h)_{1..T-1});  S (and G, as in the reference) minimise L_S
- joint phase, each step: ``generator_updates`` times
      G, S minimise  BCE(D(ĥ), 1) + γ·BCE(D(ê), 1) + η·√L_S + w_M·(L_V1 + L_V2)
        with ĥ = S(ê), x̂ = R(ĥ), L_V1 = mean|√(Var x̂ + 1e-6) − √(Var x + 1e-6)|,
        L_V2 = mean|mean x̂ − mean x| (moments over the batch)
      E, R minimise  w_R·√L_R + w_ES·L_S
  then D minimises BCE(D(h), 1) + BCE(D(ĥ), 0) + γ·BCE(D(ê), 0), only while that loss > 0.15.

Each phase has its own Adam optimizers, as in the reference. Unlike the reference, the data is
min-max scaled once (by the data loader), not twice, and one training step uses the trainer's one
batch for both generator/embedder updates and the discriminator's check and update (the
reference draws a fresh batch for each). Sampling: x̂ = R(S(G(z))).

Variable lengths (a batch with a ``mask``): every mean above — the MSEs, the BCEs and the batch
moments of each (step, feature) — runs over valid steps only (L_S over pairs whose later step is
valid); fakes take the real batch's lengths. All five networks are unidirectional, so padding
never reaches a valid step and no packing is needed. The reference passes the lengths to its RNNs
but still averages its losses over the padding.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from genlab.errors import ConfigError
from genlab.imaging import refuse_non_finite
from genlab.models.base import evaluating
from genlab.models.rgan.config import TimeGANConfig
from genlab.models.rgan.model import RecurrentGAN, pad_with
from genlab.models.rgan.networks import RecurrentMap, valid_mean
from genlab.train.distributed import global_mean
from genlab.train.schedule import set_learning_rate, warmup_cosine


def bce(logits: torch.Tensor, target: float, mask: torch.Tensor | None) -> torch.Tensor:
    """BCE of per-step logits (B, T, 1) against a constant target, averaged over the valid steps."""
    return valid_mean(F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target), reduction="none"),
                      mask)


def mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Squared error (B, T, D) averaged over the valid steps and D."""
    return valid_mean((prediction - target) ** 2, mask)


def batch_moments(x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean and std (√(variance + 1e-6)) over the batch of x (B, T, F), each (T, F), and the (T,) steps
    that some sequence reaches; only valid entries count."""
    if mask is None:
        return x.mean(0), (x.var(0, correction=0) + 1e-6).sqrt(), torch.ones(x.shape[1], dtype=torch.bool,
                                                                                device=x.device)
    weight = mask[..., None]  # (B, T, 1)
    count = weight.sum(0).clamp(min=1)  # (T, 1)
    mean = torch.where(weight, x, 0.0).sum(0) / count
    variance = torch.where(weight, (x - mean) ** 2, 0.0).sum(0) / count
    return mean, (variance + 1e-6).sqrt(), mask.any(0)


class PhasedSteps:
    """``training_step`` for a model whose phase is a pure function of ``self.step``: the phase's own
    step (``_phase_step``), then the count, so that a hand-written loop without ``on_train_step``
    still moves through the phases."""

    def training_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        terms = self._phase_step(batch, optimizers)
        self.step += 1
        return terms


class TimeGAN(PhasedSteps, RecurrentGAN):
    name = "timegan"
    config_class = TimeGANConfig
    # Five networks, frozen and reused across five optimizers: DDP's one-backward-per-forward contract
    # does not fit, so under torchrun each optimizer step averages its gradients across processes.
    ddp_modules = ()
    averages_gradients = True
    compile_targets = ()  # five recurrent stacks, which Dynamo leaves to eager mode: nothing to compile
    nothing_to_compile = "its five recurrent networks run eager (Dynamo leaves them to eager mode); leave it off"

    def build_networks(self, config: TimeGANConfig) -> None:
        c = config
        if c.static_features:
            raise ConfigError("timegan does not model static features (the .npz's static array); train crnngan or "
                              "rcgan on it, or save the data without static.")
        self.embedder = RecurrentMap(c.features, c.hidden_dim, c.hidden_dim, c.layers, c.cell)
        self.recovery = RecurrentMap(c.hidden_dim, c.features, c.hidden_dim, c.layers, c.cell)
        self.generator = RecurrentMap(sum(c.noise_widths), c.hidden_dim, c.hidden_dim, c.layers, c.cell)
        self.supervisor = RecurrentMap(c.hidden_dim, c.hidden_dim, c.hidden_dim, c.layers - 1, c.cell)
        self.discriminator = RecurrentMap(c.hidden_dim, 1, c.hidden_dim, c.layers, c.cell, activation=None)
        self.step = 0  # steps taken: the phase is a pure function of it (on_train_step sets it exactly)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        def adam(*modules):
            params = [p for m in modules for p in m.parameters()]
            return torch.optim.Adam(params, lr=self.config.lr_generator, betas=self.config.betas, fused=True)

        return {
            "autoencoder": adam(self.embedder, self.recovery),  # phase 1
            "supervised": adam(self.generator, self.supervisor),  # phase 2
            "generator": adam(self.generator, self.supervisor),  # joint phase
            "embedder": adam(self.embedder, self.recovery),  # joint phase
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=self.config.lr_discriminator,
                                              betas=self.config.betas, fused=True),
        }

    def on_train_step(self, step: int, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        self.step = step
        c = self.config
        joint_start = c.autoencoder_steps + c.supervised_steps
        if c.decay_steps and step >= joint_start:
            for name, lr in (("generator", c.lr_generator), ("embedder", c.lr_generator),
                             ("discriminator", c.lr_discriminator)):
                set_learning_rate(optimizers[name], warmup_cosine(step - joint_start, lr, 0.0, 0,
                                                                  c.decay_steps - joint_start))

    @property
    def phase(self) -> str:
        c = self.config
        if self.step < c.autoencoder_steps:
            return "autoencoder"
        return "supervised" if self.step < c.autoencoder_steps + c.supervised_steps else "joint"

    # --- the losses ----------------------------------------------------------------------------
    def reconstruction_loss(self, x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(L_R, L_S) for real sequences (B, T, F) with valid steps ``mask`` (B, T) or None (all)."""
        h = self.embedder(x)
        return mse(self.recovery(h), x, mask), self.supervised_loss(h, mask)

    def supervised_loss(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """L_S: the supervisor's one-step-ahead error on real latents h (B, T, H), over valid targets."""
        return mse(self.supervisor(h)[:, :-1], h[:, 1:], mask[:, 1:] if mask is not None else None)

    noise_distribution = staticmethod(torch.rand)  # U(0, 1), the reference's

    def fake_latents(self, batch: int, device: torch.device, generator: torch.Generator | None = None,
                     steps: int | None = None, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(ê, ĥ) = (G(z), S(G(z))), each (B, T, H), for z ~ U(0, 1) (``noise``, or drawn here with
        :meth:`draw_noise`); T = ``steps`` or the window."""
        z = noise if noise is not None else self.draw_noise(batch, steps or self.config.seq_len, device, generator)
        e_hat = self.generator(z)
        return e_hat, self.supervisor(e_hat)

    def discriminator_loss(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        with torch.no_grad():
            h = self.embedder(x)
            e_hat, h_hat = self.fake_latents(x.shape[0], x.device)
        return (bce(self.discriminator(h), 1.0, mask) + bce(self.discriminator(h_hat), 0.0, mask)
                + self.config.gamma * bce(self.discriminator(e_hat), 0.0, mask))

    def generator_loss(self, x: torch.Tensor, mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        c = self.config
        e_hat, h_hat = self.fake_latents(x.shape[0], x.device)
        x_hat = self.recovery(h_hat)
        adversarial = (bce(self.discriminator(h_hat), 1.0, mask)
                       + c.gamma * bce(self.discriminator(e_hat), 1.0, mask))
        supervised = self.supervised_loss(self.embedder(x), mask)
        (fake_mean, fake_std, reached), (real_mean, real_std, _) = batch_moments(x_hat, mask), batch_moments(x, mask)
        moments = (fake_std - real_std)[reached].abs().mean() + (fake_mean - real_mean)[reached].abs().mean()
        loss = adversarial + c.supervised_weight * supervised.sqrt() + c.moment_weight * moments
        return {"loss": loss, "adversarial": adversarial, "supervised": supervised, "moments": moments}

    # --- training ------------------------------------------------------------------------------
    def _phase_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        x, mask, lengths = batch["sequences"], batch.get("mask"), batch.get("lengths")
        self.keep_preview(x, lengths)
        c = self.config
        if self.phase == "autoencoder":
            reconstruction = mse(self.recovery(self.embedder(x)), x, mask)
            minimise(optimizers["autoencoder"], c.reconstruction_weight * reconstruction.sqrt())
            return {"loss_reconstruction": reconstruction.detach()}
        if self.phase == "supervised":
            with torch.no_grad():
                h = self.embedder(x)
            supervised = self.supervised_loss(h, mask)
            minimise(optimizers["supervised"], supervised)
            return {"loss_supervised": supervised.detach()}
        for _ in range(c.generator_updates):
            with frozen(self.discriminator, self.embedder, self.recovery):
                terms = self.generator_loss(x, mask)
                minimise(optimizers["generator"], terms["loss"])
            with frozen(self.supervisor):
                reconstruction, supervised = self.reconstruction_loss(x, mask)
                minimise(optimizers["embedder"],
                         c.reconstruction_weight * reconstruction.sqrt() + c.embedder_supervised_weight * supervised)
        d_loss = self.discriminator_loss(x, mask)
        # The reference's check: train D only while it is not already winning, a host sync per step
        # (under torchrun on the loss averaged over processes, so that every rank decides alike).
        if global_mean(d_loss).item() > c.discriminator_threshold:
            minimise(optimizers["discriminator"], d_loss)
        return {"loss_generator": terms["loss"].detach(), "loss_adversarial": terms["adversarial"].detach(),
                "loss_supervised": supervised.detach(), "loss_moments": terms["moments"].detach(),
                "loss_reconstruction": reconstruction.detach(), "loss_discriminator": d_loss.detach()}

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                 lengths: torch.Tensor | None = None, steps: int | None = None,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
        """n sequences (n, T, F) in [0, 1]: x̂ = R(S(G(z))), 0 past ``lengths`` (n,) (None: all valid);
        ``noise`` as in :meth:`RecurrentGAN.generate`."""
        with evaluating(self):
            latents = self.fake_latents(n, self.device, generator, steps, noise)[1]
            # NaN would pass for padding in the written samples: refused, as RecurrentGAN.generate does.
            generated = refuse_non_finite(self.recovery(latents), "sequences with NaN or infinite values")
            return pad_with(generated, lengths, 0.0)


def minimise(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@contextmanager
def frozen(*modules: torch.nn.Module) -> Iterator[None]:
    """No weight gradients for ``modules`` inside the block: the update in it trains the other players."""
    for module in modules:
        module.requires_grad_(False)
    try:
        yield
    finally:
        for module in modules:
            module.requires_grad_(True)
