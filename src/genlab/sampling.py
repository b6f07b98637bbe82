"""Load a trained model from a run or an exported folder, and draw sample grids from it."""

from __future__ import annotations

from pathlib import Path

import torch

from genlab.errors import CheckpointError
from genlab.models.base import CONFIG_FILE, WEIGHTS_FILE, GenerativeModel, read_json
from genlab.train.checkpoint import MARKER, STATE_FILE, latest_checkpoint
from genlab.train.lock import is_training


def find_model_folder(path: str | Path) -> Path:
    """The folder holding config.json + model.safetensors for ``path``.

    ``path`` may be an exported model folder, a checkpoint folder, or a run directory (its
    ``model/`` export, else its newest complete checkpoint).
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; pass a run directory or an exported model folder.")
    if (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file():
        if (path / STATE_FILE).exists() and not (path / MARKER).exists():  # as --resume refuses it
            raise CheckpointError(f"{path} is an incomplete checkpoint (its writing was cut short before the {MARKER} "
                                  "marker); pass an earlier checkpoint or the run directory.")
        return path
    if (path / "model" / WEIGHTS_FILE).is_file() and (path / "model" / CONFIG_FILE).is_file():
        return path / "model"
    if path.is_file() and path.name in (CONFIG_FILE, WEIGHTS_FILE):
        raise CheckpointError(f"{path} is one file of a model; pass the folder that holds it ({path.parent}).")
    latest = latest_checkpoint(path) if path.is_dir() else None
    if latest is None and path.is_dir() and latest_checkpoint(path.parent) is not None and path.name == "checkpoints":
        raise CheckpointError(f"{path} is a run's checkpoints folder; pass the run ({path.parent}) or one checkpoint "
                              f"in it ({latest_checkpoint(path.parent)}).")
    if latest is None and path.is_dir() and is_training(path):
        raise CheckpointError(f"{path} is still training and holds no complete checkpoint yet; try again once it has "
                              "written one (every --train.checkpoint_every steps).")
    if latest is None:
        for folder in (path, path / "model"):  # an export with one of its two files gone
            present = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if (folder / name).is_file()]
            if len(present) == 1 and (present == [WEIGHTS_FILE] or is_export_config(folder / CONFIG_FILE)):
                gone = WEIGHTS_FILE if present == [CONFIG_FILE] else CONFIG_FILE
                raise CheckpointError(f"{folder} holds {present[0]} but not {gone}: the model was not copied or "
                                      "saved whole; copy or export it again.")
        if path.is_file():
            raise CheckpointError(f"{path} is a file, not a run directory or exported model folder; pass one of "
                                  "those.")
        raise CheckpointError(f"{path} holds no model (no model/ export and no complete checkpoint); "
                              "train one with 'genlab train' first.")
    return latest


def is_export_config(path: Path) -> bool:
    """Whether ``path`` is the config.json of an exported model (its family and model; a run's config
    has a train section too, and any other project's config.json neither)."""
    try:
        saved = read_json(path)
    except (CheckpointError, OSError):
        return False
    return {"family", "model"} <= saved.keys() and "train" not in saved


def load_model(path: str | Path, device: str | torch.device = "cpu") -> GenerativeModel:
    model = GenerativeModel.from_pretrained(find_model_folder(path), map_location=device)
    return model.eval()


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latents a, b (D,) at fractions t (T,) → (T, D).

    Gaussian latents concentrate near a sphere, so the straight line between two of them passes
    through unlikely, low-norm codes; the great-circle path stays where the prior has mass.
    """
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    t = t[:, None]
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def interpolation_latents(model: GenerativeModel, rows: int, steps: int, generator: torch.Generator) -> torch.Tensor:
    """``rows`` interpolations of ``steps`` latents each, row-major → (rows * steps, D)."""
    ends = model.sample_latent(2 * rows, generator).cpu()
    t = torch.linspace(0, 1, steps)
    return torch.cat([slerp(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)])


@torch.no_grad()
def interpolation_images(model: GenerativeModel, rows: int, steps: int, generator: torch.Generator,
                         label: int | None = None) -> torch.Tensor:
    """Images of ``rows`` latent interpolations of ``steps`` each, row-major. A conditional model
    keeps one class along each row: ``label``, or the classes in turn from row to row (a
    self-conditioned GAN: a cluster drawn at its share for each row)."""
    latents = interpolation_latents(model, rows, steps, generator)
    row_labels = model.class_labels(rows, label, generator)
    if row_labels is None:
        return model.decode(latents)
    return model.decode(latents, row_labels.repeat_interleave(steps))
