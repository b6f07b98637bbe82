"""Sequence data: CSV or ``.npz`` time series (or the TimeGAN 'sines'), min-max scaled and windowed.

A series of ``rows`` time steps and ``F`` numeric features becomes every stride-1 window of
``window`` steps: ``rows - window + 1`` sequences of shape (window, F). Each feature is scaled
to [0, 1] with the min and max of the whole series:

    scaled = (x - min) / (max - min + 1e-7),    x = scaled · (max - min + 1e-7) + min

as the TimeGAN reference code scales (and every model genlab saved so far was trained). The 1e-7
keeps a constant feature finite; it also leaves a feature whose values span less than about 1e-6
short of [0, 1] (a span of 2e-8 reaches only 0.17): multiply such a column by a power of ten first.

The min and max are stored in the model config, so samples come back in the original units.

Inputs:
- CSV with a header row: a date/time column is excluded (named by ``--data.time_column``, or
  found by its name or by values such as ``2016-01-11 17:00``); every other cell must be a
  number, except in the text columns named by ``--data.categorical``, which are one-hot encoded:
  one 0/1 feature per category (the distinct values, sorted; at most 1,000), named
  ``column=category``, where the column stood. Missing cells (empty, NaN, NA) are an error unless
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

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from genlab.config import check_seed, is_set, refuse_inapplicable
from genlab.data.npz import load_npz_arrays
from genlab.errors import ConfigError, DataError
from genlab.fileio import missing

DEFAULT_WINDOW = 24
SCALE_EPSILON = 1e-7  # the reference MinMaxScaler's guard against constant features
MISSING = {"", "nan", "na", "n/a", "null", "none"}
TIME_NAMES = {"date", "time", "datetime", "timestamp"}
INTEGER = re.compile(r"^[-+]?\d+$")
THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")
TIME_PATTERN = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


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

    def _bounds(self, like: Any) -> tuple[Any, Any]:
        low = np.asarray(self.minimum, np.float64)
        span = np.asarray(self.maximum, np.float64) - low + SCALE_EPSILON
        if isinstance(like, torch.Tensor):
            return (torch.as_tensor(low, dtype=like.dtype, device=like.device),
                    torch.as_tensor(span, dtype=like.dtype, device=like.device))
        return low, span

    def scale(self, x: Any) -> Any:
        """Original units (..., F) → [0, 1] (numpy arrays or tensors)."""
        low, span = self._bounds(x)
        return (x - low) / span

    def unscale(self, x: Any) -> Any:
        """[0, 1] (..., F) → original units (numpy arrays or tensors)."""
        low, span = self._bounds(x)
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

    def valid_values(self) -> np.ndarray:
        """The values of the valid steps only, (steps, F): what the scale is fitted on."""
        if self.lengths is None:
            return self.values.reshape(-1, self.values.shape[-1])
        return self.values[length_mask(torch.from_numpy(self.lengths), self.values.shape[1]).numpy()]

    @property
    def is_series(self) -> bool:
        return self.values.ndim == 2


def sines(count: int, length: int = DEFAULT_WINDOW, features: int = 5, seed: int = 0) -> np.ndarray:
    """The TimeGAN 'sines': (count, length, features) in [0, 1], from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0, 0.1, (count, 1, features))
    phase = rng.uniform(0, 0.1, (count, 1, features))
    t = np.arange(length)[None, :, None]
    return (np.sin(freq * t + phase) + 1) / 2


def read_sources(config: SequenceDataConfig, categories: list[tuple[str, list[str]]] | None = None) -> SequenceSource:
    """Read ``config.path`` (CSV, .npz or None for the sines) in original units; ``categories``: the
    encoding of ``config.categorical`` to apply (a trained model's), None to take it from the data."""
    if config.categorical and (config.path is None or is_npz(Path(config.path))):
        raise ConfigError("--data.categorical names CSV text columns to encode; this data is not a CSV, so drop it.")
    if config.path is None:
        length = config.window or DEFAULT_WINDOW
        values = sines(config.sines, length, config.sines_features, config.seed)
        return SequenceSource(values, [f"sine_{i}" for i in range(config.sines_features)], None,
                              f"'sines' ({config.sines} × {length} × {config.sines_features}, seed {config.seed})")
    path = Path(config.path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; point --data at a CSV file or an .npz inside it.")
    if not path.is_file():
        raise DataError(f"{path} {missing(path)}; point --data at a CSV file or an .npz with x of shape (rows, F) "
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


def read_csv(path: Path, time_column: str | None = None, fill: str = "none", categorical: tuple[str, ...] = (),
             categories: list[tuple[str, list[str]]] | None = None, reverse: bool = False) -> SequenceSource:
    """A CSV with a header → its value columns as a series (rows, F), last row first with
    ``reverse``; see the module docstring.

    ``categorical`` columns are one-hot encoded, with ``categories`` (name, values) when given (a
    trained model's: a value outside them is an error), else with their values sorted."""
    header, rows, lines = _read_table(path)
    excluded, kept = _value_columns(path, header, rows, time_column, categorical)
    values, names, sources, encoded = _column_values(path, header, rows, lines, kept, categorical, categories)
    if reverse:  # before the gaps are filled: ffill takes the value before a gap in the series' own order
        values, lines = values[::-1].copy(), lines[::-1]
    gaps = np.isnan(values)
    if gaps.any():
        values = fill_missing(values, gaps, fill, path, sources, lines)
    description = str(path) if excluded is None else f"{path} (column {header[excluded]!r} excluded as time)"
    return SequenceSource(values, names, None, description, categories=encoded or None)


def _read_rows(path: Path) -> tuple[list[list[str]], list[int], list[int]]:
    """The CSV's rows less the blank ones, each row's line in the file (where it ends), for messages,
    and where it starts (a quoted cell may run over several lines)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows, lines, starts, previous = [], [], [], 0
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(reader.line_num)
                    starts.append(previous + 1)
                previous = reader.line_num
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save the CSV as UTF-8.") from None
    except csv.Error as e:  # a cell over the csv module's 131,072 characters, mostly from an unclosed quote
        raise DataError(f"{path} is not a readable CSV file ({e}); look for an unclosed quote, which runs on "
                        "to the end of the file.") from None
    return rows, lines, starts


def _read_table(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The CSV's header (names stripped), its value rows, each with one cell per column, and each
    value row's line in the file."""
    rows, lines, starts = _read_rows(path)
    if len(rows) < 2:
        raise DataError(f"{path} needs a header row and at least one row of values; it has "
                        f"{plural(len(rows), 'line')}.")
    header = [name.strip() for name in rows[0]]
    check_header(path, header, rows[1])
    for number, start, row in zip(lines[1:], starts[1:], rows[1:]):
        if len(row) != len(header):
            where = (f"; a quoted cell runs on from line {start} (an unclosed quote?), close it" if start < number
                     else "; every row needs one value per column")
            raise DataError(f"{path} row {number} has {plural(len(row), 'cell')} but the header has "
                            f"{len(header)}{where}.")
    return header, rows[1:], lines[1:]


def _value_columns(path: Path, header: list[str], rows: list[list[str]], time_column: str | None,
                   categorical: tuple[str, ...]) -> tuple[int | None, list[int]]:
    """The index of the time column excluded (None for none) and those of the value columns, all
    named; ``rows``: the value rows."""
    absent = [name for name in categorical if name not in header]
    if absent:
        raise DataError(f"{path} has no column {absent[0]!r} (--data.categorical); its columns are "
                        f"{', '.join(map(repr, header))}.")
    excluded = find_time_column(path, header, rows[0], time_column, skip=set(categorical))
    if excluded is not None and header[excluded] in categorical:
        raise ConfigError(f"Column {header[excluded]!r} is both --data.time_column and --data.categorical; "
                          "name it in one of them.")
    kept = [i for i in range(len(header)) if i != excluded]
    if not kept:
        raise DataError(f"{path} has no value columns besides the time column; add numeric columns.")
    unnamed = [i for i in kept if not header[i]]
    if unnamed == [len(header) - 1] and not any(row[-1].strip() for row in rows):
        raise DataError(f"{path} has an empty last column, unnamed: its lines end with a comma; remove the trailing "
                        "commas.")
    if unnamed:  # pandas writes its index so, unless told index=False; an unnamed date index is excluded above
        raise DataError(f"{path} column {unnamed[0] + 1} has no name in the header (an index written by pandas?); "
                        "name it, or remove it (DataFrame.to_csv(..., index=False)).")
    return excluded, kept


def _column_values(path: Path, header: list[str], rows: list[list[str]], lines: list[int], kept: list[int],
                   categorical: tuple[str, ...], categories: list[tuple[str, list[str]]] | None
                   ) -> tuple[np.ndarray, list[str], list[str], list[tuple[str, list[str]]]]:
    """The ``kept`` columns of the value ``rows`` as features (rows, F), in column order: a number
    column as one, a ``categorical`` one as one per category. Also each feature's name, each
    feature's CSV column and the encoding of the categorical columns, (name, its categories)."""
    known = dict(categories or [])
    blocks, names, sources, encoded = [], [], [], []
    for i in kept:
        cells = [row[i] for row in rows]
        if header[i] in categorical:
            block, values_of = one_hot(cells, path, header[i], known.get(header[i]), lines)
            encoded.append((header[i], values_of))
            names += encoded_names(header[i], values_of)
        else:
            try:
                block = np.array([[parse_cell(cell, path, header[i], line)] for line, cell in zip(lines, cells)])
            except TextCellError as e:  # the text columns are scanned on this error only, not for every file
                _refuse_text_columns(path, header[i], e, _text_columns(header, kept, rows, categorical), categorical)
                raise
            names.append(header[i])
        sources += [header[i]] * block.shape[1]
        blocks.append(block)
    return np.concatenate(blocks, axis=1), names, sources, encoded


def _text_columns(header: list[str], kept: list[int], rows: list[list[str]], categorical: tuple[str, ...]) -> list[str]:
    """The names of the ``kept`` columns, other than the ``categorical`` ones, with text in a value row."""
    return [header[i] for i in kept if header[i] not in categorical and any(is_category(row[i]) for row in rows)]


def _refuse_text_columns(path: Path, column: str, error: TextCellError, text: list[str],
                         categorical: tuple[str, ...]) -> None:
    """Refuse the text in ``column`` (``error``) naming every text column (``text``) at once when it is
    one of several: one fix, not one rerun per column."""
    if len(text) >= 2 and column in text:
        raise DataError(f"{path} has text in the columns {', '.join(map(repr, text))} (row {error.row} of "
                        f"{column!r} holds {error.text!r}); encode them with --data.categorical "
                        f"{','.join([*categorical, *text])} (one feature per category) or remove them (a "
                        "date column is excluded with --data.time_column).") from None


MAX_CATEGORIES = 1000  # per encoded column: more distinct values is an identifier, not a category


def encoded_names(column: str, categories: list[str]) -> list[str]:
    """The names of a one-hot encoded column's features, one per category: ``column=category``."""
    return [f"{column}={category}" for category in categories]


def one_hot(cells: list[str], path: Path, column: str, categories: list[str] | None,
            lines: list[int]) -> tuple[np.ndarray, list[str]]:
    """A text column → (rows, K) one-hot values (an empty cell: a row of NaN, for the fill policy)
    and its K categories (``categories``, or the distinct values sorted). Unlike a number, text
    such as "NA" or "None" is a category: only an empty cell is missing. ``lines``: each cell's
    line in the file, for messages."""
    texts = [cell.strip() for cell in cells]
    present = [bool(text) for text in texts]
    if categories is None:
        categories = sorted({text for text, here in zip(texts, present) if here})
        if len(categories) > MAX_CATEGORIES:
            raise DataError(f"{path} column {column!r} has {len(categories):,} distinct values, more than the "
                            f"{MAX_CATEGORIES:,} --data.categorical encodes; drop it from --data.categorical and "
                            "remove the column.")
        if not categories:
            raise DataError(f"{path} column {column!r} (--data.categorical) holds no values; remove the column.")
    index = {category: k for k, category in enumerate(categories)}
    block = np.zeros((len(texts), len(categories)))
    for r, (text, here) in enumerate(zip(texts, present)):
        if not here:
            block[r] = math.nan
        elif text not in index:
            shown = ", ".join(map(repr, categories[:10])) + (", ..." if len(categories) > 10 else "")
            raise DataError(f"{path} row {lines[r]}, column {column!r} holds {text[:40]!r}, a category the model was "
                            f"not trained on (it knows {shown}); use data with the training categories.")
        else:
            block[r, index[text]] = 1.0
    return block, list(categories)


def check_header(path: Path, header: list[str], first_row: list[str]) -> None:
    """Refuse a header that would misread the file: one cell holding the separator of every row,
    no header at all (the first row is data), or repeated column names (a model could not tell
    them apart)."""
    if len(header) == 1 and len(first_row) == 1:
        separator = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"))
                          if sep in header[0] and sep in first_row[0]), None)
        if separator:
            raise DataError(f"{path} reads as one column named {header[0][:40]!r}: its columns look separated by "
                            f"{separator}, and genlab reads comma-separated values; save it with commas.")
    # Whole numbers may name columns (sensor ids, wavelengths, pandas' 0, 1, ...); a header of
    # numbers among which one has a fraction or an exponent, or a date, is a row of data.
    if all(looks_like_value(name) for name in header) and not all(INTEGER.match(name) for name in header):
        raise DataError(f"{path} starts with a row of values ({', '.join(header[:3])}"
                        f"{', ...' if len(header) > 3 else ''}), not a header; add a first row naming the columns.")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name in seen:
            raise DataError(f"{path} has two columns named {name!r} (columns {seen[name] + 1} and {i + 1}); give "
                            "every column its own name.")
        seen[name] = i


def looks_like_value(cell: str) -> bool:
    """Whether a header cell is a number or a date, as a data row's cells are."""
    try:
        float(cell)
        return True
    except ValueError:
        return bool(TIME_PATTERN.match(cell)) or is_iso_time(cell)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def find_time_column(path: Path, header: list[str], first_row: list[str], name: str | None,
                     skip: set[str] = frozenset()) -> int | None:
    """Index of the column to exclude: the named one, else one named like a time or holding dates
    (never one of ``skip``, the columns to encode)."""
    if name is not None:
        if name not in header:
            raise DataError(f"{path} has no column {name!r} (--data.time_column); its columns are "
                            f"{', '.join(map(repr, header))}.")  # repr: a name may hold a newline
        return header.index(name)
    for i, (column, value) in enumerate(zip(header, first_row)):
        if column in skip:
            continue
        if column.lower() in TIME_NAMES or TIME_PATTERN.match(value.strip()) or is_iso_time(value.strip()):
            return i
    return None


def is_iso_time(value: str) -> bool:
    """Whether ``value`` is an ISO 8601 date or time that is not also a plain number."""
    try:
        float(value)
        return False
    except ValueError:
        pass
    try:
        datetime.fromisoformat(value)
        return True
    except ValueError:
        return False


class TextCellError(DataError):
    """A CSV cell of a numeric column holds text: ``row`` (its line) and ``text``."""

    def __init__(self, message: str, row: int, text: str) -> None:
        super().__init__(message)
        self.row, self.text = row, text


def is_category(cell: str) -> bool:
    """Whether a CSV cell is text a category could hold: not a number (thousands separators and
    all), not missing and not a date, which want other fixes."""
    text = cell.strip()
    if text.lower() in MISSING or THOUSANDS.match(text) or TIME_PATTERN.match(text):
        return False
    try:
        float(text)
    except ValueError:
        return True
    return False


def parse_cell(cell: str, path: Path, column: str, row: int) -> float:
    """One CSV cell → a float (NaN when missing); text is an error naming the row and column."""
    text = cell.strip()
    if text.lower() in MISSING:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        if THOUSANDS.match(text):
            raise DataError(f"{path} row {row}, column {column!r} holds {text[:40]!r}, a number written with "
                            "thousands separators; remove them (1234.5, not 1,234.5).") from None
        raise TextCellError(f"{path} row {row}, column {column!r} holds {text[:40]!r}, which is not a number; "
                            f"encode it with --data.categorical {column} (one feature per category) or remove it "
                            "(a date column is excluded with --data.time_column).", row, text[:40]) from None
    if math.isinf(value):
        raise DataError(f"{path} row {row}, column {column!r} is infinite; replace it with a finite number.")
    return value


def fill_missing(values: np.ndarray, missing: np.ndarray, fill: str, path: Path, columns: list[str],
                 lines: list[int]) -> np.ndarray:
    """Apply the fill policy to the NaNs of ``values`` (rows, F), or raise naming the first one's CSV
    line and column (``columns``: each feature's, so an encoded feature names the text column it came
    from; ``lines``: each row's line in the file)."""
    row, column = (int(i) for i in np.argwhere(missing)[0])
    if fill == "none":
        raise DataError(f"{path} row {lines[row]}, column {columns[column]!r} is missing ({int(missing.sum())} missing "
                        "cells in all); fill them in, or pass --data.fill ffill (previous value) or zero.")
    if fill == "zero":
        return np.where(missing, 0.0, values)
    if missing[0].any():
        first = int(np.argmax(missing[0]))
        raise DataError(f"{path} row {lines[0]}, column {columns[first]!r} is missing and has no earlier value to carry "
                        "forward; fill it in or pass --data.fill zero.")
    filled = values.copy()
    for r in range(1, len(filled)):  # rows in order, so a run of missing cells takes the last value seen
        filled[r] = np.where(missing[r], filled[r - 1], filled[r])
    return filled


def read_npz(path: Path) -> SequenceSource:
    """An .npz with x (rows, F) or (N, T, F) and optional integer y (N,) → a SequenceSource."""
    arrays = load_npz_arrays(path, "re-save it with numpy.savez.")
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
    columns = [f"feature_{i}" for i in range(x.shape[-1])]
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
                 static_features: int = 0) -> None:
        self.sequences = sequences
        self.labels = labels
        self.description = description
        self.lengths = lengths
        self.categories = categories  # one-hot encoded CSV columns, if any
        self.static_features = static_features  # the last features are constant over each sequence's steps

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
                   categories: list[tuple[str, list[str]]] | None = None, columns: list[str] | None = None
                   ) -> tuple[SequenceDataset, Scaling, list[str], int]:
    """Read, scale and window the data → (dataset, scaling, column names, window).

    ``scaling`` None fits it to the data; a given one (a trained model's) is applied as it is, so held-out data is measured in the training data's scale.
    ``categories``: the one-hot encoding of the categorical columns to apply (a trained model's);
    None takes it from the data. The encoding used is ``dataset.categories``. ``columns``: the
    trained model's feature names; the same names in another order are refused, as each feature
    would be scaled and scored as another.
    """
    found = read_sources(config, categories)
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
    dataset = SequenceDataset(sequences, labels, description, lengths, found.categories, found.static_features)
    return dataset, scaling, found.columns, window
