import pytest
import torch

from genlab.errors import ConfigError
from genlab.models.gan import DCGAN, DCGANConfig
from genlab.models.gan.losses import discriminator_loss, generator_loss
from genlab.models.gan.model import batch_spread


@pytest.mark.parametrize("resolution", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_every_resolution(resolution, channels):
    model = DCGAN(DCGANConfig(resolution=resolution, channels=channels, generator_width=4, discriminator_width=4))
    images = model.sample(3, torch.Generator().manual_seed(0))
    assert images.shape == (3, channels, resolution, resolution)
    logits, classes = model.discriminator(images)
    assert logits.shape == (3,) and classes is None


def test_batch_spread_is_the_mean_standard_deviation_over_the_batch():
    images = torch.randn(6, 3, 5, 5).contiguous(memory_format=torch.channels_last)
    assert batch_spread(images).item() == pytest.approx(images.std(dim=0, correction=0).mean().item(), rel=1e-5)
    assert batch_spread(images[:1].expand(4, -1, -1, -1)).item() == 0.0  # a collapsed batch


def test_classic_64px_architecture():
    model = DCGAN(DCGANConfig(resolution=64, channels=3))
    g_convs = [m for m in model.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    d_convs = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in g_convs] == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    assert [(m.in_channels, m.out_channels) for m in d_convs] == [(3, 64), (64, 128), (128, 256), (256, 512)]
    assert model.discriminator.head.linear.in_features == 512 * 4 * 4  # one logit from the whole 4×4 map
    # N(0, 0.02) initialisation
    assert abs(g_convs[1].weight.std().item() - 0.02) < 0.002


def test_losses_match_binary_cross_entropy():
    real, fake = torch.randn(5), torch.randn(5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected_d = bce(real, torch.ones(5)) + bce(fake, torch.zeros(5))
    assert torch.allclose(discriminator_loss("nonsaturating", real, fake), expected_d)
    assert torch.allclose(generator_loss("nonsaturating", fake), bce(fake, torch.ones(5)))
    assert torch.allclose(discriminator_loss("hinge", real, fake), (1 - real).clamp(min=0).mean() + (1 + fake).clamp(min=0).mean())


def test_the_other_losses_match_their_definitions():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-0.5, 3.0, 0.0])
    # hinge (Lim & Ye 2017): G maximises D's score of fakes
    assert torch.allclose(generator_loss("hinge", fake), torch.tensor(-2.5 / 3))
    # least squares (Mao et al. 2017, a = 0, b = c = 1): D pulls reals to 1 and fakes to 0, G fakes to 1
    expected_d = 0.5 * ((1.0 + 4.0 + 0.25) / 3) + 0.5 * ((0.25 + 9.0 + 0.0) / 3)
    assert torch.allclose(discriminator_loss("least_squares", real, fake), torch.tensor(expected_d))
    assert torch.allclose(generator_loss("least_squares", fake), torch.tensor(0.5 * ((2.25 + 4.0 + 1.0) / 3)))
    # Wasserstein: the critic's score of fakes minus that of reals; G raises its fakes' score
    assert torch.allclose(discriminator_loss("wasserstein_gp", real, fake), torch.tensor(2.5 / 3 - 1.5 / 3))
    assert torch.allclose(generator_loss("wasserstein_gp", fake), torch.tensor(-2.5 / 3))
    # relativistic pairing: each fake against the real beside it, -log σ(D(x) - D(G(z))) for D, the reverse for G
    expected_d = sum(torch.log1p(torch.exp(torch.tensor(f - r))) for r, f in ((2.0, -0.5), (-1.0, 3.0), (0.5, 0.0))) / 3
    assert torch.allclose(discriminator_loss("rsgan", real, fake), expected_d)
    expected_g = sum(torch.log1p(torch.exp(torch.tensor(r - f))) for r, f in ((2.0, -0.5), (-1.0, 3.0), (0.5, 0.0))) / 3
    assert torch.allclose(generator_loss("rsgan", fake, real), expected_g)
    assert not torch.allclose(discriminator_loss("rsgan", real.flip(0), fake), expected_d)  # the pairing counts
    with pytest.raises(ValueError, match="pairs every fake logit with a real one"):
        generator_loss("rsgan", fake)
    with pytest.raises(ValueError, match="unknown GAN loss 'vanilla'"):
        discriminator_loss("vanilla", real, fake)
    with pytest.raises(ValueError, match="unknown GAN loss 'vanilla'"):
        generator_loss("vanilla", fake)


def test_training_step_updates_both_players_and_leaves_discriminator_trainable():
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(resolution=28, channels=1, generator_width=4, discriminator_width=4))
    optimizers = model.configure_optimizers()
    g_before = [p.clone() for p in model.generator.parameters()]
    d_before = [p.clone() for p in model.discriminator.parameters()]
    losses = model.training_step({"images": torch.rand(8, 1, 28, 28) * 2 - 1}, optimizers)
    assert set(losses) == {"loss_discriminator", "loss_generator", "d_real_logit", "d_fake_logit", "fake_spread",
                           "real_spread"}
    assert all(v.dim() == 0 and not v.requires_grad for v in losses.values())
    assert all(not torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_config_validation():
    with pytest.raises(ConfigError, match="--model.resolution must be one of 28, 32, 64"):
        DCGANConfig(resolution=48).validate()
    with pytest.raises(ConfigError, match="one of 32, 64 for the resnet backbone"):
        DCGANConfig(resolution=28, backbone="resnet").validate()
    with pytest.raises(ConfigError, match="--model.channels must be 1 or 3"):
        DCGANConfig(channels=2).validate()
