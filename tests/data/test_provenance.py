"""Which data a saved run trained on: its recorded path, read from the folder the run trained in."""

import json

from genlab.data.provenance import trained_on_data, training_data_section


def saved_run(folder, data_path, working_directory=None):
    folder.mkdir(parents=True)
    config = {"family": "gan", "model": {"name": "dcgan"}, "data": {"path": data_path}, "train": {}}
    if working_directory is not None:
        config["working_directory"] = str(working_directory)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_relative_data_path_is_read_from_the_folder_the_run_trained_in(tmp_path, monkeypatch):
    (tmp_path / "project").mkdir()
    data = tmp_path / "project" / "digits.npz"
    data.write_bytes(b"x")
    run = saved_run(tmp_path / "run", "digits.npz", tmp_path / "project")
    monkeypatch.chdir(tmp_path)  # where 'digits.npz' names nothing
    assert training_data_section(run)["path"] == str(data)
    assert training_data_section(run / "model")["path"] == str(data)  # an export inside the run reads it too
    assert trained_on_data(run, data) and trained_on_data(run, "project/digits.npz")
    assert not trained_on_data(run, tmp_path / "run" / "config.json")


def test_paths_that_name_nothing_there_and_built_in_names_stay_as_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert training_data_section(saved_run(tmp_path / "a", "toy:ring", tmp_path))["path"] == "toy:ring"
    assert training_data_section(saved_run(tmp_path / "b", "moved.npz", tmp_path))["path"] == "moved.npz"
    assert training_data_section(saved_run(tmp_path / "c", "~/d.npz", tmp_path))["path"] == str(tmp_path / "d.npz")
    assert training_data_section(saved_run(tmp_path / "d", None, tmp_path))["path"] is None
    assert training_data_section(saved_run(tmp_path / "e", "x.npz"))["path"] == "x.npz"  # an older run: no folder
