"""Sanity anchors of the image metrics, printed as JSON.

    flock /tmp/genlab-cpu.lock .venv/bin/python benchmarks/metrics_sanity.py [--datasets mnist,fashion-mnist]

For each shipped evaluator with data in ../shared/data/images:
- FD-<name> and KID-<name> between the full train split (reference) and the full test split: ≈ 0;
- FD-<name> of the test split with Gaussian pixel noise (sigma in 0..255 units) and with Gaussian
  blur (PIL radius in pixels) of growing strength against the train split: must grow monotonically;
- KID between two disjoint halves of the test split: unbiased, so ≈ 0 within its std where the halves
  are alike (MNIST's are not: its first 5,000 test digits come from NIST's cleaner writers).
The Inception FID anchor (CIFAR-10 train vs test = 3.15) needs pt_inception-2015-12-05-6726825d.pth,
which cannot be downloaded here; it is run only when --inception-weights is given.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from genlab.errors import run_main
from genlab.metrics.extractors import get_extractor
from genlab.metrics.frechet import frechet_distance_features
from genlab.metrics.kid import kernel_distance

from common import command_line, read_images

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"
SPLITS = {"mnist": ("mnist_train.npz", "mnist_test.npz"),
          "fashion-mnist": ("fashion_mnist_train.npz", "fashion_mnist_test.npz"),
          "cifar10": ("cifar10_train_part1.npz+cifar10_train_part2.npz", "cifar10_test.npz")}
NOISE = [0, 8, 16, 32, 64, 128]
BLUR = [0, 0.5, 1.0, 1.5, 2.0, 3.0]


def read(files: str) -> np.ndarray:
    """The images of ``a.npz+b.npz``: one file, or parts read one after another."""
    return read_images([DATA / name for name in files.split("+")])[0]


def noisy(x: np.ndarray, sigma: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(x + rng.normal(0, sigma, x.shape), 0, 255).round().astype(np.uint8)


def blurred(x: np.ndarray, radius: float) -> np.ndarray:
    if radius == 0:
        return x
    out = [np.asarray(Image.fromarray(im.squeeze(-1) if im.shape[-1] == 1 else im).filter(
        ImageFilter.GaussianBlur(radius))) for im in x]
    out = np.stack(out)
    return out[..., None] if out.ndim == 3 else out


def anchors(name: str) -> dict:
    train_files, test_file = SPLITS[name]
    train, test = read(train_files), read(test_file)
    extractor = get_extractor(name, progress=False)
    real, _ = extractor.outputs(train)
    test_features, _ = extractor.outputs(test)
    half = len(test) // 2
    result = {
        "protocol": f"reference: {train_files} ({len(train)} train images); generated: {test_file} ({len(test)} "
                    f"test images) perturbed; {extractor.description}",
        f"FD-{name} train vs test": frechet_distance_features(test_features, real),
        f"KID-{name} train vs test": kernel_distance(test_features, real),
        f"KID-{name} test half vs half": kernel_distance(test_features[:half], test_features[half:]),
        "noise sigma": NOISE, "blur radius": BLUR,
    }
    for kind, perturb, strengths in (("noise", noisy, NOISE), ("blur", blurred, BLUR)):
        result[f"FD-{name} vs {kind}"] = [frechet_distance_features(extractor.outputs(perturb(test, s))[0], real)
                                          for s in strengths]
    for kind in ("noise", "blur"):
        values = result[f"FD-{name} vs {kind}"]
        result[f"monotone in {kind}"] = all(a < b for a, b in zip(values, values[1:]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="mnist,fashion-mnist")
    parser.add_argument("--inception-weights", help="run the CIFAR-10 FID anchor (expected 3.15) with these weights")
    args = parser.parse_args()
    start = time.perf_counter()
    report = {"command": command_line(), **{name: anchors(name) for name in args.datasets.split(",")}}
    if args.inception_weights:
        inception = get_extractor("inception", inception_weights=args.inception_weights)
        train, test = (read(f) for f in SPLITS["cifar10"])
        report["FID CIFAR-10 train vs test (published: 3.15)"] = {
            "value": frechet_distance_features(inception.outputs(test)[0], inception.outputs(train)[0]),
            "protocol": f"reference: {SPLITS['cifar10'][0]} ({len(train)} train images); generated: "
                        f"{SPLITS['cifar10'][1]} ({len(test)} test images); {inception.description}"}
    else:
        report["FID CIFAR-10 train vs test"] = ("not checked: needs pt_inception-2015-12-05-6726825d.pth "
                                                "(--inception-weights), unavailable offline")
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    run_main(main)
