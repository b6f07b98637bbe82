"""The shared model contract's helpers."""

import pytest
import torch

from genlab.models.base import evaluating


def test_evaluating_switches_to_eval_mode_and_restores_the_mode_even_on_error():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    with pytest.raises(RuntimeError, match="inside"):
        with evaluating(net):
            assert not net.training and not net[1].training
            raise RuntimeError("inside")
    assert net.training and net[1].training
    net.eval()
    with evaluating(net) as same:
        assert same is net
    assert not net.training  # a module that was in eval mode stays there
