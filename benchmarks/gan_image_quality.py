"""Image quality of the packaged GAN configs on MNIST and CIFAR-10, printed as JSON.

    python benchmarks/gan_image_quality.py --images ../shared/data/images      # the MNIST configs
    python benchmarks/gan_image_quality.py --images ../shared/data/images --configs cifar10-sagan --steps 200

For each packaged image config: train it on the dataset's training split (MNIST configs on
mnist_train.npz, CIFAR-10 configs on both cifar10_train parts), with the config's own steps or
``--steps``; then draw ``--samples`` images (seed 0, rounded to uint8 like saved PNGs) and score
them against the full test split with genlab's shipped evaluator of that dataset: FD-<dataset>
(Fréchet distance on its 128-d features; not FID), KID on the same features, the number of classes
the evaluator sees, and for conditional models the evaluator's accuracy on the requested classes.
Training time is wall time with the threads torch uses (printed), and the process's CPU time on them.

No Inception FID here: the standard weights are not available offline on this machine, and the
CIFAR-10 configs are GPU recipes that a CPU can run only for a sliver of their steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from genlab import __version__
from genlab.config import load_config_file
from genlab.errors import run_main
from genlab.metrics.evaluators import evaluator_record
from genlab.metrics.images import evaluate_images
from genlab.train.run import build_run_config

from common import read_images, timed_training

# config -> its dataset, which is also the name of the evaluator that scores it
CONFIGS = {
    "mnist-dcgan": "mnist",
    "mnist-conditional": "mnist",
    "cifar10-sngan": "cifar10",
    "cifar10-sngan-conditional": "cifar10",
    "cifar10-sagan": "cifar10",
}
SPLITS = {"mnist": (["mnist_train.npz"], "mnist_test.npz"),
          "cifar10": (["cifar10_train_part1.npz", "cifar10_train_part2.npz"], "cifar10_test.npz")}


def training_file(images: Path, dataset: str, folder: Path) -> Path:
    """One .npz holding the dataset's whole training split (the CIFAR-10 copy comes in two parts)."""
    parts = [images / f for f in SPLITS[dataset][0]]
    joined = folder / f"{dataset}_train.npz"
    if len(parts) == 1:
        return parts[0]
    if not joined.exists():
        x, y = read_images(parts)
        np.savez(joined, x=x, y=y)
    return joined


def scores(source: Path, images: Path, dataset: str, metrics: list[str], samples: int) -> dict:
    """The metrics of ``samples`` images of ``source`` against the dataset's test split, protocols kept."""
    found = evaluate_images(source, images / SPLITS[dataset][1], metrics=metrics, n=samples, extractor=dataset,
                            use_cache=False, progress=False)
    return {metric: {k: v for k, v in value.items() if k in ("value", "std", "of", "protocol", "warning")}
            for metric, value in found.items()}


def real_data(images: Path, dataset: str, folder: Path, samples: int) -> dict:
    """The same scores for training images in place of samples: what a perfect generator would get."""
    return {"config": f"real {dataset} training images (the floor)",
            "scores": scores(training_file(images, dataset, folder), images, dataset, ["fd", "kid", "modes"], samples)}


def run_config(name: str, images: Path, folder: Path, steps: int | None, samples: int) -> dict:
    dataset = CONFIGS[name]
    overrides = {"data": {"path": str(training_file(images, dataset, folder))},
                 "train": {"out": str(folder / name), "seed": 0}}
    if steps:
        overrides["train"]["steps"] = steps
    config = build_run_config(None, load_config_file(name), overrides)
    run_dir, seconds, cpu_seconds = timed_training(config)
    metrics = ["fd", "kid", "modes"] + (["acc"] if config.model.conditional else [])
    return {"config": name, "steps": config.train.steps, "batch_size": config.train.batch_size,
            "seed": config.train.seed, "data": config.data.path,
            # What ran, so a later change to the packaged config cannot make this result ambiguous.
            "model_config": dataclasses.asdict(config.model), "genlab": __version__,
            "train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu_seconds, 1),
            "scores": scores(run_dir, images, dataset, metrics, samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True, help="folder with mnist_*.npz and cifar10_*.npz")
    parser.add_argument("--configs", nargs="+", default=[n for n in CONFIGS if CONFIGS[n] == "mnist"],
                        choices=list(CONFIGS), help="default: the MNIST configs (the CIFAR-10 ones are GPU recipes)")
    parser.add_argument("--steps", type=int, help="override every config's steps")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = {
        "command": "python " + shlex.join(sys.argv),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "evaluators": {name: evaluator_record(name)["test_accuracy"] for name in sorted(set(CONFIGS.values()))},
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in sorted({CONFIGS[name] for name in args.configs}):
            result["runs"].append(real_data(args.images, dataset, Path(tmp), args.samples))
        for name in args.configs:
            result["runs"].append(run_config(name, args.images, Path(tmp), args.steps, args.samples))
            print(json.dumps(result["runs"][-1]), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    run_main(main)
