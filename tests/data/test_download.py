"""The downloader against a local HTTP server on 127.0.0.1 (never the internet)."""

import functools
import hashlib
import http.server
import threading

import pytest

from genlab.data import download as downloader
from genlab.errors import DataError


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def publish(monkeypatch, served, content: bytes, digest: str | None = None):
    (served / "tiny.bin").write_bytes(content)
    remote = downloader.RemoteFile("http://example.invalid/tiny.bin", "tiny.bin",
                                   digest or hashlib.sha256(content).hexdigest(), len(content))
    monkeypatch.setitem(downloader.DATASETS, "tiny", [remote])


def test_download_verifies_and_does_not_fetch_twice(tmp_path, server, monkeypatch):
    served, url = server
    publish(monkeypatch, served, b"genlab" * 1000)
    dest = tmp_path / "dest"
    (path,) = downloader.download("tiny", dest, base_url=url, progress=False)
    assert path.read_bytes() == b"genlab" * 1000
    (served / "tiny.bin").unlink()  # a second call must not need the server
    assert downloader.download("tiny", dest, base_url=url, progress=False) == [path]


def test_hash_mismatch_keeps_nothing(tmp_path, server, monkeypatch):
    served, url = server
    publish(monkeypatch, served, b"tampered", digest="0" * 64)
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="tiny.bin from .* has sha256 .*, expected 0000"):
        downloader.download("tiny", dest, base_url=url, progress=False)
    assert list(dest.iterdir()) == []


def test_unreachable_server_and_unknown_name(tmp_path, server, monkeypatch):
    served, url = server
    publish(monkeypatch, served, b"x")
    (served / "tiny.bin").unlink()
    with pytest.raises(DataError, match="Downloading .*tiny.bin failed"):
        downloader.download("tiny", tmp_path / "dest", base_url=url, progress=False)
    with pytest.raises(DataError, match="Unknown dataset 'imagenet'; choose one of: mnist, fashion-mnist, cifar10"):
        downloader.download("imagenet", tmp_path)


def test_published_hashes_are_well_formed():
    for files in downloader.DATASETS.values():
        for remote in files:
            assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0 and remote.size > 0
