"""Train genlab's shipped evaluators from ../shared/data/images and write them into the package.

    flock /tmp/genlab-cpu.lock .venv/bin/python benchmarks/train_evaluators.py mnist --epochs 3 --width 32
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_evaluators.py fashion-mnist --width 32 --depth 2 \
        --epochs 18 --lr 0.1 --bf16 --threads 1
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_evaluators.py cifar10 --width 32 --depth 2 \
        --epochs 40 --lr 0.1 --bf16 --threads 1

Writes ``src/genlab/metrics/weights/<name>.safetensors`` and ``<name>.json`` (config, test accuracy
on the full test split, training protocol, sha256 of the weights) and prints the record as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch

from genlab import __version__
from genlab.errors import run_main
from genlab.fileio import atomic_write_json
from genlab.metrics.evaluators import EvaluatorConfig, accuracy, train_evaluator, weights_dir
from genlab.models.base import save_weights

from common import command_line, read_images

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"
# name -> (train files, test file, channels, resolution, horizontal flips, shift in pixels)
DATASETS = {
    "mnist": (["mnist_train.npz"], "mnist_test.npz", 1, 28, False, 2),
    "fashion-mnist": (["fashion_mnist_train.npz"], "fashion_mnist_test.npz", 1, 28, True, 2),
    # ±4 px: the usual random-crop augmentation of CIFAR; its objects are not centred like the digits
    "cifar10": (["cifar10_train_part1.npz", "cifar10_train_part2.npz"], "cifar10_test.npz", 3, 32, True, 4),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--depth", type=int, default=1, help="3x3 convolutions per stage")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--bf16", action="store_true", help="train under bfloat16 autocast (evaluation stays float32)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--max-train", type=int, help="train on the first N images only (smoke runs)")
    parser.add_argument("--out", type=Path, default=weights_dir())
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train_files, test_file, channels, resolution, flip, shift = DATASETS[args.dataset]
    x, y = read_images([DATA / f for f in train_files])
    if args.max_train:
        x, y = x[:args.max_train], y[:args.max_train]
    x_test, y_test = read_images([DATA / test_file])
    config = EvaluatorConfig(channels=channels, resolution=resolution, width=args.width, depth=args.depth)
    start = time.perf_counter()
    model, protocol = train_evaluator(x, y, config, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                      flip=flip, shift=shift, bf16=args.bf16)
    seconds = time.perf_counter() - start
    weights = args.out / f"{args.dataset}.safetensors"
    save_weights(model, weights)
    record = {
        "name": args.dataset, "command": command_line(), "config": protocol.pop("config"),
        "test_accuracy": accuracy(model, x_test, y_test), "test_examples": len(x_test),
        "test_data": f"{test_file} (full test split)", "train_data": ", ".join(train_files),
        "training": protocol, "train_seconds": round(seconds, 1), "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "genlab": __version__, "torch": torch.__version__,
    }
    atomic_write_json(args.out / f"{args.dataset}.json", record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    run_main(main)
