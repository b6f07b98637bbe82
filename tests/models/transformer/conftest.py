import pytest
import torch

from genlab.models.transformer import Transformer, TransformerConfig

VOCAB = list("\n abcdefghijklmnopqrstuvwxyz")


@pytest.fixture
def tiny_model():
    """A random 2-layer char model (context 8) in float64, so cached and recomputed logits agree
    far below any difference between tokens."""

    def build(scale: float = 0.0, **options) -> Transformer:
        torch.manual_seed(0)
        config = TransformerConfig(vocab=list(VOCAB), context=8, layers=2, heads=2, width=16, **options)
        model = Transformer(config).double().eval()
        if scale:  # large random weights: greedy decoding of a fresh model then varies instead of looping
            for p in model.parameters():
                torch.nn.init.normal_(p, 0.0, scale)
        return model

    return build
