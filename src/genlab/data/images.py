"""Read images from the formats people have: .npz arrays, image folders, CIFAR-10, MNIST IDX.

Every loader returns an :class:`ImageSet` of uint8 (N, H, W, C) pixels; resizing and channel
conversion happen once, here, so training batches are plain tensor gathers.

Formats, detected from the path:
- ``.npz`` with ``x`` (or ``images``): uint8 (N, H, W) or (N, H, W, C), C ∈ {1, 3, 4}; optional
  ``y`` (or ``labels``) of length N;
- a folder of images (png, jpg, jpeg, bmp, gif, webp); class subfolders become labels;
- a CIFAR-10 "python version" folder or its ``cifar-10-python.tar.gz`` (the 50,000 training
  images); the batches are pickles, read with an unpickler that can only rebuild numpy arrays;
- MNIST / Fashion-MNIST IDX files, raw or ``.gz``: an ``*-images-idx3-ubyte`` file (labels are
  taken from the matching ``*-labels-idx1-ubyte`` beside it) or a folder holding the train split.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from genlab.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FORMATS = ("an .npz file (x uint8, optional y), an image folder, a CIFAR-10 python folder or archive, "
           "or MNIST IDX files")


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 (N, H, W, C), C in {1, 3}
    labels: np.ndarray | None  # int64 (N,)
    class_names: list[str] | None
    source: str
    skipped: int = 0


def embedded_digits_path() -> Path:
    """The MNIST test split shipped inside genlab (10,000 digits, 28×28, with labels)."""
    return Path(str(resources.files("genlab.data") / "assets" / "mnist_test.npz"))


def load_images(path: str | os.PathLike | None, *, resolution: int | None = None, channels: int | None = None,
                skip_corrupt: bool = False) -> ImageSet:
    """Load images from ``path`` (None: the embedded digits) at ``resolution`` and ``channels``."""
    images = _read(path, resolution, skip_corrupt)
    images.images = convert_channels(resize_square(images.images, resolution, images.source), channels)
    return images


def _read(path: str | os.PathLike | None, resolution: int | None, skip_corrupt: bool) -> ImageSet:
    if path is None:
        found = _read_npz(embedded_digits_path())
        found.source = "the embedded MNIST test split"
        return found
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path} does not exist; pass {FORMATS}.")
    name = path.name.lower()
    if path.is_file() and name.endswith(".npz"):
        return _read_npz(path)
    if path.is_file() and name.endswith((".tar.gz", ".tgz")):
        return _read_cifar_archive(path)
    if path.is_file() and "idx3-ubyte" in name:
        return _read_idx_pair(path)
    if _is_image_folder(path):
        return _read_folder(path, resolution, skip_corrupt)
    if path.is_dir() and (path / "data_batch_1").is_file():
        return _read_cifar_folder(path)
    if path.is_dir():
        return _read_idx_pair(sorted(path.glob("train-images*idx3-ubyte*"))[0])
    raise DataError(f"{path} is not a supported data file; pass {FORMATS}.")


# --- .npz --------------------------------------------------------------------------------------
def _read_npz(path: Path) -> ImageSet:
    try:
        with np.load(path, allow_pickle=False) as data:
            key = "x" if "x" in data else "images" if "images" in data else None
            if key is None:
                raise DataError(f"{path} has no 'x' (or 'images') array (keys: {', '.join(data.files)}); "
                                "save the images as x=uint8 array of shape (N, H, W) or (N, H, W, C).")
            x = data[key]
            label_key = "y" if "y" in data else "labels" if "labels" in data else None
            y = data[label_key] if label_key else None
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path} is not a readable .npz file ({e}); re-save it with numpy.savez.") from e
    if x.dtype != np.uint8:
        raise DataError(f"{path}: '{key}' has dtype {x.dtype}, but images must be uint8 in 0..255; "
                        "convert with (x * 255).round().astype(np.uint8) if they are floats in [0, 1].")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4) or x.shape[0] == 0:
        raise DataError(f"{path}: '{key}' has shape {x.shape}, but images must be (N, H, W) or (N, H, W, C) "
                        "with C 1, 3 or 4 and N > 0.")
    if x.shape[-1] == 4:
        x = x[..., :3]  # RGBA → RGB: alpha is dropped
    if y is not None:
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
            raise DataError(f"{path}: '{label_key}' has shape {y.shape} and dtype {y.dtype}, but labels must be "
                            f"{len(x)} non-negative integers, one per image.")
        y = y.astype(np.int64)
    return ImageSet(x, y, None, f"npz file {path}")


# --- image folders -----------------------------------------------------------------------------
def _is_image_folder(path: Path) -> bool:
    return path.is_dir() and not (path / "data_batch_1").is_file() and not any(path.glob("train-images*idx3-ubyte*"))


def _folder_files(path: Path) -> tuple[list[tuple[Path, int | None]], list[str] | None]:
    """(image file, label) pairs of a folder, and the class names when it has class subfolders."""
    subfolders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subfolders:
        files = [(f, label) for label, folder in enumerate(subfolders) for f in _image_files(folder)]
        class_names = [p.name for p in subfolders]
    else:
        files, class_names = [(f, None) for f in _image_files(path)], None
    if not files:
        raise DataError(f"{path} is empty: it holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}) and no "
                        "class subfolders with images; point --data at a folder of images.")
    return files, class_names


def _read_folder(path: Path, resolution: int | None, skip_corrupt: bool) -> ImageSet:
    files, class_names = _folder_files(path)
    images, labels, skipped, sizes = [], [], 0, set()
    for file, label in tqdm(files, desc="reading images", disable=None, leave=False):
        try:
            with Image.open(file) as picture:
                picture.load()
                array = _to_array(picture)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            if not skip_corrupt:
                raise DataError(f"{file} is not a readable image ({type(e).__name__}); delete or replace it, or "
                                "pass --data.skip_corrupt true to skip such files.") from e
            skipped += 1
            continue
        if resolution is not None:
            array = resize_square(array[None], resolution, str(file))[0]
        sizes.add(array.shape[:2])
        images.append(array)
        labels.append(label)
    if not images:
        raise DataError(f"{path}: none of its {len(files)} images could be read; check the files.")
    if len(sizes) > 1:
        raise DataError(f"{path} holds images of different sizes ({', '.join(f'{h}×{w}' for h, w in sorted(sizes)[:3])}"
                        "); pass --data.resolution N to resize them all to N×N.")
    channels = max(a.shape[-1] for a in images)
    stacked = np.stack([convert_channels(a[None], channels)[0] for a in images])
    y = np.asarray(labels, np.int64) if class_names else None
    return ImageSet(stacked, y, class_names, f"image folder {path}", skipped)


def _image_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)


def _to_array(picture: Image.Image) -> np.ndarray:
    """A PIL image as uint8 (H, W, 1) for grey pictures or (H, W, 3) for everything else."""
    if picture.mode in ("L", "1", "I", "I;16", "F") or (picture.mode == "P" and _palette_is_grey(picture)):
        return np.asarray(picture.convert("L"))[..., None]
    if picture.mode in ("LA",):
        return np.asarray(picture.convert("L"))[..., None]
    return np.asarray(picture.convert("RGB"))


def _palette_is_grey(picture: Image.Image) -> bool:
    palette = np.asarray(picture.getpalette() or [], np.uint8).reshape(-1, 3)
    return bool(len(palette)) and bool((palette == palette[:, :1]).all())


# --- CIFAR-10 ----------------------------------------------------------------------------------
class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds dicts of numpy arrays and nothing else: any other global is refused, never run."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return super().find_class(module, name)


def _unpickle_batch(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
        x = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.asarray(batch[b"labels"], np.int64)
    except pickle.UnpicklingError as e:
        raise DataError(f"{source} is not a CIFAR-10 batch ({e}); it was refused unread — use the files from "
                        "'genlab data download cifar10'.") from e
    except (KeyError, ValueError, TypeError, EOFError) as e:
        raise DataError(f"{source} is not a CIFAR-10 batch or is truncated ({type(e).__name__}); "
                        "download it again.") from e
    return x, y


def _read_cifar_folder(path: Path) -> ImageSet:
    parts = [_unpickle_batch((path / f"data_batch_{i}").read_bytes(), str(path / f"data_batch_{i}"))
             for i in range(1, 6) if (path / f"data_batch_{i}").is_file()]
    return ImageSet(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                    list(CIFAR10_CLASSES), f"CIFAR-10 training batches in {path}")


def _read_cifar_archive(path: Path) -> ImageSet:
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = sorted((m for m in archive.getmembers() if Path(m.name).name.startswith("data_batch_")),
                             key=lambda m: m.name)
            parts = [_unpickle_batch(archive.extractfile(m).read(), f"{path}:{m.name}") for m in members]
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable .tar.gz archive ({e}); download it again.") from e
    if not parts:
        raise DataError(f"{path} holds no CIFAR-10 data_batch_* files; pass cifar-10-python.tar.gz.")
    return ImageSet(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                    list(CIFAR10_CLASSES), f"CIFAR-10 archive {path}")


# --- MNIST IDX ---------------------------------------------------------------------------------
def _read_idx(path: Path, dims: int) -> np.ndarray:
    """An IDX file of unsigned bytes with ``dims`` dimensions (3: images, 1: labels)."""
    raw = gzip.open(path).read() if path.name.endswith(".gz") else path.read_bytes()
    try:
        magic, = struct.unpack(">I", raw[:4])
        if magic != 0x0800 + dims:
            raise DataError(f"{path} is not an IDX file of {dims}-d unsigned bytes (magic {magic:#x}); "
                            "pass the *-images-idx3-ubyte file.")
        shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    except struct.error as e:
        raise DataError(f"{path} is truncated (its header is incomplete); download it again.") from e
    body = raw[4 + 4 * dims:]
    if len(body) != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: its header promises {int(np.prod(shape))} bytes of data but it holds "
                        f"{len(body)}; download it again.")
    return np.frombuffer(body, np.uint8).reshape(shape)


def _read_idx_pair(images_path: Path) -> ImageSet:
    try:
        x = _read_idx(images_path, 3)[..., None]
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{images_path} is not a readable IDX file ({e}); download it again.") from e
    labels_path = images_path.with_name(images_path.name.replace("images", "labels").replace("idx3", "idx1"))
    y = None
    if labels_path.is_file():
        y = _read_idx(labels_path, 1).astype(np.int64)
        if len(y) != len(x):
            raise DataError(f"{labels_path} holds {len(y)} labels for {len(x)} images in {images_path}; "
                            "use the matching labels file.")
    return ImageSet(x, y, None, f"IDX file {images_path}")


# --- resizing and channels ---------------------------------------------------------------------
def resize_square(images: np.ndarray, resolution: int | None, source: str) -> np.ndarray:
    """Resize (N, H, W, C) so the shorter side is ``resolution``, then centre-crop to a square.

    Arrays already at that size are returned as they are (no copy). LANCZOS when shrinking,
    BICUBIC when enlarging.
    """
    n, h, w, c = images.shape
    if resolution is None or (h == w == resolution):
        return images
    scale = resolution / min(h, w)
    new_h, new_w = max(resolution, round(h * scale)), max(resolution, round(w * scale))
    method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    top, left = (new_h - resolution) // 2, (new_w - resolution) // 2
    out = np.empty((n, resolution, resolution, c), np.uint8)
    for i in tqdm(range(n), desc=f"resizing to {resolution}", disable=None if n > 1000 else True, leave=False):
        picture = Image.fromarray(images[i, ..., 0] if c == 1 else images[i]).resize((new_w, new_h), method)
        array = np.asarray(picture)
        out[i] = (array[..., None] if c == 1 else array)[top:top + resolution, left:left + resolution]
    return out


def convert_channels(images: np.ndarray, channels: int | None) -> np.ndarray:
    """(N, H, W, C) to ``channels``: 1 → 3 repeats grey; 3 → 1 uses ITU-R 601 luma as PIL does."""
    c = images.shape[-1]
    if channels is None or channels == c:
        return images
    if c == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if c == 3 and channels == 1:
        luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
    raise DataError(f"Cannot convert {c}-channel images to {channels} channels; use 1 or 3.")


def describe_images(path: str | os.PathLike | None) -> dict:
    """What a data path holds, for ``genlab data info``: format, count, shape, classes."""
    if path is not None and _is_image_folder(Path(path).expanduser()):
        return _describe_folder(Path(path).expanduser())
    found = load_images(path)
    n, h, w, c = found.images.shape
    info = {"source": found.source, "count": n, "shape": [h, w, c], "dtype": "uint8",
            "mean_pixel": round(float(found.images.mean()), 2)}
    if found.labels is not None:
        counts = np.bincount(found.labels)
        names = found.class_names or [str(i) for i in range(len(counts))]
        info["classes"] = {names[i]: int(k) for i, k in enumerate(counts)}
    if found.skipped:
        info["skipped_unreadable"] = found.skipped
    return info


def _describe_folder(path: Path) -> dict:
    """Count and sizes of a folder's images from their headers, without decoding the pixels."""
    files, class_names = _folder_files(path)
    sizes: dict[str, int] = {}
    for file, _ in files:
        try:
            with Image.open(file) as picture:
                key = f"{picture.height}x{picture.width} {picture.mode}"
        except (UnidentifiedImageError, OSError):
            key = "unreadable"
        sizes[key] = sizes.get(key, 0) + 1
    info = {"source": f"image folder {path}", "count": len(files), "sizes": sizes}
    if class_names:
        counts = np.bincount([label for _, label in files], minlength=len(class_names))
        info["classes"] = {name: int(k) for name, k in zip(class_names, counts)}
    return info
