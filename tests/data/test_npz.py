"""genlab.data.npz.array_header: an array's shape and dtype from its .npy header, as np.load sees them."""

import io
import zipfile

import numpy as np
import pytest

from genlab.data.npz import array_header


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_header_matches_what_np_load_reads(tmp_path, save):
    arrays = {"x": np.zeros((5, 24, 3), np.float32), "y": np.arange(5, dtype=">i8"),
              "f": np.asfortranarray(np.ones((4, 7), np.float64)), "s": np.array(3, np.uint8)}
    path = tmp_path / "data.npz"
    save(path, **arrays)
    with np.load(path) as loaded:
        for name in arrays:
            assert array_header(path, name) == (loaded[name].shape, loaded[name].dtype)


def test_no_header_for_a_missing_array_or_an_unreadable_file(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.zeros(3))
    assert array_header(path, "y") is None
    (tmp_path / "text.npz").write_text("not a zip archive")
    assert array_header(tmp_path / "text.npz", "x") is None
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:40])  # cut short: no zip directory at its end
    assert array_header(tmp_path / "cut.npz", "x") is None
    with zipfile.ZipFile(tmp_path / "magic.npz", "w") as archive:  # a member that ends after its magic string
        archive.writestr("x.npy", b"\x93NUMPY\x01\x00")
    assert array_header(tmp_path / "magic.npz", "x") is None
    assert array_header(tmp_path / "absent.npz", "x") is None


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("member", ["x.npy", "x"])  # np.load finds an array by either name
def test_every_header_version_and_a_member_without_its_suffix(tmp_path, version, member):
    array = np.arange(24, dtype="<f4").reshape(2, 3, 4)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    path = tmp_path / "data.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, buffer.getvalue())
    with np.load(path) as loaded:
        assert loaded["x"].shape == (2, 3, 4)
    assert array_header(path, "x") == ((2, 3, 4), np.dtype("<f4"))
