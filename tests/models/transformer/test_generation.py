import math

import pytest
import torch

from genlab.models.transformer.generation import generate, window_start
from genlab.nn.discrete import filter_logits, sample_token

PROBS = torch.tensor([[0.1, 0.5, 0.05, 0.2, 0.15]])  # ranks: 1 > 3 > 4 > 0 > 2


def kept(logits):
    return torch.isfinite(logits[0]).nonzero()[:, 0].tolist()


def test_top_k_keeps_the_k_most_likely():
    assert kept(filter_logits(PROBS.log(), top_k=2)) == [1, 3]
    assert kept(filter_logits(PROBS.log(), top_k=1)) == [1]
    assert kept(filter_logits(PROBS.log(), top_k=10)) == [0, 1, 2, 3, 4]
    tied = torch.tensor([[2.0, 1.0, 1.0, 1.0, 0.0]])
    assert len(kept(filter_logits(tied, top_k=2))) == 2  # a tie at the k-th place keeps k, not every tied token
    assert kept(filter_logits(tied, top_k=2))[0] == 0


def test_top_p_keeps_the_smallest_set_reaching_p():
    assert kept(filter_logits(PROBS.log(), top_p=0.6)) == [1, 3]  # 0.5 < 0.6 ≤ 0.5 + 0.2
    assert kept(filter_logits(PROBS.log(), top_p=0.7)) == [1, 3]  # 0.7 reached exactly by two tokens
    assert kept(filter_logits(PROBS.log(), top_p=0.71)) == [1, 3, 4]
    assert kept(filter_logits(PROBS.log(), top_p=0.3)) == [1]  # the most likely token always stays
    assert kept(filter_logits(PROBS.log(), top_p=0.0)) == [1]
    assert kept(filter_logits(PROBS.log(), top_p=1.0)) == [0, 1, 2, 3, 4]


def test_top_k_and_top_p_combine_and_keep_logit_values():
    filtered = filter_logits(PROBS.log(), top_k=3, top_p=0.99)
    assert kept(filtered) == [1, 3, 4]
    assert torch.equal(filtered[0, [1, 3, 4]], PROBS.log()[0, [1, 3, 4]])


def test_sampling_frequencies_follow_the_renormalised_distribution():
    generator = torch.Generator().manual_seed(0)
    logits = PROBS.log().repeat(20000, 1)
    tokens = sample_token(logits, temperature=1.0, top_k=2, generator=generator)
    share = (tokens == 1).float().mean().item()
    assert set(tokens.tolist()) == {1, 3}
    assert abs(share - 0.5 / 0.7) < 0.02  # 5 standard errors


def test_temperature_zero_is_greedy_and_temperature_sharpens():
    assert sample_token(PROBS.log(), temperature=0).tolist() == [1]
    generator = torch.Generator().manual_seed(0)
    cold = sample_token(PROBS.log().repeat(5000, 1), temperature=0.25, generator=generator)
    # p ∝ p^4: token 1 has 0.5^4 / Σ p^4 ≈ 0.92
    expected = 0.5 ** 4 / (PROBS ** 4).sum().item()
    assert abs((cold == 1).float().mean().item() - expected) < 0.02


@pytest.mark.parametrize("temperature", [1e-30, 1e-45, 1e-50, 5e-324])  # below float32: 0 there
def test_a_tiny_temperature_draws_the_argmax_not_nan_garbage(temperature):
    logits = torch.tensor([[0.3, 2.0, -1.0, 1.9], [5.0, -3.0, 4.0, 0.0]])  # / 1e-30 overflows float32
    assert sample_token(logits, temperature, generator=torch.Generator().manual_seed(0)).tolist() == [1, 0]
    assert sample_token(logits, temperature, top_p=0.5).tolist() == [1, 0]


def test_window_jumps_by_stride_once_full():
    assert window_start(0, 8, context=8, stride=2) == 0
    assert window_start(0, 9, context=8, stride=2) == 3  # keeps the newest 6 tokens
    assert window_start(3, 11, context=8, stride=2) == 3
    assert window_start(3, 12, context=8, stride=2) == 6


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_a_prompt_longer_than_the_context_is_read_through_its_newest_context_tokens(tiny_model, positions):
    model = tiny_model(scale=0.5, positions=positions)
    prompt = torch.tensor([[3, 7, 1, 4, 9, 9, 2, 1, 5]])  # context 8 + 1: the first token drops out, no more
    first = next(generate(model.net, prompt, 1, temperature=0))
    assert torch.equal(first, model.net(prompt[:, -8:])[:, -1].argmax(-1))
    assert not torch.equal(model.net(prompt[:, -8:])[:, -1], model.net(prompt[:, -6:])[:, -1])  # context counts
    with pytest.raises(ValueError, match="run past the context of 8 tokens"):
        model.net(prompt)


def naive_greedy(net, prompt, steps):
    """Greedy decoding re-running the model on the whole sequence (valid while it fits the context)."""
    tokens = prompt.clone()
    for _ in range(steps):
        tokens = torch.cat([tokens, net(tokens)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return tokens[:, prompt.shape[1]:]


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_cached_greedy_equals_recompute_within_the_context(tiny_model, positions):
    model = tiny_model(scale=0.5, positions=positions)
    prompt = torch.tensor([[3, 7, 1], [5, 5, 2]])
    cached = torch.stack(list(generate(model.net, prompt, 5, temperature=0)), dim=1)
    assert torch.equal(cached, naive_greedy(model.net, prompt, 5))


@pytest.mark.parametrize("positions", ["learned", "rotary"])
@pytest.mark.parametrize("stride", [1, 3, 8])
def test_cached_greedy_equals_recompute_past_the_context(tiny_model, positions, stride):
    model = tiny_model(scale=0.5, positions=positions)
    prompt = torch.tensor([[3, 7, 1, 4, 9, 9, 2, 1, 5, 6, 7]])  # already longer than the context of 8
    runs = [torch.stack(list(generate(model.net, prompt, 40, temperature=0, use_cache=cache, stride=stride)), 1)
            for cache in (True, False)]
    assert torch.equal(runs[0], runs[1])


@pytest.mark.parametrize("positions", ["learned", "rotary"])
@pytest.mark.parametrize("stride", [1, 3, 8])
def test_cached_sampling_equals_recompute_with_the_same_seed(tiny_model, positions, stride):
    # Random models fall into greedy loops; sampled sequences vary, so this covers long windows.
    model = tiny_model(scale=0.5, positions=positions)
    prompt = torch.tensor([[1, 2, 3]] * 3)
    runs = [torch.stack(list(generate(model.net, prompt, 30, temperature=1.0, top_p=0.95, use_cache=cache,
                                      stride=stride, generator=torch.Generator().manual_seed(7))), 1)
            for cache in (True, False)]
    assert torch.equal(runs[0], runs[1])
    assert len(set(runs[0][0].tolist())) > 5
    assert not torch.equal(runs[0][0], runs[0][1])  # the batch rows are independent samples


def test_uniform_model_samples_every_token(tiny_model):
    model = tiny_model()
    torch.nn.init.zeros_(model.net.head.weight)  # tied: zero embeddings too → uniform next-token distribution
    tokens = next(generate(model.net, torch.zeros(4000, 1, dtype=torch.long), 1,
                           generator=torch.Generator().manual_seed(0)))
    counts = torch.bincount(tokens, minlength=len(model.tokenizer.vocab)).float()
    expected = 4000 / len(model.tokenizer.vocab)
    assert counts.min() > expected - 5 * math.sqrt(expected)


def test_a_word_models_prompt_with_unknown_words_is_warned_about(capsys):
    from genlab.models.transformer import Transformer, TransformerConfig
    from genlab.tokenizers import build_tokenizer

    vocab = build_tokenizer("word", "the cat sat on the mat").vocab
    model = Transformer(TransformerConfig(tokenizer="word", vocab=vocab, context=8, layers=1, heads=1, width=8))
    assert model.sample(2, torch.Generator().manual_seed(0), prompt="the zebra", max_new_tokens=0) == ["the zebra"] * 2
    assert "--prompt pieces zebra are outside the model's vocabulary and are read as <unk>" in capsys.readouterr().err
    model.sample(1, prompt="the cat", max_new_tokens=1)
    assert "warning" not in capsys.readouterr().err
