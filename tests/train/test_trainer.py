"""The trainer's log: health checks on the logged values, and metrics.jsonl as a resume and the report read it."""

import json
from dataclasses import dataclass

import pytest
import torch

from genlab.config import RunConfig, TrainConfig
from genlab.data.image_dataset import ImageDataConfig
from genlab.errors import ConfigError
from genlab.models.base import GenerativeModel
from genlab.train.checkpoint import latest_checkpoint
from genlab.train.rundir import read_metric_records
from genlab.train.trainer import Trainer, _LoopState


@dataclass
class PenalisedConfig:
    pass


class Penalised(GenerativeModel):
    """A constant loss, and a penalty logged apart from it whose value each step is ``PENALTIES``'."""

    family, name, config_class = "test", "penalised", PenalisedConfig
    PENALTIES = {5: 20.0, 6: 20.0, 7: 400.0, 8: 400.0}  # by step; 1.0 at the others

    def __init__(self):
        super().__init__(PenalisedConfig())
        self.w = torch.nn.Parameter(torch.ones(2))

    def configure_optimizers(self):
        return {"line": torch.optim.SGD([self.w], lr=0.0)}

    def on_train_step(self, step, optimizers):
        self.step = step + 1

    def training_step(self, batch, optimizers):
        optimizers["line"].zero_grad(set_to_none=True)
        (batch @ self.w).sum().backward()
        optimizers["line"].step()
        return {"loss": torch.tensor(1.0), "penalty_r1": torch.tensor(self.PENALTIES.get(self.step, 1.0))}

    def write_preview(self, path, count, seed):
        return path

    def save_pretrained(self, directory):
        return directory


class Ones:
    description = "ones"

    def __len__(self):
        return 8

    def get_batch(self, indices, device):
        return torch.ones(len(indices), 2)


def fit(tmp_path, steps, resume_from=None):
    config = TrainConfig(steps=steps, batch_size=1, log_every=1, checkpoint_every=4, sample_every=100)
    run = RunConfig("test", "penalised", PenalisedConfig(), ImageDataConfig(), config)
    return Trainer(config, tmp_path, progress=False).fit(Penalised(), Ones(), run, resume_from=resume_from)


def test_a_penalty_that_jumps_tenfold_is_warned_of_also_right_after_a_resume(tmp_path):
    """Penalties (a GAN's R1, gradient penalty) are logged apart from the losses; a spike in one is
    warned of as a loss's is, also against the last window before a resume."""
    fit(tmp_path, steps=4)
    fit(tmp_path, steps=8, resume_from=latest_checkpoint(tmp_path))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    warned = {record["step"]: record.get("warnings") for record in records}
    assert warned == {1: None, 2: None, 3: None, 4: None, 5: ["penalty_r1 spiked from 1 to 20"], 6: None,
                      7: ["penalty_r1 spiked from 20 to 400"], 8: None}


def test_damaged_log_lines_are_skipped(tmp_path):
    log = tmp_path / "metrics.jsonl"
    assert read_metric_records(log) == []  # nothing logged yet
    log.write_bytes(b'{"step": 1, "loss": 0.5}\n\xff\xfe not json\n[1, 2]\n7\n{"no_step": 1}\n{"step": "2"}\n'
                    b'{"step": 2.5}\n' + b"[" * 100_000 + b'\n{"step": 3, "loss": 0.25}\n{"step": 4, "lo')
    assert read_metric_records(log) == [{"step": 1, "loss": 0.5}, {"step": 3, "loss": 0.25}]


def test_a_resume_drops_the_killed_run_s_tail_and_damaged_lines_and_keeps_the_rest_as_written(tmp_path):
    fit(tmp_path, steps=4)
    log = tmp_path / "metrics.jsonl"
    written = log.read_bytes()
    with log.open("ab") as f:  # a damaged line, and the tail of a run killed after the checkpoint at step 4
        f.write(b'{"no_step": 1}\n{"step": 5, "loss": 1.0, "penalty_r1": 20.0}\n{"step": 6, "lo')
    fit(tmp_path, steps=8, resume_from=latest_checkpoint(tmp_path))
    assert log.read_bytes().startswith(written)
    assert [record["step"] for record in read_metric_records(log)] == list(range(1, 9))
    assert len(log.read_text().splitlines()) == 8


class LazilyPenalised(Penalised):
    """The penalty only on even steps, as lazy R1 logs it with --model.r1_every 2."""

    name = "lazily-penalised"
    PENALTIES = {6: 50.0}

    def training_step(self, batch, optimizers):
        values = super().training_step(batch, optimizers)
        return values if self.step % 2 == 0 else {"loss": values["loss"]}


def test_a_penalty_missing_from_some_windows_is_still_compared_with_its_last_value(tmp_path):
    config = TrainConfig(steps=8, batch_size=1, log_every=1, checkpoint_every=8, sample_every=100)
    run = RunConfig("test", "lazily-penalised", PenalisedConfig(), ImageDataConfig(), config)
    Trainer(config, tmp_path, progress=False).fit(LazilyPenalised(), Ones(), run)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {record["step"]: record.get("warnings") for record in records if record.get("warnings")} == {
        6: ["penalty_r1 spiked from 1 to 50"]}


class NaNPreview(Penalised):
    """A model whose previews are NaN images, as a diverged generator's in eval mode are."""

    name = "nan-preview"

    def write_preview(self, path, count, seed):
        from genlab.imaging import save_image_grid

        return save_image_grid(torch.full((2, 1, 4, 4), float("nan")), path.with_suffix(".png"))


def test_a_preview_of_nan_images_is_a_warning_and_the_run_finishes(tmp_path, capsys):
    config = TrainConfig(steps=4, batch_size=1, log_every=1, checkpoint_every=4, sample_every=2)
    run = RunConfig("test", "nan-preview", PenalisedConfig(), ImageDataConfig(), config)
    Trainer(config, tmp_path, progress=False).fit(NaNPreview(), Ones(), run)
    assert latest_checkpoint(tmp_path).name == "step-000004"
    assert not list((tmp_path / "samples").glob("*.png"))  # nothing black written in their place
    printed = "".join(capsys.readouterr())
    assert printed.count("warning: no preview written: The model drew 2 of 2 images with NaN or infinite pixels") == 2


def test_training_streams_differ_from_the_weights_stream_and_between_seeds_and_ranks():
    from genlab.train.rng import seed_everything, training_seed

    seeds = {(seed, rank): training_seed(seed, rank) for seed in range(3) for rank in range(3)}
    assert len(set(seeds.values())) == 9  # seed 1 rank 0 is no longer seed 0 rank 1
    seed_everything(0)
    weights = torch.randn(4)
    seed_everything(training_seed(0, 0))
    assert not torch.equal(torch.randn(4), weights)  # rank 0's first noise does not replay the initial weights'


class Collapsing(Penalised):
    """A model whose health check warns in windows 2-4 and 6 (numbers change from window to window)."""

    name = "collapsing"
    PENALTIES = {5: 20.0, 6: 400.0}  # a penalty that jumps tenfold in two windows running

    def monitor(self, logged):
        return [f"samples barely differ (spread {self.step / 100:.2f}): mode collapse"] if self.step in (2, 3, 4, 6) else []


def test_a_warning_is_printed_when_it_starts_not_again_while_it_lasts(tmp_path, capsys):
    config = TrainConfig(steps=7, batch_size=1, log_every=1, checkpoint_every=7, sample_every=100)
    run = RunConfig("test", "collapsing", PenalisedConfig(), ImageDataConfig(), config)
    Trainer(config, tmp_path, progress=False).fit(Collapsing(), Ones(), run)
    captured = capsys.readouterr()
    out = captured.out + captured.err
    printed = [line for line in out.splitlines() if "mode collapse" in line]
    assert [line.split(":")[1].strip() for line in printed] == ["step 2", "step 6"]  # it started twice
    spikes = [line.split(":")[1].strip() for line in out.splitlines() if "spiked" in line]
    assert spikes == ["step 5", "step 6"]  # events, each printed, even in windows running
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    collapsed = [record["step"] for record in records if any("collapse" in w for w in record.get("warnings", []))]
    assert collapsed == [2, 3, 4, 6]  # every window's kept


class AlwaysCollapsing(Penalised):
    """A model whose monitor reports a lasting condition at every log."""

    name = "always-collapsing"

    def monitor(self, logged):
        return ["generated samples barely differ from each other (spread 0.001 vs 0.3): mode collapse"]


def test_a_lasting_condition_is_printed_once_also_across_a_resume(tmp_path, capsys):
    config = TrainConfig(steps=4, batch_size=1, log_every=1, checkpoint_every=2, sample_every=100)
    run = RunConfig("test", "always-collapsing", PenalisedConfig(), ImageDataConfig(), config)
    Trainer(config, tmp_path, progress=False).fit(AlwaysCollapsing(), Ones(), run)
    uninterrupted = capsys.readouterr().out.count("mode collapse")
    config = TrainConfig(steps=2, batch_size=1, log_every=1, checkpoint_every=2, sample_every=100)
    Trainer(config, tmp_path / "resumed", progress=False).fit(AlwaysCollapsing(), Ones(), run)
    config = TrainConfig(steps=4, batch_size=1, log_every=1, checkpoint_every=2, sample_every=100)
    Trainer(config, tmp_path / "resumed", progress=False).fit(AlwaysCollapsing(), Ones(), run,
                                                              resume_from=latest_checkpoint(tmp_path / "resumed"))
    assert uninterrupted == 1 and capsys.readouterr().out.count("mode collapse") == 1
    records = read_metric_records(tmp_path / "resumed" / "metrics.jsonl")
    assert all(record.get("warnings") for record in records)  # metrics.jsonl records it at every window


def test_the_log_window_sums_bf16_values_in_fp32():
    loop = _LoopState(0, {}, {}, 0)
    value = torch.tensor(2.54, dtype=torch.bfloat16)
    for _ in range(50):
        loop.add({"loss": value})
    assert loop.sums["loss"].dtype == torch.float32
    assert loop.sums["loss"].item() / 50 == pytest.approx(value.item(), rel=1e-6)  # bf16 sums drift to ~2.52


def test_bf16_on_a_gpu_without_bf16_units_is_refused(tmp_path, monkeypatch):
    import genlab.train.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    with pytest.raises(ConfigError, match="--train.precision bf16 needs a GPU with bf16 units .* Tesla T4 would "
                                          "emulate it: use --train.precision fp32"):
        Trainer(TrainConfig(precision="bf16", device="cuda"), tmp_path, progress=False)


class Diverging(Penalised):
    """A model whose weights turn NaN at step 3 (as a run with --train.check_finite false can)."""

    name = "diverging"

    def training_step(self, batch, optimizers):
        values = super().training_step(batch, optimizers)
        if self.step == 3:
            with torch.no_grad():
                self.w.fill_(float("nan"))
        return values


def test_weights_that_turned_nan_stop_the_run_before_a_checkpoint_holds_them(tmp_path):
    from genlab.errors import GenlabError

    config = TrainConfig(steps=8, batch_size=1, log_every=1, checkpoint_every=2, sample_every=100)
    run = RunConfig("test", "diverging", PenalisedConfig(), ImageDataConfig(), config)
    with pytest.raises(GenlabError, match="Step 4: the weights are not finite; no checkpoint was written"):
        Trainer(config, tmp_path, progress=False).fit(Diverging(), Ones(), run)
    assert [path.name for path in (tmp_path / "checkpoints").iterdir()] == ["step-000002"]
