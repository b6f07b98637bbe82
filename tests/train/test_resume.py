"""Exact resume: a run stopped at step k and resumed equals the uninterrupted run, bit for bit."""

import json
import os
import signal
import subprocess
import sys
import textwrap

from safetensors.torch import load_file

import pytest
import torch


@pytest.fixture
def common(tiny_dcgan):
    return ["--train.log_every", "2", "--train.checkpoint_every", "3", "--train.sample_every", "3",
            "--batch-size", "16", "--quiet", *tiny_dcgan]


def weights(run_dir):
    return load_file(str(run_dir / "model" / "model.safetensors"))


def logged(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def losses(records):
    return [{k: v for k, v in r.items() if k not in ("time", "examples_per_s")} for r in records]


def assert_same_run(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert wa[key].equal(wb[key]), key
    assert losses(logged(a)) == losses(logged(b))


# Every random draw a GAN step can make: flips, augmentation, fake labels, R1, EMA.
# Every random draw, plus a learning-rate schedule (a pure function of the step, set before each one).
# Lazy R1 every 3rd discriminator update: the 7th (index 6) comes after the resume at step 5.
RANDOM_EVERYWHERE = ["--model.conditional", "true", "--model.ema_decay", "0.9", "--data.hflip", "true",
                     "--model.diffaugment", "[color, translation, cutout]", "--model.r1_gamma", "1.0",
                     "--model.decay_steps", "9", "--model.r1_every", "3"]


# Self-conditioned and packed: the resume clusters the images again and must find the same labels.
CLUSTERS_PACKED = ["--model.conditional", "true", "--model.clusters", "3", "--model.pack", "2"]


@pytest.mark.parametrize("extra", [[], RANDOM_EVERYWHERE, CLUSTERS_PACKED],
                         ids=["dcgan", "every-random-draw", "clusters-packed"])
def test_resumed_run_is_bit_identical(tmp_path, digits_npz, run_cli, common, extra):
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "9", "--out", full, *common, *extra)[0] == 0
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "5", "--out", part, *common, *extra)[0] == 0
    # The stopped run ends at step 5 with a checkpoint; continue it to 9 with the same command line.
    code, out, _ = run_cli("train", "gan", "--data", digits_npz, "--steps", "9", "--out", part, "--resume", "auto",
                           *common, *extra)
    assert code == 0 and "resuming from step-000005" in out and "warning" not in out
    assert_same_run(full, part)
    assert [r["step"] for r in logged(part)] == [2, 4, 6, 8, 9]
    states = [torch.load(run / "checkpoints" / "step-000009" / "training_state.pt", weights_only=True)
              for run in (full, part)]
    for name in ("generator", "discriminator"):
        for a, b in zip(states[0]["optimizers"][name]["state"].values(), states[1]["optimizers"][name]["state"].values()):
            assert all(torch.equal(a[k], b[k]) for k in a)


KILL_DURING_WRITE = textwrap.dedent("""
    import sys, time
    import genlab.train.checkpoint as checkpoint
    from genlab.cli import main

    original, calls = checkpoint.save_weights, []
    def slow_second_write(*args, **kwargs):
        calls.append(1)
        original(*args, **kwargs)
        if len(calls) == 2:           # inside the second checkpoint, after its weights are on disk
            print("WRITING", flush=True)
            time.sleep(60)
    checkpoint.save_weights = slow_second_write
    sys.exit(main(sys.argv[1:]))
""")


def test_sigkill_inside_checkpoint_write_resumes_from_previous_complete_one(tmp_path, digits_npz, run_cli, common):
    killed, full = tmp_path / "killed", tmp_path / "full"
    args = ["train", "gan", "--data", str(digits_npz), "--steps", "9", *map(str, common)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", KILL_DURING_WRITE, *args, "--out", str(killed)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in child.stdout:
            if "WRITING" in line:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    checkpoints = sorted(p.name for p in (killed / "checkpoints").iterdir())
    assert checkpoints == [".step-000006.partial", "step-000003"]  # step 6 died half-written

    code, out, _ = run_cli(*args, "--out", killed, "--resume", "auto")
    assert code == 0 and "resuming from step-000003" in out
    assert sorted(p.name for p in (killed / "checkpoints").iterdir()) == ["step-000003", "step-000006", "step-000009"]
    assert run_cli(*args, "--out", full)[0] == 0
    assert_same_run(full, killed)


def test_resuming_a_finished_run_keeps_its_log(tmp_path, digits_npz, run_cli, common):
    run = tmp_path / "run"
    args = ("train", "gan", "--data", digits_npz, "--steps", "5", "--out", run, *common)
    assert run_cli(*args)[0] == 0
    before = (run / "metrics.jsonl").read_text()
    assert [r["step"] for r in logged(run)] == [2, 4, 5]  # step 5 closes no window of 2: it is logged open
    code, out, err = run_cli(*args, "--resume", "auto")  # nothing left to train
    assert code == 0 and "resuming from step-000005" in out, err
    assert (run / "metrics.jsonl").read_text() == before


def test_a_damaged_checkpoint_config_is_named_as_the_fault_not_an_option_the_user_never_gave(tmp_path, digits_npz,
                                                                                            run_cli, common):
    run = tmp_path / "run"
    args = ("train", "gan", "--data", digits_npz, "--steps", "3", "--out", run, *common)
    assert run_cli(*args)[0] == 0
    saved = run / "checkpoints" / "step-000003" / "config.json"
    config = json.loads(saved.read_text())
    config["model"]["pack"] = "x"  # an option the command does not give again
    saved.write_text(json.dumps(config))
    before = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "5", "--out", run, *common,
                           "--resume", "auto")
    assert code == 2 and f"{saved}, the config the run was saved with, is not valid (--model.pack must be an integer" in err
    assert {path: path.read_bytes() for path in run.rglob("*") if path.is_file()} == before


def test_a_run_being_trained_is_not_resumed_by_a_second_process(tmp_path, digits_npz, run_cli, common):
    fcntl = pytest.importorskip("fcntl")  # the lock is POSIX flock
    run = tmp_path / "run"
    args = ("train", "gan", "--data", digits_npz, "--steps", "3", "--out", run, *common)
    assert run_cli(*args)[0] == 0
    in_progress = run / "checkpoints" / "step-000006"  # what a live run's checkpoint looks like before its marker
    in_progress.mkdir()
    with open(run / ".lock", "w") as held:  # another process training into the run
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run_cli(*args[:5], "6", *args[6:], "--resume", "auto")
        assert code == 2 and "is being written by another genlab train right now" in err
        assert in_progress.is_dir()  # not cleared as debris of a crash
    code, out, err = run_cli(*args[:5], "6", *args[6:], "--resume", "auto")  # the lock is free again
    assert code == 0, err
    assert (in_progress / "COMPLETE").exists()  # the debris cleared, the real step-6 checkpoint written


def test_sampling_a_run_still_before_its_first_checkpoint_says_so(tmp_path, run_cli):
    fcntl = pytest.importorskip("fcntl")  # the lock is POSIX flock
    run = tmp_path / "run"
    run.mkdir()
    with open(run / ".lock", "w") as held:  # a genlab train that has not written a checkpoint yet
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run_cli("sample", run, "--n", "2")
        assert code == 2 and "is still training and holds no complete checkpoint yet; try again once it has" in err
    code, _, err = run_cli("sample", run, "--n", "2")  # the lock dropped: a run that simply holds nothing
    assert code == 2 and "holds no model (no model/ export and no complete checkpoint)" in err


def test_resuming_an_older_checkpoint_drops_what_the_abandoned_steps_left(tmp_path, digits_npz, run_cli, common):
    run = tmp_path / "run"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "9", "--out", run, *common)[0] == 0
    (run / "eval.json").write_text("{}")  # as 'genlab eval RUN --metrics' leaves it
    (run / "report.html").write_text("<html></html>")  # as 'genlab report RUN' leaves it, showing that evaluation
    (run / "samples" / "step-000009-traversal.png").touch()  # as a VAE's extra pictures
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000003.png", "step-000006.png",
                                                                   "step-000009-traversal.png", "step-000009.png"]
    code, out, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "4", "--resume",
                             run / "checkpoints" / "step-000003", *common)
    assert code == 0, err
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000003.png", "step-000004.png"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-000003", "step-000004"]
    assert not (run / "eval.json").exists()  # it scored the step-9 weights, which are gone
    assert not (run / "report.html").exists()  # it showed that score
    final = load_file(str(run / "checkpoints" / "step-000004" / "model.safetensors"))
    assert all(final[k].equal(v) for k, v in weights(run).items())  # model/ is the step-4 export


def test_a_resume_stopped_before_its_first_checkpoint_keeps_the_export_and_its_evaluation(tmp_path, digits_npz,
                                                                                          run_cli, common):
    """Until a newer checkpoint is written, the newest one is still the export's weights."""
    from genlab.errors import GenlabError
    from genlab.models.gan import GAN

    run = tmp_path / "run"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "6", "--out", run, *common)[0] == 0
    (run / "eval.json").write_text("{}")
    (run / "report.html").write_text("<html></html>")
    exported = weights(run)
    train_step = GAN.training_step
    calls = []

    def stops_at_the_second_step(self, batch, optimizers):
        calls.append(1)
        if len(calls) == 2:
            raise GenlabError("stopped")
        return train_step(self, batch, optimizers)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GAN, "training_step", stops_at_the_second_step)
        code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "9", "--resume", "auto", "--out", run,
                               *common)
    assert code == 2 and "stopped" in err
    assert (run / "eval.json").read_text() == "{}" and (run / "report.html").exists()
    assert all(exported[k].equal(v) for k, v in weights(run).items())
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "9", "--resume", "auto", "--out", run,
                           *common)
    assert code == 0, err
    assert not (run / "eval.json").exists()  # it scored the step-6 weights; the export is step 9's now
    assert not (run / "report.html").exists()
    final = load_file(str(run / "checkpoints" / "step-000009" / "model.safetensors"))
    assert all(final[k].equal(v) for k, v in weights(run).items())


def test_going_back_to_an_older_checkpoint_without_training_drops_the_newer_evaluation(tmp_path, digits_npz, run_cli,
                                                                                       common):
    run = tmp_path / "run"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "9", "--out", run, *common)[0] == 0
    (run / "eval.json").write_text("{}")
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "3", "--resume",
                           run / "checkpoints" / "step-000003", *common)  # ends where it starts: nothing to train
    assert code == 0, err
    assert not (run / "eval.json").exists() and sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step-000003"]


def test_a_resume_that_logs_at_another_interval_counts_each_step_once(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    args = ("train", "gan", "--data", digits_npz, "--batch-size", "16", "--out", run, "--quiet", *tiny_dcgan)
    assert run_cli(*args, "--steps", "3", "--train.log_every", "2")[0] == 0  # step 3's window is still open
    assert [r["step"] for r in logged(run)] == [2, 3]
    code, _, err = run_cli(*args, "--steps", "6", "--train.log_every", "3", "--resume", "auto")
    assert code == 0, err
    # Step 3 goes into the window logged at 6 (steps 3-6), so its own open-window line is dropped.
    assert [r["step"] for r in logged(run)] == [2, 6]


def test_a_resume_that_turns_a_condition_off_drops_the_saved_options_it_leaves_unread(tmp_path, digits_npz, run_cli):
    """Saved with a learning-rate decay to min_lr and resumed with the decay off: the saved min_lr is
    read by nothing, and the user never passed it, so the resume goes on without it (with a note);
    passed again, it is refused."""
    run = tmp_path / "run"
    tiny = ["--model.width", "4", "--model.hidden_dim", "16", "--model.latent_dim", "4", "--batch-size", "8"]
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "3", "--out", run, "--model.decay_steps", "3",
                   "--model.min_lr", "1e-5", "--quiet", *tiny)[0] == 0
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "4", "--model.decay_steps", "0",
                             "--quiet")
    assert code == 0, err
    checkpoint = run / "checkpoints" / "step-000003"
    assert (f"genlab: note: {checkpoint / 'config.json'} sets --model.min_lr 1e-05, which nothing reads under the "
            "resumed run's config; ignored.") in out
    warning = next(line for line in out.splitlines() if line.startswith("genlab: warning: resuming with settings"))
    assert "model.decay_steps 3 → 0" in warning and "min_lr" not in warning  # the one change the user made
    saved = json.loads((run / "config.json").read_text())["model"]
    assert (saved["decay_steps"], saved["min_lr"]) == (0, 0.0)
    code, _, err = run_cli("train", "--resume", str(checkpoint), "--steps", "4", "--model.decay_steps", "0",
                           "--model.min_lr", "1e-5")
    assert code == 2 and "--model.min_lr is where the cosine decay ends" in err


def test_resume_auto_naming_the_family_reads_the_saved_config_before_the_overrides(tmp_path):
    """A GAN saved with R1 on, resumed with its pace changed: r1_every is read, so it is not refused
    as if R1 were off (which only the family's defaults would say)."""
    from genlab.train.run import build_run_config, resolve_run

    saved = build_run_config("gan", overrides={"model": {"r1_gamma": 0.1, "r1_every": 16}}).to_dict()
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config, checkpoint, _ = resolve_run("gan", {}, {"train": {"out": str(tmp_path)}, "model": {"r1_every": 8}}, "auto")
    assert (config.model.r1_gamma, config.model.r1_every, checkpoint) == (0.1, 8, None)


def test_a_checkpoint_of_the_unfused_optimizer_resumes_into_the_fused_one(tmp_path, digits_npz, run_cli, common,
                                                                           monkeypatch):
    """GAN checkpoints written before genlab used fused Adam carry `fused: False` groups and a CPU step
    count; the resumed run must train on from them (on CUDA the fused kernel needs its step beside
    the weights, which the load now puts there) and match a run that never stopped."""
    import genlab.models.adversarial as adversarial

    full, part = tmp_path / "full", tmp_path / "part"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "6", "--out", full, *common)[0] == 0
    fused = adversarial.TwoPlayers.configure_optimizers

    def unfused(self):
        optimizers = fused(self)
        for optimizer in optimizers.values():
            for group in optimizer.param_groups:
                group["fused"] = False
        return optimizers

    monkeypatch.setattr(adversarial.TwoPlayers, "configure_optimizers", unfused)
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "3", "--out", part, *common)[0] == 0
    state = torch.load(part / "checkpoints" / "step-000003" / "training_state.pt", weights_only=True)
    assert state["optimizers"]["generator"]["param_groups"][0]["fused"] is False
    monkeypatch.setattr(adversarial.TwoPlayers, "configure_optimizers", fused)
    code, out, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "6", "--out", part, "--resume", "auto",
                             *common)
    assert code == 0 and "resuming from step-000003" in out, err
    # Fused and unfused Adam round differently, and Adam's normalised step magnifies that where a gradient
    # is near 0: up to 5e-5 after three steps on one CPU (an AMD EPYC), under 1e-5 on another. A resume
    # that lost the moments moves weights by about the learning rate (2e-4), beyond this bound.
    resumed_weights = weights(part)
    for key, value in weights(full).items():
        assert torch.allclose(value, resumed_weights[key], atol=1e-4), key
    resumed = torch.load(part / "checkpoints" / "step-000006" / "training_state.pt", weights_only=True)
    for player, optimizer in resumed["optimizers"].items():  # bias correction counts the unfused steps too
        assert {float(s["step"]) for s in optimizer["state"].values()} == {6.0}, player
