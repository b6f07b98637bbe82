"""PCA whitening of the scaled features, the space a recurrent GAN with ``--model.whiten`` trains in.

Time series often have features that move together: a stock's open, high, low and close prices
differ by a fraction of a percent of their range, and an adjusted close may equal the close
outright. On the min-max scale a generator must learn each one's read-out separately, and small
independent errors between them are the easiest cue a post-hoc classifier has (docs/rgan.md).
Whitened, the data's principal directions each have unit variance: the discriminator sees a
disagreement between tied features as plainly as a move of the whole price, and whatever the
generator puts in a direction the data barely uses is scaled back down by that direction's small
standard deviation when mapped back.

``x = mean + z @ basis`` maps the whitened ``z`` back; ``basis``'s rows are the covariance's
eigenvectors times their standard deviations, each floored at ``FLOOR`` times the largest so that
a direction the data never moves in (two identical columns) stays invertible. Both maps run in
fp32 even under autocast: bf16 would round the inverse's large entries (about 1/FLOOR) and put
noise in exactly the directions whitening exists to show.
"""

from __future__ import annotations

import torch

from genlab.data.sequences import length_mask
from genlab.errors import ConfigError

FLOOR = 1e-3  # the smallest standard deviation of a whitened direction, relative to the largest
CHUNK = 4096  # sequences per pass of fit_whitening: stride-1 windows are views, their float64 copy is not


def fit_whitening(sequences: torch.Tensor,
                  lengths: torch.Tensor | None = None) -> tuple[list[float], list[list[float]]]:
    """(mean (F,), basis (F, F)) of the steps of ``sequences`` (N, T, F), the valid ones when
    ``lengths`` (N,) is given, as lists for the model's config (float64 sums, a chunk at a time)."""
    features = sequences.shape[-1]
    count = 0
    total = torch.zeros(features, dtype=torch.float64)
    products = torch.zeros(features, features, dtype=torch.float64)
    for start in range(0, len(sequences), CHUNK):
        chunk = sequences[start:start + CHUNK]
        if lengths is not None:
            steps = chunk[length_mask(lengths[start:start + CHUNK], chunk.shape[1])].double()
        else:
            steps = chunk.reshape(-1, features).double()
        count += len(steps)
        total += steps.sum(0)
        products += steps.T @ steps
    mean = total / count
    covariance = (products - count * torch.outer(mean, mean)) / max(count - 1, 1)
    variances, vectors = torch.linalg.eigh(covariance)
    largest = variances.max().clamp_min(1e-24)
    deviations = variances.clamp_min(largest * FLOOR**2).sqrt()
    basis = (vectors * deviations).T  # row i: eigenvector i times its standard deviation
    return mean.tolist(), basis.tolist()


class Whitening(torch.nn.Module):
    """The map between the scaled features and their whitened coordinates (buffers, not saved:
    the config holds them)."""

    def __init__(self, mean: list[float], basis: list[list[float]]) -> None:
        super().__init__()
        # on the CPU even when the model is built on the meta device (to be sized): checked, not just shaped
        basis64 = torch.tensor(basis, dtype=torch.float64, device="cpu")
        inverse, info = torch.linalg.inv_ex(basis64)
        if info or not (torch.isfinite(inverse).all() and torch.isfinite(torch.tensor(mean, device="cpu")).all()):
            raise ConfigError("--model.whitening_basis is not an invertible matrix of finite numbers (or the mean is "
                              "not finite); drop --model.whitening_mean and --model.whitening_basis to fit them again "
                              "from the data.")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32, device="cpu"), persistent=False)
        self.register_buffer("basis", basis64.float(), persistent=False)
        self.register_buffer("inverse", inverse.float(), persistent=False)

    def whiten(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled features (..., F) → whitened coordinates (..., F), in fp32."""
        with torch.autocast(x.device.type, enabled=False):
            return (x.float() - self.mean) @ self.inverse

    def unwhiten(self, z: torch.Tensor) -> torch.Tensor:
        """Whitened coordinates (..., F) → scaled features (..., F) in fp32, clamped to the data's [0, 1]."""
        with torch.autocast(z.device.type, enabled=False):
            return (self.mean + z.float() @ self.basis).clamp(0.0, 1.0)
