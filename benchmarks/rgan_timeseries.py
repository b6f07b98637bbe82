"""Recurrent GANs on the TimeGAN benchmarks: train, then the discriminative, predictive and
correlational scores, printed as JSON.

    python benchmarks/rgan_timeseries.py --dataset sines --model timegan --steps 3000
    python benchmarks/rgan_timeseries.py --dataset stocks --csv ../shared/data/timeseries/stock_data.csv

Protocol: window 24; the model is trained on every stride-1 window of the min-max scaled series
(len - 23 of them: one more than the TimeGAN code's ``range(len - 24)`` takes)
(stocks and energy reversed in time, as the TimeGAN code reads both), and scored — as TimeGAN's published
numbers are — against those same training windows, with as many synthetic sequences. Scores use
``genlab.metrics.timeseries`` with the reference iteration counts unless lowered on the command
line; the reference point of the predictive score (the same predictor trained on real data) is
printed too. Training chatter goes to stderr, the JSON alone to stdout.

Anchors (TimeGAN paper, Table 2; sines / stocks / energy): discriminative TimeGAN .011 / .102 /
.236, RCGAN .022 / .196 / .336, C-RNN-GAN .229 / .399 / .499; predictive TimeGAN .093 / .038 /
.273, real data .094 / .036 / .250.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from genlab.data.sequences import SequenceDataConfig, load_sequences
from genlab.errors import run_main
from genlab.metrics.timeseries import step_change_report, timeseries_scores, wide_key
from genlab.models.rgan.evaluation import scoring_axis
from genlab.sampling import load_model
from genlab.train.run import build_run_config

from common import OUT_HELP, model_options, timed_training, work_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--dataset", choices=["sines", "stocks", "energy"], default="sines")
    parser.add_argument("--csv", help="the stocks or energy CSV (../shared/data/timeseries/...)")
    parser.add_argument("--model", choices=["crnngan", "timegan", "latentgan"], default="timegan")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--phase-steps", type=int, default=1000, help="timegan: autoencoder and supervised steps each; latentgan: autoencoder steps")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden-dim", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--discriminative-iterations", type=int, default=2000)
    parser.add_argument("--predictive-iterations", type=int, default=5000)
    parser.add_argument("--classifier-hidden", type=int,
                        help="also score with a post-hoc classifier of this many GRU units (not a TimeGAN score)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="further model options, e.g. loss=hinge logits=sequence bidirectional=true")
    parser.add_argument("--out", help=OUT_HELP + "; --score DIR/run scores it again")
    parser.add_argument("--score", metavar="RUN", type=Path,
                        help="score this finished run again (e.g. with more --repeats) instead of training; pass "
                             "the --dataset and --csv it was trained on")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, help="training seed, and the scores' (default 0; with --score: the run's)")
    args = parser.parse_args()
    if args.dataset != "sines" and not args.csv:
        parser.error(f"--dataset {args.dataset} needs --csv PATH")
    if args.seed is None and not args.score:
        args.seed = 0
    torch.set_num_threads(args.threads)

    data = {"path": args.csv, "window": 24, "reverse": args.dataset in ("stocks", "energy")}  # as the reference
    if args.score:  # the run's own model; no training, so no training time
        if args.set:
            parser.error("--score scores the run as it was trained; drop --set")
        trained_with = json.loads((args.score / "config.json").read_text())
        saved = trained_with.get("data", {})
        def where(path):
            return None if path is None else Path(path).resolve()

        if (where(saved.get("path")), bool(saved.get("reverse"))) != (where(data["path"]), data["reverse"]):
            parser.error(f"{args.score} was trained on --data {saved.get('path')} (reverse {saved.get('reverse')}); "
                         "pass the --dataset and --csv it was trained on")
        if args.seed is None:  # scored as the training command scored it
            args.seed = trained_with.get("train", {}).get("seed", 0)
        out, train_seconds, cpu_seconds = args.score, None, None
    else:
        model = {"name": args.model, "hidden_dim": args.hidden_dim}
        if args.model == "timegan":
            model.update(autoencoder_steps=args.phase_steps, supervised_steps=args.phase_steps)
        elif args.model == "latentgan":
            model.update(autoencoder_steps=args.phase_steps)
        model.update(model_options(args.set))
        out = work_folder(args.out, "rgan-bench-") / "run"
        config = build_run_config("rgan", overrides={"model": model, "data": data, "train": {
            "steps": args.steps, "batch_size": args.batch_size, "seed": args.seed, "out": str(out), "device": "cpu",
            "log_every": 100, "sample_every": args.steps, "checkpoint_every": args.steps}})
        _, train_seconds, cpu_seconds = timed_training(config)

    trained = load_model(out)
    dataset, *_ = load_sequences(SequenceDataConfig(**data), trained.scaling)
    real = dataset.sequences.contiguous()
    synthetic = torch.cat([trained.generate(len(part), torch.Generator().manual_seed(args.seed + i))
                           for i, part in enumerate(real.split(1024))])
    real, synthetic, axis = scoring_axis(trained, real, synthetic)
    start = time.perf_counter()
    scores = timeseries_scores(real, synthetic, repeats=args.repeats,
                               discriminative_iterations=args.discriminative_iterations,
                               predictive_iterations=args.predictive_iterations, seed=args.seed,
                               classifier_hidden=args.classifier_hidden)
    print(json.dumps({
        "command": shlex.join(["python", *sys.argv]),
        "dataset": args.dataset, "data": dataset.description, "model": trained.name,
        "run": str(out) if args.out or args.score else None,  # a temporary run is gone by now
        **({} if args.score else {"steps": args.steps, "batch_size": args.batch_size, "hidden_dim": args.hidden_dim}),
        "threads": args.threads,
        "config": {k: v for k, v in trained.export_config()["model"].items()
                   if k not in ("feature_min", "feature_max", "whitening_mean", "whitening_basis")},
        "train_seconds": round(train_seconds, 1) if train_seconds is not None else None,  # wall time
        "train_cpu_seconds": round(cpu_seconds, 1) if cpu_seconds is not None else None,
        "score_seconds": round(time.perf_counter() - start, 1),
        "discriminative": scores["discriminative"],
        **({wide_key(args.classifier_hidden): scores[wide_key(args.classifier_hidden)]}
           if args.classifier_hidden else {}),
        "predictive": scores["predictive"],
        "correlational": scores["correlational"], "predictive_real_data": scores["predictive_real_data"],
        # Not a TimeGAN score: how much each feature moves from one step to the next, which the
        # post-hoc classifier (F/2 GRU units) may or may not notice.
        "mean_abs_step_change": step_change_report(real, synthetic, trained.config.columns),
        "protocol": {**scores["protocol"], "scale": axis,
                     "reference_data": "scored against the training windows, as TimeGAN does"},
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    run_main(main)
