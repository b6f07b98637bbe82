"""The SeqGAN oracle LSTM against the README's cell equations written in numpy, and its own samples' NLL."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genlab.errors import DataError
from genlab.models.textgan.oracle import NPZ_KEYS, OracleLSTM

ORACLE = "text/seqgan_oracle/seqgan_oracle_lstm_params.npz"


@pytest.fixture
def oracle_path(shared_file):
    return shared_file(ORACLE)


def numpy_nll(params: dict[str, np.ndarray], tokens: np.ndarray) -> np.ndarray:
    """Mean per-token NLL (n,) of token ids (n, T), the SeqGAN cell written gate by gate in float64."""
    p = {key.split("_", 1)[1]: value.astype(np.float64) for key, value in params.items()}

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    n, steps = tokens.shape
    h, c = np.zeros((n, 32)), np.zeros((n, 32))
    previous = np.zeros(n, dtype=np.int64)  # start token id 0
    total = np.zeros(n)
    for t in range(steps):
        x = p["g_embeddings"][previous]
        i = sigmoid(x @ p["Wi"] + h @ p["Ui"] + p["bi"])
        f = sigmoid(x @ p["Wf"] + h @ p["Uf"] + p["bf"])
        o = sigmoid(x @ p["Wog"] + h @ p["Uog"] + p["bog"])
        candidate = np.tanh(x @ p["Wc"] + h @ p["Uc"] + p["bc"])
        c = f * c + i * candidate
        h = o * np.tanh(c)
        logits = h @ p["Wo"] + p["bo"]
        top = logits.max(axis=1)
        log_z = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        total += log_z - logits[np.arange(n), tokens[:, t]]
        previous = tokens[:, t]
    return total / steps


def test_nll_equals_the_cell_equations_in_numpy(oracle_path):
    with np.load(oracle_path) as data:
        params = {key: data[key] for key in NPZ_KEYS}
    tokens = np.random.default_rng(0).integers(0, 5000, size=(4, 7))
    tokens[1, :3] = 0  # the start id is also an ordinary token
    expected = numpy_nll(params, tokens)
    oracle = OracleLSTM.from_npz(oracle_path)
    assert (oracle.vocab_size, oracle.hidden_dim) == (5000, 32)
    assert not any(t.requires_grad for t in oracle.buffers()) and not list(oracle.parameters())
    np.testing.assert_allclose(oracle.double().nll(torch.from_numpy(tokens)).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(OracleLSTM.from_npz(oracle_path).nll(torch.from_numpy(tokens)).numpy(), expected,
                               rtol=1e-4)


def test_sampling_is_reproducible_and_in_the_vocabulary(oracle_path):
    oracle = OracleLSTM.from_npz(oracle_path)
    first = oracle.sample(8, 12, torch.Generator().manual_seed(3))
    assert first.shape == (8, 12) and first.dtype == torch.int64
    assert 0 <= int(first.min()) and int(first.max()) < 5000
    assert torch.equal(first, oracle.sample(8, 12, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, oracle.sample(8, 12, torch.Generator().manual_seed(4)))


def test_own_samples_score_the_published_nll(oracle_path):
    # RelGAN Table 1 ("Real"): 5.750. Measured here: 5.74-5.76 over seeds 0-4 with 2,000 x 20 (standard
    # error 0.012) and 5.755 with 10,000 x 20.
    oracle = OracleLSTM.from_npz(oracle_path)
    samples = oracle.sample(2000, 20, torch.Generator().manual_seed(0))
    assert float(oracle.nll(samples).mean()) == pytest.approx(5.75, abs=0.1)


def test_bad_files_and_tokens_are_refused(oracle_path, tmp_path):
    with pytest.raises(DataError, match="missing.npz does not exist"):
        OracleLSTM.from_npz(tmp_path / "missing.npz")
    with np.load(oracle_path) as data:
        params = {key: data[key] for key in NPZ_KEYS}
    np.savez(tmp_path / "no_output.npz", **{k: v for k, v in params.items() if k != "13_Wo"})
    with pytest.raises(DataError, match=r"lacks 1 of the oracle's 15 arrays \(first: '13_Wo'\)"):
        OracleLSTM.from_npz(tmp_path / "no_output.npz")
    np.savez(tmp_path / "wrong_shape.npz", **{**params, "05_Uf": params["05_Uf"][:16]})
    with pytest.raises(DataError, match="'05_Uf' is float32 of shape \\(16, 32\\).*needs float \\(32, 32\\)"):
        OracleLSTM.from_npz(tmp_path / "wrong_shape.npz")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="garbage.npz is not a readable .npz file"):
        OracleLSTM.from_npz(tmp_path / "garbage.npz")
    np.save(tmp_path / "one_array.npy", params["13_Wo"])
    with pytest.raises(DataError, match="one_array.npy holds a single .npy array"):
        OracleLSTM.from_npz(tmp_path / "one_array.npy")
    oracle = OracleLSTM.from_npz(oracle_path)
    with pytest.raises(DataError, match="must lie in 0..4999"):
        oracle.nll(torch.tensor([[1, 5000]]))
    with pytest.raises(DataError, match="shape \\(N, T\\)"):
        oracle.nll(torch.tensor([1, 2]))
