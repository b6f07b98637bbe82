"""Recurrent GAN test helpers: tiny models on small 'sines', run single-threaded."""

import pytest

TINY_RGAN = ["--model.hidden_dim", "8", "--model.layers", "1", "--model.noise_dim", "2", "--data.sines", "64",
             "--data.window", "6", "--data.sines_features", "3"]


@pytest.fixture(autouse=True, scope="module")
def tiny_models_one_thread(one_thread):
    """Every test here uses the root conftest's one-thread setting."""


@pytest.fixture
def tiny_rgan() -> list[str]:
    """Command-line options for a recurrent GAN on 64 'sines' of 6 steps × 3 features."""
    return list(TINY_RGAN)
