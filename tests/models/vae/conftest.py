"""VAE test helpers: tiny models run single-threaded (two threads only add overhead at this size)."""

import pytest

TINY_VAE = ["--model.width", "4", "--model.hidden_dim", "16", "--model.latent_dim", "4"]


@pytest.fixture(autouse=True, scope="module")
def tiny_models_one_thread(one_thread):
    """Every test here uses the root conftest's one-thread setting."""


@pytest.fixture
def tiny_vae() -> list[str]:
    """Command-line options for a VAE whose training step takes milliseconds."""
    return list(TINY_VAE)
