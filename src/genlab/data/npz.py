"""Reading an .npz a user points genlab at: a damaged or foreign file is one DataError, never a traceback."""

from __future__ import annotations

import os
import tokenize
import zipfile
import zlib

import numpy as np

from genlab.errors import DataError

# What np.load raises on a damaged file: the zip layer (BadZipFile; EOFError when cut short;
# zlib.error for a corrupt deflate stream; NotImplementedError for an unknown compression or
# encryption), the .npy header parser (ValueError, tokenize's TokenError, OverflowError for an
# absurd shape) and a header that asks for more memory than exists (MemoryError).
UNREADABLE_NPZ = (OSError, ValueError, EOFError, OverflowError, MemoryError, NotImplementedError,
                  zipfile.BadZipFile, zlib.error, tokenize.TokenError)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a member's header; the end record of an empty archive
NPY_MAGIC = b"\x93NUMPY"


def load_npz_arrays(path: str | os.PathLike, fix: str) -> dict[str, np.ndarray]:
    """Every array of the .npz at ``path``, by name (pickled arrays refused). A file that is not a
    readable .npz, a single .npy array included, is a DataError whose sentence ends with ``fix``."""
    if os.path.isdir(path):
        raise DataError(f"{path} is a folder, not an .npz file; {fix}")
    if os.path.exists(path) and not os.path.isfile(path):  # a pipe or device would be read forever
        raise DataError(f"{path} is not a regular file (a pipe, socket or device); {fix}")
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
        # np.load takes anything that is neither a zip nor an .npy for a pickle, and its refusal
        # would advise loading the file unsafely.
        if not head.startswith(ZIP_MAGIC) and head != NPY_MAGIC:
            raise DataError(f"{path} is not a readable .npz file (it does not start like a zip archive); {fix}")
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single .npy array, not an .npz archive; {fix}")
        with loaded as archive:
            return {key: archive[key] for key in archive.files}
    except UNREADABLE_NPZ as e:
        raise DataError(f"{path} is not a readable .npz file ({e}); {fix}") from None


def array_header(path: str | os.PathLike, name: str) -> tuple[tuple[int, ...], np.dtype] | None:
    """(shape, dtype) of the array ``name`` in the .npz at ``path``, read from its .npy header alone (the
    data is not loaded); None if the file is no readable .npz or holds no such array."""
    try:
        with zipfile.ZipFile(path) as archive:
            member_name = next((m for m in (f"{name}.npy", name) if m in archive.namelist()), None)
            if member_name is None:
                return None
            with archive.open(member_name) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                    return shape, dtype
                if version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                    return shape, dtype
            # Format 3.0 (non-Latin-1 field names) has no public header reader: read the array itself.
            with archive.open(member_name) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
                return array.shape, array.dtype
    except UNREADABLE_NPZ:
        return None
