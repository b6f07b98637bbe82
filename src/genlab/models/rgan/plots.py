"""Line plots of sequences with Pillow: a row of real sequences above rows of synthetic ones.

Each panel is one sequence, its steps left to right; every feature is a polyline in its own colour
(named in a legend below when the names are given), on the scaled [0, 1] axis (y up), so panels
of real and synthetic data compare directly. Long sequences get wider panels, fewer to a row.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from genlab.fileio import atomic_write

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
PANEL = (160, 96)  # width, height in pixels (the width grows with long sequences, 2 px a step)
WIDEST_PANEL = 1280
MARGIN = 4
LABEL_HEIGHT = 14
LEGEND_NAMES = 10  # feature names shown; more are counted


def save_sequence_plot(synthetic: torch.Tensor, path: str | Path, real: torch.Tensor | None = None,
                       columns: int = 8, names: list[str] | None = None) -> Path:
    """Plot sequences (N, T, F) in [0, 1] (NaN after a shorter sequence's end) as a PNG grid: ``real``
    (if given) first, labelled rows; ``names``, the features', in a legend below."""
    panel_width = min(max(PANEL[0], 2 * synthetic.shape[1]), WIDEST_PANEL)
    columns = max(1, min(columns, (columns * PANEL[0]) // panel_width))  # about as wide as 8 short panels
    rows = [("real", real)] if real is not None and len(real) else []
    rows += [("synthetic", synthetic[i:i + columns]) for i in range(0, len(synthetic), columns)]
    width = max(columns * (panel_width + MARGIN) + MARGIN, 480)
    height = (len(rows) + 1) * (PANEL[1] + MARGIN + LABEL_HEIGHT) - PANEL[1] + MARGIN  # + a legend line
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    for r, (name, sequences) in enumerate(rows):
        top = MARGIN + r * (PANEL[1] + MARGIN + LABEL_HEIGHT)
        if r == 0 or name != rows[r - 1][0]:
            draw.text((MARGIN, top), name, fill="black")
        for i, sequence in enumerate(sequences[:columns].detach().float().cpu().clamp(0, 1)):
            left = MARGIN + i * (panel_width + MARGIN)
            box = (left, top + LABEL_HEIGHT, left + panel_width - 1, top + LABEL_HEIGHT + PANEL[1] - 1)
            draw.rectangle(box, outline=(200, 200, 200))
            draw_panel(draw, sequence, box)
    draw_legend(draw, (MARGIN, height - LABEL_HEIGHT - MARGIN // 2), synthetic.shape[1], synthetic.shape[2], names)
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))


def draw_legend(draw: ImageDraw.ImageDraw, at: tuple[int, int], steps: int, features: int,
                names: list[str] | None) -> None:
    """The axes in words, then each feature's name in its line's colour (the first LEGEND_NAMES)."""
    x, y = at
    caption = f"steps 0-{steps - 1} left to right; values 0 to 1 bottom to top, as scaled for training and scoring"
    draw.text((x, y), caption, fill="black")
    x += int(draw.textlength(caption)) + 12
    for f, name in enumerate((names or [])[:LEGEND_NAMES]):
        draw.text((x, y), name, fill=COLOURS[f % len(COLOURS)])
        x += int(draw.textlength(name)) + 8
    if names and features > LEGEND_NAMES:
        draw.text((x, y), f"(+{features - LEGEND_NAMES} more)", fill="black")


def draw_panel(draw: ImageDraw.ImageDraw, sequence: torch.Tensor, box: tuple[int, int, int, int]) -> None:
    """One sequence (T, F) in [0, 1] as F polylines inside ``box`` (left, top, right, bottom); NaN
    steps (the padding after a shorter sequence) are left out, so its lines stop early."""
    left, top, right, bottom = box
    steps = sequence.shape[0]
    xs = [left + 2 + (right - left - 4) * t / max(1, steps - 1) for t in range(steps)]
    valid = int((~sequence.isnan().all(-1)).sum())  # padding only ever follows the valid steps
    xs, sequence = xs[:valid], sequence[:valid]
    for f in range(sequence.shape[1]):
        ys = (bottom - 2 - (bottom - top - 4) * sequence[:, f]).tolist()
        draw.line(list(zip(xs, ys)), fill=COLOURS[f % len(COLOURS)], width=1)


SCATTER_PANEL = 320
REAL_COLOUR, SYNTHETIC_COLOUR = (214, 39, 40), (31, 119, 180)


def save_projection_plot(panels: list[tuple[str, torch.Tensor, torch.Tensor]], path: str | Path) -> Path:
    """Scatter plots side by side, one per (title, real (N, 2), synthetic (M, 2)): real points in red,
    synthetic in blue, each panel scaled to hold both sets."""
    width = len(panels) * (SCATTER_PANEL + MARGIN) + MARGIN
    height = SCATTER_PANEL + 2 * LABEL_HEIGHT + 2 * MARGIN
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    for i, (title, real, synthetic) in enumerate(panels):
        left, top = MARGIN + i * (SCATTER_PANEL + MARGIN), MARGIN + LABEL_HEIGHT
        draw.text((left, MARGIN), title, fill="black")
        draw.rectangle((left, top, left + SCATTER_PANEL - 1, top + SCATTER_PANEL - 1), outline=(200, 200, 200))
        both = torch.cat([real, synthetic]).double()
        low, high = both.min(0).values, both.max(0).values
        span = (high - low).clamp_min(1e-12)
        inner = SCATTER_PANEL - 8
        for points, colour in ((real, REAL_COLOUR), (synthetic, SYNTHETIC_COLOUR)):
            scaled = ((points.double() - low) / span * inner).tolist()
            for x, y in scaled:
                cx, cy = left + 4 + x, top + 4 + inner - y  # y up
                draw.ellipse((cx - 1.5, cy - 1.5, cx + 1.5, cy + 1.5), fill=colour)
        legend_y = top + SCATTER_PANEL + 2
        draw.text((left, legend_y), f"real ({len(real)})", fill=REAL_COLOUR)
        draw.text((left + SCATTER_PANEL // 2, legend_y), f"synthetic ({len(synthetic)})", fill=SYNTHETIC_COLOUR)
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))
