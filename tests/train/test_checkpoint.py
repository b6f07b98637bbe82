import os
import pickle
import re
import shutil
import subprocess
import sys

import pytest
import torch

from genlab.errors import CheckpointError, UnsafeCheckpointError
from genlab.models.base import GenerativeModel
from genlab.models.gan import DCGAN, DCGANConfig
from genlab.train.checkpoint import (MARKER, STATE_FILE, latest_checkpoint, list_checkpoints, load_checkpoint,
                                     prune_checkpoints, remove_partial, resolve_checkpoint, save_checkpoint)


def tiny_model(**overrides):
    config = DCGANConfig(resolution=28, channels=1, latent_dim=4, generator_width=4, discriminator_width=4)
    for key, value in overrides.items():
        setattr(config, key, value)
    return DCGAN(config)


def test_round_trip_restores_weights_optimizers_and_rng(tmp_path):
    model = tiny_model()
    optimizers = model.configure_optimizers()
    batch = {"images": torch.rand(4, 1, 28, 28) * 2 - 1}
    model.training_step(batch, optimizers)
    folder = save_checkpoint(tmp_path, 1, model, optimizers, {"family": "gan"},
                             {"log_sums": {"loss": torch.tensor(2.0)}, "skipped": 1})
    expected_noise = torch.randn(3)

    other = tiny_model()
    other_optimizers = other.configure_optimizers()
    step, loop = load_checkpoint(folder, other, other_optimizers)
    assert step == 1 and loop["log_sums"]["loss"].item() == 2.0 and loop["skipped"] == 1
    for (k, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), k
    assert torch.equal(torch.randn(3), expected_noise)  # RNG continues where the checkpoint left it
    state = other_optimizers["generator"].state_dict()["state"]
    assert torch.equal(state[0]["exp_avg"], optimizers["generator"].state_dict()["state"][0]["exp_avg"])


def test_a_resume_keeps_the_configured_optimizer_settings_and_the_saved_moments(tmp_path):
    model = tiny_model()
    optimizers = model.configure_optimizers()
    model.training_step({"images": torch.rand(4, 1, 28, 28) * 2 - 1}, optimizers)
    folder = save_checkpoint(tmp_path, 1, model, optimizers, {"family": "gan"})
    other = tiny_model(betas=(0.0, 0.9))  # a resume with --model.betas changed
    other_optimizers = other.configure_optimizers()
    load_checkpoint(folder, other, other_optimizers)
    for name, optimizer in other_optimizers.items():
        assert optimizer.param_groups[0]["betas"] == (0.0, 0.9), name  # what config.json will record
        saved = optimizers[name].state_dict()["state"][0]["exp_avg"]
        assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], saved)


def test_saving_a_step_again_replaces_it_whole_and_leaves_no_hidden_folders(tmp_path):
    model = tiny_model()
    optimizers = model.configure_optimizers()
    first = save_checkpoint(tmp_path, 1, model, optimizers, {"family": "gan"})
    (tmp_path / "checkpoints" / ".step-000001.partial").mkdir()  # a save of the step killed before its rename
    (tmp_path / "checkpoints" / ".step-000001.partial" / "junk").write_text("half")
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    again = save_checkpoint(tmp_path, 1, model, optimizers, {"family": "gan"})  # a library caller, the same step
    assert again == first and [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-000001"]
    assert sorted(p.name for p in again.iterdir()) == sorted([MARKER, STATE_FILE, "config.json", "model.safetensors"])
    loaded = tiny_model()
    load_checkpoint(again, loaded, loaded.configure_optimizers())
    for (name, saved), restored in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(saved, restored), name  # the second save's weights


@pytest.mark.parametrize("new_copy_complete", [True, False])
def test_a_kill_between_the_renames_of_a_step_saved_again_keeps_the_step(tmp_path, new_copy_complete):
    """save_checkpoint renames the old step-N aside (.stale), then the new copy (.partial) into place; killed
    in between, only hidden folders hold the step. The next start puts the new copy back if it is complete,
    else the old one, and removes the rest."""
    old_model, new_model = tiny_model(), tiny_model()
    with torch.no_grad():
        for parameter in new_model.parameters():
            parameter.add_(1.0)
    parent = tmp_path / "checkpoints"
    save_checkpoint(tmp_path, 1, old_model, old_model.configure_optimizers(), {}).rename(parent / ".step-000001.stale")
    new = save_checkpoint(tmp_path / "elsewhere", 1, new_model, new_model.configure_optimizers(), {})
    new.rename(parent / ".step-000001.partial")
    if not new_copy_complete:
        (parent / ".step-000001.partial" / MARKER).unlink()
    assert list_checkpoints(tmp_path) == []
    remove_partial(tmp_path)
    assert [p.name for p in parent.iterdir()] == ["step-000001"]
    kept, loaded = new_model if new_copy_complete else old_model, tiny_model()
    load_checkpoint(parent / "step-000001", loaded, loaded.configure_optimizers())
    for (name, saved), restored in zip(kept.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(saved, restored), name


def test_a_first_save_killed_before_its_rename_is_not_put_back(tmp_path):
    """Only a step saved again is restored from hidden folders: a complete first copy that never reached
    its name is not a checkpoint the run has, and a resume started meanwhile may already have chosen another."""
    model = tiny_model()
    parent = tmp_path / "checkpoints"
    save_checkpoint(tmp_path, 1, model, model.configure_optimizers(), {})
    save_checkpoint(tmp_path / "elsewhere", 2, model, model.configure_optimizers(), {}).rename(
        parent / ".step-000002.partial")
    remove_partial(tmp_path)
    assert [p.name for p in parent.iterdir()] == ["step-000001"]


def test_a_linked_checkpoint_is_not_the_runs_and_pruning_never_deletes_through_it(tmp_path):
    """A step-N link to a checkpoint elsewhere (another run's) is no checkpoint of this run: pruning
    would otherwise unmark and delete the folder it points to."""
    model = tiny_model()
    other = save_checkpoint(tmp_path / "other", 1, model, model.configure_optimizers(), {})
    run = tmp_path / "run"
    for step in (2, 3):
        save_checkpoint(run, step, model, model.configure_optimizers(), {})
    (run / "checkpoints" / "step-000001").symlink_to(other, target_is_directory=True)
    assert [s for s, _ in list_checkpoints(run)] == [2, 3]
    prune_checkpoints(run, keep=1)
    assert (other / MARKER).is_file() and [s for s, _ in list_checkpoints(tmp_path / "other")] == [1]
    assert [s for s, _ in list_checkpoints(run)] == [3]


def test_only_complete_checkpoints_count_and_pruning_keeps_newest(tmp_path):
    model = tiny_model()
    optimizers = model.configure_optimizers()
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, model, optimizers, {})
    (latest_checkpoint(tmp_path) / MARKER).unlink()  # as if step 3 died before its marker
    assert [s for s, _ in list_checkpoints(tmp_path)] == [1, 2]
    with pytest.raises(CheckpointError, match="is incomplete"):
        resolve_checkpoint(tmp_path / "checkpoints" / "step-000003")
    assert resolve_checkpoint(tmp_path).name == "step-000002"
    prune_checkpoints(tmp_path, keep=1)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-000002"]  # incomplete one cleared


def test_checkpoint_of_another_model_is_refused(tmp_path):
    model = tiny_model()
    folder = save_checkpoint(tmp_path, 1, model, model.configure_optimizers(), {})
    bigger = tiny_model(generator_width=8)
    with pytest.raises(CheckpointError, match="holds weights of another model"):
        load_checkpoint(folder, bigger, bigger.configure_optimizers())


@pytest.mark.parametrize("content", [b"", b"\x00garbage", None])
def test_truncated_or_garbage_files_are_named(tmp_path, content):
    model = tiny_model()
    folder = save_checkpoint(tmp_path, 1, model, model.configure_optimizers(), {})
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100] if content is None else content)
    with pytest.raises(CheckpointError, match="model.safetensors is not a readable safetensors file"):
        load_checkpoint(folder, model, model.configure_optimizers())


class Touch:
    """A pickled object that would create ``path`` if it were ever unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("content", [b"\x00" * 64, b"\x80\x02garbage", b"", None, "protocol-4 payload", b"junk\n",
                                     b"step 2\n"])
def test_an_unreadable_training_state_is_named_and_never_run(tmp_path, content):
    model = tiny_model()
    folder = save_checkpoint(tmp_path, 1, model, model.configure_optimizers(), {})
    state = folder / STATE_FILE
    if content == "protocol-4 payload":  # not a protocol torch.save writes: refused unread, whatever it holds
        content = pickle.dumps({"step": 1, "payload": Touch(tmp_path / "PWNED")}, protocol=4)
    state.write_bytes(state.read_bytes()[:200] if content is None else content)
    with pytest.raises(CheckpointError, match="training_state.pt is truncated or corrupt, or not a genlab training "
                                              "state") as raised:
        load_checkpoint(folder, model, model.configure_optimizers())
    assert not isinstance(raised.value, UnsafeCheckpointError) and not (tmp_path / "PWNED").exists()


class Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_pickle_payload_in_training_state_is_refused_and_never_run(tmp_path, monkeypatch):
    model = tiny_model()
    folder = save_checkpoint(tmp_path, 1, model, model.configure_optimizers(), {})
    with open(folder / STATE_FILE, "wb") as f:
        pickle.dump({"step": 1, "payload": Payload()}, f, protocol=2)
    # In a child process with the override that makes torch.load unsafe by default.
    code = (f"import sys; from genlab.train.checkpoint import load_training_state\n"
            f"from genlab.errors import UnsafeCheckpointError\n"
            f"try: load_training_state(__import__('pathlib').Path({str(folder / STATE_FILE)!r}))\n"
            f"except UnsafeCheckpointError as e: print('REFUSED', e); sys.exit(0)\n"
            f"sys.exit(1)\n")
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "asks to run code when loaded" in result.stdout
    assert not (tmp_path / "PWNED").exists()
    monkeypatch.chdir(tmp_path)  # where the payload's 'touch PWNED' would land
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(folder, model, model.configure_optimizers())
    assert not (tmp_path / "PWNED").exists()


def test_export_round_trip_and_wrong_class(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path / "export")
    loaded = GenerativeModel.from_pretrained(tmp_path / "export")
    assert isinstance(loaded, DCGAN) and loaded.config == model.config
    z = torch.randn(2, 4)
    model.eval(), loaded.eval()
    assert torch.equal(model.decode(z), loaded.decode(z))
    (tmp_path / "export" / "config.json").write_text('{"family": "gan", "model": {"name": "nope"}}')
    with pytest.raises(CheckpointError, match="names an unknown gan model 'nope'"):
        GenerativeModel.from_pretrained(tmp_path / "export")


def test_weights_from_an_older_layout_name_the_version_that_saved_them(tmp_path):
    import json

    from genlab import __version__

    # Conditional DCGAN generators gained a class input in 0.2.0: a 0.1.0 stem is narrower.
    model = tiny_model(conditional=True, num_classes=3)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"]["latent_dim"] = 7  # the config now builds a wider stem than the saved one
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="load it with the config it was saved with.$"):
        GenerativeModel.from_pretrained(tmp_path)  # the same version: the config is what differs
    config["versions"]["genlab"] = "0.1.0"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=f"saved by genlab 0.1.0 and this is {__version__}, whose layout of "
                                              "gan/dcgan differs: retrain it"):
        GenerativeModel.from_pretrained(tmp_path)


def test_config_asking_for_an_absurd_model_is_refused_before_allocation(tmp_path):
    import json

    tiny_model().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"].update(generator_width=4096, discriminator_width=4096, resolution=64)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="describes a model of [0-9,]+ parameters, more than genlab loads"):
        GenerativeModel.from_pretrained(tmp_path)


def test_garbage_config_json_is_named(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"family": "gan", "model": ')
    with pytest.raises(CheckpointError, match="config.json is not valid JSON"):
        GenerativeModel.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"family": "evil.module", "model": {"name": "X"}}')
    with pytest.raises(CheckpointError, match="names an unknown model family 'evil.module'"):
        GenerativeModel.from_pretrained(tmp_path)


def test_resuming_from_an_older_checkpoint_abandons_the_newer_ones(tmp_path):
    from genlab.train.checkpoint import discard_after

    model = tiny_model()
    optimizers = model.configure_optimizers()
    for step in (3, 6, 9):
        save_checkpoint(tmp_path, step, model, optimizers, {})
    discard_after(tmp_path, 3)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3]


def test_a_checkpoint_of_another_world_size_reseeds_from_the_run_seed(tmp_path, capsys):
    from genlab.train.rng import capture_rng

    model = tiny_model()
    optimizers = model.configure_optimizers()
    folder = save_checkpoint(tmp_path, 4, model, optimizers, {"family": "gan"}, rng_states=[capture_rng()] * 2)
    draws = []
    for seed in (0, 0, 1):
        load_checkpoint(folder, model, optimizers, rank=0, world_size=1, seed=seed)
        draws.append(torch.randn(3))
    assert "not bit-exact" in capsys.readouterr().out
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])


def test_a_random_number_state_torch_cannot_restore_is_a_checkpoint_error(tmp_path):
    from genlab.train.rng import capture_rng

    model = tiny_model()
    optimizers = model.configure_optimizers()
    broken = {**capture_rng(), "torch": torch.zeros(5, dtype=torch.uint8)}  # the CPU generator's state is 5,056 bytes
    folder = save_checkpoint(tmp_path, 2, model, optimizers, {"family": "gan"}, rng_states=[broken])
    with pytest.raises(CheckpointError, match="random-number state cannot be restored"):
        load_checkpoint(folder, model, optimizers)
    state = capture_rng()
    state["numpy"][1] = torch.zeros(3, dtype=torch.int64)  # numpy's MT19937 key holds 624 words
    folder = save_checkpoint(tmp_path, 2, model, optimizers, {"family": "gan"}, rng_states=[state])
    with pytest.raises(CheckpointError, match="random-number state cannot be restored"):
        load_checkpoint(folder, model, optimizers)


def test_optimizer_moments_of_another_shape_are_refused_before_the_first_step(tmp_path):
    model = tiny_model()
    optimizers = model.configure_optimizers()
    model.training_step({"images": torch.rand(4, 1, 28, 28) * 2 - 1}, optimizers)  # Adam's moments exist
    folder = save_checkpoint(tmp_path, 1, model, optimizers, {})
    state = torch.load(folder / STATE_FILE, weights_only=True)
    state["optimizers"]["generator"]["state"][0]["exp_avg"] = torch.zeros(3)
    torch.save(state, folder / STATE_FILE)
    with pytest.raises(CheckpointError, match=r"training_state.pt: its generator optimizer's exp_avg has shape \(3,\) "
                                              r"for a parameter of shape .*: the file was altered or damaged; use an "
                                              "earlier checkpoint"):
        load_checkpoint(folder, tiny_model(), tiny_model().configure_optimizers())


@pytest.mark.parametrize("alteration", ["state step", "folder name"])
def test_a_checkpoint_whose_step_disagrees_with_its_name_or_marker_is_refused(tmp_path, alteration):
    """The step decides which checkpoints a resume abandons (deletes): it must be the one the folder says."""
    model = tiny_model()
    folder = save_checkpoint(tmp_path, 2, model, model.configure_optimizers(), {})
    if alteration == "state step":
        state = torch.load(folder / STATE_FILE, weights_only=True)
        state["step"] = 7
        torch.save(state, folder / STATE_FILE)
        says = "holds the training state of step 7, but its COMPLETE marker says 2: the checkpoint was altered; " \
               "delete it and resume an earlier one"
    else:
        folder = folder.rename(folder.parent / "step-999999")
        says = "holds the training state of step 2, but its name says 999999: it was renamed; rename it step-000002"
    with pytest.raises(CheckpointError, match=says):
        load_checkpoint(folder, model, model.configure_optimizers())
    copy = tmp_path / "kept-aside"  # a copy under another name is still a checkpoint
    shutil.copytree(save_checkpoint(tmp_path, 3, model, model.configure_optimizers(), {}), copy)
    assert load_checkpoint(copy, model, model.configure_optimizers())[0] == 3


def test_a_stray_file_of_a_checkpoint_s_name_is_replaced_by_the_checkpoint(tmp_path):
    model = tiny_model()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "step-000003").write_text("x")
    folder = save_checkpoint(tmp_path, 3, model, model.configure_optimizers(), {})
    assert [step for step, _ in list_checkpoints(tmp_path)] == [3] and (folder / MARKER).is_file()


@pytest.mark.parametrize("loop, named", [
    ({"log_sums": {"loss_generator": 0.5}}, "log_sums are not scalar tensors"),
    ({"log_counts": {"loss_generator": "2"}}, "log_counts are not counts"),
    ({"skipped": -1}, "skipped is not a count"),
    ({"log_every": 0}, "log_every is not a count"),
    ({"warned": "mode collapse"}, "printed warnings are not a list of text"),
])
def test_a_loop_state_of_the_wrong_types_is_a_checkpoint_error_not_a_crash_later(tmp_path, loop, named):
    model = tiny_model()
    optimizers = model.configure_optimizers()
    folder = save_checkpoint(tmp_path, 2, model, optimizers, {"family": "gan"}, loop)
    with pytest.raises(CheckpointError, match=f"does not match this model's training state \\(its {named}\\)"):
        load_checkpoint(folder, model, optimizers)


def test_weights_holding_nan_are_refused_with_the_tensor_named(tmp_path):
    from safetensors.torch import load_file, save_file

    model = tiny_model()
    folder = save_checkpoint(tmp_path, 1, model, model.configure_optimizers(), {})
    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 2)
    state[key].view(-1)[:2] = float("nan")
    save_file(state, str(weights))
    with pytest.raises(CheckpointError, match=f"holds 2 NaN or infinite values in {re.escape(key)};"):
        load_checkpoint(folder, tiny_model(), tiny_model().configure_optimizers())


@pytest.mark.parametrize("dtype", [torch.int32, torch.bool, torch.complex64])
def test_weights_of_a_type_that_is_not_a_weight_s_are_refused(tmp_path, dtype):
    from safetensors.torch import load_file, save_file

    model = tiny_model()
    folder = save_checkpoint(tmp_path, 1, model, model.configure_optimizers(), {})
    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = state[key].to(dtype)
    save_file(state, str(weights))
    with pytest.raises(CheckpointError, match=f"holds {re.escape(key)} as {str(dtype)[6:]} where the model has "
                                              "float32; the file was altered"):
        load_checkpoint(folder, tiny_model(), tiny_model().configure_optimizers())
    state[key] = state[key].real.to(torch.float16) if dtype == torch.complex64 else state[key].to(torch.float16)
    save_file(state, str(weights))
    load_checkpoint(folder, tiny_model(), tiny_model().configure_optimizers())  # another float precision loads


def test_an_exported_model_of_another_version_with_nan_weights_is_named_broken_not_a_layout_change(tmp_path):
    import json

    from safetensors.torch import load_file, save_file

    model = tiny_model()
    model.save_pretrained(tmp_path / "old")
    saved = json.loads((tmp_path / "old" / "config.json").read_text())
    saved.setdefault("versions", {})["genlab"] = "0.0.1"  # exported by another genlab
    (tmp_path / "old" / "config.json").write_text(json.dumps(saved))
    weights = tmp_path / "old" / "model.safetensors"
    state = load_file(str(weights))
    state["generator.stem.weight"].view(-1)[0] = float("inf")
    save_file(state, str(weights))
    with pytest.raises(CheckpointError) as raised:
        GenerativeModel.from_pretrained(tmp_path / "old")
    assert str(raised.value).endswith("holds 1 NaN or infinite value in generator.stem.weight; these weights are "
                                      "broken — use an earlier checkpoint.")


def _drop_weights(folder):
    (folder / "model.safetensors").unlink()


def _rewrite_config(change):
    def rewrite(folder):
        import json

        config = json.loads((folder / "config.json").read_text())
        change(config)
        (folder / "config.json").write_text(json.dumps(config))
    return rewrite


@pytest.mark.parametrize("damage, message", [
    (_drop_weights, "model.safetensors does not exist; the model folder is incomplete"),
    (_rewrite_config(lambda c: c.pop("model")), "has no 'model' section naming the model and its config"),
    (_rewrite_config(lambda c: c["model"].update(generator_width=-3)), "does not describe a valid gan/dcgan model"),
])
def test_a_damaged_export_is_one_checkpoint_error(tmp_path, damage, message):
    folder = tiny_model().save_pretrained(tmp_path / "export")
    damage(folder)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        GenerativeModel.from_pretrained(folder)


def test_an_export_loads_only_as_its_own_kind(tmp_path):
    from genlab.models.vae import VAE

    folder = tiny_model().save_pretrained(tmp_path / "export")
    assert isinstance(DCGAN.from_pretrained(folder), DCGAN)
    with pytest.raises(CheckpointError, match=re.escape(f"{folder} holds a gan/dcgan model, not a vae")):
        VAE.from_pretrained(folder)
