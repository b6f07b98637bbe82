"""Shared test helpers: tiny image data, tiny run configs and an in-process CLI runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genlab.cli import main

TINY_DCGAN = ["--model.generator_width", "8", "--model.discriminator_width", "8", "--model.latent_dim", "16"]


@pytest.fixture
def tiny_dcgan() -> list[str]:
    """Command-line options for a DCGAN whose training step takes milliseconds."""
    return list(TINY_DCGAN)


@pytest.fixture
def digits_npz(tmp_path: Path) -> Path:
    """256 real MNIST-like digits as an .npz: x uint8 (N, 28, 28), y int64 (N,)."""
    from genlab.data.images import embedded_digits_path

    with np.load(embedded_digits_path()) as data:
        x, y = data["x"][:256], data["y"][:256]
    path = tmp_path / "digits.npz"
    np.savez(path, x=x, y=y)
    return path


@pytest.fixture
def run_cli(capsys):
    """Run ``genlab ARGS`` in-process → (exit code, stdout, stderr)."""

    def run(*args: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
