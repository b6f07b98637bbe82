"""genlab's shipped evaluators: accuracy on real test data, weights within size, class-aware metrics."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from genlab.errors import ConfigError
from genlab.metrics.evaluators import (FEATURE_DIM, Evaluator, EvaluatorConfig, accuracy, evaluator_record,
                                       load_evaluator, mode_count, shipped_evaluators, weights_dir)

# evaluator -> (test file, accuracy required on the full test split)
REQUIRED = {"mnist": ("mnist_test.npz", 0.992), "fashion-mnist": ("fashion_mnist_test.npz", 0.935),
            "cifar10": ("cifar10_test.npz", 0.87)}


def test_mnist_and_fashion_evaluators_are_shipped_small_and_documented():
    assert {"mnist", "fashion-mnist"} <= set(shipped_evaluators())
    for name in shipped_evaluators():
        assert (weights_dir() / f"{name}.safetensors").stat().st_size < 2_000_000
        record = evaluator_record(name)
        assert record["test_examples"] == 10000 and record["training"]["epochs"] >= 1


@pytest.mark.slow  # three full test splits: about 10 s each on two cores
@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_accuracy_on_the_real_test_split(name, shared_file):
    test_file, required = REQUIRED[name]
    assert name in shipped_evaluators()
    with np.load(shared_file(f"images/{test_file}")) as data:
        x, y = data["x"], data["y"]
    images = x[..., None] if x.ndim == 3 else x
    assert accuracy(load_evaluator(name), images, y) >= required


def test_embedded_digits_give_features_of_the_documented_size():
    from genlab.data.images import load_images

    digits = load_images(None)
    model = load_evaluator("mnist")
    with torch.no_grad():
        features = model.features(torch.as_tensor(digits.images[:8]).permute(0, 3, 1, 2).float() / 127.5 - 1)
    assert features.shape == (8, FEATURE_DIM)


def test_deeper_evaluators_keep_the_feature_size():
    model = Evaluator(EvaluatorConfig(channels=3, resolution=32, width=8, depth=3)).eval()
    with torch.no_grad():
        assert model.features(torch.zeros(2, 3, 32, 32)).shape == (2, FEATURE_DIM)
    assert sum(name.endswith("block.0.weight") for name, _ in model.named_parameters()) == 6  # 2 residual per stage
    with pytest.raises(ConfigError, match="depth of at least 1"):
        Evaluator(EvaluatorConfig(depth=0))


def test_mode_count():
    assert mode_count(torch.eye(10)[torch.tensor([0, 1, 1, 2, 2, 2])]) == 3  # three classes predicted
    assert mode_count(torch.full((4, 10), 0.1) + torch.eye(10)[7][None]) == 1


def test_altered_weights_are_refused(tmp_path, monkeypatch):
    from genlab.errors import CheckpointError
    from genlab.metrics import evaluators

    for suffix in (".json", ".safetensors"):
        (tmp_path / f"mnist{suffix}").write_bytes((weights_dir() / f"mnist{suffix}").read_bytes())
    with open(tmp_path / "mnist.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x00\x80\x7f")  # the last float becomes +inf
    monkeypatch.setattr(evaluators, "weights_dir", lambda: tmp_path)
    with pytest.raises(CheckpointError, match="reinstall genlab"):
        load_evaluator("mnist")


def test_training_without_a_whole_batch_is_refused():
    from genlab.metrics.evaluators import train_evaluator

    images, labels = np.zeros((10, 28, 28, 1), np.uint8), np.zeros(10, np.int64)
    with pytest.raises(ConfigError, match="at least one batch"):
        train_evaluator(images, labels, EvaluatorConfig(), epochs=1, batch_size=128)
