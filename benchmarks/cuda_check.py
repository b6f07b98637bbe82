"""genlab on a CUDA machine: every family through the command line, and the CIFAR-10 SNGAN recipe
for a fixed time budget, printed as JSON (exit status 1 if any check failed).

    python benchmarks/cuda_check.py --cifar-train cifar_subset.npz --budget 240 --samples-out OUT/
    python benchmarks/cuda_check.py --device cpu --steps 4 --budget 0   # a dry run of the script

Part 1, ``families``: each family's default model on its embedded data, through ``python -m genlab``
in fresh processes, as a user would run it: ``train`` for ``--steps`` steps in fp32, the same in bf16
(autocast), for gan and transformer also with ``--train.compile true``, then ``sample`` and a short
``eval`` of the fp32 run. The families run side by side (these are checks, not timings). Exact
resume: a run of ``--steps`` steps against one stopped at half and resumed (``--resume auto``); the
record is the largest difference between their logged losses and between their saved weights (on
a CPU both are 0; cuDNN and atomics may make a GPU's differ). Each command's exit status and wall
time are kept, and the end of its stderr when it fails.

Part 2, ``sngan`` (with ``--cifar-train``): the packaged ``cifar10-sngan`` config (fp32, batch 320
split into 5 D steps and one G step of 64) on the given training images for about ``--budget``
seconds of training: a first run of ``--pace-steps`` (300) steps measures the pace, then the run
resumes to the step count that the budget allows at that pace. A second pace run in bf16 gives its
speed (steps/s: the median of a process's logged 100-step windows after its first). Its samples
(``--samples`` of them, seed 0, uint8) are saved as .npz files of at most 5,000 images each under
``--samples-out``, for scoring elsewhere with
``genlab eval samples.npz --metrics fd,kid --ref cifar10_test.npz --extractor cifar10``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

BATCH = 320  # cifar10-sngan's batch: 5 D steps and one G step of 64

# family -> extra options of its smoke run (each family's default model on its embedded data)
FAMILIES = {
    "gan": [],
    "vae": [],
    "rgan": [],
    "transformer": [],
    "textgan": ["--model.pretrain_steps", "2"],
}
# torch.compile is tried on two families only (compiling takes a minute on a fresh machine); rgan
# without attention layers runs eager anyway (README: Speed)
COMPILED = {"gan", "transformer"}
EVAL_OPTIONS = {  # a short evaluation of each family's smoke run
    "gan": ["--metrics", "fd,kid", "--ref", "mnist-test", "--extractor", "mnist", "--n", "500"],
    "rgan": ["--repeats", "1", "--discriminative-iterations", "50", "--predictive-iterations", "50"],
}


def genlab(args: list[str], timeout: float = 600) -> dict:
    """``python -m genlab ARGS`` in a fresh process → its exit status, wall seconds and, on failure,
    the end of its stderr."""
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True,
                              timeout=timeout)
        code, err = done.returncode, done.stderr
    except subprocess.TimeoutExpired as stop:
        code, err = "timeout", (stop.stderr or b"").decode(errors="replace") if isinstance(stop.stderr, bytes) \
            else (stop.stderr or "")
    record = {"command": "genlab " + shlex.join(args), "rc": code, "seconds": round(time.perf_counter() - start, 1)}
    if code != 0:
        record["stderr"] = err[-1500:]
    return record


def logged_losses(run: Path) -> list[dict]:
    """The loss entries of each line of RUN/metrics.jsonl (everything whose name holds 'loss')."""
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{k: v for k, v in line.items() if "loss" in k and isinstance(v, (int, float))} for line in lines]


def steady_steps_per_second(run: Path, batch_size: int, after: int = 0) -> float | None:
    """Median training steps/s over the logged windows of steps past ``after``, less their first
    (which holds a process's warm-up)."""
    lines = [json.loads(text) for text in (run / "metrics.jsonl").read_text().splitlines() if text.strip()]
    rates = [line["examples_per_s"] / batch_size for line in lines if line["step"] > after][1:]
    return round(float(np.median(rates)), 2) if rates else None


def largest_difference(a: list[dict], b: list[dict]) -> float | None:
    if len(a) != len(b) or any(x.keys() != y.keys() for x, y in zip(a, b)):
        return None
    return max((abs(x[k] - y[k]) for x, y in zip(a, b) for k in x), default=0.0)


def weight_difference(a: Path, b: Path) -> float | None:
    from safetensors.torch import load_file

    wa, wb = load_file(a / "model" / "model.safetensors"), load_file(b / "model" / "model.safetensors")
    if wa.keys() != wb.keys():
        return None
    return max(((wa[k].double() - wb[k].double()).abs().max().item() for k in wa if wa[k].numel()), default=0.0)


def family_checks(family: str, device: str, steps: int, folder: Path) -> dict:
    base = ["train", family, *FAMILIES[family], "--train.device", device, "--steps", str(steps),
            "--train.log_every", "1", "--train.sample_every", str(steps), "--train.checkpoint_every",
            str(max(1, steps // 2))]
    found: dict = {}
    whole = folder / f"{family}-fp32"
    found["train_fp32"] = genlab([*base, "--out", str(whole)])
    found["train_bf16"] = genlab([*base, "--train.precision", "bf16", "--out", str(folder / f"{family}-bf16")])
    if family in COMPILED:
        found["train_compiled"] = genlab([*base, "--train.compile", "true",
                                          "--out", str(folder / f"{family}-compiled")])
    if found["train_fp32"]["rc"] != 0:
        return found
    suffix = ".txt" if family in ("transformer", "textgan") else ".png"
    found["sample"] = genlab(["sample", str(whole), "--n", "16", "--device", device,
                              "--out", str(folder / f"{family}{suffix}")])
    found["eval"] = genlab(["eval", str(whole), "--device", device, *EVAL_OPTIONS.get(family, [])])
    half = folder / f"{family}-resumed"
    first = genlab([*base, "--steps", str(max(1, steps // 2)), "--out", str(half)])
    again = genlab([*base, "--out", str(half), "--resume", "auto"])
    found["resume"] = {"first": first, "resumed": again}
    if first["rc"] == 0 and again["rc"] == 0:
        found["resume"]["largest_loss_difference"] = largest_difference(logged_losses(whole), logged_losses(half))
        found["resume"]["largest_weight_difference"] = weight_difference(whole, half)
    return found


def sngan(train_images: Path, device: str, budget: float, pace: int, samples: int, out: Path, folder: Path) -> dict:
    def train(run: Path, steps: int, *extra: str, after: int = 0, timeout: float = 600) -> dict:
        found = genlab(["train", "--config", "cifar10-sngan", "--data", str(train_images), "--train.device",
                        device, "--out", str(run), "--steps", str(steps), "--train.log_every", "100",
                        "--train.checkpoint_every", "1000", "--train.sample_every", "1000000", *extra], timeout)
        if found["rc"] == 0:
            found["steps_per_s"] = steady_steps_per_second(run, BATCH, after)
        return found

    run = folder / "sngan"
    found: dict = {"pace_run": train(run, pace)}
    if found["pace_run"]["rc"] != 0:
        return found
    found["pace_run_bf16"] = train(folder / "sngan-bf16", pace, "--train.precision", "bf16")
    seconds_per_step = found["pace_run"]["seconds"] / pace  # start-up included: the pace errs on the slow side
    found["steps"] = steps = max(pace, int(budget / seconds_per_step) // 100 * 100)
    found["rest"] = train(run, steps, "--resume", "auto", after=pace, timeout=budget * 2 + 120)
    if found["rest"]["rc"] != 0:
        return found
    found["train_seconds"] = round(found["pace_run"]["seconds"] + found["rest"]["seconds"], 1)
    from genlab.metrics.images import generated_images

    images, _, found["samples_from"], _ = generated_images(run, samples, seed=0, device=device, batch_size=500)
    out.mkdir(parents=True, exist_ok=True)
    for part, start in enumerate(range(0, len(images), 5000)):
        np.savez_compressed(out / f"sngan_samples_{part}.npz", x=images[start:start + 5000])
    found["samples"] = len(images)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=40, help="training steps of each family's smoke run")
    parser.add_argument("--families", nargs="*", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--cifar-train", type=Path, help="CIFAR-10 training images (.npz) for the SNGAN part")
    parser.add_argument("--budget", type=float, default=240, help="seconds of SNGAN training")
    parser.add_argument("--pace-steps", type=int, default=300, help="steps of the SNGAN run that measures the pace")
    parser.add_argument("--samples", type=int, default=10_000, help="SNGAN samples saved")
    parser.add_argument("--samples-out", type=Path, default=Path("."))
    parser.add_argument("--json", type=Path, help="also write the JSON here, after each part")
    args = parser.parse_args()
    import torch

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    result: dict = {"command": "python " + shlex.join(sys.argv), "torch": torch.__version__,
                    "cuda": torch.version.cuda, "device": gpu, "families": {}}

    def save() -> None:  # after each part, so that a run stopped by a time limit leaves what it did
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))

    with tempfile.TemporaryDirectory() as tmp:
        # The families' smoke runs are checks, not timings: they run side by side
        with ThreadPoolExecutor(len(args.families) or 1) as pool:
            futures = {family: pool.submit(family_checks, family, args.device, args.steps, Path(tmp))
                       for family in args.families}
            result["families"] = {family: future.result() for family, future in futures.items()}
        result["failed"] = [f"{family}: {name}" for family, checks in result["families"].items()
                            for name, check in {**checks, **checks.get("resume", {})}.items()
                            if isinstance(check, dict) and check.get("rc", 0) != 0]
        save()
        if args.cifar_train and args.budget > 0:
            result["sngan"] = sngan(args.cifar_train, args.device, args.budget, args.pace_steps, args.samples,
                                    args.samples_out, Path(tmp))
            save()
    print(json.dumps(result, indent=2))
    if result["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
