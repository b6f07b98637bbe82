"""What real captions score on the COCO protocol: training captions in place of generated ones.

    python benchmarks/textgan_coco_real.py --train-file ../shared/data/text/texygen/image_coco.txt \
        --test-file ../shared/data/text/texygen/test_coco.txt --seeds 0 1 2

A generator that samples exactly the distribution of the captions would score what captions drawn
from that distribution score. The training captions are such a draw, made independently of the test
captions (other images): ``--samples`` of them, drawn at random without replacement (one draw per
seed), are scored as ``benchmarks/textgan.py coco`` scores generated sentences — word-level pieces
as genlab's sentence tokenizer cuts them; BLEU-2..5 of each against all lines of the test file,
averaged (Texygen: NLTK's sentence_bleu, uniform weights, method1 smoothing); self-BLEU-2..5 of
the first 500 against the others of them. Where a model's BLEU stands above these numbers, its
samples are sharper (more typical, less varied) than the captions themselves. JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time

import numpy as np

from genlab.data.sentences import read_lines
from genlab.errors import run_main
from genlab.metrics.bleu import TEXYGEN_SELF_BLEU_SAMPLE, BleuReference, corpus_scores, self_bleu
from genlab.tokenizers import sentence_pattern

ORDERS = (2, 3, 4, 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--test-file", required=True)
    parser.add_argument("--samples", type=int, default=2000, help="training captions scored per seed (the COCO "
                                                                  "runs score 2,000 generated sentences)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    pieces = sentence_pattern("word").findall
    train, _ = read_lines(args.train_file, option="--train-file")
    test, _ = read_lines(args.test_file, option="--test-file")
    if args.samples > len(train):
        parser.error(f"--samples {args.samples} is more than the {len(train):,} training captions")
    reference = BleuReference([pieces(line) for line in test], max(ORDERS))
    test_lines = set(test)
    runs = []
    for seed in args.seeds:
        begin = time.perf_counter()
        chosen = np.random.default_rng(seed).choice(len(train), args.samples, replace=False)
        hypotheses = [pieces(train[i]) for i in chosen]
        runs.append({"seed": seed, **corpus_scores(hypotheses, reference), **self_bleu(hypotheses),
                     "also_a_test_caption": sum(train[i] in test_lines for i in chosen) / args.samples,
                     "seconds": round(time.perf_counter() - begin, 1)})
    names = [f"{kind}{n}" for kind in ("bleu", "self_bleu") for n in ORDERS]
    print(json.dumps({
        "command": shlex.join(["python", *sys.argv]),
        "protocol": {
            "generated": f"{args.samples:,} lines of {args.train_file} ({len(train):,} captions), drawn at random "
                         "without replacement with each seed (numpy default_rng)",
            "references": f"{args.test_file}: {len(test):,} captions, word-level pieces (genlab's sentence "
                          "tokenizer, split word)",
            "bleu": "each caption against all references, averaged (Texygen protocol: NLTK's sentence_bleu, uniform "
                    "n-gram weights, SmoothingFunction().method1)",
            "self_bleu": f"each of the first {TEXYGEN_SELF_BLEU_SAMPLE} of them against the others (Texygen's "
                         "get_score)",
            "also_a_test_caption": "share of the scored captions that are also, verbatim, a line of the test file",
        },
        "mean": {name: statistics.mean(run[name] for run in runs) for name in names},
        "runs": runs,
        "anchors": {"Texygen MLE BLEU-2..5": [0.731, 0.497, 0.305, 0.189],
                    "RelGAN BLEU-2..5": [0.849, 0.687, 0.502, 0.331]},
    }, indent=2))


if __name__ == "__main__":
    run_main(main)
