"""Every packaged GAN config trains a few steps and samples (shrunk to test size)."""

import numpy as np
import pytest

from genlab.config import load_config_file, packaged_configs
from genlab.models.gan import FAMILY
from genlab.sampling import load_model
from genlab.train.run import build_run_config, train

GAN_CONFIGS = [name for name in packaged_configs() if load_config_file(name).get("family") == "gan"]


@pytest.fixture
def colour_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "colour.npz"
    np.savez(path, x=rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8), y=np.arange(40) % 10)
    return path


@pytest.mark.parametrize("name", GAN_CONFIGS)
def test_packaged_config_trains_and_samples(name, tmp_path, digits_npz, colour_npz):
    values = load_config_file(name)
    data = values.get("data", {}).get("path") or (colour_npz if "cifar" in name else digits_npz)
    preset = FAMILY.models[values["model"]["name"]].config_class
    steps = values["model"].get("discriminator_steps", preset.discriminator_steps)
    overrides = {
        "data": {"path": str(data)},
        "model": {"generator_width": 8, "discriminator_width": 8},
        "train": {"steps": 2, "batch_size": 2 * steps, "out": str(tmp_path / "run"), "log_every": 1},
    }
    run_dir = train(build_run_config(None, values, overrides), progress=False)
    model = load_model(run_dir)
    assert model.name == values["model"]["name"]  # the recipe's model, not a default
    for key, value in values["model"].items():  # each option the recipe sets (less the overridden widths) is kept
        if key != "name" and key not in overrides["model"]:
            assert getattr(model.config, key) == (tuple(value) if isinstance(value, list) else value), key
    c = model.config
    points = c.backbone == "mlp"  # the 2-D toy mixtures
    assert model.sample(3).shape == ((3, 2) if points else (3, c.channels, c.resolution, c.resolution))
    assert (run_dir / "metrics.jsonl").read_text().count("\n") == 2
