"""Image grids with numpy + PIL (no torchvision)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from genlab.errors import SampleError
from genlab.fileio import atomic_write, atomic_write_bytes, atomic_write_npz


def refuse_non_finite(samples: torch.Tensor, what: str) -> torch.Tensor:
    """``samples`` (N, ...) unchanged, or a SampleError counting the samples holding NaN or infinity."""
    finite = torch.isfinite(samples)
    if not finite.all():
        broken = int((~finite).flatten(1).any(1).sum())
        raise SampleError(f"The model drew {broken} of {len(samples)} {what}: its activations overflow; use an "
                          "earlier checkpoint.")
    return samples


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Map images in [-1, 1], shape (N, C, H, W), to uint8 (N, H, W, C) with rounding.

    A NaN pixel is refused rather than written: clamping and the uint8 cast would turn it into a
    plausible black pixel, and a broken model would pass for a dark one."""
    x = refuse_non_finite(images.detach().float().cpu(), "images with NaN or infinite pixels")
    x = x.clamp(-1, 1)
    x = ((x + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def make_grid(images: np.ndarray, ncol: int | None = None, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tile uint8 images (N, H, W, C) into one (rows*H', cols*W', C) array, row-major."""
    n, h, w, c = images.shape
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    pixels = (nrow * (h + padding) + padding) * (ncol * (w + padding) + padding)
    if Image.MAX_IMAGE_PIXELS and pixels > Image.MAX_IMAGE_PIXELS:
        # PIL refuses to open such a picture (as a possible decompression bomb), and so do most viewers.
        raise SampleError(f"A grid of {n:,} images of {h}×{w} pixels would have {pixels / 1e6:,.0f} million pixels, "
                          f"more than PIL and most viewers open ({Image.MAX_IMAGE_PIXELS / 1e6:,.0f} million); draw "
                          "fewer, or write them as an array (--out samples.npz).")
    grid = np.full((nrow * (h + padding) + padding, ncol * (w + padding) + padding, c), pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top:top + h, left:left + w] = images[i]
    return grid


def grid_png(images: torch.Tensor, ncol: int | None = None) -> bytes:
    """Images in [-1, 1], shape (N, C, H, W), as the bytes of one PNG grid."""
    grid = make_grid(to_uint8(images), ncol)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, format="PNG")
    return buffer.getvalue()


def save_image_grid(images: torch.Tensor, path: str | Path, ncol: int | None = None) -> Path:
    """Save images in [-1, 1], shape (N, C, H, W), as one PNG grid (written atomically)."""
    return atomic_write_bytes(path, grid_png(images, ncol))


def save_images_npz(images: torch.Tensor, path: str | Path, labels: torch.Tensor | None = None,
                    class_names: list[str] | tuple[str, ...] | None = None) -> Path:
    """Save images in [-1, 1], shape (N, C, H, W), as an .npz genlab reads back (``genlab eval
    samples.npz --metrics ...``, ``--data``): x, uint8 (N, H, W, C), and given ``labels``, y, each
    image's class, with ``class_names`` (label k's name at k) when the classes have names (written
    atomically)."""
    arrays = {"x": to_uint8(images)}
    if labels is not None:
        arrays["y"] = labels.detach().cpu().numpy().astype(np.int64)
        if class_names is not None:
            arrays["class_names"] = np.array(class_names, dtype=str)
    return atomic_write_npz(path, arrays)


GRID_LINES_UP_TO = 10  # a scatter plot draws its unit grid while at most this many units lie each side of 0


def save_scatter(points: torch.Tensor, path: str | Path, size: int = 512, extent: float | None = None,
                 marks: torch.Tensor | None = None, mark_radius: float = 0.0) -> Path:
    """Save 2-D points (N, 2) as a black-on-white PNG scatter plot, y up, centred on the origin and
    reaching ``extent`` (default: just past the farthest point or mark) on each side. The axes are
    drawn in grey, and while the plot spans at most ``GRID_LINES_UP_TO`` units each way a light grid
    at every whole unit (the toy ring's radius is 1, its grid's spacing 2), so a plot shows where
    points lie. ``marks`` (M, 2), such as a mixture's modes, are red circles of ``mark_radius`` (at
    least 4 pixels), drawn under the points: an empty circle is a mode no sample reached."""
    xy = refuse_non_finite(points.detach().float().cpu(), "points with NaN or infinite coordinates")
    marks = marks.detach().float().cpu() if marks is not None else torch.empty(0, 2)
    if extent is None:
        farthest = torch.cat([xy.abs().flatten(), marks.abs().flatten() + mark_radius]).max()
        extent = float(farthest.clamp(min=1e-6)) * 1.1

    def pixel(value: torch.Tensor) -> torch.Tensor:
        return ((value / extent + 1) / 2 * (size - 1)).round().long().clamp(0, size - 1)

    canvas = np.full((size, size, 3), 255, np.uint8)
    units = range(-math.floor(extent), math.floor(extent) + 1) if extent <= GRID_LINES_UP_TO else (0,)
    for unit in units:
        at = int(pixel(torch.tensor(float(unit))))
        shade = 150 if unit == 0 else 225
        canvas[:, at] = np.minimum(canvas[:, at], shade)  # x = unit
        canvas[size - 1 - at, :] = np.minimum(canvas[size - 1 - at, :], shade)  # y = unit
    picture = Image.fromarray(canvas)
    if len(marks):
        draw = ImageDraw.Draw(picture)
        radius = max(4.0, mark_radius / extent * (size - 1) / 2)
        for x, y in pixel(marks).tolist():
            draw.ellipse((x - radius, size - 1 - y - radius, x + radius, size - 1 - y + radius), outline=(220, 0, 0))
    canvas = np.asarray(picture).copy()
    pixels = pixel(xy)
    canvas[size - 1 - pixels[:, 1].numpy(), pixels[:, 0].numpy()] = 0
    picture = Image.fromarray(canvas)
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))
