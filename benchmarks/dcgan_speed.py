"""DCGAN training and sampling throughput on this machine, printed as JSON.

Protocol: synthetic batches of the right shape (data loading is not what is measured), fp32,
``--warmup`` untimed steps then ``--steps`` timed steps, best of ``--repeats``. Also measured in
the same run: the fp32 matmul GFLOP/s of this machine, and a step written the way the widely
used PyTorch example writes it (Sigmoid + BCELoss, separate real/fake backward passes,
discriminator weight gradients computed during the generator update, ``zero_grad()`` on the
modules), on the same architecture, so the two are compared on equal terms.

    python benchmarks/dcgan_speed.py            # all settings
    python benchmarks/dcgan_speed.py --quick    # fewer steps
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time

import torch
import torch.nn.functional as F

from genlab.errors import run_main
from genlab.models.gan import DCGAN, DCGANConfig


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def reference_style_step(model: DCGAN, real: torch.Tensor, optimizers: dict) -> None:
    """One step as the PyTorch example writes it (kept here only to compare against)."""
    net_g, net_d = model.generator, model.discriminator

    def score(images):
        return net_d(images)[0]  # (logits, class logits) → logits
    b = real.shape[0]
    ones, zeros = torch.full((b,), 1.0), torch.full((b,), 0.0)
    net_d.zero_grad()
    err_real = F.binary_cross_entropy(torch.sigmoid(score(real)), ones)
    err_real.backward()
    fake = net_g(torch.randn(b, model.config.latent_dim))
    err_fake = F.binary_cross_entropy(torch.sigmoid(score(fake.detach())), zeros)
    err_fake.backward()
    optimizers["discriminator"].step()
    net_g.zero_grad()
    err_g = F.binary_cross_entropy(torch.sigmoid(score(fake)), ones)
    err_g.backward()
    optimizers["generator"].step()
    (err_real + err_fake).item(), err_g.item()  # the example prints these every step


def time_training(resolution: int, channels: int, batch: int, steps: int, warmup: int, repeats: int,
                  channels_last: bool, reference: bool) -> float:
    torch.manual_seed(0)
    model = DCGAN(DCGANConfig(resolution=resolution, channels=channels, channels_last=channels_last))
    real = torch.rand(batch, channels, resolution, resolution) * 2 - 1
    optimizers = model.configure_optimizers()
    batch_dict = {"images": real}

    def step():
        if reference:
            reference_style_step(model, real, optimizers)
        else:
            model.training_step(batch_dict, optimizers)

    for _ in range(warmup):
        step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, time.perf_counter() - start)
    return batch * steps / best


def time_sampling(resolution: int, channels: int, batch: int, repeats: int) -> float:
    model = DCGAN(DCGANConfig(resolution=resolution, channels=channels)).eval()
    model.sample(batch)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.sample(batch)
        best = min(best, time.perf_counter() - start)
    return batch / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps, warmup, repeats = (5, 2, 2) if args.quick else (20, 3, 3)
    result = {
        "command": shlex.join(["python", *sys.argv]),  # (not common.py's: importing it tunes the allocator)
        "protocol": f"synthetic batches, fp32, {warmup} warm-up steps, best of {repeats} x {steps} timed steps",
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "torch": torch.__version__},
        "matmul_fp32_gflops": round(matmul_gflops(), 1),
        "train_images_per_s": {},
        "sample_images_per_s": {},
    }
    for resolution, channels in ((64, 3), (28, 1)):
        key = f"{resolution}x{resolution}x{channels}_batch64"
        result["train_images_per_s"][key] = {
            name: round(time_training(resolution, channels, 64, steps, warmup, repeats, cl, ref), 1)
            for name, cl, ref in (("genlab", True, False), ("genlab_contiguous_nchw", False, False),
                                  ("reference_style_nchw", False, True))
        }
        result["sample_images_per_s"][key] = round(time_sampling(resolution, channels, 64, repeats * 3), 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    run_main(main)
