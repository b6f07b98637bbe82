"""VAE test helpers: tiny models run single-threaded (two threads only add overhead at this size)."""

import pytest
import torch

TINY_VAE = ["--model.width", "4", "--model.hidden_dim", "16", "--model.latent_dim", "4"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_vae() -> list[str]:
    """Command-line options for a VAE whose training step takes milliseconds."""
    return list(TINY_VAE)
