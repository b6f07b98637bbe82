import dataclasses
import json
import math

import pytest
import torch

from genlab.errors import ConfigError, DataError
from genlab.models.base import EvalOptions, GenerativeModel
from genlab.models.transformer import Transformer, TransformerConfig
from genlab.models.transformer.model import learning_rate
from genlab.tokenizers import WordTokenizer
from genlab.train.run import build_run_config


def test_output_at_t_ignores_later_tokens(tiny_model):
    for positions in ("learned", "rotary"):
        net = tiny_model(positions=positions).net
        tokens = torch.tensor([[1, 5, 9, 2, 7, 3, 3, 8]])
        changed = tokens.clone()
        changed[0, 5:] = torch.tensor([20, 21, 22])
        a, b = net(tokens), net(changed)
        assert torch.equal(a[:, :5], b[:, :5])
        assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_weight_decay_skips_norms_biases_and_embeddings(tiny_model):
    model = tiny_model(positions="learned")
    decayed, plain = model.configure_optimizers()["adamw"].param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(n.endswith(".weight") and "norm" not in n and "embedding" not in n
               for n in map(names.get, map(id, decayed["params"])))
    plain_names = {names[id(p)] for p in plain["params"]}
    assert {"net.token_embedding.weight", "net.position_embedding.weight", "net.norm.weight",
            "net.blocks.0.attention.qkv.bias"} <= plain_names
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))


def test_warmup_then_cosine_schedule():
    c = TransformerConfig(lr=1e-3, min_lr=1e-4, warmup_steps=10, decay_steps=110)
    assert learning_rate(c, 0) == pytest.approx(1e-4)  # step 1 of 10 of the warmup
    assert learning_rate(c, 9) == pytest.approx(1e-3)
    assert learning_rate(c, 10) == pytest.approx(1e-3)
    assert learning_rate(c, 60) == pytest.approx(1e-4 + 0.5 * 9e-4)  # halfway: cos(π/2) = 0
    assert learning_rate(c, 110) == pytest.approx(1e-4)
    assert learning_rate(c, 500) == pytest.approx(1e-4)


def test_schedule_is_applied_to_the_optimizer(tiny_model):
    model = tiny_model(lr=1e-3, min_lr=1e-4, warmup_steps=10, decay_steps=110)
    optimizers = model.configure_optimizers()
    model.on_train_step(60, optimizers)
    assert all(g["lr"] == pytest.approx(5.5e-4) for g in optimizers["adamw"].param_groups)


def test_decay_steps_0_keeps_the_learning_rate_constant_after_the_warmup(tiny_model):
    c = TransformerConfig(lr=1e-3, warmup_steps=2, decay_steps=0)
    c.validate()  # 0 is accepted, as by the gan, vae and rgan families
    assert [learning_rate(c, step) for step in range(2)] == pytest.approx([5e-4, 1e-3])
    model = tiny_model(lr=1e-3, warmup_steps=0, decay_steps=0)
    optimizers = model.configure_optimizers()
    for step in (0, 1, 2, 100, 10_000):
        model.on_train_step(step, optimizers)
        assert all(g["lr"] == 1e-3 for g in optimizers["adamw"].param_groups)
    with pytest.raises(ConfigError, match="--model.decay_steps must be a non-negative number"):
        TransformerConfig(decay_steps=-1).validate()
    short_decay = TransformerConfig(warmup_steps=100, decay_steps=50)
    short_decay.validate()  # a model saved with it still loads
    with pytest.raises(ConfigError, match="decay_steps 50 ends the cosine decay before --model.warmup_steps 100"):
        short_decay.check_training()
    # min_lr is where the decay ends: without a decay it is refused, not range-checked against lr.
    with pytest.raises(ConfigError, match="^--model.min_lr is where the cosine decay ends, and --model.decay_steps 0"):
        TransformerConfig(lr=1e-4, min_lr=1e-5, decay_steps=0).validate()
    TransformerConfig(lr=1e-4, decay_steps=0).validate()  # the default min_lr 3e-4 above lr is never read


def one_step(tiny_model, tokens, **options):
    model = tiny_model(**options).float().train()
    losses = model.training_step({"tokens": tokens}, model.configure_optimizers())
    return model, losses["loss"]


def test_gradient_accumulation_equals_one_big_batch(tiny_model):
    tokens = torch.randint(0, 28, (8, 9), generator=torch.Generator().manual_seed(0))
    whole, loss_whole = one_step(tiny_model, tokens, grad_accumulation=1)
    parts, loss_parts = one_step(tiny_model, tokens, grad_accumulation=4)
    assert loss_whole.dim() == 0 and not loss_whole.requires_grad
    assert torch.allclose(loss_whole, loss_parts, atol=1e-6)
    for a, b in zip(whole.parameters(), parts.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(ConfigError, match="--train.batch_size 8: each process's batch must be divisible by "
                                          "--model.grad_accumulation 3"):
        one_step(tiny_model, tokens, grad_accumulation=3)


def test_gradient_clipping_bounds_the_update(tiny_model):
    tokens = torch.randint(0, 28, (4, 9), generator=torch.Generator().manual_seed(0))
    model = tiny_model(grad_clip=1e-3).float().train()
    optimizer = model.configure_optimizers()["adamw"]
    captured = []
    optimizer.register_step_pre_hook(lambda opt, *_: captured.append(
        torch.stack([p.grad.norm() for p in model.parameters()]).norm()))
    model.training_step({"tokens": tokens}, {"adamw": optimizer})
    assert captured[0] == pytest.approx(1e-3, rel=1e-3)


def test_initial_loss_is_near_uniform(tiny_model):
    tokens = torch.randint(0, 28, (4, 9), generator=torch.Generator().manual_seed(0))
    _, loss = one_step(tiny_model, tokens)
    assert abs(loss.item() - math.log(28)) < 0.2


def test_save_and_load_round_trip(tiny_model, tmp_path):
    model = tiny_model(positions="rotary").float()
    model.save_pretrained(tmp_path / "export")
    loaded = GenerativeModel.from_pretrained(tmp_path / "export")
    assert isinstance(loaded, Transformer) and loaded.tokenizer.vocab == model.tokenizer.vocab
    tokens = torch.tensor([[1, 2, 3, 4]])
    assert torch.equal(loaded.net(tokens), model.net(tokens))
    assert loaded.net.head.weight is loaded.net.token_embedding.weight  # still tied after loading


def test_preview_is_text_and_leaves_global_rng_alone(tiny_model, tmp_path):
    model = tiny_model(preview_tokens=20).float()
    state = torch.get_rng_state()
    path = model.write_preview(tmp_path / "step-000010", count=64, seed=3)
    assert torch.equal(state, torch.get_rng_state())
    assert path.suffix == ".txt" and path.read_text(encoding="utf-8").count("--- sample") == 4
    assert model.write_preview(tmp_path / "again", count=2, seed=3).read_text().count("--- sample") == 2


def test_sample_continues_the_prompt_and_rejects_unknown_characters(tiny_model):
    model = tiny_model().float()
    texts = model.sample(2, torch.Generator().manual_seed(0), prompt="to be", max_new_tokens=12)
    assert all(t.startswith("to be") and len(t) == 5 + 12 for t in texts)
    with pytest.raises(DataError, match="--prompt holds the character 'Z'"):
        model.sample(1, prompt="Zebra")


def test_config_errors_name_the_option():
    with pytest.raises(ConfigError, match="--model.width 30 must be divisible by --model.heads 4"):
        TransformerConfig(width=30).validate()
    with pytest.raises(ConfigError, match="--model.context must be at most 131,072 tokens \\(got 100,000,000\\)"):
        TransformerConfig(context=100_000_000).validate()  # also read from a saved config.json, before any table
    with pytest.raises(ConfigError, match=r"--model.betas must be two numbers in \[0, 1\)"):
        TransformerConfig(betas=(0.9, 1.5)).validate()
    with pytest.raises(ConfigError, match="needs --model.vocab"):
        Transformer(TransformerConfig())
    assert Transformer(TransformerConfig(tokenizer="byte", layers=1, width=8, heads=2)).tokenizer.vocab_size == 256


@pytest.mark.parametrize("tokenizer, keeps", [("char", "every character it sees"), ("byte", "its 256 byte values")])
def test_max_words_is_refused_but_by_the_word_tokenizer(tokenizer, keeps):
    with pytest.raises(ConfigError, match=f"^--model.max_words caps the word tokenizer's vocabulary, and the "
                                          f"{tokenizer} tokenizer keeps {keeps}; drop it"):
        build_run_config("transformer", overrides={"model": {"tokenizer": tokenizer, "max_words": 500}})
    build_run_config("transformer", overrides={"model": {"tokenizer": "word", "max_words": 500}})


def test_a_vocabulary_given_to_the_byte_tokenizer_is_refused_for_training_and_dropped_from_a_saved_model():
    from genlab.config import drop_inapplicable

    config = TransformerConfig(tokenizer="byte", vocab=["a", "b"])
    with pytest.raises(ConfigError, match=r"^--model.vocab is not used by the byte tokenizer \(its 256 symbols are "
                                          r"fixed\); drop it.$"):
        config.validate()
    kept, dropped = drop_inapplicable(config)
    assert dropped == {"vocab": ["a", "b"]} and kept == TransformerConfig(tokenizer="byte")
    kept.validate()


def test_a_model_saved_with_an_option_now_refused_as_inapplicable_loads_with_it_ignored(tiny_model, tmp_path, capsys):
    """A char model saved with a word vocabulary size it never read loads, with a note."""
    model = tiny_model().float()
    model.save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / "config.json"
    saved = json.loads(path.read_text())
    saved["model"]["max_words"] = 500
    path.write_text(json.dumps(saved))
    loaded = GenerativeModel.from_pretrained(tmp_path / "old")
    assert loaded.config == model.config and loaded.config.max_words == TransformerConfig.max_words
    assert capsys.readouterr().err.startswith(f"genlab: note: {path} sets --model.max_words 500, which nothing reads")
    tokens = torch.tensor([[1, 2, 3, 4]])
    assert torch.equal(loaded.net(tokens), model.net(tokens))


def test_eval_without_data_on_a_foreign_vocabulary_asks_for_data(tiny_model):
    model = tiny_model().float()  # lowercase letters only: tiny Shakespeare's capitals are unknown
    with pytest.raises(DataError, match="vocabulary does not cover tiny Shakespeare.*pass --data"):
        model.evaluate(EvalOptions())


def test_generate_rejects_an_unknown_prompt_before_the_first_step(tiny_model):
    # Not iterated: 'genlab generate' prints the prompt before asking for the first token.
    with pytest.raises(DataError, match="--prompt holds the character 'Z'"):
        tiny_model().generate("Zebra")


@pytest.mark.parametrize("kind", ["word", "byte"])
def test_bits_per_character_count_the_characters_of_the_text_not_of_decoded_ids(tmp_path, kind):
    """A word model's <unk> stands for a word of any length; a byte model's first predicted id can be
    inside a character. Both are measured on the held-out text itself."""
    text = "é " + "the cat sat on the mat . " * 9 + "hippopotamus zebra"  # the last words are rare
    path = tmp_path / "text.txt"
    path.write_text(text * 10, encoding="utf-8")
    held_out = (text * 10)[-len(text):]  # the last 10%: one copy, starting with the two-byte é
    vocab = WordTokenizer.from_text(text, max_words=8).vocab if kind == "word" else None  # no é, hippopotamus, zebra
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(tokenizer=kind, vocab=vocab, context=8, layers=1, heads=2, width=8))
    result = model.evaluate(EvalOptions(data=str(path)))
    protocol = result["protocol"]
    if kind == "word":
        pieces = WordTokenizer(vocab).pieces(held_out)
        assert protocol["unknown_tokens"] > 0
        assert protocol["characters"] == len(held_out) - len(pieces[0])
        # An <unk> prices a whole word as one symbol: per-character figures would flatter, so none are given.
        assert result["bits_per_character"] is None and result["bits_per_byte"] is None
        assert protocol["bits_per_character"].startswith(f"not reported: {protocol['unknown_tokens']} of the scored")
        vocab = WordTokenizer.from_text(text, max_words=100).vocab  # every word known
        model = Transformer(TransformerConfig(tokenizer=kind, vocab=vocab, context=8, layers=1, heads=2, width=8))
        result = model.evaluate(EvalOptions(data=str(path)))
        protocol = result["protocol"]
        assert protocol["unknown_tokens"] == 0
    else:  # every byte after the first is predicted; the é's second byte begins no character
        assert protocol["predicted_tokens"] == protocol["bytes"] == len(held_out.encode()) - 1
        assert protocol["characters"] == len(held_out) - 1
    bits = result["loss"] * protocol["predicted_tokens"] / math.log(2)
    assert result["bits_per_character"] == pytest.approx(bits / protocol["characters"])
    assert result["bits_per_byte"] == pytest.approx(bits / protocol["bytes"])


def test_eval_scores_the_fraction_training_held_out(tmp_path):
    """Trained with --data.validation_fraction 0.05, a model must not be scored on the 5% of its own
    training text that a fixed 10% split would add."""
    from genlab.data.text import TextDataConfig
    from genlab.models.transformer import build_text_data

    path = tmp_path / "text.txt"
    path.write_text("abcdefghij" * 100, encoding="utf-8")
    _, config = build_text_data(TextDataConfig(path=str(path), validation_fraction=0.05),
                                TransformerConfig(context=8, layers=1, heads=2, width=8))
    assert config.held_out_fraction == 0.05
    result = Transformer(config).evaluate(EvalOptions(data=str(path)))
    assert result["protocol"]["characters"] == 50 - 1  # the last 5% of 1,000 characters, less the first
    assert "last 5%" in result["protocol"]["split"]


def test_a_given_word_vocabulary_counts_the_training_words_it_does_not_know(tmp_path):
    """A word vocabulary taken over with another run's config.json reads a new text's words as <unk>: said."""
    from genlab.data.text import TextDataConfig
    from genlab.models.transformer import TransformerConfig, build_text_data

    path = tmp_path / "text.txt"
    path.write_text("the cat the dog " * 50, encoding="utf-8")
    config = TransformerConfig(tokenizer="word", vocab=["<unk>", "the", " "], context=4, layers=1, heads=1, width=8)
    windows, _ = build_text_data(TextDataConfig(str(path), validation_fraction=0.1), config)
    assert "training tokens (word-level, 3 symbols, 90 of them <unk> (words outside the vocabulary))" in windows.description


def test_a_word_vocabulary_without_unk_first_names_the_option_not_a_corrupt_model():
    from genlab.errors import ConfigError
    from genlab.models.textgan.config import TextGANConfig
    from genlab.models.transformer import TransformerConfig

    with pytest.raises(ConfigError, match=r"^--model.vocab of the word tokenizer must start with <unk>"):
        TransformerConfig(tokenizer="word", vocab=["the", "cat"]).validate()  # or a char run resumed as word
    with pytest.raises(ConfigError, match=r"^--model.vocab must start with <eos>, <unk> and list each piece once"):
        TextGANConfig(vocab=["the", "cat"]).validate()
    TextGANConfig(vocab=["<eos>", "<unk>", "the"]).validate()


def test_a_given_char_vocabulary_that_lacks_a_character_says_where_it_came_from(tmp_path):
    from genlab.data.text import TextDataConfig
    from genlab.errors import DataError
    from genlab.models.transformer import TransformerConfig, build_text_data

    path = tmp_path / "text.txt"
    path.write_text("café " * 40, encoding="utf-8")
    config = TransformerConfig(vocab=list("acf "), context=4, layers=1, heads=1, width=8)
    with pytest.raises(DataError, match=r"holds the character 'é', which the vocabulary that came with the config "
                                        r"lacks .*; resume on the text it was built from, or start a new run from a "
                                        r"config without model.vocab\.$"):
        build_text_data(TextDataConfig(str(path)), config)
    windows, built = build_text_data(TextDataConfig(str(path)), dataclasses.replace(config, vocab=None))
    assert "é" in built.vocab


def test_a_word_vocabulary_is_chosen_by_the_training_part_alone(tmp_path):
    """Words only the held-out text uses stay out of the vocabulary (they are <unk> there, and eval counts them);
    characters only the held-out text uses are in a char vocabulary, which has no <unk>."""
    from genlab.data.text import TextDataConfig
    from genlab.models.transformer import build_text_data

    text = "the cat sat on the mat. " * 90 + "zebra quokka " * 10
    (tmp_path / "words.txt").write_text(text)
    data = TextDataConfig(path=str(tmp_path / "words.txt"), validation_fraction=0.1)
    _, word = build_text_data(data, TransformerConfig(tokenizer="word", context=8))
    _, char = build_text_data(data, TransformerConfig(tokenizer="char", context=8))
    assert "cat" in word.vocab and "zebra" not in word.vocab and "quokka" not in word.vocab
    assert "z" in char.vocab and "q" in char.vocab


@pytest.mark.parametrize("text, start", [("the cat\nsat on the mat\n", "\n"), ("the cat sat on the mat ", "<unk>")])
def test_an_empty_prompt_starts_from_a_newline_or_where_there_is_none_from_token_0(text, start):
    vocab = WordTokenizer.from_text(text, max_words=100).vocab
    model = Transformer(TransformerConfig(tokenizer="word", vocab=vocab, context=8, layers=1, heads=2, width=8))
    assert model.encode_prompt("", batch=2).tolist() == [[vocab.index(start)]] * 2
