"""The run report: self-contained HTML that a real browser renders with every image decoded."""

import html
import json
import re
import shutil
import subprocess

import pytest
import torch

from genlab.errors import CheckpointError
from genlab.metrics.timeseries import summary
from genlab.report import compare, eval_values, previews, svg_curves, write_report


@pytest.fixture
def trained_run(tmp_path, digits_npz, run_cli, tiny_dcgan):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "4", "--batch-size", "16", "--out", run,
                           "--train.log_every", "1", "--train.sample_every", "2", "--quiet", *tiny_dcgan)
    assert code == 0, err
    return run


def test_report_embeds_samples_curves_interpolation_and_config(trained_run):
    page = write_report(trained_run).read_text()
    assert page.count("data:image/png;base64,") == 4  # latest grid, two progress grids, interpolation
    assert "<polyline" in page and "loss_discriminator" in page
    assert "\"latent_dim\": 16" in html.unescape(page) and "file://" not in page and "src=\"samples" not in page


def test_report_embeds_the_figures_an_evaluation_drew_and_names_missing_ones(trained_run, tmp_path):
    figures = trained_run / "figures"
    figures.mkdir()
    shutil.copy(previews(trained_run, "png")[-1][1], figures / "sequences.png")  # any PNG stands in for a figure
    (figures / "notes.png").write_text("not a picture")  # eval.json can be edited: only PNG files are embedded
    shutil.copy(figures / "sequences.png", tmp_path / "private.png")  # nor anything from outside the run
    plots = {"sequences": str(figures / "sequences.png"), "pca_tsne": str(figures / "gone.png"),
             "other": str(figures / "notes.png"), "elsewhere": str(tmp_path / "private.png"),
             "climbing": "figures/../../private.png", "protocol": "1000 real and 1000 synthetic sequences"}
    (trained_run / "eval.json").write_text(json.dumps({"discriminative": {"mean": 0.1, "std": 0.0}, "plots": plots}))
    page = write_report(trained_run).read_text()
    assert page.count("data:image/png;base64,") == 4 + 1 and "Evaluation figures" in page
    assert f"The pca_tsne figure {figures / 'gone.png'} is missing." in html.unescape(page)
    assert "not a picture" not in page and f"The other figure {figures / 'notes.png'} is not a PNG file" in \
        html.unescape(page)
    for name, path in (("elsewhere", tmp_path / "private.png"), ("climbing", "figures/../../private.png")):
        assert f"The {name} figure {path} lies outside the run, so it is not embedded" in html.unescape(page)
    assert "1000 real and 1000 synthetic sequences" in page


def test_figures_inside_the_run_are_read_relative_to_it_so_a_copied_run_shows_its_own(trained_run, tmp_path, run_cli):
    from genlab.cli.evaluate import write_run_evaluation

    (trained_run / "plots").mkdir()
    shutil.copy(previews(trained_run, "png")[-1][1], trained_run / "plots" / "sequences.png")
    outside = tmp_path / "elsewhere.png"
    shutil.copy(previews(trained_run, "png")[-1][1], outside)
    write_run_evaluation(trained_run, {"discriminative": 0.1, "plots": {
        "sequences": str((trained_run / "plots" / "sequences.png").resolve()), "pca_tsne": str(outside)}})
    stored = json.loads((trained_run / "eval.json").read_text())["plots"]
    assert stored == {"sequences": "plots/sequences.png", "pca_tsne": str(outside)}
    copy = tmp_path / "copy"
    shutil.copytree(trained_run, copy)
    (copy / "plots" / "sequences.png").write_text("changed")  # the copy's own file, not the original's
    page = html.unescape(write_report(copy).read_text())
    assert "The sequences figure plots/sequences.png is not a PNG file." in page


def test_a_damaged_run_is_reported_as_damaged(trained_run, tmp_path, run_cli):
    run = tmp_path / "damaged"
    shutil.copytree(trained_run, run)
    (run / "model" / "model.safetensors").write_bytes(b"\x00" * 300)
    log = run / "metrics.jsonl"
    log.write_text(log.read_text() + '{"step": 5, "loss_gen\n' + "\x00garbage\n")
    (run / "samples" / "step-000004.png").write_text("hello, not a png")
    code, out, err = run_cli("report", run)
    page = html.unescape((run / "report.html").read_text())
    assert code == 0 and "Problems with this run's files" in page
    for problem in ("metrics.jsonl: 2 of its 6 lines are not log records",
                    "samples/step-000004.png is not a PNG file (damaged or replaced); it is not shown.",
                    "no latent interpolation drawn: "):
        assert problem in page and f"genlab: warning: {problem}" in err
    assert "hello" not in page and "aGVsbG8" not in page  # the text was not embedded as a picture
    assert "Latent interpolation</h2>" not in page
    log.write_bytes(b"\x00\xff" * 600)  # binary: nothing to read, though checkpoints reach step 4
    page = html.unescape(write_report(run).read_text())
    assert "metrics.jsonl ends at step 0, but the newest checkpoint is step 4: the log lost the lines in between." in page
    assert "metrics.jsonl ends at step" not in html.unescape(write_report(trained_run).read_text())


def test_previews_are_in_numeric_step_order_past_six_digits(tmp_path):
    (tmp_path / "samples").mkdir()
    for name in ("step-999999.png", "step-1000000.png", "step-000500.png", "step-notes.png", "step-000500.txt",
                 "step-000500-traversal.png"):
        (tmp_path / "samples" / name).touch()
    assert [(step, p.name) for step, p in previews(tmp_path, "png")] == [
        (500, "step-000500.png"), (999999, "step-999999.png"), (1000000, "step-1000000.png")]


def test_eval_values_reads_every_family_s_eval_json():
    image = {"fd_mnist": {"value": 3.5, "protocol": "10000 vs 10000"}, "kid": {"value": 0.01, "std": 0.002,
                                                                                "protocol": "100 subsets"}}
    assert eval_values(image) == [("fd_mnist", 3.5, "10000 vs 10000"), ("kid", 0.01, "100 subsets (std 0.002)")]
    vae = {"elbo": -90.0, "active_units": 25, "nll_standard_error": None, "bits_per_dim": {"negative_elbo": 0.16},
           "protocol": {"data": "test", "k": 5000}}
    assert eval_values(vae) == [("elbo", -90.0, "data: test; k: 5000"), ("active_units", 25, "data: test; k: 5000"),
                                ("bits_per_dim.negative_elbo", 0.16, "data: test; k: 5000")]
    rgan = {"discriminative": {"mean": 0.25, "std": 0.02, "values": [0.23, 0.27], "text": "0.25 +/- 0.02"},
            "predictive": None, "protocol": {"repeats": 2}}
    assert eval_values(rgan) == [("discriminative", 0.25, "repeats: 2 (std 0.02 over 2 repeats)")]
    rough = {"step_change": {"columns": ["open", "feature 1"], "real": [0.1, 0.2], "synthetic": [0.2, 0.2],
                             "ratio": [2.0, 1.0]}, "protocol": {"repeats": 2}}
    assert eval_values(rough) == [("step_change.ratio", "open=2.0;feature_1=1.0", "repeats: 2")]
    once = {"discriminative": summary([0.25]), "protocol": {"repeats": 1}}  # no spread, not a spread of 0
    assert once["discriminative"]["std"] is None and once["discriminative"]["text"] == "0.2500 (one repeat: no spread)"
    assert eval_values(once) == [("discriminative", 0.25, "repeats: 1 (one repeat: no spread)")]
    assert eval_values(once, spread=True)[0][1] == 0.25


def test_svg_curves_without_values():
    assert "No logged values" in svg_curves([], ["loss"])


def test_damaged_and_non_finite_log_lines_are_left_out_of_the_charts(trained_run):
    with (trained_run / "metrics.jsonl").open("ab") as f:
        f.write(b'\xff\xfe not json\n{"step": 5, "loss_generator": NaN, "loss_discriminator": Infinity}\n')
        f.write(b'{"step": 6, "loss_generator": 1' + b"0" * 400 + b'}\n')
    page = write_report(trained_run).read_text()
    losses = page.split("<h2>Losses</h2>")[1]
    assert "nan" not in losses.split("</svg>")[0] and "inf" not in losses.split("</svg>")[0]
    assert "3 logged values that are NaN, infinite or not a number left out of the chart" in losses
    assert "loss_generator" in compare([trained_run])  # the table shows what was logged, NaN included


def test_a_corrupt_eval_json_names_the_command_that_rewrites_it(trained_run):
    (trained_run / "eval.json").write_text('{"fd": ')
    with pytest.raises(CheckpointError, match="eval.json is truncated or corrupt; run 'genlab eval .*' again"):
        compare([trained_run])


def test_compare_lists_one_row_per_run(trained_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(trained_run, other)
    lines = compare([trained_run, other]).splitlines()
    assert lines[0].split()[:3] == ["run", "model", "step"] and len(lines) == 6
    assert lines[1].split()[:3] == ["run", "dcgan", "4"]
    # The training columns say what they are: means over a log window, not held-out numbers.
    assert lines[3:5] == ["", "protocols:"] and lines[5].startswith("  loss_discriminator, loss_generator: training")
    # An evaluation named like a logged training value keeps both (a transformer logs and evaluates "loss").
    (other / "eval.json").write_text('{"loss_generator": 9.5, "fd_mnist": {"value": 2.25, "protocol": "p"}}')
    header, first, second, blank, title, training, protocol = compare([trained_run, other]).splitlines()
    assert (blank, title, protocol) == ("", "protocols:", "  other, fd_mnist: p")  # each number's protocol below
    # An image metric's warning (scored against its own training data) travels with its protocol.
    (other / "eval.json").write_text('{"fd_mnist": {"value": 2.25, "protocol": "p", "warning": "w"}, '
                                     '"kid_mnist": {"value": 0.5, "std": 0.125, "protocol": "q"}}')
    assert compare([trained_run, other]).splitlines()[-2:] == ["  other, fd_mnist: p; warning: w",
                                                                "  other, kid_mnist: q; std 0.125"]
    assert "p; warning: w" in write_report(other).read_text()
    shown = dict(zip(header.split(), second.split()))
    assert shown["eval.loss_generator"] == "9.5" and shown["fd_mnist"] == "2.25"
    assert shown["loss_generator"] == dict(zip(header.split(), first.split()))["loss_generator"] != "9.5"
    # A spread over repeats stays beside its mean, and a count keeps its total.
    (other / "eval.json").write_text('{"discriminative": {"mean": 0.0892, "std": 0.1262, "values": [0, 0.18]}, '
                                     '"modes": {"value": 7, "of": 10, "protocol": "m"}}')
    table = compare([other])
    assert "0.0892±0.1262" in table.split() and "7/10" in table.split()


def test_compare_says_when_a_column_holds_losses_of_different_families(trained_run, tmp_path):
    """A VAE's loss (nats per image) and a transformer's (nats per token) would share a column unawares."""
    other = tmp_path / "other"
    shutil.copytree(trained_run, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "family": "vae"}))
    protocols = compare([trained_run, other]).split("protocols:")[1].splitlines()
    assert "  loss_generator: logged by runs of different families (gan, vae), each in its own units and terms: not " \
           "comparable across them" in protocols
    assert "different families" not in compare([trained_run])
    (other / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "family"}))
    assert "different families" not in compare([trained_run, other])  # a run that names no family is none


def test_compare_says_when_a_score_was_measured_against_different_data(trained_run, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for run, reference in ((first, "stocks.csv"), (second, "energy.csv")):
        shutil.copytree(trained_run, run)
        (run / "eval.json").write_text(json.dumps({"discriminative": {"mean": 0.1, "std": 0.01, "values": [0.1, 0.11]},
                                                   "protocol": {"reference_data": reference}}))
    protocols = compare([first, second]).split("protocols:")[1].splitlines()
    assert "  discriminative: scored against different reference data across runs (stocks.csv; energy.csv): not " \
           "comparable across them" in protocols
    (second / "eval.json").write_text(json.dumps({"discriminative": {"mean": 0.1, "std": 0.01, "values": [0.1, 0.11]},
                                                  "predictive": {"mean": 0.2, "std": 0.01, "values": [0.2, 0.21]},
                                                  "protocol": {"reference_data": "energy.csv"}}))
    (first / "eval.json").write_text(json.dumps({**json.loads((second / "eval.json").read_text()),
                                                 "protocol": {"reference_data": "stocks.csv"}}))
    protocols = compare([first, second]).split("protocols:")[1].splitlines()  # one line for the columns alike
    assert [line for line in protocols if "different reference data" in line] == [
        "  discriminative, predictive: scored against different reference data across runs (stocks.csv; energy.csv): "
        "not comparable across them"]
    (second / "eval.json").write_text((first / "eval.json").read_text())
    assert "different reference data" not in compare([first, second])
    (second / "eval.json").write_text(json.dumps({"discriminative": {"mean": 0.1, "std": 0.01, "values": [0.1, 0.2]}}))
    assert "different reference data" not in compare([first, second])  # an evaluation that does not say
    image = {"FD-mnist": {"value": 3.0, "reference_data": "mnist-test", "reference_split": "test", "protocol": "p"}}
    (first / "eval.json").write_text(json.dumps(image))
    (second / "eval.json").write_text(json.dumps({"FD-mnist": {**image["FD-mnist"], "reference_split": "train"}}))
    assert "  FD-mnist: scored against different reference data across runs (mnist-test (test); mnist-test (train))" \
        in compare([first, second])


def test_an_evaluation_never_shares_a_column_with_another_runs_training_value(trained_run, tmp_path):
    """A run that logged nothing but evaluated "loss_generator", listed first, does not fill the training column."""
    scored = tmp_path / "scored"
    shutil.copytree(trained_run, scored)
    (scored / "metrics.jsonl").write_text("")
    (scored / "eval.json").write_text('{"loss_generator": 9.5}')
    header, first, second, *_ = compare([scored, trained_run]).splitlines()
    columns = header.split()
    assert dict(zip(columns, first.split()))["eval.loss_generator"] == "9.5"
    assert "9.5" not in second.split() and "loss_generator" in columns


def test_penalties_logged_apart_from_the_losses_get_their_own_curves_and_columns(trained_run):
    """A GAN logs its gradient penalty or R1 beside loss_discriminator, which holds the adversarial loss alone."""
    with (trained_run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 5, "loss_discriminator": -0.5, "loss_generator": 0.25, "penalty_gradient": 0.125}\n')
    page = write_report(trained_run).read_text()
    losses, penalties = page.split("<h2>Losses</h2>")[1].split("<h2>Penalties</h2>")
    assert "loss_discriminator" in losses and "penalty_gradient" not in losses
    assert "<polyline" in penalties.split("<h2>")[0] and "penalty_gradient" in penalties.split("<h2>")[0]
    header, row, _, _, training = compare([trained_run]).splitlines()
    assert dict(zip(header.split(), row.split()))["penalty_gradient"] == "0.125" and "penalty_gradient" in training


def test_each_kind_of_curve_gets_its_chart_however_many_kinds_there_are(trained_run, monkeypatch):
    import genlab.report

    monkeypatch.setattr(genlab.report, "CURVES", ("loss", "penalty", "accuracy"))
    with (trained_run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 5, "loss_generator": 0.25, "accuracy_real": 0.5}\n')
    page = write_report(trained_run).read_text()
    assert "<h2>Losses</h2>" in page and "<h2>Penalties</h2>" not in page  # nothing logged under it
    assert "accuracy_real" in page.split("<h2>Accuracy</h2>")[1].split("<h2>")[0]


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium_with_all_images(trained_run, tmp_path):
    page = write_report(trained_run)
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    loaded = re.search(r'data-images="(\d+)/(\d+)"', result.stdout)
    assert loaded, result.stderr[-2000:]
    assert loaded.group(1) == loaded.group(2) == "4"


def test_report_and_compare_commands(trained_run, run_cli, tmp_path):
    code, out, _ = run_cli("report", trained_run)
    assert code == 0 and (trained_run / "report.html").is_file()
    code, out, _ = run_cli("compare", trained_run, trained_run)
    assert code == 0 and len(out.strip().splitlines()) == 6  # header, two rows, the training columns' protocol
    code, _, err = run_cli("report", tmp_path)
    assert code == 2 and "is not a run directory" in err
    for folder in (trained_run / "checkpoints" / "step-000004", trained_run / "model"):  # they hold a config.json
        for command in ("report", "compare"):
            code, _, err = run_cli(command, folder)
            assert code == 2 and "is a checkpoint or an exported model" in err and not (folder / "report.html").exists()


@pytest.mark.parametrize("name, content", [("eval.json", "[1, 2]"), ("eval.json", "{cut"), ("config.json", "{cut"),
                                           ("config.json", "[1, 2]")])
def test_a_corrupt_run_file_is_one_sentence_naming_it(trained_run, run_cli, name, content):
    (trained_run / name).write_text(content)
    for command in ("report", "compare"):
        code, _, err = run_cli(command, trained_run)
        assert code == 2 and f"{name} " in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_log_lines_that_are_not_records_are_skipped(trained_run):
    with open(trained_run / "metrics.jsonl", "a") as f:
        f.write('[1, 2]\n{"no_step": 1}\n')
    assert compare([trained_run]).splitlines()[1].split()[:3] == ["run", "dcgan", "4"]


def test_a_hand_edited_config_of_odd_types_still_reports(trained_run, run_cli):
    (trained_run / "config.json").write_text('{"family": 3, "model": null, "train": [1], "versions": "x"}')
    for command in ("report", "compare"):
        code, out, err = run_cli(command, trained_run)
        assert code == 0, err
    assert "3/?" in (trained_run / "report.html").read_text()


def test_a_model_drawing_nan_images_still_reports_and_sampling_it_is_one_sentence(trained_run, run_cli, tmp_path):
    """Finite weights can still draw NaN (here a negative BatchNorm variance): the report keeps its curves and
    previews without the interpolation figure, and 'genlab sample' refuses rather than writing black images."""
    from safetensors.torch import load_file, save_file

    weights = trained_run / "model" / "model.safetensors"
    state = load_file(str(weights))
    for key in [k for k in state if k.endswith("running_var")]:
        state[key] = -torch.ones_like(state[key])
    save_file(state, str(weights))
    page = write_report(trained_run).read_text()
    assert page.count("data:image/png;base64,") == 3 and "<polyline" in page  # no interpolation grid
    out = tmp_path / "samples.png"
    code, _, err = run_cli("sample", trained_run, "--n", "4", "--out", out)
    assert code == 2 and not out.exists()
    assert err.strip() == ("genlab: error: The model drew 4 of 4 images with NaN or infinite pixels: its activations "
                           "overflow; use an earlier checkpoint.")


def test_an_evaluations_shared_protocol_is_written_once_under_its_table(trained_run):
    (trained_run / "eval.json").write_text('{"elbo": -100.5, "nll": 90.25, "predictive": {"mean": 0.1, "std": 0.01, '
                                           '"values": [0.09, 0.11]}, "protocol": {"data": "held-out.npz", "k": 5}}')
    page = html.unescape(write_report(trained_run).read_text())
    assert page.count("data: held-out.npz; k: 5") == 1 and "Protocol of the evaluation: data: held-out.npz; k: 5" in page
    assert page.count("the evaluation's protocol, below") == 3  # the elbo, nll and predictive rows
    assert "the evaluation's protocol, below (std 0.01 over 2 repeats)" in page


def test_curves_over_two_decades_share_a_log_axis_and_a_single_window_is_a_dot():
    from genlab.report import svg_curves

    records = [{"step": 1, "loss_a": 0.01, "loss_b": 50.0}, {"step": 2, "loss_a": 0.005, "loss_b": 40.0}]
    chart = svg_curves(records, ["loss_a", "loss_b"])
    assert "(log scale)" in chart and ">50<" in chart and ">0.005<" in chart  # the axis in the values' units
    heights = [float(p.split(",")[1]) for p in chart.split('points="')[1].split('"')[0].split()]
    assert heights[1] - heights[0] > 10  # 0.01 and 0.005 apart; on a linear axis to 50 both lie on the bottom
    assert "(log scale)" not in svg_curves([{"step": 1, "loss": -1.0}, {"step": 2, "loss": 5.0}], ["loss"])
    single = svg_curves([{"step": 4, "loss": 1.0}], ["loss"])
    assert "<circle" in single and ">step 4<" in single  # its axis names the one step, not 4 … 5
    assert ">step 1 … 2 (log scale)<" in chart


def test_an_evaluation_that_replaces_one_of_other_values_says_so(trained_run, capsys):
    from genlab.cli.evaluate import write_run_evaluation

    write_run_evaluation(trained_run, {"elbo": -90.0, "nll": 85.0, "protocol": {"examples": 10}})
    assert capsys.readouterr().err == ""
    write_run_evaluation(trained_run, {"FD-mnist": {"value": 1.0, "protocol": "p"}})
    assert "replaced" in (err := capsys.readouterr().err) and "which also held elbo, nll (one evaluation per run" in err
    write_run_evaluation(trained_run, {"FD-mnist": {"value": 2.0, "protocol": "p"}})
    assert capsys.readouterr().err == ""  # the same values measured again


def test_a_run_cut_short_in_its_last_line_or_before_its_first_checkpoint_is_not_damaged(trained_run, tmp_path):
    run = tmp_path / "young"
    shutil.copytree(trained_run, run)
    shutil.rmtree(run / "model")
    shutil.rmtree(run / "checkpoints")  # as before the first checkpoint
    with (run / "metrics.jsonl").open("a") as log:
        log.write('{"step": 5, "loss_gen')  # a line still being written
    problems = []
    page = write_report(run, problems)
    assert problems == [] and "Problems with this run" not in page.read_text()


def test_runs_of_one_name_are_told_apart_by_their_paths(trained_run, tmp_path):
    other = tmp_path / "elsewhere" / trained_run.name
    shutil.copytree(trained_run, other)
    (other / "eval.json").write_text('{"fd_mnist": {"value": 2.25, "protocol": "p"}}')
    table = compare([trained_run, other])
    rows = table.splitlines()
    assert rows[1].split()[0] == str(trained_run) and rows[2].split()[0] == str(other)
    assert f"  {other}, fd_mnist: p" in rows


def test_the_page_lists_long_config_lists_in_part_and_labels_its_charts(trained_run):
    from genlab.report import LISTED_ITEMS, shortened

    config = {"model": {"vocab": [f"w{i}" for i in range(5000)], "betas": [0.5, 0.999]}}
    short = shortened(config)
    assert short["model"]["betas"] == [0.5, 0.999] and len(short["model"]["vocab"]) == LISTED_ITEMS + 1
    assert short["model"]["vocab"][-1] == "... 4,980 more (see config.json)"
    page = write_report(trained_run).read_text()
    assert 'aria-label="loss_discriminator, loss_generator against training step"' in page
