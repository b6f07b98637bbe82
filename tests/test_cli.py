"""The command line end to end: train, sample, list, data info, and one assertion per bad input."""

import io
import json
import math
import os
import shutil
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.cli import main
from genlab.errors import GenlabError
from genlab.models.gan import GAN


def test_train_then_sample_then_interpolate(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "4", "--batch-size", "16",
                             "--out", run, "--train.sample_every", "2", "--quiet", *tiny_dcgan)
    assert code == 0, err
    assert "256 images 28×28×1" in out
    saved = json.loads((run / "config.json").read_text())
    assert saved["model"]["resolution"] == 28 and saved["model"]["channels"] == 1  # filled from the data
    assert saved["versions"]["torch"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000002.png", "step-000004.png"]

    grid = tmp_path / "grid.png"
    code, out, _ = run_cli("sample", run, "--n", "6", "--out", grid, "--seed", "3")
    assert code == 0 and out.strip() == f"genlab: wrote {grid}"
    live = tmp_path / "live"  # as a run still training (no model/ export yet) leaves its folder
    shutil.copytree(run, live)
    shutil.rmtree(live / "model")
    code, out, _ = run_cli("sample", live, "--n", "6", "--out", tmp_path / "live.png")
    assert code == 0 and out.strip().endswith(", from its newest checkpoint, step-000004 (the run has no model/ "
                                              "export yet: it is still training or stopped before its last step)")
    assert Image.open(grid).size == (3 * 30 + 2, 2 * 30 + 2)  # 3 columns x 2 rows of 28 px, 2 px padding
    again = tmp_path / "again.PNG"  # the suffix in any case
    assert run_cli("sample", run / "model", "--n", "6", "--out", again, "--seed", "3")[0] == 0
    assert np.array_equal(np.asarray(Image.open(grid)), np.asarray(Image.open(again)))  # seeded

    walk = tmp_path / "walk.png"
    assert run_cli("sample", run, "--interpolate", "--n", "2", "--interpolation-steps", "5", "--out", walk)[0] == 0
    assert Image.open(walk).size == (5 * 30 + 2, 2 * 30 + 2)
    code, _, err = run_cli("sample", run, "--interpolate", "--n", "2", "--interpolation-steps", str(10**19),
                           "--out", walk)
    assert code == 2 and f"--n 2 rows of --interpolation-steps {10**19} images do not fit in memory; lower --n or " \
                         "--interpolation-steps" in err
    assert Image.open(walk).size == (5 * 30 + 2, 2 * 30 + 2)  # the earlier file stays


def test_samples_beyond_memory_are_one_sentence_and_leave_the_old_file(tmp_path, digits_npz, run_cli, tiny_dcgan,
                                                                        monkeypatch):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"earlier")

    def refuse(self, n, *args, **kwargs):  # what torch's allocator says to --n 100000000
        raise RuntimeError(f"[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you "
                           f"tried to allocate {n * 400} bytes.")

    monkeypatch.setattr(GAN, "sample_latent", refuse)  # the first allocation of --n's size
    code, _, err = run_cli("sample", run, "--n", "100000000", "--out", grid)
    assert code == 2 and err.strip() == ("genlab: error: --n 100000000 samples do not fit in memory; draw fewer "
                                         "(several calls with different --seed values give more).")
    assert grid.read_bytes() == b"earlier"


def test_sample_output_paths_and_model_paths_get_one_sentence(tmp_path, digits_npz, run_cli, tiny_dcgan,
                                                               monkeypatch):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("sample", run, "--out", "")  # an unset shell variable: not the default samples.png
    assert code == 2 and "--out is empty; pass a file name" in err and not (tmp_path / "samples.png").exists()
    code, _, err = run_cli("sample", run / "model" / "model.safetensors", "--out", "s.png")
    assert code == 2 and "is one file of a model; pass the folder that holds it" in err
    code, _, err = run_cli("report", tmp_path / "nowhere")
    assert code == 2 and "nowhere does not exist" in err
    code, _, err = run_cli("eval", run, "--plots", "")
    assert code == 2 and "--plots is empty; pass a folder for the figures" in err

    def refuse(prefix, suffix, dir):  # what a folder without write permission does to the temporary file
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}x{suffix}"))

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    locked = tmp_path / "locked"
    code, _, err = run_cli("sample", run, "--out", locked / "s.png")
    assert code == 2 and f"Permission denied: {locked / 's.png'};" in err and ".tmp" not in err


def test_image_metrics_beyond_memory_are_one_sentence(tmp_path, digits_npz, run_cli, tiny_dcgan, monkeypatch):
    import torch

    import genlab.metrics.images

    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)

    def allocates_too_much(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 40.00 GiB.")

    monkeypatch.setattr(genlab.metrics.images, "evaluate_images", allocates_too_much)
    code, out, err = run_cli("eval", run, "--metrics", "fd", "--n", "5000000", "--batch-size", "4096")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.strip() == ("genlab: error: The evaluation does not fit in memory with --n 5000000 samples and "
                           "--batch-size 4096; lower them.")


def test_a_gan_is_evaluated_through_its_samples(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    code, _, err = run_cli("eval", run)
    assert code == 2 and "A GAN has no likelihood to evaluate; score the samples of gan/dcgan with --metrics" in err
    assert not (run / "eval.json").exists()


def test_rerunning_into_an_existing_run_is_refused_and_leaves_it_intact(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    before = (run / "model" / "model.safetensors").read_bytes()
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--out", run, *tiny_dcgan)
    assert code == 2 and "already holds a run; pass --resume auto" in err
    assert (run / "model" / "model.safetensors").read_bytes() == before


def test_a_run_inside_another_run_or_over_a_folder_of_runs_is_refused(tmp_path, digits_npz, run_cli, tiny_dcgan):
    runs = tmp_path / "runs"
    common = ["--data", digits_npz, "--steps", "1", "--batch-size", "16", "--quiet", *tiny_dcgan]
    assert run_cli("train", "gan", "--out", runs / "first", *common)[0] == 0
    code, _, err = run_cli("train", "gan", "--out", runs / "first" / "samples" / "second", *common)
    assert code == 2 and f"lies inside samples/ of the run {(runs / 'first').resolve()}; pass --out a folder " in err
    assert not (runs / "first" / "samples" / "second").exists()
    code, _, err = run_cli("train", "gan", "--out", runs, *common)
    assert code == 2 and "holds other runs (first), not one run; pass --out" in err
    assert not (runs / "config.json").exists()
    # A config.json above that belongs to no run's folder (a project's, a copied run config) is not a run around it.
    (tmp_path / "config.json").write_text('{"editor": "x"}')
    shutil.copy(runs / "first" / "config.json", runs / "config.json")  # reused with --config, say
    assert run_cli("train", "gan", "--out", runs / "second", *common)[0] == 0


def test_a_family_that_differs_from_the_config_or_the_resumed_run_is_refused(tmp_path, run_cli):
    (tmp_path / "vae.yaml").write_text("family: vae\n")
    code, _, err = run_cli("train", "gan", "--config", tmp_path / "vae.yaml", "--out", tmp_path / "a")
    assert code == 2 and "The config is for family 'vae' but the command asks for 'gan'; drop one of them." in err
    assert run_cli("train", "vae", "--steps", "1", "--batch-size", "8", "--out", tmp_path / "v", "--quiet",
                   "--model.latent_dim", "4")[0] == 0
    code, _, err = run_cli("train", "gan", "--resume", tmp_path / "v", "--steps", "2", "--out", tmp_path / "b")
    assert code == 2 and "The run to resume is of family 'vae', but the command asks for 'gan'" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_list_and_data_info(run_cli, digits_npz):
    code, out, _ = run_cli("list")
    assert code == 0 and "dcgan" in out and "mnist" in out
    assert all(f"  {family} " in out for family in ("gan", "vae", "transformer", "rgan")) and "tiny Shakespeare" in out
    assert "textgan: tiny Shakespeare's lines as sentences" in out
    code, out, _ = run_cli("list", "prices-crnngan")  # a packaged config: its file, comments (measurements) and all
    from genlab.config import packaged_configs

    assert code == 0 and out.startswith("packaged config prices-crnngan (") and "--data DATA, for a CSV" in out
    assert out.rstrip().endswith(packaged_configs()["prices-crnngan"].read_text().rstrip())
    assert "drop --model" in run_cli("list", "prices-crnngan", "--model", "timegan")[2]
    code, out, _ = run_cli("data", "info", digits_npz)
    info = json.loads(out)
    assert code == 0 and info["format"] == "npz" and info["count"] == 256 and info["shape"] == [28, 28, 1]
    assert info["dtype"] == "uint8" and sum(info["classes"].values()) == 256


def bad_npz(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.zeros((4, 28, 28), np.float32))
    return path


def garbage_npz(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip archive")
    return path


def config_file(tmp_path, text):
    path = tmp_path / "config.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("make_args, message", [
    (lambda t: ["train", "gan", "--data", t / "nope.npz"], "does not exist"),
    (lambda t: ["train", "gan", "--data", t / "empty"], "empty"),
    (lambda t: ["train", "gan", "--data", bad_npz(t)], "uint8"),
    (lambda t: ["train", "gan", "--model.latent_dimm", "3"], "Unknown option --model.latent_dimm"),
    (lambda t: ["train", "gan", "--steps", "0"], "--train.steps must be at least 1"),
    (lambda t: ["train", "gan", "--model.resolution", "48"], "--model.resolution must be one of 28, 32, 64"),
    (lambda t: ["train", "gan", "--device", "cuda:7"], "--train.device"),
    (lambda t: ["train", "gan", "--resume", t / "nothing"], "does not exist"),
    (lambda t: ["train", "gan", "--resume", t], "holds no complete checkpoint"),
    (lambda t: ["train", "gan", "--config", t / "missing.yaml"], "does not exist"),
    (lambda t: ["sample", t], "holds no model"),
    (lambda t: ["sample", t / "nothing"], "does not exist"),
    (lambda t: ["eval", t, "--temperature", "0"], "--temperature must be a finite number of at least 0.01 (got 0.0)"),
    (lambda t: ["generate", t, "--temperature", "0", "--top-k", "5"], "--top-k has no effect at --temperature 0"),
    (lambda t: ["generate", t, "--temperature", "0", "--top-p", "0.9"], "--top-p has no effect at --temperature 0"),
    (lambda t: ["eval", t, "--temperature", "inf"], "--temperature must be a finite number of at least 0.01 (got inf)"),
    # Below 0.01, logits / temperature overflow and NLL_gen would be infinite (not JSON).
    (lambda t: ["eval", t, "--temperature", "1e-45"], "--temperature must be a finite number of at least 0.01 (got 1e-45)"),
    (lambda t: ["sample", t, "--out", garbage_npz(t) / "x.png"], "garbage.npz, which is a file, not a folder"),
    (lambda t: ["eval", t, "--json", garbage_npz(t) / "x.json"], "garbage.npz, which is a file, not a folder"),
    (lambda t: ["eval", t, "--plots", garbage_npz(t) / "figures"], "garbage.npz, which is a file, not a folder"),
    (lambda t: ["eval", t, "--metrics", "fd", "--temperature", "0.5"], "--temperature is not used by image --metrics"),
    (lambda t: ["eval", t, "--metrics", "fd", "--data", t], "--data is not used by image --metrics (their reference"),
    (lambda t: ["eval", t, "--metrics", "fd", "--max-examples", "5"], "--max-examples is not used by image --metrics"),
    (lambda t: ["eval", t, "--metrics", "fd", "--k", "5000"], "--k is not used by image --metrics"),  # the default
    (lambda t: ["eval", t, "--data", ""], "--data is empty; name the data to evaluate on, or leave the option out"),
    (lambda t: ["eval", t, "--ref", ""], "--ref is empty; name the reference data, or leave the option out"),
    (lambda t: ["data", "info", ""], "'genlab data info': the path is empty; name a data file or folder."),
    (lambda t: ["data", "info", t / "lines.txt"], "lines.txt is for the text families, which read it with 'genlab "
                                                  "train FAMILY --data"),
    (lambda t: ["eval", t, "--extractor", "mnist"], "--extractor is for image --metrics; add --metrics"),
    (lambda t: ["train"], "Name a model family"),
    (lambda t: ["train", "gam"], "Unknown model family 'gam'"),
    (lambda t: ["train", "gan", "--data", garbage_npz(t)], "is not a readable .npz file"),
    (lambda t: ["train", "gan", "--steps", "2", "--train.steps", "abc"], "--steps 2 and --train.steps abc"),
    (lambda t: ["train", "--config", config_file(t, '{"family": ["gan"]}')], "The family must be a name"),
    (lambda t: ["sample", t, "--out", t / "empty"], "is a folder; pass a file name"),
    (lambda t: ["eval", t, "--json", t / "empty"], "is a folder; pass a file name"),
    (lambda t: ["sample", t, "--seed", "-1"], "--seed must be an integer from 0 to 2**63 - 1 (got -1)"),
    (lambda t: ["train", "gan", "--seed", str(2**64)], "--train.seed must be an integer from 0 to 2**63 - 1"),
    (lambda t: ["train", "vae", "--config", config_file(t, '{"model": {"latent_dimm": 3}}')],
     "config.json: unknown option --model.latent_dimm (did you mean --model.latent_dim?)"),
    (lambda t: ["train", "vae", "--config", config_file(t, '{"trian": {"steps": 3}}')],
     "config.json: unknown config section 'trian'"),
    (lambda t: ["train", "vae", "--config", config_file(t, '{"model": {"latent_dim": "three"}}')],
     "config.json: --model.latent_dim must be an integer"),
    (lambda t: ["train", "vae", "--config", config_file(t, '{"model": {"latent_dim": -1, "lr": 0.001}}')],
     "config.json: --model.latent_dim must be between 1 and 4096 (got -1)"),  # a range the config checks
    # The same mistake on the command line beside a sound file is not blamed on the file.
    (lambda t: ["train", "vae", "--config", config_file(t, '{"model": {"latent_dim": 3}}'), "--model.latent_dim",
                "three"], "error: --model.latent_dim must be an integer"),
    (lambda t: ["train", "--config", config_file(t, "? [a, b]\n: 1\n")], "the key ['a', 'b'] on line 1 is not a name"),
    (lambda t: ["train", "gan", "--stepz", "2"], "'genlab train' has no option --stepz (did you mean --steps?)"),
    (lambda t: ["train", "gan", "--step", "2"], "has no option --step (did you mean --steps?)"),  # no abbreviations
    (lambda t: ["sample", t, "extra"], "'genlab sample' takes no further argument 'extra'"),
    (lambda t: ["train", "gan", "--out", ""], "--train.out is empty; name a folder for the run"),
    (lambda t: ["train", "gan", "--data", ""], "--data is empty; name a data file or folder"),
    (lambda t: ["train", "gan", "--data.resolution", "30"], "--data.resolution 30 is not a resolution this model"),
    (lambda t: ["train", "vae", "--model.lr", "0"], "--model.lr must be a learning rate between 0 and 1 (got 0.0)"),
    (lambda t: ["train", "rgan", "--model.lr_generator", "2"], "--model.lr_generator must be a learning rate"),
    (lambda t: ["train", "textgan", "--model.lr_pretrain", "0"], "--model.lr_pretrain must be a learning rate"),
    (lambda t: ["train", "rgan", "--data.seed", "-1"], "--data.seed must be an integer from 0 to 2**63 - 1"),
    (lambda t: ["train", "transformer", "--model.vocab", "[a, a, b]"], "--model.vocab must list distinct symbols"),
    (lambda t: ["list", "gan", "--model", "vae"], "--model vae is not a gan model; choose one of"),
    (lambda t: ["train", "gan", "--steps", "2.5"], "Argument --steps: invalid int value: '2.5'; see 'genlab train"),
    (lambda t: ["sample"], "The following arguments are required: model; see 'genlab sample --help'."),
    (lambda t: ["train", "rgan", "--model.data_fill", "ffill"], "--model.data_fill is recorded from the training data "
                                                                 "(--data.fill), not an option; drop it."),
    (lambda t: ["train", "gan", "--resume", ""], "--resume is empty; pass auto or a run or checkpoint folder"),
    (lambda t: ["train", "--config", ""], "--config is empty; pass a config file"),
    (lambda t: ["train", "--config", config_file(t, "")], "config.json is empty; add one such as 'family: gan'"),
    (lambda t: ["train", "--config", config_file(t, '{"train": {"steps": 2}}')], "config.json has no 'family:' line"),
    (lambda t: ["eval", t, "--metrics", ""], "--metrics is empty; pass metric names"),
    (lambda t: ["eval", t, "--json", t / "keep.png"], "keep.png does not end in .json; pass a .json file name"),
    (lambda t: ["train", "gan", "--steps", "3", "--steps", "2"], "Option --steps is given twice; pass it once."),
    (lambda t: ["sample", t, "--out", "a.png", "--out", "b.png"], "Option --out is given twice; pass it once."),
    (lambda t: ["train", "--config", config_file(t, '{"a": ' * 20000 + "1" + "}" * 20000)],
     "config.json is nested too deeply to read"),
    (lambda t: ["train", "transformer", "--model.width", str(2**42)],  # more bytes than any address space
     "A transformer model of this size does not fit in memory; lower its size options"),
])
def test_bad_input_is_one_clear_sentence_with_exit_code_2(tmp_path, run_cli, make_args, message, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)  # a check that regressed would train into ./runs here, not into the repository
    code, out, err = run_cli(*make_args(tmp_path))
    assert code == 2
    assert message in err
    assert "Traceback" not in err and err.startswith("genlab: error: ") and len(err.strip().splitlines()) == 1
    assert "unsafely" not in err and "allow_pickle" not in err  # never advise unsafe loading


def test_training_into_a_folder_of_other_files_is_refused_and_leaves_them(tmp_path, run_cli, digits_npz, tiny_dcgan):
    folder = tmp_path / "mine"
    (folder / "checkpoints" / "step-100").mkdir(parents=True)
    (folder / "checkpoints" / "step-100" / "weights.bin").write_bytes(b"keep")
    (folder / "metrics.jsonl").write_text("my own log\n")
    before = sorted((p.relative_to(folder), p.read_bytes() if p.is_file() else None) for p in folder.rglob("*"))
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--out", folder, "--steps", "2", *tiny_dcgan)
    assert code == 2 and "already holds checkpoints, metrics.jsonl but no genlab run" in err
    assert sorted((p.relative_to(folder), p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")) == before
    for name, other in (("empty", None), ("volume", "lost+found"), ("copied", "step-000100")):
        (tmp_path / name).mkdir()  # an empty folder, or one of files a run never writes, is a fine place for a run
        if other:
            (tmp_path / name / other).mkdir()
        code, _, err = run_cli("train", "gan", "--data", digits_npz, "--out", tmp_path / name, "--steps", "2",
                               "--quiet", *tiny_dcgan)
        assert code == 0, err
        assert other is None or (tmp_path / name / other).is_dir()


def test_debug_shows_the_traceback_and_keeps_the_exit_status(tmp_path, run_cli):
    code, _, err = run_cli("--debug", "train", "gan", "--data", tmp_path / "nope.npz")
    assert code == 2 and "Traceback (most recent call last)" in err and "DataError" in err
    assert err.rstrip().splitlines()[-1].startswith(f"genlab: error: {tmp_path / 'nope.npz'} does not exist")
    code, _, err = run_cli("train", "gan", "--data", tmp_path / "nope.npz")
    assert code == 2 and "Traceback" not in err


def test_checkpoint_of_another_model_is_refused_on_sample(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    config = json.loads((run / "model" / "config.json").read_text())
    config["model"]["generator_width"] = 16
    (run / "model" / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli("sample", run, "--out", tmp_path / "x.png")
    assert code == 2 and "holds weights of another model" in err


def test_dotted_options_after_a_config_are_options_not_the_family(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    code, out, err = run_cli("train", "--config", "mnist-dcgan", "--train.steps", "2", "--data", digits_npz,
                             "--batch-size", "16", "--out", run, "--quiet", *tiny_dcgan)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 2


@pytest.mark.parametrize("args, message", [
    (["--data.resolution", "32", "--model.resolution", "64"], "--data.resolution 32 differs from --model.resolution 64"),
    (["--model.lr_generator", "-1"], "--model.lr_generator must be a learning rate"),
])
def test_conflicting_or_invalid_options_fail_before_the_run_starts(tmp_path, run_cli, digits_npz, args, message):
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--out", tmp_path / "run", *args)
    assert code == 2 and message in err
    assert not (tmp_path / "run").exists()  # nothing written, so the same --out can be used again


def test_toy_model_samples_as_a_scatter_plot_and_refuses_interpolation(tmp_path, run_cli):
    run = tmp_path / "ring"
    code, _, err = run_cli("train", "--config", "toy-ring", "--steps", "2", "--out", run, "--quiet")
    assert code == 0, err
    assert run_cli("sample", run, "--n", "100", "--out", tmp_path / "points.png")[0] == 0
    assert Image.open(tmp_path / "points.png").size == (512, 512)
    assert json.loads((run / "config.json").read_text())["model"]["mixture"] == "ring"
    pixels = np.asarray(Image.open(tmp_path / "points.png").convert("RGB")).reshape(-1, 3)
    assert ((pixels[:, 0] > 200) & (pixels[:, 1] < 50)).any()  # the ring's modes, marked in red
    code, _, err = run_cli("sample", run, "--interpolate", "--out", tmp_path / "walk.png")
    assert code == 2 and "--interpolate needs an image model" in err
    code, _, err = run_cli("sample", run, "--device", "cuda:3", "--out", tmp_path / "x.png")
    assert code == 2 and "--device cuda:3 asks for CUDA" in err


def test_a_run_folder_named_by_bytes_that_are_not_utf8_trains_samples_and_reports(tmp_path, monkeypatch):
    # Python hands such a path over as surrogate escapes; a UTF-8 locale's stdout refuses to print
    # those, and safetensors refuses to open them. Both must still work, the printed path escaped.
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    run, png = tmp_path / os.fsdecode(b"ring-\xff"), tmp_path / os.fsdecode(b"points-\xfe.png")
    assert main(["train", "--config", "toy-ring", "--steps", "2", "--out", str(run), "--quiet"]) == 0
    assert main(["sample", str(run), "--n", "100", "--out", str(png)]) == 0
    assert main(["report", str(run)]) == 0
    stdout.flush()
    printed = stdout.buffer.getvalue().decode("utf-8")
    assert f"samples in {tmp_path}/ring-\\udcff/samples" in printed
    assert f"wrote {tmp_path}/points-\\udcfe.png" in printed
    assert Image.open(png).size == (512, 512)
    assert "ring-\\udcff" in (run / "report.html").read_text(encoding="utf-8")


def test_a_run_inside_its_own_data_folder_is_refused_before_anything_is_written(tmp_path, run_cli):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("to be or not to be, that is the question\n" * 20)
    code, _, err = run_cli("train", "transformer", "--data", corpus, "--out", corpus / "run", "--steps", "1")
    assert code == 2 and "is inside the data folder" in err and "put the run outside" in err
    assert sorted(p.name for p in corpus.iterdir()) == ["a.txt"]


def test_resuming_a_finished_run_with_changed_settings_is_refused_and_leaves_its_record(tmp_path, run_cli):
    run = tmp_path / "ring"
    assert run_cli("train", "--config", "toy-ring", "--steps", "2", "--out", run, "--quiet")[0] == 0
    record = (run / "config.json").read_bytes()
    code, _, err = run_cli("train", "--resume", "auto", "--out", run, "--model.lr_generator", "1e-4")
    assert code == 2 and "is at step 2, the run's last (--train.steps), so nothing would train with the changed " \
                         "settings" in err
    assert "model.lr_generator 0.001 → 0.0001" in err and (run / "config.json").read_bytes() == record
    assert run_cli("train", "--resume", "auto", "--out", run, "--quiet")[0] == 0  # unchanged: allowed


def test_a_renamed_copy_of_a_final_checkpoint_is_still_known_as_final(tmp_path, run_cli):
    run = tmp_path / "ring"
    assert run_cli("train", "--config", "toy-ring", "--steps", "2", "--out", run, "--quiet")[0] == 0
    best = tmp_path / "best"
    shutil.copytree(run / "checkpoints" / "step-000002", best)  # its name no longer says step 2; its marker does
    code, _, err = run_cli("train", "--resume", best, "--out", tmp_path / "again", "--model.lr_generator", "1e-4")
    assert code == 2 and "is at step 2, the run's last" in err and not (tmp_path / "again").exists()


def test_resume_auto_needs_only_the_run_directory(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3", "--quiet")
    assert code == 0, err
    assert "resuming from step-000002" in out and "warning" not in out  # more steps change nothing else
    assert "nothing to train" not in out
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--quiet")  # a finished run, run again
    assert code == 0 and "note: step-000003 is the run's last step (--train.steps 3): nothing to train" in out, err


def test_resuming_with_another_batch_size_says_so(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    changes = config_file(tmp_path, '{"model": {"lr_generator": 0.001}, "train": {"batch_size": 4}}')
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3", "--batch-size", "8",
                             "--config", changes, "--quiet")  # the command line wins over the file
    assert code == 0, err
    warning = next(line for line in out.splitlines() if line.startswith("genlab: warning: resuming with settings"))
    assert "train.batch_size 16 → 8" in warning and "model.lr_generator 0.0002 → 0.001" in warning
    assert "train.steps" not in warning
    saved = json.loads((run / "config.json").read_text())
    assert saved["train"]["batch_size"] == 8 and saved["model"]["lr_generator"] == 0.001


@pytest.mark.parametrize("has_units", [True, False])
def test_bf16_on_the_cpu_runs_only_where_the_cpu_has_bf16_units(tmp_path, run_cli, digits_npz, tiny_dcgan,
                                                                 monkeypatch, has_units):
    from genlab.train import trainer

    monkeypatch.setattr(trainer, "cpu_has_bf16_units", lambda: has_units)  # both branches, whatever this CPU has
    real_autocast, entered = torch.autocast, []

    class SpiedAutocast(real_autocast):
        def __enter__(self):
            entered.append((self.fast_dtype, self._enabled))
            return super().__enter__()

    monkeypatch.setattr(torch, "autocast", SpiedAutocast)
    run = tmp_path / "run"
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--device", "cpu", "--train.precision", "bf16",
                           "--steps", "2", "--batch-size", "8", "--train.log_every", "1", "--out", run, "--quiet",
                           *tiny_dcgan)
    if has_units:
        assert code == 0, err
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [1, 2]
        assert all(math.isfinite(r["loss_generator"]) for r in records)
        assert entered and all(entry == (torch.bfloat16, True) for entry in entered)  # each step under bf16 autocast
    else:
        assert code == 2 and "--train.precision bf16 needs a CUDA device or a CPU with bf16 units" in err
        assert not run.exists() and not entered


def test_an_unwritable_output_path_is_one_sentence(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    (tmp_path / "file").write_text("")
    code, _, err = run_cli("sample", run, "--out", tmp_path / "file" / "x.png")  # a file where a folder must be
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1 and str(tmp_path / "file") in err


def test_a_resume_that_fails_keeps_the_newer_checkpoints(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "4", "--batch-size", "16", "--out", run, "--quiet",
            "--train.checkpoint_every", "2", *tiny_dcgan)
    before = {p.name: (p / "model.safetensors").read_bytes() for p in (run / "checkpoints").iterdir()}
    metrics = (run / "metrics.jsonl").read_text()
    code, _, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3", "--quiet")
    assert code == 2 and "--train.steps 3 is below the step of checkpoint" in err and "(4)" in err
    code, _, err = run_cli("train", "--resume", run / "checkpoints" / "step-000002", "--steps", "6",
                           "--model.latent_dim", "8", "--quiet")
    assert code == 2 and "The changed settings (model.latent_dim 16 → 8) change the model's layers" in err
    assert {p.name: (p / "model.safetensors").read_bytes() for p in (run / "checkpoints").iterdir()} == before
    assert (run / "metrics.jsonl").read_text() == metrics
    # A failure in the first step of the resumed run (a batch that does not fit, say) keeps them too.
    config = (run / "config.json").read_text()

    def fails(self, batch, optimizers):
        raise GenlabError("the first step failed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GAN, "training_step", fails)
        code, _, err = run_cli("train", "--resume", run / "checkpoints" / "step-000002", "--steps", "6", "--quiet")
    assert code == 2 and "the first step failed" in err
    assert {p.name: (p / "model.safetensors").read_bytes() for p in (run / "checkpoints").iterdir()} == before
    assert (run / "metrics.jsonl").read_text() == metrics and (run / "config.json").read_text() == config
    # Resuming the older checkpoint for real abandons the newer one, and says so.
    code, out, _ = run_cli("train", "--resume", run / "checkpoints" / "step-000002", "--steps", "3", "--quiet")
    assert code == 0 and "resuming from step 2 abandons the newer checkpoint step-000004: deleted." in out
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-000002", "step-000003"]


def test_resuming_into_another_run_or_from_a_loose_checkpoint_needs_a_new_out(tmp_path, digits_npz, run_cli,
                                                                             tiny_dcgan):
    import shutil

    a, b = tmp_path / "a", tmp_path / "b"
    for run in (a, b):
        run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--out", run, "--quiet",
                *tiny_dcgan)
    before = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
    code, _, err = run_cli("train", "--resume", a, "--out", b, "--steps", "3", "--quiet")
    assert code == 2 and "already holds another run" in err
    assert {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()} == before

    loose = tmp_path / "kept" / "mine"
    shutil.copytree(a / "checkpoints" / "step-000002", loose)
    code, _, err = run_cli("train", "--resume", loose, "--steps", "3", "--quiet")
    assert code == 2 and "not inside a run's checkpoints/ folder" in err
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["mine"]  # nothing written beside it
    code, out, err = run_cli("train", "--resume", loose, "--out", tmp_path / "fork", "--steps", "3", "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "fork" / "checkpoints").iterdir()) == ["step-000003"]
    # A copied-out checkpoints/ folder is not a run: resuming its older checkpoint must not prune the newer.
    archive = tmp_path / "archive" / "checkpoints"
    shutil.copytree(tmp_path / "fork" / "checkpoints", archive)
    shutil.copytree(a / "checkpoints" / "step-000002", archive / "step-000002")
    code, _, err = run_cli("train", "--resume", archive / "step-000002", "--steps", "4", "--quiet")
    assert code == 2 and "not inside a run's checkpoints/ folder" in err
    assert sorted(p.name for p in archive.iterdir()) == ["step-000002", "step-000003"]
    # RUN/checkpoints names the run.
    code, _, err = run_cli("train", "--resume", a / "checkpoints", "--steps", "3", "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in (a / "checkpoints").iterdir()) == ["step-000002", "step-000003"]


def test_a_gpu_index_beyond_the_machine_is_refused(monkeypatch):
    import torch

    from genlab.errors import ConfigError
    from genlab.train.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="--train.device cuda:2 asks for a GPU this machine lacks"):
        resolve_device("cuda:2")


def test_resume_auto_without_a_checkpoint_restarts_only_a_run_that_died_early(tmp_path, digits_npz, run_cli,
                                                                              tiny_dcgan):
    run = tmp_path / "run"
    args = ("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    assert run_cli(*args)[0] == 0
    shutil.rmtree(run / "checkpoints")  # a finished run with its checkpoints deleted, its model/ export kept
    log = (run / "metrics.jsonl").read_text()
    code, _, err = run_cli(*args, "--resume", "auto")
    assert code == 2 and "holds a finished run with no checkpoint left to resume" in err
    assert (run / "metrics.jsonl").read_text() == log and (run / "model").is_dir()
    code, _, err = run_cli("train", "vae", "--data", digits_npz, "--steps", "1", "--out", run, "--resume", "auto")
    assert code == 2 and "holds a run of another model" in err
    shutil.rmtree(run / "model")  # now as a run killed before its first checkpoint leaves it
    (run / "samples" / "step-000099.png").write_bytes((run / "samples" / "step-000002.png").read_bytes())
    changes = config_file(tmp_path, '{"train": {"log_every": 1, "sample_every": 1}}')
    code, out, err = run_cli("train", "--out", run, "--resume", "auto", "--config", changes, "--steps", "1",
                             "--quiet")
    assert code == 0 and "resuming" not in out, err
    assert json.loads((run / "config.json").read_text())["train"]["log_every"] == 1  # the file's value applies
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000001.png"]  # the dead run's are gone


def test_a_run_directory_named_like_a_number_trains_and_resumes(tmp_path, digits_npz, run_cli, tiny_dcgan,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ("--data", digits_npz, "--batch-size", "16", "--train.out", "2024", "--quiet", *tiny_dcgan)
    assert run_cli("train", "gan", "--steps", "1", *args)[0] == 0
    assert json.loads((tmp_path / "2024" / "config.json").read_text())["train"]["out"] == "2024"
    code, out, err = run_cli("train", "--resume", "auto", "--steps", "2", *args)
    assert code == 0 and "resuming from step-000001" in out, err


def test_a_training_step_or_preview_that_does_not_fit_in_memory_is_one_sentence(tmp_path, digits_npz, run_cli,
                                                                                tiny_dcgan, monkeypatch):
    def allocates_too_much(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried "
                           "to allocate 8589934592 bytes.")

    args = ("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "16", "--quiet", *tiny_dcgan)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GAN, "training_step", allocates_too_much)
        code, _, err = run_cli(*args, "--out", tmp_path / "a")
    assert code == 2 and "Traceback" not in err
    assert "Step 1 does not fit in memory at --train.batch_size 16; lower it" in err
    monkeypatch.setattr(GAN, "write_preview", allocates_too_much)
    code, _, err = run_cli(*args, "--out", tmp_path / "b")
    assert code == 2 and "The preview of --train.preview_count 64 samples does not fit in memory; lower it." in err
    code, _, err = run_cli(*args, "--out", tmp_path / "c", "--train.preview_count", "100000")
    assert code == 2 and "--train.preview_count must be at most 1,024 (got 100,000)" in err


def test_a_run_repeats_from_its_config_json_and_a_conditional_gan_samples_the_asked_class(tmp_path, digits_npz,
                                                                                         run_cli, tiny_dcgan):
    from safetensors.torch import load_file

    from genlab.sampling import load_model

    first, second = tmp_path / "first", tmp_path / "second"
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "8", "--out", first,
                           "--quiet", "--model.conditional", "true", *tiny_dcgan)
    assert code == 0, err
    code, _, err = run_cli("train", "--config", first / "config.json", "--out", second, "--quiet")
    assert code == 0, err
    a, b = (load_file(str(run / "model" / "model.safetensors")) for run in (first, second))
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)  # the same run again
    assert run_cli("sample", first, "--class", "3", "--n", "4", "--out", tmp_path / "threes.png")[0] == 0
    code, _, err = run_cli("sample", first, "--class", "three", "--out", tmp_path / "none.png")
    assert code == 2 and "--class three: this model has no class of that name" in err
    assert not (tmp_path / "none.png").exists()
    model = load_model(first)
    for label, same in ((3, True), (4, False)):
        model.save_samples(model.sample(4, torch.Generator().manual_seed(0), label=label), tmp_path / f"{label}.png")
        assert ((tmp_path / f"{label}.png").read_bytes() == (tmp_path / "threes.png").read_bytes()) is same


def test_a_recipe_for_data_genlab_does_not_ship_needs_data(tmp_path, run_cli, monkeypatch):
    from genlab.cli.train import RECIPE_DATA
    from genlab.config import packaged_configs

    assert set(RECIPE_DATA) <= set(packaged_configs())  # names of packaged configs, kept in step with them
    monkeypatch.chdir(tmp_path)
    for recipe in ("cifar10-sngan", "prices-crnngan"):
        code, _, err = run_cli("train", "--config", recipe, "--steps", "1", "--out", tmp_path / recipe)
        assert code == 2 and f"--config {recipe} is a recipe for" in err and "pass --data" in err
        assert not (tmp_path / recipe).exists()
    code, out, _ = run_cli("list")
    assert "cifar10-sngan*" in out and "mnist-dcgan*" not in out


def test_sampling_a_runs_checkpoints_folder_names_the_run_and_a_checkpoint(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "2", "--batch-size", "8", "--out", run, "--quiet",
                   *tiny_dcgan)[0] == 0
    code, _, err = run_cli("sample", run / "checkpoints", "--out", tmp_path / "x.png")
    assert code == 2 and f"is a run's checkpoints folder; pass the run ({run})" in err and "step-000002" in err
    (run / "checkpoints" / "step-000002" / "COMPLETE").unlink()  # a checkpoint whose writing was cut short
    code, _, err = run_cli("sample", run / "checkpoints" / "step-000002", "--out", tmp_path / "x.png")
    assert code == 2 and "step-000002 is an incomplete checkpoint" in err and not (tmp_path / "x.png").exists()


def test_a_resume_under_another_model_name_is_refused_as_its_preset_would_not_follow(tmp_path, run_cli):
    run = tmp_path / "run"
    tiny = ("--model.width", "4", "--model.hidden_dim", "16", "--model.latent_dim", "4", "--batch-size", "8", "--quiet")
    assert run_cli("train", "vae", "--steps", "2", "--out", run, *tiny)[0] == 0
    before = (run / "config.json").read_bytes()
    code, _, err = run_cli("train", "vae", "--steps", "4", "--out", run, "--resume", "auto", "--model.name", "iwae",
                           *tiny)
    assert code == 2 and "--model.name iwae is not the model" in err and "holds (vae)" in err
    assert (run / "config.json").read_bytes() == before and not (run / "checkpoints" / "step-000004").exists()


def test_a_resume_clears_the_temporary_files_a_killed_run_left(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    options = ("gan", "--data", digits_npz, "--batch-size", "8", "--out", run, "--quiet", *tiny_dcgan)
    assert run_cli("train", *options, "--steps", "2")[0] == 0
    leftovers = [run / "samples" / ".step-000002.png.k1l2.tmp", run / ".metrics.jsonl.x9.tmp",
                 run / "model" / ".model.safetensors.q.tmp"]
    for leftover in leftovers:  # what a SIGKILL during an atomic write leaves
        leftover.write_bytes(b"half")
    others = [run / ".eval.json.e1.tmp", run / ".report.html.r2.tmp"]  # 'genlab eval/report' may be writing them
    for other in others:
        other.write_bytes(b"being written")
    assert run_cli("train", *options, "--steps", "4", "--resume", "auto")[0] == 0
    assert not any(leftover.exists() for leftover in leftovers) and all(other.exists() for other in others)


def test_samples_never_land_in_the_training_data_folder_from_any_working_folder(tmp_path, run_cli, tiny_dcgan,
                                                                                 monkeypatch):
    """A picture written into an image folder would replace a training image or add one that is not a
    training image; the run records the folder it trained in, so the guard holds from any folder."""
    images = tmp_path / "project" / "imgs"
    for digit in range(2):
        (images / str(digit)).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(np.full((28, 28), 30 * digit + i, np.uint8)).save(images / str(digit) / f"{i}.png")
    before = {p: p.read_bytes() for p in images.rglob("*.png")}
    monkeypatch.chdir(tmp_path / "project")
    code, _, err = run_cli("train", "gan", "--data", "imgs", "--steps", "1", "--batch-size", "8", "--out", "../run",
                           "--quiet", *tiny_dcgan)
    assert code == 0, err
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["data"]["path"] == "imgs" and saved["working_directory"] == str(tmp_path / "project")  # as typed
    monkeypatch.chdir(tmp_path)  # elsewhere: the relative 'imgs' typed at training no longer names the data
    for out in (images / "1" / "3.png", images / "new.png", "project/imgs/1/new.png"):
        code, _, err = run_cli("sample", "run", "--n", "4", "--out", out)
        assert code == 2 and f"lies inside {images}, which this model was trained on" in err, err
    assert {p: p.read_bytes() for p in images.rglob("*.png")} == before
    code, out, _ = run_cli("sample", "run", "--n", "4", "--out", "s.png")  # outside it: written
    assert code == 0 and out.startswith("genlab: wrote s.png") and "replacing" not in out
    code, out, _ = run_cli("sample", "run", "--n", "4", "--out", "s.png", "--seed", "1")
    assert code == 0 and "wrote s.png, replacing the file there" in out  # said, not silent


def test_a_run_that_did_not_record_its_folder_guards_its_relative_data_path_exactly(tmp_path, run_cli, tiny_dcgan,
                                                                                      monkeypatch):
    """A run trained with --data . before runs recorded their folder: '.' taken from here names every
    folder, so only writing over the path itself is refused, and resuming it changes no setting."""
    project = tmp_path / "project"
    for digit in range(2):
        (project / str(digit)).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(np.full((28, 28), 30 * digit + i, np.uint8)).save(project / str(digit) / f"{i}.png")
    monkeypatch.chdir(project)
    run = tmp_path / "run"
    assert run_cli("train", "gan", "--data", ".", "--steps", "2", "--batch-size", "8", "--out", run, "--quiet",
                   *tiny_dcgan)[0] == 0
    for config in (run / "config.json", *run.glob("checkpoints/*/config.json")):  # as an older genlab wrote it
        saved = json.loads(config.read_text())
        del saved["working_directory"]
        config.write_text(json.dumps(saved))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("sample", run, "--n", "4")  # ./samples.png: '.' is not known to be the data here
    assert code == 0 and (tmp_path / "samples.png").is_file(), err
    monkeypatch.chdir(project)
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3")
    assert code == 0 and "data.path" not in out + err and "working_directory" not in out + err, err


@pytest.mark.parametrize("where", ["model", "checkpoints/step-000002", "checkpoints", "samples"])
def test_eval_plots_are_never_written_into_a_runs_record(tmp_path, run_cli, where):
    run = tmp_path / "run"
    assert run_cli("train", "rgan", "--steps", "2", "--out", run, "--quiet", "--data.sines", "64",
                   "--batch-size", "16", "--train.checkpoint_every", "2", "--train.sample_every", "2")[0] == 0
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    code, _, err = run_cli("eval", run, "--plots", run / where, "--repeats", "1")
    assert code == 2 and f"--plots {run / where} is part of the record of the run in {run}" in err, err
    assert "pass another folder outside" in err
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


def test_a_failed_write_names_the_file_it_was_writing(tmp_path, digits_npz, run_cli, tiny_dcgan, monkeypatch):
    """A full disk or a file-size limit fails inside the writer with no file name of its own."""
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    old = tmp_path / "keep.png"
    old.write_bytes(b"old")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_bytes", full_disk)  # the PNG's bytes, into the temporary file
    code, _, err = run_cli("sample", run, "--out", old)
    assert code == 2 and f"No space left on device: {old};" in err
    assert old.read_bytes() == b"old" and not list(tmp_path.glob(".keep.png.*"))  # no temporary left


def test_a_model_folder_missing_one_of_its_two_files_is_named_as_such(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "16", "--out", run, "--quiet",
            *tiny_dcgan)
    for gone, kept in (("model.safetensors", "config.json"), ("config.json", "model.safetensors")):
        copy = tmp_path / f"without-{gone}"
        shutil.copytree(run / "model", copy)
        (copy / gone).unlink()
        code, _, err = run_cli("sample", copy, "--out", tmp_path / "s.png")
        assert code == 2 and f"{copy} holds {kept} but not {gone}" in err
    code, _, err = run_cli("sample", digits_npz, "--out", tmp_path / "s.png")
    assert code == 2 and f"{digits_npz} is a file, not a run directory or exported model folder" in err
    assert not (tmp_path / "s.png").exists()
