"""Self-conditioned GANs: k-means clusters of the images' pixels as the classes, sampled at their shares."""

import json

import numpy as np
import pytest
import torch

from genlab.data.clusters import frequencies, pixel_clusters
from genlab.errors import ConfigError
from genlab.models.gan import GAN, GANConfig
from genlab.sampling import load_model

TINY = dict(latent_dim=8, generator_width=8, discriminator_width=8)


def two_groups(n_dark=30, n_bright=10, seed=0):
    """uint8 images (N, 1, 8, 8): dark ones near 40 and bright ones near 200, shuffled; and which are bright."""
    rng = np.random.default_rng(seed)
    bright = rng.permutation(np.r_[np.zeros(n_dark, bool), np.ones(n_bright, bool)])
    images = np.where(bright[:, None, None, None], 200, 40) + rng.integers(-20, 21, (len(bright), 1, 8, 8))
    return torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(bright)


def test_pixel_clusters_find_the_groups_and_are_a_function_of_the_images_and_seed():
    images, bright = two_groups()
    labels = pixel_clusters(images, 2)
    assert labels.dtype == torch.int64 and set(labels.tolist()) == {0, 1}
    assert torch.equal(labels == labels[bright][0], bright)  # one cluster is exactly the bright images
    assert torch.equal(pixel_clusters(images, 2), labels)
    shares = frequencies(labels, 2)
    assert sorted(shares) == [0.25, 0.75] and sum(shares) == 1


def test_more_clusters_than_images_or_than_distinct_images_are_refused():
    images, _ = two_groups(3, 1)
    with pytest.raises(ConfigError, match="--model.clusters 5 needs at least as many training images"):
        pixel_clusters(images, 5)
    same = torch.full((6, 1, 4, 4), 7, dtype=torch.uint8)
    with pytest.raises(ConfigError, match="clusters of the training images hold no image"):
        pixel_clusters(same, 2)



def test_more_clusters_than_the_images_centres_are_fitted_on_fit_on_more(monkeypatch):
    import genlab.data.clusters as clusters

    monkeypatch.setattr(clusters, "FIT_IMAGES", 5)
    images, _ = two_groups()
    assert len(set(pixel_clusters(images, 7).tolist())) == 7


def test_a_self_conditioned_model_draws_clusters_at_their_shares_and_a_requested_one_always():
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=2, clusters=2,
                          class_frequencies=(0.9, 0.1), **TINY))
    labels = model.class_labels(4000, generator=torch.Generator().manual_seed(0))
    assert abs((labels == 0).float().mean().item() - 0.9) < 0.02
    again = model.class_labels(4000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(labels, again)
    assert model.class_labels(5, label=1).tolist() == [1] * 5
    images, drawn = model.labelled_sample(6, torch.Generator().manual_seed(1))
    assert images.shape == (6, 1, 28, 28) and drawn.shape == (6,)
    assert torch.equal(model.sample(6, torch.Generator().manual_seed(1)), images)


@pytest.mark.parametrize("options, message", [
    (dict(clusters=3), "--model.clusters gives a conditional model cluster labels"),
    (dict(conditional=True, clusters=3, num_classes=4), "--model.num_classes 4 differs from --model.clusters 3"),
    (dict(conditional=True, clusters=3, class_frequencies=(0.5, 0.5)), "must give each of the --model.clusters 3"),
    (dict(conditional=True, clusters=-1), "--model.clusters must be between 1 and"),
    (dict(conditional=True, clusters=2, class_frequencies=(0.5, float("nan"))), "non-negative, not all 0"),
    (dict(class_frequencies=(1.0,)), "records the shares of --model.clusters clusters"),
])
def test_inconsistent_cluster_settings_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        GANConfig(**options).validate()


def test_train_on_clusters_records_their_shares_and_sample_writes_the_drawn_labels(tmp_path, digits_npz, run_cli,
                                                                                    tiny_dcgan):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--out", run, "--quiet",
                             "--batch-size", "16", "--model.conditional", "true", "--model.clusters", "4",
                             *tiny_dcgan)
    assert code == 0, err
    model = json.loads((run / "config.json").read_text())["model"]
    assert model["num_classes"] == 4 and len(model["class_frequencies"]) == 4
    assert abs(sum(model["class_frequencies"]) - 1) < 1e-9 and min(model["class_frequencies"]) > 0
    code, _, err = run_cli("sample", run, "--n", "64", "--out", tmp_path / "s.npz", "--seed", "3")
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as saved:
        drawn = saved["y"]
    model = load_model(run)
    _, expected = model.labelled_sample(64, torch.Generator().manual_seed(3))
    assert drawn.tolist() == expected.tolist() and drawn.tolist() != (np.arange(64) % 4).tolist()
    code, _, err = run_cli("eval", run, "--metrics", "acc", "--n", "64")  # clusters are not the evaluator's classes
    assert code == 2 and "not a self-conditioned one, whose labels are clusters" in err
    code, _, _ = run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--out", tmp_path / "bad", "--quiet",
                         "--model.clusters", "4", *tiny_dcgan)
    assert code == 2 and not (tmp_path / "bad").exists()


def test_sampling_a_self_conditioned_ema_model_draws_only_from_the_callers_generator():
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3, clusters=3,
                          class_frequencies=(0.5, 0.3, 0.2), ema_decay=0.9, **TINY))
    before = torch.get_rng_state()
    first = model.sample(8, torch.Generator().manual_seed(2))  # also recomputes the EMA's BatchNorm statistics
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(model.sample(8, torch.Generator().manual_seed(2)), first)
