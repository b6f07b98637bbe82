"""The DCGAN backbone (Radford, Metz & Chintala 2016), as the paper and the classic recipe build it.

Generator: z (B, latent_dim) → transposed convolutions, each followed by BatchNorm and ReLU,
doubling the resolution from a 4×4 (7×7 for 28×28 images) seed → tanh image (B, C, H, W).
Discriminator: strided convolutions with LeakyReLU(0.2) (BatchNorm on all but the first) down to
the seed size, then one linear map of the whole feature map → one logit per image.
Convolution weights are drawn from N(0, 0.02) (BatchNorm scales from N(1, 0.02)), as in the paper;
the discriminator's linear head keeps torch's default initialisation, and a projection's class
embedding is drawn Glorot-uniform (``layers.py``; at N(0, 1) it would swamp the logit).

Options beyond the paper, all off by default: class conditioning (G: the class one-hot beside z
and class-conditional BatchNorm; D: a projection or auxiliary head), self-attention at chosen
resolutions, spectral norm, packed inputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from genlab.models.gan.config import GANConfig
from genlab.models.gan.layers import DiscriminatorHead, Norm2d, spectral
from genlab.nn.attention2d import SelfAttention2d
from genlab.nn.conditioning import require_labels, with_label_maps


def _layout(resolution: int) -> tuple[int, int]:
    """(seed size, number of ×2 stages) for a resolution: 28 → (7, 2), 32 → (4, 3), 64 → (4, 4)."""
    seed = 7 if resolution == 28 else 4
    return seed, int(math.log2(resolution // seed))


class Generator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        seed, stages = _layout(config.resolution)
        sn = config.spectral_norm == "both"
        widths = [config.generator_width * 2 ** i for i in reversed(range(stages))]  # e.g. 512,256,128,64
        self.num_classes = num_classes  # a conditional G reads its class one-hot beside z
        inputs = config.latent_dim + (num_classes or 0)
        self.stem = spectral(nn.ConvTranspose2d(inputs, widths[0], seed, 1, 0, bias=False), sn)
        self.convs = nn.ModuleList([spectral(nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), sn)
                                    for a, b in zip(widths, widths[1:])])
        self.norms = nn.ModuleList([Norm2d(w, num_classes) for w in widths])
        sizes = [seed * 2 ** i for i in range(stages)]  # feature-map size after each norm
        self.feature_sizes = set(sizes)  # where self-attention can sit
        self.attention = nn.ModuleDict({str(i): SelfAttention2d(w, sn) for i, (w, s) in enumerate(zip(widths, sizes))
                                        if s in config.attention_resolutions})
        self.to_image = spectral(nn.ConvTranspose2d(widths[-1], config.channels, 4, 2, 1, bias=False), sn)
        self.act = nn.ReLU(inplace=True)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self._stem(z, labels)  # (B, w0, seed, seed)
        for i, norm in enumerate(self.norms):
            x = self.act(norm(x, labels))
            if str(i) in self.attention:
                x = self.attention[str(i)](x)
            if i < len(self.convs):
                x = self.convs[i](x)  # ×2 resolution
        return torch.tanh(self.to_image(x))  # (B, C, H, W)

    def _stem(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The stem on [z, one-hot(label)]: z's rows of its weight by a transposed convolution, and
        the one-hot's rows by a lookup of each label's (w0, seed, seed) slice, which is what the
        convolution would compute from them without multiplying the one-hot's zeros (the same weight,
        and so the same function, spectral norm and checkpoint)."""
        if not self.num_classes:
            return self.stem(z[:, :, None, None])
        require_labels(labels)
        weight = self.stem.weight  # (latent_dim + K, w0, seed, seed); normalised under spectral norm
        latent = z.shape[1]
        return F.conv_transpose2d(z[:, :, None, None], weight[:latent]) + weight[latent:][labels]


class Discriminator(nn.Module):
    def __init__(self, config: GANConfig, num_classes: int | None) -> None:
        super().__init__()
        seed, stages = _layout(config.resolution)
        sn = config.spectral_norm != "none"
        widths = [config.discriminator_width * 2 ** i for i in range(stages)]  # e.g. 64,128,256,512
        self.concat_classes = num_classes if config.discriminator_conditioning == "concat" else None
        channels = [config.channels * config.pack + (self.concat_classes or 0) * config.pack, *widths]
        sizes = [config.resolution // 2 ** (i + 1) for i in range(stages)]  # size after each conv
        self.feature_sizes = set(sizes)  # where self-attention can sit
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels, channels[1:])):
            layers.append(spectral(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), sn))
            # No BatchNorm under spectral norm (it undoes the Lipschitz bound) or a gradient penalty
            # (a per-sample gradient is ill-defined when BatchNorm couples the batch; Gulrajani et al. §4).
            if i > 0 and not sn and not config.gradient_penalised:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            if sizes[i] in config.attention_resolutions:
                layers.append(SelfAttention2d(c_out, sn))
        self.trunk = nn.Sequential(*layers)
        self.head = DiscriminatorHead(widths[-1] * seed * seed, num_classes, config.discriminator_conditioning, sn)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None, features: bool = False):
        """(B, C·pack, H, W) → (logits (B,), class logits (B, K) or None[, the head's input (B, F)])."""
        if self.concat_classes is not None:
            images = with_label_maps(images, labels, self.concat_classes)
        h = self.trunk(images).flatten(1)
        return (*self.head(h, labels), h) if features else self.head(h, labels)


def dcgan_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        spectral = parametrize.is_parametrized(module, "weight")
        if spectral:  # registered again below: its power iteration must start from the new weight, not the old
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
        nn.init.normal_(module.weight, 0.0, 0.02)
        if spectral:
            nn.utils.parametrizations.spectral_norm(module)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
