import errno
import json

import pytest

from genlab.fileio import atomic_write, atomic_write_json


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_json(path, {"x": 1})
    atomic_write_json(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def explode(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, explode)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_file_system_error_names_the_file_asked_for_not_its_temporary(tmp_path):
    path = tmp_path / "a.png"

    def full_disk(tmp):  # OSErrors carry the path as given, here a Path
        raise OSError(errno.ENOSPC, "No space left on device", tmp)

    with pytest.raises(OSError, match="No space left") as raised:
        atomic_write(path, full_disk)
    assert raised.value.filename == str(path) and list(tmp_path.iterdir()) == []


def test_written_files_get_the_permissions_open_would_give(tmp_path):
    import stat

    (tmp_path / "plain.txt").write_text("x")
    atomic_write_json(tmp_path / "atomic.json", {})
    mode = stat.S_IMODE((tmp_path / "atomic.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) and mode & 0o044  # not mkstemp's 0600
