"""Reading back generated sequences — ``genlab sample``'s files, or another tool's in the same layout —
so that ``genlab eval FILE --ref DATA`` can score the very file a user keeps.

- ``.csv``: a header ``sequence,step[,label],<features>``, one row per valid step; each sequence's
  steps are 0, 1, ..., its length - 1 (rows in any order). Feature cells are numbers: a file of a
  model with category columns holds their text, which only the model can encode again (``genlab
  eval RUN`` scores such a model's fresh samples). A ``label`` column is returned as a feature
  (a feature may be named so); the scoring drops it when the reference has no such column.
- ``.npz``: read as any sequence .npz (``x`` (N, T, F), ``lengths``, ``columns``; its ``static``
  features left out), and ``reading``, how the model read its training data (a JSON object:
  ``reverse``, ``time_column``, ``fill``, ``data_columns``), when known.

Both give (N, T, F) float64 in the file's units, NaN past each sequence's length, the lengths (None
when every sequence has all T steps), the feature names (None for an .npz without ``columns``) and
the reading (None when the file does not record it).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genlab.data.npz import load_npz_arrays
from genlab.data.sequences import is_npz, read_npz
from genlab.errors import DataError
from genlab.fileio import missing


def sample_index_columns(labelled: bool) -> tuple[str, ...]:
    """The columns before the features in a sample CSV: each row's sequence and step, and its
    sequence's class for a conditional model's samples."""
    return ("sequence", "step", "label") if labelled else ("sequence", "step")


@dataclass
class SampleFile:
    x: np.ndarray  # (N, T, F) float64, NaN past each length
    lengths: np.ndarray | None  # (N,) int64; None: all T steps
    columns: list[str] | None  # the features' names (a CSV's header)
    description: str
    reading: dict[str, Any] | None = None  # how the model read its training data (a genlab .npz)


def read_sample_file(path: Path) -> SampleFile:
    """The generated sequences in ``path`` (see the module docstring); bad files are one sentence."""
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass the .csv or .npz of generated sequences ('genlab sample RUN --out "
                        "FILE' writes one).")
    if not path.is_file():
        raise DataError(f"{path} {missing(path)}; pass the .csv or .npz of generated sequences.")
    found = _read_npz(path) if is_npz(path) else _read_csv(path)
    n, steps, features = found.x.shape
    shortest = int(found.lengths.min()) if found.lengths is not None else steps
    if n < 2 or shortest < 2 or features < 1:
        raise DataError(f"{path} holds {n} sequence(s), the shortest of {shortest} step(s), of {features} feature(s); "
                        "the scores need at least 2 sequences, each of 2 steps or more.")
    valid = np.ones((n, steps), bool) if found.lengths is None else np.arange(steps) < found.lengths[:, None]
    if not np.isfinite(found.x[valid]).all():
        raise DataError(f"{path} holds NaN or infinite values inside its sequences; only the steps past a sequence's "
                        "length may be NaN, and an .npz says where each sequence ends with lengths (N,).")
    return found


def _read_npz(path: Path) -> SampleFile:
    """A sample .npz, read and checked as any sequence .npz is (:func:`genlab.data.sequences.read_npz`),
    less its static features, which the scores leave out."""
    arrays = load_npz_arrays(path, "pass the .npz 'genlab sample' wrote.")
    x = arrays.get("x")
    if x is not None and (x.dtype == np.uint8 or x.ndim == 4):
        raise DataError(f"{path} holds images ({x.dtype} of shape {x.shape}); score images with --metrics (e.g. "
                        "--metrics fd,kid --ref REFERENCE).")
    found = read_npz(path, arrays)
    if found.is_series:
        raise DataError(f"{path}: x has shape {found.values.shape}, a series; generated sequences are x of shape "
                        "(N, T, F).")
    dynamic = found.values.shape[-1] - found.static_features
    x = found.values[..., :dynamic].copy()
    if found.lengths is not None:  # NaN past each length, as a CSV's missing steps read
        x[np.arange(x.shape[1])[None, :] >= found.lengths[:, None]] = math.nan
    columns = found.columns[:dynamic] if "columns" in arrays else None
    return SampleFile(x, found.lengths, columns, str(path), _reading(path, arrays.get("reading")))


def _reading(path: Path, stored: np.ndarray | None) -> dict[str, Any] | None:
    """The ``reading`` array of a sample .npz: a JSON object of the model's data options."""
    if stored is None:
        return None
    try:
        reading = json.loads(str(stored.item())) if stored.ndim == 0 and stored.dtype.kind == "U" else None
    except ValueError:
        reading = None
    if not isinstance(reading, dict):
        raise DataError(f"{path}: reading must be a JSON object in a string (as 'genlab sample' writes it); remove it "
                        "to read the reference in file order.")
    return reading


def _read_csv(path: Path) -> SampleFile:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f) if row]
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; pass the CSV 'genlab sample' wrote.") from None
    except csv.Error as e:
        raise DataError(f"{path} is not a readable CSV file ({e}).") from None
    if not rows:
        raise DataError(f"{path} is empty; pass the CSV 'genlab sample' wrote.")
    header = [name.strip() for name in rows[0]]
    index = sample_index_columns(False)
    if tuple(header[:len(index)]) != index:
        raise DataError(f"{path} starts with the columns {', '.join(header[:2])}; a file of generated sequences has "
                        "'sequence,step' first (as 'genlab sample' writes it), then the features.")
    columns = header[len(index):]
    if not columns:
        raise DataError(f"{path} has no feature columns after {', '.join(index)}.")
    steps: dict[int, dict[int, list[float]]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path} row {line} has {len(row)} cells but the header has {len(header)}.")
        try:
            sequence, step = int(row[0]), int(row[1])
        except ValueError:
            raise DataError(f"{path} row {line}: sequence and step must be whole numbers (got {row[0]!r}, "
                            f"{row[1]!r}).") from None
        values = []
        for name, cell in zip(columns, row[len(index):]):
            try:
                values.append(float(cell))
            except ValueError:
                what = ("is empty; every generated step has a value in each feature" if not cell.strip() else
                        f"holds {cell[:40]!r}, which is not a number; a model's category columns come back as text, "
                        "which only it can encode: score it with 'genlab eval RUN --ref DATA'")
                raise DataError(f"{path} row {line}, column {name!r} {what}.") from None
        if step in steps.setdefault(sequence, {}):
            raise DataError(f"{path} row {line} repeats step {step} of sequence {sequence}.")
        steps[sequence][step] = values
    if not steps:
        raise DataError(f"{path} has a header but no rows of generated steps.")
    lengths = np.array([len(taken) for taken in steps.values()], np.int64)
    x = np.full((len(steps), int(lengths.max()), len(columns)), math.nan)
    for i, (sequence, taken) in enumerate(steps.items()):
        if sorted(taken) != list(range(len(taken))):
            gap = next(k for k in range(len(taken)) if k not in taken)
            raise DataError(f"{path}: sequence {sequence} has no step {gap} but has later ones; each sequence's steps "
                            "run 0, 1, ... without a gap.")
        x[i, :len(taken)] = [taken[k] for k in range(len(taken))]
    return SampleFile(x, None if (lengths == x.shape[1]).all() else lengths, columns, str(path))
