"""Property-based fuzzing of the sequence, text and sentence loaders: any bytes (and, for .npz, any
arrays) give well-formed data or a one-line DataError / ConfigError, never another exception."""

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from genlab.data.sentences import SentenceDataConfig, read_lines, read_token_ids
from genlab.data.sequences import SequenceDataConfig, load_sequences
from genlab.data.text import TextDataConfig, read_text
from genlab.errors import ConfigError, DataError
from genlab.models.textgan import TextGANConfig, build_sentence_data
from genlab.models.transformer import TransformerConfig, build_text_data
from genlab.tokenizers import EOS, UNKNOWN, build_tokenizer, load_tokenizer

SETTINGS = settings(max_examples=40, deadline=None, database=None,  # no .hypothesis folder in the repository
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
NPZ_MAGIC = b"PK\x03\x04"
NPY_MAGIC = b"\x93NUMPY"


def outcome(load, check, folder: Path) -> str:
    """'data' after ``check(load())`` passes, or 'error' for a one-line DataError / ConfigError.
    Each outcome is a hypothesis event (see them with --hypothesis-show-statistics)."""
    try:
        result = load()
    except (DataError, ConfigError) as e:
        assert str(e) and "\n" not in str(e), repr(str(e))
        event(f"{type(e).__name__}: {str(e).replace(str(folder), '')[:60]}")
        return "error"
    check(result)
    event("data")
    return "data"


def in_tempdir(write, *loads_and_checks) -> list[str]:
    """Write the input with ``write(folder) -> path`` and run each (load(path), check) on it."""
    folder = Path(tempfile.mkdtemp())
    try:
        path = write(folder)
        return [outcome(lambda: load(path), check, folder) for load, check in loads_and_checks]
    finally:
        shutil.rmtree(folder)


def writer(name: str, raw: bytes):
    def write(folder):
        (folder / name).write_bytes(raw)
        return folder / name
    return write


def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


# --- what well-formed data looks like ------------------------------------------------------------
def check_sequences(result) -> None:
    """Scaled sequences (N, T, F) in [0, 1] with T ≥ 2, one name per feature, labels ≥ 0, lengths in [2, T]."""
    dataset, scaling, columns, window = result
    sequences = dataset.sequences
    assert sequences.dtype == torch.float32 and sequences.ndim == 3 and len(dataset) >= 1
    assert window >= 2 and sequences.shape[1] == window
    assert sequences.shape[2] == len(columns) == len(scaling.minimum) == len(scaling.maximum)
    assert torch.isfinite(sequences).all() and sequences.min() >= 0 and sequences.max() <= 1
    if dataset.labels is not None:
        assert dataset.labels.dtype == torch.int64 and dataset.labels.shape == (len(dataset),)
        assert dataset.labels.min() >= 0
    if dataset.lengths is not None:
        assert dataset.lengths.shape == (len(dataset),)
        assert dataset.lengths.min() >= 2 and dataset.lengths.max() <= window


def check_text(result) -> None:
    text, source = result
    assert isinstance(text, str) and text and source


def check_text_windows(result) -> None:
    """At least one window of context + 1 ids, every id inside the config's vocabulary."""
    windows, model = result
    vocab_size = load_tokenizer(model.tokenizer, model.vocab or []).vocab_size
    assert windows.tokens.dtype == torch.int64 and len(windows) >= 1
    assert windows.tokens.numel() > model.context
    assert windows.tokens.min() >= 0 and windows.tokens.max() < vocab_size


def check_lines(result) -> None:
    lines, source = result
    assert lines and source
    # Cut at line ends only: U+2028, U+0085 and the like stay inside a sentence.
    assert all(line and line == line.strip() and "\n" not in line and "\r" not in line for line in lines)


def check_token_ids(tokens) -> None:
    assert tokens.dtype == np.int64 and tokens.ndim == 2 and tokens.shape[0] >= 1 and tokens.shape[1] >= 2
    assert tokens.min() >= 0


def check_sentences(result) -> None:
    """Token ids (N, seq_len) inside the vocabulary the config now holds."""
    dataset, model = result
    tokens = dataset.tokens
    assert tokens.dtype == torch.int64 and tokens.ndim == 2 and len(dataset) >= 1
    assert model.seq_len >= 2 and tokens.shape[1] == model.seq_len
    if model.split == "ids":
        vocab_size = model.vocab_size
    else:
        assert model.split in ("word", "char") and model.vocab[:2] == [EOS, UNKNOWN]
        vocab_size = len(model.vocab)
    assert tokens.min() >= 0 and tokens.max() < vocab_size


# --- strategies --------------------------------------------------------------------------------
NUMBER_CELLS = st.one_of(st.integers(-10**9, 10**9).map(str), st.floats(-1e300, 1e300).map(repr),
                         st.floats(-1e3, 1e3).map(lambda v: f" {v:.3f}"))
ODD_CELLS = st.sampled_from(["", " ", "NaN", "nan", "NA", "n/a", "null", "None", "inf", "-inf", "+Infinity",
                             "1e999", "1e308", "-1e308", "1.7976931348623157e308", "0x10", "1_000", "١٢",
                             "2016-01-11 17:00", "2020-01-01T00:00:00", "12:30", "1/2/2003", "abc", '"1,5"',
                             '""', '"', "'", "\t3\t", "\x00", "1\x002"])
TEXT_CELLS = st.text(max_size=8)
PLAIN_HEADER_CELLS = st.sampled_from(["date", "Time", "timestamp", "value", "", "a", "a", " b "])
ODD_HEADER_CELLS = st.sampled_from(["x,y", '"q"', '"', "\ufeff"]) | st.text(max_size=6)
DATES = st.dates().map(str) | st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M"))


@st.composite
def csv_files(draw) -> tuple[bytes, SequenceDataConfig]:
    """CSV bytes from random headers and cells (only numbers, or with missing, infinite, text and
    quoted cells), maybe a date column, ragged rows, a BOM, any line ending; and the loader options."""
    mess = draw(st.sampled_from([0, 0, 1, 2]))  # 0: numbers under plain names; 1: odd cells too; 2: any text too
    cells = [NUMBER_CELLS, NUMBER_CELLS | ODD_CELLS, NUMBER_CELLS | ODD_CELLS | TEXT_CELLS][mess]
    columns = draw(st.integers(1, 4))
    header = draw(st.lists(PLAIN_HEADER_CELLS | ODD_HEADER_CELLS if mess else PLAIN_HEADER_CELLS,
                           min_size=columns, max_size=columns))
    rows = draw(st.lists(st.lists(cells, min_size=columns, max_size=columns), min_size=1, max_size=30))
    if draw(st.booleans()):
        header = ["date", *header]
        rows = [[draw(DATES), *row] for row in rows]
    if rows and draw(st.integers(0, 4)) == 0:  # one row with a cell more or less than the header
        row = draw(st.integers(0, len(rows) - 1))
        rows[row] = rows[row][:-1] if draw(st.booleans()) else [*rows[row], draw(cells)]
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(",".join(row) for row in [header, *rows]) + newline * draw(st.integers(0, 2))
    raw = ("\ufeff" if draw(st.booleans()) else "") + text
    config = SequenceDataConfig(
        window=draw(st.sampled_from([2, 2, 3, None])), fill=draw(st.sampled_from(["none", "ffill", "zero"])),
        time_column=draw(st.sampled_from([None] * 4 + [header[0].strip(), "no such column"])),
        reverse=draw(st.booleans()))
    return raw.encode("utf-8", errors="surrogatepass"), config


def load_csv(config: SequenceDataConfig):
    return lambda path: load_sequences(SequenceDataConfig(**{**vars(config), "path": str(path)}))


@st.composite
def hostile_texts(draw) -> bytes:
    """UTF-8 text of any characters, or only whitespace, NUL bytes, a very long line; then maybe a
    BOM and invalid UTF-8 bytes (stray continuation bytes, overlong forms, surrogates) spliced in."""
    text = draw(st.one_of(
        st.text(max_size=200),
        st.text(st.sampled_from(" \t\r\n\x0b\x0c\x1c\x85\u2028\u3000"), max_size=50),
        st.lists(st.sampled_from(["\x00", "a", " ", "\n"]), max_size=60).map("".join),
        st.builds(lambda c, n, rest: c * n + "\n" + rest, st.sampled_from(["x", "é", "字", "😀", "ab ", "."]),
                  st.integers(1000, 20000), st.text(max_size=20)),
    ))
    raw = ("\ufeff" if draw(st.booleans()) else "").encode() + text.encode("utf-8")
    for _ in range(draw(st.integers(1, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\x80", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"])) + raw[at:]
    return raw


def text_file_or_folder(raw: bytes, folder_of_files: bool):
    """The bytes as x.txt, or as one of the .txt files of a folder (with a readable neighbour)."""
    def write(folder):
        if not folder_of_files:
            return writer("x.txt", raw)(folder)
        (folder / "data" / "sub").mkdir(parents=True)
        (folder / "data" / "a.txt").write_text("first line\n", encoding="utf-8")
        (folder / "data" / "sub" / "b.txt").write_bytes(raw)
        return folder / "data"
    return write


TRANSFORMERS = st.builds(TransformerConfig, tokenizer=st.sampled_from(["char", "word", "byte"]),
                         context=st.integers(1, 8), max_words=st.integers(1, 50))
TEXTGANS = st.one_of(st.just(TextGANConfig()),
                     st.builds(TextGANConfig, split=st.sampled_from([None, "word", "char", "ids"]),
                               seq_len=st.one_of(st.none(), st.integers(1, 12)),
                               # the default too: token ids refuse any other (they bring their own vocabulary)
                               max_words=st.one_of(st.just(TextGANConfig.max_words), st.integers(2, 40)),
                               d_widths=st.sampled_from([(2,), (2, 3, 4, 5)])))
ARRAY_DTYPES = (hnp.scalar_dtypes() | hnp.byte_string_dtypes(max_len=3) | hnp.unicode_string_dtypes(max_len=3)
                | st.sampled_from([np.dtype("uint64"), np.dtype("float16")]))


PICKLED_ARRAY = np.array([None, "a"], dtype=object)  # np.savez pickles it; the loaders must refuse it


def any_array(max_dims: int = 4):
    return (hnp.arrays(ARRAY_DTYPES, hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5))
            | st.just(PICKLED_ARRAY))


@st.composite
def sequence_arrays(draw) -> dict[str, np.ndarray]:
    """x of any dtype and shape, or a float series (rows, F) / sequences (N, T, F) that may hold one
    extreme value; y and lengths absent, plausible (one per sequence) or of any dtype and shape."""
    if draw(st.integers(0, 2)) == 0:
        x = draw(any_array())
    else:
        x = draw(hnp.arrays(np.float64, st.sampled_from([(30, 2), (6, 3), (4, 5, 2), (3, 1, 2), (2, 7, 1)]),
                            elements=st.floats(-1e6, 1e6)))
        if draw(st.integers(0, 2)) == 0:
            x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([1.7e308, -1.7e308, np.nan, -np.inf]))
    arrays = {"x": x}
    count, steps = (x.shape + (1, 1))[:2]
    plausible = {"y": hnp.arrays(st.sampled_from([np.int64, np.uint8]), (count,), elements=st.integers(0, 9)),
                 "lengths": hnp.arrays(np.int64, (count,), elements=st.integers(2, max(2, steps)))}
    for key, strategy in plausible.items():
        kind = draw(st.sampled_from(["absent", "absent", "plausible", "any"]))
        if kind != "absent":
            arrays[key] = draw(strategy if kind == "plausible" else any_array(2))
    return arrays


WELL_FORMED_NPZ = [npz_bytes({"x": np.random.default_rng(0).random((4, 6, 2)), "y": np.arange(4),
                              "lengths": [6, 3, 2, 6], "tokens": np.arange(24).reshape(4, 6) % 7}, compressed)
                   for compressed in (False, True)]
NPZ_LOADERS = [(lambda path: load_sequences(SequenceDataConfig(path=str(path))), check_sequences),
               (read_token_ids, check_token_ids),
               (lambda path: build_sentence_data(SentenceDataConfig(str(path)), TextGANConfig(d_widths=(2,))),
                check_sentences)]


# --- sequences: CSV and .npz --------------------------------------------------------------------
@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(["none", "ffill", "zero"]))
def test_csv_bytes(raw, fill):
    in_tempdir(writer("x.csv", raw), (load_csv(SequenceDataConfig(window=2, fill=fill)), check_sequences))


@SETTINGS
@given(csv_files())
def test_csv_built_from_random_headers_and_cells(case):
    raw, config = case
    in_tempdir(writer("x.csv", raw), (load_csv(config), check_sequences))


@settings(SETTINGS, max_examples=10)
@given(st.integers(100_000, 300_000), st.sampled_from(["1", "a", "\"", " "]), st.integers(1, 3000))
def test_csv_with_a_very_long_cell_or_very_many_columns(length, char, columns):
    header = ",".join(f"c{i}" for i in range(columns))
    rows = "\n".join(",".join(["1"] * columns) for _ in range(3))
    long_row = ",".join([char * length] + ["2"] * (columns - 1))
    in_tempdir(writer("x.csv", f"{header}\n{rows}\n{long_row}\n".encode()),
               (load_csv(SequenceDataConfig(window=2)), check_sequences))


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from([b"", NPZ_MAGIC, NPY_MAGIC, b"PK\x05\x06"]))
def test_npz_bytes(raw, magic):
    in_tempdir(writer("x.npz", magic + raw), *NPZ_LOADERS)


@st.composite
def corrupted_npz(draw) -> bytes:
    """A well-formed archive (stored or compressed) with a few bytes changed, maybe cut short."""
    raw = bytearray(draw(st.sampled_from(WELL_FORMED_NPZ)))
    for _ in range(draw(st.integers(0, 4))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw[:draw(st.integers(0, len(raw)))] if draw(st.integers(0, 3)) == 0 else raw)


@SETTINGS
@given(corrupted_npz())
def test_npz_with_corrupted_bytes(raw):
    in_tempdir(writer("x.npz", raw), *NPZ_LOADERS)


@SETTINGS
@given(any_array())
def test_a_single_npy_array_named_npz(array):
    buffer = io.BytesIO()
    np.save(buffer, array)  # an .npy renamed to .npz
    assert in_tempdir(writer("x.npz", buffer.getvalue()), *NPZ_LOADERS) == ["error"] * 3


@SETTINGS
@given(sequence_arrays())
def test_sequence_npz_arrays_of_any_shape_and_dtype(arrays):
    x = arrays["x"]
    found = in_tempdir(writer("x.npz", npz_bytes(arrays)),
                       (lambda path: load_sequences(SequenceDataConfig(path=str(path))), check_sequences))
    if x.dtype.kind == "c" and np.any(x.imag):
        assert found == ["error"]  # a complex series is refused, not stripped of its imaginary part


@SETTINGS
@given(st.sampled_from(["int8", "int64", "uint8", "uint64"]).flatmap(lambda dtype: hnp.arrays(dtype, (4,))))
def test_sequence_labels_of_any_integer_width(labels):
    in_tempdir(writer("x.npz", npz_bytes({"x": np.zeros((4, 6, 2)), "y": labels})),
               (lambda path: load_sequences(SequenceDataConfig(path=str(path))), check_sequences))


# --- text: read_text and the transformer's windows ----------------------------------------------
@SETTINGS
@given(st.one_of(st.binary(max_size=2000), hostile_texts()), st.booleans(), TRANSFORMERS,
       st.sampled_from([0.1, 0.5, 0.99]))
def test_text_bytes_and_hostile_text(raw, folder_of_files, model, validation_fraction):
    found = in_tempdir(text_file_or_folder(raw, folder_of_files), (read_text, check_text),
                       (lambda path: build_text_data(TextDataConfig(str(path), validation_fraction), model),
                        check_text_windows))
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = None
    # A folder's other file is text, so there an empty file still leaves text to read.
    readable = decoded is not None and (folder_of_files or decoded.removeprefix("\ufeff") != "")
    assert found[0] == ("data" if readable else "error")


@SETTINGS
@given(st.text(min_size=1, max_size=30), st.data(), st.sampled_from(["char", "word"]))
def test_text_against_the_vocabulary_of_another_text(other_text, data, tokenizer):
    """A resumed run keeps its vocabulary: text with symbols outside it is an error (char) or <unk> (word)."""
    raw = (data.draw(st.text(st.sampled_from(sorted(set(other_text))), max_size=60)).encode()
           + data.draw(st.just(b"") | hostile_texts()))
    vocab = build_tokenizer(tokenizer, other_text).vocab
    model = TransformerConfig(tokenizer=tokenizer, vocab=vocab, context=2)
    in_tempdir(writer("x.txt", raw), (lambda path: build_text_data(TextDataConfig(str(path)), model),
                                      check_text_windows))


# --- sentences: read_lines, read_token_ids and the textgan data ----------------------------------
@SETTINGS
@given(st.one_of(st.binary(max_size=2000), hostile_texts()), st.booleans(), TEXTGANS)
def test_sentence_text_bytes_and_hostile_text(raw, folder_of_files, model):
    in_tempdir(text_file_or_folder(raw, folder_of_files), (read_lines, check_lines),
               (lambda path: build_sentence_data(SentenceDataConfig(str(path)), model), check_sentences))


@SETTINGS
@given(st.one_of(any_array(), hnp.arrays(st.sampled_from([np.int64, np.uint64, np.int32, np.uint8]),
                                         hnp.array_shapes(min_dims=2, max_dims=2, max_side=8),
                                         elements=st.integers(0, 50))),
       st.sampled_from(["tokens", "x"]) | st.text(max_size=5), TEXTGANS)
def test_token_npz_arrays_of_any_shape_and_dtype(tokens, key, model):
    in_tempdir(writer("x.npz", npz_bytes({key: tokens})), (read_token_ids, check_token_ids),
               (lambda path: build_sentence_data(SentenceDataConfig(str(path)), model), check_sentences))
