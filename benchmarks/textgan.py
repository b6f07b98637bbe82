"""Adversarial text generation on the standard benchmarks: train, then score, printed as JSON.

    python benchmarks/textgan.py oracle --oracle ../shared/data/text/seqgan_oracle/seqgan_oracle_lstm_params.npz
    python benchmarks/textgan.py coco --train-file ../shared/data/text/texygen/image_coco.txt \
        --test-file ../shared/data/text/texygen/test_coco.txt

Synthetic oracle (SeqGAN protocol): 10,000 sequences of 20 tokens sampled from the oracle LSTM
(seed 0) are the training data and 10,000 more (seed 1) the held-out data; NLL_oracle is the
oracle's mean per-token NLL of 10,000 generated sequences (drawn with seed 1000 + --seed), NLL_gen
the generator's NLL of the held-out sequences, ``copied`` (both tasks) the share of generated sequences that repeat a training
sequence verbatim. For seqgan and relgan the model after its maximum-likelihood pretraining (the
checkpoint at ``--pretrain-steps``) is scored too: that is the MLE baseline of the same run.

COCO captions (Texygen protocol): train on ``image_coco.txt``; BLEU-2..5 of ``--samples`` generated
sentences, each against all 10,000 lines of ``test_coco.txt``; self-BLEU-2..5 of the first 500;
NLL_gen on the test captions (per token, and per padded position as RelGAN reports it). Words and
punctuation are split by genlab's sentence tokenizer (words and single marks), close to but not exactly
``nltk.word_tokenize`` (527 of the 20,000 COCO lines differ, at hyphens, 's and quotes; BLEU-2 of
2,000 real captions moves by about 0.001 between the two).

Anchors (RelGAN, ICLR 2019): oracle NLL_oracle MLE 9.038, SeqGAN 8.736, LeakGAN 7.038, RelGAN
6.680, the oracle's own samples 5.750; COCO BLEU-2..5 MLE .731/.497/.305/.189, RelGAN
.849/.687/.502/.331 (NLL_gen .756). Training chatter goes to stderr, the JSON alone to stdout.

On this CPU, glibc's default of serving every large allocation with a fresh mmap costs a page
fault per page of each step's big logit tensors; ``MALLOC_MMAP_THRESHOLD_=4294967296
MALLOC_TRIM_THRESHOLD_=4294967296`` in the environment halved the time of a maximum-likelihood
step (0.151 → 0.075 s, batch 128 × 20 tokens, vocabulary 5,000). The JSON records those variables.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from genlab.errors import run_main
from genlab.models.base import EvalOptions
from genlab.models.textgan.oracle import OracleLSTM
from genlab.sampling import load_model
from genlab.train.run import build_run_config

from common import OUT_HELP, model_options, timed_training, work_folder


ORACLE_SAMPLING_OFFSET = 1000  # oracle task: generated samples drawn with seed 1000 + --seed (data: seeds 0, 1)


def oracle_data(oracle_path: str, folder: Path, sequences: int) -> tuple[Path, Path]:
    oracle = OracleLSTM.from_npz(oracle_path)
    paths = folder / "oracle_train.npz", folder / "oracle_test.npz"
    for seed, path in enumerate(paths):
        np.savez(path, tokens=oracle.sample(sequences, 20, torch.Generator().manual_seed(seed)).numpy())
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["oracle", "coco"])
    parser.add_argument("--oracle", help="the oracle's .npz (task oracle)")
    parser.add_argument("--train-file", help="COCO training captions (task coco)")
    parser.add_argument("--test-file", help="COCO test captions (task coco)")
    parser.add_argument("--model", choices=["mle", "seqgan", "relgan"], default="relgan")
    parser.add_argument("--pretrain-steps", type=int, default=1500,
                        help="seqgan/relgan: maximum-likelihood steps before the adversarial ones, whose checkpoint "
                             "is scored too (pretrained_mle); mle trains by maximum likelihood throughout and takes "
                             "it as its checkpoint interval only")
    parser.add_argument("--steps", type=int, default=3000, help="all steps, pretraining included")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=10000, help="generated sequences scored")
    parser.add_argument("--temperatures", type=float, nargs="*", default=[],
                        help="also score both checkpoints sampled at these temperatures (the quality-diversity "
                             "curve; NLL_gen is then of the tempered distribution)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further model options, e.g. hidden_dim=128 generator=transformer")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help=OUT_HELP)
    args = parser.parse_args()
    if (args.task == "oracle") != bool(args.oracle) or (args.task == "coco") != bool(args.train_file and
                                                                                        args.test_file):
        parser.error("task oracle needs --oracle; task coco needs --train-file and --test-file")
    torch.set_num_threads(args.threads)

    folder = work_folder(args.out, "textgan-bench-")
    if args.task == "oracle":
        train_path, test_path = oracle_data(args.oracle, folder, 10000)
    else:
        train_path, test_path = Path(args.train_file), Path(args.test_file)
    pretraining = {} if args.model == "mle" else {"pretrain_steps": args.pretrain_steps}  # mle: maximum likelihood throughout
    model = {"name": args.model, **pretraining, **model_options(args.set)}
    out = folder / "run"
    config = build_run_config("textgan", overrides={"model": model, "data": {"path": str(train_path)}, "train": {
        "steps": args.steps, "batch_size": args.batch_size, "seed": args.seed, "out": str(out), "device": "cpu",
        "log_every": 100, "sample_every": args.steps, "checkpoint_every": args.pretrain_steps,
        # every one, so that the pretrained checkpoint survives however many steps follow it
        "keep_checkpoints": -(-args.steps // max(args.pretrain_steps, 1))}})
    _, train_seconds, cpu_seconds = timed_training(config)

    # The oracle draws its training data with seed 0 from the same sampler the generator samples with:
    # seed 0 again would give sample i training sequence i's uniforms, so "copied" would flag a generator
    # as close to the oracle as copying. The scored samples take a seed of their own.
    sampling_seed = args.seed + ORACLE_SAMPLING_OFFSET if args.task == "oracle" else args.seed
    scored, sweep = {}, []
    for label, path in (("pretrained_mle", out / "checkpoints" / f"step-{args.pretrain_steps:06d}"),
                        ("final", out)):
        if label == "pretrained_mle" and (args.model == "mle" or not path.is_dir()):
            continue
        checkpoint = load_model(path)
        for temperature in [1.0] + [t for t in args.temperatures if t != 1.0]:
            options = EvalOptions(data=str(test_path), samples=args.samples, seed=sampling_seed, temperature=temperature,
                                  oracle=args.oracle if args.task == "oracle" else None, train_data=str(train_path))
            begin = time.perf_counter()
            result = {**checkpoint.evaluate(options), "eval_seconds": round(time.perf_counter() - begin, 1)}
            if temperature == 1.0:
                scored[label] = result
            else:
                sweep.append({"model": label, "temperature": temperature,
                              **{k: v for k, v in result.items() if k != "protocol"}})
    trained = load_model(out)
    print(json.dumps({
        "command": shlex.join(["python", *sys.argv]),
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
        "task": args.task, "model": args.model, "steps": args.steps,
        # mle has no pretraining phase: there --pretrain-steps only spaced the checkpoints
        **({"checkpoint_every": args.pretrain_steps} if args.model == "mle"
           else {"pretrain_steps": args.pretrain_steps}),
        "batch_size": args.batch_size, "threads": args.threads, "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        "sampling_seed": sampling_seed,
        "config": {k: v for k, v in json.loads(json.dumps(trained.export_config()["model"])).items() if k != "vocab"},
        "samples": trained.sample(8, torch.Generator().manual_seed(args.seed)),
        **scored,
        **({"temperature_sweep": sweep} if sweep else {}),
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    run_main(main)
