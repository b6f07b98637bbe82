"""Random feature matching (--model.random_feature_matching): fixed features, running means, the
generator's term, and the option's place among the others."""

import copy

import pytest
import torch

from genlab.errors import ConfigError
from genlab.models.gan import GAN, GANConfig
from genlab.models.gan.random_features import DATA_DECAY, GENERATOR_DECAY, RandomFeatureMatching

TINY = dict(latent_dim=8, generator_width=8, discriminator_width=8)


def two_kinds(n, kind_a_share, generator):
    """n 16×16 images: a bright square at the top left (kind A) or a bright bar at the bottom (kind B),
    each with a little noise; the first round(n · share) are of kind A."""
    images = torch.full((n, 1, 16, 16), -1.0)
    count_a = round(n * kind_a_share)
    images[:count_a, :, 2:8, 2:8] = 1.0
    images[count_a:, :, 12:15, 1:15] = 1.0
    return images + 0.05 * torch.randn(images.shape, generator=generator)


def test_the_features_are_fixed_by_a_seed_and_never_trained(tmp_path):
    torch.manual_seed(0)
    model = GAN(GANConfig(resolution=28, channels=1, random_feature_matching=10.0, pack=2, **TINY))
    torch.manual_seed(1)
    other = GAN(GANConfig(resolution=28, channels=1, random_feature_matching=10.0, pack=2, **TINY))
    weights = [model.random_features.conv1.clone(), model.random_features.conv2.clone()]
    assert torch.equal(weights[0], other.random_features.conv1) and torch.equal(weights[1], other.random_features.conv2)
    optimizers = model.configure_optimizers()
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 2 - 1
    for _ in range(3):
        logged = model.training_step({"images": images}, optimizers)
    assert torch.equal(model.random_features.conv1, weights[0]) and torch.equal(model.random_features.conv2, weights[1])
    assert int(model.random_features.updates) == 3 and torch.isfinite(logged["random_feature_gap"])
    # The running means are saved with the model; the features are rebuilt from the seed.
    saved = model.state_dict()
    assert {"random_features.data_mean", "random_features.generator_mean", "random_features.updates"} <= set(saved)
    assert not any(key.endswith(("conv1", "conv2")) for key in saved)


def test_the_running_means_are_bias_corrected_averages_of_the_batches():
    matching = RandomFeatureMatching(channels=1, resolution=16)
    g = torch.Generator().manual_seed(0)
    data = [two_kinds(8, 0.5, g) for _ in range(2)]
    fakes = [two_kinds(8, 1.0, g) for _ in range(2)]
    for real, fake in zip(data, fakes):
        matching.observe_data(real)
        gap, _ = matching.loss(fake)
    features = [[matching.features(x) for x in batches] for batches in (data, fakes)]

    def corrected(means, decay):  # two updates of an average that starts at 0, divided by (1 - decay²)
        return ((1 - decay) * decay * means[0] + (1 - decay) * means[1]) / (1 - decay ** 2)

    data_mean = corrected([f.mean(0) for f in features[0]], DATA_DECAY)
    data_variance = corrected([f.pow(2).mean(0) for f in features[0]], DATA_DECAY) - data_mean.pow(2)
    fake_mean = corrected([f.mean(0) for f in features[1]], GENERATOR_DECAY)
    expected = (fake_mean - data_mean).pow(2) / (data_variance.clamp_min(0) + 0.1 * data_variance.clamp_min(0).mean())
    assert torch.allclose(gap, expected.mean(), rtol=1e-3)


class Identity(RandomFeatureMatching):
    """The running means and the term on the inputs themselves (features = the flattened input)."""

    def features(self, x):
        return x.flatten(1).float()


def test_the_terms_gradient_is_the_gap_over_the_datas_variance():
    """With features = the input, every quantity is a hand computation: after one update each running
    mean is its batch's mean, the data's variance is its batch's (biased) variance, and the term's
    gradient in each fake is (fake mean − data mean) / (variance + a tenth of the average) / (F · n)."""
    real = torch.tensor([[0.0, 1.0, 4.0], [2.0, 3.0, 4.0]]).reshape(2, 3, 1, 1)  # feature 3 never varies
    fake = torch.tensor([[1.0, 5.0, 4.0], [3.0, 5.0, 6.0], [2.0, 2.0, 5.0]]).reshape(3, 3, 1, 1).requires_grad_()
    matching = Identity(channels=3, resolution=1)
    matching.data_mean, matching.data_square, matching.generator_mean = (torch.zeros(3) for _ in range(3))
    matching.observe_data(real)
    gap, term = matching.loss(fake)
    variance = torch.tensor([1.0, 1.0, 0.0])
    spread = variance + 0.1 * variance.mean()
    difference = torch.tensor([2.0, 4.0, 5.0]) - torch.tensor([1.0, 2.0, 4.0])  # fake mean − data mean
    # rtol: the bias correction divides by 1 − 0.999 in float32, and the never-varying feature's
    # variance is 16 − 16 after it, within rounding of 0.
    assert torch.allclose(gap, (difference.pow(2) / spread).mean(), rtol=1e-3)
    (gradient,) = torch.autograd.grad(term, fake)
    expected = (difference / spread / 3 / 3).expand(3, 3).reshape(3, 3, 1, 1)
    assert torch.allclose(gradient, expected, rtol=1e-3)


def test_the_gap_sees_how_often_each_kind_is_drawn():
    """Data of two kinds at equal shares: fakes of one kind only are far from it, fakes at the data's
    shares close (though each batch is new), and fakes at 60/40 in between."""
    g = torch.Generator().manual_seed(0)

    def final_gap(share):
        matching = RandomFeatureMatching(channels=1, resolution=16)
        for _ in range(300):
            matching.observe_data(two_kinds(64, 0.5, g))
            gap, _ = matching.loss(two_kinds(64, share, g))
        return float(gap)

    even, skewed, one_kind = final_gap(0.5), final_gap(0.6), final_gap(1.0)
    assert even < skewed < one_kind
    assert one_kind > 50 * even and skewed > 2 * even


def test_the_term_pulls_the_generators_feature_mean_onto_the_datas():
    """A 'generator' that is a batch of free images, all of kind A, descending only the term, while
    the data is half kind A and half kind B: its gap to the data falls to under a quarter (the
    running mean of the fakes remembers about 100 batches, so it trails the images)."""
    g = torch.Generator().manual_seed(0)
    matching = RandomFeatureMatching(channels=1, resolution=16)
    fakes = torch.nn.Parameter(two_kinds(64, 1.0, g))
    optimizer = torch.optim.Adam([fakes], lr=0.02)
    gaps = []
    for _ in range(300):
        matching.observe_data(two_kinds(64, 0.5, g))
        gap, term = matching.loss(fakes)
        optimizer.zero_grad()
        term.backward()
        optimizer.step()
        gaps.append(float(gap))
    assert gaps[-1] < gaps[0] / 4
    # The free images moved towards the bar the data has and they lacked.
    assert fakes.detach()[:, :, 12:15, 1:15].mean() > -0.5


def test_a_gan_step_adds_the_weighted_term_to_the_generators_loss_only():
    """G's move with the term minus its move without it is lr × weight × the term's gradient; D's
    update does not see the term."""
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def step(weight):
        torch.manual_seed(0)
        model = GAN(GANConfig(resolution=28, channels=1, random_feature_matching=weight, pack=2, **TINY))
        optimizers = {**model.configure_optimizers(),
                      "generator": torch.optim.SGD(model.generator.parameters(), lr=1e-3)}
        generator = copy.deepcopy(model.generator)
        torch.manual_seed(1)
        return model.training_step({"images": images}, optimizers), model, generator

    plain, moved, _ = step(0.0)
    logged, model, generator = step(30.0)
    assert "random_feature_gap" not in plain and moved.random_features is None
    assert torch.equal(logged["loss_generator"], plain["loss_generator"])  # logged apart, unweighted
    for a, b in zip(model.discriminator.parameters(), moved.discriminator.parameters()):
        assert torch.equal(a, b)
    torch.manual_seed(1)
    fakes = generator(torch.randn(8, TINY["latent_dim"]))  # the step's fakes: the same noise, the same G
    matching = RandomFeatureMatching(channels=1, resolution=28)
    matching.observe_data(images)
    gap, term = matching.loss(fakes)
    assert torch.allclose(logged["random_feature_gap"], gap, rtol=1e-4)
    gradients = torch.autograd.grad(term, list(generator.parameters()), allow_unused=True)
    for gradient, with_term, without in zip(gradients, model.generator.parameters(), moved.generator.parameters()):
        expected = torch.zeros_like(with_term) if gradient is None else 1e-3 * 30 * gradient
        assert torch.allclose(without - with_term, expected, rtol=1e-3, atol=2e-7)  # float32 rounding near 1


def test_the_option_is_refused_where_nothing_can_read_it():
    with pytest.raises(ConfigError, match="^--model.random_feature_matching must be"):
        GANConfig(random_feature_matching=-1.0).validate()
    with pytest.raises(ConfigError, match="^--model.random_feature_matching reads images through a convolutional "
                                          "network, and the mlp backbone draws points; drop it."):
        GANConfig(backbone="mlp", channels=2, random_feature_matching=1.0).validate()
    GANConfig(random_feature_matching=1.0).validate()
    with pytest.raises(RuntimeError, match="before any observe_data"):
        RandomFeatureMatching(channels=1, resolution=16).loss(torch.zeros(2, 1, 16, 16))
