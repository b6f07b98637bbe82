"""Every packaged recurrent-GAN config trains a few steps and samples (shrunk to test size)."""

import pytest

from genlab.config import load_config_file, packaged_configs
from genlab.sampling import load_model
from genlab.train.run import build_run_config, train

RGAN_CONFIGS = [name for name in packaged_configs() if load_config_file(name).get("family") == "rgan"]


def test_the_measured_recipes_are_packaged():
    assert {"sines-crnngan", "sines-latentgan", "prices-crnngan", "sensors-crnngan"} <= set(RGAN_CONFIGS)


@pytest.mark.parametrize("name", RGAN_CONFIGS)
def test_packaged_config_trains_and_samples(name, tmp_path):
    values = load_config_file(name)
    critic_steps = values["model"].get("discriminator_steps", 1)
    overrides = {
        "data": {"path": None, "sines": 40, "window": 6, "sines_features": 3},
        "model": {"hidden_dim": 8, "noise_dim": 2},
        "train": {"steps": 2, "batch_size": 2 * critic_steps, "out": str(tmp_path / "run"), "log_every": 1},
    }
    run_dir = train(build_run_config(None, values, overrides), progress=False)
    model = load_model(run_dir)
    assert model.sample(3).shape == (3, 6, 3)
    assert model.name == values["model"]["name"] and model.config.noise == values["model"].get("noise", "step")
    assert (model.whitening is not None) == values["model"].get("whiten", False)
    assert (run_dir / "metrics.jsonl").read_text().count("\n") == 2
