"""VAE / IWAE on dynamically binarised MNIST: test NLL by importance sampling, and training time.

Protocol: train on the 60,000 MNIST training images (``../shared/data/images/mnist_train.npz``),
binarised afresh at every step (Bernoulli(p / 255)); evaluate on the test images binarised once with
seed 0: the NLL is -log (1/k) Σ p(x, z_i) / q(z_i|x), k = ``--k`` draws per example (5,000 in the
literature: Burda et al. 2016 report 86.76 nats for a VAE and 84.78 for an IWAE with k = 50, both
MLPs). ``--dataset cifar10`` trains on CIFAR-10 (discretised logistic likelihood) and reports bits/dim
on its test images instead. The training time is wall-clock on this machine, threads as given.

    flock /tmp/genlab-cpu.lock python benchmarks/vae_mnist.py --model vae --epochs 1 --eval-examples 1000
    flock /tmp/genlab-cpu.lock python benchmarks/vae_mnist.py --model iwae --epochs 1 --eval-examples 1000
    flock /tmp/genlab-cpu.lock python benchmarks/vae_mnist.py --dataset cifar10 --steps 300 --k 100 --eval-examples 500

Any model option can be added as --model.KEY VALUE (e.g. --model.latent_dim 50). A long run can be
split in two so the CPU lock is released between them: ``--phase train --out DIR`` trains and writes
DIR/train.json; ``--phase eval --out DIR`` evaluates DIR/run and prints the whole result.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

from genlab.config import parse_overrides
from genlab.errors import run_main
from genlab.models.base import EvalOptions
from genlab.sampling import load_model
from genlab.train.run import build_run_config

from common import timed_training

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"
SPLITS = {"mnist": ("mnist_train.npz", "mnist_test.npz", 60_000),
          "cifar10": ("cifar10_train_part1.npz", "cifar10_test.npz", 25_000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=SPLITS, default="mnist")
    parser.add_argument("--model", choices=("vae", "iwae"), default="vae")
    parser.add_argument("--epochs", type=float, default=1.0, help="training epochs (ignored with --steps)")
    parser.add_argument("--steps", type=int, help="training steps")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--k", type=int, default=5000, help="importance samples per test example")
    parser.add_argument("--eval-examples", type=int, help="first N test images (default: all)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", help="folder of the run (default: a temporary one)")
    parser.add_argument("--phase", choices=("all", "train", "eval"), default="all",
                        help="train and evaluate, or only one of them (eval reads --out DIR/train.json)")
    args, rest = parser.parse_known_args()  # the rest: --model.KEY VALUE options
    torch.set_num_threads(args.threads)
    if args.phase != "all" and not args.out:
        parser.error("--phase train/eval needs --out DIR, where the two phases meet")
    out = Path(args.out or tempfile.mkdtemp(prefix="vae-bench-"))
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    trained = (train_phase(args, parse_overrides(rest), out, command) if args.phase != "eval"
               else json.loads((out / "train.json").read_text()))
    if args.phase != "train":
        print(json.dumps(evaluate_phase(args, out, trained, command), indent=2))


def train_phase(args: argparse.Namespace, overrides: dict, out: Path, command: str) -> dict:
    """Train into ``out``/run; the timing and command, also written to ``out``/train.json."""
    train_file, _, train_size = SPLITS[args.dataset]
    steps = args.steps or round(args.epochs * (train_size // args.batch_size))
    model = {"name": args.model, **({"likelihood": "logistic"} if args.dataset == "cifar10" else {}),
             **overrides.get("model", {})}
    config = build_run_config("vae", overrides={
        "model": model, "data": {"path": str(DATA / train_file)},
        "train": {"steps": steps, "batch_size": args.batch_size, "out": str(out / "run"), "log_every": 100,
                  "sample_every": steps, "checkpoint_every": steps, "device": "cpu"}})
    _, train_seconds, cpu_seconds = timed_training(config)
    epochs = steps * args.batch_size / train_size
    trained = {"train_steps": steps, "train_epochs": epochs, "train_seed": config.train.seed,
               "train_seconds": train_seconds, "train_cpu_seconds": cpu_seconds,  # wall, and all threads' CPU
               "seconds_per_epoch": train_seconds / epochs, "train_threads": args.threads,
               "train_command": command}
    (out / "train.json").write_text(json.dumps(trained, indent=2))
    return trained


def evaluate_phase(args: argparse.Namespace, out: Path, trained: dict, command: str) -> dict:
    """The importance-sampled NLL of ``out``/run on the test split, with the training figures."""
    run = out / "run"
    test_file = SPLITS[args.dataset][1]
    start = time.perf_counter()
    result = load_model(run).evaluate(EvalOptions(data=str(DATA / test_file), nll=True, k=args.k,
                                                  max_examples=args.eval_examples, seed=0))
    eval_seconds = time.perf_counter() - start
    model = json.loads((run / "config.json").read_text())["model"]
    return {
        "benchmark": f"{model['name']} on {args.dataset}",
        "test_nll_nats": result["nll"],
        "test_nll_standard_error": result["nll_standard_error"],
        "test_bits_per_dim": result["bits_per_dim"],
        "test_elbo": result["elbo"],
        "active_units": result["active_units"],
        **trained,
        "eval_seconds": eval_seconds,
        "model": model,
        "protocol": result["protocol"],
        "machine": {"threads": args.threads, "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__},
        "command": command,
    }


if __name__ == "__main__":
    run_main(main)
