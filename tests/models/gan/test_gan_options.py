"""Conditional GANs, SNGAN/SAGAN backbones, losses, regularisers and tricks."""

import copy
import json
import re

import numpy as np
import pytest
import torch

from genlab.errors import ConfigError
from genlab.models.base import GenerativeModel
from genlab.models.gan import DCGAN, GAN, SAGAN, SNGAN, GANConfig, SAGANConfig, SNGANConfig
from genlab.models.gan.augment import diff_augment
from genlab.models.gan.ema import ema_update
from genlab.models.gan.losses import feature_mmd, gradient_penalty, squared_gradient_norm
from genlab.models.gan.model import pack
from genlab.nn.attention2d import SelfAttention2d
from genlab.train.run import build_run_config

TINY = dict(latent_dim=8, generator_width=8, discriminator_width=8)
TINY_OPTIONS = [f"--model.{name}={value}" for name, value in TINY.items()]


def batch(n=8, channels=1, size=28, classes=None):
    images = torch.rand(n, channels, size, size) * 2 - 1
    labels = torch.arange(n) % classes if classes else None
    return {"images": images, "labels": labels}


def test_gradient_penalty_matches_a_hand_computation():
    w = torch.tensor([3.0, 4.0])  # critic(x) = x · w has gradient w everywhere: ‖∇‖ = 5

    def critic(x):
        return x.flatten(1) @ w

    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    assert torch.allclose(gradient_penalty(critic, real, fake), torch.tensor((5.0 - 1) ** 2))
    assert torch.allclose(squared_gradient_norm(critic, real), torch.tensor(25.0))  # R1 or R2


def test_spectral_norm_bounds_the_largest_singular_value():
    model = GAN(GANConfig(resolution=32, channels=3, spectral_norm="discriminator", backbone="resnet", **TINY))
    conv = model.discriminator.trunk[1].conv1
    for _ in range(30):  # power iterations run on each training-mode forward
        model.discriminator(torch.randn(2, 3, 32, 32))
    sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
    assert abs(sigma.item() - 1) < 0.05


def test_dcgan_init_under_spectral_norm_keeps_the_weights_normalised_from_the_start():
    """DCGAN's N(0, 0.02) redraw of a spectrally normalised weight restarts its power iteration:
    stale singular vectors of the replaced weight would leave σ far from 1 until training fixed them."""
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=32, channels=3, spectral_norm="both", **TINY)).eval()  # eval: no iteration
    for conv in (model.discriminator.trunk[0], model.discriminator.trunk[2], model.generator.convs[0]):
        weight = conv.weight.transpose(0, 1) if isinstance(conv, torch.nn.ConvTranspose2d) else conv.weight
        assert abs(torch.linalg.matrix_norm(weight.flatten(1), ord=2).item() - 1) < 0.1
        assert abs(conv.parametrizations.weight.original.std().item() - 0.02) < 0.005  # still DCGAN's draw


def test_attention_block_is_identity_at_initialisation_and_learns_its_gate():
    block = SelfAttention2d(16)
    x = torch.randn(2, 16, 8, 8)
    assert block.gate.item() == 0 and torch.equal(block(x), x)
    block(x).square().sum().backward()
    assert block.gate.grad is not None and block.gate.grad.abs() > 0


def test_ema_update_arithmetic():
    """Late in training an update is average ← 0.9·average + 0.1·current; from the first one on, the
    average is the bias-corrected 0.9^(t−i)-weighted mean of the weights after each update i."""
    average, current = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    before = average.weight.detach().clone()
    ema_update(average, current, decay=0.9, updates=500)
    assert torch.allclose(average.weight, 0.9 * before + 0.1 * current.weight)
    torch.manual_seed(0)
    history = [torch.randn(1, 2) for _ in range(3)]
    for t, weights in enumerate(history, start=1):
        with torch.no_grad():
            current.weight.copy_(weights)
        ema_update(average, current, decay=0.9, updates=t)
        if t == 1:  # the random initial weights are gone at once
            assert torch.allclose(average.weight, weights)
    expected = sum(0.9 ** (3 - i) * w for i, w in enumerate(history, start=1)) / sum(0.9 ** k for k in range(3))
    assert torch.allclose(average.weight, expected, atol=1e-6)


@pytest.mark.parametrize("policy", [("color",), ("translation",), ("cutout",), ("color", "translation", "cutout")])
def test_diffaugment_keeps_shapes_and_passes_gradients(policy):
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, policy)
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_cutout_zeroes_one_square_and_translation_shifts_whole_images():
    torch.manual_seed(0)
    x = torch.ones(32, 1, 8, 8)
    for image in diff_augment(x, ("cutout",))[:, 0]:
        rows, cols = (image == 0).nonzero(as_tuple=True)
        # A square of side 4 centred inside the image, clipped at the border: a full rectangle of zeros.
        assert len(rows) > 0
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert len(rows) == height * width and 2 <= height <= 4 and 2 <= width <= 4
    ramp = torch.arange(64.0).reshape(1, 1, 8, 8).repeat(16, 1, 1, 1) + 1
    moves = []
    for image in diff_augment(ramp, ("translation",))[:, 0]:
        found = [(dy, dx) for dy in range(-1, 2) for dx in range(-1, 2)
                 if torch.equal(image, shifted(ramp[0, 0], dy, dx))]
        assert found, "each image is the input moved by at most 1/8 of its size, zeros filling in"
        moves.append(found[0])
    assert len(set(moves)) > 1  # each image draws its own shift (nine possible: 16 alike would be a broken draw)


def test_colour_augmentation_changes_each_images_brightness_on_its_own():
    """On images of one grey, saturation and contrast change nothing: what is left is brightness, drawn per image."""
    torch.manual_seed(0)
    grey = torch.full((16, 3, 8, 8), 0.25)
    out = diff_augment(grey, ("color",))
    per_image = out.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-6)  # each stays one grey
    offsets = per_image[:, 0] - 0.25
    assert offsets.abs().max() <= 0.5 and len(offsets.unique()) == 16  # brightness + U(-0.5, 0.5) per image


def shifted(image, dy, dx):
    out = torch.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = image[max(-dy, 0):h - max(dy, 0),
                                                                     max(-dx, 0):w - max(dx, 0)]
    return out


def test_packing_groups_consecutive_samples_on_channels():
    images = torch.arange(4.0)[:, None, None, None].expand(4, 1, 2, 2)
    packed = pack(images, 2)
    assert packed.shape == (2, 2, 2, 2)
    assert packed[0, :, 0, 0].tolist() == [0.0, 1.0] and packed[1, :, 0, 0].tolist() == [2.0, 3.0]


CONFIGS = {
    "dcgan-conditional-projection": GANConfig(resolution=28, channels=1, conditional=True, num_classes=10, **TINY),
    "dcgan-conditional-auxiliary": GANConfig(resolution=28, channels=1, conditional=True, num_classes=10,
                                             discriminator_conditioning="auxiliary", **TINY),
    "dcgan-wgan-gp-2-steps": GANConfig(resolution=28, channels=1, loss="wasserstein_gp", discriminator_steps=2, **TINY),
    "dcgan-least-squares": GANConfig(resolution=28, channels=1, loss="least_squares", **TINY),
    "dcgan-rsgan-r1-r2-pack": GANConfig(resolution=28, channels=1, loss="rsgan", r1_gamma=1.0, r2_gamma=1.0, pack=2,
                                        **TINY),
    "dcgan-r1-ema-diffaugment-pack": GANConfig(resolution=32, channels=3, r1_gamma=1.0, ema_decay=0.9,
                                               diffaugment=("color", "translation", "cutout"), pack=2, **TINY),
    # EMA beside spectral norm in G: recomputing the EMA's BatchNorm statistics must not step its power iteration.
    "dcgan-attention-sn-both-ema": GANConfig(resolution=32, channels=3, attention_resolutions=(8,),
                                             spectral_norm="both", loss="hinge", ema_decay=0.9, **TINY),
    "sngan": SNGANConfig(resolution=32, channels=3, discriminator_steps=2, **TINY),
    "sagan-conditional-ema": SAGANConfig(resolution=32, channels=3, conditional=True, num_classes=10,
                                         attention_resolutions=(8, 16), ema_decay=0.9, **TINY),
    "sngan-64": SNGANConfig(resolution=64, channels=3, discriminator_steps=1, **TINY),
    # Penalties differentiate D's input gradient again, through the attention blocks too.
    "sagan-r1": SAGANConfig(resolution=32, channels=3, r1_gamma=1.0, **TINY),
    "dcgan-attention-wgan-gp": GANConfig(resolution=32, channels=3, attention_resolutions=(8,), loss="wasserstein_gp",
                                         **TINY),
    "dcgan-conditional-concat": GANConfig(resolution=28, channels=1, conditional=True, num_classes=10,
                                          discriminator_conditioning="concat", **TINY),
    "sngan-conditional-concat": SNGANConfig(resolution=32, channels=3, conditional=True, num_classes=10,
                                            discriminator_conditioning="concat", discriminator_steps=1, **TINY),
    # Feature matching reads each backbone's last features (the ResNet's summed over positions).
    "dcgan-feature-matching-r1-pack": GANConfig(resolution=28, channels=1, feature_matching=10.0, r1_gamma=1.0,
                                                pack=2, **TINY),
    # A conditional D may pack: each member's class enters (projection: the sum of their embeddings).
    "dcgan-conditional-projection-pack-r1": GANConfig(resolution=28, channels=1, conditional=True, num_classes=10,
                                                      pack=2, r1_gamma=1.0, **TINY),
    "sngan-conditional-concat-pack": SNGANConfig(resolution=32, channels=3, conditional=True, num_classes=10,
                                                 discriminator_conditioning="concat", pack=2, discriminator_steps=1,
                                                 **TINY),
    "sngan-feature-matching": SNGANConfig(resolution=32, channels=3, feature_matching=10.0, discriminator_steps=1,
                                          **TINY),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_every_configuration_trains_samples_and_round_trips(name, tmp_path):
    torch.manual_seed(0)
    config = CONFIGS[name]
    model = {"sngan": SNGAN, "sagan": SAGAN}.get(name.split("-")[0], DCGAN)(config)
    optimizers = model.configure_optimizers()
    data = batch(8, config.channels, config.resolution, config.num_classes if config.conditional else None)
    before = [p.detach().clone() for p in model.generator.parameters()]
    for _ in range(2):
        losses = model.training_step(data, optimizers)
    assert all(torch.isfinite(v) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
    images = model.sample(4, torch.Generator().manual_seed(1))
    assert images.shape == (4, config.channels, config.resolution, config.resolution)
    model.save_pretrained(tmp_path)
    loaded = GenerativeModel.from_pretrained(tmp_path)
    assert torch.equal(loaded.sample(4, torch.Generator().manual_seed(1)), images)


def test_ema_generator_is_what_samples():
    model = GAN(GANConfig(resolution=28, channels=1, ema_decay=0.5, **TINY))
    optimizers = model.configure_optimizers()
    for _ in range(2):  # the first update copies the weights; the second averages
        model.training_step(batch(), optimizers)
    z = model.sample_latent(2, torch.Generator().manual_seed(0))
    model.generator_ema.eval()
    assert torch.equal(model.decode(z), model.generator_ema(z))
    assert not torch.equal(model.generator_ema.stem.weight, model.generator.stem.weight)


def test_ema_generator_samples_with_batchnorm_statistics_of_its_own_weights():
    model = GAN(GANConfig(resolution=28, channels=1, ema_decay=0.5, **TINY))
    model.training_step(batch(), model.configure_optimizers())
    with torch.no_grad():  # averaged weights are smaller than the live ones: activations at half the scale
        for average, live in zip(model.generator_ema.parameters(), model.generator.parameters()):
            average.copy_(0.5 * live)
    seen = []
    first_norm = model.generator_ema.norms[0].norm
    first_norm.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    z = model.sample_latent(2048, torch.Generator().manual_seed(5))
    model.decode(z)
    activations = seen[-1]  # the stem's output for z, normalised in eval mode by the running statistics
    assert torch.allclose(first_norm.running_mean, activations.mean((0, 2, 3)), atol=0.05 * activations.std())
    assert torch.allclose(first_norm.running_var, activations.var((0, 2, 3)), rtol=0.1)
    assert torch.equal(model.decode(z), model.decode(z))  # recomputed once per change of the weights, seeded
    before = first_norm.running_var.clone()
    model.training_step(batch(), model.configure_optimizers())
    model.decode(z)
    assert not torch.equal(first_norm.running_var, before)  # recomputed for the new average, not copied from G
    assert torch.allclose(first_norm.running_var, seen[-1].var((0, 2, 3)), rtol=0.1)


def test_ema_generator_samples_with_spectral_norms_of_its_own_weights():
    """EMA copies the live G's singular-vector estimates; sampling iterates them on the averaged weights."""
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, ema_decay=0.5, spectral_norm="both", **TINY))
    model.training_step(batch(), model.configure_optimizers())
    with torch.no_grad():  # an average whose top singular vectors are not the live weights'
        for average in model.generator_ema.parameters():
            average.copy_(torch.randn_like(average))
    model.decode(model.sample_latent(2, torch.Generator().manual_seed(0)))
    model.generator_ema.eval()
    for name in ("stem", "to_image"):
        layer = getattr(model.generator_ema, name)
        matrix = layer.weight.transpose(0, 1).flatten(1)  # a transposed convolution's output channels lead
        assert torch.linalg.matrix_norm(matrix, ord=2) == pytest.approx(1.0, abs=0.02), name


def test_conditional_sampling_uses_the_requested_class_and_rejects_others():
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3, **TINY))
    assert model.class_labels(5).tolist() == [0, 1, 2, 0, 1]
    assert model.class_labels(2, 2).tolist() == [2, 2]
    with pytest.raises(ConfigError, match="--class 3 is out of range; this model has classes 0 to 2"):
        model.sample(2, label=3)
    with pytest.raises(ConfigError, match=r"^This gan is conditional but its data has no labels; use labelled data"):
        model.training_step({"images": torch.zeros(4, 1, 28, 28), "labels": None}, model.configure_optimizers())


def test_a_class_is_named_by_the_datas_name_for_it_or_by_its_number():
    named = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3,
                          class_names=("bird", "cat", "dog"), **TINY))
    assert [named.class_index(given) for given in ("cat", "dog", "0", "2")] == [1, 2, 0, 2]
    with pytest.raises(ConfigError, match="^--class cow: this model has no class of that name; its classes are bird, "
                                          "cat, dog.$"):
        named.class_index("cow")
    with pytest.raises(ConfigError, match=r"^--class 3 is out of range; this model has classes 0 to 2 \(bird, cat, "
                                          r"dog\).$"):
        named.class_index("3")
    numbered = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3, class_names=("2", "cat", "1"),
                             **TINY))
    assert [numbered.class_index(given) for given in ("cat", "1", "2")] == [1, 2, 0]  # names, not positions
    with pytest.raises(ConfigError, match=r"^--class ' cat': this model has no class of that name; its classes are "
                                          r"2, cat, 1.$"):  # shown as typed, and no word on numbers
        numbered.class_index(" cat")
    for given in ("0", "3"):  # numbers that name no class are not read as positions either
        with pytest.raises(ConfigError, match=f"^--class {given}: this model has no class of that name; its classes "
                                              r"are 2, cat, 1 \(some are named by numbers"):
            numbered.class_index(given)
    unnamed = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3, **TINY))
    assert unnamed.class_index("2") == 2
    with pytest.raises(ConfigError, match="--class cat: this model has no class of that name; its classes have no "
                                          "names, only the numbers 0 to 2."):
        unnamed.class_index("cat")
    with pytest.raises(ConfigError, match="--class 3 is out of range; this model has classes 0 to 2.$"):
        unnamed.class_index("3")
    with pytest.raises(ConfigError, match="--class needs a conditional model; this gan is unconditional"):
        GAN(GANConfig(resolution=28, channels=1, **TINY)).class_index("cat")


def test_interpolations_keep_one_class_along_each_row(monkeypatch):
    from genlab.sampling import interpolation_images

    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3, **TINY))
    seen = []
    decode = model.decode
    monkeypatch.setattr(model, "decode", lambda latent, labels=None: seen.append(labels) or decode(latent, labels))
    images = interpolation_images(model, 4, 5, torch.Generator().manual_seed(0))
    assert images.shape == (20, 1, 28, 28) and not images.requires_grad
    assert seen[-1].view(4, 5).tolist() == [[0] * 5, [1] * 5, [2] * 5, [0] * 5]
    interpolation_images(model, 2, 3, torch.Generator().manual_seed(0), label=2)
    assert seen[-1].tolist() == [2] * 6


def test_a_conditional_models_fakes_take_the_labels_of_the_reals_beside_them(monkeypatch):
    """So fakes follow the data's class frequencies (here 6 of 8 labels are class 2), not a uniform draw."""
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3, loss="wasserstein_gp",
                          discriminator_steps=2, **TINY))
    seen = []
    forward = model.generator.forward
    monkeypatch.setattr(model.generator, "forward", lambda z, labels=None: seen.append(labels) or forward(z, labels))
    data = batch(8, classes=3)
    data["labels"] = torch.tensor([2, 2, 0, 2, 2, 1, 2, 2])
    model.training_step(data, model.configure_optimizers())
    assert [labels.tolist() for labels in seen] == [[2, 2, 0, 2], [2, 1, 2, 2]]  # one draw per discriminator step


def test_bad_combinations_are_refused():
    from genlab.config import from_dict

    with pytest.raises(ConfigError, match="--model.num_classes is for a class-conditional model"):
        from_dict(GANConfig, {"num_classes": 5}, "model")  # an unconditional model would ignore it
    with pytest.raises(ConfigError, match="needs --model.num_classes"):
        GAN(GANConfig(resolution=28, channels=1, conditional=True, **TINY))
    with pytest.raises(ConfigError, match="--model.pack > 1 cannot be combined with an auxiliary classifier"):
        GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=2, pack=2,
                      discriminator_conditioning="auxiliary", **TINY))
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=2, **TINY))
    with pytest.raises(ConfigError, match="its data has no labels"):
        model.training_step(batch(), model.configure_optimizers())
    model = GAN(GANConfig(resolution=28, channels=1, discriminator_steps=3, **TINY))
    with pytest.raises(ConfigError, match="must split into --model.discriminator_steps 3"):
        model.training_step(batch(8), model.configure_optimizers())
    # Options nothing would read are refused rather than silently ignored.
    with pytest.raises(ConfigError, match="--model.gradient_penalty is the λ of --model.loss wasserstein_gp"):
        GANConfig(loss="hinge", gradient_penalty=5.0).validate()
    with pytest.raises(ConfigError, match="--model.r1_every paces the R1 and R2 penalties, which are off"):
        GANConfig(r1_every=4).validate()
    GANConfig(loss="wasserstein_gp", gradient_penalty=5.0).validate()
    GANConfig(r1_gamma=0.1, r1_every=4).validate()
    with pytest.raises(ConfigError, match="--model.discriminator_conditioning shapes a conditional discriminator"):
        GANConfig(discriminator_conditioning="auxiliary").validate()
    with pytest.raises(ConfigError, match="--model.auxiliary_weight shapes a conditional discriminator"):
        GANConfig(auxiliary_weight=0.5).validate()
    with pytest.raises(ConfigError, match="--model.auxiliary_weight weighs the auxiliary classifier's loss"):
        GANConfig(conditional=True, auxiliary_weight=0.5).validate()  # a projection D has no classifier
    GANConfig(conditional=True, discriminator_conditioning="auxiliary", auxiliary_weight=0.5).validate()
    with pytest.raises(ConfigError, match="--model.mlp_depth counts the mlp backbone's hidden layers"):
        GANConfig(mlp_depth=2).validate()
    with pytest.raises(ConfigError, match="--model.channels_last lays out image tensors"):
        GANConfig(backbone="mlp", channels=2, channels_last=False).validate()
    GANConfig(backbone="mlp", channels=2, mlp_depth=2).validate()
    GANConfig(channels_last=False).validate()
    with pytest.raises(ConfigError, match="^--model.conditional needs a generator that reads labels, and the mlp "):
        GANConfig(backbone="mlp", channels=2, conditional=True).validate()  # not merely unread: incompatible
    with pytest.raises(ConfigError, match="^model.mixture 'ring' names the toy mixture of an mlp model's 2-D points"):
        GANConfig(mixture="ring").validate()  # the dcgan backbone draws images
    with pytest.raises(ConfigError, match="^model.mixture 'moons' names the toy mixture"):
        GANConfig(backbone="mlp", mixture="moons").validate()
    with pytest.raises(ConfigError, match="^--model.class_names is for a class-conditional model"):
        GANConfig(class_names=("a", "b")).validate()
    with pytest.raises(ConfigError, match=r"^model.class_names must name each of the model.num_classes classes once "
                                          r"\(got \('a', 'b'\) for num_classes 3\)"):
        GANConfig(conditional=True, num_classes=3, class_names=("a", "b")).validate()
    # A weight of 0 would switch the part off that the other options ask for.
    # Refused for training (a model saved with them still loads: its weights are what they are).
    from genlab.data.image_dataset import ImageDataConfig
    from genlab.models.gan import build_gan_data

    zero_penalty = GANConfig(loss="wasserstein_gp", gradient_penalty=0.0)
    zero_penalty.validate()
    with pytest.raises(ConfigError, match="^--model.gradient_penalty 0 leaves the Wasserstein critic unconstrained"):
        build_gan_data(ImageDataConfig(), zero_penalty)
    zero_classifier = GANConfig(conditional=True, num_classes=10, discriminator_conditioning="auxiliary",
                                auxiliary_weight=0.0)
    zero_classifier.validate()
    with pytest.raises(ConfigError, match="^--model.auxiliary_weight 0 switches the auxiliary classifier off"):
        build_gan_data(ImageDataConfig(), zero_classifier)


def test_image_data_options_and_channels_on_toy_points_are_refused(tmp_path, run_cli):
    base = ["train", "gan", "--data", "toy:ring", "--model.backbone", "mlp", "--steps", "1", "--batch-size", "8",
            "--quiet", "--out", tmp_path / "run"]
    for option, value in [("--data.hflip", "true"), ("--data.resolution", "64"), ("--data.channels", "3"),
                          ("--data.skip_corrupt", "true")]:
        code, _, err = run_cli(*base, option, value)
        assert code == 2 and f"{option} is for images, and toy:ring holds 2-D points; drop it." in err
    code, _, err = run_cli(*base, "--model.channels", "5")
    assert code == 2 and "--model.channels is the points' dimension, 2 for toy:ring (got 5); drop it." in err
    assert not (tmp_path / "run").exists()
    code, _, err = run_cli(*base)
    assert code == 0, err


def test_a_toy_model_is_evaluated_by_the_mode_statistics_of_its_mixture(tmp_path, run_cli):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "gan", "--data", "toy:ring", "--model.backbone", "mlp", "--steps", "2",
                           "--batch-size", "8", "--quiet", "--out", run)
    assert code == 0, err
    code, out, err = run_cli("eval", run, "--data", "toy:ring", "--seed", "3")
    assert code == 0, err
    result = json.loads(out)
    from genlab.data.toy import mode_statistics, ring
    from genlab.sampling import load_model

    samples = load_model(run).sample(2500, torch.Generator().manual_seed(3))
    assert {k: v for k, v in result.items() if k != "protocol"} == mode_statistics(samples, ring())
    assert result["samples"] == 2500 and "2500 samples of the generator (seed 3)" in result["protocol"]["samples"]
    assert "8 Gaussians, σ = 0.01" in result["protocol"]["reference"]
    code, out, err = run_cli("eval", run, "--seed", "3")  # the mixture it learned, read from its run
    assert code == 0 and {k: v for k, v in json.loads(out).items() if k != "protocol"} == {
        k: v for k, v in result.items() if k != "protocol"}
    code, _, err = run_cli("eval", run, "--data", "toy:grid")
    assert code == 2 and "The model learned toy:ring, not toy:grid; drop --data" in err
    import shutil

    shutil.copytree(run / "model", tmp_path / "exported")  # a model folder alone: it records what it learned
    code, out, err = run_cli("eval", tmp_path / "exported", "--seed", "3")
    assert code == 0 and "8 Gaussians" in json.loads(out)["protocol"]["reference"], err
    code, _, err = run_cli("eval", tmp_path / "exported", "--data", "toy:grid")
    assert code == 2 and "The model learned toy:ring, not toy:grid; drop --data" in err
    config = json.loads((tmp_path / "exported" / "config.json").read_text())
    assert config["model"].pop("mixture") == "ring"  # as saved before 5 December
    (tmp_path / "exported" / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli("eval", tmp_path / "exported")  # and no run beside it to say
    assert code == 2 and "pass the mixture it learned with --data toy:ring or --data toy:grid" in err


def test_more_classes_than_the_data_has_are_refused(tmp_path, digits_npz, run_cli):
    """A class no real image has would be drawn only as a fake, for D to reject from the label alone."""
    code, _, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "8", "--quiet",
                           "--out", tmp_path / "run", "--model.conditional", "true", "--model.num_classes", "12",
                           *TINY_OPTIONS)
    assert code == 2 and "has labels 0 to 9, fewer classes than --model.num_classes 12; set it to 10" in err
    with np.load(digits_npz) as data:  # classes 0 and 5 only: 1-4 would be classes without an image
        keep = np.isin(data["y"], [0, 5])
        np.savez(tmp_path / "gaps.npz", x=data["x"][keep], y=data["y"][keep])
    code, _, err = run_cli("train", "gan", "--data", tmp_path / "gaps.npz", "--steps", "1", "--batch-size", "8",
                           "--quiet", "--out", tmp_path / "gaps", "--model.conditional", "true", *TINY_OPTIONS)
    assert code == 2 and "has labels 0 to 5 but no image of classes 1, 2, 3, 4; number the classes" in err
    assert not (tmp_path / "gaps").exists()


def test_resuming_with_a_setting_that_changes_the_layers_is_refused_before_anything_is_written(tmp_path, digits_npz,
                                                                                              run_cli):
    run = tmp_path / "run"
    common = ["train", "gan", "--data", digits_npz, "--batch-size", "8", "--quiet", "--out", run, *TINY_OPTIONS]
    code, _, err = run_cli(*common, "--steps", "2")
    assert code == 0, err
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, out, err = run_cli(*common, "--steps", "4", "--resume", "auto", "--model.r1_gamma", "1")  # D loses its BatchNorm
    assert code == 2 and "The changed settings (model.r1_gamma 0.0 → 1.0) change the model's layers" in err
    assert "cannot go on with them; drop them, or start a new run" in err and "warning" not in out
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("option, value, sentence", [
    ("diffaugment", ("color",), "--model.diffaugment augments images, and the mlp backbone reads points; drop it."),
    ("attention_resolutions", (8,), "--model.attention_resolutions places self-attention on feature maps, and the mlp "
                                    "backbone has none; drop it."),
    ("resolution", 28, "--model.resolution sizes images, and the mlp backbone reads points; drop it."),
])
def test_image_options_on_the_mlp_backbone_are_refused_for_training_and_dropped_from_a_saved_model(option, value,
                                                                                                  sentence):
    from genlab.config import drop_inapplicable

    config = GANConfig(backbone="mlp", channels=2, **{option: value})
    with pytest.raises(ConfigError, match=f"^{re.escape(sentence)}$"):
        config.validate()
    kept, dropped = drop_inapplicable(config)
    assert dropped == {option: value} and kept == GANConfig(backbone="mlp", channels=2)
    kept.validate()
    GANConfig(**{option: value}).validate()  # the dcgan backbone reads it


def test_a_stored_mlp_gan_loads_without_the_image_options_it_never_read():
    from genlab.config import from_stored

    stored = {"backbone": "mlp", "channels": 2, "resolution": 28, "diffaugment": ["color"],
              "attention_resolutions": [8]}
    config, dropped = from_stored(GANConfig, stored, "model")
    assert config == GANConfig(backbone="mlp", channels=2)
    assert dropped == {"resolution": 28, "diffaugment": ("color",), "attention_resolutions": (8,)}


def test_sagans_attention_on_the_mlp_backbone_is_refused_even_at_the_presets_default():
    """Dropping it would restore sagan's own (16,): the sentence says to empty it, and it stays refused."""
    from genlab.config import drop_inapplicable

    config = SAGANConfig(backbone="mlp", channels=2)
    with pytest.raises(ConfigError, match=re.escape("has none; set it to [] (this preset's default is [16]).")):
        config.validate()
    assert drop_inapplicable(config)[0] == config
    SAGANConfig(backbone="mlp", channels=2, attention_resolutions=()).validate()


def test_a_model_saved_with_options_now_refused_as_inapplicable_loads_with_them_ignored(tmp_path, capsys):
    """An unconditional GAN saved before genlab refused its class options (and a λ without WGAN-GP)
    never read them: it loads, with a note; training with them is still refused."""
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, **TINY))
    model.save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    saved = json.loads(path.read_text())
    stale = {"discriminator_conditioning": "auxiliary", "auxiliary_weight": 2.0, "gradient_penalty": 5.0,
             "r1_every": 4, "num_classes": 10}
    saved["model"].update(stale)
    path.write_text(json.dumps(saved))
    loaded = GenerativeModel.from_pretrained(tmp_path / "old")
    assert loaded.config == model.config and loaded.num_classes is None
    note = capsys.readouterr().err
    assert note.startswith(f"genlab: note: {path} sets --model.num_classes 10, ") and note.count("\n") == 1
    assert '--model.discriminator_conditioning "auxiliary"' in note and "--model.gradient_penalty 5.0" in note
    assert all(f"--model.{name}" in note for name in stale) and note.rstrip().endswith("ignored.")
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(loaded.sample(2, generator), model.sample(2, torch.Generator().manual_seed(0)))
    for name, value in stale.items():  # each one, given for training, is refused
        with pytest.raises(ConfigError, match=f"--model.{name} "):
            build_run_config("gan", overrides={"model": {"name": "gan", name: value}})


def test_monitor_warns_about_saturation_and_collapse_only():
    model = GAN(GANConfig(resolution=28, channels=1, **TINY))
    healthy = {"d_real_logit": 1.0, "d_fake_logit": -1.0, "fake_spread": 0.4, "real_spread": 0.5}
    assert model.monitor(healthy) == []
    saturated = {**healthy, "d_real_logit": 9.0, "d_fake_logit": -9.0}
    assert ["saturated" in w for w in model.monitor(saturated)] == [True]
    collapsed = {**healthy, "fake_spread": 0.01}
    assert ["mode collapse" in w for w in model.monitor(collapsed)] == [True]


def test_truncated_latent_matches_the_truncated_normal():
    model = GAN(GANConfig(resolution=28, channels=1, truncation=1e-6, **TINY))
    assert model.sample_latent(10).abs().max() <= 1e-6  # tiny bounds no longer loop
    wide = GAN(GANConfig(resolution=28, channels=1, latent_dim=4000, truncation=1.0))
    z = wide.sample_latent(10, torch.Generator().manual_seed(0))
    # Var of N(0,1) truncated to [-1, 1]: 1 − 2φ(1)/(Φ(1) − Φ(−1)) ≈ 0.2911
    assert abs(z.var().item() - 0.2911) < 0.01


def test_gradient_penalty_norms_are_taken_per_pack():
    w = torch.tensor([3.0, 4.0])

    def critic(x):  # a packed critic: it scores pairs of points
        return (x @ w).reshape(-1, 2).sum(1)

    points = torch.randn(6, 2)
    # each pack of two points has gradient (w, w): norm √2·5
    assert torch.allclose(gradient_penalty(critic, points, points, group=2), torch.tensor((5 * 2**0.5 - 1) ** 2))


def test_penalised_dcgan_discriminator_has_no_batchnorm():
    model = GAN(GANConfig(resolution=32, channels=3, loss="wasserstein_gp", **TINY))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in GAN(GANConfig(resolution=32, channels=3, **TINY))
               .discriminator.modules())


@pytest.mark.parametrize("option, value, message", [
    ("lr_generator", -1.0, "--model.lr_generator must be a learning rate between 0 and 1"),
    ("betas", (2.0, 0.5), r"--model.betas must be two numbers in \[0, 1\)"),
    ("decay_steps", -1, "--model.decay_steps must be 0"),
])
def test_optimizer_options_are_validated(option, value, message):
    with pytest.raises(ConfigError, match=message):
        GANConfig(**{option: value}).validate()


def test_decay_steps_anneal_both_learning_rates_to_zero():
    config = GANConfig(backbone="mlp", channels=2, latent_dim=2, mlp_depth=1, generator_width=4,
                       discriminator_width=4, lr_generator=1e-3, lr_discriminator=4e-3, decay_steps=10)
    model = GAN(config)
    optimizers = model.configure_optimizers()
    rates = []
    for step in (0, 5, 10, 20):
        model.on_train_step(step, optimizers)
        rates.append([optimizers[p].param_groups[0]["lr"] for p in ("generator", "discriminator")])
    assert rates[0] == [1e-3, 4e-3]  # the configured rates at the first step
    assert rates[1] == pytest.approx([0.5e-3, 2e-3])  # half-way down the cosine
    assert rates[2] == rates[3] == [0.0, 0.0]  # zero from decay_steps on


def two_class_images(n, generator):
    """Class 0: dark images, class 1: bright ones (mean −0.6 vs +0.6, pixel noise 0.2)."""
    labels = torch.arange(n) % 2
    images = (labels.float() * 1.2 - 0.6)[:, None, None, None] + 0.2 * torch.randn(n, 1, 28, 28, generator=generator)
    return {"images": images.clamp(-1, 1), "labels": labels}


@pytest.mark.parametrize("conditioning", ["projection", "auxiliary", "concat"])
def test_conditional_generator_learns_to_follow_its_label(conditioning):
    """A conditional GAN whose samples do not depend on the class is a plain GAN with a wasted input."""
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=2,
                          discriminator_conditioning=conditioning, **TINY))
    optimizers = model.configure_optimizers()
    data = torch.Generator().manual_seed(1)
    for _ in range(400):
        model.training_step(two_class_images(32, data), optimizers)
    z = model.sample_latent(64, torch.Generator().manual_seed(2))
    dark, bright = (model.decode(z, torch.full((64,), k)).mean().item() for k in (0, 1))
    assert bright - dark > 0.8  # the data's classes differ by 1.2


@pytest.mark.parametrize("backbone, resolution", [("dcgan", 28), ("resnet", 32)])
def test_conditional_generator_reads_its_label_from_the_first_step(backbone, resolution):
    torch.manual_seed(0)
    model = GAN(GANConfig(backbone=backbone, resolution=resolution, channels=1, conditional=True, num_classes=3,
                          **TINY))
    z, other_z = model.sample_latent(32, torch.Generator().manual_seed(0)).chunk(2)
    images = [model.decode(z, torch.full((16,), k)) for k in range(3)]
    noise_effect = (images[0] - model.decode(other_z, torch.zeros(16, dtype=torch.long))).abs().mean()
    label_effect = min((images[a] - images[b]).abs().mean() for a, b in ((0, 1), (0, 2), (1, 2)))
    # One coordinate of the input against TINY's 8 of z. Conditional BatchNorm alone starts as the
    # identity: every class drew the same image.
    assert label_effect > 0.05 * noise_effect
    with pytest.raises(ValueError, match="needs labels"):
        model.generator(z)


@pytest.mark.parametrize("spectral_norm", ["none", "both"])
def test_the_dcgan_stem_looks_up_the_class_rows_the_one_hot_would_multiply(spectral_norm):
    from genlab.nn.conditioning import with_one_hot

    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=4, spectral_norm=spectral_norm,
                          **TINY))
    generator = model.generator.eval()  # spectral norm: no power iteration, so both sides see one weight
    z, labels = torch.randn(6, TINY["latent_dim"]), torch.tensor([0, 3, 1, 1, 2, 3])
    concatenated = generator.stem(with_one_hot(z, labels, 4)[:, :, None, None])
    assert torch.allclose(generator._stem(z, labels), concatenated, atol=1e-6)
    assert generator.stem.weight.shape[0] == TINY["latent_dim"] + 4  # one weight: checkpoints load as before


def test_projection_term_starts_on_the_scale_of_the_unconditional_logit():
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=10, **TINY))
    head = model.discriminator.head
    h = model.discriminator.trunk(batch(64)["images"]).flatten(1)
    unconditional = head.linear(h).flatten()
    projection = (head.projection(torch.arange(64) % 10) * h).sum(1)
    assert projection.std() < 5 * unconditional.std()  # nn.Embedding's N(0, 1) made it ~100×


def test_lazy_r1_penalises_every_nth_discriminator_update_with_n_times_the_weight():
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def first_update(step, discriminator_steps=1):
        """(logged values of a fresh model's step ``step``, the discriminator before it and after it).
        D takes plain SGD steps, so its move is -lr × the gradient of the loss it descends."""
        torch.manual_seed(0)
        model = GAN(GANConfig(resolution=28, channels=1, r1_gamma=1000.0, r1_every=4,
                              discriminator_steps=discriminator_steps, **TINY))
        optimizers = {**model.configure_optimizers(),
                      "discriminator": torch.optim.SGD(model.discriminator.parameters(), lr=1e-3)}
        model.on_train_step(step, optimizers)
        before = copy.deepcopy(model.discriminator)
        torch.manual_seed(1)
        return model.training_step({"images": images}, optimizers), before, model.discriminator

    unpenalised, before, moved = first_update(1)
    assert "penalty_r1" not in unpenalised
    for step in (2, 3, 5):  # not a multiple of 4: no penalty, and the same step as step 1's
        assert "penalty_r1" not in first_update(step)[0]
        assert torch.equal(first_update(step)[0]["loss_discriminator"], unpenalised["loss_discriminator"])
    penalty = squared_gradient_norm(lambda x: before(x)[0], images)  # E‖∇D(x)‖²
    parameters = list(before.parameters())  # a bias after the last weight does not reach ∇ₓD: no gradient
    gradients = [torch.zeros_like(p) if g is None else g
                 for p, g in zip(parameters, torch.autograd.grad(penalty, parameters, allow_unused=True))]
    for step in (0, 4):
        logged, _, penalised = first_update(step)
        # The adversarial loss alone is logged as loss_discriminator; the penalty, unweighted, on its own.
        assert torch.equal(logged["loss_discriminator"], unpenalised["loss_discriminator"])
        assert torch.allclose(logged["penalty_r1"], penalty.detach(), rtol=1e-4)
        # D descends the sum: the penalty's gradient, weighted r1_every × γ/2, moves it on top of the loss's.
        for gradient, with_penalty, without in zip(gradients, penalised.parameters(), moved.parameters()):
            assert torch.allclose(without - with_penalty, 1e-3 * 4 * 500 * gradient, rtol=1e-3, atol=1e-6)
    # Two discriminator updates a step, each on half the batch: step 1 holds updates 2 and 3 (neither
    # penalised), step 3 updates 6 and 7; step 2 holds update 4, penalised, so D has moved by the time
    # update 5's loss is reported, and the step logs update 4's penalty.
    assert torch.equal(first_update(1, 2)[0]["loss_discriminator"], first_update(3, 2)[0]["loss_discriminator"])
    assert not torch.equal(first_update(2, 2)[0]["loss_discriminator"], first_update(3, 2)[0]["loss_discriminator"])
    assert "penalty_r1" in first_update(2, 2)[0] and "penalty_r1" not in first_update(3, 2)[0]


def test_rsgan_with_r2_pairs_each_fake_with_its_real_image_and_penalises_d_on_the_fakes():
    """R2 is E‖∇D(G(z))‖² under the D before the update, on the step's fakes; the generator's rsgan loss
    pairs each fake with the real image beside it, both judged by the D the update left."""
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, loss="rsgan", r2_gamma=1.0, **TINY))
    generator, before = copy.deepcopy(model.generator), copy.deepcopy(model.discriminator)
    torch.manual_seed(1)
    logged = model.training_step({"images": images}, model.configure_optimizers())
    torch.manual_seed(1)
    fakes = generator(torch.randn(8, TINY["latent_dim"]))  # the step's fakes: the same noise, the same G
    expected_r2 = squared_gradient_norm(lambda x: before(x)[0], fakes.detach())
    assert torch.allclose(logged["penalty_r2"], expected_r2, rtol=1e-4) and "penalty_r1" not in logged
    with torch.no_grad():
        real_logits, fake_logits = model.discriminator(images)[0], model.discriminator(fakes)[0]
    paired = torch.nn.functional.softplus(real_logits - fake_logits).mean()
    assert torch.allclose(logged["loss_generator"], paired, rtol=1e-4)  # the pairing itself: test_dcgan.py


def test_lazy_r2_descends_the_penalty_on_the_fakes_with_r1_every_times_the_weight():
    """As lazy R1 (above), on the step's fakes: D's move with the penalty minus its move without it is
    lr × r1_every × γ/2 × ∇E‖∇D(G(z))‖², under the D before the update."""
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def first_update(step):
        torch.manual_seed(0)
        model = GAN(GANConfig(resolution=28, channels=1, r2_gamma=1000.0, r1_every=4, **TINY))
        optimizers = {**model.configure_optimizers(),
                      "discriminator": torch.optim.SGD(model.discriminator.parameters(), lr=1e-3)}
        model.on_train_step(step, optimizers)
        generator, before = copy.deepcopy(model.generator), copy.deepcopy(model.discriminator)
        torch.manual_seed(1)
        return model.training_step({"images": images}, optimizers), generator, before, model.discriminator

    unpenalised, _, _, moved = first_update(1)
    logged, generator, before, penalised = first_update(4)
    assert "penalty_r2" not in unpenalised and "penalty_r1" not in logged
    torch.manual_seed(1)
    fakes = generator(torch.randn(8, TINY["latent_dim"])).detach()
    penalty = squared_gradient_norm(lambda x: before(x)[0], fakes)
    assert torch.allclose(logged["penalty_r2"], penalty.detach(), rtol=1e-4)
    parameters = list(before.parameters())
    gradients = [torch.zeros_like(p) if g is None else g
                 for p, g in zip(parameters, torch.autograd.grad(penalty, parameters, allow_unused=True))]
    for gradient, with_penalty, without in zip(gradients, penalised.parameters(), moved.parameters()):
        assert torch.allclose(without - with_penalty, 1e-3 * 4 * 500 * gradient, rtol=1e-3, atol=1e-6)


def test_feature_mmd_is_the_unbiased_linear_mmd_per_feature():
    generator = torch.Generator().manual_seed(0)
    fake, real = torch.randn(4, 3, generator=generator), torch.randn(5, 3, generator=generator) + 1

    def mean_product(a, b, same):  # the mean of a_i · b_j over the pairs, a sample's pair with itself left out
        return torch.stack([a[i] @ b[j] for i in range(len(a)) for j in range(len(b)) if not (same and i == j)]).mean()

    expected = (mean_product(fake, fake, True) + mean_product(real, real, True) - 2 * mean_product(fake, real, False))
    assert torch.allclose(feature_mmd(fake, real), expected / 3, atol=1e-6)
    # Unbiased: batches of one distribution average 0, where the squared difference of their means averages
    # (1/8 + 1/8) per feature here, whose gradient would pull G's samples together.
    draws = torch.stack([feature_mmd(torch.randn(8, 3, generator=generator), torch.randn(8, 3, generator=generator))
                         for _ in range(2000)])
    assert abs(draws.mean()) < 0.02
    with pytest.raises(ValueError, match="at least 2 fake and 2 real"):
        feature_mmd(fake[:1], real)
    # Features far from 0 whose means differ a little: in bf16 the sums of squares would cancel to nothing.
    fake = 3 + 0.3 * torch.randn(64, 32, generator=generator)
    real = 3.01 + 0.3 * torch.randn(64, 32, generator=generator)
    assert torch.allclose(feature_mmd(fake.bfloat16(), real.bfloat16()), feature_mmd(fake, real), rtol=0.2, atol=2e-5)


def test_feature_matching_adds_its_weighted_mmd_of_d_features_to_the_generators_loss():
    """The reals' features as the D before the update computed them, the fakes' under the D it left;
    G's move with the term minus its move without it is lr × weight × the term's gradient."""
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def step(weight):
        torch.manual_seed(0)
        model = GAN(GANConfig(resolution=28, channels=1, feature_matching=weight, pack=2, **TINY))
        optimizers = {**model.configure_optimizers(),
                      "generator": torch.optim.SGD(model.generator.parameters(), lr=1e-3)}
        generator, before = copy.deepcopy(model.generator), copy.deepcopy(model.discriminator)
        torch.manual_seed(1)
        return model.training_step({"images": images}, optimizers), model, generator, before

    plain, moved, _, _ = step(0.0)
    logged, model, generator, before = step(50.0)
    assert "loss_feature_matching" not in plain
    torch.manual_seed(1)
    fakes = generator(torch.randn(8, TINY["latent_dim"]))  # the step's fakes: the same noise, the same G
    with torch.no_grad():
        real_features = before(pack(images, 2), features=True)[2]
    term = feature_mmd(model.discriminator(pack(fakes, 2), features=True)[2], real_features)
    assert torch.allclose(logged["loss_feature_matching"], term.detach(), rtol=1e-4, atol=1e-7)
    assert torch.equal(logged["loss_generator"], plain["loss_generator"])  # logged apart, unweighted
    gradients = torch.autograd.grad(term, list(generator.parameters()), allow_unused=True)
    for gradient, with_term, without in zip(gradients, model.generator.parameters(), moved.generator.parameters()):
        expected = torch.zeros_like(with_term) if gradient is None else 1e-3 * 50 * gradient
        assert torch.allclose(without - with_term, expected, rtol=1e-3, atol=1e-7)


def test_feature_matching_needs_two_packs_per_discriminator_update():
    model = GAN(GANConfig(resolution=28, channels=1, feature_matching=1.0, pack=2, **TINY))
    with pytest.raises(ConfigError, match="--model.feature_matching compares batches of D's features"):
        model.training_step(batch(2), model.configure_optimizers())


def test_wgan_gp_logs_the_critic_loss_and_its_gradient_penalty_apart():
    """loss_discriminator is the adversarial loss alone, E[D(fake)] - E[D(real)] under WGAN-GP."""
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, loss="wasserstein_gp", gradient_penalty=10.0, **TINY))
    logged = model.training_step(batch(8), model.configure_optimizers())
    assert torch.allclose(logged["loss_discriminator"], logged["d_fake_logit"] - logged["d_real_logit"], atol=1e-5)
    assert logged["penalty_gradient"] > 0 and "penalty_r1" not in logged


def test_an_auxiliary_classifier_logs_its_losses_apart_from_the_adversarial_ones():
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=10, loss="hinge",
                          discriminator_conditioning="auxiliary", **TINY))
    logged = model.training_step(batch(8, classes=10), model.configure_optimizers())
    # Hinge: relu(1 - D(x)) + relu(1 + D(G(z))) is 2 at logits near 0, with nothing of the classifier's
    # ~2·ln 10 in it; the classifier's losses (real + fake for D, fake for G) are logged on their own.
    assert abs(logged["loss_discriminator"] - 2) < 0.5 and abs(logged["loss_generator"]) < 0.5
    assert abs(logged["loss_auxiliary_discriminator"] - 2 * torch.log(torch.tensor(10.0))) < 1.5
    assert abs(logged["loss_auxiliary_generator"] - torch.log(torch.tensor(10.0))) < 1.0


@pytest.mark.parametrize("backbone,resolution,sizes", [("dcgan", 28, "7, 14"), ("resnet", 32, "8, 16, 32")])
def test_attention_at_a_size_no_player_has_is_refused(backbone, resolution, sizes):
    """SAGAN's attention at 16 on 28×28 images would otherwise be silently left out."""
    with pytest.raises(ConfigError, match=f"attention_resolutions has 4, .* {backbone} .*choose from {sizes}"):
        GAN(GANConfig(resolution=resolution, channels=1, backbone=backbone, attention_resolutions=(4,), **TINY))
    sizes = [int(s) for s in sizes.split(", ")]
    model = GAN(GANConfig(resolution=resolution, channels=1, backbone=backbone, attention_resolutions=tuple(sizes),
                          **TINY))
    assert sum(isinstance(m, SelfAttention2d) for m in model.modules()) >= len(sizes)  # each size has a block


def test_attention_at_a_size_only_one_player_has_is_said_when_training_starts(tmp_path, digits_npz, run_cli):
    """The ResNet generator has a 32×32 feature map at 32 px; its discriminator does not."""
    model = GAN(GANConfig(resolution=32, channels=3, backbone="resnet", attention_resolutions=(16, 32), **TINY))
    assert model.setup_notes() == ["self-attention at 32×32 sits in the generator only: the other player has no "
                                   "feature map of that size."]
    code, out, err = run_cli("train", "gan", "--data", digits_npz, "--steps", "1", "--batch-size", "4", "--out",
                             tmp_path / "run", "--quiet", "--model.backbone", "resnet", "--data.resolution", "32",
                             "--model.attention_resolutions", "[32]", "--model.generator_width", "8",
                             "--model.discriminator_width", "8")
    assert code == 0, err
    assert "genlab: note: self-attention at 32×32 sits in the generator only" in out


def test_a_concatenating_discriminator_reads_the_class_as_input_maps():
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3,
                          discriminator_conditioning="concat", **TINY))
    first = model.discriminator.trunk[0]
    assert first.in_channels == 1 + 3  # the image and one constant map per class
    images = torch.randn(2, 1, 28, 28)
    logits, classes = model.discriminator(images, torch.tensor([0, 1]))
    swapped, _ = model.discriminator(images, torch.tensor([2, 2]))
    assert classes is None and not torch.allclose(logits, swapped)


def test_a_packed_projection_discriminator_adds_each_members_class_term():
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=5, pack=2, **TINY))
    images, labels = torch.randn(4, 1, 28, 28), torch.tensor([0, 3, 4, 4])
    model.eval()
    logits, _, h = model._judge(images, labels, features=True)  # two packs: members (0, 3) and (4, 4)
    table = model.discriminator.head.projection.weight
    expected = model.discriminator.head.linear(h).flatten() + ((table[[0, 4]] + table[[3, 4]]) * h).sum(1)
    assert logits.shape == (2,) and torch.allclose(logits, expected, atol=1e-6)
    swapped, _, _ = model._judge(images, torch.tensor([3, 0, 4, 4]))  # the same classes, other member order
    other, _, _ = model._judge(images, torch.tensor([0, 3, 4, 1]))  # one member's class changed
    assert torch.allclose(swapped, logits, atol=1e-6)
    assert torch.equal(other[0], logits[0]) and not torch.allclose(other[1], logits[1])


def test_a_packed_concatenating_discriminator_reads_one_set_of_class_maps_per_member():
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, conditional=True, num_classes=3, pack=2,
                          discriminator_conditioning="concat", **TINY))
    assert model.discriminator.trunk[0].in_channels == 2 * 1 + 2 * 3  # two images, then each member's 3 maps
    seen = []
    model.discriminator.trunk[0].register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0]))
    model.eval()
    model._judge(torch.zeros(2, 1, 28, 28), torch.tensor([2, 0]))
    assert seen[0][0, 2:, 0, 0].tolist() == [0, 0, 1, 1, 0, 0]  # member 1 of class 2, member 2 of class 0


def test_class_names_recorded_at_a_resume_of_an_older_run_and_sampled_by_name(tmp_path, run_cli, digits_npz):
    """Its config.json lacks class_names; the resume records them from the data, which is no change of settings."""
    import numpy as np
    from PIL import Image

    from genlab.sampling import load_model

    with np.load(digits_npz) as data:
        x, y = data["x"], data["y"]
    for digit in (1, 2, 3):
        (tmp_path / "folder" / str(digit)).mkdir(parents=True)
        for i, image in enumerate(x[y == digit][:8]):
            Image.fromarray(image).save(tmp_path / "folder" / str(digit) / f"{i:02d}.png")
    run = tmp_path / "run"
    common = ["train", "gan", "--data", tmp_path / "folder", "--batch-size", "8", "--quiet", "--out", run,
              "--model.conditional", "true", *TINY_OPTIONS]
    code, _, err = run_cli(*common, "--steps", "2", "--train.checkpoint_every", "1")
    assert code == 0, err
    for path in run.rglob("config.json"):  # as genlab saved it before 5 December
        saved = json.loads(path.read_text())
        assert saved["model"].pop("class_names") == ["1", "2", "3"]
        path.write_text(json.dumps(saved))
    code, out, err = run_cli(*common, "--steps", "2", "--resume", "auto")  # at its last step: nothing to train
    assert code == 0 and "differ" not in out + err, err
    code, out, err = run_cli(*common, "--steps", "3", "--resume", "auto")
    assert code == 0 and "warning" not in out, out
    assert json.loads((run / "config.json").read_text())["model"]["class_names"] == ["1", "2", "3"]
    code, _, err = run_cli("train", "gan", "--model.class_names", "[a, b]", "--out", tmp_path / "other")
    assert code == 2 and "--model.class_names is recorded from the training data" in err
    code, out, err = run_cli("sample", run, "--class", "3", "--n", "2", "--out", tmp_path / "threes.png")
    assert code == 0 and out.strip().endswith("threes.png (class 3)"), err
    model = load_model(run)  # '3' is the folder of that name, the model's class 2, not class number 3
    model.save_samples(model.sample(2, torch.Generator().manual_seed(0), label=2), tmp_path / "class2.png")
    assert (tmp_path / "threes.png").read_bytes() == (tmp_path / "class2.png").read_bytes()


def test_a_toy_run_saved_before_the_mixture_was_recorded_resumes_unchanged(tmp_path, run_cli):
    run = tmp_path / "ring"
    common = ["train", "--config", "toy-ring", "--out", run, "--quiet", "--train.checkpoint_every", "1"]
    assert run_cli(*common, "--steps", "2")[0] == 0
    for path in run.rglob("config.json"):  # as genlab saved it before 5 December
        saved = json.loads(path.read_text())
        assert saved["model"].pop("mixture") == "ring"
        path.write_text(json.dumps(saved))
    code, out, err = run_cli(*common, "--steps", "3", "--resume", "auto")
    assert code == 0 and "differ from the checkpoint" not in out + err, out + err
    assert json.loads((run / "config.json").read_text())["model"]["mixture"] == "ring"
