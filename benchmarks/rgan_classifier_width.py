"""How much a wider post-hoc classifier sees: the discriminative score of trained sines models with
the protocol's GRU (⌊F/2⌋ units: two for the sines' five features) and with wider ones.

    python benchmarks/rgan_classifier_width.py RUN [RUN ...] --hidden 16 --floor

Each RUN is a sines run of ``benchmarks/rgan_timeseries.py`` (its ``run`` field). Its synthetic
sequences are drawn exactly as that benchmark draws them (the run's training seed, chunks of 1,024),
on the same axis, against the same 10,000 training sines, and classifier repeat r uses seed
``score_seed(run seed) + r`` — so the protocol column reproduces the run's own discriminative
values (for runs scored since the scores got that seed stream, 4 December, late). ``--floor``
scores 10,000 fresh sines (seed 1) the same way: what a perfect generator gets at each width.
Only the classifier's width differs between columns (2,000 iterations, batches of 128 + 128, the
80/20 split). The wider scores are not TimeGAN scores. Beside them, ``declines``: the
share of sequences in which some feature ends at least 0.05 below its own maximum — a sine whose
peak falls inside the window comes back down, so about half the real sequences do. ``--repeats 0``
prints that alone. JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from genlab.data.sequences import SequenceDataConfig, load_sequences, sines
from genlab.errors import run_main
from genlab.metrics.timeseries import (DISCRIMINATIVE_ITERATIONS, discriminative_score, protocol_hidden, score_seed,
                                       summary)
from genlab.models.rgan.evaluation import scoring_axis
from genlab.sampling import load_model


DECLINE = 0.05  # in the sines' own units (a quarter of a sine's amplitude of 0.5 is 0.125)


def declines(x: torch.Tensor) -> float:
    """The share of sequences (N, T, F) in which some feature ends DECLINE or more below its maximum."""
    return round(((x.amax(dim=1) - x[:, -1]) >= DECLINE).any(dim=1).double().mean().item(), 4)


def scores(real: torch.Tensor, other: torch.Tensor, widths: list[int], seed: int, repeats: int) -> dict:
    first = score_seed(seed)
    if repeats == 0:
        return {}
    return {f"h{width}": summary([discriminative_score(real, other, DISCRIMINATIVE_ITERATIONS, seed=first + r,
                                                       hidden=width) for r in range(repeats)]) for width in widths}


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--hidden", type=int, nargs="+", default=[16], help="wider classifiers' GRU units")
    parser.add_argument("--floor", action="store_true", help="also score fresh sines (a perfect generator)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not args.runs and not args.floor:
        parser.error("name a run, or pass --floor")
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    results, widths = [], None
    for run in args.runs:
        trained_with = json.loads((run / "config.json").read_text())
        if trained_with.get("data", {}).get("path") is not None:
            parser.error(f"{run} was not trained on the sines")
        seed = trained_with.get("train", {}).get("seed", 0)
        model = load_model(run)
        real = load_sequences(SequenceDataConfig(window=24), model.scaling)[0].sequences.contiguous()
        with torch.no_grad():
            synthetic = torch.cat([model.generate(len(part), torch.Generator().manual_seed(seed + i))
                                   for i, part in enumerate(real.split(1024))])
        real_axis, synthetic, axis = scoring_axis(model, real, synthetic)
        widths = [protocol_hidden(real.shape[-1]), *args.hidden]
        results.append({"run": str(run), "seed": seed, "axis": axis, "declines": declines(synthetic),
                        **scores(real_axis, synthetic, widths, seed, args.repeats)})
        print(f"{run}: declines {results[-1]['declines']} " + ", ".join(
            f"{k} {v['text']}" for k, v in results[-1].items() if k.startswith("h")), file=sys.stderr, flush=True)
    floor = None
    if args.floor:
        real = torch.from_numpy(sines(10000, 24, 5, seed=0)).float()
        fresh = torch.from_numpy(sines(10000, 24, 5, seed=1)).float()
        widths = [protocol_hidden(5), *args.hidden]
        floor = {"fresh_seed": 1, "declines": declines(fresh), "training_declines": declines(real),
                 **scores(real, fresh, widths, 0, args.repeats)}
    print(json.dumps({
        "command": shlex.join(["python", *sys.argv]),
        "runs": results, "fresh_sines": floor,
        "seconds": round(time.perf_counter() - start, 1), "threads": args.threads,
        "protocol": {
            "classifier": f"1-layer GRU, last state → one logit, units as in each key (h{protocol_hidden(5)}: the "
                          "TimeGAN protocol's ⌊F/2⌋; wider ones are not TimeGAN scores)",
            "training": f"{DISCRIMINATIVE_ITERATIONS} Adam iterations (lr 1e-3), batches of 128 real + 128 synthetic "
                        "from an 80% split of each; |accuracy - 0.5| on the held-out 20%",
            "declines": f"share of sequences with a feature ending >= {DECLINE} below its maximum (own units)",
            "repeats": f"{args.repeats}, repeat r seeded score_seed(run seed) + r (the run's own protocol seeds)",
            "data": "the 10,000 training sines (seed 0) against as many synthetic sequences drawn as "
                    "rgan_timeseries.py draws them; fresh_sines: 10,000 sines of seed 1 in their place, on the "
                    "sines' own axis (scored as benchmarks/rgan_sines_floor.py does)",
        },
    }, indent=2))


if __name__ == "__main__":
    run_main(main)
