"""What a perfect generator scores on the TimeGAN 'sines': fresh sines in place of the samples.

    python benchmarks/rgan_sines_floor.py --repeats 20

The discriminative score of two independent draws of the same distribution is not 0: the
post-hoc classifier is tested on 2,000 + 2,000 held-out sequences, so its accuracy scatters
around 0.5 by about ±0.008 even when nothing tells the two sets apart, and |accuracy − 0.5| keeps
that scatter's size. This benchmark measures that floor under the exact protocol of
``benchmarks/rgan_timeseries.py --dataset sines``: the 10,000 training sines (seed 0) against
10,000 fresh ones (``--fresh-seed``, default 1), both on the sines' own axis, each score repeated
``--repeats`` times (repeat r uses seed ``score_seed(--seed)`` + r, as ``genlab.metrics.timeseries``
documents). A generator's mean over ten classifiers
can be told from a perfect one's only by more than this floor's spread. JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time

import torch

from genlab.data.sequences import sines
from genlab.errors import run_main
from genlab.metrics.timeseries import timeseries_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--fresh-seed", type=int, default=1, help="seed of the sines standing in for samples")
    parser.add_argument("--discriminative-iterations", type=int, default=2000)
    parser.add_argument("--predictive-iterations", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.fresh_seed == 0:
        parser.error("--fresh-seed 0 is the training sines' own seed; pick another")
    torch.set_num_threads(args.threads)

    real = torch.from_numpy(sines(10_000, seed=0)).float()
    fresh = torch.from_numpy(sines(10_000, seed=args.fresh_seed)).float()
    start = time.perf_counter()
    scores = timeseries_scores(real, fresh, repeats=args.repeats,
                               discriminative_iterations=args.discriminative_iterations,
                               predictive_iterations=args.predictive_iterations, seed=args.seed,
                               real_baseline=False)
    print(json.dumps({
        "command": shlex.join(["python", *sys.argv]),
        "real": "10,000 TimeGAN sines, seed 0 (the benchmark's training windows), on their own axis",
        "synthetic": f"10,000 fresh TimeGAN sines, seed {args.fresh_seed}: a perfect generator's samples",
        "threads": args.threads,
        "score_seconds": round(time.perf_counter() - start, 1),
        "discriminative": scores["discriminative"], "predictive": scores["predictive"],
        "correlational": scores["correlational"], "protocol": scores["protocol"],
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    run_main(main)
