import math

import pytest
import torch

from genlab.nn.attention import AttentionBlocks, SelfAttention, rotary_tables, rotate


def reference_attention(layer: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """Causal attention written out with explicit loops over heads and positions (learned positions)."""
    b, t, dim = x.shape
    q, k, v = layer.qkv(x).split(dim, dim=-1)
    hd = layer.head_dim
    out = torch.zeros(b, t, dim, dtype=x.dtype)
    for h in range(layer.heads):
        cols = slice(h * hd, (h + 1) * hd)
        for i in range(t):
            scores = torch.stack([(q[:, i, cols] * k[:, j, cols]).sum(-1) for j in range(i + 1)], -1) / math.sqrt(hd)
            weights = scores.softmax(-1)  # (B, i + 1)
            out[:, i, cols] = sum(weights[:, j, None] * v[:, j, cols] for j in range(i + 1))
    return layer.out(out)


def test_matches_explicit_causal_attention():
    torch.manual_seed(0)
    layer = SelfAttention(8, 2).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    assert torch.allclose(layer(x), reference_attention(layer, x), atol=1e-10)


@pytest.mark.parametrize("rotary", [False, True])
def test_output_at_t_ignores_later_positions(rotary):
    torch.manual_seed(0)
    layer = SelfAttention(16, 4, rotary=rotary, max_positions=12).double()
    x = torch.randn(1, 12, 16, dtype=torch.float64)
    changed = x.clone()
    changed[:, 7:] = torch.randn(1, 5, 16, dtype=torch.float64)
    a, b = layer(x), layer(changed)
    assert torch.equal(a[:, :7], b[:, :7])
    assert not torch.allclose(a[:, 7:], b[:, 7:])


@pytest.mark.parametrize("rotary", [False, True])
def test_cached_steps_equal_one_full_pass(rotary):
    torch.manual_seed(0)
    layer = SelfAttention(16, 4, rotary=rotary, max_positions=10).double()
    x = torch.randn(3, 10, 16, dtype=torch.float64)
    cache = layer.new_cache(3, 10, x.device, x.dtype)
    pieces = [layer(x[:, :4], cache), layer(x[:, 4:7], cache)]  # a prefill, then a chunk against the cache
    pieces += [layer(x[:, i:i + 1], cache) for i in range(7, 10)]  # then one token at a time
    assert cache.length == 10
    assert torch.allclose(torch.cat(pieces, dim=1), layer(x), atol=1e-12)
    with pytest.raises(ValueError, match="overflow|beyond max_positions"):
        layer(x[:, :1], cache)


def test_rotate_multiplies_each_head_by_unit_complex_numbers():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 8, dtype=torch.float64)  # (B, H, T, hd)
    cos, sin = rotary_tables(5, 8)
    theta = torch.arange(5.0, dtype=torch.float64)[:, None] * torch.tensor([1, 1e-1, 1e-2, 1e-3],
                                                                          dtype=torch.float64)  # 10000^(-2i/8)
    z = torch.complex(x[..., :4], x[..., 4:]) * torch.polar(torch.ones_like(theta), theta)
    assert torch.allclose(rotate(x, cos.double(), sin.double()), torch.cat((z.real, z.imag), dim=-1), atol=1e-6)


def test_rotary_scores_depend_on_relative_position_only():
    torch.manual_seed(0)
    layer = SelfAttention(8, 1, rotary=True, max_positions=20).double()
    q, k = torch.randn(1, 1, 1, 8, dtype=torch.float64), torch.randn(1, 1, 1, 8, dtype=torch.float64)
    def score(i, j):
        return (rotate(q, layer.cos[i:i + 1], layer.sin[i:i + 1]) * rotate(k, layer.cos[j:j + 1], layer.sin[j:j + 1])).sum()

    assert torch.allclose(score(5, 2), score(15, 12))
    assert not torch.allclose(score(5, 2), score(5, 4))


def test_non_causal_attends_everywhere():
    torch.manual_seed(0)
    layer = SelfAttention(8, 2, causal=False).double()
    x = torch.randn(1, 6, 8, dtype=torch.float64)
    changed = x.clone()
    changed[:, -1] += 1
    assert not torch.allclose(layer(x)[:, 0], layer(changed)[:, 0])


@pytest.mark.parametrize("causal", [False, True])
def test_masked_keys_are_ignored(causal):
    """With the last 3 of 7 positions masked, the first 4 outputs equal those of the 4 positions alone,
    whatever the masked positions hold."""
    torch.manual_seed(0)
    layer = SelfAttention(8, 2, causal=causal).double()
    x = torch.randn(2, 7, 8, dtype=torch.float64)
    keep = torch.arange(7) < 4
    masked = layer(x, key_mask=keep.expand(2, 7))
    noisy = layer(torch.cat([x[:, :4], 100 * torch.randn(2, 3, 8, dtype=torch.float64)], 1), key_mask=keep.expand(2, 7))
    alone = layer(x[:, :4])
    assert torch.allclose(masked[:, :4], alone, atol=1e-10) and torch.allclose(noisy[:, :4], alone, atol=1e-10)
    if not causal:
        assert not torch.allclose(layer(x)[:, :4], alone, atol=1e-3)  # without the mask the padding is seen


@pytest.mark.parametrize("causal", [False, True])
def test_attention_blocks_are_pre_norm_residual_layers_with_stable_weight_names(causal):
    torch.manual_seed(0)
    blocks = AttentionBlocks(8, 2, 2, causal=causal).double()
    # Saved rgan and textgan models hold these names (under their own attribute): they must not change.
    assert sorted(blocks.state_dict()) == sorted(f"{part}.{i}.{name}" for i in range(2) for part, names in
                                                 (("norms", ("weight", "bias")),
                                                  ("attentions", ("qkv.weight", "qkv.bias", "out.weight", "out.bias")))
                                                 for name in names)
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    expected = x
    for norm, attention in zip(blocks.norms, blocks.attentions):
        assert attention.causal == causal
        expected = expected + attention(norm(expected))
    assert torch.allclose(blocks(x), expected, atol=1e-12)
    assert torch.equal(AttentionBlocks(8, 0, 2, causal=causal)(x), x)  # no layers: the identity
