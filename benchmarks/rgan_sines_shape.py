"""How sine-like a trained sines model's samples are: a diagnostic finer than the TimeGAN scores.

    python benchmarks/rgan_sines_shape.py RUN [RUN ...] --samples 4000

Every TimeGAN sine is x_t = (sin(f t + p) + 1) / 2 with f and p ~ U(0, 0.1), each feature drawn on
its own. This fits that form to each feature of each generated sequence (a grid of 320
frequencies in (0, 0.16]; for each, sin(f t) and cos(f t) by least squares; the best frequency
wins, its coefficients give the phase) and compares with fresh real sines fitted the same way:

- ``fit_rms``: root-mean-square residual of the best fit, on the (sin + 1) / 2 axis; real sines
  fit to rounding;
- ``frequency`` / ``phase``: quantiles, and the Kolmogorov-Smirnov distance between the real and
  generated distributions;
- ``cross_feature_correlation``: the largest |correlation| of fitted frequencies (and phases)
  between two features, which are independent in the data.

None of these is a TimeGAN score; they say what a generator gets wrong when its discriminative
score is near the floor (``benchmarks/rgan_sines_floor.py``). JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from genlab.data.sequences import sines
from genlab.sampling import load_model

FREQUENCIES = np.linspace(0.0005, 0.16, 320)
QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)


def fit_sines(values: np.ndarray) -> dict[str, np.ndarray]:
    """(N, T, F) values on the (sin + 1) / 2 axis → per sequence and feature (N, F): the fitted
    frequency, phase and RMS residual (on the same axis)."""
    n, steps, features = values.shape
    x = (2 * values - 1).transpose(0, 2, 1).reshape(-1, steps).T  # (T, N·F) on the sine's own axis
    t = np.arange(steps)
    best = np.full(x.shape[1], np.inf)
    frequency, phase = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for f in FREQUENCIES:
        basis = np.stack([np.sin(f * t), np.cos(f * t)], axis=1)  # sin(f t + p) = cos p · sin f t + sin p · cos f t
        coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
        error = ((basis @ coef - x) ** 2).mean(0)
        better = error < best
        best[better], frequency[better] = error[better], f
        phase[better] = np.arctan2(coef[1, better], coef[0, better])
    shaped = {"frequency": frequency, "phase": phase, "fit_rms": np.sqrt(best) / 2}
    return {name: v.reshape(n, features) for name, v in shaped.items()}


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.sort(a.ravel()), np.sort(b.ravel())
    grid = np.concatenate([a, b])
    return float(np.abs(np.searchsorted(a, grid, "right") / len(a) - np.searchsorted(b, grid, "right") / len(b)).max())


def largest_cross_correlation(v: np.ndarray) -> float:
    c = np.corrcoef(v.T)
    return float(np.abs(c - np.eye(len(c))).max())


def describe(fitted: dict[str, np.ndarray], real: dict[str, np.ndarray] | None) -> dict:
    out = {}
    for name, v in fitted.items():
        out[name] = {"quantiles": {str(q): round(float(x), 5) for q, x in zip(QUANTILES, np.quantile(v, QUANTILES))}}
        if real is not None:
            out[name]["ks_vs_real"] = round(ks_distance(real[name], v), 3)
    out["cross_feature_correlation"] = {name: round(largest_cross_correlation(fitted[name]), 3)
                                        for name in ("frequency", "phase")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("runs", nargs="+", type=Path, help="runs (or model folders) trained on the sines")
    parser.add_argument("--samples", type=int, default=4000, help="sequences per model, and of fresh real sines")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    real = fit_sines(sines(args.samples, seed=1000 + args.seed))  # a seed no benchmark trains on
    result = {"command": shlex.join(["python", *sys.argv]), "samples": args.samples,
              "real": {"data": f"{args.samples:,} fresh sines, seed {1000 + args.seed}", **describe(real, None)},
              "models": {}}
    for run in args.runs:
        model = load_model(run)
        if not model.config.trained_on_sines:
            raise SystemExit(f"{run} was not trained on the sines")
        draws = [model.generate(min(1000, args.samples - start), torch.Generator().manual_seed(args.seed + i))
                 for i, start in enumerate(range(0, args.samples, 1000))]
        values = model.scaling.unscale(torch.cat(draws).double()).numpy()
        result["models"][str(run)] = describe(fit_sines(values), real)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
