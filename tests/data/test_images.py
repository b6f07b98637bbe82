"""Image loaders: every format on tiny synthetic files, resizing, channels, and bad input."""

import gzip
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlab.data.images import describe_images, load_images
from genlab.errors import DataError

SHARED_IMAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "images"


def rng_images(n, h, w, c=None, seed=0):
    shape = (n, h, w) if c is None else (n, h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_npz_grey_and_colour(tmp_path):
    np.savez(tmp_path / "a.npz", x=rng_images(5, 8, 8), y=np.arange(5))
    found = load_images(tmp_path / "a.npz")
    assert found.images.shape == (5, 8, 8, 1) and found.labels.tolist() == [0, 1, 2, 3, 4]
    rgba = rng_images(3, 8, 8, 4)
    np.savez(tmp_path / "b.npz", images=rgba)
    found = load_images(tmp_path / "b.npz")
    assert found.images.shape == (3, 8, 8, 3) and found.labels is None
    assert np.array_equal(found.images, rgba[..., :3])


def test_already_sized_arrays_are_not_copied(tmp_path):
    np.savez(tmp_path / "a.npz", x=rng_images(2, 8, 8, 3))
    found = load_images(tmp_path / "a.npz", resolution=8, channels=3)
    assert found.images.base is not None or found.images.flags.owndata  # returned as loaded
    assert found.images.shape == (2, 8, 8, 3)


def test_resize_crop_and_channel_conversion(tmp_path):
    np.savez(tmp_path / "wide.npz", x=rng_images(2, 10, 20, 3))
    found = load_images(tmp_path / "wide.npz", resolution=6, channels=1)
    assert found.images.shape == (2, 6, 6, 1)
    grey = np.full((1, 4, 4, 1), 200, np.uint8)
    np.savez(tmp_path / "grey.npz", x=grey)
    assert (load_images(tmp_path / "grey.npz", channels=3).images == 200).all()
    red = np.zeros((1, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    np.savez(tmp_path / "red.npz", x=red)
    assert (load_images(tmp_path / "red.npz", channels=1).images == round(0.299 * 255)).all()


def test_image_folder_with_classes_mixed_modes(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    Image.fromarray(rng_images(1, 12, 12, 4)[0], "RGBA").save(tmp_path / "cats" / "a.png")
    Image.fromarray(rng_images(1, 12, 12)[0], "L").save(tmp_path / "dogs" / "b.JPG")
    Image.fromarray(rng_images(1, 16, 16, 3)[0]).save(tmp_path / "dogs" / "c.png")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    found = load_images(tmp_path, resolution=8)
    assert found.images.shape == (3, 8, 8, 3)
    assert found.labels.tolist() == [0, 1, 1] and found.class_names == ["cats", "dogs"]
    assert describe_images(tmp_path)["classes"] == {"cats": 1, "dogs": 2}


def test_corrupt_image_is_named_or_skipped_and_counted(tmp_path):
    Image.fromarray(rng_images(1, 8, 8, 3)[0]).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"broken.png is not a readable image .*--data.skip_corrupt true"):
        load_images(tmp_path)
    found = load_images(tmp_path, skip_corrupt=True)
    assert found.images.shape == (1, 8, 8, 3) and found.skipped == 1


def test_folder_of_mixed_sizes_needs_a_resolution(tmp_path):
    Image.fromarray(rng_images(1, 8, 8, 3)[0]).save(tmp_path / "a.png")
    Image.fromarray(rng_images(1, 9, 9, 3)[0]).save(tmp_path / "b.png")
    with pytest.raises(DataError, match="different sizes .* pass --data.resolution N"):
        load_images(tmp_path)


def cifar_batch(n, seed):
    return {b"data": rng_images(n, 3 * 32 * 32, 1, seed=seed).reshape(n, 3072), b"labels": list(range(n))}


def test_cifar_folder_and_archive(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(cifar_batch(2, i), protocol=4))
    found = load_images(folder)
    assert found.images.shape == (10, 32, 32, 3) and found.class_names[0] == "airplane"
    raw = cifar_batch(2, 1)[b"data"][0].reshape(3, 32, 32)
    assert np.array_equal(found.images[0], raw.transpose(1, 2, 0))  # CHW rows → HWC pixels
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    assert np.array_equal(load_images(archive).images, found.images)


class Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_crafted_cifar_pickle_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "cifar"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Payload()}, protocol=4))
    with pytest.raises(DataError, match="data_batch_1 is not a CIFAR-10 batch .*refused global"):
        load_images(folder)
    assert not (tmp_path / "PWNED").exists()


def write_idx(path, array, gz):
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_with_labels(tmp_path, gz):
    suffix = ".gz" if gz else ""
    x = rng_images(4, 28, 28)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", x, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", np.array([3, 1, 4, 1], np.uint8), gz)
    for path in (tmp_path, tmp_path / f"train-images-idx3-ubyte{suffix}"):
        found = load_images(path)
        assert np.array_equal(found.images[..., 0], x) and found.labels.tolist() == [3, 1, 4, 1]


def test_truncated_idx_is_named(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, rng_images(4, 28, 28), gz=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="train-images-idx3-ubyte is truncated"):
        load_images(path)


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((2, 4, 4), np.float32)}, "dtype float32, but images must be uint8"),
    ({"x": np.zeros((2, 4, 4, 2), np.uint8)}, r"shape \(2, 4, 4, 2\), but images must be"),
    ({"x": np.zeros((2, 4, 4), np.uint8), "y": np.arange(3)}, "labels must be 2 non-negative integers"),
    ({"z": np.zeros((2, 4, 4), np.uint8)}, "has no 'x'"),
])
def test_bad_npz_is_named(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_images(tmp_path / "bad.npz")


def test_missing_empty_and_unknown_paths(tmp_path):
    with pytest.raises(DataError, match="nope does not exist"):
        load_images(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty is empty"):
        load_images(tmp_path / "empty")
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(DataError, match="is not a supported data file"):
        load_images(tmp_path / "data.csv")


def test_embedded_default_is_the_mnist_test_split():
    found = load_images(None)
    assert found.images.shape == (10000, 28, 28, 1) and found.labels[:5].tolist() == [7, 2, 1, 0, 4]


@pytest.mark.skipif(not (SHARED_IMAGES / "mnist_test.npz").is_file(), reason="shared MNIST not present")
def test_embedded_digits_equal_the_shared_mnist_test_file():
    with np.load(SHARED_IMAGES / "mnist_test.npz") as shared:
        assert np.array_equal(load_images(None).images[..., 0], shared["x"])
