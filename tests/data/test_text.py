import gzip

import pytest
import torch

from genlab.data.text import EMBEDDED_NAME, TextDataConfig, TokenWindows, embedded_corpus_path, read_text, split_text
from genlab.errors import ConfigError, DataError



def test_embedded_corpus_is_tiny_shakespeare():
    text, source = read_text(None)
    assert source == EMBEDDED_NAME
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")
    assert gzip.decompress(embedded_corpus_path().read_bytes()).decode("utf-8") == text


def test_embedded_corpus_is_the_shared_copy_of_tiny_shakespeare(shared_file):
    assert read_text(None)[0] == shared_file("text/tinyshakespeare.txt").read_text(encoding="utf-8")


def test_split_is_first_and_last_part_of_the_characters():
    train, validation = split_text("abcdefghij", 0.1)
    assert (train, validation) == ("abcdefghi", "j")
    train, validation = split_text(read_text(None)[0], 0.1)
    assert len(train) == 1_003_854  # int(0.9 × 1,115,394), the reference split


def test_reads_utf8_file_and_strips_byte_order_mark(tmp_path):
    path = tmp_path / "zh.txt"
    path.write_bytes("\ufeff床前明月光，疑是地上霜。🌙".encode("utf-8"))
    assert read_text(path) == ("床前明月光，疑是地上霜。🌙", str(path))


def test_folder_joins_txt_files_in_sorted_order(tmp_path):
    (tmp_path / "b.txt").write_text("second", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    text, source = read_text(tmp_path)
    assert text == "first\nsecond\nthird" and "3 text files" in source


def test_folder_skips_hidden_files_and_folders_below_it(tmp_path):
    corpus = tmp_path / ".cache" / "corpus"  # a dot above the given folder does not count
    (corpus / ".ipynb_checkpoints").mkdir(parents=True)
    (corpus / "a.txt").write_text("train", encoding="utf-8")
    (corpus / ".ipynb_checkpoints" / "a-checkpoint.txt").write_text("train", encoding="utf-8")
    (corpus / "._a.txt").write_bytes(b"\x00\x05\x16\x07")  # macOS AppleDouble, not UTF-8
    text, source = read_text(corpus)
    assert text == "train" and "1 text files" in source


def test_non_utf8_names_file_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt is not UTF-8 text \(invalid byte 0xe9 at byte offset 3\)"):
        read_text(path)


@pytest.mark.parametrize("encoding, name", [("utf-16", "UTF-16LE"), ("utf-16-be", "UTF-16BE"),
                                            ("utf-32", "UTF-32LE")])
def test_a_utf16_or_utf32_file_is_named_with_its_conversion(tmp_path, encoding, name):
    """'iconv -f LATIN1' would make valid UTF-8 of it, with a NUL after every letter."""
    path = tmp_path / "notepad.txt"
    text = "hello\n"
    path.write_bytes(("\ufeff" + text).encode(encoding) if encoding.endswith("-be") else text.encode(encoding))
    with pytest.raises(DataError, match=rf"notepad.txt is {name} text .*'iconv -f {name} -t UTF-8'"):
        read_text(path)


def test_a_folder_reads_txt_files_whatever_the_case_of_their_suffix(tmp_path):
    (tmp_path / "A.TXT").write_text("upper", encoding="utf-8")
    (tmp_path / "b.txt").write_text("lower", encoding="utf-8")
    assert read_text(tmp_path)[0] == "upper\nlower"


def test_a_compressed_or_binary_file_is_named_as_such_not_as_a_text_encoding(tmp_path):
    (tmp_path / "corpus.txt.gz").write_bytes(gzip.compress("to be or not to be".encode()))
    with pytest.raises(DataError, match=r"corpus.txt.gz is gzip-compressed, not text; decompress"):
        read_text(tmp_path / "corpus.txt.gz")


def test_missing_empty_and_textless_paths(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_text(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match="holds no text"):
        read_text(tmp_path / "empty.txt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match="holds no .txt files"):
        read_text(tmp_path / "folder")


def test_validation_fraction_is_checked():
    with pytest.raises(ConfigError, match="--data.validation_fraction"):
        TextDataConfig(validation_fraction=1.0).validate()


def test_windows_gather_consecutive_tokens():
    windows = TokenWindows(torch.arange(100, 120), context=4)
    assert len(windows) == 16  # starts 0..15, each needs 5 tokens
    batch = windows.get_batch(torch.tensor([0, 15, 3]), torch.device("cpu"))["tokens"]
    assert batch.tolist() == [[100, 101, 102, 103, 104], [115, 116, 117, 118, 119], [103, 104, 105, 106, 107]]
    with pytest.raises(DataError, match="too few for one window of --model.context 20"):
        TokenWindows(torch.arange(20), context=20)
