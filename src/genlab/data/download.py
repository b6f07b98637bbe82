"""Fetch the canonical dataset files and check each one's size and sha256 before it is kept.

    genlab data download mnist ~/data/mnist

Each file is streamed to a temporary file beside its destination, checked, and only then renamed
into place; a file already present with the right hash is not fetched again. A download killed
outright (SIGKILL, a power cut) cannot remove its temporary file; the next download of that file
into that folder does, unless a running download still holds its lock on it. Sizes and hashes
are the published ones: TensorFlow Datasets' url_checksums for MNIST and Fashion-MNIST, and
torchvision's pinned sha256 for the CIFAR-10 python archive.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so an interrupted download's temporary file stays
    fcntl = None

from genlab.errors import DataError
from genlab.fileio import atomic_write

CHUNK = 1 << 20  # bytes per read while streaming and hashing


@dataclass(frozen=True)
class RemoteFile:
    url: str
    filename: str
    sha256: str
    size: int  # bytes


def _files(folder: str, entries: list[tuple[str, str, int]]) -> list[RemoteFile]:
    return [RemoteFile(f"{folder}/{name}", name, digest, size) for name, digest, size in entries]


DATASETS: dict[str, list[RemoteFile]] = {
    "mnist": _files("https://storage.googleapis.com/cvdf-datasets/mnist", [
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


def download(name: str, dest_dir: str | os.PathLike, *, base_url: str | None = None,
             progress: bool = True) -> list[Path]:
    """Fetch dataset ``name`` into ``dest_dir`` and return its verified files.

    ``base_url`` replaces the folder of every URL (a mirror, or a local server in tests).
    ``progress`` shows a bar per file when stderr is a terminal.
    """
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}.")
    dest = Path(dest_dir).expanduser()
    created = [folder for folder in (dest, *dest.parents) if not folder.exists()]  # innermost first
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return [_fetch(remote, dest, base_url, progress) for remote in DATASETS[name]]
    except BaseException:
        for folder in created:  # a failed download leaves no empty folders behind
            with contextlib.suppress(OSError):  # (best effort: the download's own error is the one to report)
                if not any(folder.iterdir()):
                    folder.rmdir()
        raise


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(remote: RemoteFile, dest: Path, base_url: str | None, progress: bool) -> Path:
    target = dest / remote.filename
    _remove_unfinished(target)
    present = None  # what is wrong with a file already at the target, which a download then replaces
    if target.is_file():
        size = target.stat().st_size
        digest = sha256_of(target) if size == remote.size else None
        if digest == remote.sha256:
            return target
        present = (f"{target} is already there but is not the published file ("
                   + (f"sha256 {digest}" if digest else f"{size:,} bytes, expected {remote.size:,}") + ")")
    url = f"{base_url.rstrip('/')}/{remote.filename}" if base_url else remote.url
    held = []  # the temporary file, open and locked until atomic_write has renamed it into place

    def write(tmp: Path) -> None:
        held.append(open(tmp, "ab"))
        _lock(held[-1])
        _stream(url, tmp, remote, progress)

    try:
        # atomic_write removes the temporary file if _stream raises: a bad download leaves nothing behind.
        atomic_write(target, write)
    except DataError as e:
        if present is None:
            raise
        reason = str(e)
        raise DataError(f"{present}; fetching the published one failed too: {reason[:1].lower()}{reason[1:]}") from e
    finally:
        for handle in held:
            handle.close()
    return target


def _remove_unfinished(target: Path) -> None:
    """Delete the temporary files that killed downloads of ``target`` left beside it (named as
    :func:`genlab.fileio.atomic_write` names them: ``.NAME.XXXXXXXX.tmp``), skipping any a running
    download holds locked. Up to a whole archive each, they are otherwise invisible (hidden files)."""
    if fcntl is None:
        return
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.{'?' * 8}.tmp"):
        with contextlib.suppress(OSError), open(leftover, "rb") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises (BlockingIOError) while a download writes it
            leftover.unlink()


def _lock(out) -> None:
    """Mark ``out`` (the temporary file of a running download, from its creation until it is renamed
    into place) as in use for :func:`_remove_unfinished`."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: no worse than no cleanup
            fcntl.flock(out, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _stream(url: str, tmp: Path, remote: RemoteFile, progress: bool) -> None:
    """Copy ``url`` into ``tmp``, hashing on the way; raise unless size and sha256 match."""
    digest, size = hashlib.sha256(), 0

    def network(step):  # the connection's failures are the network's; the file's (a full disk) are not
        try:
            return step()
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            raise DataError(f"Downloading {url} failed ({getattr(e, 'reason', e)}); check the connection, or "
                            f"download {remote.filename} by hand into {tmp.parent} and run the command again to "
                            "verify it.") from e

    try:
        with open(tmp, "wb") as out:
            with network(lambda: urllib.request.urlopen(url, timeout=60)) as response, tqdm(
                    total=remote.size, unit="B", unit_scale=True, desc=remote.filename,
                    disable=None if progress else True, leave=False) as bar:
                while chunk := network(lambda: response.read(CHUNK)):
                    size += len(chunk)
                    if size > remote.size:  # a wrong file (or a page) from the server: stop before the disk fills
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except OSError as e:  # the file's own failure (a full disk): the CLI names the path and the space left
        if e.filename is None:
            e.filename = str(tmp.parent)
        raise
    if size > remote.size:
        raise DataError(f"{remote.filename} from {url} is larger than the published {remote.size:,} bytes; the "
                        "server sent another file, so the download was stopped and nothing was kept.")
    if digest.hexdigest() != remote.sha256 or size != remote.size:
        raise DataError(f"{remote.filename} from {url} has sha256 {digest.hexdigest()} ({size} bytes), expected "
                        f"{remote.sha256} ({remote.size} bytes); the download is corrupt or the server changed the "
                        "file, so it was not kept.")
