"""Sequence data: CSV and .npz reading, bad input, min-max scaling, windows and the 'sines'."""

import os
import re

import numpy as np
import pytest
import torch

from genlab.data.csv_table import read_csv
from genlab.data.sequences import Scaling, SequenceDataConfig, load_sequences, read_sources, sines
from genlab.errors import ConfigError, DataError



def write(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_scaling_round_trip_returns_the_original_units():
    series = np.array([[1.0, -5.0, 7.0], [3.0, 5.0, 7.0], [2.0, 0.0, 7.0]])  # the last feature is constant
    scaling = Scaling.fit(series)
    scaled = scaling.scale(series)
    assert scaled.min() >= 0 and scaled.max() <= 1
    assert scaled[:, 0].tolist() == pytest.approx([0.0, 1.0, 0.5], abs=1e-6)
    assert np.allclose(scaling.unscale(scaled), series, atol=1e-12)
    assert torch.allclose(scaling.unscale(scaling.scale(torch.from_numpy(series))), torch.from_numpy(series))
    # Whatever a generator puts out for a constant feature, it comes back as the feature's one value.
    assert scaling.unscale(np.full((2, 3), 0.73))[:, 2].tolist() == [7.0, 7.0]
    assert scaling.unscale(torch.full((2, 3), 0.73, dtype=torch.float64))[:, 2].tolist() == [7.0, 7.0]


def test_stock_prices_are_windowed_and_scaled_per_column(shared_file):
    stocks = shared_file("timeseries/stock_data.csv")
    dataset, scaling, columns, window = load_sequences(SequenceDataConfig(path=str(stocks)))
    assert columns == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    assert window == 24 and dataset.sequences.shape == (3685 - 24 + 1, 24, 6)  # every stride-1 window
    table = np.loadtxt(stocks, delimiter=",", skiprows=1)
    assert scaling.minimum == pytest.approx(table.min(0).tolist()) and scaling.maximum == pytest.approx(table.max(0))
    assert scaling.minimum[0] == pytest.approx(49.274517)  # the low of the split-adjusted 2004 prices
    assert np.allclose(scaling.unscale(dataset.sequences[1].double().numpy()), table[1:25], rtol=1e-6)
    assert dataset.sequences.min() >= 0 and dataset.sequences.max() <= 1
    batch = dataset.get_batch(torch.tensor([0, 5]), torch.device("cpu"))
    assert batch["sequences"].shape == (2, 24, 6) and batch["labels"] is None


def test_a_date_column_is_detected_or_named_and_excluded(tmp_path):
    found = read_csv(write(tmp_path, "when,a,b\n2016-01-11 17:00,1,2\n2016-01-11 17:10,3,4\n"))
    assert found.columns == ["a", "b"] and found.values.tolist() == [[1, 2], [3, 4]]
    found = read_csv(write(tmp_path, "Date,a\n01/02/2020,1\n01/03/2020,2\n"))
    assert found.columns == ["a"]
    found = read_csv(write(tmp_path, "a,stamp\n1,7\n2,8\n"), time_column="stamp")
    assert found.columns == ["a"] and found.values[:, 0].tolist() == [1, 2]
    assert found.source.endswith("(column 'stamp' excluded as time)")  # said, as a detected one is
    assert read_csv(write(tmp_path, "time,a\n0.5,1\n1.5,2\n")).source.endswith("(column 'time' excluded as time)")
    assert read_csv(write(tmp_path, "a,b\n1,2\n3,4\n")).source == str(tmp_path / "series.csv")


def test_the_time_column_must_run_one_way_and_a_series_read_backwards_is_said_to_be(tmp_path):
    newest_first = write(tmp_path, "Date,a\n2020-01-03,3\n2020-01-02,2\n2020-01-02,2\n2020-01-01,1\n")  # a tie is fine
    assert read_csv(newest_first).source.endswith("(read newest first by 'Date': its rows run newest first; "
                                                  "--data.reverse true reads them oldest first)")
    reversed_read = read_csv(newest_first, reverse=True)
    assert reversed_read.values[:, 0].tolist() == [1, 2, 2, 3] and "newest first" not in reversed_read.source
    oldest_first = write(tmp_path, "t,a\n1.5,1\n2.5,2\n", name="seconds.csv")
    assert read_csv(oldest_first, time_column="t").source.endswith("(column 't' excluded as time)")
    assert "--data.reverse reverses its rows, which run oldest first" in read_csv(oldest_first, time_column="t",
                                                                                  reverse=True).source
    # Ordered as month/day (2 January, 1 February, 1 March), not as day/month: one ordered reading is enough.
    us = write(tmp_path, "Date,a\n01/02/2020,1\n02/01/2020,2\n03/01/2020,3\n", name="us.csv")
    assert "newest first" not in read_csv(us).source
    # Missing cells in the time column are left out of the check, not read as times.
    gaps = write(tmp_path, "t,a\n1,1\n2,2\nNA,3\n1.5,4\n", name="gaps.csv")
    with pytest.raises(DataError, match="gaps.csv is not in time order by column 't'"):
        read_csv(gaps, time_column="t")
    shuffled = write(tmp_path, "Date,a\n2020-01-01,1\n2020-01-03,3\n2020-01-02,2\n2020-01-04,4\n", name="shuffled.csv")
    with pytest.raises(DataError, match=re.escape("shuffled.csv is not in time order by column 'Date': it runs forwards "
                                                  "in some rows and backwards in others (row 3 holds '2020-01-03', row 4 "
                                                  "'2020-01-02'); sort the file by 'Date'")):
        read_csv(shuffled)
    # A column no reading takes as times all through is not checked: its name alone made it the time column.
    assert read_csv(write(tmp_path, "time,a\nmorning,1\nevening,2\nmorning,3\n", name="words.csv")).values.shape == (3, 1)


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n3,up\n", "row 3, column 'b' holds 'up', which is not a number"),
    ("a,b\n1,2\n3,NaN\n", "row 3, column 'b' is missing"),
    ("a,b\n1,2\n3,\n", "row 3, column 'b' is missing"),
    ("a,b\n1,2\n3,4,5\n", "row 3 has 3 cells but the header has 2"),
    ("a,b\n1,$2.50\n3,4\n", r"row 2, column 'b' holds '\$2.50', a number with a currency sign or unit; remove it"),
    ("a,b\n1,12 %\n3,4\n", r"column 'b' holds '12 %', a number with a currency sign or unit"),
    ("a,b\n1,-$5.00\n", r"holds '-\$5.00', a number with a currency sign or unit"),
    ("a,b\n1,\"$1,234.56\"\n", r"holds '\$1,234.56', a number with a currency sign or unit"),
    ("a,b\n1,5 GBP\n", r"holds '5 GBP', a number with a currency sign or unit"),
    ("a,b\n1,12.5 kg\n", r"holds '12.5 kg', a number with a currency sign or unit"),
    ("a,b\n1,2XL\n", r"holds '2XL', which is not a number; encode it with --data.categorical b"),  # a size, not a unit
    ("a,b,c\nx,$2,1\ny,3,1\n", r"column 'a' holds 'x', which is not a number; encode it with --data.categorical a "),
    ("a,b\n1,2\n3\n", "row 3 has 1 cell but the header has 2"),
    ("a,b\n1,2\n\"3,4\n5,6\n7,8\n", r"row 5 has 1 cell but the header has 2; a quoted cell runs on from line 3 "
                                     r"\(an unclosed quote\?\)"),
    ("a;b\n1;2\n3;4\n", "reads as one column named 'a;b': its columns look separated by semicolons"),
    ("x;y\n10,845;103,790\n", "look separated by semicolons and its decimals written with commas"),  # Excel, Europe
    ("a\tb\n1\t2\n", "look separated by tabs"),
    ("start,end,x\n2020-01-01,2020-01-02,1\n2020-01-02,2020-01-03,2\n",  # 'start' is the time column
     "row 2, column 'end' holds '2020-01-02', which reads as a date or time; genlab leaves out one such column"),
    ("a,b,a\n1,2,3\n", "has two columns named 'a' \\(columns 1 and 3\\)"),
    (",a,b\n0,1,2\n1,3,4\n", "column 1 has no name in the header \\(an index written by pandas\\?\\)"),
    ("0.5,1\n0.7,2\n0.9,3\n", r"starts with a row of values \(0.5, 1\), not a header; add a first row naming"),
    ("0.5,0.5\n0.7,2\n", r"starts with a row of values \(0.5, 0.5\)"),  # not 'two columns named'
    ("a,b,\n1,2,\n3,4,\n", "has an empty last column, unnamed: its lines end with a comma"),
    ('a,b\n1,"1,234.5"\n', r"holds '1,234.5', a number written with thousands separators; remove them"),
    ("date\n2020-01-01\n2020-01-02\n", "has no value columns besides the time column; add numeric columns"),
    ("a,b\n1,2\n,\n5,6\n", "row 3, column 'a' is missing"),  # a row of empty cells is missing values, not blank
    ("a,b,c\n1,2,3\n,\n5,6,7\n", "row 3, column 'a' is missing"),  # with fewer commas than the header too
    ('a,b\n1,"2\n0,0\n1,1"\n', "holds '2\\\\n0,0\\\\n1,1', which runs over several lines: a quote in it is not "
                              "closed"),
    ("sep=,\na,b\n1,2\n", "starts with 'sep=,', a line Excel writes to name the separator; delete that line"),
    ("# my data\na,b\n1,2\n", "starts with '# my data', which looks like a comment; genlab reads no comments"),
    ("# exported\n# units\na,b\n1,2\n", "starts with '# exported', which looks like a comment"),
    ("# a, b\na,b\n1,2\n", "starts with '# a, b', which looks like a comment"),
    ("a,b\n1,2\n3,1.000.000\n", "holds '1.000.000', a number written with thousands separators"),
    ("a,b\n1,2\n1.00000000001,3\n", r"column 'a' spans only 1e-11 \(max - min\), which min-max scaling"),
])
def test_bad_csv_is_one_sentence_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as error:
        load_sequences(SequenceDataConfig(path=str(path), window=2))
    assert str(path) in str(error.value)


def test_headers_that_are_read_as_they_should_be(tmp_path):
    # pandas' numbered columns of an unnamed array are a header, and its unnamed date index is time
    assert read_csv(write(tmp_path, "0,1\n5,6\n7,8\n")).columns == ["0", "1"]
    wavelengths = read_csv(write(tmp_path, "450,550,650\n0.1,0.2,0.3\n"))
    assert wavelengths.columns == ["450", "550", "650"]
    # said, as a headerless file of whole numbers loses its first row to the header
    assert "(its header is whole numbers, 450, 550, 650: if the file has no header row" in wavelengths.source
    assert read_csv(write(tmp_path, "a;b\n1\n")).columns == ["a;b"]  # one column whose name holds a ';'
    assert read_csv(write(tmp_path, "#,a\n1,2\n3,4\n")).columns == ["#", "a"]  # a column named '#' is no comment
    found = read_csv(write(tmp_path, ",a\n2020-01-01,1\n2020-01-02,2\n"))
    assert found.columns == ["a"] and found.values[:, 0].tolist() == [1, 2]


def test_too_few_rows_for_one_window_is_an_error(tmp_path):
    path = write(tmp_path, "a,b\n" + "".join(f"{i},{i}\n" for i in range(5)))
    with pytest.raises(DataError, match=r"has 5 rows, too few for one window of 24 steps") as error:
        load_sequences(SequenceDataConfig(path=str(path)))
    assert str(path) in str(error.value)
    dataset, scaling, *_ = load_sequences(SequenceDataConfig(path=str(path), window=5))
    assert dataset.sequences.shape == (1, 5, 2)
    # Held-out data for a trained model: its window is fixed, so the fix is other data, not an option.
    with pytest.raises(DataError, match=r"has 5 rows, too few for the model's window of 6 steps; use a longer "
                                        r"series\.$"):
        load_sequences(SequenceDataConfig(path=str(path), window=6), scaling)


def test_held_out_data_with_the_training_columns_reordered_is_refused(tmp_path):
    rows = "".join(f"{i},{100 * i}\n" for i in range(6))
    _, scaling, columns, _ = load_sequences(SequenceDataConfig(path=str(write(tmp_path, "a,b\n" + rows)), window=3))
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("b,a\n" + rows)
    with pytest.raises(DataError, match=r"swapped.csv has the training columns in another order \(b, a; trained on a, b\)"):
        load_sequences(SequenceDataConfig(path=str(swapped), window=3), scaling, columns=columns)
    partly = tmp_path / "partly.csv"  # b would be scaled with a's range, and c with b's
    partly.write_text("b,c\n" + rows)
    with pytest.raises(DataError, match=r"partly.csv has columns b, c, and the model was trained on a, b; give it the "
                                        r"training columns, in that order\.$"):
        load_sequences(SequenceDataConfig(path=str(partly), window=3), scaling, columns=columns)
    renamed = tmp_path / "renamed.csv"  # other names are the caller's business (a model may rename its features)
    renamed.write_text("x,y\n" + rows)
    dataset, *_ = load_sequences(SequenceDataConfig(path=str(renamed), window=3), scaling, columns=columns)
    assert dataset.sequences.shape == (4, 3, 2)


def test_missing_values_are_filled_only_by_an_explicit_policy(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n,4\nNA,6\n7,8\n")
    found = read_csv(path, fill="ffill")
    assert found.values[:, 0].tolist() == [1, 1, 1, 7]
    # A row of empty cells is a step with every value missing (the series is not spliced across it); such
    # rows at the end of a file, as spreadsheets export them, are no steps at all.
    found = read_csv(write(tmp_path, "a,b\n,\n1,2\n,\n5,6\n,\n\n,\n", "empty_rows.csv"), fill="ffill")
    assert found.values.tolist() == [[1, 2], [1, 2], [5, 6]]  # and before the first values, nothing to fill from
    assert read_csv(write(tmp_path, "a\n1\n\n2\n", "one_column.csv")).values[:, 0].tolist() == [1, 2]
    assert read_csv(path, fill="zero").values[:, 0].tolist() == [1, 0, 0, 7]
    with pytest.raises(DataError, match="row 2, column 'a' is missing and has no earlier value"):
        read_csv(write(tmp_path, "a,b\nNaN,1\n2,3\n"), fill="ffill")


def test_npz_sequences_with_labels_and_series(tmp_path):
    x = np.random.default_rng(0).normal(size=(10, 6, 3))
    np.savez(tmp_path / "seq.npz", x=x, y=np.arange(10) % 3)
    dataset, scaling, _, window = load_sequences(SequenceDataConfig(path=str(tmp_path / "seq.npz")))
    assert window == 6 and dataset.sequences.shape == (10, 6, 3) and dataset.labels.tolist() == [0, 1, 2, 0, 1, 2,
                                                                                                   0, 1, 2, 0]
    assert np.allclose(scaling.unscale(dataset.sequences.double().numpy()), x, atol=1e-5)
    np.savez(tmp_path / "series.npz", x=x.reshape(60, 3))
    dataset, *_ = load_sequences(SequenceDataConfig(path=str(tmp_path / "series.npz"), window=10))
    assert dataset.sequences.shape == (51, 10, 3)
    np.savez(tmp_path / "bad.npz", x=np.full((4, 3), np.nan))
    with pytest.raises(DataError, match="bad.npz: x holds 12 NaN"):
        load_sequences(SequenceDataConfig(path=str(tmp_path / "bad.npz"), window=2))


def test_an_npz_is_recognised_by_its_suffix_in_any_case(tmp_path):
    np.savez(tmp_path / "seq.npz", x=np.random.default_rng(0).normal(size=(10, 6, 3)))
    (tmp_path / "seq.npz").rename(tmp_path / "SEQ.NPZ")
    dataset, *_ = load_sequences(SequenceDataConfig(path=str(tmp_path / "SEQ.NPZ")))
    assert dataset.sequences.shape == (10, 6, 3)
    upper = write(tmp_path, "regime,x\nbull,1\nbear,2\nbull,3\n", "PRICES.CSV")  # every other file is a CSV
    dataset, *_ = load_sequences(SequenceDataConfig(path=str(upper), window=2, categorical=("regime",)))
    assert dataset.sequences.shape == (2, 2, 3)


def test_sines_follow_the_reference_generator():
    x = sines(200, 24, 5, seed=3)
    assert x.shape == (200, 24, 5)
    # (sin(f·t + p) + 1) / 2 with f, p in [0, 0.1]: starts in [0.5, 0.55] and never falls below 0.5 over 24 steps.
    assert 0.5 <= x[:, 0].min() and x[:, 0].max() <= (np.sin(0.1) + 1) / 2
    assert x.min() >= 0.5 and x.max() <= 1.0
    phase = np.arcsin(2 * x[:, 0] - 1)  # t = 0 gives the phase, t = 1 then gives the frequency
    freq = np.arcsin(2 * x[:, 1] - 1) - phase
    assert 0 <= phase.min() and phase.max() <= 0.1 and 0 <= freq.min() and freq.max() <= 0.1
    assert np.allclose(x[:, 10], (np.sin(10 * freq + phase) + 1) / 2)
    assert np.array_equal(x, sines(200, 24, 5, seed=3)) and not np.array_equal(x, sines(200, 24, 5, seed=4))


def test_npz_lengths_mark_padding_that_neither_scales_nor_reaches_the_batches(tmp_path):
    x = np.random.default_rng(0).uniform(5, 6, (4, 5, 2))
    lengths = np.array([5, 2, 3, 5])
    x[1, 2:] = np.nan  # padding may hold anything, NaN included
    x[2, 3:] = 1e6
    np.savez(tmp_path / "ragged.npz", x=x, lengths=lengths)
    dataset, scaling, _, window = load_sequences(SequenceDataConfig(path=str(tmp_path / "ragged.npz")))
    valid = np.arange(5) < lengths[:, None]
    assert window == 5 and scaling.maximum == pytest.approx(x[valid].max(0).tolist())  # the 1e6 is not data
    assert torch.equal(dataset.lengths, torch.from_numpy(lengths))
    assert (dataset.sequences[~torch.from_numpy(valid)] == 0).all() and dataset.sequences.isfinite().all()
    batch = dataset.get_batch(torch.tensor([2, 1]), torch.device("cpu"))
    assert batch["mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 2 + [False] * 3]
    assert batch["lengths"].tolist() == [3, 2]
    assert "2 to 5 steps" in dataset.description


def test_npz_lengths_all_full_take_the_fast_path_and_bad_lengths_are_named(tmp_path):
    x = np.random.default_rng(0).uniform(0, 1, (3, 4, 2))
    np.savez(tmp_path / "full.npz", x=x, lengths=np.array([4, 4, 4]))
    dataset = load_sequences(SequenceDataConfig(path=str(tmp_path / "full.npz")))[0]
    assert dataset.lengths is None
    assert dataset.get_batch(torch.tensor([0]), torch.device("cpu"))["mask"] is None
    for bad, message in ((np.array([4, 1, 4]), "lengths must be between 2 and T = 4"),
                         (np.array([4, 4]), "one integer per sequence"),
                         (np.array([4.0, 4.0, 4.0]), "one integer per sequence")):
        np.savez(tmp_path / "bad.npz", x=x, lengths=bad)
        with pytest.raises(DataError, match=message):
            load_sequences(SequenceDataConfig(path=str(tmp_path / "bad.npz")))
    x[0, 3] = np.nan  # without lengths a NaN is data, so an error that points at lengths
    np.savez(tmp_path / "nan.npz", x=x)
    with pytest.raises(DataError, match="give lengths"):
        load_sequences(SequenceDataConfig(path=str(tmp_path / "nan.npz")))


def test_categorical_columns_are_one_hot_encoded_where_they_stood(tmp_path):
    path = write(tmp_path, "day,regime,price\n2020-01-01,bull,1\n2020-01-02,bear,2\n2020-01-03,bull,3\n"
                           "2020-01-04,,4\n")
    na = read_csv(write(tmp_path, "grade,x\nA,1\nNA,2\nNone,3\n", "grades.csv"), categorical=("grade",))
    assert na.columns == ["grade=A", "grade=NA", "grade=None", "x"]  # text, not missing numbers
    with pytest.raises(DataError, match=r"column 'regime' holds 'bull', which is not a number; encode it with "
                                        r"--data.categorical regime"):
        read_csv(path)
    with pytest.raises(DataError, match="row 5, column 'regime' is missing"):  # the CSV's column, not a feature
        read_csv(path, categorical=("regime",))
    found = read_csv(path, fill="ffill", categorical=("regime",))
    assert found.columns == ["regime=bear", "regime=bull", "price"]  # categories sorted; the date excluded
    assert found.values.tolist() == [[0, 1, 1], [1, 0, 2], [0, 1, 3], [0, 1, 4]]
    assert found.categories == [("regime", ["bear", "bull"])]
    # A trained model's encoding is applied as it is: its order, and no new category.
    found = read_csv(path, fill="zero", categorical=("regime",), categories=[("regime", ["bull", "bear", "flat"])])
    assert found.values[:, :3].tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]]
    with pytest.raises(DataError, match=r"row 3, column 'regime' holds 'bear', a category the model was not trained "
                                        r"on \(it knows 'bull'\)"):
        read_csv(path, fill="zero", categorical=("regime",), categories=[("regime", ["bull"])])
    with pytest.raises(DataError, match="has no column 'mood' \\(--data.categorical\\)"):
        read_csv(path, categorical=("mood",))
    ids = write(tmp_path, "id,x\n" + "".join(f"user{i},{i}\n" for i in range(1001)), "ids.csv")
    with pytest.raises(DataError, match="has 1,001 distinct values, more than the 1,000"):
        read_csv(ids, categorical=("id",))
    with pytest.raises(ConfigError, match="--data.categorical names CSV text columns"):
        load_sequences(SequenceDataConfig(categorical=("regime",)))


def test_csv_messages_name_the_line_in_the_file_after_blank_lines_and_folders_are_named(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b\n1,2\n\n\nx,4\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 5, column 'a' holds 'x'"):
        read_csv(path)
    path.write_text("a,b\n1,2\n\n,4\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 4, column 'a' is missing"):
        read_csv(path)
    with pytest.raises(DataError, match="is a folder; point --data at a CSV file or an .npz inside it"):
        load_sequences(SequenceDataConfig(path=str(tmp_path)))


def test_a_reversed_series_fills_its_gaps_from_the_earlier_day(tmp_path):
    """A newest-first file read with --data.reverse: ffill takes the value before the gap in time."""
    path = write(tmp_path, "date,v\n2024-01-05,10\n2024-01-04,40\n2024-01-03,\n2024-01-02,20\n2024-01-01,30\n")
    dataset, scaling, _, _ = load_sequences(SequenceDataConfig(path=str(path), window=5, fill="ffill", reverse=True))
    series = scaling.unscale(dataset.sequences[0].double())[:, 0]
    assert series.tolist() == pytest.approx([30, 20, 20, 40, 10])


def test_scaling_adds_the_references_guard_to_every_span_and_a_constant_feature_comes_back():
    """(x - min) / (max - min + 1e-7), as the TimeGAN code scales and as saved models were trained."""
    values = np.stack([np.linspace(0, 2e-8, 6), np.full(6, 5.0), 1e8 + np.arange(6.0)], 1)
    scaling = Scaling.fit(values)
    scaled = scaling.scale(values)
    assert scaled[:, 0].max() == pytest.approx(2e-8 / (2e-8 + 1e-7)) and (scaled[:, 1] == 0).all()
    top = scaling.unscale(np.ones(3))  # a generator's largest output
    assert top[2] == pytest.approx(1e8 + 5, rel=1e-12) and abs(top[1] - 5.0) <= 1.01e-7


@pytest.mark.parametrize("options, message", [
    ({"reverse": True}, "--data.reverse is for a CSV or .npz given with --data, and the 'sines' are generated"),
    ({"time_column": "date"}, "--data.time_column is for a CSV or .npz given with --data"),
    ({"fill": "ffill"}, "--data.fill is for a CSV or .npz given with --data"),
    ({"path": "series.npz", "time_column": "date"}, "--data.time_column is for CSV files, and series.npz is an .npz"),
    ({"path": "series.npz", "fill": "zero"}, "--data.fill is for CSV files, and series.npz is an .npz"),
])
def test_csv_options_where_nothing_reads_them_are_refused(options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        SequenceDataConfig(**options).validate()


def test_every_text_column_is_named_at_once_with_the_categorical_option_that_encodes_them(tmp_path):
    path = write(tmp_path, "isp,speed,tech,state\n" + "".join(f"a{i % 2},{i},Fiber,NY\n" for i in range(8)))
    with pytest.raises(DataError, match=r"has text in the columns 'tech', 'state' \(row 2 of 'tech' holds 'Fiber'\); "
                                        r"encode them with --data.categorical isp,tech,state "):
        load_sequences(SequenceDataConfig(path=str(path), window=3, categorical=("isp",)))
    one = write(tmp_path, "speed,tech\n" + "".join(f"{i},x\n" for i in range(8)), name="one.csv")
    with pytest.raises(DataError, match=r"column 'tech' holds 'x', which is not a number; encode it with "
                                        r"--data.categorical tech"):
        load_sequences(SequenceDataConfig(path=str(one), window=3))


def test_numbers_with_separators_and_dates_are_not_offered_for_categorical_encoding(tmp_path):
    rows = "".join(f'2020-01-0{i + 1},{"AB"[i % 2]},"1,23{i}",2020-02-0{i + 1},{i}\n' for i in range(8))
    path = write(tmp_path, "date,ticker,volume,settle,price\n" + rows)
    with pytest.raises(DataError) as raised:
        load_sequences(SequenceDataConfig(path=str(path), window=3))
    # ticker alone is text: "1,230" wants its separators removed, and a second date column the time column's fix.
    assert "column 'ticker' holds 'A', which is not a number; encode it with --data.categorical ticker (" in str(
        raised.value)


def test_bad_sequence_options_and_npz_files_are_one_sentence(tmp_path):
    for options, message in (({"window": 1}, "--data.window must be at least 2 \\(got 1\\)"),
                             ({"sines": 0}, "--data.sines must be at least 1 \\(got 0\\)")):
        with pytest.raises(ConfigError, match=message):
            SequenceDataConfig(**options).validate()
    csv = write(tmp_path, "date,kind,v\n2020-01-01,a,1\n2020-01-02,b,2\n2020-01-03,a,3\n")
    with pytest.raises(ConfigError, match="Column 'date' is both --data.time_column and --data.categorical"):
        load_sequences(SequenceDataConfig(path=str(csv), window=2, time_column="date", categorical=("date", "kind")))
    np.savez(tmp_path / "other.npz", y=np.zeros(3))
    with pytest.raises(DataError, match=r"other.npz holds 'y' but no 'x'; save the data as x"):
        load_sequences(SequenceDataConfig(path=str(tmp_path / "other.npz"), window=2))


def test_a_pipe_named_like_data_is_refused_rather_than_read_forever(tmp_path):
    for name in ("pipe.csv", "pipe.npz"):
        os.mkfifo(tmp_path / name)
        with pytest.raises(DataError, match=f"{name} is not a regular file \\(a pipe, socket or device\\); point"):
            load_sequences(SequenceDataConfig(path=str(tmp_path / name)))


def test_an_npz_may_name_its_features(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3, 2))
    np.savez(tmp_path / "named.npz", x=x, columns=np.array(["price", "volume"]))
    assert read_sources(SequenceDataConfig(path=str(tmp_path / "named.npz"))).columns == ["price", "volume"]
    for names in (np.array(["price"]), np.array(["p", "p"]), np.array([1, 2])):
        np.savez(tmp_path / "bad.npz", x=x, columns=names)
        with pytest.raises(DataError, match="columns has shape .* it must name each of the 2 features of x once"):
            read_sources(SequenceDataConfig(path=str(tmp_path / "bad.npz")))
