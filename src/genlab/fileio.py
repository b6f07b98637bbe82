"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Each write goes to a temporary file in the destination folder, is flushed and fsynced, and is
then renamed over the destination (``os.replace`` is atomic on POSIX and Windows); the folder
itself is fsynced so the rename survives a power cut.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _default_file_mode() -> int:
    """0o666 less the process umask: what ``open(path, "w")`` would give (mkstemp gives 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _default_file_mode()


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a folder's entries (renames, new files) to disk; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def blocking_file(path: str | os.PathLike) -> Path | None:
    """The existing file (not folder) among ``path``'s parents, which would stop a folder being
    made there; None if there is none. Checked before long work whose result goes to ``path``."""
    for parent in Path(path).absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """Whether ``path`` is ``folder`` or lies under it, with ``~`` expanded and links followed in both
    (a loop of links: no)."""
    try:
        inner, outer = Path(path).expanduser().resolve(), Path(folder).expanduser().resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop of links, before Python 3.13
        return False
    return inner == outer or outer in inner.parents


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and atomically move the result to ``path``.

    ``write`` receives a fresh temporary path in the same folder and must create that file.
    If it raises, the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:  # named as the file asked for, not the hidden temporary one
        raise OSError(e.errno, e.strerror, str(path)) from e
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno is not None and (
                e.filename is None or tmp_name in {os.fspath(f) for f in (e.filename, e.filename2) if f is not None}):
            # named as the file asked for, not the hidden temporary (or nothing: a full disk, a size limit)
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    fsync_dir(path.parent)
    return path


def missing(path: Path) -> str:
    """How a message says that ``path`` is no file to read: a link to nothing, something other than a
    regular file or folder (a pipe, a device), or absent."""
    if path.is_symlink() and not path.exists():
        return "is a link to nothing (its target is missing, or the links loop)"
    if path.exists() and not path.is_dir():
        return "is not a regular file (a pipe, socket or device)"
    return "does not exist"


def atomic_write_npz(path: str | os.PathLike, arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` (numpy arrays) as an uncompressed .npz (numpy.savez), atomically."""
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: savez would append .npz to the temporary's name
            np.savez(f, **arrays)
    return atomic_write(path, write)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str, errors: str = "strict") -> Path:
    return atomic_write_bytes(path, text.encode("utf-8", errors))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
