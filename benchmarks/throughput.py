"""Training throughput, peak memory and achieved GFLOP/s of every family, with and without each
speed option genlab offers, printed as JSON.

    python benchmarks/throughput.py                                   # every family and option
    python benchmarks/throughput.py --families gan vae --no-compile   # fewer configurations
    flock /tmp/genlab-cpu.lock python benchmarks/throughput.py --out benchmarks/results/throughput_cpu.json

Protocol: each configuration (family × speed option) runs in a fresh subprocess, so peak memories
do not mix. It builds the data and the model as ``genlab train`` does (``build_run_config``, the
family's ``build_data``, the model class; the trainer's finite-gradient guards on its optimizers),
then runs ``--warmup`` untimed steps and ``--repeats`` rounds of ``--steps`` timed training steps
(a step: batch gather, the model's ``on_train_step`` and ``training_step`` — the trainer's loop
without logging, previews and checkpoints). fp32, ``--threads`` torch threads. Steps/s and
examples/s are those of the best round; every round's rate is printed too.

Peak memory: the subprocess's peak resident set size (``VmHWM``), and the growth of that peak
over the resident memory just before the first step (null when the peak was set before training,
e.g. while tokenising). FLOPs of one training step: ``torch.utils.flop_counter.FlopCounterMode``,
which counts matrix multiplications, convolutions and attention only (no elementwise ops,
normalisations or optimizer updates), counted once per family on the default configuration with
oneDNN off and the math attention kernel, so that LSTMs and CPU attention decompose into
matmuls it can count (the same arithmetic; attention counted in full, the causal mask not
discounted). Achieved GFLOP/s = FLOPs per step × steps/s; its fraction is taken of the fp32
matmul peak measured by this same run (a 2048×2048 fp32 matmul, best of several, ``--threads``
threads).

Speed options: the optimizer's implementation — ``single_tensor`` (the for-loop torch picks on
CPU when a model asks for nothing: gan, rgan, textgan), ``foreach`` or ``fused`` (what the vae
and the transformer ask for). No config option chooses it, so the benchmark rebuilds each model's
own optimizers with the other implementations. Then the GAN's ``channels_last`` config option
(the only image family where it is an option: the VAE's decoder is always channels-last), and
``torch.compile`` of the model's trainable networks as ``--train.compile`` does it (each network in
the model's ``compile_targets``; a model with none, such as a recurrent GAN without attention,
reports an error instead) with an empty inductor cache, under a time limit; its warm-up includes
the compilation. And ``--train.precision bf16`` (autocast), which the trainer allows on CPUs with
bf16 units (AVX512-BF16 or AMX) and refuses on others. Each option's ``speed_vs_default`` is its
steps/s over the mean of two runs of the default, one just before it and one just after (interleaved,
so that a drift of the machine's speed cancels); ``default_again`` is the last of those defaults set
against the first, which shows how far the machine drifted over the family. Because glibc's allocator alone can move a step's time by 2× (see TUNED_MALLOC), the
default and optimizer options are run again with its mmap threshold raised. CUDA is not
measured here (see the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from genlab.errors import run_main
from genlab.train.device import cpu_has_bf16_units

IMPLEMENTATIONS = ("single_tensor", "foreach", "fused")
# glibc serves each large allocation with a fresh mmap by default, and how often depends on the
# order of allocations — which the optimizer implementation changes. Raising the threshold takes
# that out of the comparison (benchmarks/textgan.py found it halves a maximum-likelihood step).
TUNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"}
SUMMARY_KEYS = ("steps_per_s", "examples_per_s", "steps_per_s_each_round", "median_step_ms", "peak_rss_mb", "error")


@dataclass(frozen=True)
class Setup:
    """How one family is benchmarked: its model overrides (on the family's embedded data) and batch size."""

    model: dict
    batch_size: int
    description: str


SETUPS = {
    "gan": Setup({"name": "dcgan"}, 64, "dcgan on the embedded MNIST test digits (10,000 × 28×28×1)"),
    "vae": Setup({"name": "vae"}, 128, "vae (Bernoulli, dynamic binarisation) on the embedded MNIST digits"),
    "transformer": Setup({"name": "transformer"}, 64,
                         "char-level transformer (4 layers, width 128, context 64) on embedded tiny Shakespeare"),
    "rgan": Setup({"name": "crnngan"}, 128, "crnngan (2-layer GRUs, hidden 32) on the TimeGAN sines "
                                            "(10,000 × 24 steps × 5 features)"),
    "textgan": Setup({"name": "relgan", "pretrain_steps": 0}, 64,
                     "relgan adversarial steps (pretrain_steps 0: one D and one G update on halves of the "
                     "batch, Gumbel-softmax sampling included), LSTM G, CNN D, word-level lines of the embedded "
                     "tiny Shakespeare"),
}


# --- the worker: one configuration in its own process ----------------------------------------
def memory_mb(field: str) -> float:
    """``VmRSS`` (resident set size now) or ``VmHWM`` (its peak) of this process, in MiB.

    Not ``getrusage().ru_maxrss``: Linux carries it across fork and exec, so a worker would report
    the driver's own peak (measured: a child using 9 MiB reported its parent's 463 MiB).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}; this benchmark reads memory the Linux way")


def implementation(optimizer: torch.optim.Optimizer) -> str:
    """Which Adam/AdamW implementation ``optimizer.step`` runs on CPU tensors."""
    group = optimizer.param_groups[0]
    return "fused" if group.get("fused") else "foreach" if group.get("foreach") else "single_tensor"


def rebuilt(optimizer: torch.optim.Optimizer, kind: str) -> torch.optim.Optimizer:
    """The same optimizer (class, parameter groups, hyperparameters) with implementation ``kind``."""
    flags = {"fused": kind == "fused", "foreach": kind == "foreach"}
    return type(optimizer)([{**group, **flags} for group in optimizer.param_groups], **flags)


def build(family_name: str, setup: Setup, variant: dict):
    """(model, optimizers, dataset, schedule) of one configuration, as ``genlab train`` builds them."""
    from genlab.models.registry import get_family
    from genlab.train.distributed import compile_modules, networks_to_compile
    from genlab.train.guards import install_finite_guards
    from genlab.train.rng import seed_everything
    from genlab.train.run import build_run_config
    from genlab.train.schedule import BatchSchedule

    model_values = dict(setup.model)
    if "channels_last" in variant:
        model_values["channels_last"] = variant["channels_last"]
    config = build_run_config(family_name, overrides={"model": model_values})
    family = get_family(family_name)
    dataset, model_config = family.build_data(config.data, config.model)
    seed_everything(0)
    model = family.models[config.model_name](model_config).train()
    if variant.get("compile"):  # what --train.compile does (on the CPU; a ConfigError if nothing compiles)
        compile_modules(model, networks_to_compile(model, torch.device("cpu"))[0])
    optimizers = model.configure_optimizers()
    if "optimizer" in variant:
        optimizers = {name: rebuilt(opt, variant["optimizer"]) for name, opt in optimizers.items()}
    install_finite_guards(optimizers)  # the trainer's default (--train.check_finite true)
    return model, optimizers, dataset, BatchSchedule(len(dataset), setup.batch_size, seed=0)


def count_step_flops(model, optimizers, dataset, schedule, step: int) -> dict:
    """FLOPs of one more training step, total and by aten op (see the module docstring)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # oneDNN's TF32 notice when its flags are touched
        with torch.backends.mkldnn.flags(enabled=False), sdpa_kernel(SDPBackend.MATH), \
                FlopCounterMode(display=False) as counter:
            model.on_train_step(step, optimizers)
            model.training_step(dataset.get_batch(schedule.indices(step), torch.device("cpu")), optimizers)
    by_op = {str(op): count for op, count in counter.get_flop_counts()["Global"].items()}
    return {"total": counter.get_total_flops(), "by_op": by_op}


def compile_summary() -> dict:
    """What Dynamo made of the networks: frames compiled, graphs, and why it fell back to eager."""
    from torch._dynamo.utils import counters

    reasons: dict[str, int] = {}
    for kind in ("graph_break", "unimplemented"):
        for reason, count in counters[kind].items():
            first_line = str(reason).strip().splitlines()[0]
            reasons[first_line] = reasons.get(first_line, 0) + count
    return {"frames_compiled": counters["frames"]["ok"], "frames_seen": counters["frames"]["total"],
            "unique_graphs": counters["stats"]["unique_graphs"], "fallbacks_to_eager": reasons}


def worker(spec: dict) -> dict:
    torch.set_num_threads(spec["threads"])
    setup = SETUPS[spec["family"]]
    model, optimizers, dataset, schedule = build(spec["family"], setup, spec["variant"])
    device = torch.device("cpu")

    bf16 = spec["variant"].get("precision") == "bf16"

    def step(i: int) -> None:
        batch = dataset.get_batch(schedule.indices(i), device)
        model.on_train_step(i, optimizers)
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):  # what --train.precision bf16 does
            model.training_step(batch, optimizers)

    rss_before, peak_before = memory_mb("VmRSS"), memory_mb("VmHWM")
    start = time.perf_counter()
    step(0)
    first_step = time.perf_counter() - start
    for i in range(1, spec["warmup"]):
        step(i)
    warmup_seconds = time.perf_counter() - start
    times, round_rates, i = [], [], spec["warmup"]
    for _ in range(spec["repeats"]):
        round_start = time.perf_counter()
        for _ in range(spec["steps"]):
            begin = time.perf_counter()
            step(i)
            times.append(time.perf_counter() - begin)
            i += 1
        round_rates.append(spec["steps"] / (time.perf_counter() - round_start))
    peak = memory_mb("VmHWM")
    best = max(round_rates)
    result = {
        "steps_per_s": round(best, 3),
        "examples_per_s": round(setup.batch_size * best, 1),
        "steps_per_s_each_round": [round(rate, 3) for rate in round_rates],
        "median_step_ms": round(sorted(times)[len(times) // 2] * 1000, 2),
        "first_step_s": round(first_step, 3),
        "warmup_s": round(warmup_seconds, 2),
        "optimizers": {name: {"class": type(opt).__name__, "implementation": implementation(opt)}
                       for name, opt in optimizers.items()},
        "channels_last": getattr(model.config, "channels_last", None),  # None: not a config option
        "peak_rss_mb": round(peak, 1),
        "rss_before_steps_mb": round(rss_before, 1),
        "peak_growth_during_steps_mb": round(peak - rss_before, 1) if peak > peak_before else None,
        "data": dataset.description,
    }
    if spec["variant"].get("compile"):
        result["compile"] = compile_summary()
    if spec["count_flops"]:
        result["flops_per_step"] = count_step_flops(model, optimizers, dataset, schedule, i)
    return result


# --- the driver --------------------------------------------------------------------------------
def matmul_peak_gflops(threads: int, n: int = 2048, repeats: int = 10) -> float:
    """fp32 GFLOP/s of one n×n @ n×n matmul (2n³ FLOPs), best of ``repeats`` after two warm-ups."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for i in range(repeats + 2):
        start = time.perf_counter()
        a @ b
        if i >= 2:
            best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def variants(default: dict, compile_models: bool) -> dict[str, dict]:
    """The speed options to measure beside a family's default configuration (its worker result)."""
    used = {optimizer["implementation"] for optimizer in default["optimizers"].values()}
    found = {f"optimizer_{kind}": {"optimizer": kind} for kind in IMPLEMENTATIONS if {kind} != used}
    if default["channels_last"] is not None:
        flipped = not default["channels_last"]
        found[f"channels_last_{str(flipped).lower()}"] = {"channels_last": flipped}
    if cpu_has_bf16_units():
        found["bf16_autocast"] = {"precision": "bf16"}
    if compile_models:
        found["torch_compile"] = {"compile": True}
    return found


def run_config(family_name: str, variant: dict, args, count_flops: bool = False,
               extra_env: dict[str, str] | None = None) -> dict:
    """Run one configuration in a fresh interpreter; its JSON, or its error and elapsed time."""
    spec = {"family": family_name, "variant": variant, "steps": args.steps, "warmup": args.warmup,
            "repeats": args.repeats, "threads": args.threads, "count_flops": count_flops}
    limit = args.compile_timeout if variant.get("compile") else args.timeout
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="genlab-inductor-") as cache:
            # An empty inductor cache: compile times are those of a first run, not of a cache hit.
            env = {**os.environ, **(extra_env or {}), "TORCHINDUCTOR_CACHE_DIR": cache}
            done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True,
                                  text=True, timeout=limit, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {limit} s (warm-up included) and was stopped",
                "elapsed_s": round(time.perf_counter() - start, 1)}
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return {"error": lines[-1] if lines else f"exit code {done.returncode}",
                "elapsed_s": round(time.perf_counter() - start, 1)}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "elapsed_s": round(time.perf_counter() - start, 1)}


def with_rates(result: dict, default: dict, flops: int | None, peak_gflops: float) -> dict:
    """``result`` with its speed relative to ``default`` and its achieved GFLOP/s (FLOPs per step × steps/s)."""
    if "steps_per_s" not in result:
        return result
    rates = {}
    if "steps_per_s" in default:
        rates["speed_vs_default"] = round(result["steps_per_s"] / default["steps_per_s"], 3)
    if flops is not None:
        achieved = flops * result["steps_per_s"] / 1e9
        rates.update(achieved_gflops=round(achieved, 2), fraction_of_matmul_peak=round(achieved / peak_gflops, 4))
    return {**result, **rates}


def cpu_info() -> dict:
    """The CPU's model name and the vector/matrix instruction sets it reports (from /proc/cpuinfo)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = fields.get("flags", "").split()
    return {"cpu": fields.get("model name", platform.machine()),
            "isa": [f for f in flags if f.startswith(("avx", "amx", "fma"))]}


def rescaled(entry: dict, factor: float) -> dict:
    """A family's entry with every ``fraction_of_matmul_peak`` multiplied by ``factor``."""
    return {key: rescaled(value, factor) if isinstance(value, dict) else
            round(value * factor, 4) if key == "fraction_of_matmul_peak" else value
            for key, value in entry.items()}


def measure_family(name: str, args, peak_gflops: float) -> dict:
    """The default configuration of a family (FLOPs counted), each speed option, and the allocator check."""
    default = run_config(name, {}, args, count_flops=True)
    flops = default.get("flops_per_step", {}).get("total")
    setup = SETUPS[name]
    entry = {"setup": setup.description, "data": default.pop("data", None), "batch_size": setup.batch_size,
             "default": with_rates(default, {}, flops, peak_gflops)}
    if "optimizers" not in default:  # the default failed: its error says why
        return entry
    options = variants(default, args.compile)
    # Interleaved: the default runs again after every option, and each option is compared with the
    # mean of the two defaults around it, so that a slow drift of the machine's speed (seen: every
    # family's repeated default was slower than its first) cancels instead of favouring early options.
    before = default
    for label, variant in options.items():
        measured = run_config(name, variant, args)
        after = run_config(name, {}, args)
        measured.pop("data", None)  # the same as the default's
        around = [d["steps_per_s"] for d in (before, after) if "steps_per_s" in d]
        bracket = {"steps_per_s": sum(around) / len(around)} if around else {}
        entry[label] = {**with_rates(measured, bracket, flops, peak_gflops),
                        "defaults_around_steps_per_s": around}
        before = after
    last = before if options else run_config(name, {}, args)
    last.pop("data", None)
    entry["default_again"] = with_rates(last, default, flops, peak_gflops)
    if args.malloc_check:
        eager = {"default": {}, **{k: v for k, v in options.items() if k.startswith("optimizer_")}}
        rerun = {label: run_config(name, variant, args, extra_env=TUNED_MALLOC) for label, variant in eager.items()}
        entry["with_tuned_malloc"] = {
            label: with_rates({k: v for k, v in r.items() if k in SUMMARY_KEYS}, rerun["default"], flops, peak_gflops)
            for label, r in rerun.items()}
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--families", nargs="*", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds per configuration; the best counts")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip the torch.compile runs")
    parser.add_argument("--timeout", type=int, default=180, help="seconds allowed to one eager configuration")
    parser.add_argument("--compile-timeout", type=int, default=150, help="seconds allowed to one compiled one")
    parser.add_argument("--no-malloc-check", dest="malloc_check", action="store_false",
                        help="skip the rerun of the optimizer options with glibc's mmap threshold raised")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    began, load_at_start = time.perf_counter(), [round(x, 2) for x in os.getloadavg()]
    peak_before = matmul_peak_gflops(args.threads)
    families = {name: measure_family(name, args, peak_before) for name in args.families}
    peak_after = matmul_peak_gflops(args.threads)
    if peak_after > peak_before:  # the fractions are of the best matmul rate this run saw
        families = {name: rescaled(entry, peak_before / peak_after) for name, entry in families.items()}

    result = {
        "command": shlex.join(["python", *sys.argv]),
        "protocol": (f"fresh subprocess per configuration; fp32 (bf16_autocast: autocast); {args.warmup} warm-up steps, then "
                     f"{args.repeats} rounds of {args.steps} timed training steps, steps/s of the best round "
                     "(a step: batch gather + on_train_step + training_step, the trainer's finite-gradient guards "
                     f"on); {args.threads} torch threads; FLOPs by torch.utils.flop_counter.FlopCounterMode "
                     "(matmul, convolution and attention ops only; elementwise, normalisation and optimizer "
                     "arithmetic not counted), once per family on its default configuration; achieved GFLOP/s = "
                     "FLOPs per step × steps/s; peak memory = the subprocess's peak resident set size (VmHWM; "
                     "ru_maxrss is inherited from the driver across fork/exec, so it is not used)"),
        "machine": {**cpu_info(), "cores": os.cpu_count(), "threads": args.threads, "torch": torch.__version__,
                    "python": platform.python_version(),
                    "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
                    "load_average_at_start": load_at_start},
        "matmul_fp32_peak_gflops": {"before": round(peak_before, 1), "after": round(peak_after, 1),
                                    "protocol": "2048×2048 @ 2048×2048 fp32, best of 10 after 2 warm-ups, "
                                                "before and after all configurations; fractions are of the "
                                                "higher of the two"},
        "speed_options": {
            "default": "the model exactly as genlab configures it (see each result's optimizers and channels_last)",
            "default_again": "the family's last run of the default against its first (the default runs again "
                             "after every option): how far the machine drifted, the noise an option's "
                             "speed_vs_default must exceed",
            "speed_vs_default": "an option's steps/s over the mean of the default runs just before and just "
                                "after it (defaults_around_steps_per_s), so that drift cancels",
            "optimizer_*": "genlab has no option for the optimizer implementation: the model's own optimizers are "
                           "rebuilt in the benchmark (same class, parameter groups and hyperparameters) as "
                           "single_tensor (for-loop; torch's CPU default when neither flag is given), foreach or "
                           "fused",
            "channels_last_*": "the config option --model.channels_last (gan only) flipped",
            "with_tuned_malloc": f"the default and optimizer options again, eager, with {TUNED_MALLOC} in the "
                                 "environment (glibc keeps large freed blocks instead of unmapping them): whether "
                                 "an option's gain survives without the allocator's page faults; speed_vs_default "
                                 "there is relative to the default rerun with the same environment",
            "bf16_autocast": "--train.precision bf16: each training step under torch.autocast('cpu', bfloat16), "
                             "weights and optimizer state in fp32; on CPUs with bf16 units only (this one: "
                             f"{'yes' if cpu_has_bf16_units() else 'no'})",
            "torch_compile": f"torch.compile (default mode, inductor, empty cache) of each network in the model's "
                             f"compile_targets, as --train.compile does; warm-up and "
                             f"first_step_s include compilation; limit {args.compile_timeout} s per configuration; "
                             "'compile' says what Dynamo compiled and where it fell back to eager",
        },
        "families": families,
        "not_measured": {
            "gpu": "no GPU in this session (torch.cuda.is_available() is "
                   f"{torch.cuda.is_available()}, and no GPU machine was lent to this task): no CUDA throughput, "
                   "bf16 autocast or NCCL DDP numbers",
            "channels_last_vae": "no option: the VAE decoder always runs channels-last (networks.py)",
        },
        "total_seconds": round(time.perf_counter() - began, 1),
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    run_main(main)
