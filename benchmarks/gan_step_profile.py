"""Where a GAN training step's time goes on a GPU: steps/s of the packaged SNGAN config with and
without each option that could matter, and a profiler table of one configuration, printed as JSON.

    python benchmarks/gan_step_profile.py                       # cifar10-sngan on CUDA
    python benchmarks/gan_step_profile.py --device cpu --batch-size 30 --steps 1 --warmup 1 --variants default

Protocol: the model, optimizers and data are built as ``genlab train --config CONFIG`` builds them
(the trainer's finite-gradient guards included unless a variant turns them off), on random uint8
images of the config's shape (speed does not depend on the pixels). Each variant: ``--warmup``
untimed steps, then ``--steps`` timed steps between two device synchronisations. Then
``torch.profiler`` over ``--profile-steps`` steps of the default: the top operators by self CPU time
and by self device time, and the device's busy time (kernels) as a share of the wall time.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from genlab.config import load_config_file
from genlab.errors import run_main
from genlab.models.registry import get_family
from genlab.train.distributed import compile_modules, networks_to_compile
from genlab.train.guards import install_finite_guards
from genlab.train.rng import seed_everything
from genlab.train.run import build_run_config
from genlab.train.schedule import BatchSchedule

VARIANTS = {
    "default": {},
    "check_finite false": {"check_finite": False},
    "channels_last false": {"model": {"channels_last": False}},
    "tf32 matmuls": {"tf32": True},  # cuDNN's convolutions are TF32 in the others too (PyTorch's default)
    "true fp32": {"cudnn_tf32": False},  # no TF32 anywhere: convolutions in full fp32 as well
    "bf16 autocast": {"bf16": True},
    "compile": {"compile": True},  # what --train.compile does; compilation happens in the warm-up
}


def build(config_name: str, data: Path, batch_size: int, device: torch.device, variant: dict):
    overrides = {"data": {"path": str(data)}, "train": {"batch_size": batch_size}, "model": variant.get("model", {})}
    config = build_run_config(None, load_config_file(config_name), overrides)
    family = get_family(config.family)
    dataset, config.model = family.build_data(config.data, config.model)
    seed_everything(0)
    model = family.models[config.model_name](config.model).to(device).train()
    networks = {}
    if variant.get("compile"):
        compiled, eager = networks_to_compile(model, device)
        compile_modules(model, compiled)
        networks = {"compiled": list(compiled), "eager": [n for n in model.ddp_modules if n not in compiled]}
    optimizers = model.configure_optimizers()
    if variant.get("check_finite", True):
        install_finite_guards(optimizers)
    return model, optimizers, dataset, BatchSchedule(len(dataset), batch_size, seed=0), networks


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(args, data: Path, device: torch.device, name: str) -> dict:
    variant = VARIANTS[name]
    torch.backends.cuda.matmul.allow_tf32 = variant.get("tf32", False)
    torch.backends.cudnn.allow_tf32 = variant.get("cudnn_tf32", True)
    model, optimizers, dataset, schedule, networks = build(args.config, data, args.batch_size, device, variant)

    def step(i: int) -> None:
        batch = dataset.get_batch(schedule.indices(i), device)
        model.on_train_step(i, optimizers)
        with torch.autocast(device.type, torch.bfloat16, enabled=variant.get("bf16", False)):
            model.training_step(batch, optimizers)

    start = time.perf_counter()
    for i in range(args.warmup):
        step(i)
    synchronize(device)
    warmup_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):
        step(i)
    synchronize(device)
    seconds = time.perf_counter() - start
    found = {"steps_per_s": round(args.steps / seconds, 2), "warmup_seconds": round(warmup_seconds, 1),
             "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
             **networks}
    if name == "default" and args.profile_steps:
        found["profile"] = profile(step, args.warmup + args.steps, args.profile_steps, device)
    return found


def profile(step, first: int, count: int, device: torch.device) -> dict:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    synchronize(device)
    start = time.perf_counter()
    with profiler(activities=activities) as prof:
        for i in range(first, first + count):
            step(i)
        synchronize(device)
    wall = time.perf_counter() - start
    events = prof.key_averages()

    def top(key: str) -> list[dict]:
        rows = sorted(events, key=lambda e: getattr(e, key), reverse=True)[:15]
        return [{"op": e.key, "calls_per_step": round(e.count / count, 1),
                 "self_ms_per_step": round(getattr(e, key) / 1000 / count, 3)} for e in rows]

    found = {"steps": count, "wall_ms_per_step": round(wall * 1000 / count, 2),
             "top_self_cpu": top("self_cpu_time_total")}
    if device.type == "cuda":
        kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        busy = sum(e.device_time for e in kernels) / 1000 / count  # µs → ms
        found.update({"kernels_per_step": round(len(kernels) / count), "device_busy_ms_per_step": round(busy, 2),
                      "top_self_device": top("self_device_time_total")})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="cifar10-sngan")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-size", type=int, default=320)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--profile-steps", type=int, default=5)
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    device = torch.device(args.device)
    result = {"command": "python " + shlex.join(sys.argv), "torch": torch.__version__,
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "variants": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "random.npz"
        shape = (2048, 32, 32, 3)  # CIFAR-10's; the config reads its resolution and channels from it
        np.savez(data, x=np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
        for name in args.variants:
            result["variants"][name] = measure(args, data, device, name)
            print(json.dumps({name: result["variants"][name]["steps_per_s"]}), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    run_main(main)
