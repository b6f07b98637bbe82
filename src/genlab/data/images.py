"""Read images from the formats people have: .npz arrays, image folders, CIFAR-10, MNIST IDX.

Every loader returns an :class:`ImageSet` of uint8 (N, H, W, C) pixels; resizing and channel
conversion happen once, here, so training batches are plain tensor gathers.

Formats, detected from the path:
- ``.npz`` with ``x`` (or ``images``): uint8 (N, H, W) or (N, H, W, C), C in {1, 3, 4}; optional
  ``y`` (or ``labels``) of length N;
- a folder of images (png, jpg, jpeg, bmp, gif, webp); class subfolders become labels; hidden
  files and folders (names starting with '.') and ``__MACOSX`` are ignored;
- CIFAR-10 "python version": the ``cifar-10-batches-py`` folder, ``cifar-10-python.tar.gz`` or
  the folder holding it (what 'genlab data download cifar10 DIR' leaves) give the 50,000
  training images (data_batch_1..5); a path to one batch file (``test_batch``,
  ``data_batch_3``) gives that batch. The batches are pickles, read with an unpickler that can
  only rebuild numpy arrays;
- MNIST / Fashion-MNIST IDX files, raw or ``.gz``: an ``*-images-idx3-ubyte`` file (labels come
  from the matching ``*-labels-idx1-ubyte`` beside it) or a folder holding the train split (or only
  the test split, ``t10k-*``). IDX
  files do not say which of the two datasets they hold, so their class names are left None.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import pickle
import re
import tarfile
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from genlab.data.npz import load_npz_arrays
from genlab.data.provenance import training_data_section
from genlab.errors import DataError
from genlab.fileio import missing

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DIGIT_CLASSES = [str(d) for d in range(10)]
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"  # the name 'genlab data download cifar10' saves it under
FORMATS = "an .npz file, an image folder, a CIFAR-10 python folder or MNIST IDX files"
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
WIDE_GREY_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}  # 16-bit grey: scaled to 8 bits, not clipped
ROTATED = {5, 6, 7, 8}  # EXIF orientations that turn the picture a quarter: its width and height swap
EXIF_ORIENTATION = 0x0112
# Pictures that cannot be decoded: bad headers, truncated data, absurd sizes.
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 (N, H, W, C), C in {1, 3}
    labels: np.ndarray | None  # int64 (N,)
    class_names: list[str] | None  # folder: sorted subfolder names; CIFAR-10 / embedded MNIST: the 10 classes
    source: str  # e.g. "npz file /x/y.npz"
    skipped: int = 0  # unreadable files skipped (skip_corrupt=True)
    converted: str | None = None  # "28×28×1 → 32×32×3" when load_images resized or recoloured the stored images


def embedded_digits_path() -> Path:
    """The MNIST test split shipped inside genlab: x uint8 (10000, 28, 28), y int64 (10000,)."""
    return Path(str(resources.files("genlab.data") / "assets" / "mnist_test.npz"))


def embedded_training_warning(option: str) -> str:
    """What an evaluation on the embedded digits says when the model also trained on them;
    ``option`` is how that evaluation takes its data (--ref for image metrics, --data otherwise)."""
    return own_training_data_warning("the embedded MNIST test split", option)


def holds_embedded_digits(images: np.ndarray) -> bool:
    """Whether uint8 ``images`` (N, H, W, C) are the embedded MNIST test digits, as a copy of that
    split in a file of the user's holds them (the model's own training data, for a model trained
    without --data)."""
    if images.shape != (10000, 28, 28, 1):
        return False
    with np.load(embedded_digits_path()) as data:
        return bool(np.array_equal(images[..., 0], data["x"]))


def own_training_data_warning(data: str | os.PathLike, option: str) -> str:
    """What an evaluation says when ``data``, which ``option`` named, is what the model trained on."""
    return (f"the model was trained on {data}, which these numbers are measured on: they show fit to the training "
            f"data, not generalisation; pass held-out images with {option}")


def image_digests(images: np.ndarray) -> np.ndarray:
    """A 16-byte digest of each uint8 image (N, H, W, C) → (N, 16) uint8: equal images, equal rows."""
    digests = np.empty((len(images), 16), np.uint8)
    for row, image in zip(digests, images):
        digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()
        row[:] = np.frombuffer(digest, np.uint8)
    return digests


def trained_on_embedded_digits(path: str | os.PathLike) -> bool:
    """Whether ``path`` (as in :func:`training_data_section`) trained on the embedded digits, i.e.
    without a data path."""
    data = training_data_section(path)
    return data is not None and data.get("path") is None


def load_images(path: str | os.PathLike | None, *, resolution: int | None = None, channels: int | None = None,
                skip_corrupt: bool | None = None, option: str = "--data") -> ImageSet:
    """Load uint8 (N, H, W, C) images from ``path`` (None: the embedded MNIST test split).

    ``resolution``: resize so the shorter side is this many pixels, then centre-crop to a square.
    ``channels``: 1 or 3 (None: as stored). ``skip_corrupt``: training's --data.skip_corrupt, to skip
    and count unreadable pictures in image folders instead of stopping; None where the command has
    no such option (and no --data.resolution either), so messages do not offer them. ``option``:
    the command's option naming the path, for messages.
    """
    if path is None:
        found = _read_npz(embedded_digits_path())
        found.class_names, found.source = list(DIGIT_CLASSES), "embedded MNIST test split"
    else:
        path = Path(path).expanduser()
        kind = _detect_format(path)
        if kind == "image folder":
            found = _read_folder(path, resolution, channels, skip_corrupt, option)
        else:
            found = _READERS[kind](path)
    stored = found.images.shape[1:]
    found.images = convert_channels(resize_square(found.images, resolution), channels)
    if found.images.shape[1:] != stored:  # (a folder's pictures were converted one by one as they were read)
        found.converted = f"{'×'.join(map(str, stored))} → {'×'.join(map(str, found.images.shape[1:]))}"
    return found


def _detect_format(path: Path) -> str:
    """The format of a data path: a key of ``_READERS``, or "image folder"."""
    if not path.is_dir() and not path.is_file():  # absent, a dangling link, or a pipe read forever
        raise DataError(f"{path} {missing(path)}; pass {FORMATS}.")
    if path.is_dir():
        if (path / "data_batch_1").is_file():
            return "CIFAR-10 folder"
        if (path / CIFAR10_ARCHIVE).is_file():
            return "CIFAR-10 archive folder"
        return "IDX folder" if _idx_folder_images(path) else "image folder"
    name = path.name.lower()
    if name.endswith(".npz"):
        return "npz"
    if name.endswith((".tar.gz", ".tgz")):
        return "CIFAR-10 archive"
    if re.fullmatch(r"data_batch_\d|test_batch", name):
        return "CIFAR-10 batch"
    if "idx3-ubyte" in name:
        return "IDX"
    if name.endswith(".csv"):
        raise DataError(f"{path} is not image data; pass {FORMATS} (a CSV time series is the recurrent GANs' data: "
                        f"'genlab train rgan --data {path}').")
    raise DataError(f"{path} is not a supported data file; pass {FORMATS}.")


# --- .npz --------------------------------------------------------------------------------------
def _read_npz(path: Path) -> ImageSet:
    arrays = load_npz_arrays(path, "re-save it with numpy.savez.")
    key = _first_key(list(arrays), ("x", "images"))
    if key is None:
        text = " ('tokens' holds token ids: train on them with 'genlab train textgan --data FILE')" \
            if "tokens" in arrays else ""
        raise DataError(f"{path} has no 'x' (or 'images') array, only {', '.join(map(repr, arrays)) or 'nothing'}"
                        f"{text}; save images with numpy.savez(path, x=uint8 array (N, H, W) or (N, H, W, C)).")
    label_key = _first_key(list(arrays), ("y", "labels"))
    x, y = arrays[key], (arrays[label_key] if label_key else None)
    labels = _checked_npz_labels(y, len(x), path, label_key)
    return ImageSet(_checked_npz_images(x, path, key), labels, _checked_class_names(arrays, labels, path),
                    f"npz file {path}")


def _checked_class_names(arrays: dict[str, np.ndarray], labels: np.ndarray | None, path: Path) -> list[str] | None:
    """The optional ``class_names`` of an .npz (label k's name at k, as 'genlab sample --out x.npz' writes
    them for a model whose data named its classes); None without them."""
    names = arrays.get("class_names")
    if names is None or labels is None:
        return None
    if names.ndim != 1 or names.dtype.kind != "U" or len(set(names.tolist())) != len(names) or (
            len(labels) and int(labels.max()) >= len(names)):
        raise DataError(f"{path}: 'class_names' must be distinct strings, one for each label in y (0 to "
                        f"{int(labels.max()) if len(labels) else 0} at least); fix or remove it.")
    return [str(name) for name in names.tolist()]


def _first_key(files: list[str], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in files), None)


def _checked_npz_images(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) uint8 → (N, H, W, C) with C in {1, 3}, viewing the array (no copy)."""
    if x.dtype != np.uint8:
        series = (" — or, if it is a time series of shape (rows, F) or (N, T, F), train on it with 'genlab train "
                  "rgan --data FILE'") if x.ndim in (2, 3) and np.issubdtype(x.dtype, np.floating) else ""
        raise DataError(f"{path}: '{key}' has dtype {x.dtype}, but images must be uint8 in 0..255; convert it, e.g. "
                        f"(x * 255).round().astype(numpy.uint8) for floats in [0, 1]{series}.")
    images = x[..., None] if x.ndim == 3 else x
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or 0 in images.shape[:3]:
        raise DataError(f"{path}: '{key}' has shape {x.shape}, but images must be (N, H, W) or (N, H, W, C) "
                        "with N, H and W at least 1 and C 1, 3 or 4.")
    return images[..., :3] if images.shape[-1] == 4 else images  # RGBA → RGB: alpha is dropped


def _checked_npz_labels(y: np.ndarray | None, n: int, path: Path, key: str | None) -> np.ndarray | None:
    if y is None:
        return None
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise DataError(f"{path}: '{key}' has shape {y.shape} and dtype {y.dtype}, but labels must be "
                        f"{n} non-negative integers, one per image.")
    if len(y) and y.max() > np.iinfo(np.int64).max:  # a uint64 that would wrap to a negative label
        raise DataError(f"{path}: '{key}' holds the label {y.max()}, beyond what an int64 holds; labels are class "
                        "numbers, from 0.")
    return y.astype(np.int64, copy=False)


# --- image folders -----------------------------------------------------------------------------
def _folder_files(path: Path, option: str = "--data") -> tuple[list[tuple[Path, int | None]], list[str] | None]:
    """(picture file, label) pairs of a folder, and the class names when it has class subfolders."""
    subfolders = sorted(p for p in path.iterdir() if p.is_dir() and not _hidden(p))
    loose = _picture_files(path)
    if subfolders and loose:  # reading only the subfolders would silently drop these pictures
        raise DataError(f"{path} holds both {len(loose)} loose picture{'s' if len(loose) > 1 else ''} (e.g. "
                        f"{loose[0].name}) and class subfolders "
                        f"({', '.join(p.name for p in subfolders[:3])}{', ...' if len(subfolders) > 3 else ''}); "
                        f"move the loose pictures into a class folder, or point {option} at one level of the two.")
    if subfolders:
        pictures = [_picture_files(folder) for folder in subfolders]
        empty = [folder.name for folder, found in zip(subfolders, pictures) if not found]
        if empty and len(empty) < len(subfolders):  # a class with no examples would be one the model never learns
            raise DataError(f"{path}: its class subfolder{'s' if len(empty) > 1 else ''} {', '.join(empty[:3])}"
                            f"{', ...' if len(empty) > 3 else ''} hold{'' if len(empty) > 1 else 's'} no pictures, and "
                            "every subfolder is a class; add pictures or remove the empty subfolders.")
        files = [(f, label) for label, found in enumerate(pictures) for f in found]
        class_names = [p.name for p in subfolders]
    else:
        files, class_names = [(f, None) for f in loose], None
    if not files:
        raise DataError(f"{path} is empty: it holds no pictures ({', '.join(IMAGE_SUFFIXES)}), directly or in "
                        f"class subfolders; point {option} at such a folder or pass {FORMATS}.")
    return files, class_names


def _picture_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not _hidden(f))


def _hidden(path: Path) -> bool:
    """Not data: dotfiles and dot-folders (macOS ``._img.png``, ``.ipynb_checkpoints``) and the
    ``__MACOSX`` folder that zips made on macOS carry."""
    return path.name.startswith(".") or path.name == "__MACOSX"


def _read_folder(path: Path, resolution: int | None, channels: int | None, skip_corrupt: bool | None,
                 option: str = "--data") -> ImageSet:
    """Decode every picture (resized one by one, so memory holds only the output size)."""
    training = skip_corrupt is not None  # the options that messages offer exist in training only
    files, class_names = _folder_files(path, option)
    images, labels, skipped, natives = [], [], 0, set()
    for file, label in tqdm(files, desc="reading images", unit="img", disable=None, leave=False):
        try:
            with Image.open(file) as picture:
                own = _native_channels(picture)
                array = _picture_array(picture, channels or own)
                natives.add((*array.shape[:2], own))  # upright, as its EXIF says: a rotated photo is not converted
        except UNREADABLE as e:
            if not skip_corrupt:
                skip = ", or pass --data.skip_corrupt true to skip such files" if training else ""
                raise DataError(f"{file} is not a readable image ({type(e).__name__}: {e}); replace or delete "
                                f"it{skip}.") from e
            skipped += 1
            continue
        images.append(array if resolution is None else _resize_one(array, resolution))
        labels.append(label)
    if not images:
        raise DataError(f"{path}: none of its {len(files)} pictures could be read; replace them with readable images.")
    sizes = sorted({a.shape[:2] for a in images})
    if len(sizes) > 1:
        listed = ", ".join(f"{h}×{w}" for h, w in sizes[:3]) + (", ..." if len(sizes) > 3 else "")
        fix = "pass --data.resolution N to resize and centre-crop them all to N×N" if training else \
            "resize them to one size"
        raise DataError(f"{path} holds pictures of different sizes ({listed}); {fix}.")
    target = channels or max(a.shape[-1] for a in images)  # mixed grey and colour: all colour
    stacked = np.stack([convert_channels(a, target) for a in images])
    y = np.asarray(labels, np.int64) if class_names else None
    found = ImageSet(stacked, y, class_names, f"image folder {path}", skipped)
    other = sorted(shape for shape in natives if shape != stacked.shape[1:])  # resized or recoloured on reading
    if other:
        shapes = ", ".join("×".join(map(str, shape)) for shape in other[:3]) + (", ..." if len(other) > 3 else "")
        found.converted = f"{shapes} → {'×'.join(map(str, stacked.shape[1:]))}"
    return found


def _native_channels(picture: Image.Image) -> int:
    """1 for grey pictures (grey palettes included), else 3; from the header, except that reading a
    palette makes Pillow decode the picture."""
    if picture.mode == "P":
        palette = np.asarray(picture.getpalette() or [0, 0, 0], np.uint8)
        return 1 if (palette.reshape(-1, 3) == palette.reshape(-1, 3)[:, :1]).all() else 3
    return 1 if picture.mode in GREY_MODES else 3


def _picture_array(picture: Image.Image, channels: int | None) -> np.ndarray:
    """Decode to uint8 (H, W, C), C = ``channels`` or the picture's own (RGBA and palettes → RGB),
    upright as its EXIF orientation says (phone photos); 16-bit grey is scaled to 8 bits."""
    channels = channels or _native_channels(picture)
    picture = ImageOps.exif_transpose(picture)
    if picture.mode in WIDE_GREY_MODES:
        wide = np.asarray(picture).astype(np.uint32)
        picture = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))  # 65535 → 255, rounded
    array = np.asarray(picture.convert("L" if channels == 1 else "RGB"))
    return array.reshape(*array.shape[:2], channels)


# --- CIFAR-10 ----------------------------------------------------------------------------------
_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's array-rebuilding function, wherever numpy keeps it


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds dicts of numpy arrays and nothing else: any other global is refused, never run."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
               ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
               ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}

    def __init__(self, data: bytes, source: str) -> None:
        # The batches were pickled by Python 2: its str keys arrive as bytes (b"data").
        super().__init__(io.BytesIO(data), encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise DataError(f"{self.source} asks to run {module}.{name}, which no CIFAR-10 batch does, so it was "
                            "refused unread; use the original files from 'genlab data download cifar10'.")
        return self.ALLOWED[module, name]


def _unpickle_batch(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch → (images uint8 (n, 32, 32, 3), labels int64 (n,))."""
    try:
        batch = _ArrayUnpickler(data, source).load()
        x = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # CHW rows → HWC
        y = np.asarray(batch[b"labels"], np.int64).reshape(-1)
        if len(x) != len(y):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        if len(y) and not 0 <= y.min() <= y.max() < len(CIFAR10_CLASSES):
            raise ValueError(f"labels from {y.min()} to {y.max()}, not the classes 0 to 9")
    # MemoryError: an opcode declaring a length of petabytes (found by fuzzing), not a real batch.
    except (pickle.UnpicklingError, KeyError, IndexError, ValueError, TypeError, EOFError, OverflowError,
            AttributeError, MemoryError) as e:
        reason = (str(e).splitlines() or [""])[0]
        detail = f"{type(e).__name__}: {reason}" if reason else type(e).__name__
        raise DataError(f"{source} is not a CIFAR-10 python batch or is truncated ({detail}); "
                        "download cifar-10-python.tar.gz again with 'genlab data download cifar10'.") from e
    return x, y


def _cifar_set(parts: list[tuple[np.ndarray, np.ndarray]], source: str) -> ImageSet:
    images = np.concatenate([x for x, _ in parts])  # also makes the transposed batches contiguous
    return ImageSet(images, np.concatenate([y for _, y in parts]), list(CIFAR10_CLASSES), source)


CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))  # the training set, in order


def _require_train_batches(names: set[str], path: Path) -> None:
    absent = [name for name in CIFAR10_TRAIN_BATCHES if name not in names]
    if absent:
        raise DataError(f"{path} lacks {', '.join(absent)} of the CIFAR-10 training set; download it again "
                        "with 'genlab data download cifar10'.")


def _read_cifar_folder(path: Path) -> ImageSet:
    """The 50,000 training images: data_batch_1..5 in order."""
    _require_train_batches({p.name for p in path.iterdir()}, path)
    files = [path / name for name in CIFAR10_TRAIN_BATCHES]
    return _cifar_set([_unpickle_batch(f.read_bytes(), str(f)) for f in files], f"CIFAR-10 training batches in {path}")


def _read_cifar_batch(path: Path) -> ImageSet:
    return _cifar_set([_unpickle_batch(path.read_bytes(), str(path))], f"CIFAR-10 batch {path}")


_CIFAR_BATCH_MAX_BYTES = 64 << 20  # a pickled batch of 10,000 images is about 31 MB


def _read_cifar_archive(path: Path) -> ImageSet:
    """The 50,000 training images, read from the archive's members (nothing is extracted to disk)."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            # One pass in archive order: seeking back in a gzip stream means decompressing it again.
            batches = {}
            for m in archive:
                if not (m.isfile() and Path(m.name).name in CIFAR10_TRAIN_BATCHES):
                    continue
                if m.size > _CIFAR_BATCH_MAX_BYTES:  # before reading what a damaged or hostile header promises
                    raise DataError(f"{path}: member {m.name} claims {m.size:,} bytes, more than a CIFAR-10 batch "
                                    f"(about 31 MB); download the archive again with 'genlab data download cifar10'.")
                batches[Path(m.name).name] = (m.name, archive.extractfile(m).read())
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:  # zlib.error: damaged deflate data
        raise DataError(f"{path} is not a readable .tar.gz archive ({e}); download it again with "
                        "'genlab data download cifar10'.") from e
    _require_train_batches(set(batches), path)
    parts = [_unpickle_batch(data, f"{path}:{member}") for member, data in
             (batches[name] for name in CIFAR10_TRAIN_BATCHES)]
    return _cifar_set(parts, f"CIFAR-10 archive {path}")


def _read_cifar_archive_folder(path: Path) -> ImageSet:
    return _read_cifar_archive(path / CIFAR10_ARCHIVE)


# --- MNIST IDX ---------------------------------------------------------------------------------
def _idx_folder_images(folder: Path) -> Path | None:
    """The images file of an IDX folder (raw preferred over .gz): the train split's, or the test
    split's (``t10k-``) in a folder that holds only that one; None without either."""
    for split in ("train", "t10k"):
        found = min(folder.glob(f"{split}-images[-.]idx3-ubyte*"), default=None)
        if found is not None:
            return found
    return None


def _read_idx(path: Path, dims: int) -> np.ndarray:
    """An IDX file of unsigned bytes → uint8 array: (N, rows, cols) for dims=3, (N,) for dims=1."""
    header_size = 4 + 4 * dims
    try:
        with gzip.open(path) if path.name.lower().endswith(".gz") else open(path, "rb") as f:
            header = f.read(header_size)
            if len(header) < header_size:
                raise DataError(f"{path} is truncated: its {header_size}-byte IDX header is incomplete; "
                                "download it again.")
            magic, *shape = np.frombuffer(header, ">u4").tolist()
            if magic != 0x0800 + dims:
                raise DataError(f"{path} is not an IDX file of {dims}-d unsigned bytes (magic number {magic:#x}, "
                                f"expected {0x0800 + dims:#x}); pass the matching *-idx{dims}-ubyte file.")
            if shape[0] == 0:
                raise DataError(f"{path} holds no items (its IDX header says 0); pass a file with images.")
            if dims == 3 and 0 in shape[1:]:
                raise DataError(f"{path} holds images of {shape[1]}×{shape[2]} pixels (so its IDX header says), but "
                                "images need at least one row and one column; download it again.")
            promised = math.prod(shape)
            held = None if path.name.lower().endswith(".gz") else path.stat().st_size - header_size
            if held is not None and promised > held:  # before allocating what a damaged header asks for
                raise DataError(f"{path} is truncated or damaged: its header promises {promised} bytes of data but "
                                f"it holds only {held}; download it again.")
            try:
                array = np.empty(shape, np.uint8)
            except (ValueError, MemoryError):
                raise DataError(f"{path} is damaged: its header promises {promised} bytes of data, too many to "
                                "hold; download it again.") from None
            # Read straight into the array: one copy of the pixels, and the array is writable.
            got = f.readinto(memoryview(array.reshape(-1)))
            extra = f.read(1)
    except (OSError, EOFError, zlib.error) as e:  # not gzip, a gzip stream cut short, or damaged deflate data
        raise DataError(f"{path} is not a readable IDX file ({e}); download it again.") from e
    if got != array.size or extra:
        found = f"only {got}" if got != array.size else "more"
        raise DataError(f"{path} is truncated or damaged: its header promises {array.size} bytes of data but it "
                        f"holds {found}; download it again.")
    return array


def _read_idx_images(path: Path) -> ImageSet:
    x = _read_idx(path, 3)[..., None]
    labels_path = _idx_labels_file(path)
    y = None
    if labels_path is not None:
        y = _read_idx(labels_path, 1).astype(np.int64)
        if len(y) != len(x):
            raise DataError(f"{labels_path} holds {len(y)} labels for the {len(x)} images of {path}; "
                            "put the matching labels file beside the images.")
    return ImageSet(x, y, None, f"IDX file {path}")


def _idx_labels_file(images: Path) -> Path | None:
    """``train-labels-idx1-ubyte[.gz]`` for ``train-images-idx3-ubyte[.gz]`` (``t10k-`` likewise), if it exists."""
    stem = images.name.replace("images", "labels").replace("idx3", "idx1").removesuffix(".gz")
    return next((p for p in (images.with_name(stem), images.with_name(stem + ".gz")) if p.is_file()), None)


def _read_idx_folder(path: Path) -> ImageSet:
    return _read_idx_images(_idx_folder_images(path))


_READERS = {"npz": _read_npz, "CIFAR-10 folder": _read_cifar_folder, "CIFAR-10 archive": _read_cifar_archive,
            "CIFAR-10 archive folder": _read_cifar_archive_folder, "CIFAR-10 batch": _read_cifar_batch,
            "IDX": _read_idx_images, "IDX folder": _read_idx_folder}


# --- resizing and channels ---------------------------------------------------------------------
def resize_square(images: np.ndarray, resolution: int | None) -> np.ndarray:
    """(N, H, W, C) → (N, resolution, resolution, C): shorter side to ``resolution``, centre crop.

    Arrays already at that size are returned as they are (no copy, no PIL).
    """
    n, h, w, c = images.shape
    if resolution is None or h == w == resolution:
        return images
    out = np.empty((n, resolution, resolution, c), np.uint8)
    for i in tqdm(range(n), desc=f"resizing to {resolution}×{resolution}", unit="img", disable=None, leave=False):
        out[i] = _resize_one(images[i], resolution)
    return out


def _resize_one(image: np.ndarray, resolution: int) -> np.ndarray:
    """(H, W, C) → (resolution, resolution, C); LANCZOS when shrinking, BICUBIC when enlarging."""
    h, w, c = image.shape
    if h == w == resolution:
        return image
    scale = resolution / min(h, w)
    new_h, new_w = max(resolution, round(h * scale)), max(resolution, round(w * scale))
    method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    resized = np.asarray(Image.fromarray(image[..., 0] if c == 1 else image).resize((new_w, new_h), method))
    top, left = (new_h - resolution) // 2, (new_w - resolution) // 2
    return resized.reshape(new_h, new_w, c)[top:top + resolution, left:left + resolution]


def convert_channels(images: np.ndarray, channels: int | None) -> np.ndarray:
    """(..., C) → (..., channels): 1 → 3 repeats grey; 3 → 1 is PIL's convert("L") luma, exactly."""
    c = images.shape[-1]
    if channels is None or channels == c:
        return images
    if c == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if c == 3 and channels == 1:
        return _luma(images)
    raise DataError(f"cannot convert {c}-channel images to {channels} channels; pass --data.channels 1 or 3.")


def _luma(rgb: np.ndarray, step: int = 1 << 20) -> np.ndarray:
    """(..., 3) → (..., 1) with Pillow's fixed-point ITU-R 601-2 weights, ``step`` pixels at a time."""
    flat = rgb.reshape(-1, 3)
    out = np.empty(len(flat), np.uint8)
    weights = np.array([19595, 38470, 7471], np.uint32)  # 0.299, 0.587, 0.114 in 1/65536ths, as Pillow
    for start in range(0, len(flat), step):
        out[start:start + step] = (flat[start:start + step] @ weights + 0x8000) >> 16
    return out.reshape(*rgb.shape[:-1], 1)


# --- genlab data info --------------------------------------------------------------------------
def describe_images(path: str | os.PathLike | None) -> dict:
    """What a data path holds: format, source, count, shape [H, W, C], dtype, classes {name: count}.

    Image folders are described from their file headers (only palette pictures are decoded, to
    tell grey palettes from colour ones); ``shape`` is None there when the pictures differ in size
    (``sizes`` lists them).
    """
    kind = "npz" if path is None else _detect_format(Path(path).expanduser())
    if kind == "image folder":
        return _describe_folder(Path(path).expanduser())
    found = load_images(path, option="'genlab data info'")
    n, h, w, c = found.images.shape
    return {"format": kind, "source": found.source, "count": n, "shape": [h, w, c],
            "dtype": str(found.images.dtype), "classes": _class_counts(found.labels, found.class_names)}


def _class_counts(labels: np.ndarray | None, class_names: list[str] | None) -> dict[str, int] | None:
    """Images per label, by class name; a class without images shows 0 (every named class, and every
    number up to the largest label below 1,000); past that, only the labels that occur are listed, so
    a label of 10⁹ costs no 10⁹-entry table."""
    if labels is None:
        return None
    found, counts = np.unique(labels, return_counts=True)
    names = list(class_names or [])
    listed = max(len(names), int(found[-1]) + 1 if len(found) and found[-1] < 1000 else 0)
    counts_by_label = {**dict.fromkeys(range(listed), 0), **dict(zip(found.tolist(), counts.tolist()))}
    return {names[k] if k < len(names) else str(k): n for k, n in sorted(counts_by_label.items())}


def _describe_folder(path: Path) -> dict:
    files, class_names = _folder_files(path, "'genlab data info'")
    sizes: dict[str, int] = {}
    for file, _ in files:
        try:
            with Image.open(file) as picture:
                height, width = picture.height, picture.width
                if picture.getexif().get(EXIF_ORIENTATION) in ROTATED:  # as _picture_array will turn it
                    height, width = width, height
                key = f"{height}x{width}x{_native_channels(picture)}"
        except UNREADABLE:
            key = "unreadable"
        sizes[key] = sizes.get(key, 0) + 1
    readable = [s for s in sizes if s != "unreadable"]
    shape = [int(d) for d in readable[0].split("x")] if len(readable) == 1 else None
    labels = np.array([label for _, label in files], np.int64) if class_names else None
    return {"format": "image folder", "source": f"image folder {path}", "count": len(files), "shape": shape,
            "dtype": "uint8", "classes": _class_counts(labels, class_names), "sizes": sizes}
