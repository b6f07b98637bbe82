"""Image loaders: every format on tiny synthetic files, resizing, channels, and bad input."""

import gzip
import os
import pickle
import struct
import tarfile
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data.images import describe_images, embedded_digits_path, load_images
from genlab.errors import DataError



def random_pixels(*shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --- .npz --------------------------------------------------------------------------------------
def test_npz_grey_with_labels_and_rgba_without(tmp_path):
    x = random_pixels(5, 8, 8)
    np.savez(tmp_path / "grey.npz", x=x, y=np.arange(5, dtype=np.int32))
    found = load_images(tmp_path / "grey.npz")
    assert found.images.shape == (5, 8, 8, 1) and np.array_equal(found.images[..., 0], x)
    assert found.labels.dtype == np.int64 and found.labels.tolist() == [0, 1, 2, 3, 4]
    rgba = random_pixels(3, 8, 8, 4)
    np.savez(tmp_path / "rgba.npz", images=rgba)
    found = load_images(tmp_path / "rgba.npz")
    assert np.array_equal(found.images, rgba[..., :3]) and found.labels is None


def test_arrays_at_the_requested_size_skip_pil(tmp_path, monkeypatch):
    x = random_pixels(4, 8, 8, 3)
    np.savez(tmp_path / "a.npz", x=x)

    def refuse(*args, **kwargs):
        raise AssertionError("an array already at the requested size went through PIL")

    monkeypatch.setattr(Image, "fromarray", refuse)
    assert np.array_equal(load_images(tmp_path / "a.npz", resolution=8, channels=3).images, x)


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((2, 4, 4), np.float32)}, "'x' has dtype float32, but images must be uint8"),
    ({"x": np.zeros((2, 4, 4, 2), np.uint8)}, r"'x' has shape \(2, 4, 4, 2\), but images must be \(N, H, W\)"),
    ({"x": np.zeros((5, 0, 28), np.uint8)}, r"'x' has shape \(5, 0, 28\), .* with N, H and W at least 1"),
    ({"x": np.zeros((5, 28, 0, 3), np.uint8)}, r"'x' has shape \(5, 28, 0, 3\), .* with N, H and W at least 1"),
    ({"x": np.zeros((2, 4, 4), np.uint8), "y": np.arange(3)}, r"'y' has shape \(3,\) .* must be 2 non-negative"),
    ({"pixels": np.zeros((2, 4, 4), np.uint8)}, "has no 'x' \\(or 'images'\\) array, only 'pixels'"),
    # uint64 labels past int64's range would wrap to negative class numbers
    ({"x": np.zeros((2, 4, 4), np.uint8), "y": np.array([0, 2 ** 63 + 2], np.uint64)},
     r"'y' holds the label 9223372036854775810, beyond what an int64 holds"),
])
def test_bad_npz_is_named_with_what_was_found(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=f"bad.npz: {message}|bad.npz {message}"):
        load_images(tmp_path / "bad.npz")


# --- resizing and channels ---------------------------------------------------------------------
def test_resize_and_centre_crop(tmp_path):
    wide = np.zeros((1, 8, 16, 1), np.uint8)
    wide[:, :, 4:12] = 255  # the centre 8×8 is white, the sides black
    np.savez(tmp_path / "wide.npz", x=wide)
    assert (load_images(tmp_path / "wide.npz", resolution=8).images == 255).all()
    np.savez(tmp_path / "tall.npz", x=random_pixels(2, 20, 10, 3))
    assert load_images(tmp_path / "tall.npz", resolution=6).images.shape == (2, 6, 6, 3)  # shrunk
    assert load_images(tmp_path / "tall.npz", resolution=32).images.shape == (2, 32, 32, 3)  # enlarged


def test_channel_conversion_matches_pil(tmp_path):
    rgb = random_pixels(3, 5, 7, 3)
    np.savez(tmp_path / "rgb.npz", x=rgb)
    grey = load_images(tmp_path / "rgb.npz", channels=1).images
    assert np.array_equal(grey[..., 0], np.stack([np.asarray(Image.fromarray(a).convert("L")) for a in rgb]))
    np.savez(tmp_path / "grey.npz", x=rgb[..., 0])
    repeated = load_images(tmp_path / "grey.npz", channels=3).images
    assert repeated.shape == (3, 5, 7, 3) and (repeated == rgb[..., :1]).all()


# --- image folders -----------------------------------------------------------------------------
def test_sixteen_bit_grey_is_scaled_and_exif_rotated_photos_stand_upright(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    Image.fromarray(np.array([[0, 257 * 100], [65535, 257 * 7]], np.uint16)).save(folder / "deep.png")
    grey = load_images(folder)
    assert grey.images[0, ..., 0].tolist() == [[0, 100], [255, 7]]  # not clipped to 255
    (folder / "deep.png").unlink()
    upright = random_pixels(2, 3)
    photo = Image.fromarray(np.rot90(upright, -1).copy())  # stored turned a quarter clockwise...
    exif = photo.getexif()
    exif[0x0112] = 8  # ...with the EXIF orientation that turns it back
    photo.save(folder / "photo.png", exif=exif.tobytes())
    assert np.array_equal(load_images(folder).images[0, ..., 0], upright)
    assert describe_images(folder)["shape"] == [2, 3, 1]


def test_folder_with_classes_and_mixed_picture_modes(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    Image.fromarray(random_pixels(12, 12, 4), "RGBA").save(tmp_path / "cats" / "a.png")
    Image.fromarray(random_pixels(12, 12)).convert("P").save(tmp_path / "cats" / "b.gif")
    Image.fromarray(random_pixels(10, 14)).save(tmp_path / "dogs" / "c.JPG")  # grey JPEG
    Image.fromarray(random_pixels(16, 16, 3)).save(tmp_path / "dogs" / "d.png")
    (tmp_path / "dogs" / "notes.txt").write_text("not a picture")
    found = load_images(tmp_path, resolution=8)
    assert found.images.shape == (4, 8, 8, 3) and found.images.dtype == np.uint8
    assert found.labels.tolist() == [0, 0, 1, 1] and found.class_names == ["cats", "dogs"]
    assert load_images(tmp_path, resolution=8, channels=1).images.shape == (4, 8, 8, 1)


def test_flat_folder_has_no_labels_and_keeps_grey(tmp_path):
    x = random_pixels(3, 6, 6)
    for i, a in enumerate(x):
        Image.fromarray(a).save(tmp_path / f"{i}.png")
    found = load_images(tmp_path)
    assert found.labels is None and found.class_names is None and np.array_equal(found.images[..., 0], x)


def test_loose_pictures_beside_class_folders_are_refused(tmp_path):
    (tmp_path / "cats").mkdir()
    Image.fromarray(random_pixels(8, 8)).save(tmp_path / "cats" / "a.png")
    Image.fromarray(random_pixels(8, 8)).save(tmp_path / "stray.png")
    for read in (load_images, describe_images):
        with pytest.raises(DataError, match=r"holds both 1 loose picture \(e.g. stray.png\) and class subfolders "
                                            r"\(cats\); move the loose pictures into a class folder"):
            read(tmp_path)


def test_an_empty_class_folder_is_refused_rather_than_a_class_never_learned(tmp_path):
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    for folder in ("a", "c"):
        Image.fromarray(random_pixels(8, 8)).save(tmp_path / folder / "x.png")
    (tmp_path / "b" / "notes.txt").write_text("not a picture")
    with pytest.raises(DataError, match=r"its class subfolder b holds no pictures, and every subfolder is a class; "
                                        "add pictures or remove the empty subfolders"):
        load_images(tmp_path)


def test_hidden_files_and_folders_are_not_pictures_or_classes(tmp_path):
    for folder in ("cats", ".ipynb_checkpoints", "__MACOSX"):
        (tmp_path / folder).mkdir()
        Image.fromarray(random_pixels(8, 8)).save(tmp_path / folder / "a.png")
    (tmp_path / "cats" / "._a.png").write_bytes(b"\x00\x05\x16\x07")  # macOS AppleDouble, not a picture
    found = load_images(tmp_path)
    assert found.class_names == ["cats"] and found.images.shape == (1, 8, 8, 1)
    (tmp_path / "cats" / "._a.png").rename(tmp_path / "._b.png")  # a hidden loose file is no loose picture
    assert load_images(tmp_path).class_names == ["cats"]
    assert load_images(tmp_path / "cats").labels is None


def test_corrupt_and_truncated_pictures_are_named_or_skipped(tmp_path):
    Image.fromarray(random_pixels(8, 8, 3)).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"broken.png is not a readable image .*--data.skip_corrupt true"):
        load_images(tmp_path, skip_corrupt=False)  # training, which has --data.skip_corrupt
    with pytest.raises(DataError, match=r"broken.png is not a readable image .*replace or delete it\.$"):
        load_images(tmp_path)  # an evaluation, which has no such option to offer
    (tmp_path / "broken.png").unlink()
    Image.fromarray(random_pixels(64, 64, 3)).save(tmp_path / "cut.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "cut.png").read_bytes()[:2000])
    with pytest.raises(DataError, match=r"cut.png is not a readable image"):
        load_images(tmp_path)
    (tmp_path / "junk.jpg").write_bytes(b"not a jpeg")
    found = load_images(tmp_path, skip_corrupt=True)
    assert found.images.shape == (1, 8, 8, 3) and found.skipped == 2


def test_messages_name_the_option_that_gave_the_path_and_the_kind_of_a_non_image_npz(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="point --ref at such a folder"):
        load_images(tmp_path / "empty", option="--ref")
    np.savez(tmp_path / "series.npz", x=np.zeros((10, 24, 5), np.float32))
    with pytest.raises(DataError, match="time series .* 'genlab train rgan --data FILE'"):
        load_images(tmp_path / "series.npz")
    np.savez(tmp_path / "ids.npz", tokens=np.zeros((10, 20), np.int64))
    with pytest.raises(DataError, match="'tokens' holds token ids: .*'genlab train textgan"):
        load_images(tmp_path / "ids.npz")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(DataError, match="loop is a link to nothing"):
        load_images(tmp_path / "loop")


def test_folder_of_mixed_sizes_needs_a_resolution(tmp_path):
    Image.fromarray(random_pixels(8, 8, 3)).save(tmp_path / "a.png")
    Image.fromarray(random_pixels(9, 9, 3)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match=r"different sizes \(8×8, 9×9\); pass --data.resolution N"):
        load_images(tmp_path, skip_corrupt=False)
    with pytest.raises(DataError, match=r"different sizes \(8×8, 9×9\); resize them to one size\.$"):
        load_images(tmp_path)
    assert load_images(tmp_path, resolution=8).images.shape == (2, 8, 8, 3)


def test_describe_folder_from_headers_and_npz(tmp_path):
    (tmp_path / "pics" / "a").mkdir(parents=True)
    (tmp_path / "pics" / "b").mkdir()
    Image.fromarray(random_pixels(8, 8)).save(tmp_path / "pics" / "a" / "1.png")
    Image.fromarray(random_pixels(8, 8)).save(tmp_path / "pics" / "b" / "2.png")
    Image.fromarray(random_pixels(8, 8)).save(tmp_path / "pics" / "b" / "3.png")
    info = describe_images(tmp_path / "pics")
    assert info["format"] == "image folder" and info["count"] == 3 and info["shape"] == [8, 8, 1]
    assert info["classes"] == {"a": 1, "b": 2}
    np.savez(tmp_path / "d.npz", x=random_pixels(4, 5, 5, 3), y=np.array([0, 2, 2, 2]))
    info = describe_images(tmp_path / "d.npz")
    assert (info["format"], info["count"], info["shape"], info["dtype"]) == ("npz", 4, [5, 5, 3], "uint8")
    assert info["classes"] == {"0": 1, "1": 0, "2": 3}
    np.savez(tmp_path / "ids.npz", x=random_pixels(3, 5, 5, 3), y=np.array([7, 10 ** 9, 7]))  # ids, not classes
    assert describe_images(tmp_path / "ids.npz")["classes"] == {"7": 2, "1000000000": 1}  # no 10⁹-entry table


# --- CIFAR-10 ----------------------------------------------------------------------------------
def cifar_batch(n, seed):
    return {b"data": random_pixels(n, 3072, seed=seed), b"labels": list(range(n))}


def py2_pickle(batch):
    """The opcodes Python 2 wrote for the real CIFAR-10 batches (str keys, numpy.core names)."""
    def text(b):
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b

    def number(v):
        return b"J" + struct.pack("<i", v)

    data = batch[b"data"]
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + number(0) + b"\x85" + text(b"b") + b"\x87R"
             + b"(" + number(1) + number(data.shape[0]) + number(data.shape[1]) + b"\x86"
             + b"cnumpy\ndtype\n" + text(b"u1") + number(0) + number(1) + b"\x87R"
             + b"(" + number(3) + text(b"|") + b"NNN" + number(-1) + number(-1) + number(0) + b"tb"
             + b"\x89" + text(data.tobytes()) + b"tb")
    labels = b"](" + b"".join(number(v) for v in batch[b"labels"]) + b"e"
    return b"\x80\x02}(" + text(b"data") + array + text(b"labels") + labels + b"u."


def write_cifar_folder(folder, dump=lambda b: pickle.dumps(b, protocol=4)):
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(dump(cifar_batch(2, i)))
    (folder / "test_batch").write_bytes(dump(cifar_batch(3, 6)))
    return folder


def test_cifar_folder_archive_and_single_batch(tmp_path):
    folder = write_cifar_folder(tmp_path / "cifar-10-batches-py")
    found = load_images(folder)
    assert found.images.shape == (10, 32, 32, 3) and found.labels.tolist() == [0, 1] * 5
    assert found.class_names[0] == "airplane"
    raw = cifar_batch(2, 1)[b"data"][0].reshape(3, 32, 32)
    assert np.array_equal(found.images[0], raw.transpose(1, 2, 0))  # CHW rows → HWC pixels
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    assert np.array_equal(load_images(archive).images, found.images)
    assert load_images(folder / "test_batch").images.shape == (3, 32, 32, 3)


def test_folder_holding_the_downloaded_cifar_archive(tmp_path):
    folder = write_cifar_folder(tmp_path / "cifar-10-batches-py")
    (tmp_path / "download").mkdir()  # what 'genlab data download cifar10 download' leaves
    with tarfile.open(tmp_path / "download" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    assert np.array_equal(load_images(tmp_path / "download").images, load_images(folder).images)
    assert describe_images(tmp_path / "download")["count"] == 10


def damage_deflate_data(path):
    """Flip bytes in the middle of a gzip file's compressed payload (header and trailer intact), so
    that zlib itself fails (zlib.error), not gzip's length or CRC check (OSError, EOFError). The
    archive's bytes vary with the files' times, and now and then a flipped stretch still decodes
    (to wrong bytes, caught by the CRC), so stretches from the middle on are tried until one breaks zlib."""
    original = path.read_bytes()
    for middle in range(len(original) // 2, len(original) - 64, 64):
        data = bytearray(original)
        data[middle - 32:middle + 32] = bytes(b ^ 0xFF for b in data[middle - 32:middle + 32])
        try:
            gzip.decompress(bytes(data))
        except zlib.error:
            path.write_bytes(bytes(data))
            return
        except (OSError, EOFError):
            continue
    raise AssertionError(f"no stretch of {path} breaks its deflate data")


def test_cifar_archive_with_damaged_deflate_data_is_named(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    for i in range(1, 6):
        batch = {b"data": random_pixels(20, 3072, seed=i) // 16, b"labels": [0] * 20}
        (tmp_path / "cifar-10-batches-py" / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=4))
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    damage_deflate_data(archive)
    with pytest.raises(DataError, match="cifar-10-python.tar.gz is not a readable .tar.gz archive"):
        load_images(archive)


def test_cifar_archive_member_larger_than_a_batch_is_refused_before_it_is_read(tmp_path, monkeypatch):
    folder = write_cifar_folder(tmp_path / "cifar-10-batches-py")
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    size = (folder / "data_batch_1").stat().st_size
    monkeypatch.setattr("genlab.data.images._CIFAR_BATCH_MAX_BYTES", size - 1)
    with pytest.raises(DataError, match=f"member cifar-10-batches-py/data_batch_1 claims {size:,} bytes"):
        load_images(archive)


def test_python2_batches_like_the_real_files_load(tmp_path):
    found = load_images(write_cifar_folder(tmp_path / "cifar", dump=py2_pickle))
    expected = np.concatenate([cifar_batch(2, i)[b"data"] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    assert np.array_equal(found.images, expected.transpose(0, 2, 3, 1))


def test_cifar_labels_outside_the_ten_classes_are_refused(tmp_path):
    batch = cifar_batch(2, 1)
    batch[b"labels"] = [3, 10]
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch, protocol=4))
    with pytest.raises(DataError, match="labels from 3 to 10, not the classes 0 to 9"):
        load_images(tmp_path / "test_batch")


def test_cifar_folder_missing_a_batch(tmp_path):
    folder = write_cifar_folder(tmp_path / "cifar")
    (folder / "data_batch_4").unlink()
    with pytest.raises(DataError, match="cifar lacks data_batch_4 of the CIFAR-10 training set"):
        load_images(folder)


class RunsACommand:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_crafted_cifar_pickle_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": RunsACommand()}, protocol=4))
    with pytest.raises(DataError, match=r"test_batch asks to run (posix|nt|os)\.system, .* refused unread"):
        load_images(tmp_path / "test_batch")
    assert not (tmp_path / "PWNED").exists()


# --- MNIST IDX ---------------------------------------------------------------------------------
def write_idx(path, array):
    data = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_file_and_folder_with_labels(tmp_path, suffix):
    x = random_pixels(4, 28, 28)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", x)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", np.array([3, 1, 4, 1], np.uint8))
    for path in (tmp_path, tmp_path / f"train-images-idx3-ubyte{suffix}"):
        found = load_images(path)
        assert np.array_equal(found.images[..., 0], x) and found.labels.tolist() == [3, 1, 4, 1]
        assert found.images.flags.writeable  # torch.from_numpy warns on read-only arrays


def test_an_idx_folder_is_its_train_split_or_else_its_test_split(tmp_path):
    test, train = random_pixels(2, 28, 28), random_pixels(3, 28, 28)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", test)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([7, 2], np.uint8))
    found = load_images(tmp_path)  # the test files alone (once refused as a folder without pictures)
    assert np.array_equal(found.images[..., 0], test) and found.labels.tolist() == [7, 2]
    assert "t10k-images-idx3-ubyte.gz" in found.source
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", train)
    assert np.array_equal(load_images(tmp_path).images[..., 0], train)  # both: the train split, as for CIFAR-10


def test_idx_dotted_name_without_labels(tmp_path):
    write_idx(tmp_path / "t10k-images.idx3-ubyte", random_pixels(2, 28, 28))
    found = load_images(tmp_path / "t10k-images.idx3-ubyte")
    assert found.images.shape == (2, 28, 28, 1) and found.labels is None


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_idx_is_named(tmp_path, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    write_idx(path, random_pixels(4, 28, 28))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=f"train-images-idx3-ubyte{suffix} is (truncated|not a readable IDX)"):
        load_images(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_header_promising_too_much_is_named(tmp_path, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    header = np.array([0x803, 0xFFFFFFFF, 0xFFFF, 0xFFFF], ">u4").tobytes()  # 2**64 bytes of pixels
    path.write_bytes(gzip.compress(header) if suffix else header)
    with pytest.raises(DataError, match=f"idx3-ubyte{suffix} is (truncated or )?damaged: its header promises"):
        load_images(path)


def test_idx_with_no_items_is_named(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((0, 28, 28), np.uint8))
    with pytest.raises(DataError, match="holds no items"):
        load_images(tmp_path / "train-images-idx3-ubyte")


def test_gzipped_idx_with_damaged_deflate_data_is_named(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, random_pixels(50, 28, 28) // 16)
    damage_deflate_data(path)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz is not a readable IDX file"):
        load_images(path)


@pytest.mark.parametrize("rows, cols", [(0, 28), (28, 0)])
def test_idx_of_images_without_pixels_is_named(tmp_path, rows, cols):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, rows, cols), np.uint8))
    with pytest.raises(DataError, match=f"holds images of {rows}×{cols} pixels .* at least one row and one column"):
        load_images(tmp_path / "train-images-idx3-ubyte", resolution=8)


def test_idx_with_wrong_magic_number(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", random_pixels(28))  # a labels file under an images name
    with pytest.raises(DataError, match=r"is not an IDX file of 3-d unsigned bytes \(magic number 0x801"):
        load_images(tmp_path / "train-images-idx3-ubyte")


# --- paths -------------------------------------------------------------------------------------
def test_missing_empty_and_unknown_paths(tmp_path):
    with pytest.raises(DataError, match="nope does not exist; pass an .npz file, an image folder, a CIFAR-10"):
        load_images(tmp_path / "nope")
    for name in ("pipe.npz", "train-images-idx3-ubyte", "data_batch_1"):  # opened, each would wait forever
        os.mkfifo(tmp_path / name)
        with pytest.raises(DataError, match=f"{name} is not a regular file \\(a pipe, socket or device\\)"):
            load_images(tmp_path / name)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty is empty: it holds no pictures"):
        load_images(tmp_path / "empty")
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(DataError, match="data.csv is not image data; pass an .npz file.*a CSV time series is the "
                                        "recurrent GANs' data: 'genlab train rgan --data "):
        load_images(tmp_path / "data.csv")
    (tmp_path / "data.bin").write_text("1,2")
    with pytest.raises(DataError, match="data.bin is not a supported data file; pass an .npz file"):
        load_images(tmp_path / "data.bin")


def test_embedded_default_is_the_mnist_test_split():
    found = load_images(None)
    assert found.images.shape == (10000, 28, 28, 1) and found.images.dtype == np.uint8
    assert found.labels.shape == (10000,) and found.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert found.class_names == [str(d) for d in range(10)] and embedded_digits_path().is_file()


def test_real_mnist_test_file_equals_the_embedded_split(shared_file):
    found = load_images(shared_file("images/mnist_test.npz"))
    embedded = load_images(None)
    assert np.array_equal(found.images, embedded.images) and np.array_equal(found.labels, embedded.labels)
    assert np.bincount(found.labels)[:3].tolist() == [980, 1135, 1032]  # per PROVENANCE.txt


def test_hflip_mirrors_some_images_of_a_batch_and_keeps_the_others():
    from genlab.data.image_dataset import ImageTensorDataset

    torch.manual_seed(0)
    images = torch.arange(64 * 2 * 3, dtype=torch.uint8).reshape(64, 1, 2, 3)  # no image is its own mirror
    batch = ImageTensorDataset(images, hflip=True).get_batch(torch.arange(64), torch.device("cpu"))["images"]
    plain = images.float() / 127.5 - 1
    mirrored = [torch.equal(out, image.flip(-1)) for out, image in zip(batch, plain)]
    kept = [torch.equal(out, image) for out, image in zip(batch, plain)]
    assert all(m != k for m, k in zip(mirrored, kept))  # each image is either itself or its mirror
    assert 16 <= sum(mirrored) <= 48  # about half, drawn per image
    unflipped = ImageTensorDataset(images).get_batch(torch.arange(64), torch.device("cpu"))["images"]
    assert torch.equal(unflipped, plain)
