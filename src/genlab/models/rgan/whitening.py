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
a direction the data never moves in (two identical columns) stays invertible.
"""

from __future__ import annotations

import torch

from genlab.data.sequences import length_mask

FLOOR = 1e-3  # the smallest standard deviation of a whitened direction, relative to the largest


def fit_whitening(sequences: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[list[float], list[list[float]]]:
    """(mean (F,), basis (F, F)) of the steps of ``sequences`` (N, T, F), the valid ones when
    ``lengths`` (N,) is given, as lists for the model's config (float64 arithmetic)."""
    features = sequences.shape[-1]
    steps = sequences[length_mask(lengths, sequences.shape[1])] if lengths is not None else sequences.reshape(-1, features)
    steps = steps.double()
    mean = steps.mean(0)
    centred = steps - mean
    covariance = centred.T @ centred / max(len(steps) - 1, 1)
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
        basis64 = torch.tensor(basis, dtype=torch.float64)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("basis", basis64.float(), persistent=False)
        self.register_buffer("inverse", torch.linalg.inv(basis64).float(), persistent=False)

    def whiten(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled features (..., F) → whitened coordinates (..., F)."""
        return (x - self.mean) @ self.inverse

    def unwhiten(self, z: torch.Tensor) -> torch.Tensor:
        """Whitened coordinates (..., F) → scaled features (..., F), clamped to the data's [0, 1]."""
        return (self.mean + z @ self.basis).clamp(0.0, 1.0)
