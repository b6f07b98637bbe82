"""Shared test helpers: tiny image data, tiny run configs, an in-process CLI runner, the team's real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from genlab.cli import main

# The team's real datasets (MNIST, CIFAR-10, tiny Shakespeare, TimeGAN series, ...): $GENLAB_SHARED_DATA,
# else shared/data beside the repository, else the team machine's copy. Tests that need them skip without.
SHARED_DATA_CANDIDATES = [Path(p) for p in [os.environ.get("GENLAB_SHARED_DATA")] if p] + [
    Path(__file__).resolve().parents[2] / "shared" / "data", Path("/work/shared/data")]

TINY_DCGAN = ["--model.generator_width", "8", "--model.discriminator_width", "8", "--model.latent_dim", "16"]


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("genlab-cache")


@pytest.fixture(autouse=True)
def private_cache(session_cache, monkeypatch):
    """Every test shares one genlab cache (reference features, digests) in a temporary folder, never the user's."""
    monkeypatch.setenv("GENLAB_CACHE", str(session_cache))
    return session_cache


@pytest.fixture
def tiny_dcgan() -> list[str]:
    """Command-line options for a DCGAN whose training step takes milliseconds."""
    return list(TINY_DCGAN)


@pytest.fixture(scope="module")
def one_thread():
    """Run a test module with one torch thread: tiny models only pay a second thread's overhead."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


def shared_data_path(relative: str) -> Path | None:
    """The file ``relative`` (e.g. ``images/mnist_test.npz``) in the first place holding it, else None."""
    return next((root / relative for root in SHARED_DATA_CANDIDATES if (root / relative).is_file()), None)


@pytest.fixture
def shared_file():
    """``shared_file("images/mnist_test.npz")`` → its path; the test is skipped where the data is absent."""

    def find(relative: str) -> Path:
        path = shared_data_path(relative)
        if path is None:
            pytest.skip(f"needs the shared dataset file {relative} (set GENLAB_SHARED_DATA to its data folder)")
        return path

    return find


@pytest.fixture
def assert_same_run():
    """``assert_same_run(a, b)``: two run directories hold bit-identical exported weights and log the same
    values at the same steps (timings aside) — what an interrupted-and-resumed run must match."""

    def logged(run: Path) -> list[dict]:
        return [{k: v for k, v in json.loads(line).items() if k not in ("time", "examples_per_s")}
                for line in (run / "metrics.jsonl").read_text().splitlines()]

    def check(a: Path, b: Path) -> None:
        wa, wb = (load_file(str(run / "model" / "model.safetensors")) for run in (a, b))
        assert wa.keys() == wb.keys() and all(wa[k].equal(wb[k]) for k in wa)
        assert logged(a) == logged(b)

    return check
