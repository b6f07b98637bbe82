"""Non-finite gradients stop the step before the optimizer applies it."""

from dataclasses import dataclass

import pytest
import torch

from genlab.config import RunConfig, TrainConfig
from genlab.data.image_dataset import ImageDataConfig
from genlab.errors import GenlabError
from genlab.models.base import GenerativeModel
from genlab.train.checkpoint import latest_checkpoint
from genlab.train.trainer import Trainer


@dataclass
class LineConfig:
    pass


class Line(GenerativeModel):
    """loss = (w·x)²; the data decides when the gradient becomes NaN."""

    family, name, config_class = "test", "line", LineConfig

    def __init__(self):
        super().__init__(LineConfig())
        self.w = torch.nn.Parameter(torch.ones(2))

    def configure_optimizers(self):
        return {"line": torch.optim.SGD([self.w], lr=0.1)}

    def training_step(self, batch, optimizers):
        optimizers["line"].zero_grad(set_to_none=True)
        loss = (batch @ self.w).square().mean()
        loss.backward()
        optimizers["line"].step()
        return {"loss": loss.detach()}

    def write_preview(self, path, count, seed):
        return path

    def save_pretrained(self, directory):
        return directory


class Rows:
    """Row i of the data is finite unless i is in ``poisoned``."""

    description = "rows"

    def __init__(self, poisoned):
        self.data = torch.ones(8, 2)
        self.data[list(poisoned)] = float("nan")

    def __len__(self):
        return 8

    def get_batch(self, indices, device):
        return self.data[indices]


def fit(tmp_path, model, poisoned, **train):
    config = TrainConfig(steps=8, batch_size=1, log_every=1, checkpoint_every=2, sample_every=100, **train)
    run = RunConfig("test", "line", LineConfig(), ImageDataConfig(), config)
    return Trainer(config, tmp_path, progress=False).fit(model, Rows(poisoned), run)


def test_nan_gradient_stops_the_run_with_the_step_and_leaves_weights_finite(tmp_path):
    model = Line()
    with pytest.raises(GenlabError, match=r"Step 1: the line gradients are not finite .* --train.skip_nonfinite"):
        fit(tmp_path, model, poisoned=range(8))
    assert torch.equal(model.w.detach(), torch.ones(2))  # the poisoned step was never applied
    assert latest_checkpoint(tmp_path) is None


def test_skipping_allows_the_run_to_finish_with_finite_weights(tmp_path):
    model = Line()
    fit(tmp_path, model, poisoned=[0, 1], skip_nonfinite=2)
    assert torch.isfinite(model.w).all() and not torch.equal(model.w.detach(), torch.ones(2))


class NormedLine(Line):
    """Line with a BatchNorm before it, whose running statistics a NaN batch poisons in the forward pass."""

    def __init__(self):
        super().__init__()
        self.norm = torch.nn.BatchNorm1d(2)

    def training_step(self, batch, optimizers):
        self.norm(batch.repeat(2, 1))  # moves the running statistics, as a forward pass does
        return super().training_step(batch, optimizers)


def test_a_skipped_step_leaves_no_nan_in_the_buffers_and_the_run_checkpoints(tmp_path):
    model = NormedLine()
    fit(tmp_path, model, poisoned=[0], skip_nonfinite=1)  # the NaN batch's statistics would fail the checkpoint
    assert torch.isfinite(model.norm.running_mean).all() and torch.isfinite(model.norm.running_var).all()
    assert latest_checkpoint(tmp_path).name == "step-000008"


def test_a_third_poisoned_step_exceeds_the_allowance(tmp_path):
    with pytest.raises(GenlabError, match="not finite"):
        fit(tmp_path, Line(), poisoned=[0, 1, 2], skip_nonfinite=2)


class CompiledLine(Line):
    compile_targets = ("net",)

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(2, 2)


def test_a_failed_run_gives_the_caller_its_model_back_unwrapped(tmp_path):
    model = CompiledLine()  # torch.compile wraps ``net``; the step never calls it, so nothing is compiled
    net = model.net
    with pytest.raises(GenlabError, match="not finite"):
        fit(tmp_path, model, poisoned=range(8), compile=True)
    assert model.net is net
