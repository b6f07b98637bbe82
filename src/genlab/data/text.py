"""Text data: any UTF-8 file or folder of ``.txt`` files, split into train and validation text.

The split is by characters: the first ``1 - validation_fraction`` of the text trains, the rest
validates — for tiny Shakespeare that is the first 90% / last 10% split of the reference
char-level models. Training examples are random windows: example ``i`` is the ``context + 1``
tokens starting at token ``i``, so an epoch visits every window once and a batch is one gather.

The embedded corpus is tiny Shakespeare (public domain), shipped gzip-compressed in the package.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from genlab.errors import ConfigError, DataError
from genlab.fileio import missing

EMBEDDED_NAME = "tiny Shakespeare (embedded)"


@dataclass
class TextDataConfig:
    path: str | None = None  # UTF-8 text file or folder of .txt files; None: embedded tiny Shakespeare
    validation_fraction: float = 0.1  # the last fraction of the characters, held out for evaluation

    def validate(self) -> None:
        if not 0 < self.validation_fraction < 1:
            raise ConfigError(f"--data.validation_fraction must lie strictly between 0 and 1 "
                              f"(got {self.validation_fraction}).")


def embedded_corpus_path() -> Path:
    """Tiny Shakespeare shipped inside genlab: 1,115,394 characters, gzip-compressed."""
    return Path(str(resources.files("genlab.data") / "assets" / "tinyshakespeare.txt.gz"))


# Files that are not text at all, by their first bytes: converting their encoding would not help.
BINARY_FORMATS = ((b"\x1f\x8b", "gzip-compressed"), (b"PK\x03\x04", "a zip archive (an .npz is one)"),
                  (b"\x93NUMPY", "a NumPy array (.npy)"), (b"BZh", "bzip2-compressed"),
                  (b"\xfd7zXZ\x00", "xz-compressed"), (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
                  (b"%PDF", "a PDF document"))


# Byte-order marks of the wider Unicode encodings (Windows Notepad's "Unicode" is UTF-16LE); the
# UTF-32 ones first, as UTF-32LE's begins with UTF-16LE's.
WIDE_ENCODINGS = ((b"\xff\xfe\x00\x00", "UTF-32LE"), (b"\x00\x00\xfe\xff", "UTF-32BE"), (b"\xff\xfe", "UTF-16LE"),
                  (b"\xfe\xff", "UTF-16BE"))


def decode_utf8(data: bytes, source: str) -> str:
    """Bytes → text; invalid UTF-8 is an error naming ``source`` and the byte offset."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        wide = next((name for mark, name in WIDE_ENCODINGS if data.startswith(mark)), None)
        if wide is not None:  # iconv -f LATIN1 would turn it into valid UTF-8 with a NUL after every letter
            raise DataError(f"{source} is {wide} text (it starts with that byte-order mark); convert it to UTF-8, "
                            f"e.g. with 'iconv -f {wide} -t UTF-8'.") from None
        kind = next((kind for magic, kind in BINARY_FORMATS if data.startswith(magic)), None)
        if kind is not None:
            raise DataError(f"{source} is {kind}, not text; decompress or convert it to a UTF-8 text file and "
                            "pass that.") from None
        raise DataError(f"{source} is not UTF-8 text (invalid byte 0x{data[e.start]:02x} at byte offset {e.start}); "
                        "convert it to UTF-8, e.g. with 'iconv -f LATIN1 -t UTF-8'.") from None
    return text.removeprefix("\ufeff")  # a byte-order mark is not text


def read_text(path: str | os.PathLike | None, option: str = "--data") -> tuple[str, str]:
    """Read a text file, a folder of ``.txt`` files (sorted, joined by newlines; hidden files and
    folders skipped) or, for None, the embedded corpus → (text, description of the source).
    Errors tell the user to point ``option`` elsewhere."""
    if path is None:
        return decode_utf8(gzip.decompress(embedded_corpus_path().read_bytes()), EMBEDDED_NAME), EMBEDDED_NAME
    path = Path(path)
    if path.is_dir():
        # Hidden copies (.ipynb_checkpoints/, macOS ._x.txt) would repeat the text, or leak validation text.
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".txt"
                       and p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise DataError(f"{path} holds no .txt files; point {option} at a UTF-8 text file or a folder of .txt "
                            "files.")
        text = "\n".join(decode_utf8(f.read_bytes(), str(f)) for f in files)
        source = f"{len(files)} text files in {path}"
    elif path.is_file():
        text, source = decode_utf8(path.read_bytes(), str(path)), str(path)
    else:
        raise DataError(f"{path} {missing(path)}; point {option} at a UTF-8 text file or a folder of .txt files.")
    if not text:
        raise DataError(f"{path} holds no text; point {option} at a non-empty UTF-8 text file.")
    return text, source


def refuse_embedded_text_for_other_training(model, fix: str) -> None:
    """Refuse to score ``model`` on the embedded corpus, which 'genlab eval' reads without --data,
    when the run that saved it trained on a path of its own: the scores would be of text it was not
    trained to model. ``fix`` is the clause that says what to pass with --data. A model without its
    run's config (an export copied out of the run) cannot tell and is let through."""
    from genlab.data.provenance import training_data_section

    trained_on = (training_data_section(model.loaded_from) or {}).get("path") if model.loaded_from else None
    if trained_on is not None:
        raise ConfigError(f"This model was trained on {trained_on}, not on the embedded tiny Shakespeare that "
                          f"'genlab eval' scores without --data; {fix}.")


def split_text(text: str, validation_fraction: float) -> tuple[str, str]:
    """(train, validation): the first and last parts of ``text``, cut at a character."""
    cut = int(len(text) * (1 - validation_fraction))
    return text[:cut], text[cut:]


class TokenWindows:
    """Every window of ``context + 1`` consecutive tokens of one token stream."""

    def __init__(self, tokens: torch.Tensor, context: int, description: str = "") -> None:
        if tokens.numel() <= context:
            raise DataError(f"{tokens.numel()} training tokens are too few for one window of --model.context "
                            f"{context} + 1 ({description or 'the data'}); use more text or a shorter context.")
        self.tokens = tokens
        self.context = context
        self.description = description
        self._offsets = torch.arange(context + 1)

    def __len__(self) -> int:
        return self.tokens.numel() - self.context

    def get_batch(self, indices: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
        """Window starts (B,) → {"tokens": int64 (B, context + 1)}: inputs [:, :-1], targets [:, 1:]."""
        return {"tokens": self.tokens[indices[:, None] + self._offsets].to(device, non_blocking=True)}
