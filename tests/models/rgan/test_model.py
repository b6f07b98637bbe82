"""The recurrent GANs: shapes, options, conditioning, export round trip."""

import dataclasses

import pytest
import torch

from genlab.data.sequences import Scaling
from genlab.errors import ConfigError, SampleError
from genlab.models.base import GenerativeModel
from genlab.models.rgan import RCGAN, RecurrentGAN, TimeGAN
from genlab.models.rgan.config import CRNNGANConfig, RCGANConfig, TimeGANConfig
from genlab.models.rgan.networks import RecurrentDiscriminator, RecurrentGenerator

BASE = dict(features=3, seq_len=6, hidden_dim=8, layers=1, noise_dim=2, feature_min=[0.0, -1.0, 10.0],
            feature_max=[1.0, 1.0, 20.0])


def train_steps(model, steps=3, labels=None):
    optimizers = model.configure_optimizers()
    real = torch.rand(8, 6, 3, generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(steps):
        losses = model.training_step({"sequences": real, "labels": labels}, optimizers)
    assert all(torch.isfinite(v) for v in losses.values())
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("generator.") for k in changed) and any(k.startswith("discriminator.") for k in changed)
    return losses


@pytest.mark.parametrize("options", [
    {},
    {"cell": "lstm", "layers": 2, "bidirectional": True, "logits": "sequence"},
    {"attention_layers": 1, "attention_heads": 2, "bidirectional": True},
    {"attention_layers": 1, "attention_heads": 2, "loss": "wasserstein_gp"},  # the penalty's double backward
    {"loss": "wasserstein_gp", "discriminator_steps": 2},
    {"feedback": False, "loss": "hinge", "static_features": 1},
    {"minibatch_std": True, "logits": "sequence", "bidirectional": True},
    {"differences": True, "loss": "wasserstein_gp", "discriminator_steps": 2},
    {"noise": "sequence", "feedback": False, "static_features": 1},
    {"noise": "both", "static_features": 1},
    {"loss": "rsgan", "discriminator_steps": 2},
], ids=["gru", "lstm-bidirectional-sequence", "attention", "attention-wgan-gp", "wgan-gp", "no-feedback-hinge-static",
        "minibatch-std", "differences", "sequence-noise", "both-noises", "rsgan"])
def test_each_variant_trains_and_samples_in_original_units(options):
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**{**BASE, **options}))
    train_steps(model)
    samples = model.sample(5, torch.Generator().manual_seed(1))
    assert samples.shape == (5, 6, 3)
    # Generated on [0, 1] and mapped back: each feature within its training min and max.
    low, high = torch.tensor(BASE["feature_min"]), torch.tensor(BASE["feature_max"])
    assert ((samples >= low - 1e-5) & (samples <= high + 1e-5)).all()
    assert torch.allclose(Scaling(BASE["feature_min"], BASE["feature_max"]).scale(samples),
                          model.generate(5, torch.Generator().manual_seed(1)).double(), atol=1e-5)
    expected_logits = (8, 1) if options.get("logits") == "sequence" else (8, 6)
    assert model.discriminator(torch.rand(8, 6, 3)).shape == expected_logits


def test_generator_feeds_back_its_previous_output_and_attention_is_causal():
    config = CRNNGANConfig(**BASE, attention_layers=1, attention_heads=2)
    torch.manual_seed(0)
    generator = RecurrentGenerator(config, 0).eval()
    noise = torch.randn(2, 6, 2)
    changed = noise.clone()
    changed[:, 3] += 1.0  # new noise at step 3 changes steps 3.. only
    a, b = generator(noise), generator(changed)
    assert torch.equal(a[:, :3], b[:, :3]) and not torch.allclose(a[:, 3:], b[:, 3:])
    # The first recurrent input holds the noise and zeros in place of a previous output.
    assert generator.rnn.input_size == config.noise_dim + config.features


def test_without_feedback_the_recurrence_reads_noise_only_and_stays_causal():
    config = CRNNGANConfig(**BASE, feedback=False)
    torch.manual_seed(0)
    generator = RecurrentGenerator(config, 0).eval()
    assert generator.rnn.input_size == config.noise_dim  # no previous output among the inputs
    noise = torch.randn(2, 6, 2)
    changed = noise.clone()
    changed[:, 3] += 1.0
    a, b = generator(noise), generator(changed)
    assert torch.equal(a[:, :3], b[:, :3]) and not torch.allclose(a[:, 3:], b[:, 3:])
    # The outputs are the read-out of one pass of the recurrence over the noise alone.
    hidden = generator.rnn(noise)[0]
    assert torch.allclose(a, torch.sigmoid(generator.out(hidden)), atol=1e-6)


def test_sequence_noise_is_one_draw_per_sequence_read_at_every_step():
    step_model = RecurrentGAN(CRNNGANConfig(**BASE))
    sequence_model = RecurrentGAN(CRNNGANConfig(**BASE, noise="sequence"))
    per_step = step_model.draw_noise(4, 6, torch.device("cpu"), torch.Generator().manual_seed(3))
    per_sequence = sequence_model.draw_noise(4, 6, torch.device("cpu"), torch.Generator().manual_seed(3))
    assert per_sequence.shape == per_step.shape == (4, 6, 2)
    assert torch.equal(per_sequence, per_sequence[:, :1].expand(-1, 6, -1))  # the same values at every step
    assert torch.equal(per_sequence[:, 0], per_step[:, 0])  # the draw a step-noise sequence starts with
    assert not torch.equal(per_sequence[0, 0], per_sequence[1, 0])  # but each sequence its own
    # Step noise is what it always was (saved models sample as before): N(0, 1), drawn step by step.
    g = torch.Generator().manual_seed(3)
    assert torch.equal(per_step, torch.stack([torch.randn(4, 2, generator=g) for _ in range(6)], dim=1))
    # Both kinds side by side: the per-sequence values first, then the fresh ones.
    both = RecurrentGAN(CRNNGANConfig(**BASE, noise="both", static_features=1))
    mixed = both.draw_noise(4, 6, torch.device("cpu"), torch.Generator().manual_seed(3))
    assert mixed.shape == (4, 6, 4) and torch.equal(mixed[..., :2], per_sequence)
    assert not torch.equal(mixed[:, 1, 2:], mixed[:, 0, 2:])  # the fresh half changes from step to step
    assert both.generate(3).shape == (3, 6, 3) and both.generator.rnn.input_size == 4 + 3  # noise, fed-back output
    with pytest.raises(ConfigError, match="--model.noise"):
        CRNNGANConfig(**BASE, noise="once").validate()


def test_minibatch_spread_tells_a_collapsed_batch_from_a_varied_one():
    x = torch.rand(5, 6, 3, generator=torch.Generator().manual_seed(0))
    spread = RecurrentDiscriminator.batch_spread(x, None)  # (B, T, 1), the same for every sequence
    expected = x.double().std(dim=0, correction=0).mean(dim=-1)  # per step, averaged over features
    assert spread.shape == (5, 6, 1) and torch.allclose(spread[3, :, 0].double(), expected, atol=1e-6)
    collapsed = x[:1].expand(5, -1, -1)
    assert RecurrentDiscriminator.batch_spread(collapsed, None).max() < 1e-3
    # With lengths, only the sequences still valid at a step count there; fewer than two give 0.
    lengths = torch.tensor([6, 6, 4, 2, 2])
    padded = x.clone()
    padded[2, 4:] = padded[3, 2:] = padded[4, 2:] = 100.0  # what padding holds must not matter
    masked = RecurrentDiscriminator.batch_spread(padded, lengths)[0, :, 0]
    assert torch.allclose(masked[:2], RecurrentDiscriminator.batch_spread(x, None)[0, :2, 0], atol=1e-6)
    assert torch.allclose(masked[2:4].double(), x[:3, 2:4].double().std(dim=0, correction=0).mean(-1), atol=1e-6)
    assert torch.allclose(masked[4:].double(), x[:2, 4:].double().std(dim=0, correction=0).mean(-1), atol=1e-6)
    config = CRNNGANConfig(**BASE, minibatch_std=True)
    assert RecurrentDiscriminator(config, 0).rnn.input_size == config.features + 1
    # A collapsed batch still gets a finite gradient through the spread.
    collapsed = collapsed.clone().requires_grad_(True)
    RecurrentDiscriminator(config, 0)(collapsed).mean().backward()
    assert torch.isfinite(collapsed.grad).all()


def test_discriminator_with_differences_reads_each_step_and_its_change():
    torch.manual_seed(0)
    discriminator = RecurrentDiscriminator(CRNNGANConfig(**BASE, differences=True, minibatch_std=True), 0)
    seen = []
    discriminator.rnn.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    x = torch.rand(4, 6, 3)
    discriminator(x)
    inputs = seen[0]
    assert inputs.shape == (4, 6, 3 + 3 + 1)  # x, its change, the batch spread
    assert torch.equal(inputs[..., :3], x)
    assert torch.equal(inputs[:, 0, 3:6], torch.zeros(4, 3))
    assert torch.allclose(inputs[:, 1:, 3:6], x[:, 1:] - x[:, :-1])
    # Padded steps are never read, so only valid steps' changes matter: a change past a sequence's
    # length leaves its logits at valid steps as they were.
    lengths = torch.tensor([6, 3, 4, 6])
    padded = x.clone()
    padded[1, 3:] = 5.0
    assert torch.allclose(discriminator(x, lengths=lengths)[1, :3], discriminator(padded, lengths=lengths)[1, :3])


def test_rcgan_conditions_both_players_on_labels():
    torch.manual_seed(0)
    model = RCGAN(RCGANConfig(**BASE, num_classes=3))
    train_steps(model, labels=torch.arange(8) % 3)
    noise = torch.randn(4, 6, 2)
    assert not torch.allclose(model.generator(noise, torch.zeros(4, dtype=torch.long)),
                              model.generator(noise, torch.ones(4, dtype=torch.long)))
    x = torch.rand(4, 6, 3)
    assert not torch.allclose(model.discriminator(x, torch.zeros(4, dtype=torch.long)),
                              model.discriminator(x, torch.full((4,), 2)))
    assert model.class_labels(5).tolist() == [0, 1, 2, 0, 1]
    assert model.sample(4, label=2).shape == (4, 6, 3)
    with pytest.raises(ConfigError, match="--class 3 is out of range"):
        model.sample(1, label=3)
    with pytest.raises(ConfigError, match=r"^This rcgan is conditional but its data has no labels; use an .npz with "
                                          r"y \(one label per sequence\) or set --model.conditional false.$"):
        model.training_step({"sequences": torch.rand(8, 6, 3), "labels": None}, model.configure_optimizers())
    with pytest.raises(ConfigError, match="needs --model.num_classes"):
        RCGAN(RCGANConfig(**BASE))


def test_export_round_trip_keeps_weights_and_scale(tmp_path):
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**BASE, columns=["a", "b", "c"]))
    train_steps(model, steps=1)
    loaded = GenerativeModel.from_pretrained(model.save_pretrained(tmp_path / "export"))
    assert type(loaded) is RecurrentGAN and loaded.config == model.config
    generator = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert torch.equal(loaded.sample(4, generator()), model.eval().sample(4, generator()))


@pytest.mark.parametrize("family", ["crnngan", "timegan"])
def test_a_generator_drawing_nan_is_refused_not_written_as_padding(tmp_path, family):
    if family == "timegan":
        model = TimeGAN(TimeGANConfig(features=3, seq_len=6, hidden_dim=6, layers=2))
        broken = model.recovery  # the last network x̂ passes through
    else:
        model = RecurrentGAN(CRNNGANConfig(**BASE))
        broken = model.generator
    with torch.no_grad():
        next(broken.parameters()).fill_(float("nan"))
    with pytest.raises(SampleError, match="drew 5 of 5 sequences with NaN or infinite values"):
        model.sample(5, torch.Generator().manual_seed(1))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("labels", [[0, 3], [-1, 2]])
def test_generating_for_labels_outside_the_classes_is_refused_with_the_range(labels):
    model = RCGAN(RCGANConfig(**BASE, num_classes=3))
    with pytest.raises(ConfigError, match=f"Class labels {min(labels)} to {max(labels)} are outside this model's "
                                          "classes 0 to 2"):
        model.generate(2, labels=torch.tensor(labels))
    assert model.generate(2, labels=torch.tensor([0, 2])).shape == (2, 6, 3)


def test_ema_generator_averages_each_update_and_is_what_samples_come_from(tmp_path):
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**BASE, ema_decay=0.75))
    average = {k: v.clone() for k, v in model.generator_ema.state_dict().items()}
    assert all(torch.equal(v, model.generator.state_dict()[k]) for k, v in average.items())  # starts as G
    for t in (1, 2):  # bias-corrected: update t moves the average (1 − 0.75) / (1 − 0.75^t) of the way
        train_steps(model, steps=1)
        current = model.generator.state_dict()
        weight = 0.25 / (1 - 0.75 ** t)  # 1 at the first update: the initial weights drop out
        average = {k: (1 - weight) * v + weight * current[k] for k, v in average.items()}
        for k, v in model.generator_ema.state_dict().items():
            torch.testing.assert_close(v, average[k])
    assert not all(torch.equal(v, current[k]) for k, v in average.items())
    assert not any(p.requires_grad for p in model.generator_ema.parameters())
    noise = model.draw_noise(4, 6, torch.device("cpu"), torch.Generator().manual_seed(2))
    with torch.no_grad():
        from_average = model.generator_ema.eval()(noise)
    assert torch.equal(model.generate(4, torch.Generator().manual_seed(2)), from_average)
    loaded = GenerativeModel.from_pretrained(model.save_pretrained(tmp_path / "export"))
    assert torch.equal(loaded.generate(4, torch.Generator().manual_seed(2)), from_average)


def test_config_errors_name_the_option():
    with pytest.raises(ConfigError, match="--model.hidden_dim 10 must be divisible by --model.attention_heads 4"):
        CRNNGANConfig(**{**BASE, "hidden_dim": 10}, attention_layers=1).validate()
    with pytest.raises(ConfigError, match="feature_min has 3 values for 4 features"):
        dataclasses.replace(CRNNGANConfig(**BASE), features=4).validate()
    with pytest.raises(ConfigError, match="needs --model.features and --model.seq_len"):
        RecurrentGAN(CRNNGANConfig())
    with pytest.raises(ConfigError, match=r"--model.betas must be two numbers in \[0, 1\)"):
        CRNNGANConfig(**BASE, betas=(0.9, 1.0)).validate()
    with pytest.raises(ConfigError, match=r"--model.ema_decay must be in \[0, 1\) \(got 1.0\)"):
        CRNNGANConfig(**BASE, ema_decay=1.0).validate()
    with pytest.raises(ConfigError, match="--model.ema_decay does not apply to timegan"):
        TimeGANConfig(**BASE, ema_decay=0.9).validate()


def test_decay_steps_anneal_both_players_to_zero():
    model = RecurrentGAN(CRNNGANConfig(**BASE, lr_generator=1e-3, lr_discriminator=4e-3, decay_steps=10))
    optimizers = model.configure_optimizers()
    rates = []
    for step in (0, 5, 10, 20):
        model.on_train_step(step, optimizers)
        rates.append([optimizers[p].param_groups[0]["lr"] for p in ("generator", "discriminator")])
    assert rates[0] == [1e-3, 4e-3]
    assert rates[1] == pytest.approx([0.5e-3, 2e-3])  # half-way down the cosine
    assert rates[2] == rates[3] == [0.0, 0.0]


def test_timegan_decay_covers_the_joint_phase_only():
    from genlab.models.rgan import TimeGAN, TimeGANConfig

    config = TimeGANConfig(features=3, seq_len=6, hidden_dim=6, layers=2, autoencoder_steps=4, supervised_steps=2,
                           lr_generator=1e-3, lr_discriminator=2e-3, decay_steps=16)
    model = TimeGAN(config)
    optimizers = model.configure_optimizers()
    rates = {}
    for step in (0, 5, 6, 11, 16):
        model.on_train_step(step, optimizers)
        rates[step] = {name: optimizer.param_groups[0]["lr"] for name, optimizer in optimizers.items()}
    joint = ("generator", "embedder", "discriminator")
    assert [rates[5][name] for name in joint] == [1e-3, 1e-3, 2e-3]  # untouched before the joint phase
    assert [rates[6][name] for name in joint] == [1e-3, 1e-3, 2e-3]  # its first step: the full rates
    assert [rates[11][name] for name in joint] == pytest.approx([0.5e-3, 0.5e-3, 1e-3])  # half-way (5 of 10 steps)
    assert [rates[16][name] for name in joint] == [0.0, 0.0, 0.0]
    assert rates[16]["autoencoder"] == rates[16]["supervised"] == 1e-3  # the earlier phases' own optimizers
    with pytest.raises(ConfigError, match="--model.decay_steps 6 ends before timegan's joint phase begins"):
        dataclasses.replace(config, decay_steps=6).validate()


def test_timegan_trains_through_its_three_phases_by_step_count():
    from genlab.models.rgan import TimeGAN, TimeGANConfig

    torch.manual_seed(0)
    model = TimeGAN(TimeGANConfig(features=3, seq_len=6, hidden_dim=6, layers=2, autoencoder_steps=2,
                                  supervised_steps=1))
    optimizers = model.configure_optimizers()
    real = {"sequences": torch.rand(8, 6, 3, generator=torch.Generator().manual_seed(0)), "labels": None}
    logged, phases = [], []
    for step in range(5):
        model.on_train_step(step, optimizers)
        phases.append(model.phase)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        logged.append(set(model.training_step(real, optimizers)))
        changed = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
        if phases[-1] == "autoencoder":
            assert changed == {"embedder", "recovery"}
        elif phases[-1] == "supervised":
            assert changed == {"supervisor"}  # G gets no gradient from L_S, as in the reference
        else:
            assert {"generator", "supervisor", "embedder", "recovery"} <= changed
    assert phases == ["autoencoder", "autoencoder", "supervised", "joint", "joint"]
    assert logged[0] == {"loss_reconstruction"} and logged[2] == {"loss_supervised"}
    assert {"loss_generator", "loss_discriminator", "loss_moments"} <= logged[4]
    assert model.sample(4).shape == (4, 6, 3)
    # A hand-written loop that never calls on_train_step moves through the same phases.
    model = TimeGAN(model.config)
    optimizers = model.configure_optimizers()
    phases = []
    for _ in range(5):
        phases.append(model.phase)
        model.training_step(real, optimizers)
    assert phases == ["autoencoder", "autoencoder", "supervised", "joint", "joint"]
    with pytest.raises(ConfigError, match="--model.bidirectional does not apply to timegan"):
        TimeGANConfig(bidirectional=True).validate()


def padded_batch(padding: float) -> dict:
    """8 sequences of 6 steps × 3 features with lengths 2..6 and ``padding`` in every step past them."""
    lengths = torch.tensor([6, 2, 3, 6, 4, 5, 2, 6])
    mask = torch.arange(6) < lengths[:, None]
    x = torch.rand(8, 6, 3, generator=torch.Generator().manual_seed(0)).masked_fill(~mask[..., None], padding)
    return {"sequences": x, "labels": None, "lengths": lengths, "mask": mask}


def trained_on_padding(model_class, config, padding, steps):
    """Losses and weights after ``steps`` training steps on padded_batch(padding), from fixed seeds."""
    torch.manual_seed(0)
    model = model_class(config)
    optimizers = model.configure_optimizers()
    torch.manual_seed(1)
    for step in range(steps):
        model.on_train_step(step, optimizers)
        losses = model.training_step(padded_batch(padding), optimizers)
    return losses, model.state_dict()


@pytest.mark.parametrize("options", [
    {},
    {"cell": "lstm", "layers": 2, "bidirectional": True, "logits": "sequence"},
    {"attention_layers": 1, "attention_heads": 2, "bidirectional": True},
    {"attention_layers": 1, "attention_heads": 2, "loss": "wasserstein_gp"},  # the penalty's double backward
    {"loss": "wasserstein_gp", "discriminator_steps": 2},
    {"feedback": False, "loss": "hinge", "static_features": 1},
    {"minibatch_std": True, "logits": "sequence", "bidirectional": True},
    {"loss": "rsgan", "discriminator_steps": 2},
    {"loss": "wasserstein_gp", "differences": True, "sobolev": 4.0},
], ids=["gru", "lstm-bidirectional-sequence", "attention", "attention-wgan-gp", "wgan-gp", "no-feedback-hinge-static",
        "minibatch-std", "rsgan", "sobolev"])
def test_padded_steps_change_no_gan_loss_and_no_update(options):
    config = CRNNGANConfig(**{**BASE, **options})
    zeros, zero_state = trained_on_padding(RecurrentGAN, config, 0.0, 2)
    junk, junk_state = trained_on_padding(RecurrentGAN, config, 123.0, 2)
    assert all(torch.equal(zeros[k], junk[k]) for k in zeros)
    assert all(torch.equal(zero_state[k], junk_state[k]) for k in zero_state)


def test_padded_steps_change_no_timegan_loss_in_any_phase():
    from genlab.models.rgan import TimeGAN, TimeGANConfig

    config = TimeGANConfig(features=3, seq_len=6, hidden_dim=6, layers=2, autoencoder_steps=1, supervised_steps=1)
    for steps in (1, 2, 4):  # the last step in the autoencoder, supervised and joint phase
        zeros, zero_state = trained_on_padding(TimeGAN, config, 0.0, steps)
        junk, junk_state = trained_on_padding(TimeGAN, config, -7.0, steps)
        assert all(torch.equal(zeros[k], junk[k]) for k in zeros)
        assert all(torch.equal(zero_state[k], junk_state[k]) for k in zero_state)
    assert {"loss_moments", "loss_discriminator", "loss_supervised"} <= zeros.keys()


def test_variable_length_samples_follow_the_training_lengths_and_files_keep_valid_steps(tmp_path):
    from genlab.data.sequences import SequenceDataConfig, load_sequences

    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**BASE, length_counts=[0, 0, 3, 0, 1, 0]))  # lengths 3 (75 %) and 5
    samples = model.sample(400, torch.Generator().manual_seed(0))
    valid = ~samples.isnan().all(-1)
    lengths = valid.sum(1)
    assert samples.shape == (400, 6, 3) and set(lengths.tolist()) == {3, 5}
    assert 0.65 < (lengths == 3).double().mean() < 0.85
    assert torch.equal(valid, torch.arange(6) < lengths[:, None]) and samples[valid].isfinite().all()
    rows = (tmp_path / "s.csv")
    model.save_samples(samples[:10], rows)
    assert len(rows.read_text().splitlines()) == 1 + int(lengths[:10].sum())
    saved = load_sequences(SequenceDataConfig(path=str(model.save_samples(samples[:10], tmp_path / "s.npz"))),
                           model.scaling)[0]
    assert torch.equal(saved.lengths, lengths[:10])
    assert torch.allclose(saved.sequences[valid[:10]], model.scaling.scale(samples[:10][valid[:10]]).float(), atol=1e-5)
    model.save_samples(samples[:8], tmp_path / "s.png")  # the plot stops each line at its sequence's end
    # Fixed-length data stays on the fast path: no lengths drawn, no NaN.
    fixed = RecurrentGAN(CRNNGANConfig(**BASE))
    assert fixed.draw_lengths(4) is None and fixed.sample(4).isfinite().all()


@pytest.mark.parametrize("options", [
    {},
    {"cell": "lstm", "layers": 2, "bidirectional": True, "logits": "sequence"},
    {"bidirectional": True},
    {"attention_layers": 1, "attention_heads": 2, "bidirectional": True},
], ids=["gru", "lstm-bidirectional-sequence", "bidirectional-per-step", "attention"])
def test_padded_steps_are_left_out_of_the_counted_logits(options):
    """Sequences of 3 valid steps padded to 6 get the logits of the same 3 steps given alone."""
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**{**BASE, **options}))
    x = torch.rand(4, 6, 3)
    padded = model.counted_logits(model.discriminator, x, None, torch.full((4,), 3))
    alone = model.counted_logits(model.discriminator, x[:, :3], None, None)
    assert torch.allclose(padded.flatten(), alone.flatten(), atol=1e-6)


@pytest.mark.parametrize("name", ["crnngan", "crnngan-attention", "crnngan-variable-lengths", "crnngan-no-feedback",
                                  "crnngan-sequence-noise", "crnngan-both-noises", "timegan", "timegan-sequence-noise",
                                  "timegan-both-noises"])
def test_long_series_continue_the_window_of_the_same_seed(name):
    from genlab.models.rgan.config import TimeGANConfig
    from genlab.models.rgan.timegan import TimeGAN

    torch.manual_seed(0)
    if name.startswith("timegan"):
        noise = {"timegan-sequence-noise": {"noise": "sequence", "noise_dim": 4},
                 "timegan-both-noises": {"noise": "both", "noise_dim": 4}}.get(name, {})
        model = TimeGAN(TimeGANConfig(**{**{k: v for k, v in BASE.items() if k != "noise_dim"}, "layers": 2, **noise}))
    else:
        extra = {"crnngan-attention": {"attention_layers": 1, "attention_heads": 2},
                 "crnngan-variable-lengths": {"length_counts": [0, 0, 0, 5, 0, 5]},
                 "crnngan-no-feedback": {"feedback": False},
                 "crnngan-sequence-noise": {"noise": "sequence", "feedback": False},
                 "crnngan-both-noises": {"noise": "both"}}.get(name, {})
        model = RecurrentGAN(CRNNGANConfig(**BASE, **extra))
    window = model.sample(3, torch.Generator().manual_seed(4))
    long = model.sample(3, torch.Generator().manual_seed(4), steps=40)
    assert window.shape == (3, 6, 3) and long.shape == (3, 40, 3)
    # Causal generators and step-major noise: the long series begins with the window (its valid steps).
    valid = ~window.isnan().all(-1)
    assert torch.allclose(long[:, :6][valid], window[valid], atol=1e-5) and not long.isnan().any()
    low, high = torch.tensor(BASE["feature_min"]), torch.tensor(BASE["feature_max"])
    assert ((long >= low - 1e-5) & (long <= high + 1e-5)).all()
    assert not torch.allclose(long[:, 6:12], long[:, :6])  # it goes on, it does not repeat


def test_timegan_sequence_noise_is_drawn_once_and_read_at_every_step():
    from genlab.models.rgan import TimeGAN, TimeGANConfig

    torch.manual_seed(0)
    config = TimeGANConfig(features=3, seq_len=6, hidden_dim=6, layers=2, noise="sequence", noise_dim=5)
    model = TimeGAN(config)
    seen = []
    model.generator.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    model.sample(4, torch.Generator().manual_seed(0))
    z = seen[-1]
    assert z.shape == (4, 6, 5) and torch.equal(z, z[:, :1].expand(-1, 6, -1))  # one draw per sequence
    assert not torch.equal(z[0], z[1]) and 0 <= z.min() and z.max() < 1
    reference = TimeGAN(dataclasses.replace(config, noise="step"))  # F fresh values at every step
    reference.generator.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    reference.sample(4, torch.Generator().manual_seed(0))
    assert seen[-1].shape == (4, 6, 3) and not torch.equal(seen[-1][:, 0], seen[-1][:, 1])
    # The reference's U(0, 1)^(T×F), drawn step by step: what saved models have always been sampled with.
    g = torch.Generator().manual_seed(0)
    expected = torch.stack([torch.rand(4, 3, generator=g) for _ in range(6)], dim=1)
    assert torch.equal(reference.draw_noise(4, 6, torch.device("cpu"), torch.Generator().manual_seed(0)), expected)
    both = TimeGAN(dataclasses.replace(config, noise="both"))  # noise_dim once per sequence, then F fresh
    assert both.generator.rnn.input_size == 5 + 3
    z = both.draw_noise(4, 6, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert torch.equal(z[..., :5], z[:, :1, :5].expand(-1, 6, -1)) and not torch.equal(z[:, 0, 5:], z[:, 1, 5:])
    with pytest.raises(ConfigError, match="--model.noise must be step, sequence or both"):
        dataclasses.replace(config, noise="once").validate()


def test_static_features_are_drawn_once_per_sequence_and_trained():
    torch.manual_seed(0)
    config = CRNNGANConfig(**{**BASE, "static_features": 1})  # the last of the 3 features is static
    model = RecurrentGAN(config)
    real = torch.rand(8, 6, 3, generator=torch.Generator().manual_seed(0))
    real[..., 2] = real[:, :1, 2]  # constant over each sequence, as the data loader makes it
    before = {k: v.clone() for k, v in model.generator.static.state_dict().items()}
    optimizers = model.configure_optimizers()
    for _ in range(3):
        model.training_step({"sequences": real}, optimizers)
    assert any(not torch.equal(v, before[k]) for k, v in model.generator.static.state_dict().items())
    samples = model.generate(5, torch.Generator().manual_seed(1), steps=12)
    assert samples.shape == (5, 12, 3)
    assert (samples[..., 2] == samples[:, :1, 2]).all()  # held at every step, --long included
    assert samples[:, 0, 2].std() > 0  # but drawn per sequence


def test_a_conditional_models_static_features_depend_on_the_class(tmp_path):
    """Attributes may differ by class (a diagnosis and a patient's age): the static MLP reads the label."""
    torch.manual_seed(0)
    model = RCGAN(RCGANConfig(**{**BASE, "static_features": 1}, num_classes=3))
    draws = [model.generate(4, torch.Generator().manual_seed(1), labels=torch.full((4,), k))[:, 0, 2]
             for k in range(3)]  # the same noise, three classes
    assert not torch.allclose(draws[0], draws[1]) and not torch.allclose(draws[1], draws[2])
    # One saved before (its static MLP read the noise only) is named as such, not as another config's.
    from safetensors.torch import save_file

    from genlab.errors import WeightsMismatchError
    from genlab.models.base import load_weights

    state = {key: value.clone() for key, value in model.state_dict().items()}
    state["generator.static.0.weight"] = state["generator.static.0.weight"][:, :-model.generator.label.dim].clone()
    save_file(state, str(tmp_path / "old.safetensors"))
    with pytest.raises(WeightsMismatchError, match="was saved by an earlier genlab: until 5 December a conditional "
                                                   "model drew its static features from noise alone"):
        load_weights(model, tmp_path / "old.safetensors")


@pytest.mark.parametrize("logits", ["per_step", "sequence"])
def test_gradient_penalty_critic_is_the_per_sequence_score_the_loss_averages(logits, monkeypatch):
    """WGAN-GP holds ‖∇ₓD(x)‖ at 1 for D(x) the critic's value of one sequence: with per-step logits
    their mean over the valid steps (not their sum, whose gradient is T times larger)."""
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**{**BASE, "logits": logits, "loss": "wasserstein_gp"}))
    x = torch.rand(4, 6, 3)
    per_sequence = model.discriminator(x).mean(1)  # (B,): one logit, or the mean of the 6 per-step ones
    assert torch.allclose(model.sequence_scores(x, None, None), per_sequence, atol=1e-6)
    lengths = torch.tensor([6, 3, 4, 2])
    padded = model.sequence_scores(x, None, lengths)
    alone = torch.stack([model.sequence_scores(x[i:i + 1, :n], None, None)[0] for i, n in enumerate(lengths)])
    assert torch.allclose(padded, alone, atol=1e-6)
    # And it is that critic the discriminator's update hands to the penalty.
    critics = []

    def recording_penalty(critic, real, fake, dual_norm=None):
        assert dual_norm is None  # the Euclidean norm unless --model.sobolev
        critics.append(critic(real).detach())
        return real.new_zeros(())

    monkeypatch.setattr("genlab.models.rgan.model.gradient_penalty", recording_penalty)
    fake = torch.rand(4, 6, 3)
    model._discriminator_update(x, fake, None, None, torch.optim.SGD(model.discriminator.parameters(), lr=0.0))
    assert len(critics) == 1 and torch.allclose(critics[0], per_sequence, atol=1e-6)


def test_sines_are_scaled_for_training_and_scored_in_their_own_units():
    """As the TimeGAN code does: its model sees the sines min-max scaled, its scores see them as drawn."""
    from genlab.data.sequences import SequenceDataConfig, sines
    from genlab.models.rgan import FAMILY
    from genlab.models.rgan.evaluation import scoring_axis

    data = SequenceDataConfig(sines=50, sines_features=3, window=6)
    dataset, config = FAMILY.build_data(data, CRNNGANConfig(hidden_dim=8, layers=1, noise_dim=2))
    drawn = torch.from_numpy(sines(50, 6, 3, seed=0)).float()
    assert min(config.feature_min) > 0.45 and config.trained_on_sines  # the sines span about [0.5, 1]
    assert dataset.sequences.amin() == 0 and dataset.sequences.amax() == pytest.approx(1, abs=1e-5)
    model = RecurrentGAN(config)
    real, synthetic, axis = scoring_axis(model, dataset.sequences, model.generate(50))
    assert torch.allclose(real, drawn, atol=1e-5) and "own units" in axis
    assert (synthetic >= torch.tensor(config.feature_min) - 1e-5).all()
    on_csv = dataclasses.replace(config, columns=["a", "b", "c"])
    assert scoring_axis(RecurrentGAN(on_csv), dataset.sequences, synthetic)[0] is dataset.sequences


def test_whitening_decorrelates_the_steps_and_maps_back_even_with_tied_columns():
    from genlab.models.rgan.whitening import FLOOR, Whitening, fit_whitening

    g = torch.Generator().manual_seed(0)
    level = 0.99 * torch.rand(40, 6, 1, generator=g)
    # two columns identical (as a stock's close and adjusted close), one near them, one independent
    x = torch.cat([level, level, level + 0.01 * torch.rand(40, 6, 1, generator=g), torch.rand(40, 6, 1, generator=g)],
                  dim=-1)
    mean, basis = fit_whitening(x)
    whitening = Whitening(mean, basis)
    z = whitening.whiten(x).reshape(-1, 4).double()
    assert torch.isfinite(z).all()
    torch.testing.assert_close(whitening.unwhiten(whitening.whiten(x)), x, atol=1e-5, rtol=0)
    torch.testing.assert_close(z.mean(0), torch.zeros(4, dtype=torch.double), atol=1e-4, rtol=0)
    covariance = torch.cov(z.T)
    # unit variance in every direction the data moves in; the floored one (the tied pair) far below it
    variances = covariance.diagonal().sort().values
    torch.testing.assert_close(variances[1:], torch.ones(3, dtype=torch.double), atol=1e-3, rtol=0)
    assert variances[0] < 1e-6
    torch.testing.assert_close(covariance - covariance.diagonal().diag(), torch.zeros(4, 4, dtype=torch.double),
                               atol=1e-3, rtol=0)
    # a unit step along the floored direction moves the tied columns apart by only FLOOR of the largest spread
    largest = max(float(torch.tensor(row).norm()) for row in basis)
    smallest = min(float(torch.tensor(row).norm()) for row in basis)
    assert smallest == pytest.approx(FLOOR * largest, rel=1e-4)
    # padded steps (past lengths) do not count
    padded = x.clone()
    padded[:, 4:] = 5.0
    fitted, expected = fit_whitening(padded, torch.full((40,), 4)), fit_whitening(x[:, :4])
    torch.testing.assert_close(torch.tensor(fitted[0]), torch.tensor(expected[0]))
    torch.testing.assert_close(torch.tensor(fitted[1]), torch.tensor(expected[1]))
    # in fp32 under autocast too: bf16 would blur the floored direction the whitening exists to show
    with torch.autocast("cpu", torch.bfloat16):
        under_autocast = whitening.whiten(x)
    assert under_autocast.dtype == torch.float32 and torch.equal(under_autocast, whitening.whiten(x))


def test_whitening_fit_in_chunks_matches_one_pass(monkeypatch):
    from genlab.models.rgan import whitening as whitening_module
    from genlab.models.rgan.whitening import fit_whitening

    g = torch.Generator().manual_seed(3)
    x = torch.rand(23, 5, 3, generator=g)
    lengths = torch.randint(1, 6, (23,), generator=g)
    steps = x[torch.arange(5) < lengths[:, None]].double()  # the valid steps, counted directly
    monkeypatch.setattr(whitening_module, "CHUNK", 4)  # 23 sequences: five full chunks and a partial one
    mean, basis = fit_whitening(x, lengths)
    torch.testing.assert_close(torch.tensor(mean, dtype=torch.double), steps.mean(0))
    # basis.T @ basis is the covariance (no direction floored in random data)
    basis64 = torch.tensor(basis, dtype=torch.double)
    torch.testing.assert_close(basis64.T @ basis64, torch.cov(steps.T))


def test_whitened_model_trains_in_whitened_space_and_samples_in_original_units(tmp_path):
    from genlab.data.sequences import SequenceDataConfig
    from genlab.models.rgan import FAMILY

    data = SequenceDataConfig(sines=40, sines_features=3, window=6)
    dataset, config = FAMILY.build_data(data, CRNNGANConfig(hidden_dim=8, layers=1, noise_dim=2, whiten=True,
                                                            loss="wasserstein_gp"))
    assert len(config.whitening_mean) == 3 and len(config.whitening_basis) == 3
    torch.manual_seed(0)
    model = RecurrentGAN(config)
    seen = []
    model.discriminator.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach()))
    model.training_step(dataset.get_batch(torch.arange(16), torch.device("cpu")), model.configure_optimizers())
    torch.testing.assert_close(seen[0], model.whitening.whiten(dataset.sequences[:16]))  # D reads whitened reals
    noise = model.draw_noise(5, 6, torch.device("cpu"), torch.Generator().manual_seed(1))
    with torch.no_grad():
        raw = model.generator.eval()(noise)
    assert isinstance(model.generator.squash, torch.nn.Identity)  # whitened coordinates are not squashed
    generated = model.generate(5, torch.Generator().manual_seed(1))
    torch.testing.assert_close(generated, model.whitening.unwhiten(raw))
    samples = model.sample(5, torch.Generator().manual_seed(1))
    low, high = torch.tensor(config.feature_min), torch.tensor(config.feature_max)
    assert ((samples >= low - 1e-5) & (samples <= high + 1e-5)).all()
    loaded = GenerativeModel.from_pretrained(model.save_pretrained(tmp_path / "export"))
    assert torch.equal(loaded.generate(5, torch.Generator().manual_seed(1)), generated)
    # resuming keeps the whitening the run began with, even on other data
    _, resumed = FAMILY.build_data(SequenceDataConfig(sines=40, sines_features=3, window=6, seed=5), config)
    assert resumed.whitening_basis == config.whitening_basis


def test_whitening_errors_name_the_option():
    with pytest.raises(ConfigError, match="--model.whiten cannot mix static features"):
        CRNNGANConfig(**BASE, whiten=True, static_features=1).validate()
    with pytest.raises(ConfigError, match=r"--model.whitening_mean \(3 values\) and --model.whitening_basis "
                                          r"\(missing\) must be given together"):
        CRNNGANConfig(**BASE, whiten=True, whitening_mean=[0.0, 0.0, 0.0]).validate()
    with pytest.raises(ConfigError, match=r"F × F with F the number of features \(3\)"):
        CRNNGANConfig(**BASE, whiten=True, whitening_mean=[0.0, 0.0],
                      whitening_basis=[[1.0, 0.0], [0.0, 1.0]]).validate()
    with pytest.raises(ConfigError, match="belong to a model with --model.whiten true"):
        CRNNGANConfig(**BASE, whitening_mean=[0.0, 0.0, 0.0], whitening_basis=[[1.0] * 3] * 3).validate()
    with pytest.raises(ConfigError, match="--model.whitening_basis is not an invertible matrix"):
        RecurrentGAN(CRNNGANConfig(**BASE, whiten=True, whitening_mean=[0.0] * 3, whitening_basis=[[1.0] * 3] * 3))
    with pytest.raises(ConfigError, match="has --model.whiten but no whitening"):
        RecurrentGAN(CRNNGANConfig(**BASE, whiten=True))
    with pytest.raises(ConfigError, match="--model.whiten does not apply to timegan"):
        TimeGANConfig(**BASE, whiten=True).validate()


def test_wgan_gp_logs_the_critic_loss_and_its_gradient_penalty_apart():
    """loss_discriminator is the adversarial loss alone (E[D(fake)] - E[D(real)] with sequence logits);
    the penalty, unweighted, is penalty_gradient."""
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**{**BASE, "loss": "wasserstein_gp", "logits": "sequence"}))
    logged = model.training_step({"sequences": torch.rand(8, 6, 3), "labels": None}, model.configure_optimizers())
    assert torch.allclose(logged["loss_discriminator"], logged["d_fake_logit"] - logged["d_real_logit"], atol=1e-6)
    assert logged["penalty_gradient"] > 0
    plain = RecurrentGAN(CRNNGANConfig(**BASE))
    assert "penalty_gradient" not in plain.training_step({"sequences": torch.rand(8, 6, 3), "labels": None},
                                                         plain.configure_optimizers())


def test_variable_length_wasserstein_loss_weights_each_sequence_alike_as_its_penalty_does():
    """Under WGAN-GP the loss reads the same critic the penalty holds at norm 1: each sequence's
    per-step logits averaged over its valid steps, not every valid step pooled (which would weight a
    sequence by its length)."""
    torch.manual_seed(0)
    model = RecurrentGAN(CRNNGANConfig(**{**BASE, "loss": "wasserstein_gp"}))
    x, lengths = torch.rand(4, 6, 3), torch.tensor([6, 2, 4, 3])
    counted = model.counted_logits(model.discriminator, x, None, lengths)
    assert torch.allclose(counted, model.sequence_scores(x, None, lengths), atol=1e-6)
    pooled = RecurrentGAN(CRNNGANConfig(**BASE))  # a classification loss: one term per valid step
    assert pooled.counted_logits(pooled.discriminator, x, None, lengths).shape == (int(lengths.sum()),)


@pytest.mark.parametrize("option, value, condition", [
    ("gradient_penalty", 5.0, "--model.loss wasserstein_gp"),
    ("sobolev", 4.0, "--model.loss wasserstein_gp"),
    ("label_dim", 4, "--model.conditional true"),
    ("attention_heads", 2, "--model.attention_layers 1 or more"),
])
def test_an_option_whose_condition_is_off_is_refused_not_ignored(option, value, condition):
    with pytest.raises(ConfigError, match=f"--model.{option} applies only with {condition}"):
        CRNNGANConfig(**{option: value}).validate()
    with pytest.raises(ConfigError, match=f"--model.{option} does not apply to timegan"):
        TimeGANConfig(**{option: value}).validate()


def test_an_unread_option_is_refused_before_any_check_of_its_range():
    """"Drop it" is the advice for an option nothing reads, not a range it need not meet."""
    with pytest.raises(ConfigError, match="--model.label_dim applies only with --model.conditional true"):
        CRNNGANConfig(label_dim=0).validate()
    with pytest.raises(ConfigError, match="--model.ema_decay does not apply to timegan"):
        TimeGANConfig(ema_decay=2.0).validate()


def test_timegan_refuses_a_class_count_it_cannot_use_without_advising_conditional():
    with pytest.raises(ConfigError, match="--model.num_classes does not apply to timegan"):
        TimeGANConfig(num_classes=3).validate()


def test_timegan_refuses_a_noise_size_its_per_step_noise_does_not_read():
    with pytest.raises(ConfigError, match="--model.noise_dim sizes timegan's per-sequence noise"):
        TimeGANConfig(noise_dim=4).validate()
    TimeGANConfig(noise="sequence", noise_dim=4).validate()
    CRNNGANConfig(noise_dim=4).validate()  # crnngan's per-step noise has noise_dim values


def test_a_stored_config_drops_inapplicable_options_until_none_is_left_and_marks_an_unrecorded_data_seed():
    """Resetting a timegan's stale ``conditional`` leaves its ``num_classes`` unread too: both go."""
    from genlab.config import from_stored

    stored = {**{k: v for k, v in BASE.items() if k != "noise_dim"}, "layers": 2, "conditional": True,
              "num_classes": 3, "label_dim": 4, "data_seed": 2}
    config, ignored = from_stored(TimeGANConfig, stored, "model")
    assert ignored == {"conditional": True, "label_dim": 4, "num_classes": 3}
    assert (config.conditional, config.num_classes, config.label_dim, config.data_seed) == (False, None, 8, 2)
    config, ignored = from_stored(CRNNGANConfig, BASE, "model")  # saved before data_seed existed
    assert ignored == {} and config.data_seed is None and CRNNGANConfig(**BASE).data_seed == 0
    with pytest.raises(ConfigError, match="--model.conditional does not apply to timegan"):
        TimeGANConfig(**stored).validate()


def test_samples_keep_the_digits_of_a_column_far_from_zero():
    """float32 steps by 8 near 1e8: a column spanning 1e8 .. 1e8 + 5 would come back as one value."""
    model = RecurrentGAN(CRNNGANConfig(**{**BASE, "features": 2, "feature_min": [123456789.0, 1e8],
                                          "feature_max": [123456789.0, 1e8 + 5]}))
    samples = model.sample(16, torch.Generator().manual_seed(0))
    assert samples.dtype == torch.float64 and ((samples[..., 0] - 123456789.0).abs() <= 1e-6).all()
    assert len(samples[..., 1].unique()) > 1 and ((samples[..., 1] >= 1e8) & (samples[..., 1] <= 1e8 + 5)).all()


@pytest.mark.parametrize("model_class, config_class", [(RecurrentGAN, CRNNGANConfig), (TimeGAN, TimeGANConfig)])
def test_eval_scores_the_same_sequences_at_any_batch_size(model_class, config_class, monkeypatch):
    from genlab.config import EvalOptions
    from genlab.models.rgan import evaluation

    torch.manual_seed(0)
    sines = {"feature_min": None, "feature_max": None, "columns": [f"sine_{i}" for i in range(3)]}
    options = {**BASE, "layers": 2, **sines}  # a sines model: scored on fresh sines
    if config_class is TimeGANConfig:
        del options["noise_dim"]  # its step noise is one value per feature
    config = config_class(**options)
    config.validate()
    model = model_class(config)
    seen = []

    def capture(real, synthetic, **kwargs):
        seen.append(synthetic)
        raise StopIteration  # the scores themselves are not what this test is about

    monkeypatch.setattr(evaluation, "timeseries_scores", capture)
    for batch_size in (7, 256):
        with pytest.raises(StopIteration):
            evaluation.evaluate_sequences(model, EvalOptions(batch_size=batch_size, max_examples=40))
    assert seen[0].shape == (40, 6, 3)
    assert torch.allclose(seen[0], seen[1], atol=1e-5)  # the same noise (up to float rounding of other batchings)
