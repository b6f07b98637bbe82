"""Which data a saved run trained on, read from its run config: for the evaluations that must not
score a model on its own training data, or on a default it never saw."""

from __future__ import annotations

import json
import os
from pathlib import Path

from genlab.config import CONFIG_FILE, WORKING_DIRECTORY


def training_data_section(path: str | os.PathLike) -> dict | None:
    """The ``data`` section of the config of the run that trained ``path`` (a run directory, one of
    its checkpoints or its ``model/`` export), or None when no run config says. Its ``path`` is as the
    run read it: a relative path is joined to the folder training ran in (recorded since 6 December
    2026) where that names a file or folder; a run that did not record it leaves it relative, to be
    taken from the current folder."""
    path = Path(path)
    for folder in (path, path.parent) if path.name == "model" else (path,):
        try:
            saved = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            data = saved.get("data")
        except (OSError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(data, dict):
            return {**data, "path": anchored(data.get("path"), saved.get(WORKING_DIRECTORY))}
    return None


def anchored(path: object, working_directory: object) -> object:
    """A recorded data ``path`` with ``~`` expanded and, when relative, joined to ``working_directory``
    if the result names something; anything else (None, a built-in name such as toy:ring) as it is."""
    if not isinstance(path, str) or not path.strip() or path.startswith("toy:"):
        return path
    path = os.path.expanduser(path)
    if not os.path.isabs(path) and isinstance(working_directory, str) and os.path.isabs(working_directory):
        joined = os.path.join(working_directory, path)
        return joined if os.path.exists(joined) else path
    return path


def training_data_path(model: str | os.PathLike) -> str | None:
    """The data path of the run that trained ``model`` (as :func:`training_data_section` anchors it),
    or None when no run config says."""
    trained = (training_data_section(model) or {}).get("path") if Path(model).is_dir() else None
    return trained if isinstance(trained, str) and trained.strip() else None


def trained_on_data(model: str | os.PathLike, data: str | os.PathLike) -> bool:
    """Whether the run that trained ``model`` read the very file or folder ``data`` names."""
    trained = training_data_path(model)
    return trained is not None and Path(data).exists() and Path(trained).resolve() == Path(data).resolve()
