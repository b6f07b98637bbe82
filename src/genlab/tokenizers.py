"""Tokenizers for any UTF-8 text: byte-level, character-level and word-level.

- ``byte``: the 256 byte values; every text encodes, nothing is ever unknown, and a non-Latin
  character costs several tokens (a Chinese character 3, most emoji 4).
- ``char``: one token per Unicode code point seen in the training text (sorted by code point,
  as the reference char-level models build it). A character it never saw cannot be encoded:
  that is an error naming the character, never a silent substitution.
- ``word``: runs of word characters (letters and digits, with their combining marks), runs of
  whitespace and single punctuation marks, so
  ``decode(encode(text)) == text`` for known words; the ``max_words`` most frequent pieces are
  kept and any other piece becomes ``<unk>`` (id 0, ``WORD_UNKNOWN_ID``) — the documented fallback
  for captions-style corpora whose vocabulary is open.

A tokenizer is fully described by its kind and vocabulary, which the transformer keeps in its
config (``tokenizer`` and ``vocab``), so it is saved as JSON with every checkpoint and exported
model and rebuilt by :func:`load_tokenizer`.
"""

from __future__ import annotations

import codecs
import functools
import re
import sys
import unicodedata
from collections import Counter

import numpy as np

from genlab.errors import DataError

KINDS = ("char", "byte", "word")
UNKNOWN = "<unk>"
WORD_UNKNOWN_ID = 0  # a word vocabulary's first piece


@functools.cache
def _marks() -> str:
    """Every combining mark (Unicode categories Mn, Mc, Me) as ranges for a regex character class.
    ``\\w`` leaves them out, so without them a word in Hindi, Thai or decomposed Latin would split
    at each of its marks. Built on first use (about 0.2 s)."""
    ranges, start, last = [], None, None
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code))[0] == "M":
            if start is None or code != last + 1:
                if start is not None:
                    ranges.append((start, last))
                start = code
            last = code
    ranges.append((start, last))
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b != a else "") for a, b in ranges)


@functools.cache
def word_pattern(whitespace: bool, marks: bool = True) -> re.Pattern:
    """Words (letters, digits and their combining marks), single other marks, and with
    ``whitespace`` runs of whitespace too (a transformer's word tokens; a sentence's leave it out).
    Without ``marks``, the split of genlab before 5 December, which cut a word at each combining
    mark: a vocabulary it built (see :func:`built_without_marks`) keeps reading text that way."""
    within = _marks() if marks else ""
    return re.compile(rf"[\w{within}]+|" + (r"\s+|" if whitespace else "") + rf"[^\w\s{within}]")


def built_without_marks(vocab: list[str]) -> bool:
    """Whether a word vocabulary was built by the earlier split: only that one made a piece of a
    combining mark alone (the current one keeps marks inside their words)."""
    return any(piece and all(unicodedata.category(ch)[0] == "M" for ch in piece) for piece in vocab)


class Tokenizer:
    def __init__(self, vocab: list[str]) -> None:
        self.vocab = vocab

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def unknown_pieces(self, text: str) -> list[str]:
        """The pieces of ``text`` outside the vocabulary, which encode as ``<unk>`` (none for the
        tokenizers without ``<unk>``: they refuse such text)."""
        return []

    def encode(self, text: str, source: str = "the text") -> np.ndarray:
        """Text → token ids (N,) int64; ``source`` names the text in error messages."""
        raise NotImplementedError

    def decode(self, ids) -> str:
        return "".join(self.vocab[i] for i in ids)

    def stream_decoder(self, prefix: str = ""):
        """A function id → text that may be printed as soon as that token is produced, after ``prefix``;
        called with None when the stream ends, it returns what it still holds back (a byte
        tokenizer's cut-off character)."""
        return lambda token: "" if token is None else self.vocab[token]

    def join(self, prefix: str, continuation: str) -> str:
        """A prompt and the decoded tokens that continue it, as one text."""
        return prefix + continuation


class ByteTokenizer(Tokenizer):
    def __init__(self) -> None:
        super().__init__([])

    @property
    def vocab_size(self) -> int:
        return 256

    def encode(self, text: str, source: str = "the text") -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)

    def decode(self, ids) -> str:
        # A sampled sequence may cut a character in half or hold invalid UTF-8: show U+FFFD there.
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")

    def stream_decoder(self, prefix: str = ""):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return lambda token: decoder.decode(b"", final=True) if token is None else decoder.decode(bytes([int(token)]))


class CharTokenizer(Tokenizer):
    def __init__(self, vocab: list[str]) -> None:
        super().__init__(vocab)
        if not vocab or any(len(symbol) != 1 for symbol in vocab) or len(set(vocab)) != len(vocab):
            raise DataError("A character vocabulary must hold distinct single characters; the model config's "
                            "vocab is corrupt — re-export the model.")
        self._codepoints = np.array([ord(c) for c in vocab], dtype=np.uint32)
        self._order = np.argsort(self._codepoints)
        self._sorted = self._codepoints[self._order]

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls(sorted(set(text)))

    def pieces(self, text: str) -> list[str]:
        """The text behind each token of ``text``: its characters."""
        return list(text)

    def encode(self, text: str, source: str = "the text") -> np.ndarray:
        codepoints = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        slots = np.minimum(np.searchsorted(self._sorted, codepoints), len(self._sorted) - 1)
        unknown = self._sorted[slots] != codepoints
        if unknown.any():
            first = int(np.argmax(unknown))
            char = text[first]
            raise DataError(f"{source} holds the character {char!r} (U+{ord(char):04X}, position {first}), which "
                            f"this model's {self.vocab_size}-character vocabulary lacks; remove it, or train "
                            "with --model.tokenizer byte, which encodes any text.")
        return self._order[slots].astype(np.int64)


class WordTokenizer(Tokenizer):
    def __init__(self, vocab: list[str]) -> None:
        super().__init__(vocab)
        if not vocab or vocab[WORD_UNKNOWN_ID] != UNKNOWN or len(set(vocab)) != len(vocab):
            raise DataError(f"A word vocabulary must start with {UNKNOWN} and hold each word once; the model "
                            "config's vocab is corrupt — re-export the model.")
        self._ids = {word: i for i, word in enumerate(vocab)}
        self._pattern = word_pattern(True, marks=not built_without_marks(vocab))

    @classmethod
    def from_text(cls, text: str, max_words: int) -> WordTokenizer:
        counts = Counter(word_pattern(True).findall(text))
        # Most frequent first; ties in first-seen order, so the vocabulary is deterministic.
        return cls([UNKNOWN, *(word for word, _ in counts.most_common(max_words - 1))])

    def pieces(self, text: str) -> list[str]:
        """The text behind each token of ``text`` (an ``<unk>`` token's piece included); they join to ``text``."""
        return self._pattern.findall(text)

    def encode(self, text: str, source: str = "the text") -> np.ndarray:
        return np.array([self._ids.get(piece, WORD_UNKNOWN_ID) for piece in self.pieces(text)], dtype=np.int64)

    def unknown_pieces(self, text: str) -> list[str]:
        return [piece for piece in self.pieces(text) if piece not in self._ids]


def build_tokenizer(kind: str, text: str, max_words: int = 20000) -> Tokenizer:
    """A tokenizer of ``kind`` whose vocabulary is learned from ``text``."""
    if kind == "byte":
        return ByteTokenizer()
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "word":
        return WordTokenizer.from_text(text, max_words)
    raise DataError(f"Unknown tokenizer {kind!r}; choose one of: {', '.join(KINDS)}.")


def load_tokenizer(kind: str, vocab: list[str]) -> Tokenizer:
    """The tokenizer saved as ``(kind, vocab)`` in a model config."""
    if kind == "byte":
        return ByteTokenizer()
    return {"char": CharTokenizer, "word": WordTokenizer}[kind](vocab)


# --- sentence tokenizers (the textgan family: one sentence per sequence) -----------------------
EOS = "<eos>"  # ends a sentence and pads it to the model's length
SENTENCE_EOS_ID = 0  # a sentence vocabulary starts with <eos>, then <unk>
SENTENCE_UNKNOWN_ID = 1
SPLITS = ("word", "char")


def sentence_pattern(split: str, marks: bool = True) -> re.Pattern:
    """How a sentence is cut into pieces: words and other marks (``word``; ``marks``: see
    :func:`word_pattern`) or characters (``char``)."""
    return word_pattern(False, marks) if split == "word" else re.compile(r".", re.DOTALL)


class SentenceTokenizer(Tokenizer):
    """Words and punctuation marks (``word``; whitespace between them is not a token and decoding
    joins them with one space) or characters (``char``, spaces included) of one sentence.

    Id ``SENTENCE_EOS_ID`` (0) is ``<eos>``, which ends a sentence and pads it to a fixed length; id
    ``SENTENCE_UNKNOWN_ID`` (1) is ``<unk>``, which stands for any piece outside the ``max_words`` most
    frequent. Decoding stops at the first ``<eos>``.
    """

    def __init__(self, vocab: list[str], split: str) -> None:
        super().__init__(vocab)
        if split not in SPLITS:
            raise DataError(f"Unknown sentence split {split!r}; choose word or char.")
        if vocab[:2] != [EOS, UNKNOWN] or len(set(vocab)) != len(vocab):
            raise DataError(f"A sentence vocabulary must start with {EOS}, {UNKNOWN} and hold distinct pieces; the "
                            "model config's vocab is corrupt — re-export the model.")
        self.split = split
        self._pattern = sentence_pattern(split, marks=not built_without_marks(vocab))
        self._ids = {piece: i for i, piece in enumerate(vocab)}
        self._separator = " " if split == "word" else ""

    @classmethod
    def from_lines(cls, lines: list[str], split: str, max_words: int) -> SentenceTokenizer:
        """The ``max_words`` (specials included) most frequent pieces of ``lines``; ties in first-seen order."""
        pattern = sentence_pattern(split)
        counts = Counter(piece for line in lines for piece in pattern.findall(line))
        return cls([EOS, UNKNOWN, *(piece for piece, _ in counts.most_common(max_words - 2))], split)

    def pieces(self, text: str) -> list[str]:
        return self._pattern.findall(text)

    def encode(self, text: str, source: str = "the text") -> np.ndarray:
        return np.array([self._ids.get(piece, SENTENCE_UNKNOWN_ID) for piece in self.pieces(text)], dtype=np.int64)

    def unknown_pieces(self, text: str) -> list[str]:
        return [piece for piece in self.pieces(text) if piece not in self._ids]

    def decode(self, ids) -> str:
        words = []
        for i in ids:
            if i == SENTENCE_EOS_ID:
                break
            words.append(self.vocab[i])
        return self._separator.join(words)

    def join(self, prefix: str, continuation: str) -> str:
        return self._separator.join(part for part in (prefix, continuation) if part)

    def stream_decoder(self, prefix: str = ""):
        ended, first = False, not prefix

        def piece(token: int | None) -> str:
            nonlocal ended, first
            ended = ended or token is None or token == SENTENCE_EOS_ID
            if ended:
                return ""
            text = self.vocab[token] if first else self._separator + self.vocab[token]
            first = False
            return text
        return piece


class IdTokenizer(Tokenizer):
    """Pre-tokenised data: the tokens are the integers 0..vocab_size-1, written as decimal words.

    No ``<eos>``: every sequence has the model's full length (the synthetic-oracle setting).
    """

    def __init__(self, vocab_size: int) -> None:
        super().__init__([])
        self._size = vocab_size

    @property
    def vocab_size(self) -> int:
        return self._size

    def encode(self, text: str, source: str = "the text") -> np.ndarray:
        try:
            ids = np.array([int(word) for word in text.split()], dtype=np.int64)
        except (ValueError, OverflowError):  # OverflowError: an id beyond int64
            raise DataError(f"{source} must be token ids separated by spaces for this model; got {text[:40]!r}.") \
                from None
        if ids.size and not (0 <= ids.min() and ids.max() < self._size):
            raise DataError(f"{source} holds token ids outside 0..{self._size - 1}, this model's vocabulary.")
        return ids

    def decode(self, ids) -> str:
        return " ".join(str(int(i)) for i in ids)

    def join(self, prefix: str, continuation: str) -> str:
        return " ".join(part for part in (prefix, continuation) if part)

    def stream_decoder(self, prefix: str = ""):
        first = not prefix

        def piece(token: int | None) -> str:
            nonlocal first
            if token is None:
                return ""
            text, first = (str(int(token)) if first else f" {int(token)}"), False
            return text
        return piece


def unknown_prompt_warning(pieces: list[str]) -> str:
    """The warning for a prompt with pieces outside a word vocabulary."""
    return (f"genlab: warning: --prompt pieces {', '.join(pieces)} are outside the model's vocabulary and are read as "
            f"{UNKNOWN}.")
