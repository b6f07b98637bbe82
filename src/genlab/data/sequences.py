"""Sequence data: CSV or ``.npz`` time series (or the TimeGAN 'sines'), min-max scaled and windowed.

A series of ``rows`` time steps and ``F`` numeric features becomes every stride-1 window of
``window`` steps: ``rows - window + 1`` sequences of shape (window, F). Each feature is scaled
to [0, 1] with the min and max of the whole series:

    scaled = (x - min) / (max - min + 1e-7),    x = scaled · (max - min + 1e-7) + min

as the TimeGAN reference code scales (and every model genlab saved so far was trained). The 1e-7
keeps a constant feature finite; it would also leave a feature whose values span less than about 1e-6
short of [0, 1] (a span of 2e-8 reaches only 0.17), so training refuses a column that is not constant
but spans less than 1e-5 (``NARROWEST``), asking for it to be multiplied by a power of ten.

The min and max are stored in the model config, so samples come back in the original units.

Inputs:
- CSV with a header row (read by ``genlab.data.csv_table``, whose docstring lists what it
  refuses): a date/time column is excluded (named by ``--data.time_column``, or found by its
  name or by values such as ``2016-01-11 17:00``); every other cell must be a number, except in
  the text columns named by ``--data.categorical``, which are one-hot encoded: one 0/1 feature
  per category (the distinct values, sorted; at most 1,000), named ``column=category``, where
  the column stood. Missing cells (empty, NaN, NA) are an error unless
  ``--data.fill`` is ``ffill`` (the previous row's value) or ``zero`` (a category column: no
  category); in a category column only an empty cell is missing ("NA" is a category).
- ``.npz`` with ``x`` of shape (rows, F) (a series, windowed like a CSV) or (N, T, F) (sequences
  used as they are; ``y``, one integer label per sequence, is read for conditional models).
  Variable-length sequences: an (N, T, F) ``x`` may come with ``lengths`` (N,), integers in
  [2, T]; sequence i is ``x[i, :lengths[i]]`` and its later steps are padding, whatever they
  hold (NaN included). That key is the only rule: without it every step is data, so a NaN is an
  error. The scale is fitted on valid steps only, and padded steps are set to 0 once scaled, so
  they are finite for the networks (which never count them: batches carry a (B, T) mask).
  When every length is T the lengths are dropped and nothing is masked (the fast path).
  Static features: an (N, T, F) ``x`` may come with ``static`` (N, S), attributes of each whole
  sequence; they become its last S features, repeated at every step (scaled like the others).
- None: the TimeGAN 'sines' (``sine_data_generation`` of the reference code): for each
  sequence and feature, freq and phase ~ U(0, 0.1) and x_t = (sin(freq·t + phase) + 1) / 2 for
  t = 0..T-1. They are min-max scaled like any data (they span about [0.5, 1]), as the reference's
  ``timegan`` scales its input; its scores compare them in their own units (see the rgan family's
  evaluation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from genlab.config import check_seed, is_set, refuse_inapplicable
from genlab.data.csv_table import CellFixError, encoded_names, plural, read_csv
from genlab.data.npz import load_npz_arrays
from genlab.errors import ConfigError, DataError
from genlab.fileio import missing

DEFAULT_WINDOW = 24
SCALE_EPSILON = 1e-7  # the reference MinMaxScaler's guard against constant features
NARROWEST = 1e-5  # the narrowest span of a column that is not constant: scaled into [0, 0.99] at least


@dataclass
class SequenceDataConfig:
    path: str | None = None  # CSV or .npz; None: the TimeGAN 'sines' drawn with `seed`
    window: int | None = None  # steps per sequence; None: 24, or T of an (N, T, F) .npz
    time_column: str | None = None  # CSV column to exclude; None: detect one by name or value
    fill: Literal["none", "ffill", "zero"] = "none"  # how missing CSV cells are filled; none: an error
    categorical: tuple[str, ...] = ()  # CSV text columns to one-hot encode (one 0/1 feature per category)
    reverse: bool = False  # reverse the rows (the TimeGAN code trains on its stock series reversed)
    sines: int = 10000  # sequences of the 'sines' data
    sines_features: int = 5  # features of the 'sines' data
    seed: int = 0  # seed of the 'sines' data

    def validate(self) -> None:
        for name in ("sines", "sines_features"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--data.{name} must be at least 1 (got {getattr(self, name)}).")
        check_seed(self.seed, "--data.seed")
        refuse_inapplicable(self)
        if self.window is not None and self.window < 2:
            raise ConfigError(f"--data.window must be at least 2 (got {self.window}).")

    def inapplicable(self) -> dict[str, str]:
        """Options set where nothing reads them, each with the sentence refusing it (genlab.config)."""
        if self.path is None:
            return {name: f"--data.{name} is for a CSV or .npz given with --data, and the 'sines' are generated; drop "
                          "it." for name in ("time_column", "fill", "reverse") if is_set(self, name)}
        found = {name: f"--data.{name} shapes the generated 'sines', but --data is {self.path}; drop --data.{name} "
                       "(or --data, to train on the sines)." for name in ("sines", "sines_features", "seed")
                 if is_set(self, name)}
        if is_npz(Path(self.path)):
            found.update({name: f"--data.{name} is for CSV files, and {self.path} is an .npz; drop it."
                          for name in ("time_column", "fill") if is_set(self, name)})
        return found


@dataclass
class Scaling:
    """Per-feature min-max scaling to [0, 1] and back; ``minimum``/``maximum`` have one value per feature."""

    minimum: list[float]
    maximum: list[float]

    @classmethod
    def fit(cls, series: np.ndarray) -> Scaling:
        """The min and max of each feature of ``series`` (rows, F)."""
        return cls(series.min(0).tolist(), series.max(0).tolist())

    def _bounds(self, like: Any, constant_span: float) -> tuple[Any, Any]:
        """Each feature's minimum and span (max - min + the guard), ``constant_span`` for a constant one."""
        low = np.asarray(self.minimum, np.float64)
        width = np.asarray(self.maximum, np.float64) - low
        span = np.where(width > 0, width + SCALE_EPSILON, constant_span)
        if isinstance(like, torch.Tensor):
            return (torch.as_tensor(low, dtype=like.dtype, device=like.device),
                    torch.as_tensor(span, dtype=like.dtype, device=like.device))
        return low, span

    def scale(self, x: Any) -> Any:
        """Original units (..., F) → [0, 1] (numpy arrays or tensors)."""
        low, span = self._bounds(x, SCALE_EPSILON)
        return (x - low) / span

    def unscale(self, x: Any) -> Any:
        """[0, 1] (..., F) → original units (numpy arrays or tensors); a constant feature comes back as
        its one value exactly (not that value plus the guard's share of a generated output)."""
        low, span = self._bounds(x, 0.0)
        return x * span + low


@dataclass
class SequenceSource:
    """What a data path holds: a series (rows, F) or sequences (N, T, F), in original units."""

    values: np.ndarray  # float64
    columns: list[str]
    labels: np.ndarray | None  # (N,) int64 for sequences, else None
    source: str
    lengths: np.ndarray | None = None  # (N,) int64 valid steps per sequence; None: all T (or a series)
    # one-hot encoded CSV columns, in column order: (name, its categories); their features are
    # named "name=category", one per category, where the column stood
    categories: list[tuple[str, list[str]]] | None = None
    # the last static_features features are per-sequence attributes (an .npz's static (N, S)),
    # repeated at every step
    static_features: int = 0
    # as read, the series runs backwards in time: its time column decreases row by row (a CSV's)
    newest_first: bool = False

    def valid_values(self) -> np.ndarray:
        """The values of the valid steps only, (steps, F): what the scale is fitted on."""
        if self.lengths is None:
            return self.values.reshape(-1, self.values.shape[-1])
        return self.values[length_mask(torch.from_numpy(self.lengths), self.values.shape[1]).numpy()]

    @property
    def is_series(self) -> bool:
        return self.values.ndim == 2


def describe_sequences(path: Path) -> dict[str, Any]:
    """What ``genlab train rgan --data PATH`` would read, for ``genlab data info``: the series or
    sequences, each feature's name and range in original units, and the windows of the default length
    (a CSV with missing cells or text is refused as training would refuse it, naming the fix)."""
    try:
        found = read_sources(SequenceDataConfig(path=str(path)), option="'genlab data info'")
    except CellFixError as e:  # the fix names a training option: say whose
        raise DataError(f"'genlab train rgan --data {path}' would refuse it: {e}") from None
    values = found.valid_values()
    features = [{"name": name, "min": float(low), "max": float(high)}
                for name, low, high in zip(found.columns, values.min(0), values.max(0))]
    described: dict[str, Any] = {"format": "npz" if is_npz(path) else "csv", "source": found.source}
    if found.is_series:
        rows = found.values.shape[0]
        described |= {"kind": "series (rows, F)", "rows": rows,
                      f"windows_of_{DEFAULT_WINDOW}": max(0, rows - DEFAULT_WINDOW + 1)}
    else:
        n, steps, _ = found.values.shape
        described |= {"kind": "sequences (N, T, F)", "sequences": n, "steps": steps}
        if found.lengths is not None:
            described["lengths"] = {"min": int(found.lengths.min()), "max": int(found.lengths.max())}
        if found.labels is not None:
            labels, counts = np.unique(found.labels, return_counts=True)
            described["labels"] = dict(zip(map(str, labels.tolist()), counts.tolist()))
    return described | {"features": features, "static_features": found.static_features}


def sines(count: int, length: int = DEFAULT_WINDOW, features: int = 5, seed: int = 0) -> np.ndarray:
    """The TimeGAN 'sines': (count, length, features) in [0, 1], from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0, 0.1, (count, 1, features))
    phase = rng.uniform(0, 0.1, (count, 1, features))
    t = np.arange(length)[None, :, None]
    return (np.sin(freq * t + phase) + 1) / 2


def read_sources(config: SequenceDataConfig, categories: list[tuple[str, list[str]]] | None = None,
                 option: str = "--data") -> SequenceSource:
    """Read ``config.path`` (CSV, .npz or None for the sines) in original units; ``categories``: the
    encoding of ``config.categorical`` to apply (a trained model's), None to take it from the data;
    ``option``: the flag that gave the path, for messages."""
    if config.categorical and (config.path is None or is_npz(Path(config.path))):
        raise ConfigError("--data.categorical names CSV text columns to encode; this data is not a CSV, so drop it.")
    if config.path is None:
        length = config.window or DEFAULT_WINDOW
        values = sines(config.sines, length, config.sines_features, config.seed)
        return SequenceSource(values, [f"sine_{i}" for i in range(config.sines_features)], None,
                              f"'sines' ({config.sines} × {length} × {config.sines_features}, seed {config.seed})")
    path = Path(config.path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; point {option} at a CSV file or an .npz inside it.")
    if not path.is_file():
        raise DataError(f"{path} {missing(path)}; point {option} at a CSV file or an .npz with x of shape (rows, F) "
                        "or (N, T, F).")
    if not is_npz(path):  # a CSV is reversed before its gaps are filled, so ffill carries the earlier values
        return read_csv(path, config.time_column, config.fill, config.categorical, categories, config.reverse)
    found = read_npz(path)
    if config.reverse:
        if not found.is_series:
            raise ConfigError(f"--data.reverse reverses a series (rows, F) in time, but {path} holds sequences (N, T, "
                              "F); drop it when training, or score a model trained with it against a series.")
        found.values = found.values[::-1].copy()
    return found


def is_npz(path: Path) -> bool:
    """Whether ``path`` is read as an .npz (by its suffix, in any case); every other file is read as a CSV."""
    return path.suffix.lower() == ".npz"


def read_npz(path: Path, arrays: dict[str, np.ndarray] | None = None) -> SequenceSource:
    """An .npz with x (rows, F) or (N, T, F), optional integer y (N,) and optional columns (F,), the
    features' names (``genlab sample`` writes them), → a SequenceSource. ``arrays``: its arrays, when
    the caller has read them already."""
    arrays = load_npz_arrays(path, "re-save it with numpy.savez.") if arrays is None else arrays
    if "x" not in arrays:
        raise DataError(f"{path} holds {', '.join(map(repr, arrays)) or 'nothing'} but no 'x'; save the data as x.")
    x = arrays["x"]
    # Complex x would lose its imaginary part; T = 1 would slip past --data.window's minimum of 2.
    if x.ndim not in (2, 3) or x.size == 0 or x.dtype.kind not in "iuf" or (x.ndim == 3 and x.shape[1] < 2):
        raise DataError(f"{path}: x has shape {x.shape} and dtype {x.dtype}; it must be real numbers of shape "
                        "(rows, F) or (N, T, F) with T ≥ 2.")
    x = x.astype(np.float64)
    lengths = read_lengths(path, arrays.get("lengths"), x.shape)
    valid = x if lengths is None else x[length_mask(torch.from_numpy(lengths), x.shape[1]).numpy()]
    if not np.isfinite(valid).all():
        raise DataError(f"{path}: x holds {int((~np.isfinite(valid)).sum())} NaN or infinite values; replace them, "
                        "or give lengths (N,) if they are padding after the end of shorter sequences.")
    labels = arrays.get("y")
    if labels is not None:
        if x.ndim != 3 or labels.shape != (x.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{path}: y has shape {labels.shape} and dtype {labels.dtype}; it must hold one integer "
                            "label per sequence of an x of shape (N, T, F).")
        if labels.min() < 0 or labels.max() > np.iinfo(np.int64).max:  # uint64 beyond int64 would wrap negative
            raise DataError(f"{path}: y holds labels from {labels.min()} to {labels.max()}; use class indices "
                            "0, 1, 2, ...")
        labels = labels.astype(np.int64)
    columns = npz_columns(path, arrays.get("columns"), x.shape[-1]) or [f"feature_{i}" for i in range(x.shape[-1])]
    static = arrays.get("static")
    if static is not None:  # per-sequence attributes, carried as features constant over the steps
        if x.ndim != 3 or static.ndim != 2 or len(static) != len(x) or static.dtype.kind not in "iuf" \
                or not static.size or not np.isfinite(static).all():
            raise DataError(f"{path}: static has shape {static.shape} and dtype {static.dtype}; it must hold finite "
                            "real numbers of shape (N, S), one row per sequence of an x of shape (N, T, F).")
        repeated = np.broadcast_to(static.astype(np.float64)[:, None, :], (len(x), x.shape[1], static.shape[1]))
        x = np.concatenate([x, repeated], axis=2)
        columns += [f"static_{j}" for j in range(static.shape[1])]
    return SequenceSource(x, columns, labels, str(path), lengths,
                          static_features=0 if static is None else static.shape[1])


def npz_columns(path: Path, names: np.ndarray | None, features: int) -> list[str] | None:
    """An .npz's ``columns`` array as the names of its ``features`` features (None when it has none)."""
    if names is None:
        return None
    listed = names.tolist() if names.ndim == 1 and names.dtype.kind == "U" else None
    if listed is None or len(listed) != features or len(set(listed)) != features:
        raise DataError(f"{path}: columns has shape {names.shape} and dtype {names.dtype}; it must name each of the "
                        f"{features} features of x once, as strings.")
    return listed


def read_lengths(path: Path, lengths: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The checked ``lengths`` (N,) int64 of an .npz, or None when absent or all equal to T (nothing to mask)."""
    if lengths is None:
        return None
    if len(shape) != 3 or lengths.shape != (shape[0],) or not np.issubdtype(lengths.dtype, np.integer):
        raise DataError(f"{path}: lengths has shape {lengths.shape} and dtype {lengths.dtype}; it must hold one "
                        "integer per sequence of an x of shape (N, T, F).")
    if lengths.min() < 2 or lengths.max() > shape[1]:
        raise DataError(f"{path}: lengths must be between 2 and T = {shape[1]} (got {lengths.min()} to "
                        f"{lengths.max()}); fix them or pad x to the longest sequence.")
    return None if (lengths == shape[1]).all() else lengths.astype(np.int64)


def length_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(N, steps) bool, True at the valid steps t < lengths[i] of each sequence."""
    return torch.arange(steps, device=lengths.device) < lengths[:, None]


def to_windows(found: SequenceSource, scaling: Scaling, window: int | None,
               trained: bool = False) -> tuple[torch.Tensor, int]:
    """Scaled sequences (N, T, F) as float32 and T: every stride-1 window of a series, or the
    sequences of an (N, T, F) source (whose T a given ``window`` must match). ``trained``: the
    window is a trained model's, so the fix is other data, not another --data.window."""
    with np.errstate(over="ignore", invalid="ignore"):  # padded steps may hold anything; they are zeroed below
        scaled = torch.from_numpy(scaling.scale(found.values)).float()
    if not found.is_series:
        if window is not None and window != scaled.shape[1]:
            fix = (f"the model was trained on {window}; use sequences of {window} steps" if trained else
                   f"the window is {window}; drop --data.window or make them match")
            raise ConfigError(f"{found.source} holds sequences of {scaled.shape[1]} steps but {fix}.")
        if found.lengths is not None:  # finite zeros at the padding, whatever the file held there
            scaled[~length_mask(torch.from_numpy(found.lengths), scaled.shape[1])] = 0.0
        return scaled, scaled.shape[1]
    window = window or DEFAULT_WINDOW
    if scaled.shape[0] < window:
        fix = (f"the model's window of {window} steps; use a longer series" if trained else
               f"one window of {window} steps; use a longer series or a smaller --data.window")
        raise DataError(f"{found.source} has {plural(scaled.shape[0], 'row')}, too few for {fix}.")
    return scaled.unfold(0, window, 1).transpose(1, 2), window  # a view: (rows - window + 1, window, F)


class SequenceDataset:
    """Scaled sequences (N, T, F) in [0, 1] with optional int64 labels (N,) and lengths (N,); batched by index.

    ``lengths`` None means every sequence has all T steps: batches then carry no mask.
    """

    def __init__(self, sequences: torch.Tensor, labels: torch.Tensor | None, description: str,
                 lengths: torch.Tensor | None = None, categories: list[tuple[str, list[str]]] | None = None,
                 static_features: int = 0, whole_numbers: list[bool] | None = None,
                 newest_first: bool = False) -> None:
        self.sequences = sequences
        self.labels = labels
        self.description = description
        self.lengths = lengths
        self.categories = categories  # one-hot encoded CSV columns, if any
        self.static_features = static_features  # the last features are constant over each sequence's steps
        self.whole_numbers = whole_numbers  # per feature: the data holds only whole numbers
        self.newest_first = newest_first  # the windows run backwards in time (SequenceSource.newest_first)

    def __len__(self) -> int:
        return self.sequences.shape[0]

    def get_batch(self, indices: torch.Tensor, device: torch.device) -> dict[str, Any]:
        """{"sequences": float (B, T, F), "labels": int64 (B,) or None, "lengths": int64 (B,) or None,
        "mask": bool (B, T), True at valid steps, or None when every step is valid}."""
        labels = self.labels[indices].to(device) if self.labels is not None else None
        batch = {"sequences": self.sequences[indices].to(device, non_blocking=True), "labels": labels,
                 "lengths": None, "mask": None}
        if self.lengths is not None:
            batch["lengths"] = self.lengths[indices].to(device)
            batch["mask"] = length_mask(batch["lengths"], self.sequences.shape[1])
        return batch


def load_sequences(config: SequenceDataConfig, scaling: Scaling | None = None,
                   categories: list[tuple[str, list[str]]] | None = None, columns: list[str] | None = None,
                   option: str = "--data") -> tuple[SequenceDataset, Scaling, list[str], int]:
    """Read, scale and window the data → (dataset, scaling, column names, window).

    ``scaling`` None fits it to the data; a given one (a trained model's) is applied as it is, so
    held-out data is measured in the training data's scale.
    ``categories``: the one-hot encoding of the categorical columns to apply (a trained model's);
    None takes it from the data. The encoding used is ``dataset.categories``. ``columns``: the
    trained model's feature names; the same names in another order are refused, as each feature
    would be scaled and scored as another. ``option``: the flag that gave ``config.path``, for messages.
    """
    found = read_sources(config, categories, option)
    trained = scaling is not None
    if columns is not None and found.columns != columns and sorted(found.columns) == sorted(columns):
        raise DataError(f"{found.source} has the training columns in another order ({', '.join(found.columns)}; "
                        f"trained on {', '.join(columns)}); put them in the training order.")
    if columns is not None and found.columns != columns and set(found.columns) & set(columns):
        # Named columns partly the model's: each would be scaled and scored as the one at its position.
        raise DataError(f"{found.source} has columns {', '.join(found.columns)}, and the model was trained on "
                        f"{', '.join(columns)}; give it the training columns, in that order.")
    if scaling is None:
        scaling = Scaling.fit(found.valid_values())
        too_wide = [column for column, low, high in zip(found.columns, scaling.minimum, scaling.maximum)
                    if math.isinf(high - low)]  # max - min overflows float64: the scaled values would be NaN
        if too_wide:
            raise DataError(f"{found.source}: column {too_wide[0]!r} spans more than a float64 holds (max - min "
                            "overflows); divide it by a large power of ten.")
        # The reference's guard, added to every span, would squeeze such a column far short of [0, 1].
        too_narrow = [(column, high - low) for column, low, high in zip(found.columns, scaling.minimum,
                                                                        scaling.maximum) if 0 < high - low < NARROWEST]
        if too_narrow:
            column, span = too_narrow[0]
            reach = span / (span + SCALE_EPSILON)
            raise DataError(f"{found.source}: column {column!r} spans only {span:.3g} (max - min), which min-max "
                            f"scaling (span + {SCALE_EPSILON:g}) would squeeze into [0, {reach:.2g}]; multiply it by "
                            "a power of ten.")
    elif len(scaling.minimum) != found.values.shape[-1]:
        raise DataError(f"{found.source} has {found.values.shape[-1]} features but the model was trained on "
                        f"{len(scaling.minimum)}; use data with the training columns.")
    sequences, window = to_windows(found, scaling, config.window, trained)
    labels = torch.from_numpy(found.labels) if found.labels is not None else None
    lengths = torch.from_numpy(found.lengths) if found.lengths is not None else None
    kind = "windows" if found.is_series else "sequences"
    steps = (f"{window} steps" if lengths is None else
             f"{int(lengths.min())} to {int(lengths.max())} steps (mean {lengths.double().mean():.1f})")
    description = f"{found.source}: {len(sequences):,} {kind} of {steps} × {sequences.shape[-1]} features"
    if found.static_features:
        description += f" ({found.static_features} of them static: one value per sequence)"
    dataset = SequenceDataset(sequences, labels, description, lengths, found.categories, found.static_features,
                              whole_number_features(found), found.newest_first)
    return dataset, scaling, found.columns, window


def whole_number_features(found: SequenceSource) -> list[bool]:
    """Which features hold only whole numbers (counts, volumes) in the data, so that samples can
    give them back as such; never a one-hot encoded category's features (their scores are decoded)."""
    values = found.valid_values()
    encoded = {name for column, categories in (found.categories or []) for name in encoded_names(column, categories)}
    return [bool(np.all(values[:, i] == np.round(values[:, i]))) and name not in encoded
            for i, name in enumerate(found.columns)]
