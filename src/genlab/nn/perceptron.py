"""Multi-layer perceptrons: the hidden layers the MLP players of the families share."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def hidden_layers(widths: list[int], activation: Callable[[], nn.Module],
                  linear: Callable[[int, int], nn.Module] = nn.Linear) -> list[nn.Module]:
    """``linear(a, b)`` then ``activation()`` for each consecutive pair (a, b) of ``widths``."""
    layers: list[nn.Module] = []
    for size_in, size_out in zip(widths, widths[1:]):
        layers += [linear(size_in, size_out), activation()]
    return layers


def perceptron(inputs: int, outputs: int, width: int, depth: int, activation: Callable[[], nn.Module]) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units, each followed by ``activation()``, then a linear read-out."""
    return nn.Sequential(*hidden_layers([inputs] + [width] * depth, activation),
                         nn.Linear(width if depth else inputs, outputs))
