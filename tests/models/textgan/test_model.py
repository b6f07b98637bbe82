"""textgan models: data and tokens, the generators' two modes, the Gumbel-softmax and policy-gradient updates."""

import json
import math

import numpy as np
import pytest
import torch

from genlab.data.sentences import SentenceDataConfig
from genlab.errors import ConfigError, DataError
from genlab.models.base import GenerativeModel
from genlab.models.textgan import FAMILY, build_sentence_data
from genlab.models.textgan.config import MLEConfig, RelGANConfig, SeqGANConfig
from genlab.nn.discrete import gumbel_noise
from genlab.tokenizers import SentenceTokenizer
from genlab.train.run import build_run_config

from .conftest import SENTENCES, tiny


def build(name, path, **options):
    config_class = FAMILY.models[name].config_class
    dataset, config = build_sentence_data(SentenceDataConfig(str(path)), config_class(**tiny(name, **options)))
    torch.manual_seed(0)
    return FAMILY.models[name](config), dataset


def test_sentence_tokenizer_splits_words_and_punctuation_and_stops_at_eos():
    tokenizer = SentenceTokenizer.from_lines(["a dog runs.", "a cat, a dog"], "word", max_words=6)
    # counts: a 3, dog 2, then runs/./cat/, once each in first-seen order; 6 symbols keep <eos>, <unk> and 4.
    assert tokenizer.vocab == ["<eos>", "<unk>", "a", "dog", "runs", "."]
    ids = tokenizer.encode("a cat runs.")
    assert ids.tolist() == [2, 1, 4, 5]
    assert tokenizer.decode([2, 3, 4, 0, 3]) == "a dog runs"  # nothing after the first <eos>
    stream = tokenizer.stream_decoder("the")
    assert "".join(stream(t) for t in [3, 4, 0, 2]) == " dog runs" and stream(None) == ""
    assert tokenizer.join("a", "dog runs") == "a dog runs" and tokenizer.join("", "dog") == "dog"


def test_text_data_is_padded_with_eos_and_fills_the_config(sentences_txt):
    model, dataset = build("mle", sentences_txt)
    longest = max(len(s.split()) for s in SENTENCES)  # every piece here is separated by spaces
    assert model.config.seq_len == longest + 1 and model.config.split == "word"
    assert dataset.tokens.shape == (200, longest + 1)
    first = dataset.tokens[0].tolist()
    assert model.tokenizer.decode(first) == SENTENCES[0] and first[len(SENTENCES[0].split()):] == [0] * (
        longest + 1 - len(SENTENCES[0].split()))


def test_token_id_data_sets_the_vocabulary_and_rejects_bad_files(tmp_path):
    ids = np.random.default_rng(0).integers(0, 50, size=(30, 7))
    np.savez(tmp_path / "ids.npz", tokens=ids)
    model, dataset = build("mle", tmp_path / "ids.npz")
    assert model.config.split == "ids" and model.config.vocab_size == ids.max() + 1 and model.config.seq_len == 7
    assert torch.equal(dataset.tokens, torch.from_numpy(ids))
    np.savez(tmp_path / "wrong.npz", x=ids)
    with pytest.raises(DataError, match="no 'tokens' array"):
        build("mle", tmp_path / "wrong.npz")
    with pytest.raises(ConfigError, match="seq_len 5 differs"):
        build("mle", tmp_path / "ids.npz", seq_len=5)


@pytest.mark.parametrize("generator", ["lstm", "transformer"])
def test_stepping_with_a_state_gives_the_teacher_forced_logits(sentences_txt, generator):
    model, dataset = build("mle", sentences_txt, generator=generator)
    tokens = dataset.tokens[:3]
    full, _ = model.generator(model.inputs(tokens))
    net, state, stepped = model.generator, model.generator.new_state(3), []
    for t in range(tokens.shape[1]):
        logits, state = net(model.inputs(tokens)[:, t:t + 1], state)
        stepped.append(logits[:, 0])
    assert torch.allclose(torch.stack(stepped, dim=1), full, atol=1e-5)


def test_maximum_likelihood_learns_the_captions(sentences_txt):
    model, dataset = build("mle", sentences_txt, lr_pretrain=1e-2)
    optimizers = model.configure_optimizers()
    before = model.token_nll(dataset.tokens).mean().item()
    for step in range(300):
        model.on_train_step(step, optimizers)
        model.training_step(dataset.get_batch(torch.randint(0, 200, (32,)), torch.device("cpu")), optimizers)
    after = model.token_nll(dataset.tokens).mean().item()
    # The data's own entropy is about 0.16 nats per position: the first word is "a" (4/5) or "two", the
    # word after "a" one of four, every other position determined ((0.50 + 0.8 · 1.39) / 10 positions).
    assert before > math.log(model.vocab_size) - 0.5 and after < 0.25
    samples = model.sample(20, torch.Generator().manual_seed(0))
    assert sum(s in SENTENCES for s in samples) >= 15


def test_relgan_generator_step_trains_the_generator_through_the_relaxation(sentences_txt):
    model, dataset = build("relgan", sentences_txt, pretrain_steps=0, discriminator_steps=1)
    optimizers = model.configure_optimizers()
    model.on_train_step(0, optimizers)
    relaxed = model.relaxed_sample(4, torch.device("cpu"))[1]
    assert relaxed.shape == (4, model.config.seq_len, model.vocab_size)
    assert torch.allclose(relaxed.sum(dim=-1), torch.ones(4, model.config.seq_len), atol=1e-5)
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    logged = model.training_step(dataset.get_batch(torch.arange(16), torch.device("cpu")), optimizers)
    assert {"loss_generator", "loss_discriminator", "inverse_temperature"} <= set(logged)
    assert any(not torch.equal(a, p) for a, p in zip(g_before, model.generator.parameters()))
    assert any(not torch.equal(a, p) for a, p in zip(d_before, model.discriminator.parameters()))
    # The generator's update reached every weight that shapes the logits (an LSTM has no dead ends here).
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters()
               if p is not model.generator.embedding.weight)


def test_relaxed_sample_peaks_at_the_sampled_tokens(sentences_txt):
    model, _ = build("relgan", sentences_txt, pretrain_steps=0, temperature_steps=10, max_inverse_temperature=1000.0)
    model.on_train_step(10, {})  # β at its maximum: the relaxation is nearly one-hot
    torch.manual_seed(3)
    tokens, relaxed = model.relaxed_sample(6, torch.device("cpu"))
    assert torch.equal(relaxed.argmax(dim=-1), tokens)
    assert relaxed.max(dim=-1).values.mean() > 0.99


@pytest.mark.parametrize("generator", ["lstm", "transformer"])
def test_the_fakes_shown_to_the_discriminator_are_the_relaxation_of_the_sampling_pass(sentences_txt, generator):
    # fake_batch relaxes the logits the tokens were sampled from; the generator's update relaxes a
    # teacher-forced pass over the same tokens. The two passes must give the same logits.
    model, _ = build("relgan", sentences_txt, pretrain_steps=0, generator=generator)
    model.on_train_step(0, {})
    noise = gumbel_noise((5, model.config.seq_len, model.vocab_size))
    tokens, steps = model.gumbel_tokens(5, noise)
    stepwise = torch.stack(steps, dim=1)
    with torch.no_grad():
        forced, _ = model.generator(model.inputs(tokens))
    assert torch.allclose(stepwise, forced, atol=1e-5)
    torch.manual_seed(4)
    fake = model.fake_batch(5, torch.device("cpu"))
    torch.manual_seed(4)
    assert torch.allclose(fake, model.relaxed_sample(5, torch.device("cpu"))[1].detach(), atol=1e-5)


def test_straight_through_shows_the_discriminator_one_hot_tokens_and_still_trains_the_generator(sentences_txt):
    model, _ = build("relgan", sentences_txt, pretrain_steps=0, straight_through=True)
    model.on_train_step(0, {})  # β = 1: the soft relaxation would be far from one-hot
    torch.manual_seed(3)
    tokens, relaxed = model.relaxed_sample(6, torch.device("cpu"))
    assert torch.allclose(relaxed, torch.nn.functional.one_hot(tokens, model.vocab_size).float(), atol=1e-6)
    model.discriminator(relaxed).sum().backward()
    assert model.generator.head.weight.grad is not None and model.generator.head.weight.grad.abs().sum() > 0


def test_inverse_temperature_rises_geometrically_after_pretraining(sentences_txt):
    model, _ = build("relgan", sentences_txt, pretrain_steps=10, temperature_steps=100, max_inverse_temperature=100.0)
    values = {}
    for step in (0, 10, 60, 110, 500):
        model.on_train_step(step, {})
        values[step] = model.inverse_temperature
    assert values[0] == values[10] == 1.0 and values[110] == values[500] == 100.0
    assert values[60] == pytest.approx(10.0)  # 100^(50/100)
    model.on_train_step(5, {})
    assert model.pretraining
    model.on_train_step(10, {})
    assert not model.pretraining


def test_mle_trains_by_maximum_likelihood_at_every_step_and_the_others_stop_after_pretraining(sentences_txt):
    mle, _ = build("mle", sentences_txt)  # mle has no pretrain_steps: it refuses them
    from genlab.models.textgan.config import TextGANConfig
    from genlab.models.textgan.model import TextGAN

    by_hand = TextGAN(TextGANConfig(split=mle.config.split, seq_len=mle.config.seq_len, vocab=mle.config.vocab))
    for model in (mle, by_hand):  # the model decides, not its config (the base config names no model)
        for step in (0, mle.config.pretrain_steps, 10**6):
            model.on_train_step(step, {})
            assert model.pretraining
    for name in ("seqgan", "relgan"):
        model, _ = build(name, sentences_txt, pretrain_steps=10)
        model.on_train_step(9, {})
        assert model.pretraining
        model.on_train_step(10, {})
        assert not model.pretraining


def test_seqgan_rewards_are_probabilities_ending_with_the_whole_sequence(sentences_txt):
    model, dataset = build("seqgan", sentences_txt, pretrain_steps=0, d_dropout=0.0)
    assert isinstance(model.config, SeqGANConfig) and model.config.loss == "nonsaturating"
    tokens = dataset.tokens[:5]
    q = model.rewards(tokens)
    assert q.shape == tokens.shape and ((q > 0) & (q < 1)).all()
    model.discriminator.eval()
    assert torch.allclose(q[:, -1], model.discriminator(tokens).sigmoid())
    optimizers = model.configure_optimizers()
    model.on_train_step(0, optimizers)
    before = [p.detach().clone() for p in model.generator.parameters()]
    logged = model.training_step(dataset.get_batch(torch.arange(8), torch.device("cpu")), optimizers)
    assert "reward" in logged
    assert any(not torch.equal(a, p) for a, p in zip(before, model.generator.parameters()))


def test_generation_continues_the_prompt_up_to_the_model_length(sentences_txt):
    model, _ = build("mle", sentences_txt)
    steps = list(model.generate("a man", n=2, max_new_tokens=100, generator=torch.Generator().manual_seed(0)))
    assert len(steps) == model.config.seq_len - 2 and steps[0].shape == (2,)
    with pytest.raises(ConfigError, match="shorter prompt"):
        model.generate(" ".join(["a"] * model.config.seq_len))


class TokenJudge(torch.nn.Module):
    """A fixed D: logit +10 when token ``position`` is ``token``, else −10."""

    def __init__(self, position, token):
        super().__init__()
        self.position, self.token = position, token

    def forward(self, x):
        return 20.0 * (x[:, self.position] == self.token).float() - 10.0


def random_ids(tmp_path):
    np.savez(tmp_path / "ids.npz", tokens=np.random.default_rng(0).integers(0, 20, size=(16, 6)))
    return tmp_path / "ids.npz"


def test_seqgan_reward_of_a_prefix_is_aligned_with_its_last_token(tmp_path):
    model, _ = build("seqgan", random_ids(tmp_path), pretrain_steps=0)
    model.discriminator = TokenJudge(2, 5)
    tokens = torch.randint(0, 20, (4, 6), generator=torch.Generator().manual_seed(0))
    tokens[:2, 2], tokens[2:, 2] = 5, 7
    torch.manual_seed(0)
    q = model.rewards(tokens)
    high, low = torch.sigmoid(torch.tensor(10.0)), torch.sigmoid(torch.tensor(-10.0))
    # Once the prefix y_1..y_t holds position 2, every rollout agrees: Q_t is D's verdict exactly.
    assert torch.allclose(q[:2, 2:], high.expand(2, 4)) and torch.allclose(q[2:, 2:], low.expand(2, 4))


def test_seqgan_update_raises_the_probability_of_rewarded_tokens(tmp_path):
    model, _ = build("seqgan", random_ids(tmp_path), pretrain_steps=0, lr_generator=1e-2)
    optimizers = model.configure_optimizers()
    model.discriminator = TokenJudge(0, 5)

    def first_token_probability():
        logits, _ = model.generator(torch.full((1, 1), model.start))
        return logits[0, 0].softmax(dim=-1)[5].item()

    before = first_token_probability()
    torch.manual_seed(0)
    for _ in range(30):
        model.generator_step(torch.zeros(32, 6, dtype=torch.long), optimizers["generator"])
    assert before < 0.1 and first_token_probability() > 2 * before


def test_relgan_generator_steps_lower_the_generator_loss(sentences_txt):
    model, dataset = build("relgan", sentences_txt, pretrain_steps=0, lr_generator=1e-2, d_dropout=0.0)
    optimizers = model.configure_optimizers()
    model.on_train_step(0, optimizers)
    real = dataset.tokens[:16]

    def generator_loss():
        torch.manual_seed(1)  # the same Gumbel noise each time
        with torch.no_grad():
            fake = model.relaxed_sample(16, real.device)[1]
            return model.losses(model.discriminator(real), model.discriminator(fake))[1].item()

    before = generator_loss()
    for _ in range(5):
        model.generator_step(real, optimizers["generator"])
    assert generator_loss() < before


def test_reference_nll_counts_each_sentence_up_to_its_first_eos(sentences_txt):
    from genlab.models.textgan.evaluation import reference_nll

    model, _ = build("mle", sentences_txt)
    tokens = torch.tensor([[4, 5, 0, 0], [3, 0, 6, 0], [2, 3, 4, 5]])
    nll = torch.arange(12.0).view(3, 4)
    model.token_nll = lambda batch, temperature: nll[:len(batch)]
    per_token, per_position = reference_nll(model, tokens, batch_size=8)
    # Row 0 counts positions 0-2 (0 + 1 + 2), row 1 positions 0-1 (4 + 5), row 2 all four (8 + 9 + 10 + 11).
    assert per_token == (0 + 1 + 2 + 4 + 5 + 8 + 9 + 10 + 11) / 9 and per_position == nll.mean().item()


def test_copied_counts_generated_sentences_identical_to_a_training_sentence(sentences_txt, tmp_path):
    from genlab.models.base import EvalOptions

    model, dataset = build("mle", sentences_txt)
    first, second = dataset.tokens[0].clone(), dataset.tokens[1].clone()
    padded_otherwise = first.clone()
    padded_otherwise[len(SENTENCES[0].split()) + 1:] = 3  # after its <eos>: not part of the sentence
    shortened = second.clone()
    shortened[2] = 0  # the first two words of a training sentence, then <eos>: a new sentence
    extended = first.clone()
    extended[len(SENTENCES[0].split())] = 2  # the whole first sentence and one more word
    generated = torch.stack([first, padded_otherwise, second, shortened, extended])
    model.sample_tokens = lambda n, generator, temperature: generated
    options = EvalOptions(data=str(sentences_txt), samples=5, train_data=str(sentences_txt))
    result = model.evaluate(options)
    assert result["copied"] == 3 / 5 and "200 training sentences" in result["protocol"]["copied"]
    (tmp_path / "other.txt").write_text("a man rides a horse .\n")  # only the first sentence
    assert model.evaluate(EvalOptions(data=str(sentences_txt), samples=5, train_data=str(tmp_path / "other.txt")))[
        "copied"] == 2 / 5


def test_copied_compares_token_id_rows_whole(tmp_path):
    from genlab.models.base import EvalOptions

    ids = np.array([[3, 0, 0, 4, 1], [5, 6, 7, 8, 1]])
    np.savez(tmp_path / "ids.npz", tokens=ids)
    model, _ = build("mle", tmp_path / "ids.npz")
    # Id 0 is a token like any other here: [3, 0, 9, 9, 9] is not the training row [3, 0, 0, 4, 1].
    generated = torch.tensor([[3, 0, 0, 4, 1], [3, 0, 9, 9, 9], [5, 6, 7, 8, 1], [8, 7, 6, 5, 1]])
    model.sample_tokens = lambda n, generator, temperature: generated
    result = model.evaluate(EvalOptions(samples=4, train_data=str(tmp_path / "ids.npz")))
    assert result["copied"] == 2 / 4 and "nll_gen" not in result
    with pytest.raises(ConfigError, match="--train-data .*captions.txt must be an .npz"):
        model.evaluate(EvalOptions(samples=4, train_data=str(tmp_path / "captions.txt")))


def test_tempered_nll_is_that_of_the_distribution_sampled_at_the_temperature(sentences_txt):
    model, dataset = build("mle", sentences_txt)
    tokens = dataset.tokens[:4]
    with torch.no_grad():
        logits = model.generator(model.inputs(tokens))[0].double().numpy()
        nll = model.token_nll(tokens, temperature=0.5).numpy()
    scaled = logits / 0.5  # the distribution sampling at temperature 0.5 draws from, normalised in float64
    log_p = scaled - np.log(np.exp(scaled).sum(axis=-1, keepdims=True))
    expected = -np.take_along_axis(log_p, tokens.numpy()[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(nll, expected, rtol=1e-5)


def test_adversarial_batch_must_split_from_the_first_step(sentences_txt):
    model, dataset = build("relgan", sentences_txt, pretrain_steps=100, discriminator_steps=2)
    optimizers = model.configure_optimizers()
    model.on_train_step(0, optimizers)
    with pytest.raises(ConfigError, match="3 equal parts"):
        model.training_step(dataset.get_batch(torch.arange(8), torch.device("cpu")), optimizers)


def test_text_data_rejects_a_token_id_vocabulary_size(sentences_txt):
    with pytest.raises(ConfigError, match="vocab_size is for token-id"):
        build("mle", sentences_txt, vocab_size=3)


@pytest.mark.parametrize("tokens, option, value", [
    ({"split": "word", "vocab": ["<eos>", "<unk>", "a"]}, "vocab_size", 3),  # text builds its own vocabulary
    ({"split": "ids", "vocab_size": 3}, "vocab", ["<eos>", "<unk>", "a"]),  # token ids have no pieces to name
])
def test_the_other_kind_of_tokens_vocabulary_is_refused_for_training_and_dropped_from_a_saved_model(tokens, option,
                                                                                                   value):
    from genlab.config import drop_inapplicable

    config = MLEConfig(seq_len=8, **tokens, **{option: value})
    with pytest.raises(ConfigError, match=f"^--model.{option} .*; drop it.$"):
        config.validate()
    kept, dropped = drop_inapplicable(config)
    assert dropped == {option: value} and kept == MLEConfig(seq_len=8, **tokens)
    kept.validate()


def test_config_rejects_betas_adam_would_refuse():
    with pytest.raises(ConfigError, match=r"--model.betas must be two numbers in \[0, 1\)"):
        SeqGANConfig(betas=(-0.1, 0.9)).validate()


def test_the_discriminator_trains_in_the_last_pretraining_steps_only(sentences_txt):
    model, dataset = build("seqgan", sentences_txt, pretrain_steps=4, discriminator_pretrain_steps=2)
    optimizers = model.configure_optimizers()
    batch = dataset.get_batch(torch.arange(8), torch.device("cpu"))
    seen = []
    for step in range(4):
        model.on_train_step(step, optimizers)
        before = [p.detach().clone() for p in model.discriminator.parameters()]
        logged = model.training_step(batch, optimizers)
        changed = any(not torch.equal(a, p) for a, p in zip(before, model.discriminator.parameters()))
        seen.append((changed, "loss_discriminator" in logged, "loss_mle" in logged))
    assert seen == [(False, False, True), (False, False, True), (True, True, True), (True, True, True)]


def test_token_ids_far_beyond_any_vocabulary_are_refused(tmp_path):
    np.savez(tmp_path / "ids.npz", tokens=np.array([[0, 10**12], [1, 2]]))
    with pytest.raises(DataError, match="renumber the ids"):
        build("mle", tmp_path / "ids.npz")


# (option, value, a model config that does not read it, one that does); "name" defaults to relgan.
MLE_UNREAD = [("discriminator", "rnn", {}), ("d_embed_dim", 8, {}), ("d_filters", 4, {}), ("d_widths", [2, 3], {}),
              ("d_hidden_dim", 8, {"discriminator": "rnn"}), ("d_dropout", 0.1, {}), ("pretrain_steps", 5, {}),
              ("discriminator_pretrain_steps", 5, {}), ("loss", "nonsaturating", {}), ("discriminator_steps", 2, {}),
              ("lr_generator", 1e-3, {}), ("lr_discriminator", 1e-3, {}), ("rollouts", 2, {"name": "seqgan"})]
GUMBEL = [("max_inverse_temperature", 10.0), ("temperature_steps", 5), ("straight_through", True)]


@pytest.mark.parametrize("option, value, unread, read", [
    ("embed_dim", 8, {"generator": "transformer"}, {}),
    ("d_embed_dim", 8, {"discriminator": "attention"}, {"discriminator": "rnn"}),
    ("d_filters", 4, {"discriminator": "rnn"}, {}),
    ("d_widths", [2, 3], {"discriminator": "attention"}, {}),
    ("d_hidden_dim", 8, {}, {"discriminator": "rnn"}),
    ("d_hidden_dim", 8, {"name": "seqgan"}, {"name": "seqgan", "discriminator": "attention"}),
    ("heads", 2, {"discriminator": "rnn"}, {"discriminator": "attention"}),
    ("heads", 2, {"name": "seqgan"}, {"name": "seqgan", "generator": "transformer"}),
    ("heads", 2, {"name": "mle"}, {"name": "mle", "generator": "transformer"}),
    ("max_words", 100, {"name": "mle", "split": "ids"}, {"name": "mle", "split": "word"}),
    ("lr_pretrain", 1e-3, {"pretrain_steps": 0}, {}),
    ("discriminator_pretrain_steps", 5, {"name": "seqgan", "pretrain_steps": 0}, {"name": "seqgan"}),
    ("rollouts", 2, {}, {"name": "seqgan"}),
    *[(option, value, {"name": name}, {}) for option, value in GUMBEL for name in ("seqgan", "mle")],
    *[(option, value, {"name": "mle"}, read) for option, value, read in MLE_UNREAD],
])
def test_an_option_the_model_does_not_read_is_refused_and_accepted_where_it_is_read(option, value, unread, read):
    with pytest.raises(ConfigError, match=f"^--model.{option} "):
        build_run_config("textgan", overrides={"model": {**unread, option: value}})
    build_run_config("textgan", overrides={"model": {**read, option: value}})


def test_the_discriminators_checks_leave_mle_alone():
    """mle has no discriminator: sequences shorter than the cnn's default widths are fine."""
    MLEConfig(seq_len=3).validate()
    with pytest.raises(ConfigError, match="--model.d_widths go up to 5, longer than the 3-token sequences"):
        RelGANConfig(seq_len=3).validate()
    with pytest.raises(ConfigError, match="^--model.discriminator does not apply to mle"):  # not d_hidden_dim % heads
        MLEConfig(discriminator="attention", generator="transformer", heads=3, hidden_dim=24).validate()


def test_a_model_saved_with_options_now_refused_as_inapplicable_loads_with_them_ignored(sentences_txt, tmp_path,
                                                                                         capsys):
    """An mle model saved before genlab refused the discriminator's and the adversarial options never
    read them: it loads, with a note; training with them is still refused."""
    model, _ = build("mle", sentences_txt)
    model.save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    saved = json.loads(path.read_text())
    stale = {"d_filters": 4, "heads": 2, "rollouts": 2, "loss": "nonsaturating", "straight_through": True}
    saved["model"].update(stale)
    path.write_text(json.dumps(saved))
    capsys.readouterr()
    loaded = GenerativeModel.from_pretrained(tmp_path / "old")
    assert type(loaded.config) is MLEConfig and loaded.config == model.config
    note = capsys.readouterr().err
    assert note.startswith(f"genlab: note: {path} sets --model.") and note.rstrip().endswith("ignored.")
    assert all(f"--model.{name} " in note for name in stale)
    assert loaded.sample(4, torch.Generator().manual_seed(0)) == model.sample(4, torch.Generator().manual_seed(0))
    for name, value in stale.items():  # each one, given for training, is refused
        with pytest.raises(ConfigError, match=f"--model.{name} "):
            build_run_config("textgan", overrides={"model": {"name": "mle", name: value}})


@pytest.mark.parametrize("config_class, option, value", [
    (RelGANConfig, "rollouts", 0), (SeqGANConfig, "temperature_steps", 0), (MLEConfig, "d_dropout", 1.0),
    (MLEConfig, "discriminator_steps", 0)])
def test_an_option_the_model_never_reads_is_refused_as_such_before_its_range_is_checked(config_class, option, value):
    with pytest.raises(ConfigError, match=f"^--model.{option} does not apply to {config_class.model}"):
        config_class(**{option: value}).validate()


def test_sentences_are_cut_at_line_ends_only(tmp_path):
    """str.splitlines would also cut at U+2028, U+0085 (a cp1252 mix-up's NEL) and form feeds."""
    from genlab.data.sentences import read_lines

    path = tmp_path / "lines.txt"
    path.write_text("a dog\u2028runs\r\na cat\x85sits\rthe end\x0c\n", encoding="utf-8")
    lines, _ = read_lines(path)
    assert lines == ["a dog\u2028runs", "a cat\x85sits", "the end"]
