"""textgan test helpers: tiny models on a small sentence file, run single-threaded."""

import pytest

from genlab.config import inapplicable
from genlab.models.textgan import FAMILY

SENTENCES = ["a man rides a horse .", "a dog sits on the grass .", "two cats sleep on a red sofa .",
             "a woman holds an umbrella in the rain .", "a train stops at the station ."]
TINY = {"embed_dim": 8, "hidden_dim": 16, "d_embed_dim": 8, "d_filters": 4, "d_hidden_dim": 8, "heads": 2,
        "rollouts": 2}


def tiny(name: str, **options) -> dict:
    """``options`` and the small sizes of TINY that a ``name`` model with them reads (it refuses the others)."""
    unread = inapplicable(FAMILY.models[name].config_class(**{**TINY, **options}))
    return {**{key: value for key, value in TINY.items() if key not in unread}, **options}


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
def tiny_textgan():
    """Command-line options of a model with small, fast players: ``tiny_textgan("seqgan", generator="transformer")``
    (the model name and the options given, with the sizes of TINY it reads)."""
    def options(name: str = "relgan", **chosen) -> list[str]:
        return [token for key, value in {"name": name, **tiny(name, **chosen)}.items()
                for token in (f"--model.{key}", str(value))]
    return options
