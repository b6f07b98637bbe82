"""What a run directory holds and how to recognise one.

A run directory ('genlab train --out') holds the run's config.json, metrics.jsonl, checkpoints,
model export and previews; 'genlab eval' and 'genlab report' add their files beside them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from genlab.config import CONFIG_FILE
from genlab.models.base import WEIGHTS_FILE
from genlab.train.checkpoint import MARKER

METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.json"  # written into the run directory by 'genlab eval RUN'
REPORT_FILE = "report.html"  # written into the run directory by 'genlab report RUN'
# Prefixes of the logged values that are training curves: the losses, and the penalties (a GAN's
# gradient penalty, R1) that the models log apart from them, unweighted. The progress bar shows
# them, a tenfold jump in one is warned of, and report draws and compares them.
CURVES = ("loss", "penalty")


# What training writes into a run directory: its record, which an output file must never replace.
RUN_RECORD = (CONFIG_FILE, METRICS_FILE, "model", "checkpoints", "samples", "tensorboard")


def read_metric_records(path: Path) -> list[dict[str, Any]]:
    """The records of the metrics.jsonl at ``path``, in order ([] without the file). A damaged line
    is skipped, not fatal: one cut short by a kill, bytes that are not UTF-8, JSON nested past what
    the parser reads, or anything but an object with an integer ``step``."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [record for record in map(read_metric_line, lines) if record is not None]


def read_metric_line(line: str) -> dict[str, Any] | None:
    """One line of metrics.jsonl as its record, or None for a damaged one (see :func:`read_metric_records`)."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("step"), int) else None


def run_directory_of(path: Path) -> Path | None:
    """The run directory that ``path`` (a run directory, its ``model/`` export or one of its
    checkpoints) belongs to, judged by the files on disk; None for a folder outside any run."""
    path = Path(path)
    if (path / MARKER).exists() and path.parent.name == "checkpoints" and is_run_directory(path.parent.parent):
        return path.parent.parent
    if path.name == "model" and is_run_directory(path.parent):
        return path.parent
    return path if is_run_directory(path) else None


def record_owner(path: Path) -> tuple[Path, str] | None:
    """(the run directory, the entry of its record) when ``path`` is, or lies inside, a part of a
    run's record (its config, log, model, checkpoints, previews); else None. A run here holds its
    log or checkpoints besides its config.json, so a project folder that merely has a config.json
    of its own is not taken for one."""
    resolved = Path(path).resolve()
    for inner, outer in zip([resolved, *resolved.parents], resolved.parents):
        if inner.name in RUN_RECORD and is_run_directory(outer) and (
                (outer / METRICS_FILE).is_file() or (outer / "checkpoints").is_dir()):
            return outer, inner.name
    return None


def is_run_directory(path: Path) -> bool:
    """Whether ``path`` is a run directory ('genlab train --out'): it holds the run's config.json,
    and it is not one of the run's checkpoints or its exported model, which hold one too."""
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and not (path / MARKER).exists() and not (path / WEIGHTS_FILE).exists()


_PREVIEW = re.compile(r"^step-(\d+)(-[\w-]+)?$")  # step-000500.png, and a VAE's step-000500-traversal.png


def preview_files(run_dir: Path, extras: bool = False) -> list[tuple[int, Path]]:
    """The run's ``samples/step-N.*`` previews as (N, path), in step order (numeric, so step
    1,000,000 comes after 999,999); with ``extras`` also the ``step-N-<name>.*`` pictures some
    families add (a VAE's reconstructions, traversal, interpolation)."""
    found = []
    for path in (Path(run_dir) / "samples").glob("step-*"):
        match = _PREVIEW.match(path.stem)
        if match and (extras or match.group(2) is None):
            found.append((int(match.group(1)), path))
    return sorted(found)
