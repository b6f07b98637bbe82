"""Feature extractors by name: genlab's shipped evaluators and the standard FID Inception-v3."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from genlab.metrics.evaluators import evaluator_outputs, evaluator_record, load_evaluator

INCEPTION = "inception"


@dataclass
class Extractor:
    name: str  # "inception" or a shipped evaluator ("mnist", "fashion-mnist", "cifar10")
    label: str  # suffix of the metric names: "" for Inception (FID, KID, IS), "-mnist" for FD-mnist ...
    description: str  # the protocol line printed with every number
    outputs: Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]]  # uint8 (N, H, W, C) → features, probs
    dataset_classes: bool  # whether the probabilities are the dataset's own classes (class-aware metrics)
    weights: str  # which weights compute the features: cached reference features are keyed by it


def get_extractor(name: str, *, inception_weights: str | Path | None = None, device: str | torch.device = "cpu",
                  batch_size: int = 250, progress: bool | None = None) -> Extractor:
    """The extractor ``name``; Inception needs its weight file (see ``inception.find_weights``)."""
    if name == INCEPTION:
        from genlab.metrics.inception import WEIGHTS_NAME, load_inception

        network = load_inception(inception_weights, device)
        return Extractor(INCEPTION, "", f"FID Inception-v3 ({WEIGHTS_NAME}), pool3 2048-d, uint8 input, TF1 bilinear "
                         "resize to 299", lambda images: _inception_outputs(network, images, batch_size, progress),
                         dataset_classes=False, weights=WEIGHTS_NAME)  # the loader checks the file's whole sha256
    record = evaluator_record(name)
    model = load_evaluator(name, device)
    return Extractor(name, f"-{name}", f"genlab evaluator '{name}' (128-d features; test accuracy "
                     f"{record['test_accuracy']:.4f} on {record['test_examples']} {record['test_data']})",
                     lambda images: evaluator_outputs(model, images, batch_size, progress), dataset_classes=True,
                     weights=record["sha256"])


@torch.no_grad()
def _inception_outputs(network: torch.nn.Module, images: np.ndarray, batch_size: int,
                       progress: bool | None) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, H, W, C) → pool3 features (N, 2048) and softmax over 1008 classes, float64."""
    device = next(network.parameters()).device
    features, probs = [], []
    quiet = None if progress is None else not progress  # None: a bar only on a terminal
    for start in tqdm(range(0, len(images), batch_size), desc="inception", disable=quiet, leave=False):
        x = torch.as_tensor(images[start:start + batch_size]).permute(0, 3, 1, 2).to(device)  # (B, C, H, W)
        f, logits = network(x.expand(-1, 3, -1, -1))  # grey images are repeated to RGB
        features.append(f.double().cpu())
        probs.append(logits.double().softmax(-1).cpu())
    return torch.cat(features), torch.cat(probs)
