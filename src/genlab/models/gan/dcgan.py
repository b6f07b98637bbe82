"""DCGAN (Radford, Metz & Chintala 2016), as the paper and the classic PyTorch recipe build it.

Generator: z (B, latent_dim, 1, 1) → transposed convolutions, each followed by BatchNorm and ReLU,
doubling the resolution from a 4×4 (7×7 for 28×28 images) seed → tanh image (B, C, H, W).
Discriminator: strided convolutions with LeakyReLU(0.2) (BatchNorm on all but the first) down to
the seed size, then one convolution over the whole map → one logit per image.
Weights are drawn from N(0, 0.02) (BatchNorm scales from N(1, 0.02)), as in the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.imaging import save_image_grid
from genlab.models.base import GenerativeModel
from genlab.models.gan.losses import LossName, discriminator_loss, generator_loss

RESOLUTIONS = (28, 32, 64)


@dataclass
class DCGANConfig:
    resolution: int | None = None  # 28, 32 or 64; None: taken from the data
    channels: int | None = None  # 1 or 3; None: taken from the data
    latent_dim: int = 100
    generator_width: int = 64  # channels of the generator's last hidden layer ("ngf")
    discriminator_width: int = 64  # channels of the discriminator's first layer ("ndf")
    loss: LossName = "nonsaturating"
    lr_generator: float = 2e-4
    lr_discriminator: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    # NHWC activations: about 10% faster convolutions on CPU (measured: benchmarks/dcgan_speed.py).
    channels_last: bool = True

    def validate(self) -> None:
        if self.resolution is not None and self.resolution not in RESOLUTIONS:
            raise ConfigError(f"--model.resolution must be one of {', '.join(map(str, RESOLUTIONS))} "
                              f"(got {self.resolution}); set --data.resolution to resize the data.")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"--model.channels must be 1 or 3 (got {self.channels}).")
        for name in ("latent_dim", "generator_width", "discriminator_width"):
            value = getattr(self, name)
            if not 1 <= value <= 4096:
                raise ConfigError(f"--model.{name} must be between 1 and 4096 (got {value}).")


def _layout(resolution: int) -> tuple[int, int]:
    """(seed size, number of ×2 stages) for a resolution: 28 → (7, 2), 32 → (4, 3), 64 → (4, 4)."""
    seed = 7 if resolution == 28 else 4
    return seed, int(math.log2(resolution // seed))


class Generator(nn.Module):
    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        seed, stages = _layout(config.resolution)
        width = [config.generator_width * 2 ** i for i in reversed(range(stages))]  # e.g. 512,256,128,64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.latent_dim, width[0], seed, 1, 0, bias=False),  # (B, w0, seed, seed)
            nn.BatchNorm2d(width[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(width, width[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(width[-1], config.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # (B, latent) → (B, C, H, W)


class Discriminator(nn.Module):
    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        seed, stages = _layout(config.resolution)
        width = [config.discriminator_width * 2 ** i for i in range(stages)]  # e.g. 64,128,256,512
        layers: list[nn.Module] = [nn.Conv2d(config.channels, width[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in zip(width, width[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(width[-1], 1, seed, 1, 0, bias=False)]  # (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).flatten()  # (B,) logits


def dcgan_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGAN(GenerativeModel):
    family = "gan"
    name = "dcgan"
    config_class = DCGANConfig

    def __init__(self, config: DCGANConfig) -> None:
        super().__init__(config)
        if config.resolution is None or config.channels is None:
            raise ConfigError("DCGAN needs --model.resolution and --model.channels (or data to take them from).")
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)
        self.apply(dcgan_init)
        if config.channels_last:
            self.to(memory_format=torch.channels_last)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        return {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=c.lr_generator, betas=c.betas),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=c.lr_discriminator, betas=c.betas),
        }

    def training_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """One discriminator update, then one generator update on the same fakes.

        The generator runs forward once per step: its fakes are detached for the
        discriminator's update and reused, re-scored by the updated discriminator, for the
        generator's update. During the generator's update the discriminator's parameters do not
        require gradients, so no weight gradients are computed for them.
        """
        real = batch["images"]
        if self.config.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        z = torch.randn(real.shape[0], self.config.latent_dim, device=real.device)
        fake = self.generator(z)

        d_opt, g_opt = optimizers["discriminator"], optimizers["generator"]
        d_opt.zero_grad(set_to_none=True)
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach())
        d_loss = discriminator_loss(self.config.loss, real_logits, fake_logits)
        d_loss.backward()
        d_opt.step()

        g_opt.zero_grad(set_to_none=True)
        self.discriminator.requires_grad_(False)
        g_loss = generator_loss(self.config.loss, self.discriminator(fake))
        g_loss.backward()
        self.discriminator.requires_grad_(True)
        g_opt.step()

        return {
            "loss_discriminator": d_loss.detach(),
            "loss_generator": g_loss.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        # Drawn on the CPU so a seed gives the same noise on every device.
        return torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(latent.to(self.device))
        finally:
            self.generator.train(was_training)

    def write_preview(self, path: Path, count: int, seed: int) -> Path:
        images = self.sample(count, torch.Generator().manual_seed(seed))
        return save_image_grid(images, path.with_suffix(".png"))
