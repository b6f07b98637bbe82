"""textgan test helpers: tiny models on a small sentence file, run single-threaded."""

import pytest

SENTENCES = ["a man rides a horse .", "a dog sits on the grass .", "two cats sleep on a red sofa .",
             "a woman holds an umbrella in the rain .", "a train stops at the station ."]


@pytest.fixture(autouse=True, scope="module")
def tiny_models_one_thread(one_thread):
    """Every test here uses the root conftest's one-thread setting."""


@pytest.fixture
def sentences_txt(tmp_path):
    """A text file of 200 short captions (five distinct ones), one per line."""
    path = tmp_path / "captions.txt"
    path.write_text("\n".join(SENTENCES * 40) + "\n")
    return path


@pytest.fixture
def tiny_textgan() -> list[str]:
    """Command-line options for small, fast players."""
    return ["--model.embed_dim", "8", "--model.hidden_dim", "16", "--model.d_embed_dim", "8", "--model.d_filters",
            "4", "--model.d_hidden_dim", "8", "--model.heads", "2", "--model.rollouts", "2"]
