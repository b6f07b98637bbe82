"""Matching the data's mean in a fixed random feature space (``--model.random_feature_matching``).

A GAN's discriminator judges one sample (or one pack) at a time, and what it learns follows what
makes a sample look real, not how often the generator draws each kind of sample. On Stacked MNIST
its logits and its features barely move with the digit a channel shows (docs/gan.md), so nothing in
the game evens out a generator that draws some digits a few points too often. The mean of a rich
enough feature map over many samples does move with those shares: each kind of image has its own
mean features, and the mixture's mean is their weighted sum. This term asks the generator to match
the data's mean of features that no player can reshape: a small convolutional network with random
weights, drawn once from a fixed seed and never trained (random features of this kind separate
MNIST digits linearly; Jarrett et al. 2009, Saxe et al. 2011).

One batch is too small to count shares (64 samples give a digit's 10% share a standard deviation of
3.75 points), so both means are running ones: the data's over about 1,000 batches (decay 0.999), the
generator's over about 100 (0.99, so it follows the generator as it changes). Each feature is
measured in units of s = (the data's variance + a tenth of the average variance)^(-1/2), the added
tenth keeping features that are almost always 0 from dominating; g = s · (running fake − running
real) is the standardised gap. The generator's loss gains ``weight`` × ⟨g · s, m⟩ / F, m the current
batch's mean features: its gradient in m is the gradient of ½‖g‖² / F in the running fake mean, so it
moves the batch along the gap, without the pull towards identical samples that the squared gap of a
single batch would add (its expectation counts each batch's variance). The logged term is ‖g‖² / F,
the mean squared standardised gap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genlab.train.distributed import global_mean

DATA_DECAY = 0.999  # the data's running mean: about 1,000 batches
GENERATOR_DECAY = 0.99  # the generator's: about 100 batches, so it follows the generator as it learns
SEED = 0  # the random network's weights; fixed, so every model (and every resume) has the same features


class RandomFeatureMatching(nn.Module):
    """Fixed random features of images and the running means that the generator's term compares.

    Features: two stride-2 convolutions (5×5 to 32 channels, then 3×3 to 64) with ReLUs, drawn with
    He-like scales from a generator seeded with ``SEED``, kept as non-persistent buffers (rebuilt from
    the seed, not saved); (B, C, H, W) → (B, 64 · ⌈H/4⌉ · ⌈W/4⌉). The running means and their update
    count are persistent buffers: saved with the model, so a resumed run continues them exactly.
    Under torchrun each batch's mean is averaged over the processes first, so every rank keeps the
    same running means."""

    def __init__(self, channels: int, resolution: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(SEED)
        self.register_buffer("conv1", torch.randn(32, channels, 5, 5, generator=g) * (channels * 25) ** -0.5,
                             persistent=False)
        self.register_buffer("conv2", torch.randn(64, 32, 3, 3, generator=g) * (2 / (32 * 9)) ** 0.5,
                             persistent=False)
        size = 64 * ((resolution + 3) // 4) ** 2
        self.register_buffer("data_mean", torch.zeros(size))
        self.register_buffer("data_square", torch.zeros(size))  # running mean of the squared features
        self.register_buffer("generator_mean", torch.zeros(size))
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))
        self._observed = False  # whether observe_data has run in this process (checked without reading `updates`)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → (B, F) in float32 (the convolutions run in the caller's precision)."""
        x = F.relu(F.conv2d(images, self.conv1.to(images.dtype), stride=2, padding=2))
        x = F.relu(F.conv2d(x, self.conv2.to(x.dtype), stride=2, padding=1))
        return x.flatten(1).float()

    @torch.no_grad()
    def observe_data(self, images: torch.Tensor) -> None:
        """Fold a batch of training images into the data's running mean (once per training step,
        before ``loss``). A step the trainer skips for a non-finite gradient has already moved the running
        means, as it has BatchNorm's statistics."""
        features = self.features(images)
        moments = global_mean(torch.stack([features.mean(0), features.pow(2).mean(0)]))
        self.data_mean.lerp_(moments[0], 1 - DATA_DECAY)
        self.data_square.lerp_(moments[1], 1 - DATA_DECAY)
        self.updates += 1
        self._observed = True

    def loss(self, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fold the batch of fakes into the generator's running mean; → (mean squared gap per feature,
        detached, for the log; the term to add to the generator's loss, whose gradient moves the batch
        along the gap). Needs at least one ``observe_data`` before it."""
        if not self._observed:
            raise RuntimeError("RandomFeatureMatching.loss was called before any observe_data, so the data's mean is "
                               "unknown; fold a batch of training images in with observe_data first.")
        batch_mean = self.features(fake).mean(0)
        with torch.no_grad():
            self.generator_mean.lerp_(global_mean(batch_mean.detach()), 1 - GENERATOR_DECAY)
            # Bias-corrected like Adam's moments: the running means start at 0. (A tensor power: no
            # device-to-host copy of the count on a GPU.)
            data_mean = self.data_mean / (1 - DATA_DECAY ** self.updates)
            variance = (self.data_square / (1 - DATA_DECAY ** self.updates) - data_mean.pow(2)).clamp_min(0)
            scale = (variance + 0.1 * variance.mean()).clamp_min(1e-12).rsqrt()
            gap = (self.generator_mean / (1 - GENERATOR_DECAY ** self.updates) - data_mean) * scale
        return gap.pow(2).mean(), (gap * scale * batch_mean).sum() / gap.numel()
