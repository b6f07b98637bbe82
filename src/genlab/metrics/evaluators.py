"""genlab's own evaluators: small image classifiers whose features give FD-<dataset>.

Each evaluator is a small convolutional network (three stages of ``depth`` 3x3 convolutions, then a
128-channel one) trained by genlab on one dataset (MNIST, Fashion-MNIST, CIFAR-10) and shipped
inside the package as ``weights/<name>.safetensors`` with a ``weights/<name>.json`` record
(architecture, test accuracy, training protocol). Its 128-d penultimate features stand in for
Inception features on small images: the Fréchet distance on them is reported as "FD-<name>",
never as FID. Its logits give class-aware metrics.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from genlab.errors import CheckpointError, ConfigError, DataError
from genlab.models.base import load_weights

FEATURE_DIM = 128


@dataclass
class EvaluatorConfig:
    channels: int = 1
    resolution: int = 28
    num_classes: int = 10
    width: int = 16  # channels of the first stage; the next two double it
    depth: int = 1  # 3x3 convolutions per stage; those past the first are residual


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """``x + block(x)``: the skip keeps a deeper stage as easy to train as a shallow one."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Evaluator(nn.Module):
    """Classifier on uint8-derived images in [-1, 1]; ``features`` is its 128-d penultimate layer."""

    def __init__(self, config: EvaluatorConfig) -> None:
        super().__init__()
        if config.width < 1 or config.depth < 1:
            raise ConfigError(f"An evaluator needs width and depth of at least 1 (got width {config.width}, depth "
                              f"{config.depth}); pass --width and --depth of 1 or more.")
        self.config = config
        w = config.width
        # depth 1 keeps the layer indices (and so the weight names) of the evaluators shipped before depth
        layers: list[nn.Module] = []
        cin = config.channels
        for stage, cout in enumerate((w, 2 * w, 4 * w)):
            layers.append(conv_block(cin, cout))
            layers += [Residual(conv_block(cout, cout)) for _ in range(config.depth - 1)]
            if stage < 2:
                layers.append(nn.MaxPool2d(2))  # stage 0: (B, w, H/2, W/2); stage 1: (B, 2w, H/4, W/4)
            cin = cout
        layers += [conv_block(4 * w, FEATURE_DIM), nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (B, 128)
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(FEATURE_DIM, config.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] → features (B, 128)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))  # (B, num_classes) logits


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images (N, H, W, C) → float (N, C, H, W) in [-1, 1]."""
    x = torch.as_tensor(images)
    return x.permute(0, 3, 1, 2).float().div(127.5).sub(1)


def weights_dir() -> Path:
    return Path(str(resources.files("genlab.metrics") / "weights"))


def shipped_evaluators() -> list[str]:
    return sorted(p.stem for p in weights_dir().glob("*.json"))


def evaluator_record(name: str) -> dict[str, Any]:
    """The shipped JSON record of an evaluator: config, test accuracy, training protocol."""
    if name not in shipped_evaluators():
        raise ConfigError(f"--extractor {name!r} is not a shipped evaluator; choose one of "
                          f"{', '.join(shipped_evaluators() + ['inception'])}.")
    return json.loads((weights_dir() / f"{name}.json").read_text(encoding="utf-8"))


def load_evaluator(name: str, device: str | torch.device = "cpu") -> Evaluator:
    """The shipped evaluator ``name`` (e.g. "mnist"), its weights checked against the recorded sha256, in eval mode."""
    record = evaluator_record(name)
    path = weights_dir() / f"{name}.safetensors"
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != record["sha256"]:
        raise CheckpointError(f"{path} is missing or differs from the weights genlab shipped (sha256 "
                              f"{record['sha256'][:16]}…); reinstall genlab.")
    model = Evaluator(EvaluatorConfig(**record["config"]))
    load_weights(model, path)
    return model.to(device).eval()


@torch.no_grad()
def evaluator_outputs(model: Evaluator, images: np.ndarray, batch_size: int = 500,
                      progress: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, H, W, C) → (features (N, 128) float64, class probabilities (N, classes) float64)."""
    cfg = model.config
    if images.shape[1:] != (cfg.resolution, cfg.resolution, cfg.channels):
        raise DataError(f"The images are {images.shape[1]}x{images.shape[2]} with {images.shape[3]} channel(s), but "
                        f"this evaluator takes {cfg.resolution}x{cfg.resolution} with {cfg.channels}; pick the "
                        "evaluator of their dataset with --extractor.")
    device = next(model.parameters()).device
    features, probs = [], []
    quiet = None if progress is None else not progress  # None: a bar only on a terminal
    for start in tqdm(range(0, len(images), batch_size), desc="features", disable=quiet, leave=False):
        x = to_input(images[start:start + batch_size]).to(device)
        f = model.features(x)
        features.append(f.double().cpu())
        probs.append(model.head(f).softmax(-1).double().cpu())
    return torch.cat(features), torch.cat(probs)


def accuracy(model: Evaluator, images: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of the evaluator on labelled uint8 images (N, H, W, C)."""
    _, probs = evaluator_outputs(model, images, progress=False)
    return float((probs.argmax(-1).numpy() == labels).mean())


def _augment(x: torch.Tensor, flip: bool, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Random translations by up to ``shift`` pixels (padded with black, -1) and optional horizontal flips."""
    b, c, h, w = x.shape
    padded = F.pad(x, (shift,) * 4, value=-1.0)  # (B, C, H+2s, W+2s), padded with black
    dy, dx = torch.randint(0, 2 * shift + 1, (2, b), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # (B, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # (B, 1, 1, W)
    x = padded[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


def train_evaluator(images: np.ndarray, labels: np.ndarray, config: EvaluatorConfig, *, epochs: int,
                    batch_size: int = 128, lr: float = 0.05, flip: bool = False, shift: int = 2,
                    bf16: bool = False, seed: int = 0) -> tuple[Evaluator, dict[str, Any]]:
    """Train an evaluator with SGD + Nesterov momentum, one-cycle LR and label smoothing 0.1.

    ``images``: uint8 (N, H, W, C); ``labels``: int (N,). ``bf16``: bfloat16 autocast, 1.7x faster here
    on CPUs with AVX512-BF16; the model stays float32. Returns the model (eval mode) and its protocol.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = Evaluator(config).to(memory_format=torch.channels_last)
    x_all, y_all = to_input(images), torch.as_tensor(labels, dtype=torch.long)
    steps_per_epoch = len(x_all) // batch_size
    total = epochs * steps_per_epoch
    if total < 1:
        raise ConfigError(f"Training an evaluator needs at least 1 epoch of at least one batch; got {epochs} epoch(s) "
                          f"of {len(x_all)} images at --batch-size {batch_size}; pass more epochs or images or a "
                          "smaller --batch-size.")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total, pct_start=0.25)
    model.train()
    bar = tqdm(total=total, desc="train evaluator")
    for _ in range(epochs):
        order = torch.randperm(len(x_all), generator=generator)
        for step in range(steps_per_epoch):
            index = order[step * batch_size:(step + 1) * batch_size]
            x = _augment(x_all[index], flip, shift, generator).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(x), y_all[index], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    protocol = {"epochs": epochs, "batch_size": batch_size, "optimizer": "SGD nesterov momentum 0.9, wd 5e-4",
                "schedule": f"one-cycle, max lr {lr}", "label_smoothing": 0.1, "seed": seed,
                "augmentation": f"shift ±{shift} px" + (", horizontal flip" if flip else ""),
                "precision": "bfloat16 autocast" if bf16 else "float32",
                "train_examples": len(x_all), "config": asdict(config)}
    return model.to(memory_format=torch.contiguous_format).eval(), protocol


def mode_count(probs: torch.Tensor) -> int:
    """How many classes are the evaluator's top prediction for at least one sample of ``probs`` (N, classes)."""
    return int(torch.bincount(probs.argmax(-1), minlength=probs.shape[-1]).gt(0).sum())

