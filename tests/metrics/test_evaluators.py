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


def test_augmentation_shifts_with_black_padding_and_flips_whole_images():
    import torch

    from genlab.metrics.evaluators import _augment

    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    assert torch.equal(_augment(x, flip=False, shift=0, generator=torch.Generator()), x)  # nothing to do
    shifted = _augment(x, flip=False, shift=1, generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), value=-1.0)
    dy, dx = torch.randint(0, 3, (2, 2), generator=torch.Generator().manual_seed(0))  # the offsets it draws
    for b in range(2):  # each image is a 4×4 window of its own padded copy, at its drawn offset
        assert torch.equal(shifted[b, 0], padded[b, 0, dy[b]:dy[b] + 4, dx[b]:dx[b] + 4])
    assert not torch.equal(shifted, x) and (shifted == -1).any()  # moved, with black coming in
    flipped = [_augment(x, flip=True, shift=0, generator=torch.Generator().manual_seed(s)) for s in range(20)]
    for out in flipped:  # every image is itself or its mirror image
        for b in range(2):
            assert torch.equal(out[b], x[b]) or torch.equal(out[b], x[b].flip(2))
    assert any(not torch.equal(out, x) for out in flipped) and any(torch.equal(out, x) for out in flipped)


def test_a_trained_evaluator_separates_two_easy_classes():
    from genlab.metrics.evaluators import accuracy, train_evaluator

    rng = np.random.default_rng(0)
    images = rng.integers(0, 40, (256, 28, 28, 1), dtype=np.uint8)
    labels = np.arange(256) % 2
    images[labels == 0, :10] = 255  # class 0 bright at the top, class 1 at the bottom
    images[labels == 1, 18:] = 255
    model, protocol = train_evaluator(images, labels, EvaluatorConfig(num_classes=2, width=4), epochs=3,
                                      batch_size=32, seed=0)
    assert not model.training and protocol["epochs"] == 3 and protocol["train_examples"] == 256
    assert accuracy(model, images, labels) > 0.95
