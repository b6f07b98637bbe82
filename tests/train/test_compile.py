"""--train.compile: torch.compile of a model's networks, without changing what is trained or saved."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from genlab.train.distributed import bare, compile_modules, plain, unwrapped


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(3, 2)
        self.other = nn.Linear(2, 2)


def test_unwrapped_puts_the_bare_network_back_and_then_the_compiled_one():
    model = Pair()
    net = model.net
    compile_modules(model, ("net",))
    compiled = model.net
    assert compiled is not net and bare(compiled) is net
    assert plain(compiled) is compiled  # models call plain() to skip DDP only: the network stays compiled
    with unwrapped(model, ("net",)):
        assert model.net is net
        assert sorted(model.state_dict()) == ["net.bias", "net.weight", "other.bias", "other.weight"]
    assert model.net is compiled
    assert bare(model.other) is model.other


def logged_losses(run):
    return [{k: v for k, v in json.loads(line).items() if k.startswith("loss")}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_compiled_run_trains_the_same_model_as_an_eager_one(tmp_path, run_cli, monkeypatch):
    tiny = ["--model.context", "16", "--model.layers", "1", "--model.width", "16", "--model.heads", "2",
            "--batch-size", "4", "--train.log_every", "1", "--train.sample_every", "3", "--quiet"]
    options = [*tiny, "--steps", "3"]
    eager, compiled = tmp_path / "eager", tmp_path / "compiled"
    real_compile, compiled_modules = torch.compile, []

    def spied(module, *args, **kwargs):  # what the run hands to torch.compile (matching losses alone would not tell)
        compiled_modules.append(type(module).__name__)
        return real_compile(module, *args, **kwargs)

    monkeypatch.setattr(torch, "compile", spied)
    assert run_cli("train", "transformer", "--out", eager, *options)[0] == 0
    assert compiled_modules == []
    assert run_cli("train", "transformer", "--out", compiled, "--compile", *options)[0] == 0
    assert compiled_modules == ["TransformerNet"]
    assert json.loads((compiled / "config.json").read_text())["train"]["compile"] is True
    # Inductor fuses and reorders float arithmetic, so the numbers agree closely, not bitwise.
    for a, b in zip(logged_losses(eager), logged_losses(compiled), strict=True):
        assert a.keys() == b.keys() and all(b[k] == pytest.approx(a[k], rel=1e-4) for k in a)
    weights = [load_file(str(run / "model" / "model.safetensors")) for run in (eager, compiled)]
    assert weights[0].keys() == weights[1].keys()  # no "_orig_mod." in saved names
    state = torch.load(compiled / "checkpoints" / "step-000003" / "training_state.pt", weights_only=True)
    assert not any("_orig_mod" in key for key in json.dumps(list(state)).split('"'))
    # The compiled run resumes like any other, here eagerly.
    code, out, _ = run_cli("train", "transformer", "--out", compiled, "--resume", "auto", *tiny, "--steps", "4",
                           "--train.compile", "false")
    assert code == 0 and "resuming from step-000003" in out
    assert json.loads((compiled / "config.json").read_text())["train"]["compile"] is False


def test_a_gan_with_a_gradient_penalty_or_spectral_norm_compiles_its_generator_only(tmp_path, digits_npz, run_cli,
                                                                                   tiny_dcgan):
    from genlab.models.gan.config import GANConfig
    from genlab.models.gan.model import GAN

    config = GANConfig(channels=1, resolution=28, r1_gamma=1.0, generator_width=8, discriminator_width=8)
    assert GAN(config).compile_targets == ("generator",)  # compiled graphs cannot be differentiated twice
    assert GAN(GANConfig(channels=1, resolution=28)).compile_targets == ("generator", "discriminator")
    # A spectrally normalised D is called twice before one backward; its power iterations write in place.
    normalised = GANConfig(channels=1, resolution=28, spectral_norm="discriminator")
    assert GAN(normalised).compile_targets == ("generator",)
    code, _, err = run_cli("train", "gan", "--model.name", "gan", "--data", digits_npz, *tiny_dcgan,
                           "--model.r1_gamma", "1.0", "--steps", "2", "--batch-size", "8", "--compile",
                           "--out", tmp_path / "r1", "--quiet")
    assert code == 0, err
    # The SNGAN: a ResNet D under spectral norm, which failed at its first compiled step.
    rgb = tmp_path / "rgb.npz"
    np.savez(rgb, x=np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8))
    code, _, err = run_cli("train", "gan", "--model.name", "sngan", "--data", rgb, *tiny_dcgan, "--steps", "2",
                           "--batch-size", "10", "--compile", "--out", tmp_path / "sngan", "--quiet")
    assert code == 0, err


def test_a_model_with_nothing_to_compile_is_refused(tmp_path, run_cli):
    code, _, err = run_cli("train", "rgan", "--compile", "--steps", "1", "--data.sines", "16", "--batch-size", "8",
                           "--out", tmp_path / "run")
    assert code == 2 and "has no networks that can be compiled: its GRU/LSTM networks run eager" in err
    assert "with --model.attention_layers N its attention blocks compile" in err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_on_cuda_networks_with_transposed_convolutions_stay_eager():
    from genlab.errors import ConfigError
    from genlab.models.gan.config import GANConfig
    from genlab.models.gan.model import GAN
    from genlab.train.distributed import networks_to_compile

    cuda, cpu = torch.device("cuda"), torch.device("cpu")  # only compared, never allocated on
    dcgan = GAN(GANConfig(channels=1, resolution=28, generator_width=8, discriminator_width=8))
    assert networks_to_compile(dcgan, cpu) == (("generator", "discriminator"), ())
    assert networks_to_compile(dcgan, cuda) == (("discriminator",), ("generator",))  # its G is ConvTranspose2d
    resnet = GAN(GANConfig(backbone="resnet", channels=3, resolution=32, generator_width=8, discriminator_width=8))
    assert networks_to_compile(resnet, cuda) == (("generator", "discriminator"), ())  # upsampling + Conv2d
    penalised = GAN(GANConfig(channels=1, resolution=28, r1_gamma=1.0, generator_width=8, discriminator_width=8))
    with pytest.raises(ConfigError, match=r"\(generator\) holds transposed convolutions.*#171622\); leave it off"):
        networks_to_compile(penalised, cuda)


def test_the_trainer_says_which_networks_it_leaves_eager(tmp_path, digits_npz, run_cli, tiny_dcgan, monkeypatch):
    import genlab.train.distributed as distributed

    # What CUDA does to the DCGAN (its generator's transposed convolutions stay eager), here on the CPU.
    monkeypatch.setattr(distributed, "split_compilable", lambda model, names, device: (("discriminator",), ("generator",)))
    code, out, err = run_cli("train", "gan", "--data", digits_npz, *tiny_dcgan, "--steps", "1", "--batch-size", "8",
                             "--compile", "--out", tmp_path / "run")
    assert code == 0, err
    said = "left eager on CUDA (transposed convolutions, pytorch/pytorch#171622): generator; compiled: discriminator"
    assert (out + err).count(said) == 1
