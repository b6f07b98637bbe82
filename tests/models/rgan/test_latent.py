"""latentgan: an autoencoder of whole windows, then a GAN on its codes."""

import pytest
import torch

from genlab.errors import ConfigError, SampleError, WeightsMismatchError
from genlab.models.base import GenerativeModel, load_weights
from genlab.models.rgan import LatentGAN, LatentGANConfig

from .test_model import BASE, padded_batch, trained_on_padding

TINY = dict(BASE, hidden_dim=16, code_dim=4, noise_dim=3, autoencoder_steps=3, discriminator_steps=2)


def changed_networks(model, before):
    return {key.split(".")[0] for key, value in model.state_dict().items() if not torch.equal(value, before[key])}


def test_the_autoencoder_phase_trains_only_the_autoencoder_and_the_gan_phase_only_the_gan():
    torch.manual_seed(0)
    model = LatentGAN(LatentGANConfig(**TINY))
    optimizers = model.configure_optimizers()
    batch = {"sequences": torch.rand(8, 6, 3, generator=torch.Generator().manual_seed(0))}
    seen = []
    for step in range(6):
        before = {k: v.clone() for k, v in model.state_dict().items()}
        model.on_train_step(step, optimizers)
        losses = model.training_step(batch, optimizers)
        seen.append((set(losses), changed_networks(model, before)))
    for terms, changed in seen[:3]:
        assert terms == {"loss_reconstruction"} and changed == {"encoder", "decoder"}
    for terms, changed in seen[3:]:
        assert terms == {"loss_discriminator", "penalty_gradient", "loss_generator", "fake_spread", "real_spread"}
        assert changed == {"generator", "discriminator"}  # the autoencoder, its batch-norm statistics included, frozen
    warning, = model.monitor({"real_spread": 1.0, "fake_spread": 0.05})  # the codes' spread: collapse is seen
    assert "generated codes barely differ" in warning and "minibatch_std" not in warning  # an option it refuses
    assert model.monitor({"real_spread": 1.0, "fake_spread": 0.5}) == []


def test_the_autoencoder_learns_to_reconstruct_its_data():
    torch.manual_seed(0)
    model = LatentGAN(LatentGANConfig(**{**TINY, "hidden_dim": 32, "autoencoder_steps": 300, "lr_autoencoder": 3e-3}))
    optimizers = model.configure_optimizers()
    t = torch.arange(6.0)
    x = (torch.sin(0.5 * t[None, :, None] + torch.rand(64, 1, 3) * 3) + 1) / 2  # one phase per feature

    def error():
        with torch.no_grad():
            model.eval()
            return ((model.decode(model.encode(x, None)) - x) ** 2).mean().item()

    untrained = error()
    for step in range(300):
        model.on_train_step(step, optimizers)
        model.train()
        model.training_step({"sequences": x}, optimizers)
    assert error() < 0.1 * untrained


def test_padded_steps_change_no_loss_and_no_update_in_either_phase():
    config = LatentGANConfig(**{**TINY, "autoencoder_steps": 1})
    for steps in (1, 3):  # the last step in the autoencoder phase, then in the GAN phase
        zeros, zero_state = trained_on_padding(LatentGAN, config, 0.0, steps)
        junk, junk_state = trained_on_padding(LatentGAN, config, -7.0, steps)
        assert all(torch.equal(zeros[k], junk[k]) for k in zeros)
        assert all(torch.equal(zero_state[k], junk_state[k]) for k in zero_state)
    assert "loss_generator" in zeros


def test_samples_are_decoded_codes_in_original_units_with_the_training_lengths(tmp_path):
    torch.manual_seed(0)
    model = LatentGAN(LatentGANConfig(**TINY, length_counts=[0, 0, 3, 0, 0, 1], ema_decay=0.5))
    optimizers = model.configure_optimizers()
    for step in range(5):
        model.on_train_step(step, optimizers)
        model.training_step(padded_batch(0.0), optimizers)
    noise = model.draw_noise(4, 6, torch.device("cpu"), torch.Generator().manual_seed(2))
    assert noise.shape == (4, 1, 3)  # one draw per sequence
    with torch.no_grad():
        expected = model.eval().decode(model.generator_ema(noise[:, 0]))  # from the EMA generator
    assert torch.equal(model.generate(4, torch.Generator().manual_seed(2)), expected)
    samples = model.sample(200, torch.Generator().manual_seed(1))
    lengths = (~samples.isnan().all(-1)).sum(1)
    assert samples.shape == (200, 6, 3) and set(lengths.tolist()) == {3, 6}
    low, high = torch.tensor(BASE["feature_min"]), torch.tensor(BASE["feature_max"])
    valid = samples[~samples.isnan().all(-1)]
    assert ((valid >= low - 1e-5) & (valid <= high + 1e-5)).all()
    loaded = GenerativeModel.from_pretrained(model.save_pretrained(tmp_path / "export"))
    assert type(loaded) is LatentGAN and loaded.config == model.config
    assert torch.equal(loaded.generate(4, torch.Generator().manual_seed(2)), expected)
    with pytest.raises(ConfigError, match="latentgan generates windows of 6 steps only; drop --long"):
        model.sample(2, steps=40)


def test_a_decoder_drawing_nan_is_refused_not_written_as_padding(tmp_path):
    model = LatentGAN(LatentGANConfig(**TINY))
    with torch.no_grad():
        next(model.decoder.parameters()).fill_(float("nan"))
    with pytest.raises(SampleError, match="drew 5 of 5 sequences with NaN or infinite values"):
        model.sample(5, torch.Generator().manual_seed(1))


def test_config_errors_name_the_option():
    with pytest.raises(ConfigError, match="--model.attention_layers does not apply to latentgan"):
        LatentGANConfig(**TINY, attention_layers=1).validate()
    with pytest.raises(ConfigError, match="--model.decay_steps 3 ends before latentgan's GAN phase begins"):
        LatentGANConfig(**TINY, decay_steps=3).validate()
    with pytest.raises(ConfigError, match=r"--model.code_dim must be between 1 and 4096 \(got 0\)"):
        LatentGANConfig(**{**TINY, "code_dim": 0}).validate()
    with pytest.raises(ConfigError, match=r"--model.autoencoder_steps must be at least 1 \(got 0\)"):
        LatentGANConfig(**{**TINY, "autoencoder_steps": 0}).validate()
    with pytest.raises(ConfigError, match="latentgan does not model static features"):
        LatentGAN(LatentGANConfig(**TINY, static_features=1))
    model = LatentGAN(LatentGANConfig(**TINY))
    optimizers = model.configure_optimizers()
    model.on_train_step(0, optimizers)  # refused at once, not when the GAN phase begins and splits the batch
    with pytest.raises(ConfigError, match="--train.batch_size 7 must split into --model.discriminator_steps 2"):
        model.training_step({"sequences": torch.rand(7, 6, 3)}, optimizers)
    with pytest.raises(ConfigError, match="hold at least 2 sequences"):  # batch norm needs two to normalise
        LatentGAN(LatentGANConfig(**{**TINY, "discriminator_steps": 1})).training_step(
            {"sequences": torch.rand(1, 6, 3)}, optimizers)


def test_weights_of_another_code_size_are_refused_naming_the_shapes(tmp_path):
    folder = LatentGAN(LatentGANConfig(**TINY)).save_pretrained(tmp_path / "export")
    weights = next(folder.glob("*.safetensors"))
    with pytest.raises(WeightsMismatchError, match=r"holds weights of another model \(encoder.0.2.weight has shape"):
        load_weights(LatentGAN(LatentGANConfig(**{**TINY, "code_dim": 5})), weights)


def test_training_steps_leave_the_encoder_in_the_mode_they_found_it():
    model = LatentGAN(LatentGANConfig(**TINY)).eval()
    model.training_step({"sequences": torch.rand(8, 6, 3)}, model.configure_optimizers())
    assert not model.encoder.training
