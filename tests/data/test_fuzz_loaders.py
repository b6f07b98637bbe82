"""Property-based fuzzing: any bytes in any supported format give images or a DataError, nothing else."""

import gzip
import pickle
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from genlab.data.images import load_images
from genlab.errors import DataError

SETTINGS = settings(max_examples=40, deadline=None, database=None,  # no .hypothesis folder in the repository
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(path: Path) -> str:
    try:
        found = load_images(path)
    except DataError as e:
        assert str(e) and "\n" not in str(e)
        return "error"
    assert found.images.dtype == np.uint8 and found.images.ndim == 4
    return "data"


def in_tempdir(write):
    folder = Path(tempfile.mkdtemp())
    try:
        return outcome(write(folder))
    finally:
        shutil.rmtree(folder)


@SETTINGS
@given(st.binary(max_size=2000))
def test_npz_bytes(raw):
    def write(folder):
        (folder / "x.npz").write_bytes(raw)
        return folder / "x.npz"

    in_tempdir(write)


@SETTINGS
@given(st.lists(st.integers(0, 255), min_size=0, max_size=64), st.sampled_from(["uint8", "int64", "float32"]),
       st.lists(st.integers(1, 4), min_size=1, max_size=5))
def test_npz_arrays_of_any_shape_and_dtype(values, dtype, shape):
    def write(folder):
        size = int(np.prod(shape))
        data = np.resize(np.asarray(values or [0], dtype=dtype), size).reshape(shape)
        np.savez(folder / "x.npz", x=data, y=np.arange(shape[0]))
        return folder / "x.npz"

    result = in_tempdir(write)
    if dtype == "uint8" and len(shape) in (3, 4) and (len(shape) == 3 or shape[3] in (1, 3, 4)):
        assert result == "data"  # uint8 (N, H, W) or (N, H, W, C) images are read, whatever their size


@SETTINGS
@given(st.binary(max_size=3000), st.booleans())
def test_idx_bytes(raw, gz):
    def write(folder):
        path = folder / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(raw) if gz else raw)
        return path

    in_tempdir(write)


@SETTINGS
@given(st.integers(0, 6), st.integers(0, 40), st.integers(0, 40))
def test_idx_headers_with_any_sizes(n, h, w):
    def write(folder):
        body = bytes(range(256)) * 8
        path = folder / "train-images-idx3-ubyte"
        path.write_bytes(struct.pack(">IIII", 0x803, n, h, w) + body[: n * h * w])
        return path

    result = in_tempdir(write)
    if n and h and w and n * h * w <= 256 * 8:  # a well-formed file (as long as its header says) is read
        assert result == "data"


@SETTINGS
@given(st.binary(max_size=500))
def test_image_folder_bytes(raw):
    def write(folder):
        (folder / "a.png").write_bytes(raw)
        return folder

    in_tempdir(write)


@SETTINGS
@given(st.one_of(st.binary(max_size=300), st.dictionaries(st.sampled_from([b"data", b"labels", b"x"]),
                                                          st.one_of(st.integers(), st.binary(max_size=50),
                                                                    st.lists(st.integers(0, 9), max_size=5)))))
@example(b"\x8e\x00\x00\x00\x00\x00\x00\x00\x01")  # BINBYTES8 declaring 2^56 bytes: a MemoryError once
def test_cifar_batches(content):
    def write(folder):
        raw = content if isinstance(content, bytes) else pickle.dumps(content, protocol=4)
        for i in range(1, 6):
            (folder / f"data_batch_{i}").write_bytes(raw)
        return folder

    in_tempdir(write)
