import numpy as np
import pytest

from genlab.errors import DataError
from genlab.tokenizers import (EOS, SENTENCE_EOS_ID, SENTENCE_UNKNOWN_ID, UNKNOWN, WORD_UNKNOWN_ID, ByteTokenizer,
                               CharTokenizer, IdTokenizer, SentenceTokenizer, WordTokenizer, build_tokenizer,
                               load_tokenizer)

MIXED = "To be, or not to be 🎭 — 生存还是毁灭，这是一个问题。👩‍👩‍👧 café\n"


@pytest.mark.parametrize("kind", ["char", "byte", "word"])
def test_round_trip_of_mixed_script_text(kind):
    tokenizer = build_tokenizer(kind, MIXED)
    ids = tokenizer.encode(MIXED)
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < tokenizer.vocab_size
    assert tokenizer.decode(ids.tolist()) == MIXED
    rebuilt = load_tokenizer(kind, tokenizer.vocab)  # what a saved model config restores
    assert rebuilt.encode(MIXED).tolist() == ids.tolist()


def test_char_level_is_one_token_per_code_point_sorted():
    tokenizer = CharTokenizer.from_text("床前明月光 ab")
    assert tokenizer.vocab == sorted(set("床前明月光 ab"))
    assert tokenizer.encode("ab 光").tolist() == [1, 2, 0, tokenizer.vocab.index("光")]


def test_byte_level_encodes_anything_and_counts_utf8_bytes():
    tokenizer = ByteTokenizer()
    assert tokenizer.vocab_size == 256
    assert tokenizer.encode("中").tolist() == [0xE4, 0xB8, 0xAD]
    assert len(tokenizer.encode("🎭")) == 4


def test_byte_stream_decoder_holds_partial_characters_back():
    decode = ByteTokenizer().stream_decoder()
    pieces = [decode(b) for b in "a中🎭".encode("utf-8")]
    assert pieces == ["a", "", "", "中", "", "", "", "🎭"]
    cut = ByteTokenizer().stream_decoder()
    assert [cut(b) for b in "é".encode("utf-8")[:1]] == [""] and cut(None) == "\ufffd"  # the end flushes it


def test_byte_decode_of_invalid_utf8_shows_replacement_character():
    assert ByteTokenizer().decode([0x61, 0xE4, 0x62]) == "a\ufffdb"


def test_unknown_character_is_a_clear_error():
    tokenizer = CharTokenizer.from_text("hello")
    with pytest.raises(DataError, match=r"--prompt holds the character 'z' \(U\+007A, position 2\).*--model.tokenizer byte"):
        tokenizer.encode("hez", source="--prompt")


def test_word_level_pieces_unknown_fallback_and_vocabulary_limit():
    tokenizer = WordTokenizer.from_text("a man sits on a bench . a dog", max_words=4)
    assert tokenizer.vocab == [UNKNOWN, " ", "a", "man"]  # most frequent first, ties in first-seen order
    ids = tokenizer.encode("a cat")
    assert ids.tolist() == [2, 1, 0]
    assert tokenizer.decode(ids.tolist()) == f"a {UNKNOWN}"


def test_the_named_special_ids_are_the_vocabularies_special_pieces():
    word = WordTokenizer.from_text("a cat", max_words=3)
    assert word.vocab[WORD_UNKNOWN_ID] == UNKNOWN and word.encode("dog").tolist() == [WORD_UNKNOWN_ID]
    sentence = SentenceTokenizer.from_lines(["a cat"], "word", max_words=4)
    assert sentence.vocab[SENTENCE_EOS_ID] == EOS and sentence.vocab[SENTENCE_UNKNOWN_ID] == UNKNOWN
    assert sentence.encode("a dog").tolist() == [2, SENTENCE_UNKNOWN_ID]
    assert sentence.decode([2, SENTENCE_EOS_ID, 3]) == "a"


def test_corrupt_vocabularies_are_refused():
    with pytest.raises(DataError, match="distinct single characters"):
        CharTokenizer(["ab", "c"])
    with pytest.raises(DataError, match="must start with <unk>"):
        WordTokenizer(["a", "b"])
    with pytest.raises(DataError, match="hold each word once"):
        WordTokenizer(["<unk>", "a", "a"])


@pytest.mark.parametrize("text, message", [
    ("3 x", "must be token ids separated by spaces"),
    ("3 99999999999999999999", "must be token ids separated by spaces"),  # beyond int64
    ("3 7", "token ids outside 0..4"),
])
def test_token_id_prompts_out_of_range_or_not_numbers_are_clear_errors(text, message):
    with pytest.raises(DataError, match=message):
        IdTokenizer(5).encode(text, source="--prompt")


def test_token_ids_decode_join_and_stream_as_space_separated_numbers():
    ids = IdTokenizer(10)
    assert ids.decode([3, 0, 9]) == "3 0 9" and ids.encode("3 0 9").tolist() == [3, 0, 9]
    assert ids.join("1 2", "3 4") == "1 2 3 4" and ids.join("", "3") == "3" and ids.join("1", "") == "1"
    fresh, after_prompt = ids.stream_decoder(), ids.stream_decoder("1 2")
    assert [fresh(t) for t in (3, 4, None)] == ["3", " 4", ""]  # as decode() would print them, in pieces
    assert [after_prompt(t) for t in (3, 4)] == [" 3", " 4"]  # continuing the prompt's line


def test_a_word_keeps_its_combining_marks():
    """Python's \\w leaves combining marks out: Hindi, Thai and decomposed Latin words would split at each."""
    import unicodedata

    hindi, decomposed = "मैं हिन्दी बोलता हूँ", unicodedata.normalize("NFD", "le café est naïf, ok!")
    word = build_tokenizer("word", hindi + "\n" + decomposed)
    assert word.pieces(hindi) == ["मैं", " ", "हिन्दी", " ", "बोलता", " ", "हूँ"]
    assert word.pieces(decomposed)[:7] == ["le", " ", unicodedata.normalize("NFD", "café"), " ", "est", " ",
                                           unicodedata.normalize("NFD", "naïf")]
    sentence = SentenceTokenizer.from_lines([hindi, decomposed], "word", 100)
    assert sentence.decode(sentence.encode(hindi).tolist()) == hindi
    assert sentence.pieces(decomposed)[-3:] == [",", "ok", "!"]


def test_unknown_pieces_are_the_ones_read_as_unk():
    word = build_tokenizer("word", "the cat sat")
    assert word.unknown_pieces("the zebra sat on") == ["zebra", "on"]
    assert build_tokenizer("char", "abc").unknown_pieces("abc") == []


def test_a_vocabulary_built_by_the_earlier_split_keeps_cutting_words_at_their_marks():
    """Saved before 5 December, its pieces are words cut at each combining mark: it reads text as it was built."""
    import re

    text = "मैं हिन्दी बोलता हूँ"
    earlier = re.compile(r"\w+|\s+|[^\w\s]")  # the split of genlab before 5 December
    vocab = [UNKNOWN, *dict.fromkeys(earlier.findall(text))]
    old = load_tokenizer("word", vocab)
    assert old.pieces(text) == earlier.findall(text) and 0 not in old.encode(text).tolist()
    sentence = SentenceTokenizer(["<eos>", UNKNOWN, *dict.fromkeys(re.findall(r"\w+|[^\w\s]", text))], "word")
    assert 1 not in sentence.encode(text).tolist()
    assert build_tokenizer("word", text).pieces(text) == ["मैं", " ", "हिन्दी", " ", "बोलता", " ", "हूँ"]  # new ones
