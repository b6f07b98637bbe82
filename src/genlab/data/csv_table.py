"""Reading a CSV time series: a header row naming the columns, then one row per time step, → a series (rows, F).

Reads comma-separated UTF-8 text (a byte-order mark is fine, blank lines are skipped, a quoted
cell may run over several lines). A row of empty cells (``,,``) is a time step whose values are all
missing, not a blank line (skipping it would join the rows on either side); such rows at the end of
the file, as spreadsheets export them, are dropped. A date/time column is excluded: the one named by
``time_column``, else the first named date, time, datetime or timestamp (in any case) or whose
first value is a date such as ``2016-01-11 17:00`` or an ISO 8601 time (never a ``categorical``
one). Every other column becomes features, in column order: a number column one, each cell a
number; a ``categorical`` text column one 0/1 feature per category, named ``column=category``
(its distinct values sorted, at most 1,000, or a trained model's categories). Missing cells
(empty, NaN, NA, N/A, null, none; in a category column only an empty cell) are filled as
``fill`` says: ``ffill`` (the previous row's value), ``zero``, or ``none``, which refuses them.

Refused, each as one sentence saying where (the file, row and column) and how to fix it: text that
is not UTF-8; an unclosed quote; a first line of comment (``#``) or Excel's ``sep=,``; no row of
values under the header; a file separated by semicolons, tabs or bars (with decimal commas too); a
first row of values rather than names (whole numbers alone may name columns); two columns of one
name; an unnamed column (trailing commas, a pandas index); a row with more or fewer cells than the
header; no column besides the time column; a ``time_column`` or ``categorical`` name that is not in
the header, or one column named in both; text in a number column (every such column named at once);
a date in a column other than the time column; thousands separators (``1,234.5`` quoted, or
``1.000.000``); infinite values; a category column without values or with too many; a category a
trained model does not know; a missing cell that ``fill`` does not fill (``none``, or ``ffill`` on
the first row); a time column that runs forwards in some rows and backwards in others (when its
cells all read as numbers, ISO 8601 times or one common date layout). A series read newest first
(its time column decreasing, or increasing under ``reverse``) is said to be, in its description.
"""

from __future__ import annotations

import csv
import math
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genlab.errors import ConfigError, DataError

if TYPE_CHECKING:
    from genlab.data.sequences import SequenceSource

MISSING = {"", "nan", "na", "n/a", "null", "none"}
TIME_NAMES = {"date", "time", "datetime", "timestamp"}
INTEGER = re.compile(r"^[-+]?\d+$")
THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")
# A number with a currency sign or a common unit: -$1,234.56, 12 %, 5 GBP, 12.5 kg, 21 °C.
_NUMBER = r"(\d{1,3}(,\d{3})+|\d+)(\.\d*)?"
_UNITS = r"[$€£¥%]|USD|EUR|GBP|JPY|CHF|°C|°F|kg|g|km|m|cm|mm|kWh|kW|W|Hz|ms|s"
UNIT_AROUND_NUMBER = re.compile(rf"^([-+]?[$€£¥]\s*[-+]?{_NUMBER}|[-+]?{_NUMBER}\s*({_UNITS}))$")
THOUSANDS_DOTS = re.compile(r"^[-+]?\d{1,3}(\.\d{3}){2,}(,\d*)?$")  # 1.000.000 (one dot would be a decimal point)
TIME_PATTERN = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


def read_csv(path: Path, time_column: str | None = None, fill: str = "none", categorical: tuple[str, ...] = (),
             categories: list[tuple[str, list[str]]] | None = None, reverse: bool = False) -> SequenceSource:
    """A CSV with a header → its value columns as a series (rows, F), last row first with
    ``reverse``; see the module docstring.

    ``categorical`` columns are one-hot encoded, with ``categories`` (name, values) when given (a
    trained model's: a value outside them is an error), else with their values sorted."""
    from genlab.data.sequences import SequenceSource  # here, not above: sequences imports this module

    header, rows, lines = _read_table(path)
    excluded, kept = _value_columns(path, header, rows, time_column, categorical)
    order = None if excluded is None else time_order(path, header[excluded], [row[excluded] for row in rows], lines)
    values, names, sources, encoded = _column_values(path, header, rows, lines, kept, categorical, categories)
    if reverse:  # before the gaps are filled: ffill takes the value before a gap in the series' own order
        values, lines = values[::-1].copy(), lines[::-1]
    gaps = np.isnan(values)
    if gaps.any():
        values = fill_missing(values, gaps, fill, path, sources, lines)
    description = str(path) if excluded is None else f"{path} (column {header[excluded]!r} excluded as time)"
    newest_first = order == ("increasing" if reverse else "decreasing")  # as read, the series runs backwards in time
    if newest_first:
        cause = ("--data.reverse reverses its rows, which run oldest first" if reverse else
                 "its rows run newest first; --data.reverse true reads them oldest first")
        description += f" (read newest first by {header[excluded]!r}: {cause})"
    if all(INTEGER.match(name) for name in header):  # wavelengths, sensor ids, or a first row of data?
        description += (f" (its header is whole numbers, {', '.join(header[:3])}{', ...' if len(header) > 3 else ''}: "
                        "if the file has no header row, its first row of values was taken for one; add a header)")
    return SequenceSource(values, names, None, description, categories=encoded or None,
                          newest_first=newest_first)


def _read_rows(path: Path) -> tuple[list[list[str]], list[int], list[int]]:
    """The CSV's rows less the blank lines, each row's line in the file (where it ends), for messages,
    and where it starts (a quoted cell may run over several lines). A row of empty cells (",,") is a
    row of missing values, which the fill policy handles, not a blank line: dropping it would splice
    the series across the gap. Such rows at the end of the file (a spreadsheet's export) are dropped."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows, lines, starts, previous = [], [], [], 0
            for row in reader:
                if len(row) > 1 or (row and row[0].strip()):
                    rows.append(row)
                    lines.append(reader.line_num)
                    starts.append(previous + 1)
                previous = reader.line_num
        while rows and not any(cell.strip() for cell in rows[-1]):
            del rows[-1], lines[-1], starts[-1]
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save the CSV as UTF-8.") from None
    except csv.Error as e:  # a cell over the csv module's 131,072 characters, mostly from an unclosed quote
        raise DataError(f"{path} is not a readable CSV file ({e}); look for an unclosed quote, which runs on "
                        "to the end of the file.") from None
    return rows, lines, starts


def _read_table(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The CSV's header (names stripped), its value rows, each with one cell per column, and each
    value row's line in the file. Rows of empty cells before the first row of values are dropped
    (there is nothing to fill them from); one elsewhere with fewer or more commas than the header
    is a row of missing values all the same."""
    rows, lines, starts = _read_rows(path)
    empty = [not any(cell.strip() for cell in row) for row in rows]
    while len(rows) > 1 and empty[1]:
        del rows[1], lines[1], starts[1], empty[1]
    if rows:
        rows = [[""] * len(rows[0]) if blank else row for row, blank in zip(rows, empty)]
    if len(rows) < 2:
        raise DataError(f"{path} needs a header row and at least one row of values; it has "
                        f"{plural(len(rows), 'line')}.")
    header = [name.strip() for name in rows[0]]
    first = ",".join(rows[0]).strip()
    if first.lower().startswith("sep=") and len(first) <= 5:  # sep=, reads as two cells
        raise DataError(f"{path} starts with {first!r}, a line Excel writes to name the separator; delete that "
                        "line, so that the header comes first.")
    # A column may be named "#1" or "#"; a first cell "# ..." with a space, a first row of another width
    # or a second row that starts with '#' too is a comment.
    if header[0].startswith("#") and (header[0].startswith("# ") or len(rows[0]) != len(rows[1])
                                      or rows[1][0].strip().startswith("#")):
        raise DataError(f"{path} starts with {first[:40]!r}, which looks like a comment; genlab reads "
                        "no comments in a CSV: delete the comment lines, so that the header comes first.")
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
        raise CellFixError(f"{path} has text in the columns {', '.join(map(repr, text))} (row {error.row} of "
                           f"{column!r} holds {error.text!r})", "encode them with --data.categorical "
                           f"{','.join([*categorical, *text])} (one feature per category) or remove them (a "
                           "date column is excluded with --data.time_column)",
                           "the model was trained on numbers in those columns: give it data with the training "
                           "columns") from None


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
    if len(header) == 1:
        line = ",".join(first_row)  # decimal commas (10,5;3,2) split a row into several cells
        separator = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"))
                          if sep in header[0] and sep in line), None)
        if separator and len(first_row) > 1:
            raise DataError(f"{path} reads as one column named {header[0][:40]!r}: its columns look separated by "
                            f"{separator} and its decimals written with commas, and genlab reads comma-separated "
                            "values with decimal points; save it with commas between values and points in numbers.")
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


# Date layouts tried on a whole time column (ISO 8601 and plain numbers besides); a layout that reads
# every cell decides the order only if every other one that does (31/01 against 01/31) agrees.
DATE_LAYOUTS = [f"{day}{clock}" for day in ("%Y/%m/%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y")
                for clock in ("", " %H:%M", " %H:%M:%S")]


def time_order(path: Path, column: str, cells: list[str], lines: list[int]) -> str | None:
    """Whether the time column's cells run "increasing" or "decreasing" (ties allowed), or None when
    they cannot all be read as one kind of time, or two readings disagree (then nothing is checked).
    Rows out of order both ways under every reading are refused: windows are cut from consecutive
    rows, and a shuffled or stacked file would give windows that jump in time."""
    present = [(cell.strip(), line) for cell, line in zip(cells, lines) if cell.strip().lower() not in MISSING]
    readings = [float, datetime.fromisoformat, *[lambda text, layout=layout: datetime.strptime(text, layout)
                                                 for layout in DATE_LAYOUTS]]
    verdicts = [verdict for parse in readings if (verdict := _order(present, parse, path, column)) is not None]
    ordered = {verdict for verdict in verdicts if verdict in ("increasing", "decreasing")}
    if not ordered and verdicts:  # out of order however the cells are read
        raise DataError(verdicts[0])
    return ordered.pop() if len(ordered) == 1 else None


def _order(present: list[tuple[str, int]], parse, path: Path, column: str) -> str | None:
    """:func:`time_order` under one reading of the (cell, row) pairs: "increasing", "decreasing", the
    sentence refusing them when they run both ways, or None where it does not read them all."""
    try:
        times = [parse(cell) for cell, _ in present]
        steps = [(later > earlier) - (later < earlier) for earlier, later in zip(times, times[1:])]
    except (ValueError, TypeError, OverflowError):  # not this layout; naive and aware times mixed
        return None
    forwards, backwards = steps.count(1), steps.count(-1)
    if forwards and backwards:
        against = -1 if forwards >= backwards else 1
        i = steps.index(against)
        (before, row_before), (after, row) = present[i], present[i + 1]
        return (f"{path} is not in time order by column {column!r}: it runs forwards in some rows and backwards in "
                f"others (row {row_before} holds {before!r}, row {row} {after!r}); sort the file by {column!r} "
                "(windows are cut from consecutive rows), or split it into one file per series.")
    return "decreasing" if backwards else "increasing"


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


class CellFixError(DataError):
    """A CSV that training could read with other ``--data`` options: ``fact`` says what is wrong and
    ``fix`` how to fix it when training; ``held_out_fix`` how when the file is held-out data read as a
    trained model's training data was (``genlab eval --ref``), whose ``--data`` options are fixed."""

    def __init__(self, fact: str, fix: str, held_out_fix: str) -> None:
        super().__init__(f"{fact}; {fix}.")
        self.fact, self.held_out_fix = fact, held_out_fix


class TextCellError(CellFixError):
    """A CSV cell of a numeric column holds text: ``row`` (its line) and ``text``."""

    def __init__(self, fact: str, fix: str, row: int, text: str) -> None:
        super().__init__(fact, fix, "the model was trained on numbers in that column: correct the cell or remove the row")
        self.row, self.text = row, text


def is_category(cell: str) -> bool:
    """Whether a CSV cell is text a category could hold: not a number (thousands separators and
    all), not missing and not a date, which want other fixes."""
    text = cell.strip()
    if text.lower() in MISSING or THOUSANDS.match(text) or TIME_PATTERN.match(text) or UNIT_AROUND_NUMBER.match(text):
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
        if UNIT_AROUND_NUMBER.match(text):
            raise DataError(f"{path} row {row}, column {column!r} holds {text[:40]!r}, a number with a currency sign or "
                            "unit; remove it (49.67, not $49.67 or 49.67%), and put the unit in the column's name.") \
                from None
        if THOUSANDS.match(text) or THOUSANDS_DOTS.match(text):
            raise DataError(f"{path} row {row}, column {column!r} holds {text[:40]!r}, a number written with "
                            "thousands separators; remove them (1234.5, not 1,234.5).") from None
        if "\n" in text or "\r" in text:  # a quote opened in this cell and closed lines later
            raise DataError(f"{path} row {row}, column {column!r} holds {text[:40]!r}, which runs over several "
                            "lines: a quote in it is not closed where the cell ends; close or remove it.") from None
        if TIME_PATTERN.match(text) or is_iso_time(text):
            raise CellFixError(f"{path} row {row}, column {column!r} holds {text[:40]!r}, which reads as a date or time",
                               "genlab leaves out one such column (--data.time_column names it), so remove the others "
                               f"from the file (or, if the values are categories such as versions, encode it with "
                               f"--data.categorical {column})",
                               "the model was trained on numbers in that column: correct the cell or remove the row"
                               ) from None
        raise TextCellError(f"{path} row {row}, column {column!r} holds {text[:40]!r}, which is not a number",
                            f"encode it with --data.categorical {column} (one feature per category) or remove it "
                            "(a date column is excluded with --data.time_column)", row, text[:40]) from None
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
        raise CellFixError(f"{path} row {lines[row]}, column {columns[column]!r} is missing ({int(missing.sum())} "
                           "missing cells in all)", "fill them in, or pass --data.fill ffill (previous value) or zero",
                           "fill them in (the model reads it with --data.fill none, as it was trained)")
    if fill == "zero":
        return np.where(missing, 0.0, values)
    if missing[0].any():
        first = int(np.argmax(missing[0]))
        raise CellFixError(f"{path} row {lines[0]}, column {columns[first]!r} is missing and has no earlier value to "
                           "carry forward", "fill it in or pass --data.fill zero",
                           "fill it in (the model fills gaps with --data.fill ffill, as it was trained, from the value "
                           "before)")
    filled = values.copy()
    for r in range(1, len(filled)):  # rows in order, so a run of missing cells takes the last value seen
        filled[r] = np.where(missing[r], filled[r - 1], filled[r])
    return filled
