"""Fetch the canonical dataset files and check each one's sha256 before it is kept.

    genlab data download mnist ~/data/mnist

Each file is streamed to a temporary file beside its destination, its size and sha256 checked,
and only then renamed into place; a file already present with the right hash is not fetched
again. The hashes are the published ones (the same values torchvision, TensorFlow Datasets and
Keras pin).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from genlab.errors import DataError
from genlab.fileio import atomic_write


@dataclass(frozen=True)
class RemoteFile:
    url: str
    filename: str
    sha256: str
    size: int


def _files(base: str, entries: list[tuple[str, str, int]]) -> list[RemoteFile]:
    return [RemoteFile(f"{base}/{name}", name, digest, size) for name, digest, size in entries]


DATASETS: dict[str, list[RemoteFile]] = {
    "mnist": _files("https://ossci-datasets.s3.amazonaws.com/mnist", [
        ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
        ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    ]),
    "fashion-mnist": _files("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com", [
        ("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
        ("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
        ("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
        ("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
    ]),
    "cifar10": _files("https://www.cs.toronto.edu/~kriz", [
        ("cifar-10-python.tar.gz", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce", 170498071),
    ]),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(name: str, dest_dir: str | os.PathLike, *, base_url: str | None = None,
             progress: bool | None = None) -> list[Path]:
    """Fetch dataset ``name`` into ``dest_dir``; return the verified files.

    ``base_url`` replaces the folder of every URL (a mirror, or a local server in tests).
    """
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    dest = Path(dest_dir).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    return [_fetch(remote, dest, base_url, progress) for remote in DATASETS[name]]


def _fetch(remote: RemoteFile, dest: Path, base_url: str | None, progress: bool | None) -> Path:
    target = dest / remote.filename
    if target.is_file() and sha256_of(target) == remote.sha256:
        return target
    url = f"{base_url.rstrip('/')}/{remote.filename}" if base_url else remote.url
    atomic_write(target, lambda tmp: _stream(url, tmp, remote, progress))
    return target


def _stream(url: str, tmp: Path, remote: RemoteFile, progress: bool | None) -> None:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out, tqdm(
                total=remote.size, unit="B", unit_scale=True, desc=remote.filename,
                disable=None if progress is None else not progress, leave=False) as bar:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise DataError(f"Downloading {url} failed ({getattr(e, 'reason', e)}); check the connection, or fetch "
                        f"the file by hand into {tmp.parent} and run the command again to verify it.") from e
    if digest.hexdigest() != remote.sha256:
        raise DataError(f"{remote.filename} from {url} has sha256 {digest.hexdigest()}, expected {remote.sha256}; "
                        "the download is corrupt or the mirror changed it — it was not kept.")
