"""The VAE model: shapes for every likelihood and resolution, the training step, presets, save/load."""

import json

import pytest
import torch

from genlab.errors import ConfigError
from genlab.models.base import GenerativeModel
from genlab.models.vae import CVAE, IWAE, VAE, BetaVAE, CVAEConfig, IWAEConfig, VAEConfig
from genlab.models.vae.pictures import interpolation, reconstructions, traversal
from genlab.train.run import build_run_config

TINY = dict(width=4, hidden_dim=16, latent_dim=4)


def images(n=6, channels=1, resolution=28):
    return torch.randint(0, 256, (n, channels, resolution, resolution)).float() / 127.5 - 1


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "logistic", "categorical"])
@pytest.mark.parametrize("resolution,channels", [(28, 1), (32, 3), (64, 3)])
def test_every_likelihood_decodes_images_and_scores_each_example(likelihood, resolution, channels):
    torch.manual_seed(0)
    model = VAE(VAEConfig(resolution=resolution, channels=channels, likelihood=likelihood, **TINY))
    x = model.likelihood.observe(images(3, channels, resolution))
    mean, log_var = model.posterior(x, None)
    assert mean.shape == log_var.shape == (3, 4)
    log_px, log_ratio = model.importance_terms(x, None, mean, log_var, samples=2)
    assert log_px.shape == log_ratio.shape == (2, 3) and torch.isfinite(log_px).all()
    if model.likelihood.discrete:
        assert (log_px <= 0).all()  # a probability of the data
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, channels, resolution, resolution) and samples.abs().max() <= 1


def test_training_step_minimises_the_negative_elbo_and_logs_detached_scalars():
    torch.manual_seed(0)
    model = VAE(VAEConfig(resolution=28, channels=1, **TINY))
    optimizers = model.configure_optimizers()
    before = [p.clone() for p in model.parameters()]
    terms = model.training_step({"images": images(), "labels": None}, optimizers)
    assert set(terms) == {"loss", "reconstruction", "kl", "elbo"}
    assert all(v.dim() == 0 and not v.requires_grad for v in terms.values())
    assert torch.allclose(terms["loss"], terms["reconstruction"] + terms["kl"])  # β = 1, no warm-up
    assert torch.allclose(terms["elbo"], -terms["loss"])
    assert terms["kl"] >= 0
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("likelihood", ["bernoulli", "logistic"])
def test_the_bounds_are_summed_in_fp32_under_bf16_autocast(likelihood):
    # bf16 keeps 8 bits of mantissa: summed over 3,072 sub-pixels, or as the logistic's bin masses,
    # the log-likelihood would lose whole nats.
    torch.manual_seed(0)
    model = VAE(VAEConfig(resolution=32, channels=3, likelihood=likelihood, **TINY))
    x = model.likelihood.observe(images(2, 3, 32))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mean, log_var = model.posterior(x, None)
        log_px, log_ratio = model.importance_terms(x, None, mean, log_var, samples=2)
        terms = model.objective(x, None)
    assert mean.dtype == log_var.dtype == log_px.dtype == log_ratio.dtype == torch.float32
    assert all(value.dtype == torch.float32 for value in terms.values())


def test_kl_warmup_ramps_beta_linearly():
    model = BetaVAE(BetaVAE.config_class(resolution=28, channels=1, beta=4.0, kl_warmup_steps=100, **TINY))
    optimizers = model.configure_optimizers()
    weights = []
    for step in (0, 25, 100, 1000):
        model.on_train_step(step, optimizers)
        weights.append(model.kl_weight)
    assert weights == [0.0, 1.0, 4.0, 4.0]
    torch.manual_seed(0)
    model.on_train_step(0, optimizers)
    terms = model.objective(model.likelihood.observe(images()), None)
    assert torch.allclose(terms["loss"], terms["reconstruction"])  # β = 0 at the start


def test_cosine_decay_sets_the_optimizer_learning_rate_from_the_step():
    model = VAE(VAEConfig(resolution=28, channels=1, lr=1e-3, min_lr=1e-5, decay_steps=100, **TINY))
    optimizers = model.configure_optimizers()
    rates = []
    for step in (0, 50, 100, 1000):
        model.on_train_step(step, optimizers)
        rates.append(optimizers["vae"].param_groups[0]["lr"])
    # 1e-5 + ½(1 + cos(π·t))·(1e-3 - 1e-5) at t = 0, ½, 1, and held at the end
    assert rates == pytest.approx([1e-3, 5.05e-4, 1e-5, 1e-5])
    constant = VAE(VAEConfig(resolution=28, channels=1, lr=2e-3, **TINY))
    optimizers = constant.configure_optimizers()
    constant.on_train_step(500, optimizers)
    assert optimizers["vae"].param_groups[0]["lr"] == 2e-3


def test_iwae_objective_logs_a_bound_above_the_elbo():
    torch.manual_seed(0)
    model = IWAE(IWAEConfig(resolution=28, channels=1, samples=50, **TINY))
    terms = model.objective(model.likelihood.observe(images()), None)
    assert torch.allclose(terms["loss"], -terms["iwae_bound"])
    assert terms["iwae_bound"] > terms["elbo"]


def test_conditional_vae_needs_labels_and_samples_by_class():
    torch.manual_seed(0)
    model = CVAE(CVAEConfig(resolution=28, channels=1, num_classes=3, **TINY))
    optimizers = model.configure_optimizers()
    with pytest.raises(ConfigError, match=r"^This cvae is conditional but its data has no labels; use labelled data "
                                          r"\(class subfolders, or y in the .npz\) or set --model.conditional false.$"):
        model.training_step({"images": images(), "labels": None}, optimizers)
    model.training_step({"images": images(), "labels": torch.tensor([0, 1, 2, 0, 1, 2])}, optimizers)
    assert model.class_labels(4).tolist() == [0, 1, 2, 0]
    one = model.sample(4, torch.Generator().manual_seed(0), label=1)
    other = model.sample(4, torch.Generator().manual_seed(0), label=2)
    assert not torch.equal(one, other)  # the same latents, decoded for another class
    with pytest.raises(ConfigError, match="--class 3 is out of range; this model has classes 0 to 2"):
        model.class_labels(2, 3)
    with pytest.raises(ConfigError, match="--class needs a conditional model; this vae is unconditional"):
        VAE(VAEConfig(resolution=28, channels=1, **TINY)).class_labels(2, 0)


def test_pictures_have_the_grid_layout():
    torch.manual_seed(0)
    model = VAE(VAEConfig(resolution=28, channels=1, decoder_attention=True, **TINY))
    assert model.decoder.attention is not None
    x = model.likelihood.observe(images(16))
    recon = reconstructions(model, x, None, columns=8)
    assert recon.shape == (32, 1, 28, 28)
    assert torch.equal(recon[:8], 2 * x[:8] - 1) and torch.equal(recon[16:24], 2 * x[8:16] - 1)  # inputs, then outputs
    assert traversal(model, x, None, units=3, steps=5).shape == (15, 1, 28, 28)
    walk = interpolation(model, x[:4], None, steps=5)
    assert walk.shape == (10, 1, 28, 28)
    ends = model.decode(model.posterior(x[:4], None)[0])
    assert torch.allclose(walk[0], ends[0], atol=1e-6) and torch.allclose(walk[4], ends[1], atol=1e-6)


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = CVAE(CVAEConfig(resolution=32, channels=3, num_classes=4, likelihood="logistic", **TINY))
    model.save_pretrained(tmp_path)
    loaded = GenerativeModel.from_pretrained(tmp_path)
    assert type(loaded) is CVAE and loaded.config == model.config
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(model.sample(3, torch.Generator().manual_seed(1)),
                       loaded.sample(3, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("options,message", [
    (dict(resolution=48), "--model.resolution must be one of 28, 32, 64"),
    (dict(channels=2), "--model.channels must be 1 or 3"),
    (dict(samples=0), "--model.samples must be between 1 and 5000"),
    (dict(free_bits=-1.0), "--model.free_bits must be a non-negative number"),
    (dict(objective="iwae", beta=2.0), "^--model.beta weighs the ELBO's KL term, and --model.objective iwae has no "
                                       "separate KL term; drop it, or set --model.objective elbo.$"),
    (dict(gaussian_sigma=0.0), "--model.gaussian_sigma must be a positive number"),
    (dict(likelihood="gaussian", gaussian_sigma=0.2), "--model.gaussian_sigma is the σ of --model.likelihood gaussian "
                                                      "with --model.gaussian_variance fixed"),
    (dict(likelihood="logistic", binarize="threshold"), "--model.binarize is for --model.likelihood bernoulli"),
    (dict(gaussian_variance="fixed"), "--model.gaussian_variance is for --model.likelihood gaussian, not bernoulli"),
    (dict(likelihood="logistic", gaussian_variance="fixed"), "--model.gaussian_variance is for --model.likelihood "
                                                             "gaussian, not logistic"),
    (dict(min_lr=1e-5), "--model.min_lr is where the cosine decay ends, and --model.decay_steps 0 keeps lr constant"),
    (dict(lr=1e-3, min_lr=1e-2), "--model.min_lr must be between 0 and --model.lr"),
    (dict(decay_steps=-1), "--model.decay_steps must be a non-negative number"),
    (dict(betas=(1.5, 0.9)), r"--model.betas must be two numbers in \[0, 1\)"),
])
def test_config_validation_names_the_option(options, message):
    with pytest.raises(ConfigError, match=message):
        VAEConfig(**options).validate()


def test_iwae_on_beta_vae_names_the_presets_values_the_user_never_typed():
    from genlab.models.vae.config import BetaVAEConfig

    with pytest.raises(ConfigError, match="this config has --model.beta 4.0, --model.kl_warmup_steps 1000; set"):
        BetaVAEConfig(objective="iwae").validate()
    BetaVAEConfig(objective="iwae", beta=1.0, kl_warmup_steps=0).validate()


def test_kl_shaping_under_the_iwae_bound_is_refused_for_training_and_dropped_from_a_saved_model():
    from genlab.config import drop_inapplicable
    from genlab.models.vae.config import BetaVAEConfig

    config = IWAEConfig(beta=4.0, kl_warmup_steps=100, free_bits=0.5)
    with pytest.raises(ConfigError, match="^--model.beta weighs the ELBO's KL term, and --model.objective iwae has no "
                                          "separate KL term; drop it, or set --model.objective elbo.$"):
        config.validate()
    kept, dropped = drop_inapplicable(config)
    assert dropped == {"beta": 4.0, "kl_warmup_steps": 100, "free_bits": 0.5} and kept == IWAEConfig()
    kept.validate()
    # beta_vae's β set to another value: training names every KL option the preset shapes at once, so one fix is
    # enough; the inapplicable() sentence names the neutral value, as dropping β restores the preset's, which
    # validate() then refuses by value
    beta_vae = BetaVAEConfig(objective="iwae", beta=2.0)
    with pytest.raises(ConfigError, match="this config has --model.beta 2.0, --model.kl_warmup_steps 1000; set"):
        beta_vae.validate()
    assert beta_vae.inapplicable()["beta"].endswith("; set it to 1, or set --model.objective elbo.")
    kept, dropped = drop_inapplicable(beta_vae)
    assert dropped == {"beta": 2.0} and kept == BetaVAEConfig(objective="iwae")
    with pytest.raises(ConfigError, match="this config has --model.beta 4.0, --model.kl_warmup_steps 1000; set"):
        kept.validate()


def test_an_iwae_saved_with_kl_shaping_it_never_read_loads_with_a_note(tmp_path, capsys):
    torch.manual_seed(0)
    model = IWAE(IWAEConfig(resolution=28, channels=1, **TINY))
    model.save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    saved = json.loads(path.read_text())
    saved["model"].update({"beta": 4.0, "kl_warmup_steps": 1000})
    path.write_text(json.dumps(saved))
    loaded = GenerativeModel.from_pretrained(tmp_path / "old")
    assert type(loaded) is IWAE and loaded.config == model.config
    note = capsys.readouterr().err
    assert note.startswith(f"genlab: note: {path} sets ") and "--model.beta 4.0" in note
    assert "--model.kl_warmup_steps 1000" in note


@pytest.mark.parametrize("option, value, unread, read", [
    ("gaussian_variance", "fixed", {"likelihood": "categorical"}, {"likelihood": "gaussian"}),
    ("min_lr", 1e-5, {}, {"decay_steps": 100}),
    ("min_lr", 1e-5, {"name": "iwae"}, {"name": "iwae", "decay_steps": 100}),
    ("beta", 4.0, {"name": "iwae"}, {"name": "iwae", "objective": "elbo"}),
    ("kl_warmup_steps", 100, {"objective": "iwae"}, {}),
    ("free_bits", 0.5, {"name": "iwae"}, {"name": "iwae", "objective": "elbo"}),
])
def test_an_option_nothing_reads_is_refused_and_accepted_where_it_is_read(option, value, unread, read):
    with pytest.raises(ConfigError, match=f"^--model.{option} "):
        build_run_config("vae", overrides={"model": {**unread, option: value}})
    build_run_config("vae", overrides={"model": {**read, option: value}})


def test_a_model_saved_with_options_now_refused_as_inapplicable_loads_with_them_ignored(tmp_path, capsys):
    """A Bernoulli VAE at a constant learning rate, saved with a Gaussian's variance and a final
    learning rate it never read: it loads, with a note; training with them is still refused."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(resolution=28, channels=1, **TINY))
    model.save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    saved = json.loads(path.read_text())
    stale = {"gaussian_variance": "fixed", "min_lr": 1e-5}
    saved["model"].update(stale)
    path.write_text(json.dumps(saved))
    loaded = GenerativeModel.from_pretrained(tmp_path / "old")
    assert loaded.config == model.config
    note = capsys.readouterr().err
    assert note.startswith(f'genlab: note: {path} sets --model.gaussian_variance "fixed", --model.min_lr 1e-05, ')
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(loaded.sample(2, generator), model.sample(2, torch.Generator().manual_seed(0)))
    for name, value in stale.items():
        with pytest.raises(ConfigError, match=f"^--model.{name} "):
            build_run_config("vae", overrides={"model": {name: value}})


def test_kl_options_with_beta_0_and_an_infinite_sigma_are_refused():
    with pytest.raises(ConfigError, match=r"^--model.kl_warmup_steps shapes the KL term, and --model.beta 0 leaves it "
                                          r"out of the loss; drop it\.$"):
        VAEConfig(beta=0.0, kl_warmup_steps=10).validate()
    with pytest.raises(ConfigError, match=r"^--model.free_bits shapes the KL term, and --model.beta 0"):
        VAEConfig(beta=0.0, free_bits=0.5).validate()
    VAEConfig(beta=0.0).validate()
    with pytest.raises(ConfigError, match=r"^--model.gaussian_sigma must be a positive number \(got inf\)"):
        VAEConfig(likelihood="gaussian", gaussian_variance="fixed", gaussian_sigma=float("inf")).validate()


def test_the_beta_vae_preset_reaches_its_beta_within_the_default_run():
    config = build_run_config("vae", overrides={"model": {"name": "beta_vae"}})
    assert config.model.kl_warmup_steps < config.train.steps and config.model.beta == 4.0


def test_an_iwae_objective_with_one_sample_is_said_to_be_the_elbo():
    shape = dict(resolution=28, channels=1, **TINY)
    assert "is the single-sample ELBO" in VAE(VAEConfig(objective="iwae", **shape)).setup_notes()[0]
    assert VAE(VAEConfig(objective="iwae", samples=5, **shape)).setup_notes() == []
    assert IWAE(IWAEConfig(**shape)).setup_notes() == []
