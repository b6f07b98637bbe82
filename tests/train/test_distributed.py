"""Two processes under torchrun (gloo on CPU), for each family: ranks stay identical and only rank 0 writes."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

import genlab

pytestmark = pytest.mark.slow

TRAIN_AND_DUMP = textwrap.dedent("""
    import json, os, sys
    from safetensors.torch import save_file
    from genlab.train.run import build_run_config, train
    from genlab.train import trainer

    seen = {}
    original = trainer.Trainer.fit
    def fit_and_keep(self, model, *args, **kwargs):
        result = original(self, model, *args, **kwargs)
        seen["model"] = model
        return result
    trainer.Trainer.fit = fit_and_keep

    family, data, out, dump, model, extra_data, extra_train = sys.argv[1:8]
    overrides = {"data": {"path": data or None, **json.loads(extra_data)}, "model": json.loads(model),
                 "train": {"steps": 6, "batch_size": 16, "out": out, "log_every": 2, "checkpoint_every": 3,
                           "sample_every": 3, **json.loads(extra_train)}}
    config = build_run_config(family, overrides=overrides)
    train(config, progress=False)
    state = {k: v.detach().contiguous().clone() for k, v in seen["model"].state_dict().items()}  # tied weights: own copies
    save_file(state, os.path.join(dump, f"rank{os.environ['RANK']}.safetensors"))
""")


def launch(tmp_path, *args, processes=2):
    """``torchrun --standalone --nproc_per_node N ARGS...`` at one thread per process. torchrun's own
    scratch folders go under tmp_path (its TMPDIR), not into the machine's /tmp, where they outlive the test."""
    scratch = tmp_path / "torchrun-tmp"
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1", "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def torchrun(tmp_path, *args, processes=2):
    script = tmp_path / "train_and_dump.py"
    script.write_text(TRAIN_AND_DUMP)
    result = launch(tmp_path, script, *args, processes=processes)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


# test id -> (family, uses the digits?, model options, data options[, train options]): tiny models of every family
FAMILIES = {
    "gan": ("gan", True, {"generator_width": 8, "discriminator_width": 8, "latent_dim": 16, "r1_gamma": 1.0}, {}),
    "vae": ("vae", True, {"width": 4, "hidden_dim": 16, "latent_dim": 4}, {}),
    "transformer": ("transformer", False, {"context": 16, "layers": 1, "width": 16, "heads": 2, "warmup_steps": 2,
                                           "decay_steps": 6},
                    {}),
    "rgan": ("rgan", False, {"hidden_dim": 8, "layers": 1, "noise_dim": 2}, {"sines": 64, "window": 6}),
    # No DDP modules: gradients averaged before each optimizer step, through all three phases.
    "rgan-timegan": ("rgan", False, {"name": "timegan", "hidden_dim": 8, "autoencoder_steps": 2,
                                     "supervised_steps": 1}, {"sines": 64, "window": 6}),
    # The same, through an autoencoder phase and then a GAN on its codes (batch-norm statistics shared at the switch).
    "rgan-latentgan": ("rgan", False, {"name": "latentgan", "hidden_dim": 8, "autoencoder_steps": 3, "code_dim": 3,
                                       "discriminator_steps": 2}, {"sines": 64, "window": 6}),
    # DDP around a compiled generator, beside an eager discriminator (R1 differentiates it twice).
    "gan-compiled": ("gan", True, {"generator_width": 8, "discriminator_width": 8, "latent_dim": 16, "r1_gamma": 1.0},
                     {}, {"compile": True}),
    # Three steps of maximum likelihood, then Gumbel-softmax adversarial steps (both players under DDP).
    "textgan": ("textgan", False, {"name": "relgan", "embed_dim": 8, "hidden_dim": 8, "d_embed_dim": 8,
                                   "d_filters": 4, "max_words": 200, "pretrain_steps": 3}, {}),
}


@pytest.mark.parametrize("case", sorted(FAMILIES))
def test_two_ranks_train_identically_and_only_rank_zero_writes(tmp_path, digits_npz, case):
    family, digits, model, data, *train = FAMILIES[case]
    run, dump = tmp_path / "run", tmp_path / "dump"
    dump.mkdir()
    torchrun(tmp_path, family, digits_npz if digits else "", run, dump, json.dumps(model), json.dumps(data),
             json.dumps(train[0] if train else {}))
    rank0, rank1 = load_file(str(dump / "rank0.safetensors")), load_file(str(dump / "rank1.safetensors"))
    assert rank0.keys() == rank1.keys() and not any("_orig_mod" in key for key in rank0)  # saved unwrapped
    # BatchNorm statistics are broadcast from rank 0 at each forward and then updated locally, so
    # they differ between forwards by design (rank 0's are the ones saved); every weight is equal.
    weights = [k for k in rank0 if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(weights) > 10
    for key in weights:
        assert rank0[key].equal(rank1[key]), key
    if case == "rgan-latentgan":  # averaged when the autoencoder froze, so every rank's codes are normalised alike
        assert all(rank0[f"encoder.1.{key}"].equal(rank1[f"encoder.1.{key}"]) for key in ("running_mean", "running_var"))
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]  # one line per logged step: rank 1 wrote nothing
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-000003", "step-000006"]
    state = torch.load(run / "checkpoints" / "step-000006" / "training_state.pt", weights_only=True)
    assert len(state["rng"]) == 2  # each rank's random stream is kept for an exact resume


# Families whose training step draws nothing at random: only there can two ranks, each drawing its
# own noise by design (per-rank seeds), match one process step for step.
DETERMINISTIC = {
    "transformer": ("transformer", FAMILIES["transformer"][2]),
    # Two micro-batches per process: DDP averages the gradients once, after the second (no_sync on the first).
    "transformer-accumulating": ("transformer", {**FAMILIES["transformer"][2], "grad_accumulation": 2}),
    "textgan": ("textgan", {"name": "mle", "embed_dim": 8, "hidden_dim": 8, "max_words": 200}),
}


@pytest.mark.parametrize("case", sorted(DETERMINISTIC))
def test_two_ranks_match_one_process_with_the_same_global_batch(tmp_path, case):
    family, model = DETERMINISTIC[case]
    weights = {}
    for processes in (1, 2):
        run, dump = tmp_path / f"run{processes}", tmp_path / f"dump{processes}"
        dump.mkdir()
        torchrun(tmp_path, family, "", run, dump, json.dumps(model), "{}", "{}", processes=processes)
        weights[processes] = load_file(str(dump / "rank0.safetensors"))
    assert weights[1].keys() == weights[2].keys()
    for key in weights[1]:
        # The ranks' gradients are averaged by all-reduce instead of summed in one batch: the same
        # numbers up to float rounding, which six Adam steps keep far below 1e-5.
        assert torch.allclose(weights[1][key], weights[2][key], atol=1e-5, rtol=0), key


POISON_RANK_ONE = textwrap.dedent("""
    import os, sys
    import torch
    from safetensors.torch import save_file
    from genlab.models.rgan import timegan
    from genlab.train.run import build_run_config, train

    original = timegan.minimise
    def poisoned(optimizer, loss):  # rank 1's joint-phase loss turns NaN at step 4 (index 3)
        if os.environ["RANK"] == "1" and seen["model"].step == 3:
            loss = loss * float("nan")
        original(optimizer, loss)
    timegan.minimise = poisoned
    seen = {}
    original_init = timegan.TimeGAN.__init__
    def remember(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        seen["model"] = self
    timegan.TimeGAN.__init__ = remember

    out, dump = sys.argv[1:3]
    config = build_run_config("rgan", overrides={
        "data": {"sines": 64, "window": 6}, "model": {"name": "timegan", "hidden_dim": 8, "autoencoder_steps": 1,
                                                     "supervised_steps": 1},
        "train": {"steps": 5, "batch_size": 16, "out": out, "log_every": 5, "skip_nonfinite": 1}})
    train(config, progress=False)
    state = {k: v.detach().contiguous().clone() for k, v in seen["model"].state_dict().items()}
    save_file(state, os.path.join(dump, f"rank{os.environ['RANK']}.safetensors"))
""")


def test_a_nan_on_one_rank_is_skipped_by_every_rank_of_a_gradient_averaging_model(tmp_path):
    """TimeGAN averages gradients before its finite-gradient guards: one rank's NaN reaches all
    ranks, which skip the step together (rather than one raising while the other waits)."""
    script = tmp_path / "poison.py"
    script.write_text(POISON_RANK_ONE)
    result = launch(tmp_path, script, tmp_path / "run", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    # Said once, by rank 0; both ranks skipped it (the run ended well, and their weights agree and are finite).
    assert output.count("step 4: non-finite generator gradients, that update and the rest of the step skipped (1 of "
                        "at most 1)") == 1
    rank0, rank1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    assert all(rank0[key].equal(rank1[key]) and torch.isfinite(rank0[key]).all() for key in rank0)


def test_the_log_window_open_at_a_resume_is_averaged_over_ranks_as_without_the_resume(tmp_path):
    """Checkpoint at step 3 inside the window of steps 3-4: the resumed step-4 line must be the uninterrupted one."""

    def genlab(out, steps, *extra):
        result = launch(tmp_path, "-m", "genlab", "train", "--config", "toy-ring", "--out", out, "--steps", steps,
                        "--quiet", "--train.log_every", "2", "--train.checkpoint_every", "3", "--batch-size", "64",
                        *extra)
        assert result.returncode == 0, result.stderr[-3000:]

    genlab(tmp_path / "whole", 4)
    genlab(tmp_path / "split", 3)
    genlab(tmp_path / "split", 4, "--resume", "auto")
    lines = {name: {json.loads(line)["step"]: json.loads(line) for line in
                    (tmp_path / name / "metrics.jsonl").read_text().splitlines()} for name in ("whole", "split")}
    for name in ("loss_discriminator", "loss_generator"):
        assert lines["split"][4][name] == pytest.approx(lines["whole"][4][name], rel=1e-6), name


def test_ranks_that_would_resume_from_different_steps_are_refused_before_training(tmp_path):
    """Two machines whose --train.out is not shared: rank 1's folder lacks rank 0's checkpoints."""
    shared, local = tmp_path / "shared", tmp_path / "rank1-disk"
    script = tmp_path / "per_rank_out.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        from genlab.cli import main
        out = {str(shared)!r} if os.environ["RANK"] == "0" else {str(local)!r}
        sys.exit(main(["train", "--config", "toy-ring", "--out", out, "--quiet", "--batch-size", "64",
                       "--train.checkpoint_every", "3", *sys.argv[1:]]))
    """))

    def run(*extra):
        return launch(tmp_path, script, *extra)

    first = run("--steps", "3")
    assert first.returncode == 0, first.stderr[-3000:]
    assert (shared / "checkpoints" / "step-000003").is_dir() and not local.exists()  # only rank 0 wrote
    before = (shared / "metrics.jsonl").read_bytes()
    resumed = run("--steps", "6", "--resume", "auto")
    assert resumed.returncode != 0
    assert "would start from different steps (3, 0 by rank)" in resumed.stderr
    # torchrun prints its own traceback for a failed child; genlab's processes print none
    assert f'File "{os.path.dirname(genlab.__file__)}' not in resumed.stderr
    assert (shared / "metrics.jsonl").read_bytes() == before  # nothing of the run changed
    assert not (shared / "checkpoints" / "step-000006").exists()
    # A copy of rank 0's run on rank 1's disk resumes; a checkpoint of the same step written at another
    # time (another run's) does not: DDP would broadcast rank 0's weights but not its optimizer state.
    shutil.copytree(shared, local)
    marker = local / "checkpoints" / "step-000003" / "COMPLETE"
    marker.write_text(marker.read_text().replace("written ", "written 1999-"))
    other = run("--steps", "6", "--resume", "auto")
    assert other.returncode != 0 and "found different checkpoints of step 3" in other.stderr
    shutil.rmtree(local)
    shutil.copytree(shared, local)
    copied = run("--steps", "6", "--resume", "auto")
    assert copied.returncode == 0, copied.stderr[-3000:]
    assert (shared / "checkpoints" / "step-000006").is_dir()


# where rank 0 fails -> (what the script replaces on rank 0 only, what rank 1 is told, rank 0's own error)
RANK_ZERO_FAILURES = {
    "checkpoint": ("trainer.save_checkpoint", "writing the checkpoint of step 3", "No space left on device"),
    "run lock": ("run.hold_run_lock", "locking and tidying the run folder", "No space left on device"),
}


@pytest.mark.parametrize("case", sorted(RANK_ZERO_FAILURES))
def test_when_rank_zero_fails_in_its_own_work_the_other_rank_stops_with_a_sentence(tmp_path, case):
    """Only rank 0 writes; a failure there (a full disk) must not leave rank 1 waiting in the next collective."""
    target, what, error = RANK_ZERO_FAILURES[case]
    script = tmp_path / "full_disk_on_rank0.py"
    script.write_text(textwrap.dedent(f"""
        import errno, os, sys
        from genlab.cli import main
        from genlab.train import run, trainer

        def full_disk(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        if os.environ["RANK"] == "0":
            {target} = full_disk
        sys.exit(main(["train", "--config", "toy-ring", "--out", sys.argv[1], "--quiet", "--batch-size", "64",
                       "--steps", "6", "--train.checkpoint_every", "3"]))
    """))
    result = launch(tmp_path, script, tmp_path / "run")
    assert result.returncode != 0
    assert f"Rank 0 failed while {what}" in result.stderr and "rank 1 stops with it" in result.stderr
    assert error in result.stderr  # rank 0's own sentence
    assert f'File "{os.path.dirname(genlab.__file__)}' not in result.stderr  # one sentence each, no traceback


def test_a_rank_that_cannot_read_its_checkpoint_on_resuming_stops_every_rank(tmp_path):
    """Each rank reads the checkpoint it finds (its machine's copy): one that fails there must not leave
    the others waiting in the collective that compares their steps."""
    script = tmp_path / "damaged_copy_on_rank1.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from genlab.cli import main
        from genlab.errors import CheckpointError
        from genlab.train import trainer

        def damaged(folder, *args, **kwargs):
            raise CheckpointError(f"{folder} is damaged on this machine")
        if os.environ["RANK"] == "1" and "--resume" in sys.argv:
            trainer.load_checkpoint = damaged
        code = main(["train", "--config", "toy-ring", "--out", sys.argv[1], "--quiet", "--batch-size", "64",
                     "--train.checkpoint_every", "3", *sys.argv[2:]])
        if code and os.environ["RANK"] == "1":  # torchrun ends the others once a rank exits: let rank 0 speak
            time.sleep(2)
        sys.exit(code)
    """))

    def run(*extra):
        return launch(tmp_path, script, tmp_path / "run", *extra)

    assert run("--steps", "3").returncode == 0
    resumed = run("--steps", "6", "--resume", "auto")
    assert resumed.returncode != 0
    assert "genlab (rank 1): error: " in resumed.stderr and "is damaged on this machine" in resumed.stderr
    assert "genlab: error: Rank 1 failed while loading its checkpoint to resume from" in resumed.stderr  # rank 0
    assert not (tmp_path / "run" / "checkpoints" / "step-000006").exists()
