"""The VAE through the command line: train, resume exactly, sample, evaluate, and bad input."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image


def test_train_sample_interpolate_and_evaluate(tmp_path, digits_npz, run_cli, tiny_vae):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "vae", "--data", digits_npz, "--steps", "4", "--batch-size", "16", "--out", run,
                             "--train.sample_every", "4", "--quiet", *tiny_vae)
    assert code == 0, err
    assert "vae/vae on 256 images 28×28×1" in out
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step-000004-interpolation.png", "step-000004-reconstructions.png", "step-000004-traversal.png",
        "step-000004.png"]
    assert Image.open(run / "samples" / "step-000004-reconstructions.png").size == (8 * 30 + 2, 4 * 30 + 2)
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["loss"] == pytest.approx(record["reconstruction"] + record["kl"], rel=1e-5)

    grid, walk = tmp_path / "grid.png", tmp_path / "walk.png"
    assert run_cli("sample", run, "--n", "6", "--out", grid)[0] == 0
    assert Image.open(grid).size == (3 * 30 + 2, 2 * 30 + 2)
    assert run_cli("sample", run, "--interpolate", "--n", "2", "--interpolation-steps", "5", "--out", walk)[0] == 0
    assert Image.open(walk).size == (5 * 30 + 2, 2 * 30 + 2)

    result_file = tmp_path / "eval.json"
    code, out, err = run_cli("eval", run, "--data", digits_npz, "--nll", "--k", "20", "--max-examples", "40",
                             "--json", result_file)
    assert code == 0, err
    assert "the NLL decodes 20 latents for each of 40 images (800 decoder passes)" in err  # the cost, said first
    result = json.loads(result_file.read_text())
    assert result["protocol"]["examples"] == 40 and result["protocol"]["importance_samples"] == 20
    assert result["protocol"]["nll_estimator"].startswith("-L_k with k = 20 importance samples")
    assert result["protocol"]["weights"] == str(run / "model")  # which weights were scored
    assert "first --max-examples" in result["protocol"]["selection"]
    assert result["nll"] <= -result["elbo"] + 1.0  # L_20 is a tighter bound than the ELBO, up to noise
    assert result["bits_per_dim"]["nll"] == pytest.approx(result["nll"] / (784 * np.log(2)))
    assert 0 <= result["active_units"] <= 4


def test_resumed_run_is_bit_identical(tmp_path, digits_npz, run_cli, tiny_vae, assert_same_run):
    # Dynamic binarisation, two latent samples and a KL warm-up: every random draw and the step count
    # must come back on resume.
    common = ["--batch-size", "16", "--train.log_every", "2", "--train.checkpoint_every", "3", "--quiet",
              "--model.samples", "2", "--model.kl_warmup_steps", "5", *tiny_vae]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "7", "--out", full, *common)[0] == 0
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "3", "--out", part, *common)[0] == 0
    code, out, _ = run_cli("train", "vae", "--data", digits_npz, "--steps", "7", "--out", part, "--resume", "auto",
                           *common)
    assert code == 0 and "resuming from step-000003" in out
    assert_same_run(full, part)


def test_conditional_vae_trains_on_labels_and_samples_a_class(tmp_path, digits_npz, run_cli, tiny_vae):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "vae", "--model.name", "cvae", "--data", digits_npz, "--steps", "2",
                           "--batch-size", "16", "--out", run, "--quiet", *tiny_vae)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["model"]["num_classes"] == 10
    assert run_cli("sample", run, "--n", "4", "--class", "7", "--out", tmp_path / "sevens.png")[0] == 0
    code, out, err = run_cli("eval", run, "--data", digits_npz, "--max-examples", "8")
    assert code == 0, err
    assert "-log p(x | y)" in json.loads(out)["protocol"]["conditioning"]  # not comparable with a VAE's NLL


def test_evaluating_on_the_digits_it_trained_on_is_flagged(tmp_path, digits_npz, run_cli, tiny_vae):
    run = tmp_path / "run"
    assert run_cli("train", "vae", "--steps", "1", "--batch-size", "8", "--out", run, "--quiet", *tiny_vae)[0] == 0
    for model in (run, run / "model"):
        code, out, err = run_cli("eval", model, "--max-examples", "8")  # no --data: the embedded digits again
        assert code == 0, err
        warning = json.loads(out)["protocol"]["warning"]
        assert "trained on the embedded MNIST test split" in warning and warning.endswith("with --data")
        assert f"genlab: warning: {warning}" in err
    # A file of those digits (the fixture's are the embedded digits' first 256) is told by its pixels.
    protocol = json.loads(run_cli("eval", run, "--data", digits_npz, "--max-examples", "8")[1])["protocol"]
    assert protocol["warning"] == warning and protocol["conditioning"] is None


def test_evaluating_on_its_own_training_file_is_flagged_and_the_batch_size_recorded(tmp_path, digits_npz, run_cli,
                                                                                     tiny_vae):
    run = tmp_path / "run"
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "1", "--batch-size", "8", "--out", run, "--quiet",
                   *tiny_vae)[0] == 0
    code, out, err = run_cli("eval", run, "--data", digits_npz, "--max-examples", "8", "--batch-size", "4")
    assert code == 0, err
    protocol = json.loads(out)["protocol"]
    assert protocol["warning"] == (f"the model was trained on {digits_npz}, which these numbers are measured on: they "
                                   "show fit to the training data, not generalisation; pass held-out images with "
                                   "--data")
    # The latent noise is drawn batch by batch: the estimate depends on the batch size, so it is recorded.
    assert protocol["batch_size"] == 4
    assert protocol["batch_size_note"].startswith("batches of up to 4 examples; z is drawn batch by batch")
    copy = tmp_path / "copy.npz"  # the training file under another name: its pixels tell
    shutil.copy(digits_npz, copy)
    protocol = json.loads(run_cli("eval", run, "--data", copy, "--max-examples", "8")[1])["protocol"]
    assert protocol["warning"].startswith(f"all 8 evaluation images ({copy}) are images the model was trained on: ")
    assert protocol["warning"].endswith("pass held-out images with --data")
    from genlab.data.images import embedded_digits_path

    held_out = tmp_path / "held-out.npz"  # embedded digits the model did not see (it saw the first 256)
    with np.load(embedded_digits_path()) as data:
        np.savez(held_out, x=data["x"][256:512], y=data["y"][256:512])
    protocol = json.loads(run_cli("eval", run, "--data", held_out, "--max-examples", "8")[1])["protocol"]
    assert "warning" not in protocol and protocol["batch_size"] == 256
    assert protocol["batch_size_note"].startswith("batches of up to 256 examples;")
    protocol = json.loads(run_cli("eval", run, "--data", held_out, "--max-examples", "8", "--batch-size",
                                  "100000")[1])["protocol"]
    assert protocol["batch_size"] == 2048  # what the decoder takes at once (vae.evaluation.decode_pairs)
    assert protocol["batch_size_note"].startswith("batches of up to 2048 examples (fewer than --batch-size: ")


def test_eval_beyond_memory_is_one_sentence(tmp_path, digits_npz, run_cli, tiny_vae, monkeypatch):
    from genlab.models.vae.model import VAE

    run = tmp_path / "run"
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "1", "--batch-size", "8", "--out", run, "--quiet",
                   *tiny_vae)[0] == 0

    def allocates_too_much(self, options):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried "
                           "to allocate 68719476736 bytes.")

    monkeypatch.setattr(VAE, "evaluate", allocates_too_much)
    code, out, err = run_cli("eval", run, "--data", digits_npz, "--batch-size", "64", "--max-examples", "100")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip() == ("genlab: error: The evaluation does not fit in memory with --batch-size 64 and "
                           "--max-examples 100; lower them.")
    assert not (run / "eval.json").exists()
    # A decoder pass takes min(k, 2048 // batch) × batch (example, sample) pairs, the batch capped at 2048 for
    # these images: at that cap neither --batch-size nor --k lowers it; below it, both do.
    code, _, err = run_cli("eval", run, "--data", digits_npz, "--nll", "--batch-size", "100000")
    assert code == 2 and err.strip() == ("genlab: error: The evaluation does not fit in memory with every example "
                                         "(no --max-examples); pass --max-examples to use fewer.")
    code, _, err = run_cli("eval", run, "--data", digits_npz, "--nll", "--k", "4", "--batch-size", "8")
    assert code == 2 and err.strip() == ("genlab: error: The evaluation does not fit in memory with --batch-size 8, "
                                         "--k 4 and every example (no --max-examples); lower them, or pass "
                                         "--max-examples to use fewer.")


def test_eval_without_data_refuses_a_model_of_other_images_and_names_the_training_data(tmp_path, digits_npz,
                                                                                      run_cli, tiny_vae):
    colour = tmp_path / "colour.npz"
    np.savez(colour, x=np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8))
    run = tmp_path / "colour-run"
    assert run_cli("train", "vae", "--data", colour, "--steps", "1", "--batch-size", "8", "--out", run, "--quiet",
                   *tiny_vae)[0] == 0
    code, out, err = run_cli("eval", run, "--max-examples", "8")
    assert code == 2 and "models 32×32×3 images" in err and "--data" in err and "Traceback" not in err
    assert not (run / "eval.json").exists()
    run = tmp_path / "digits-run"
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "1", "--batch-size", "8", "--out", run, "--quiet",
                   *tiny_vae)[0] == 0
    code, out, err = run_cli("eval", run, "--max-examples", "8")
    assert code == 0, err
    assert json.loads(out)["protocol"]["warning"].startswith(f"the model was trained on {digits_npz} ")


def test_bad_input_is_one_sentence_with_exit_code_2(tmp_path, digits_npz, run_cli, tiny_vae):
    unlabelled = tmp_path / "unlabelled.npz"
    with np.load(digits_npz) as data:
        np.savez(unlabelled, x=data["x"])
    code, _, err = run_cli("train", "vae", "--model.name", "cvae", "--data", unlabelled, "--steps", "1",
                           "--out", tmp_path / "a", *tiny_vae)
    assert code == 2 and "has no labels" in err and "Traceback" not in err
    code, _, err = run_cli("train", "vae", "--model.objective", "iwae", "--model.beta", "4", "--data", digits_npz,
                           "--out", tmp_path / "b")
    assert code == 2 and "--model.beta" in err and not (tmp_path / "b").exists()
    code, _, err = run_cli("train", "vae", "--data", digits_npz, "--steps", "1", "--out", digits_npz)
    assert code == 2 and f"--out {digits_npz} is a file, not a run directory" in err
    code, _, err = run_cli("train", "vae", "--model.num_classes", "5", "--out", tmp_path / "e")
    assert code == 2 and "--model.num_classes is for a class-conditional model" in err
    huge = tmp_path / "huge-labels.npz"
    with np.load(digits_npz) as data:
        np.savez(huge, x=data["x"], y=np.where(np.arange(len(data["y"])) == 3, 10**6, data["y"]))
    code, _, err = run_cli("train", "vae", "--model.name", "cvae", "--data", huge, "--out", tmp_path / "f")
    assert code == 2 and "has labels up to 1000000, more than a conditional model takes" in err
    assert not (tmp_path / "f").exists()
    code, _, err = run_cli("train", "vae", "--model.beta", "nan", "--out", tmp_path / "d")
    assert code == 2 and "--model.beta must be a non-negative number (got nan)" in err
    code, _, err = run_cli("train", "vae", "--model.likelihood", "poisson", "--out", tmp_path / "c")
    assert code == 2 and "--model.likelihood must be one of bernoulli, gaussian, logistic, categorical" in err

    run = tmp_path / "run"
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
                   *tiny_vae)[0] == 0
    code, _, err = run_cli("sample", run, "--class", "1", "--out", tmp_path / "class1.png")
    assert code == 2 and "--class needs a conditional model; this vae is unconditional" in err
    assert not (tmp_path / "class1.png").exists()
    code, _, err = run_cli("eval", run, "--nll", "--k", "0")
    assert code == 2 and "--k must be at least 1" in err
    code, _, err = run_cli("eval", run, "--data", tmp_path / "missing.npz")
    assert code == 2 and "missing.npz" in err
    for k in ("50", "5000"):  # --k without --nll would be ignored, also at its default value
        code, _, err = run_cli("eval", run, "--k", k)
        assert code == 2 and "--k is the number of importance samples of --nll" in err
    code, _, err = run_cli("eval", run, "--plots", digits_npz)
    assert code == 2 and "is a file; pass a folder" in err
    code, _, err = run_cli("eval", run, "--no-cache")  # it concerns image --metrics' reference features only
    assert code == 2 and "--no-cache is for image --metrics" in err
    code, _, err = run_cli("sample", run, "--interpolation-steps", "5", "--out", tmp_path / "x.png")
    assert code == 2 and "add --interpolate or drop it" in err and not (tmp_path / "x.png").exists()

    # Outputs never replace what the run or the command reads.
    data_before, config_before = digits_npz.read_bytes(), (run / "config.json").read_bytes()
    code, _, err = run_cli("sample", run, "--out", digits_npz)
    assert code == 2 and "which this model was trained on" in err
    code, _, err = run_cli("eval", run, "--data", digits_npz, "--json", digits_npz)
    assert code == 2 and "which this command reads" in err
    code, _, err = run_cli("eval", run / "model", "--json", run / "config.json")
    assert code == 2 and f"is part of the record of the run in {run.resolve()}" in err
    # ... nor another run's record: its config, its checkpoints' configs, its previews.
    other = tmp_path / "other"
    shutil.copytree(run, other)
    checkpoint_config = next((other / "checkpoints").iterdir()) / "config.json"
    before = {path: path.read_bytes() for path in (other / "config.json", checkpoint_config)}
    for target in (other / "config.json", checkpoint_config):
        code, _, err = run_cli("eval", run, "--max-examples", "4", "--json", target)
        assert code == 2 and f"is part of the record of the run in {other.resolve()}" in err
    code, _, err = run_cli("sample", run, "--n", "2", "--out", other / "samples" / "x.png")
    assert code == 2 and "is part of the record of the run" in err and not (other / "samples" / "x.png").exists()
    assert all(path.read_bytes() == content for path, content in before.items())
    project = tmp_path / "project"  # a folder that merely holds a config.json of its own is no run
    (project / "samples").mkdir(parents=True)
    (project / "config.json").write_text('{"name": "my project"}')
    code, _, err = run_cli("sample", run, "--n", "2", "--out", project / "samples" / "x.png")
    assert code == 0 and (project / "samples" / "x.png").is_file(), err
    exported = tmp_path / "exported"  # a model folder outside any run
    shutil.copytree(run / "model", exported)
    code, _, err = run_cli("eval", exported, "--json", exported / "config.json")
    assert code == 2 and "is a file of the model folder this command reads" in err
    code, _, err = run_cli("eval", exported, "--max-examples", "4", "--json", exported / "scores.json")
    assert code == 0, err  # a new file beside the model replaces nothing
    samples = tmp_path / "samples.npz"  # generated images to score: refused before they are read
    np.savez(samples, x=np.zeros((4, 28, 28), np.uint8))
    samples_before = samples.read_bytes()
    code, _, err = run_cli("eval", samples, "--metrics", "kid", "--json", samples)
    assert code == 2 and "which this command reads" in err and samples.read_bytes() == samples_before
    for _ in range(2):  # the run's own eval.json is an output, written again on each evaluation
        code, _, err = run_cli("eval", run, "--max-examples", "4", "--json", run / "eval.json")
        assert code == 0, err
    assert digits_npz.read_bytes() == data_before and (run / "config.json").read_bytes() == config_before


def test_eval_says_when_it_converted_the_images_or_kept_only_some_classes(tmp_path, digits_npz, run_cli, tiny_vae):
    run = tmp_path / "run"
    assert run_cli("train", "vae", "--data", digits_npz, "--steps", "1", "--batch-size", "8", "--out", run, "--quiet",
                   *tiny_vae)[0] == 0
    with np.load(digits_npz) as data:
        x, y = data["x"], data["y"]
    rgb = tmp_path / "rgb.npz"  # the same digits stored as 28×28 RGB: recoloured to grey for the model
    np.savez(rgb, x=np.repeat(x[..., None], 3, axis=-1), y=y)
    code, out, err = run_cli("eval", run, "--data", rgb, "--max-examples", "8")
    assert code == 0, err
    assert "(converted 28×28×3 → 28×28×1 (H×W×C) to the model's shape)" in json.loads(out)["protocol"]["data"]
    (tmp_path / "pictures").mkdir()  # a folder's pictures are converted one by one as they are read: said too
    for i in range(4):
        Image.fromarray(np.repeat(x[i][..., None], 3, axis=-1)).resize((32, 32)).save(tmp_path / "pictures" / f"{i}.png")
    code, out, err = run_cli("eval", run, "--data", tmp_path / "pictures")
    assert code == 0, err
    assert "(converted 32×32×3 → 28×28×1 (H×W×C) to the model's shape)" in json.loads(out)["protocol"]["data"]
    ordered = tmp_path / "ordered.npz"  # sorted by class, as a folder of class subfolders loads
    order = np.argsort(y, kind="stable")
    np.savez(ordered, x=x[order], y=y[order])
    first_class = int((y == y[order][0]).sum())
    code, out, err = run_cli("eval", run, "--data", ordered, "--max-examples", str(first_class))
    data = json.loads(out)["protocol"]["data"]
    assert code == 0 and f"its first {first_class} images, the --max-examples selection, hold 1 of its 10 classes" in data
    assert "converted" not in data


def test_a_conditional_model_matches_another_folders_classes_by_name(tmp_path, digits_npz, run_cli, tiny_vae):
    """A folder numbers its subfolders in order: 5 and 7 alone would be labels 0 and 1, not the model's 1 and 2."""
    with np.load(digits_npz) as data:
        x, y = data["x"], data["y"]
    picked = {digit: x[y == digit][:12] for digit in (3, 5, 7, 9)}

    def folder(name, digits):
        for digit in digits:
            (tmp_path / name / str(digit)).mkdir(parents=True)
            for i, image in enumerate(picked[digit]):
                Image.fromarray(image).save(tmp_path / name / str(digit) / f"{i:02d}.png")  # read in this order
        return tmp_path / name

    run = tmp_path / "run"
    code, _, err = run_cli("train", "vae", "--model.name", "cvae", "--data", folder("train", (3, 5, 7)), "--steps",
                           "2", "--batch-size", "8", "--out", run, "--quiet", *tiny_vae)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["model"]["class_names"] == ["3", "5", "7"]
    np.savez(tmp_path / "fives_sevens.npz", x=np.concatenate([picked[5], picked[7]]), y=np.repeat([1, 2], 12))
    scored = [json.loads(run_cli("eval", run, "--data", data, "--seed", "1")[1])["elbo"]
              for data in (folder("held_out", (5, 7)), tmp_path / "fives_sevens.npz")]
    assert scored[0] == pytest.approx(scored[1], rel=1e-6)  # the folder's 5s and 7s read as the model's 5s and 7s
    code, _, err = run_cli("eval", run, "--data", folder("other", (5, 9)))
    assert code == 2 and "has class '9', which the model was not trained on (its classes: 3, 5, 7)" in err

    # A model of an .npz's numbered classes reads subfolders named 5 and 7 as its classes 5 and 7, not 0 and 1.
    numbered = tmp_path / "numbered"
    assert run_cli("train", "vae", "--model.name", "cvae", "--data", digits_npz, "--steps", "2", "--batch-size", "8",
                   "--out", numbered, "--quiet", *tiny_vae)[0] == 0
    np.savez(tmp_path / "by_number.npz", x=np.concatenate([picked[5], picked[7]]), y=np.repeat([5, 7], 12))
    scored = [json.loads(run_cli("eval", numbered, "--data", data, "--seed", "1")[1])["elbo"]
              for data in (tmp_path / "held_out", tmp_path / "by_number.npz")]
    assert scored[0] == pytest.approx(scored[1], rel=1e-6)
    (tmp_path / "held_out" / "7").rename(tmp_path / "held_out" / "seven")
    code, _, err = run_cli("eval", numbered, "--data", tmp_path / "held_out")
    assert code == 2 and "names its classes by its subfolders (5, seven), but the model knows its classes by " \
                         "number (0 to 9" in err


def test_a_file_holding_the_embedded_digits_is_flagged_for_a_vae_trained_on_them(tmp_path, run_cli, tiny_vae):
    from genlab.data.images import embedded_digits_path

    run = tmp_path / "run"
    assert run_cli("train", "vae", "--steps", "1", "--batch-size", "8", "--out", run, "--quiet", *tiny_vae)[0] == 0
    shutil.copy(embedded_digits_path(), tmp_path / "copy.npz")
    code, out, err = run_cli("eval", run, "--data", tmp_path / "copy.npz", "--max-examples", "8")
    assert code == 0, err
    assert json.loads(out)["protocol"]["warning"].startswith("the model was trained on the embedded MNIST test split")
    (tmp_path / "mixed").mkdir()  # pictures of two sizes: the evaluation resizes them, so the check must not fail
    for i, size in enumerate((28, 32, 28, 32)):
        Image.fromarray(np.full((size, size), 40 * i, np.uint8)).save(tmp_path / "mixed" / f"{i}.png")
    code, out, err = run_cli("eval", run, "--data", tmp_path / "mixed")
    assert code == 0 and "warning" not in json.loads(out)["protocol"], err
