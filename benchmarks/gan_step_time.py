"""Thread time of one training step of the Stacked MNIST GAN (or a GAN with other options), printed as JSON.

Protocol: the model's own ``training_step`` on one fixed batch of random images in [-1, 1] (speed
does not depend on the pixels), under bf16 autocast with ``--precision bf16``; ``--warmup`` untimed
steps, then ``--steps`` timed ones. The time is ``time.thread_time()``, the CPU time of this thread,
so another job on the machine slows the wall clock more than it moves this figure (caches and memory
bandwidth are still shared: compare versions run one after the other, not figures from other days).
To compare two versions of genlab, run the script once with each on PYTHONPATH:

    PYTHONPATH=/tmp/old/src python benchmarks/gan_step_time.py --precision bf16
    python benchmarks/gan_step_time.py --precision bf16

The defaults are the Stacked MNIST recipe's model (``benchmarks/gan_stacked_mnist.py``): DCGAN at
28×28×3, pack 2, R1 γ = 1 every 16 steps, feature matching 100, batch 64. One R1 step falls in every
16, so ``--steps`` is best a multiple of 16.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import genlab
from genlab.errors import run_main
from genlab.models.gan import DCGAN, DCGANConfig

from common import command_line, model_options

STACKED_MNIST = {"resolution": 28, "channels": 3, "pack": 2, "r1_gamma": 1.0, "r1_every": 16,
                 "feature_matching": 100.0, "lr_generator": 0.0016, "lr_discriminator": 0.0016}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=16)
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="model options over the Stacked MNIST ones, e.g. channels_last=false")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    options = {**STACKED_MNIST, **model_options(args.set)}
    model = DCGAN(DCGANConfig(**options))
    optimizers = model.configure_optimizers()
    images = torch.rand(args.batch_size, options["channels"], options["resolution"], options["resolution"]) * 2 - 1
    # A conditional model (--set conditional=true num_classes=K) gets the batch's labels cycling through the classes.
    labels = torch.arange(args.batch_size) % options["num_classes"] if options.get("conditional") else None
    batch = {"images": images, "labels": labels}

    def run(steps: int, first: int) -> None:
        for step in range(first, first + steps):
            model.on_train_step(step, optimizers)
            with torch.autocast("cpu", torch.bfloat16, enabled=args.precision == "bf16"):  # as the trainer does
                model.training_step(batch, optimizers)

    run(args.warmup, 0)
    start = time.thread_time()
    run(args.steps, args.warmup)
    per_step = (time.thread_time() - start) / args.steps
    print(json.dumps({
        "command": command_line(),
        "genlab": {"version": genlab.__version__, "source": genlab.__file__},
        "torch": torch.__version__,
        "model": options,
        "precision": args.precision,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "warmup_steps": args.warmup,
        "timed_steps": args.steps,
        "ms_per_step_thread_time": round(per_step * 1000, 2),
    }, indent=2))


if __name__ == "__main__":
    run_main(main)
