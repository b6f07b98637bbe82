"""The recurrent GANs through the command line: train, resume exactly, sample, evaluate, bad input."""

import csv
import json
import re

import numpy as np
import pytest
from PIL import Image

from genlab.models.rgan.plots import REAL_COLOUR, SYNTHETIC_COLOUR

TINY = ["--model.hidden_dim", "8", "--model.layers", "1", "--model.noise_dim", "2"]


def test_train_on_stock_csv_sample_in_price_units_and_evaluate(tmp_path, run_cli, shared_file):
    stocks = shared_file("timeseries/stock_data.csv")
    run = tmp_path / "run"
    code, out, err = run_cli("train", "rgan", "--data", stocks, "--data.window", "8", "--steps", "3", "--batch-size",
                             "16", "--out", run, "--train.sample_every", "3", "--quiet", *TINY)
    assert code == 0, err
    assert "rgan/crnngan on" in out and "3,678 windows of 8 steps × 6 features" in out
    assert Image.open(run / "samples" / "step-000003.png").size[0] > 0
    saved = json.loads((run / "config.json").read_text())["model"]
    assert saved["columns"] == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"] and saved["seq_len"] == 8
    table = np.loadtxt(stocks, delimiter=",", skiprows=1)
    assert saved["feature_min"] == pytest.approx(table.min(0).tolist())

    out_csv = tmp_path / "synth.csv"
    assert run_cli("sample", run, "--n", "5", "--out", out_csv)[0] == 0
    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["sequence", "step", "Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    assert len(rows) == 1 + 5 * 8 and rows[-1][:2] == ["4", "7"]
    values = np.array([[float(v) for v in row[2:]] for row in rows[1:]])
    assert (values >= table.min(0) - 1e-3).all() and (values <= table.max(0) + 1e-3).all()  # price units
    assert values[:, 5].max() > 1000  # volumes, not [0, 1]
    assert run_cli("sample", run, "--n", "3", "--out", tmp_path / "synth.npz")[0] == 0
    with np.load(tmp_path / "synth.npz") as data:
        assert data["x"].shape == (3, 8, 6)
    assert run_cli("sample", run, "--n", "3", "--out", tmp_path / "synth.png")[0] == 0

    result_file = tmp_path / "eval.json"
    code, out, err = run_cli("eval", run, "--ref", stocks, "--repeats", "2", "--discriminative-iterations", "3",
                             "--predictive-iterations", "3", "--max-examples", "200", "--json", result_file,
                             "--classifier-hidden", "8")
    assert code == 0, err
    result = json.loads(result_file.read_text())
    assert result["protocol"]["real_sequences"] == 200 and result["protocol"]["synthetic_sequences"] == 200
    assert result["protocol"]["repeats"] == 2 and "stock_data.csv" in result["protocol"]["reference_data"]
    assert 0 <= result["discriminative"]["mean"] <= 0.5 and len(result["predictive"]["values"]) == 2
    assert result["correlational"]["mean"] >= 0
    assert len(result["discriminative_h8"]["values"]) == 2  # beside the protocol's classifier (3 units), not for it
    assert "8 units in place of 3" in result["protocol"]["discriminative_h8"]
    change = result["step_change"]  # each column's roughness in time, real against synthetic
    assert change["columns"] == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    assert all(r > 0 and s > 0 for r, s in zip(change["real"], change["synthetic"]))
    assert change["ratio"] == pytest.approx([s / r for r, s in zip(change["real"], change["synthetic"])],
                                            rel=0.01, abs=0.01)  # from the unrounded means
    assert json.loads((run / "eval.json").read_text()) == result  # what report and compare read
    code, out, _ = run_cli("compare", run)
    header, row, blank, title, training, *protocols = out.splitlines()
    assert code == 0 and {"discriminative", "predictive", "correlational"} <= set(header.split())
    assert (blank, title) == ("", "protocols:") and len(protocols) == 1  # the evaluation's one shared protocol
    assert "loss_generator" in training and "training, mean over each run's last logged window" in training
    assert "|accuracy - 0.5| of a 1-layer GRU" in protocols[0] and "stock_data.csv" in protocols[0]
    shown = dict(zip(header.split(), row.split()))
    mean, std = map(float, shown["discriminative"].split("±"))  # the spread over repeats beside the mean
    assert (mean, std) == pytest.approx((result["discriminative"]["mean"], result["discriminative"]["std"]), rel=1e-3)


@pytest.mark.parametrize("model", [
    ["--model.name", "crnngan", "--model.attention_layers", "1", "--model.attention_heads", "2"],
    ["--model.name", "crnngan", "--model.whiten", "true", "--model.ema_decay", "0.9"],
    # Stopped inside the supervised phase; resumed through the joint phase and its five optimizers. Both
    # noises: the per-step draws of the reference, and per-sequence ones that read the tiny noise_dim.
    ["--model.name", "timegan", "--model.layers", "2", "--model.autoencoder_steps", "2", "--model.supervised_steps",
     "2", "--model.noise", "both"],
    # Stopped in the GAN phase: its frozen autoencoder's batch-norm statistics and the EMA resume too.
    ["--model.name", "latentgan", "--model.autoencoder_steps", "2", "--model.code_dim", "3", "--model.ema_decay", "0.9",
     "--model.discriminator_steps", "2"],
], ids=["crnngan-attention", "crnngan-whitened-ema", "timegan", "latentgan"])
def test_resumed_run_is_bit_identical(tmp_path, run_cli, tiny_rgan, model, assert_same_run):
    given = set(model[::2])  # an option is given once: the model's value replaces the tiny default
    tiny = [item for key, value in zip(tiny_rgan[::2], tiny_rgan[1::2]) if key not in given for item in (key, value)]
    common = ["--batch-size", "16", "--train.log_every", "2", "--train.checkpoint_every", "3", "--quiet", *tiny, *model]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_cli("train", "rgan", "--steps", "7", "--out", full, *common)[0] == 0
    assert run_cli("train", "rgan", "--steps", "3", "--out", part, *common)[0] == 0
    code, out, _ = run_cli("train", "rgan", "--steps", "7", "--out", part, "--resume", "auto", *common)
    assert code == 0 and "resuming from step-000003" in out
    assert_same_run(full, part)


def test_rcgan_trains_on_labelled_npz_and_samples_a_class(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    path = tmp_path / "labelled.npz"
    np.savez(path, x=rng.normal(size=(40, 5, 2)), y=np.arange(40) % 4)
    run = tmp_path / "run"
    code, _, err = run_cli("train", "rgan", "--model.name", "rcgan", "--data", path, "--steps", "2", "--batch-size",
                           "8", "--out", run, "--quiet", *TINY)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["model"]["num_classes"] == 4
    assert run_cli("sample", run, "--n", "4", "--class", "3", "--out", tmp_path / "threes.npz")[0] == 0
    with np.load(tmp_path / "threes.npz") as threes:
        assert threes["y"].tolist() == [3, 3, 3, 3] and threes["x"].shape == (4, 5, 2)  # genlab reads it back labelled
    assert run_cli("sample", run, "--n", "6", "--out", tmp_path / "mixed.csv")[0] == 0
    with open(tmp_path / "mixed.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30 and {(row["sequence"], row["label"]) for row in rows} == {(str(i), str(i % 4)) for i in range(6)}
    code, _, err = run_cli("eval", run, "--ref", path, "--repeats", "1", "--discriminative-iterations", "1",
                           "--predictive-iterations", "1")
    assert code == 0, err


def test_bad_input_is_one_sentence_with_exit_code_2(tmp_path, run_cli, tiny_rgan):
    text = tmp_path / "text.csv"
    text.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(30)) + "31,oops\n")
    code, _, err = run_cli("train", "rgan", "--data", text, "--out", tmp_path / "a", "--steps", "1")
    assert code == 2 and str(text) in err and "column 'b' holds 'oops'" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()
    code, _, err = run_cli("train", "rgan", "--model.name", "rcgan", "--out", tmp_path / "b", *tiny_rgan)
    assert code == 2 and "needs labelled data" in err
    huge_labels = tmp_path / "huge_labels.npz"
    np.savez(huge_labels, x=np.zeros((4, 5, 2)), y=np.array([0, 1, 2, 10**12]))
    code, _, err = run_cli("train", "rgan", "--model.name", "rcgan", "--data", huge_labels, "--out", tmp_path / "c")
    assert code == 2 and "renumber the labels" in err and not (tmp_path / "c").exists()

    run = tmp_path / "run"
    assert run_cli("train", "rgan", "--steps", "1", "--batch-size", "16", "--out", run, "--quiet", *tiny_rgan)[0] == 0
    code, _, err = run_cli("sample", run, "--out", tmp_path / "samples.txt")
    assert code == 2 and "rgan/crnngan samples are written as .png, .csv or .npz" in err
    code, _, err = run_cli("sample", run, "--long", "0", "--out", tmp_path / "long.csv")
    assert code == 2 and "--long must be a positive number of steps (got 0)" in err
    assert not (tmp_path / "long.csv").exists()
    code, _, err = run_cli("eval", run, "--repeats", "0")
    assert code == 2 and "--repeats must be at least 1" in err
    code, _, err = run_cli("eval", run, "--classifier-hidden", "0")
    assert code == 2 and "--classifier-hidden must be at least 1" in err
    code, _, err = run_cli("eval", run, "--ref", text)
    assert code == 2 and "column 'b' holds 'oops'" in err
    numeric = tmp_path / "numeric.csv"
    numeric.write_text("a,b,c\n" + "".join(f"{i},{i},{i}\n" for i in range(30)))
    on_csv = tmp_path / "on_csv"
    assert run_cli("train", "rgan", "--data", numeric, "--data.window", "6", "--steps", "1", "--batch-size", "8",
                   "--out", on_csv, "--quiet", *TINY)[0] == 0
    code, _, err = run_cli("eval", on_csv)
    assert code == 2 and "pass --ref" in err
    code, _, err = run_cli("eval", on_csv, "--ref", numeric, "--data", numeric)
    assert code == 2 and "give one of them" in err
    for flag in ("--ref", "--data"):  # the message names the flag the user typed
        code, _, err = run_cli("eval", on_csv, flag, tmp_path / "absent.csv")
        assert code == 2 and f"absent.csv does not exist; point {flag} at a CSV file" in err
    code, _, err = run_cli("eval", on_csv, "--ref", numeric, "--n", "50")
    assert code == 2 and "--n is for image --metrics and sentence generators (family textgan); rgan/" in err
    stepped = tmp_path / "stepped.csv"  # a column named like the sample CSV's index columns
    stepped.write_text("step,b\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    code, _, err = run_cli("train", "rgan", "--data", stepped, "--data.window", "6", "--steps", "1",
                           "--out", tmp_path / "f", *TINY)
    assert code == 2 and f"{stepped} has a feature 'step', which is the name of an index column" in err
    assert not (tmp_path / "f").exists()
    code, _, err = run_cli("train", "rgan", "--data", stepped, "--data.window", "6", "--steps", "1",
                           "--model.columns", '["sequence", "b"]', "--out", tmp_path / "f", *TINY)
    assert code == 2 and "--model.columns names a feature 'sequence'" in err
    assert run_cli("train", "rgan", "--data", stepped, "--data.window", "6", "--steps", "1", "--batch-size", "8",
                   "--model.columns", '["steps", "b"]', "--out", tmp_path / "f", "--quiet", *TINY)[0] == 0
    code, out, err = run_cli("sample", tmp_path / "f", "--n", "1", "--out", tmp_path / "f.csv")
    assert code == 0 and (tmp_path / "f.csv").read_text().splitlines()[0] == "sequence,step,steps,b"
    code, _, err = run_cli("train", "rgan", "--data", numeric, "--model.columns", '["x", "y"]', "--steps", "1",
                           "--out", tmp_path / "d")
    assert code == 2 and "--model.columns has 2 names for the 3 features" in err and not (tmp_path / "d").exists()
    code, _, err = run_cli("train", "rgan", "--model.seq_len", "1", "--out", tmp_path / "e", *tiny_rgan[:-4])
    assert code == 2 and "--model.seq_len must be at least 2" in err and "Traceback" not in err


def test_eval_reads_held_out_data_as_the_training_data_was_read(tmp_path, run_cli):
    """--data.fill and --data.reverse are the model's: eval fills the same gaps and reverses time too."""
    rows = [f"{i},{'' if i == 5 else i % 7},{i % 3}" for i in range(40)]
    gappy = tmp_path / "gappy.csv"
    gappy.write_text("t,a,b\n" + "\n".join(rows) + "\n")
    run = tmp_path / "run"
    code, _, err = run_cli("train", "rgan", "--data", gappy, "--data.fill", "ffill", "--data.reverse", "true",
                           "--data.window", "6", "--steps", "1", "--batch-size", "8", "--out", run, "--quiet", *TINY)
    assert code == 0, err
    saved = json.loads((run / "config.json").read_text())["model"]
    assert saved["data_fill"] == "ffill" and saved["data_reverse"] is True
    code, out, err = run_cli("eval", run, "--ref", gappy, "--repeats", "1", "--discriminative-iterations", "1",
                             "--predictive-iterations", "1")
    assert code == 0, err  # without the model's fill policy, the empty cell is an error
    assert "35 windows" in json.loads(out)["protocol"]["reference_data"]


def test_variable_length_npz_trains_samples_its_lengths_and_evaluates(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    lengths = rng.choice([4, 6], size=40, p=[0.5, 0.5])
    x = rng.uniform(10, 20, (40, 6, 3))
    x[np.arange(6) >= lengths[:, None]] = np.nan  # NaN padding, declared by lengths
    np.savez(tmp_path / "ragged.npz", x=x, lengths=lengths)
    run = tmp_path / "run"
    code, out, err = run_cli("train", "rgan", "--data", tmp_path / "ragged.npz", "--steps", "2", "--batch-size", "8",
                             "--out", run, "--quiet", *TINY)
    assert code == 0, err
    assert "40 sequences of 4 to 6 steps" in out  # the lengths drawn: 4 or 6
    assert json.loads((run / "config.json").read_text())["model"]["length_counts"] == [0, 0, 0, int(
        (lengths == 4).sum()), 0, int((lengths == 6).sum())]
    assert run_cli("sample", run, "--n", "50", "--out", tmp_path / "synth.npz")[0] == 0
    with np.load(tmp_path / "synth.npz") as data:
        assert data["x"].shape == (50, 6, 3) and set(data["lengths"].tolist()) == {4, 6}
        assert np.isnan(data["x"][data["lengths"] == 4][:, 4:]).all() and np.isfinite(data["x"][:, :4]).all()
    code, _, err = run_cli("eval", run, "--ref", tmp_path / "ragged.npz", "--repeats", "1",
                           "--discriminative-iterations", "2", "--predictive-iterations", "2", "--json",
                           tmp_path / "eval.json", "--plots", tmp_path / "figures")
    assert code == 0, err
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["protocol"]["lengths"].startswith("variable") and 0 <= result["discriminative"]["mean"] <= 0.5
    assert result["plots"]["protocol"].startswith("40 real and 40 synthetic sequences")
    with Image.open(result["plots"]["pca_tsne"]) as figure:
        pixels = np.asarray(figure.convert("RGB")).reshape(-1, 3)
    # Both kinds of point are drawn in both panels: red real, blue synthetic (anti-aliasing aside).
    assert (pixels == REAL_COLOUR).all(1).sum() > 100 and (pixels == SYNTHETIC_COLOUR).all(1).sum() > 100
    assert (tmp_path / "figures" / "sequences.png").is_file()


def test_a_model_without_any_synchronisation_is_refused_under_torchrun(tmp_path, run_cli, monkeypatch):
    """A model with neither DDP modules nor gradient averaging would train apart on each replica."""
    from genlab.models.rgan.timegan import TimeGAN

    monkeypatch.setattr(TimeGAN, "averages_gradients", False)
    for name, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    code, _, err = run_cli("train", "rgan", "--model.name", "timegan", "--steps", "2", "--out", tmp_path / "run",
                           "--data.sines", "64", "--data.window", "6")
    assert code == 2 and "single process only; run it without torchrun" in err
    assert not (tmp_path / "run").exists()


def test_sample_long_writes_series_longer_than_the_window(tmp_path, run_cli, tiny_rgan, tiny_dcgan, digits_npz):
    run = tmp_path / "run"
    assert run_cli("train", "rgan", "--steps", "1", "--batch-size", "16", "--out", run, "--quiet", *tiny_rgan)[0] == 0
    code, _, err = run_cli("sample", run, "--long", "50", "--n", "2", "--out", tmp_path / "long.csv")
    assert code == 0, err
    rows = np.loadtxt(tmp_path / "long.csv", delimiter=",", skiprows=1)
    assert rows.shape == (100, 2 + 3)  # sequence, step, 3 features
    assert rows[:, 1].max() == 49 and set(rows[:, 0]) == {0, 1}
    code, _, err = run_cli("sample", run, "--long", str(10**19), "--n", "2", "--out", tmp_path / "long.csv")
    assert code == 2 and f"--n 2 series of --long {10**19} steps do not fit in memory; lower --long or --n" in err
    assert np.loadtxt(tmp_path / "long.csv", delimiter=",", skiprows=1).shape == (100, 5)  # the earlier file stays
    gan = tmp_path / "gan"
    assert run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "8", "--out", gan, "--quiet",
                   *tiny_dcgan)[0] == 0
    code, _, err = run_cli("sample", gan, "--long", "50", "--out", tmp_path / "g.png")
    assert code == 2 and "--long needs a model whose recurrence runs on past its window" in err
    code, _, err = run_cli("eval", gan, "--plots", tmp_path / "figures")
    assert code == 2 and "--plots is for sequence models" in err and not (tmp_path / "figures").exists()
    code, _, err = run_cli("eval", gan, "--temperature", "0.5")
    assert code == 2 and "--temperature is for sentence generators" in err
    code, _, err = run_cli("eval", gan, "--train-data", digits_npz)
    assert code == 2 and "--train-data is for sentence generators" in err
    code, _, err = run_cli("eval", gan, "--oracle", digits_npz)
    assert code == 2 and "--oracle is for sentence generators" in err
    for given in ("3", "10"):  # 10 is the default: given all the same, and it would be ignored all the same
        code, _, err = run_cli("eval", gan, "--repeats", given)
        assert code == 2 and "--repeats is for sequence models" in err
    code, _, err = run_cli("eval", gan, "--nll")
    assert code == 2 and "--nll is for latent-variable models" in err
    code, _, err = run_cli("eval", gan, "--n", "100")
    assert code == 2 and "gan/dcgan does not use it, so drop it (or add --metrics to score its images)" in err


def test_a_text_column_is_encoded_trained_on_and_sampled_back_as_text(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    regime = np.where(np.sin(np.arange(60) / 5) > 0, "calm", "storm")
    price = np.round(100 + np.cumsum(rng.normal(size=60)), 3)
    data = tmp_path / "market.csv"
    data.write_text("date,shift,price,regime\n" + "".join(f"2020-{i // 28 + 1:02d}-{i % 28 + 1:02d},{'AB'[i % 2]},{p},{r}\n"
                                                          for i, (p, r) in enumerate(zip(price, regime))))
    run = tmp_path / "run"
    common = ["--data.window", "6", "--batch-size", "8", "--out", run, "--quiet", *TINY]
    code, _, err = run_cli("train", "rgan", "--data", data, "--steps", "2", *common)
    assert code == 2 and "encode them with --data.categorical shift,regime" in err  # both text columns at once
    code, _, err = run_cli("train", "rgan", "--data", data, "--data.categorical", "regime,shift", "--steps", "2",
                           "--model.columns", "[a, b, c, d, e]", *common)
    assert code == 2 and "--model.columns cannot rename" in err
    code, out, err = run_cli("train", "rgan", "--data", data, "--data.categorical", "regime,shift", "--steps", "2",
                             *common)
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())["model"]
    assert config["columns"] == ["shift=A", "shift=B", "price", "regime=calm", "regime=storm"]
    assert config["categorical_columns"] == ["shift", "regime"]  # in the CSV's order
    assert config["categories"] == [["A", "B"], ["calm", "storm"]] and config["features"] == 5
    # The resumed run keeps the encoding (its config names the column).
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3", "--quiet")
    assert code == 0 and "resuming from step-000002" in out, err
    assert run_cli("sample", run, "--n", "4", "--out", tmp_path / "synth.csv")[0] == 0
    with open(tmp_path / "synth.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["sequence", "step", "shift", "price", "regime"] and len(rows) == 4 * 6
    assert {row["regime"] for row in rows} <= {"calm", "storm"} and {row["shift"] for row in rows} <= {"A", "B"}
    assert all(price.min() - 1e-6 <= float(row["price"]) <= price.max() + 1e-6 for row in rows)
    code, _, err = run_cli("eval", run, "--ref", data, "--repeats", "1", "--discriminative-iterations", "2",
                           "--predictive-iterations", "2")
    assert code == 0, err
    unseen = tmp_path / "unseen.csv"
    unseen.write_text(data.read_text().replace("storm", "gale"))
    code, _, err = run_cli("eval", run, "--ref", unseen, "--repeats", "1")
    assert code == 2 and "holds 'gale', a category the model was not trained on" in err


def test_static_features_beside_the_sequences_round_trip(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    static = np.stack([rng.choice([0.0, 1.0], 48), rng.uniform(30, 80, 48)], 1)  # e.g. sex and age
    x = static[:, 1:, None] / 10 + rng.normal(size=(48, 6, 2))
    data = tmp_path / "patients.npz"
    np.savez(data, x=x, static=static)
    run = tmp_path / "run"
    code, out, err = run_cli("train", "rgan", "--data", data, "--steps", "2", "--batch-size", "8", "--out", run,
                             "--quiet", *TINY)
    assert code == 0, err
    assert "(2 of them static: one value per sequence)" in out
    config = json.loads((run / "config.json").read_text())["model"]
    assert config["features"] == 4 and config["static_features"] == 2
    assert config["columns"] == ["feature_0", "feature_1", "static_0", "static_1"]
    assert run_cli("sample", run, "--n", "5", "--out", tmp_path / "synth.npz")[0] == 0
    with np.load(tmp_path / "synth.npz") as synth:
        assert synth["x"].shape == (5, 6, 2) and synth["static"].shape == (5, 2)
        assert (synth["static"] >= static.min(0) - 1e-6).all() and (synth["static"] <= static.max(0) + 1e-6).all()
    # Samples are data genlab reads back: eval scores them, on the time-varying features only.
    code, out, err = run_cli("eval", run, "--ref", tmp_path / "synth.npz", "--repeats", "1",
                             "--discriminative-iterations", "2", "--predictive-iterations", "2")
    assert code == 0, err
    assert "the 2 static features are not scored" in out
    code, _, err = run_cli("train", "rgan", "--model.name", "timegan", "--data", data, "--steps", "1",
                           "--out", tmp_path / "timegan")
    assert code == 2 and "timegan does not model static features" in err
    np.savez(tmp_path / "bad.npz", x=x, static=static[:10])
    code, _, err = run_cli("train", "rgan", "--data", tmp_path / "bad.npz", "--steps", "1", "--out", tmp_path / "bad")
    assert code == 2 and "static has shape (10, 2)" in err


def test_renamed_columns_keep_the_data_header_for_resume_and_held_out_data(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    data = tmp_path / "pair.csv"
    data.write_text("a,b\n" + "".join(f"{u:.4f},{v:.4f}\n" for u, v in rng.normal(size=(40, 2))))
    run = tmp_path / "run"
    common = ["--data.window", "5", "--batch-size", "8", "--out", run, "--quiet", *TINY]
    # The new names are the header's, swapped: the data itself must still be read as a, b.
    code, _, err = run_cli("train", "rgan", "--data", data, "--steps", "2", "--model.columns", "[b, a]", *common)
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())["model"]
    assert config["columns"] == ["b", "a"] and config["data_columns"] == ["a", "b"]
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3", "--quiet")
    assert code == 0 and "resuming from step-000002" in out, err
    code, out, err = run_cli("eval", run, "--ref", data, "--repeats", "1", "--discriminative-iterations", "2",
                           "--predictive-iterations", "2")
    assert code == 0, err
    assert "names its columns" not in json.loads(out)["protocol"]["warning"]  # only: too few sequences for a score
    assert json.loads(out)["protocol"]["warning"].startswith("the classifier is tested on only 16 held-out")
    # Wholly other names are scored by position, and said to be.
    (tmp_path / "other.csv").write_text("x,y\n" + "".join(f"{u:.4f},{v:.4f}\n" for u, v in rng.normal(size=(40, 2))))
    code, out, err = run_cli("eval", run, "--ref", tmp_path / "other.csv", "--repeats", "1",
                             "--discriminative-iterations", "2", "--predictive-iterations", "2")
    assert code == 0, err
    warning = json.loads(out)["protocol"]["warning"]
    assert "names its columns x, y and the model was trained on a, b; they are scored by position" in warning
    assert "reference_is_training_data" not in json.loads(out)["protocol"]
    assert f"genlab: warning: {warning}" in err
    assert run_cli("sample", run, "--n", "2", "--out", tmp_path / "synth.csv")[0] == 0
    assert (tmp_path / "synth.csv").read_text().splitlines()[0] == "sequence,step,b,a"
    # Held-out data with the header really swapped is still refused.
    (tmp_path / "swapped.csv").write_text("b,a\n" + "".join(f"{v:.4f},{u:.4f}\n" for u, v in rng.normal(size=(40, 2))))
    code, _, err = run_cli("eval", run, "--ref", tmp_path / "swapped.csv", "--repeats", "1")
    assert code == 2 and "training columns in another order (b, a; trained on a, b)" in err
    # A fix that training would make with another --data option is not offered for held-out data.
    for text, fix in (("a,b\n1,2\n3,up\n", "holds 'up', which is not a number; the model was trained on numbers in "
                                            "that column: correct the cell or remove the row."),
                      ("a,b\n1,2\n3,\n", "is missing (1 missing cells in all); fill them in (the model reads it with "
                                          "--data.fill none, as it was trained).")):
        (tmp_path / "held_out.csv").write_text(text)
        code, _, err = run_cli("eval", run, "--ref", tmp_path / "held_out.csv", "--repeats", "1")
        assert code == 2 and f"held_out.csv row 3, column 'b' {fix}" in err and "--data.categorical" not in err


def test_eval_never_scores_a_sines_model_against_its_own_training_sines(tmp_path, run_cli, tiny_rgan):
    """The reference sines are drawn with the training sines' seed + 1 + --seed: fresh ones, whatever
    --data.seed the model was trained with."""
    run = tmp_path / "run"
    code, _, err = run_cli("train", "rgan", "--data.seed", "3", "--steps", "1", "--batch-size", "8", "--out", run,
                           "--quiet", *tiny_rgan)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["model"]["data_seed"] == 3
    for seed, reference_seed in (("0", 4), ("2", 6)):
        code, out, err = run_cli("eval", run, "--seed", seed, "--repeats", "1", "--discriminative-iterations", "1",
                                 "--predictive-iterations", "1")
        assert code == 0, err
        assert f"seed {reference_seed})" in json.loads(out)["protocol"]["reference_data"]


def as_saved_by_an_older_genlab(run, change):
    """Apply ``change`` to the model section of every config.json of ``run`` (run, checkpoints, export)."""
    for saved in (run / "config.json", run / "model" / "config.json", *run.glob("checkpoints/*/config.json")):
        config = json.loads(saved.read_text())
        change(config["model"])
        saved.write_text(json.dumps(config))


def test_a_sines_model_saved_before_data_seed_takes_it_from_its_run_or_is_refused(tmp_path, run_cli, tiny_rgan):
    """Without a stored data_seed, eval must not assume 0: this model's training sines (seed 3) are
    what seed 0 + 1 + --seed 2 would draw."""
    run = tmp_path / "run"
    code, _, err = run_cli("train", "rgan", "--data.seed", "3", "--steps", "1", "--batch-size", "8", "--out", run,
                           "--quiet", *tiny_rgan)
    assert code == 0, err
    as_saved_by_an_older_genlab(run, lambda model: model.pop("data_seed"))
    quick = ["--repeats", "1", "--discriminative-iterations", "1", "--predictive-iterations", "1"]
    code, out, err = run_cli("eval", run, "--seed", "2", *quick)
    assert code == 0, err
    protocol = json.loads(out)["protocol"]
    assert "seed 6)" in protocol["reference_data"]  # 3 + 1 + 2, as for a model that stored it
    assert protocol["data_seed"].startswith("3, the training sines' --data.seed from the run's config.json")
    # The export alone, away from its run: nothing says which sines it was trained on.
    exported = tmp_path / "exported"
    exported.mkdir()
    for name in ("config.json", "model.safetensors"):
        (exported / name).write_bytes((run / "model" / name).read_bytes())
    code, _, err = run_cli("eval", exported, "--seed", "2", *quick)
    assert code == 2 and "saved before genlab stored the seed of its training sines" in err
    assert "pass --ref with held-out data" in err and f"{exported / 'config.json'}" in err


def test_a_saved_model_holding_an_option_now_refused_loads_and_resumes_but_training_refuses_it(tmp_path, run_cli,
                                                                                               tiny_rgan):
    """Options genlab came to refuse as inapplicable were saved, and never read, by older runs: loading
    and resuming such a run ignore them (with a note); a run given one is still refused."""
    run = tmp_path / "run"
    code, _, err = run_cli("train", "rgan", "--steps", "2", "--batch-size", "8", "--out", run, "--quiet", *tiny_rgan)
    assert code == 0, err
    as_saved_by_an_older_genlab(run, lambda model: model.update(gradient_penalty=5.0, label_dim=4))
    code, _, err = run_cli("sample", run, "--n", "2", "--out", tmp_path / "synth.csv")
    assert code == 0, err
    assert "sets --model.gradient_penalty 5.0, --model.label_dim 4, which nothing reads" in err
    assert "; ignored." in err and "Traceback" not in err
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3", "--quiet")
    assert code == 0, err
    assert "resuming from step-000002" in out and "genlab: note:" in out and "--model.label_dim 4" in out
    assert "warning" not in out  # the ignored options are no change of settings
    saved = json.loads((run / "config.json").read_text())["model"]
    assert (saved["gradient_penalty"], saved["label_dim"]) == (10.0, 8)  # the resumed run records the defaults
    # Given for training, the same options are refused: for a new run, and for a resumed one.
    code, _, err = run_cli("train", "rgan", "--model.gradient_penalty", "5", "--steps", "1", "--out",
                           tmp_path / "new", *tiny_rgan)
    assert code == 2 and "--model.gradient_penalty applies only with --model.loss wasserstein_gp" in err
    code, _, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "4", "--model.label_dim", "4")
    assert code == 2 and "--model.label_dim applies only with --model.conditional true" in err


def test_sines_options_beside_a_data_file_are_refused(tmp_path, run_cli):
    numeric = tmp_path / "numeric.csv"
    numeric.write_text("a,b\n" + "\n".join(f"{i},{i % 5}" for i in range(30)) + "\n")
    for option, value in (("--data.seed", "2"), ("--data.sines", "50"), ("--data.sines_features", "2")):
        code, _, err = run_cli("train", "rgan", "--data", numeric, option, value, "--steps", "1",
                               "--out", tmp_path / "run", *TINY)
        assert code == 2 and f"{option} shapes the generated 'sines'" in err and "Traceback" not in err
        assert not (tmp_path / "run").exists()


def test_resuming_a_run_saved_before_an_option_existed_reports_no_change(tmp_path, run_cli, tiny_rgan):
    """An option an older genlab did not save stands at its default: resuming is no change of settings."""
    run = tmp_path / "run"
    assert run_cli("train", "rgan", "--steps", "2", "--batch-size", "8", "--out", run, "--quiet", *tiny_rgan)[0] == 0
    for saved in (run / "config.json", run / "checkpoints" / "step-000002" / "config.json"):
        config = json.loads(saved.read_text())
        del config["model"]["data_seed"]  # as genlab wrote it before data_seed
        saved.write_text(json.dumps(config))
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "3", "--quiet")
    assert code == 0, err
    assert "resuming from step-000002" in out and "warning" not in out
    code, out, err = run_cli("train", "--resume", "auto", "--out", run, "--steps", "4", "--quiet",
                             "--model.lr_generator", "0.002")
    assert code == 0 and "model.lr_generator 0.001 → 0.002" in out  # a real change is still reported


def test_eval_beyond_memory_names_the_reference_size(tmp_path, run_cli, tiny_rgan, monkeypatch):
    """The scores' classifiers take every reference sequence, and as many synthetic ones, at once:
    --max-examples is what lowers that; --batch-size only chunks the drawing of the synthetic ones."""
    import torch

    from genlab.models.rgan.model import RecurrentGAN

    run = tmp_path / "run"
    code, _, err = run_cli("train", "rgan", "--steps", "1", "--batch-size", "8", "--out", run, "--quiet", *tiny_rgan)
    assert code == 0, err

    def allocates_too_much(self, options):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 40.00 GiB.")

    monkeypatch.setattr(RecurrentGAN, "evaluate", allocates_too_much)
    code, out, err = run_cli("eval", run, "--batch-size", "64")
    assert code == 2 and out == "" and err.strip() == ("genlab: error: The evaluation does not fit in memory with "
                                                       "every example (no --max-examples); pass --max-examples to use "
                                                       "fewer.")
    code, _, err = run_cli("eval", run, "--max-examples", "5000")
    assert code == 2 and err.strip() == ("genlab: error: The evaluation does not fit in memory with --max-examples "
                                         "5000; lower it.")


def test_too_few_examples_to_score_name_max_examples(tmp_path, run_cli, tiny_rgan):
    run = tmp_path / "run"
    assert run_cli("train", "rgan", "--steps", "1", "--batch-size", "8", "--out", run, "--quiet", *tiny_rgan)[0] == 0
    code, _, err = run_cli("eval", run, "--max-examples", "1", "--repeats", "1")
    assert code == 2 and "--max-examples 1 leaves too few sequences to score" in err and not (run / "eval.json").exists()


@pytest.mark.parametrize("model, warning, absent", [
    (["--model.name", "timegan", "--model.autoencoder_steps", "2", "--model.supervised_steps", "2", "--model.noise",
      "both"], "warning: --train.steps 4 ends before the joint phase (--model.autoencoder_steps 2 + "
               "--model.supervised_steps 2), so the generator and discriminator do not train", "joint phase"),
    (["--model.name", "latentgan", "--model.autoencoder_steps", "4"],
     "warning: --train.steps 4 ends within the autoencoder phase (--model.autoencoder_steps 4), so the GAN on its "
     "codes does not train", "autoencoder phase"),
], ids=["timegan", "latentgan"])
def test_a_phased_run_that_ends_before_its_adversarial_phase_says_so(tmp_path, run_cli, tiny_rgan, model, warning,
                                                                     absent):
    common = ["train", "rgan", "--batch-size", "10", "--quiet", *model,
              *[item for item in tiny_rgan if item not in ("--model.layers", "1")]]
    code, out, err = run_cli(*common, "--steps", "4", "--out", tmp_path / "short")
    assert code == 0, err
    assert warning in out
    code, out, err = run_cli(*common, "--steps", "5", "--out", tmp_path / "long")
    assert code == 0 and absent not in out


def test_a_latentgan_run_is_scored_and_refuses_long_series(tmp_path, run_cli, tiny_rgan):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "rgan", "--model.name", "latentgan", "--model.autoencoder_steps", "2", "--steps", "3",
                           "--batch-size", "10", "--out", run, "--quiet", *tiny_rgan)
    assert code == 0, err
    code, _, err = run_cli("sample", run, "--long", "50", "--out", tmp_path / "long.csv")
    assert code == 2 and "--long needs a model whose recurrence runs on past its window" in err
    assert "rgan/latentgan is not one: drop --long" in err and not (tmp_path / "long.csv").exists()
    code, out, err = run_cli("eval", run, "--repeats", "1", "--discriminative-iterations", "2",
                             "--predictive-iterations", "2")
    assert code == 0, err
    assert {"discriminative", "predictive", "correlational"} <= json.loads(out).keys()


def test_a_file_of_generated_sequences_is_scored_as_the_run_scores_the_same_draw(tmp_path, run_cli):
    """'genlab eval FILE --ref DATA' scores the very file a user keeps: the npz of a draw scores as the
    run does when its evaluation draws the same sequences (the training data is the reference, so the
    two share the min-max scale), and the CSV of it reads back to the same sequences."""
    rng = np.random.default_rng(0)
    data = tmp_path / "pair.csv"
    data.write_text("Date,a,b\n" + "".join(f"2020-01-01T{i // 60:02d}:{i % 60:02d},{u:.4f},{v:.4f}\n"
                                           for i, (u, v) in enumerate(rng.normal(size=(40, 2)).cumsum(0))))
    run = tmp_path / "run"  # read newest first, as the TimeGAN stocks are: the file records it for eval to do the same
    assert run_cli("train", "rgan", "--data", data, "--data.window", "5", "--data.reverse", "true", "--steps", "2",
                   "--batch-size", "8", "--out", run, "--quiet", *TINY)[0] == 0
    score = ["--ref", data, "--repeats", "2", "--discriminative-iterations", "3", "--predictive-iterations", "3"]
    # 36 windows: the run's evaluation draws 36 sequences with --seed 0, as 'genlab sample --n 36' does.
    for suffix in ("npz", "csv"):
        assert run_cli("sample", run, "--n", "36", "--out", tmp_path / f"synth.{suffix}")[0] == 0
    code, out, err = run_cli("eval", run, *score)
    assert code == 0, err
    by_run = json.loads(out)
    d = by_run["discriminative"]
    assert by_run["summary"].startswith(f"discriminative {d['mean']:.4f} ± {d['std']:.4f} (0 is best; a guessing "
                                        "classifier's: ") and "(lower is better; the real data's" in by_run["summary"]
    assert f"genlab: {by_run['summary']}" in err
    assert by_run["protocol"]["reference_is_training_data"].startswith("the reference is the data the model was "
                                                                        "trained on, as in the TimeGAN paper's")
    code, out, err = run_cli("eval", tmp_path / "synth.npz", *score, "--plots", tmp_path / "figures")
    assert code == 0, err
    by_file = json.loads(out)
    for name in ("discriminative", "predictive", "correlational"):
        assert by_file[name]["values"] == pytest.approx(by_run[name]["values"], abs=1e-6)
    assert by_file["protocol"]["synthetic"] == f"36 sequences read from {tmp_path / 'synth.npz'}"
    assert by_file["protocol"]["counts"] == "36 of each"
    assert by_file["protocol"]["reference_data"].endswith("read as the model read its training data "
                                                          f"({tmp_path / 'synth.npz'} says how)")
    assert by_file["protocol"]["scale"].startswith(f"min-max [0, 1] of the reference ({data})")
    assert (tmp_path / "figures" / "sequences.png").is_file()
    from genlab.data.sample_files import read_sample_file

    as_csv, as_npz = read_sample_file(tmp_path / "synth.csv"), read_sample_file(tmp_path / "synth.npz")
    assert as_csv.columns == as_npz.columns == ["a", "b"] and as_csv.lengths is None
    assert np.allclose(as_csv.x, as_npz.x, rtol=1e-9)  # the CSV's 10 significant digits
    # What it needs, and what it does not take.
    assert "needs real data to score them against; pass --ref" in run_cli("eval", tmp_path / "synth.csv")[2]
    assert "--nll is not used when scoring a file of sequences" in run_cli("eval", tmp_path / "synth.csv", *score,
                                                                           "--nll")[2]
    # A conditional model's CSV has each sequence's label after step: not a feature of data without one.
    rows = (tmp_path / "synth.csv").read_text().splitlines()
    with_label = [(*row.split(",", 2)[:2], "label" if i == 0 else "0", row.split(",", 2)[2]) for i, row in enumerate(rows)]
    (tmp_path / "labelled.csv").write_text("\n".join(",".join(row) for row in with_label))
    labelled = json.loads(run_cli("eval", tmp_path / "labelled.csv", *score)[1])
    assert labelled["discriminative"]["values"] == pytest.approx(by_file["discriminative"]["values"], abs=0.03)
    # Unequal counts: the larger set is subsampled, or a classifier would score the imbalance itself.
    assert run_cli("sample", run, "--n", "10", "--out", tmp_path / "few.npz")[0] == 0
    few = json.loads(run_cli("eval", tmp_path / "few.npz", *score)[1])
    assert few["protocol"]["counts"] == "10 of each: the reference's 36 subsampled at random (seed 0), as the " \
                                        "TimeGAN code scores equal numbers"
    assert few["protocol"]["real_sequences"] == few["protocol"]["synthetic_sequences"] == 10
    # A reference read newest first: a CSV of samples does not say whether the model read it reversed.
    header, *rows = data.read_text().splitlines()
    (tmp_path / "backwards.csv").write_text("\n".join([header, *rows[::-1]]) + "\n")
    backwards = ["--ref", tmp_path / "backwards.csv", *score[2:]]
    warning = json.loads(run_cli("eval", tmp_path / "synth.csv", *backwards)[1])["protocol"]["warning"]
    assert "backwards.csv runs newest first as read, and" in warning and "synth.npz records the reading" in warning
    assert "newest first" not in json.loads(run_cli("eval", tmp_path / "synth.npz", *backwards)[1])["protocol"].get(
        "warning", "")  # the .npz records --data.reverse, so the reference is read oldest first
    (tmp_path / "three.csv").write_text("Date,a,b,c\n" + "".join(f"2020-01-{i + 1:02d},1,2,{i}\n" for i in range(9)))
    code, _, err = run_cli("eval", tmp_path / "synth.csv", "--ref", tmp_path / "three.csv")
    assert code == 2 and "synth.csv has 2 features per step and" in err and "three.csv has 3" in err


@pytest.mark.parametrize("text, message", [
    ("step,sequence,a\n0,0,1\n", "starts with the columns step, sequence; a file of generated sequences has "
                                 "'sequence,step' first"),
    ("sequence,step,a\n0,0,1\n0,1,2\n1,0,1\n1,2,3\n", "sequence 1 has no step 1 but has later ones"),
    ("sequence,step,a\n0,0,1\n0,0,2\n1,0,1\n", "row 3 repeats step 0 of sequence 0"),
    ("sequence,step,a\n0,0,1\n0,1,up\n", "row 3, column 'a' holds 'up', which is not a number"),
    ("sequence,step,a\n0,0,1\n0,1,nan\n1,0,1\n1,1,2\n", "NaN or infinite values inside its sequences"),
    ("sequence,step\n0,0\n", "no feature columns after sequence, step"),
    ("sequence,step,a\n0,0,1\n0,1,2\n", "holds 1 sequence(s), the shortest of 2 step(s)"),
    ("sequence,step,a\n0,0,1\n0,1,2\n1,0,3\n", "the shortest of 1 step(s), of 1 feature(s); the scores need at least 2 "
                                               "sequences, each of 2 steps or more"),
    ("sequence,step,a,b\n0,0,1,\n", "row 2, column 'b' is empty; every generated step has a value in each feature"),
])
def test_a_bad_file_of_generated_sequences_is_one_sentence(tmp_path, text, message):
    from genlab.data.sample_files import read_sample_file
    from genlab.errors import DataError

    path = tmp_path / "synth.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=re.escape(message)):
        read_sample_file(path)


def test_generated_sequences_of_several_lengths_read_back_with_their_lengths(tmp_path):
    from genlab.data.sample_files import read_sample_file
    from genlab.errors import DataError

    path = tmp_path / "synth.csv"  # rows in any order, as long as each sequence's steps run 0, 1, ...
    path.write_text("sequence,step,label,a\n1,1,0,4\n0,0,1,1\n0,1,1,2\n0,2,1,3\n1,0,0,5\n")
    found = read_sample_file(path)  # a label column is kept: a feature may be named so (eval drops a model's)
    assert found.columns == ["label", "a"] and found.lengths.tolist() == [2, 3]
    assert found.x[0, :2, 1].tolist() == [5, 4] and np.isnan(found.x[0, 2]).all() and found.x[1, :, 1].tolist() == [1, 2, 3]
    np.savez(tmp_path / "synth.npz", x=np.ones((3, 4, 2)), lengths=np.array([4, 2, 3]))
    read = read_sample_file(tmp_path / "synth.npz")
    assert read.lengths.tolist() == [4, 2, 3] and np.isnan(read.x[1, 2:]).all() and not np.isnan(read.x[0]).any()
    np.savez(tmp_path / "images.npz", x=np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"holds images \(uint8 of shape \(4, 28, 28\)\); score images with --metrics"):
        read_sample_file(tmp_path / "images.npz")


def test_data_info_describes_a_csv_or_npz_of_sequences_as_training_would_read_it(tmp_path, run_cli):
    data = tmp_path / "pair.csv"
    data.write_text("Date,a,b\n" + "".join(f"2020-01-{30 - i:02d},{i},{-2 * i}\n" for i in range(30)))
    code, out, err = run_cli("data", "info", data)
    assert code == 0, err
    described = json.loads(out)
    assert described["kind"] == "series (rows, F)" and described["rows"] == 30 and described["windows_of_24"] == 7
    assert described["features"] == [{"name": "a", "min": 0.0, "max": 29.0}, {"name": "b", "min": -58.0, "max": 0.0}]
    assert "(read newest first by 'Date': its rows run newest first" in described["source"]
    np.savez(tmp_path / "seqs.npz", x=np.zeros((5, 4, 3)), lengths=np.array([4, 4, 2, 3, 4]), y=np.array([0, 1, 1, 0, 1]))
    described = json.loads(run_cli("data", "info", tmp_path / "seqs.npz")[1])
    assert (described["kind"], described["sequences"], described["steps"]) == ("sequences (N, T, F)", 5, 4)
    assert described["lengths"] == {"min": 2, "max": 4} and described["labels"] == {"0": 2, "1": 3}
    (tmp_path / "gap.csv").write_text("a,b\n1,2\n,3\n")  # refused as training would refuse it, naming the fix
    code, _, err = run_cli("data", "info", tmp_path / "gap.csv")
    assert code == 2 and f"'genlab train rgan --data {tmp_path / 'gap.csv'}' would refuse it: " in err
    assert "row 3, column 'a' is missing" in err and "--data.fill" in err
    code, _, err = run_cli("data", "info", tmp_path / "absent.csv")
    assert code == 2 and "absent.csv does not exist" in err and "would refuse" not in err
    np.savez(tmp_path / "floats.npz", x=np.zeros((3, 28, 28)))  # float images, or 28 steps of 28 features
    assert "may be images of 28 x 28 pixels" in json.loads(run_cli("data", "info", tmp_path / "floats.npz")[1])["note"]


def test_samples_give_whole_numbers_back_where_the_data_holds_only_them(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    data = tmp_path / "market.csv"
    data.write_text("price,volume,flag\n" + "".join(f"{p:.3f},{v},1\n" for p, v in
                                                     zip(rng.normal(size=40).cumsum(), rng.integers(1000, 5000, 40))))
    run = tmp_path / "run"
    assert run_cli("train", "rgan", "--data", data, "--data.window", "5", "--steps", "2", "--batch-size", "8", "--out",
                   run, "--quiet", *TINY)[0] == 0
    assert json.loads((run / "config.json").read_text())["model"]["whole_numbers"] == [False, True, True]
    assert run_cli("sample", run, "--n", "4", "--out", tmp_path / "synth.npz")[0] == 0
    with np.load(tmp_path / "synth.npz") as synthetic:
        x = synthetic["x"]
    assert (x[..., 1] == np.round(x[..., 1])).all() and (x[..., 2] == 1).all()  # a count, and a constant, exactly
    assert not (x[..., 0] == np.round(x[..., 0])).all()  # prices keep their fractions
    code, _, err = run_cli("train", "rgan", "--data", data, "--model.whole_numbers", "[true, true, true]", "--out",
                           tmp_path / "other")
    assert code == 2 and "--model.whole_numbers is recorded from the training data (the data's values)" in err
