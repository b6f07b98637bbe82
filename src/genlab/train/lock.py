"""One writer per run directory: an advisory lock that a training process holds on its run.

A second ``genlab train`` into the same directory (``--resume auto`` while the first still runs)
would clear the first one's checkpoint in progress as debris of a crash and then write over its
files; it is refused instead. The lock is ``flock`` on ``RUN/.lock``: the operating system drops it
when the process ends, however it ends, so a killed run never leaves a stale lock. Where there is
no ``fcntl`` (Windows) nothing is locked.
"""

from __future__ import annotations

import os
from pathlib import Path

from genlab.errors import ConfigError

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None

LOCK_FILE = ".lock"
_held: dict[Path, int] = {}  # run directory → the open descriptor that holds its lock


def hold_run_lock(run_dir: Path) -> None:
    """Take ``run_dir``'s lock for this process (again: nothing to do); refuse if another holds it.
    A directory that does not exist yet is not locked: call this again once it is created."""
    key = Path(run_dir).resolve()
    if fcntl is None or key in _held or not key.is_dir():
        return
    fd = os.open(key / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ConfigError(f"{run_dir} is being written by another genlab train right now; wait for it to finish, "
                          "or pass --out NEW_DIR.") from None
    _held[key] = fd


def is_training(run_dir: Path) -> bool:
    """Whether another process holds ``run_dir``'s lock: a ``genlab train`` writing it right now."""
    path = Path(run_dir) / LOCK_FILE
    if fcntl is None or not path.is_file() or Path(run_dir).resolve() in _held:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this test took


def release_run_lock(run_dir: Path) -> None:
    """Let ``run_dir`` go (the end of training)."""
    fd = _held.pop(Path(run_dir).resolve(), None)
    if fd is not None:
        os.close(fd)
