"""Pictures of what a VAE has learned: reconstructions, latent traversals, interpolations.

Each function takes observations x (as the likelihood sees them) and labels (or None) and
returns images (N, C, H, W) in [-1, 1], laid out for a grid of the given number of columns.
Codes are posterior means, so no random numbers are drawn.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genlab.imaging import save_image_grid
from genlab.models.vae.bounds import gaussian_kl


@torch.no_grad()
def reconstructions(model, x: torch.Tensor, labels: torch.Tensor | None, columns: int = 8) -> torch.Tensor:
    """Rows of ``columns`` inputs, each followed by the row of their reconstructions → (2·N', C, H, W)."""
    columns = min(columns, x.shape[0])
    n = x.shape[0] // columns * columns
    x, labels = x[:n], labels[:n] if labels is not None else None
    inputs = model.likelihood.encoder_input(x)  # (N, C, H, W) in [-1, 1]
    decoded = model.decode(model.posterior(x, labels)[0], labels)
    rows = torch.stack([inputs.unflatten(0, (-1, columns)), decoded.unflatten(0, (-1, columns))], dim=1)
    return rows.flatten(0, 2)  # (rows, 2, columns, C, H, W) → (2·N, C, H, W)


@torch.no_grad()
def traversal(model, x: torch.Tensor, labels: torch.Tensor | None, units: int = 8, steps: int = 9,
              span: float = 3.0) -> torch.Tensor:
    """The units with the largest KL over ``x``, most used first: one row each, that unit of the
    first example's code swept over [-span, span] → (units·steps, C, H, W)."""
    mean, log_var = model.posterior(x, labels)
    top = gaussian_kl(mean, log_var).mean(0).argsort(descending=True)[:units]  # (U,)
    codes = mean[0].repeat(len(top), steps, 1)  # (U, steps, D)
    sweep = torch.linspace(-span, span, steps, device=mean.device)
    codes[torch.arange(len(top)), :, top] = sweep
    row_labels = labels[:1].repeat(len(top) * steps) if labels is not None else None
    return model.decode(codes.flatten(0, 1), row_labels)


@torch.no_grad()
def interpolation(model, x: torch.Tensor, labels: torch.Tensor | None, steps: int = 9) -> torch.Tensor:
    """Straight lines between the codes of consecutive pairs of examples, one row per pair
    (decoded with the first one's label) → (pairs·steps, C, H, W)."""
    pairs = x.shape[0] // 2
    mean = model.posterior(x[:2 * pairs], labels[:2 * pairs] if labels is not None else None)[0]
    start, end = mean[0::2, None], mean[1::2, None]  # (P, 1, D)
    t = torch.linspace(0, 1, steps, device=mean.device)[None, :, None]  # (1, steps, 1)
    codes = (1 - t) * start + t * end  # (P, steps, D)
    row_labels = labels[0:2 * pairs:2].repeat_interleave(steps) if labels is not None else None
    return model.decode(codes.flatten(0, 1), row_labels)


def write_pictures(model, x: torch.Tensor, labels: torch.Tensor | None, path: Path) -> list[Path]:
    """Write ``path``-reconstructions.png, -traversal.png and (from two examples) -interpolation.png."""
    stem = Path(path)
    columns = min(8, x.shape[0])
    grids = {"reconstructions": (reconstructions(model, x, labels, columns), columns),
             "traversal": (traversal(model, x, labels), 9)}
    if x.shape[0] >= 2:
        grids["interpolation"] = (interpolation(model, x, labels), 9)
    return [save_image_grid(images, stem.with_name(f"{stem.name}-{name}.png"), ncol=columns)
            for name, (images, columns) in grids.items()]
