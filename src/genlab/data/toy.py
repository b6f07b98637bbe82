"""2-D Gaussian mixtures for mode-collapse studies, and the protocol that scores samples on them.

The VEEGAN / PacGAN protocol:
- ring: 8 Gaussians evenly spaced on the unit circle, σ = 0.01;
- grid: 25 Gaussians at {−4, −2, 0, 2, 4}², σ = 0.05;
- a sample is high-quality if it lies within 3σ of its nearest mode; a mode is captured if it has
  at least one high-quality sample; the reverse KL compares the histogram of samples over their
  nearest modes with the uniform distribution over modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from genlab.errors import ConfigError


@dataclass(frozen=True)
class Mixture:
    name: str
    centres: torch.Tensor  # (M, 2)
    sigma: float

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points (n, 2), each from a uniformly chosen mode."""
        modes = torch.randint(0, len(self.centres), (n,), generator=generator)
        return self.centres[modes] + self.sigma * torch.randn(n, 2, generator=generator)


def ring(modes: int = 8, radius: float = 1.0, sigma: float = 0.01) -> Mixture:
    angles = torch.arange(modes) * (2 * math.pi / modes)
    return Mixture("ring", radius * torch.stack([angles.cos(), angles.sin()], 1), sigma)


def grid(side: int = 5, spacing: float = 2.0, sigma: float = 0.05) -> Mixture:
    ticks = (torch.arange(side) - (side - 1) / 2) * spacing
    return Mixture("grid", torch.cartesian_prod(ticks, ticks), sigma)


MIXTURES = {"ring": ring, "grid": grid}


def get_mixture(name: str) -> Mixture:
    if name not in MIXTURES:
        raise ConfigError(f"Unknown toy dataset 'toy:{name}'; choose one of: "
                          f"{', '.join('toy:' + n for n in MIXTURES)}.")
    return MIXTURES[name]()


def mode_statistics(samples: torch.Tensor, mixture: Mixture) -> dict[str, float | int | None]:
    """Modes captured, share of high-quality samples and reverse KL(samples ‖ uniform) over modes."""
    distances = torch.cdist(samples.double(), mixture.centres.double())  # (N, M)
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= 3 * mixture.sigma
    modes = len(mixture.centres)
    counts = torch.bincount(nearest[good], minlength=modes).double()
    share = counts / counts.sum().clamp(min=1)
    present = share > 0
    # With no high-quality sample there is no histogram to compare: reported as None.
    reverse_kl = (share[present] * (share[present] * modes).log()).sum().item() if good.any() else None
    return {
        "modes_captured": int((counts > 0).sum()),
        "modes_total": modes,
        "high_quality_fraction": good.double().mean().item(),
        "reverse_kl": reverse_kl,
        "samples": len(samples),
    }


PROTOCOL_SAMPLES = 2500  # samples scored per model (PacGAN)


def mode_protocol(mixture: Mixture, seed: int) -> dict[str, str | int]:
    """How :func:`mode_statistics` measured a model's samples, for an eval.json."""
    return {"samples": f"{PROTOCOL_SAMPLES} samples of the generator (seed {seed})",
            "reference": f"the 2-D {mixture.name} mixture: {len(mixture.centres)} Gaussians, σ = {mixture.sigma}",
            "metrics": "VEEGAN / PacGAN: a sample is high quality within 3σ of its nearest mode; a mode is captured "
                       "with one high-quality sample; reverse KL of the high-quality samples' mode histogram to "
                       "uniform"}


class PointDataset:
    """``count`` points drawn once from a mixture with a fixed seed; batches are {"points": (B, 2)}."""

    def __init__(self, mixture: Mixture, count: int = 100_000, seed: int = 0) -> None:
        self.mixture = mixture
        self.points = mixture.sample(count, torch.Generator().manual_seed(seed))
        self.description = (f"{count} points from the 2-D {mixture.name} mixture ({len(mixture.centres)} modes, "
                            f"σ = {mixture.sigma})")

    def __len__(self) -> int:
        return len(self.points)

    def get_batch(self, indices: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor | None]:
        return {"points": self.points[indices].to(device), "labels": None}
