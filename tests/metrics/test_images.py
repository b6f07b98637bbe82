"""evaluate_images and 'genlab eval --metrics' on real digits, trained runs and bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.errors import ConfigError, DataError
from genlab.metrics.images import evaluate_images


@pytest.fixture
def noisy_npz(tmp_path, digits_npz):
    """The same 256 digits with strong Gaussian pixel noise."""
    with np.load(digits_npz) as data:
        x, y = data["x"].astype(np.float64), data["y"]
    noisy = np.clip(x + np.random.default_rng(0).normal(0, 80, x.shape), 0, 255).round().astype(np.uint8)
    path = tmp_path / "noisy.npz"
    np.savez(path, x=noisy, y=y)
    return path


def test_real_digits_score_well_and_noise_scores_worse(digits_npz, noisy_npz, private_cache):
    metrics = ["fd", "kid", "pr", "is", "acc", "modes"]
    clean = evaluate_images(digits_npz, "mnist-test", metrics=metrics, n=200)
    noisy = evaluate_images(noisy_npz, "mnist-test", metrics=metrics, n=200)
    assert set(clean) == {"FD-mnist", "KID-mnist", "precision-mnist", "recall-mnist", "density-mnist",
                          "coverage-mnist", "IS-mnist", "class_accuracy", "modes"}
    assert clean["FD-mnist"]["value"] < noisy["FD-mnist"]["value"]
    assert clean["KID-mnist"]["value"] < noisy["KID-mnist"]["value"]
    assert clean["precision-mnist"]["value"] > noisy["precision-mnist"]["value"]
    assert clean["recall-mnist"]["k"] == 3 and clean["coverage-mnist"]["k"] == 5
    assert "k = 5" in clean["density-mnist"]["protocol"]
    assert clean["class_accuracy"]["value"] > 0.97  # the digits carry their true labels
    assert clean["modes"]["value"] == 10 and clean["modes"]["of"] == 10
    assert clean["IS-mnist"]["splits"] == 10 and clean["IS-mnist"]["value"] > 3  # 10 splits of only 20
    entry = clean["FD-mnist"]
    assert entry["generated"] == 200 and entry["reference"] == 10000 and entry["reference_split"] == "test"
    assert "genlab evaluator 'mnist'" in entry["extractor"] and entry["genlab"]


def test_reference_features_are_computed_once_then_read_from_the_cache(digits_npz, tmp_path, monkeypatch):
    from genlab.metrics import images

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))  # empty: no other test's features
    real = images.get_extractor
    computed = []

    def counted(*args, **kwargs):
        extractor = real(*args, **kwargs)
        return dataclasses.replace(extractor, outputs=lambda x: (computed.append(len(x)), extractor.outputs(x))[1])

    monkeypatch.setattr(images, "get_extractor", counted)
    first = evaluate_images(digits_npz, "mnist-test", metrics=["fd"], n=200)
    assert sum(computed) == 10000 + 200 and list((tmp_path / "cache").rglob("mnist-*.safetensors"))
    computed.clear()
    again = evaluate_images(digits_npz, "mnist-test", metrics=["fd"], n=200)
    assert sum(computed) == 200  # the generated images only: the 10,000 reference features came from the cache
    assert again["FD-mnist"]["value"] == first["FD-mnist"]["value"]


def test_cli_scores_a_trained_run_and_writes_eval_json(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--out", run,
                   "--quiet", *tiny_dcgan)[0] == 0
    code, out, err = run_cli("eval", run, "--metrics", "fd,kid,modes", "--n", "64", "--ref", "mnist-test")
    assert code == 0, err
    written = json.loads((run / "eval.json").read_text())
    assert written == json.loads(out)
    assert written["FD-mnist"]["generated"] == 64 and "samples of gan/" in written["FD-mnist"]["generated_source"]
    assert written["KID-mnist"]["std"] >= 0 and written["KID-mnist"]["subset_size"] == 64
    # An exported model folder is not a run: 'report' would never read an eval.json there.
    assert run_cli("eval", run / "model", "--metrics", "modes", "--n", "16", "--ref", "mnist-test")[0] == 0
    assert not (run / "model" / "eval.json").exists()


def test_samples_written_as_npz_score_as_the_run_itself_does(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--out", run,
                   "--quiet", *tiny_dcgan)[0] == 0
    assert run_cli("sample", run, "--n", "64", "--out", tmp_path / "samples.npz")[0] == 0
    with np.load(tmp_path / "samples.npz") as saved:
        assert saved["x"].shape == (64, 28, 28, 1) and saved["x"].dtype == np.uint8 and "y" not in saved
    scores = [json.loads(run_cli("eval", model, "--metrics", "fd", "--n", "64", "--ref", digits_npz,
                                 "--extractor", "mnist")[1])["FD-mnist"] for model in (run, tmp_path / "samples.npz")]
    assert scores[1]["generated"] == 64 and scores[1]["value"] == pytest.approx(scores[0]["value"], rel=1e-5)


def test_cli_scores_an_npz_against_a_path_reference(tmp_path, digits_npz, run_cli):
    out_json = tmp_path / "scores.json"
    code, _, err = run_cli("eval", digits_npz, "--metrics", "fd,pr", "--ref", digits_npz, "--extractor", "mnist",
                           "--n", "100", "--json", out_json)
    assert code == 0, err
    scores = json.loads(out_json.read_text())
    assert scores["FD-mnist"]["generated"] == 100 and scores["FD-mnist"]["reference"] == 256
    assert scores["precision-mnist"]["value"] == 1.0  # the generated images are part of the reference
    assert scores["FD-mnist"]["reference_split"] == "as given"  # 'digits.npz' names no split


def test_fewer_samples_than_a_class_ordered_folder_holds_are_drawn_from_every_class(tmp_path):
    from PIL import Image

    from genlab.metrics.images import generated_images, load_reference_images, split_label

    for digit in range(10):  # a folder of class subfolders loads class by class
        (tmp_path / "samples" / str(digit)).mkdir(parents=True)
        for i in range(3):
            picture = Image.fromarray(np.full((28, 28), 25 * digit + i, np.uint8))
            picture.save(tmp_path / "samples" / str(digit) / f"{i}.png")
    images, labels, source, _ = generated_images(tmp_path / "samples", 6, seed=0, device="cpu", batch_size=8)
    assert len(images) == 6 and len(set(labels.tolist())) > 2  # the first six would be classes 0 and 1 only
    assert "drawn at random (seed 0)" in source and "of the 30 images" in source
    assert np.array_equal(images[:, 0, 0, 0] // 25, labels)  # each image keeps its own label
    again = generated_images(tmp_path / "samples", 6, seed=0, device="cpu", batch_size=8)
    assert np.array_equal(again[0], images)  # the seed fixes the subset
    assert generated_images(tmp_path / "samples", 50, seed=0, device="cpu", batch_size=8)[2].startswith("all 30 ")
    np.savez(tmp_path / "mnist_test.npz", x=images)
    split = load_reference_images(tmp_path / "mnist_test.npz")[2]
    assert split == "test" and split_label(tmp_path / "mnist_test.npz", split) == "test (guessed from the file name)"
    assert split_label("mnist-test", "test") == "test"  # a named reference's split is known


@pytest.mark.parametrize("args, message", [
    (["--metrics", "fd,xyz"], "unknown metrics"),
    (["--metrics", ","], "--metrics names no metric"),
    (["--metrics", "fd", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["--metrics", "fd", "--ref", "{tmp}/nothing.npz"], "no such file or folder"),
    (["--metrics", "fd", "--ref", "{digits}"], "pass --extractor"),
    (["--metrics", "fd", "--extractor", "svhn"], "not a shipped evaluator"),
    (["--metrics", "fd", "--extractor", "inception"], "https://github.com/mseitzer"),
    (["--metrics", "fd", "--n", "1"], "fd needs at least 2 samples"),
    (["--metrics", "is", "--n", "5"], "is needs at least 10 samples"),
])
def test_bad_input_is_one_clear_sentence(tmp_path, digits_npz, run_cli, monkeypatch, args, message):
    monkeypatch.setenv("HOME", str(tmp_path))  # no Inception weights in any cache
    args = [a.format(tmp=tmp_path, digits=digits_npz) for a in args]
    code, _, err = run_cli("eval", digits_npz, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_mismatched_resolution_or_channels_are_refused(tmp_path, digits_npz):
    rgb = tmp_path / "rgb.npz"
    np.savez(rgb, x=np.zeros((20, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match=r"32x32x3 \(HxWxC\) but the reference images, --ref mnist-test \(the default: "
                                        r"the embedded MNIST test digits\), are 28x28x1; pass --ref with reference"):
        evaluate_images(rgb, "mnist-test", metrics=["fd"])
    with pytest.raises(DataError, match="this evaluator takes 28x28 with 1"):
        evaluate_images(rgb, rgb, metrics=["fd"], extractor="mnist")
    unlabelled = tmp_path / "unlabelled.npz"
    np.savez(unlabelled, x=np.zeros((20, 28, 28), np.uint8))
    with pytest.raises(ConfigError, match="class labels"):
        evaluate_images(unlabelled, "mnist-test", metrics=["acc"])


def test_fid_asked_by_name_points_to_the_inception_features(tmp_path):
    with pytest.raises(ConfigError, match="--metrics fid: FID is --metrics fd with --extractor inception"):
        evaluate_images(tmp_path / "nothing.npz", "mnist-test", metrics=["fid"])


def test_a_run_trained_on_the_reference_itself_is_flagged(tmp_path, digits_npz, run_cli, tiny_dcgan):
    from genlab.data.images import embedded_digits_path

    embedded, own = tmp_path / "embedded", tmp_path / "own"
    for run, data in ((embedded, []), (own, ["--data", digits_npz])):
        assert run_cli("train", "gan", *data, "--steps", "1", "--batch-size", "8", "--out", run, "--quiet",
                       *tiny_dcgan)[0] == 0
    flagged = evaluate_images(embedded, "mnist-test", metrics=["fd"], n=16)["FD-mnist"]
    assert "trained on the embedded MNIST test split" in flagged["warning"]
    # 16 samples of 128 features: the Fréchet distance's own warning follows the shared one.
    assert "--ref; 16 generated samples for 128-dimensional features: the Fréchet distance is biased upward" in \
        flagged["warning"]
    exported = evaluate_images(embedded / "model", "mnist-test", metrics=["fd"], n=16)["FD-mnist"]
    assert "trained on the embedded MNIST test split" in exported["warning"]
    # Trained on 256 of the test digits: compared image by image, those are counted among the reference.
    partly = evaluate_images(own, "mnist-test", metrics=["fd"], n=16)["FD-mnist"]["warning"]
    assert partly.startswith("256 of the 10,000 reference images (mnist-test) are images the model was trained on: "
                             "these numbers partly show fit")
    # Its own training file as --ref is flagged too, and so is a reordered part of it under another name.
    against_own = evaluate_images(own, digits_npz, metrics=["fd"], n=16, extractor="mnist")["FD-mnist"]
    assert against_own["warning"].startswith(f"the model was trained on {digits_npz}, which these numbers")
    with np.load(digits_npz) as data:
        np.savez(tmp_path / "held_out.npz", x=data["x"][:100][::-1])
    reordered = evaluate_images(own, tmp_path / "held_out.npz", metrics=["fd"], n=16, extractor="mnist")
    assert reordered["FD-mnist"]["warning"].startswith(f"all 100 reference images ({tmp_path / 'held_out.npz'}) are "
                                                       "images the model was trained on: these numbers show fit")
    with np.load(embedded_digits_path()) as data:
        np.savez(tmp_path / "unseen.npz", x=data["x"][5000:5100])
    unseen = evaluate_images(own, tmp_path / "unseen.npz", metrics=["fd"], n=16, extractor="mnist")
    assert unseen["FD-mnist"]["warning"].startswith("16 generated samples for 128-dimensional features")  # only that
    assert "warning" not in evaluate_images(own, tmp_path / "unseen.npz", metrics=["kid"], n=16, extractor="mnist")["KID-mnist"]


def test_the_training_images_are_read_again_only_when_their_data_changes(tmp_path, monkeypatch):
    """The overlap check's digests of a run's training images are cached under the data's size and time."""
    from genlab.metrics import images as image_metrics

    digits = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    data, folder = tmp_path / "train.npz", tmp_path / "pictures"
    np.savez(data, x=digits)
    folder.mkdir()
    for i in range(3):
        Image.fromarray(digits[i]).save(folder / f"{i}.png")
    runs = {}
    for name, path in (("file", data), ("folder", folder)):
        runs[name] = tmp_path / f"run-{name}"
        runs[name].mkdir()
        (runs[name] / "config.json").write_text(json.dumps({"family": "gan", "data": {"path": str(path)}}))
    reads = []
    load = image_metrics.load_images
    monkeypatch.setattr(image_metrics, "load_images", lambda *a, **k: reads.append(a[0]) or load(*a, **k))
    reference = digits[10:30, ..., None]
    assert image_metrics.shared_with_training(runs["file"], reference) == 20 and len(reads) == 1
    assert image_metrics.shared_with_training(runs["file"], reference[:5]) == 5 and len(reads) == 1  # cached
    np.savez(data, x=digits[:15])  # the training file rewritten
    assert image_metrics.shared_with_training(runs["file"], reference) == 5 and len(reads) == 2
    assert image_metrics.shared_with_training(runs["file"], reference, use_cache=False) == 5 and len(reads) == 3
    assert image_metrics.shared_with_training(runs["folder"], digits[:10, ..., None]) == 3 and len(reads) == 4
    assert image_metrics.shared_with_training(runs["folder"], digits[:10, ..., None]) == 3 and len(reads) == 4
    Image.fromarray(digits[5]).save(folder / "5.png")  # a picture added
    assert image_metrics.shared_with_training(runs["folder"], digits[:10, ..., None]) == 4 and len(reads) == 5
    # Class folders that are links to folders elsewhere are read through them, and so is their fingerprint.
    classes, elsewhere = tmp_path / "classes", tmp_path / "elsewhere"
    classes.mkdir()
    elsewhere.mkdir()
    (classes / "a").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(elsewhere, target_is_directory=True)  # a loop ends: each real folder once
    (runs["folder"] / "config.json").write_text(json.dumps({"family": "gan", "data": {"path": str(classes)}}))
    Image.fromarray(digits[6]).save(elsewhere / "6.png")
    counted = image_metrics.shared_with_training(runs["folder"], digits[:10, ..., None])
    Image.fromarray(digits[7]).save(elsewhere / "7.png")
    assert image_metrics.shared_with_training(runs["folder"], digits[:10, ..., None]) == counted + 1


def test_class_metrics_that_cannot_apply_are_refused_before_any_feature_is_computed(tmp_path, monkeypatch):
    from genlab.metrics import images

    unlabelled = tmp_path / "unlabelled.npz"
    np.savez(unlabelled, x=np.zeros((20, 28, 28), np.uint8))
    real = images.get_extractor
    computed = []

    def spied(*args, **kwargs):
        extractor = real(*args, **kwargs)
        return dataclasses.replace(extractor, outputs=lambda x: computed.append(len(x)))

    monkeypatch.setattr(images, "get_extractor", spied)
    with pytest.raises(ConfigError, match="--metrics acc needs class labels"):
        images.evaluate_images(unlabelled, "mnist-test", metrics=["fd", "kid", "acc"], n=20)
    assert computed == []  # refused before the costly part, not after FD and KID were computed


def test_a_reference_cache_that_cannot_be_written_is_a_warning_not_a_lost_evaluation(tmp_path, monkeypatch, capsys):
    from genlab.metrics.cache import reference_key, save_reference

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GENLAB_CACHE", str(blocker / "cache"))
    key = reference_key("mnist", "pixels", "test", "mnist", "sha", 28)
    assert save_reference(key, {"features": torch.zeros(3, 8)}) is None
    err = capsys.readouterr().err
    assert "were not cached" in err and "GENLAB_CACHE" in err and "--no-cache" in err
    assert blocker.read_text() == "not a folder"


def test_without_a_home_folder_the_reference_cache_is_skipped_with_a_warning(monkeypatch, capsys):
    from pathlib import Path

    from genlab.metrics.cache import load_reference, reference_key, save_reference

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("GENLAB_CACHE", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    key = reference_key("mnist", "pixels", "test", "mnist", "sha", 28)
    assert load_reference(key) is None
    assert save_reference(key, {"features": torch.zeros(3, 8)}) is None
    assert "GENLAB_CACHE" in capsys.readouterr().err


def test_cached_reference_features_belong_to_the_weights_that_computed_them(tmp_path, monkeypatch):
    from genlab.metrics.cache import load_reference, reference_key, save_reference

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    old = reference_key("cifar10", "pixels", "test", "cifar10", "sha-of-old-weights", 32)
    save_reference(old, {"features": torch.zeros(3, 128)})
    assert load_reference(old) is not None
    # Retrained weights (a new genlab release) must recompute, not reuse the old network's features.
    assert load_reference(reference_key("cifar10", "pixels", "test", "cifar10", "sha-of-new-weights", 32)) is None


def test_cached_reference_features_belong_to_the_code_that_computed_them(tmp_path, monkeypatch):
    from genlab.metrics import cache

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    key = cache.reference_key("mnist", "pixels", "test", "mnist", "sha", 28)
    cache.save_reference(key, {"features": torch.zeros(3, 128)})
    assert load_reference_after_edit(cache, tmp_path, monkeypatch, edit=False) is not None
    # An edited extractor (say, its resize) under the same version number computes again.
    assert load_reference_after_edit(cache, tmp_path, monkeypatch, edit=True) is None


def load_reference_after_edit(cache, tmp_path, monkeypatch, edit: bool):
    """The cached entry as the key of copies of the feature code reads it, one file edited or none."""
    copies = tmp_path / ("edited" if edit else "same")
    copies.mkdir()
    for name in cache.FEATURE_CODE:
        text = (Path(cache.__file__).parent / name).read_text()
        (copies / name).write_text(text + "\n# edited\n" if edit and name == "inception.py" else text)
    with monkeypatch.context() as patched:
        patched.setattr(cache, "__file__", str(copies / "cache.py"))
        cache.feature_code_digest.cache_clear()
        try:
            return cache.load_reference(cache.reference_key("mnist", "pixels", "test", "mnist", "sha", 28))
        finally:
            cache.feature_code_digest.cache_clear()


@pytest.mark.parametrize("metadata", [None, {"key": "[" * 100000}, {"key": "[1, 2]"}])
def test_a_cache_entry_without_genlabs_key_is_recomputed_not_a_crash(tmp_path, monkeypatch, metadata):
    from safetensors.torch import save_file

    from genlab.metrics.cache import _entry_path, load_reference, reference_key

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    key = reference_key("mnist", "pixels", "test", "mnist", "sha", 28)
    _entry_path(key).parent.mkdir(parents=True, exist_ok=True)
    save_file({"features": torch.zeros(3, 8)}, str(_entry_path(key)), metadata=metadata)  # not written by genlab
    assert load_reference(key) is None


@pytest.mark.parametrize("folder", [False, True])
def test_an_edited_reference_is_recomputed_even_with_its_size_and_mtime_kept(tmp_path, digits_npz, folder):
    from PIL import Image

    with np.load(digits_npz) as data:
        x = data["x"][:64]
    if folder:  # editing a picture in place leaves the folder's own size and mtime as they were
        reference = tmp_path / "reference"
        reference.mkdir()
        files = [reference / f"{i:03d}.png" for i in range(len(x))]
        for image, file in zip(x, files):
            Image.fromarray(image).save(file)
    else:
        reference = tmp_path / "reference.npz"
        np.savez(reference, x=x)
        files = [reference]
    first = evaluate_images(digits_npz, reference, metrics=["fd"], extractor="mnist", n=64)["FD-mnist"]["value"]
    times = [(f.stat().st_atime_ns, f.stat().st_mtime_ns) for f in files] + [
        (reference.stat().st_atime_ns, reference.stat().st_mtime_ns)]
    edited = 255 - x  # the same shape and byte count, other pixels
    if folder:
        for image, file in zip(edited, files):
            Image.fromarray(image).save(file)
    else:
        np.savez(reference, x=edited)
    for path, ns in zip([*files, reference], times):
        os.utime(path, ns=ns)
    cached = evaluate_images(digits_npz, reference, metrics=["fd"], extractor="mnist", n=64)["FD-mnist"]["value"]
    fresh = evaluate_images(digits_npz, reference, metrics=["fd"], extractor="mnist", n=64,
                            use_cache=False)["FD-mnist"]["value"]
    assert cached == fresh != first


def test_a_reference_too_small_for_a_metric_is_one_clear_error(tmp_path, digits_npz):
    small = tmp_path / "small.npz"
    with np.load(digits_npz) as data:
        np.savez(small, x=data["x"][:3])
    with pytest.raises(DataError, match="pr needs at least 6 reference images but --ref .* holds 3"):
        evaluate_images(digits_npz, small, metrics=["pr"], extractor="mnist", n=50)


def test_a_models_samples_are_the_same_at_any_batch_size_and_cycle_through_every_class(tmp_path):
    """sample() starts each call at class 0: batches of 4 would give classes 0-3 only. And torch
    draws normals in blocks, so latents drawn batch by batch would change with --batch-size."""
    from genlab.imaging import to_uint8
    from genlab.metrics.images import generated_images
    from genlab.models.gan import GAN, GANConfig

    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=10, latent_dim=8,
                          generator_width=8, discriminator_width=8)).eval()
    model.save_pretrained(tmp_path / "model")
    expected = to_uint8(model.decode(model.sample_latent(30, torch.Generator().manual_seed(1)), torch.arange(30) % 10))
    for batch_size in (4, 7, 30):
        images, labels, _, _ = generated_images(tmp_path / "model", 30, seed=1, device="cpu", batch_size=batch_size)
        assert labels.tolist() == [i % 10 for i in range(30)]
        assert np.array_equal(images, expected)  # each image drawn with the label it is reported with


def test_a_model_that_draws_nan_images_is_refused_not_scored(tmp_path, monkeypatch):
    from genlab.errors import SampleError
    from genlab.metrics.images import generated_images
    from genlab.models.gan import GAN, GANConfig

    GAN(GANConfig(resolution=28, channels=1, latent_dim=8, generator_width=8, discriminator_width=8)).save_pretrained(
        tmp_path / "model")
    real_decode = GAN.decode

    def broken(self, latent, labels=None):
        images = real_decode(self, latent, labels)
        images[1, 0, 3, 3] = float("nan")  # one pixel of one image
        return images

    monkeypatch.setattr(GAN, "decode", broken)
    with pytest.raises(SampleError, match=r"^The model drew 1 of 8 images with NaN or infinite pixels"):
        generated_images(tmp_path / "model", 8, seed=0, device="cpu", batch_size=8)


def test_a_file_holding_the_embedded_digits_is_flagged_for_a_model_trained_on_them(tmp_path, run_cli, tiny_dcgan):
    from genlab.data.images import embedded_digits_path

    run = tmp_path / "run"  # trained without --data: on the embedded MNIST test split
    code, _, err = run_cli("train", "gan", "--steps", "1", "--batch-size", "8", "--out", run, "--quiet", *tiny_dcgan)
    assert code == 0, err
    copy = tmp_path / "my_mnist_test.npz"
    shutil.copy(embedded_digits_path(), copy)
    code, out, err = run_cli("eval", run, "--metrics", "fd", "--ref", copy, "--n", "50", "--extractor", "mnist")
    assert code == 0, err
    warning = json.loads(out)["FD-mnist"]["warning"]
    assert warning.startswith("the model was trained on the embedded MNIST test split")
    assert err.count(f"genlab: warning: {warning}") == 1  # said once on stderr, not once per metric


def test_class_accuracy_matches_named_classes_to_the_evaluators_by_name(tmp_path, run_cli, digits_npz):
    from PIL import Image

    from genlab.metrics.images import evaluator_labels

    labels = np.array([0, 1, 2, 0])
    assert evaluator_labels(labels, None, "mnist").tolist() == [0, 1, 2, 0]  # unnamed: its numbers
    assert evaluator_labels(labels, ["3", "5", "7"], "mnist").tolist() == [3, 5, 7, 3]  # folders 3, 5, 7
    assert evaluator_labels(labels, ["cat", "dog", "ship"], "cifar10").tolist() == [3, 5, 8, 3]
    with pytest.raises(ConfigError, match=r"^--metrics acc checks each sample's class against the mnist evaluator's "
                                          r"reading, but the generated images' classes \(7, cat, dog\) are not among "
                                          r"its classes \(named 0, 1, 2"):
        evaluator_labels(labels, ["7", "cat", "dog"], "mnist")
    with pytest.raises(ConfigError, match=r"are not among its classes \(numbered, not named\)"):
        evaluator_labels(labels, ["3", "5", "7"], "fashion-mnist")
    with np.load(digits_npz) as data:
        x, y = data["x"], data["y"]
    for digit in (3, 5):  # real digits in folders named by them: labels 0 and 1, classes 3 and 5
        (tmp_path / "fakes" / str(digit)).mkdir(parents=True)
        for i, image in enumerate(x[y == digit][:10]):
            Image.fromarray(image).save(tmp_path / "fakes" / str(digit) / f"{i}.png")
    code, out, err = run_cli("eval", tmp_path / "fakes", "--metrics", "acc", "--no-cache")
    assert code == 0, err
    assert json.loads(out)["class_accuracy"]["value"] >= 0.9  # by number (0 and 1) it would be about 0

    # The same as the .npz that 'genlab sample --out' writes for a model of those folders: y and class_names.
    from genlab.imaging import save_images_npz

    fakes = torch.from_numpy(np.concatenate([x[y == 3][:10], x[y == 5][:10]])).float()[:, None] / 127.5 - 1
    save_images_npz(fakes, tmp_path / "fakes.npz", torch.arange(20) // 10, ("3", "5"))
    code, out, err = run_cli("eval", tmp_path / "fakes.npz", "--metrics", "acc", "--no-cache")
    assert code == 0 and json.loads(out)["class_accuracy"]["value"] >= 0.9, err
    np.savez(tmp_path / "bad.npz", x=x[:2], y=np.array([0, 2]), class_names=np.array(["3", "5"]))
    code, _, err = run_cli("eval", tmp_path / "bad.npz", "--metrics", "acc", "--no-cache")
    assert code == 2 and "'class_names' must be distinct strings, one for each label in y" in err
