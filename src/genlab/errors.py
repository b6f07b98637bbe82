"""Errors a user can act on.

Every ``GenlabError`` carries one sentence that names the file or option at fault and says how to
fix it. The CLI prints that sentence alone (no traceback unless ``--debug``) and exits with
status 2.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path


class GenlabError(Exception):
    """Base class: the message is a complete, actionable sentence."""

    exit_code = 2


class ConfigError(GenlabError):
    """An option, a config file or an override is wrong; ``option``, where known, is the dotted
    option at fault ("model.latent_dim", or a section's name), so that a caller can say which
    file set it."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class DataError(GenlabError):
    """A data path is missing, empty, corrupt or of the wrong shape."""


class CheckpointError(GenlabError):
    """A checkpoint or exported model folder is missing, incomplete or of another model."""


class BrokenWeightsError(CheckpointError):
    """A weights file reads correctly but holds NaN or infinite values."""


class WeightsMismatchError(CheckpointError):
    """A weights file holds the weights of another model (other layers or shapes)."""


class SampleError(GenlabError):
    """A model drew samples that cannot be written or scored truthfully (NaN or infinite values)."""


class UnsafeCheckpointError(CheckpointError):
    """A file would need unsafe (code-running) deserialisation; it is refused, never run."""


@contextlib.contextmanager
def out_of_memory_as(message: str) -> Iterator[None]:
    """An allocation that fails inside the block (a MemoryError, torch's CPU allocator, CUDA's
    out-of-memory) becomes a ConfigError of ``message``, naming the option to lower."""
    try:
        yield
    except (MemoryError, RuntimeError, TypeError, ValueError) as e:
        if not isinstance(e, MemoryError) and not any(sign in str(e) for sign in TOO_LARGE):
            raise
        raise ConfigError(message) from None


# How torch says that an allocation failed or that its size is beyond any memory (a count past
# int64 is a TypeError or ValueError while torch unpacks it, one whose byte size overflows a RuntimeError).
TOO_LARGE = ("can't allocate memory", "out of memory", "size calculation overflowed", "Overflow when unpacking")


def run_main(main: Callable[[], object]) -> None:
    """Run a script's ``main`` as ``genlab`` runs a command: a GenlabError (a bad option or file)
    ends in its one sentence on stderr and its exit code (2), not a traceback."""
    try:
        main()
    except GenlabError as e:
        print(f"{Path(sys.argv[0]).name}: error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
