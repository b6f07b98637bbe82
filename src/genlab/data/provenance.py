"""Which data a saved run trained on, read from its run config: for the evaluations that must not
score a model on its own training data, or on a default it never saw."""

from __future__ import annotations

import json
import os
from pathlib import Path

from genlab.config import CONFIG_FILE


def training_data_section(path: str | os.PathLike) -> dict | None:
    """The ``data`` section of the config of the run that trained ``path`` (a run directory, one of
    its checkpoints or its ``model/`` export), or None when no run config says."""
    path = Path(path)
    for folder in (path, path.parent) if path.name == "model" else (path,):
        try:
            data = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")).get("data")
        except (OSError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(data, dict):
            return data
    return None


def training_data_path(model: str | os.PathLike) -> str | None:
    """The data path of the run that trained ``model`` (as in :func:`training_data_section`), or None.
    genlab records it absolute; a relative one (from a run trained before it did) is taken from the
    current folder, since the folder that training ran in was not recorded."""
    trained = (training_data_section(model) or {}).get("path") if Path(model).is_dir() else None
    return trained if isinstance(trained, str) and trained.strip() else None


def trained_on_data(model: str | os.PathLike, data: str | os.PathLike) -> bool:
    """Whether the run that trained ``model`` read the very file or folder ``data`` names."""
    trained = training_data_path(model)
    return trained is not None and Path(data).exists() and Path(trained).resolve() == Path(data).resolve()
