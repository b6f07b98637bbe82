"""The downloader against a local HTTP server on 127.0.0.1 (never the internet)."""

import errno
import functools
import hashlib
import http.server
import io
import os
import sys
import threading

import pytest

from genlab.data.download import DATASETS, RemoteFile, download
from genlab.errors import DataError


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(folder it serves, its base URL) for a throwaway HTTP server on 127.0.0.1."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=served))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def publish(monkeypatch, served, files: dict[str, bytes], digests: dict[str, str] | None = None):
    """Serve ``files`` and register them as dataset "tiny" with their real sha256 (or ``digests``)."""
    remotes = []
    for name, content in files.items():
        (served / name).write_bytes(content)
        digest = (digests or {}).get(name) or hashlib.sha256(content).hexdigest()
        remotes.append(RemoteFile(f"http://unused.invalid/data/{name}", name, digest, len(content)))
    monkeypatch.setitem(DATASETS, "tiny", remotes)


def test_download_verifies_and_does_not_fetch_twice(tmp_path, server, monkeypatch):
    served, url = server
    files = {"a.bin": b"genlab" * 1000, "b.gz": bytes(range(256))}
    publish(monkeypatch, served, files)
    dest = tmp_path / "dest"
    paths = download("tiny", dest, base_url=url, progress=False)
    assert [p.read_bytes() for p in paths] == list(files.values())
    for name in files:
        (served / name).unlink()  # a second call must not need the server
    assert download("tiny", dest, base_url=url + "/", progress=False) == paths
    assert sorted(p.name for p in dest.iterdir()) == ["a.bin", "b.gz"]  # no temporary files left


@pytest.mark.skipif(sys.platform == "win32", reason="no advisory file locks on Windows")
def test_what_a_killed_download_left_is_removed_unless_a_running_download_holds_it(tmp_path, server, monkeypatch):
    import fcntl

    served, url = server
    publish(monkeypatch, served, {"a.bin": b"genlab" * 1000})
    dest = tmp_path / "dest"
    dest.mkdir()
    killed, running, other = dest / ".a.bin.k1ll3d_x.tmp", dest / ".a.bin.runn1ng_.tmp", dest / ".b.bin.k1ll3d_x.tmp"
    for leftover in (killed, running, other):
        leftover.write_bytes(b"half a file")
    with open(running, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a download in another process holds its file
        download("tiny", dest, base_url=url, progress=False)
    assert sorted(p.name for p in dest.iterdir()) == [".a.bin.runn1ng_.tmp", ".b.bin.k1ll3d_x.tmp", "a.bin"]


@pytest.mark.skipif(sys.platform == "win32", reason="no advisory file locks on Windows")
def test_a_running_download_keeps_its_file_from_the_cleanup_of_another(tmp_path, server, monkeypatch):
    import genlab.data.download as module

    served, url = server
    publish(monkeypatch, served, {"a.bin": b"genlab" * 1000})
    dest, seen = tmp_path / "dest", []

    class CleanupAtEachChunk:  # stands in for the progress bar, which the download updates after each chunk
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            module._remove_unfinished(dest / "a.bin")  # another download of the file, starting now
            seen.append(len(list(dest.glob(".a.bin.*.tmp"))))

    monkeypatch.setattr(module, "tqdm", CleanupAtEachChunk)
    assert download("tiny", dest, base_url=url, progress=False)[0].read_bytes() == b"genlab" * 1000
    assert seen == [1]
    # And once the file is whole, while it is flushed to disk and renamed into place.
    monkeypatch.undo()
    publish(monkeypatch, served, {"a.bin": b"genlab" * 1000})
    (dest / "a.bin").unlink()
    real_fsync = os.fsync

    def cleanup_first(fd):
        module._remove_unfinished(dest / "a.bin")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", cleanup_first)
    assert download("tiny", dest, base_url=url, progress=False)[0].read_bytes() == b"genlab" * 1000


def test_hash_mismatch_keeps_nothing(tmp_path, server, monkeypatch):
    served, url = server
    publish(monkeypatch, served, {"tiny.bin": b"tampered"}, digests={"tiny.bin": "0" * 64})
    dest = tmp_path / "data" / "dest"
    actual = hashlib.sha256(b"tampered").hexdigest()
    with pytest.raises(DataError, match=f"tiny.bin from .* has sha256 {actual} .*, expected 0{{64}}"):
        download("tiny", dest, base_url=url, progress=False)
    assert not (tmp_path / "data").exists()  # the folders the download created are gone with it


def test_unreachable_file_names_the_url_and_the_folder(tmp_path, server, monkeypatch):
    served, url = server
    publish(monkeypatch, served, {"tiny.bin": b"x"})
    (served / "tiny.bin").unlink()
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(DataError, match=f"Downloading {url}/tiny.bin failed .* by hand into {dest}"):
        download("tiny", dest, base_url=url, progress=False)
    assert list(dest.iterdir()) == []  # a folder that was there stays, empty


def test_a_wrong_file_already_in_place_is_named_when_the_published_one_cannot_be_fetched(tmp_path, server,
                                                                                          monkeypatch):
    served, url = server
    publish(monkeypatch, served, {"tiny.bin": b"published"})
    (served / "tiny.bin").unlink()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "tiny.bin").write_bytes(b"something else")
    with pytest.raises(DataError, match=f"{dest / 'tiny.bin'} is already there but is not the published file "
                                        r"\(14 bytes, expected 9\); fetching the published one failed too: "
                                        f"downloading {url}/tiny.bin failed"):
        download("tiny", dest, base_url=url, progress=False)
    assert (dest / "tiny.bin").read_bytes() == b"something else"  # left as it was
    (dest / "tiny.bin").write_bytes(b"same size")  # the published size, another hash
    with pytest.raises(DataError, match=f"sha256 {hashlib.sha256(b'same size').hexdigest()}\\); fetching"):
        download("tiny", dest, base_url=url, progress=False)
    (served / "tiny.bin").write_bytes(b"published")  # back online: the wrong file is replaced
    assert download("tiny", dest, base_url=url, progress=False)[0].read_bytes() == b"published"


def test_a_server_sending_more_than_the_published_size_is_cut_off(tmp_path, server, monkeypatch):
    served, url = server
    publish(monkeypatch, served, {"tiny.bin": b"x" * 10})
    (served / "tiny.bin").write_bytes(b"x" * (3 << 20))  # a bigger file than registered, over several reads
    written = []
    real_open = open

    def counting_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "w" in mode:
            write = handle.write
            handle.write = lambda data: written.append(len(data)) or write(data)
        return handle

    monkeypatch.setattr("genlab.data.download.open", counting_open, raising=False)
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="tiny.bin from .* is larger than the published 10 bytes; the server sent"):
        download("tiny", dest, base_url=url, progress=False)
    assert sum(written) == 0 and not dest.exists()  # nothing past the published size was written, nothing kept


def test_a_full_disk_is_not_blamed_on_the_network(tmp_path, server, monkeypatch):
    served, url = server
    publish(monkeypatch, served, {"tiny.bin": b"x" * 100})

    class FullDisk(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("genlab.data.download.open", lambda *args: FullDisk(), raising=False)
    dest = tmp_path / "dest"
    with pytest.raises(OSError, match="No space left") as raised:  # main() names the path and the space left
        download("tiny", dest, base_url=url, progress=False)
    assert not isinstance(raised.value, DataError) and not dest.exists()  # the folder it made is removed
    assert raised.value.filename == str(dest)


def test_the_cli_downloads_verifies_and_names_each_file(tmp_path, server, monkeypatch, run_cli):
    served, url = server
    (served / "a.bin").write_bytes(b"genlab" * 1000)
    digest = hashlib.sha256(b"genlab" * 1000).hexdigest()
    monkeypatch.setitem(DATASETS, "tiny", [RemoteFile(f"{url}/a.bin", "a.bin", digest, 6000)])
    code, out, err = run_cli("data", "download", "tiny", tmp_path / "dest")
    assert code == 0, err
    assert out == f"genlab: verified {tmp_path / 'dest' / 'a.bin'}\n"
    assert (tmp_path / "dest" / "a.bin").read_bytes() == b"genlab" * 1000
    code, _, err = run_cli("data", "download", "imagenet", tmp_path / "other")
    assert code == 2 and "Unknown dataset 'imagenet'; choose one of: mnist" in err and not (tmp_path / "other").exists()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("data", "download", "tiny", "")  # an unset shell variable: not the current folder
    assert code == 2 and "the folder to download into is empty" in err and not (tmp_path / "a.bin").exists()


def test_unknown_dataset_lists_the_names(tmp_path):
    with pytest.raises(DataError, match="Unknown dataset 'imagenet'; choose one of: mnist, fashion-mnist, cifar10"):
        download("imagenet", tmp_path)


def test_registry_is_well_formed():
    for name, files in DATASETS.items():
        assert files, name
        for remote in files:
            assert remote.url.endswith("/" + remote.filename) and remote.url.startswith(("http://", "https://"))
            assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0 and remote.size > 0
