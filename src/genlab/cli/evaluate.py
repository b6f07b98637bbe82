"""``genlab eval``: a model's own evaluation, image metrics of a run or of a sample file, and the
eval.json a run directory keeps for its report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genlab.cli.outputs import output_file, output_folder
from genlab.config import EvalOptions, check_seed
from genlab.errors import CheckpointError, ConfigError, out_of_memory_as
from genlab.fileio import atomic_write_json

if TYPE_CHECKING:  # for annotations only: torch and the models load when a command runs, not for --help
    import torch


# `genlab eval`'s options that are EvalOptions fields (the argparse names are the fields' names).
# The parser leaves each None (--nll False) when not given: their defaults are EvalOptions', and
# what was given is known exactly, for the checks below. --data/--ref fill ``data``.
EVAL_FIELDS = tuple(f.name for f in dataclasses.fields(EvalOptions) if f.name not in ("data", "data_flag", "given"))

FLAGS = {"samples": "--n"}  # the fields whose flag is not their name

# The EvalOptions fields that one family's evaluation reads, and what that family's models are.
FAMILY_EVAL_OPTIONS = {"nll": "vae", "k": "vae", "repeats": "rgan", "discriminative_iterations": "rgan",
                       "classifier_hidden": "rgan", "predictive_iterations": "rgan", "plots": "rgan",
                       "oracle": "textgan", "temperature": "textgan", "train_data": "textgan", "samples": "textgan"}

FAMILY_NOUNS = {"vae": "latent-variable models", "rgan": "sequence models", "textgan": "sentence generators"}

# The EvalOptions fields image --metrics reads; the others belong to a family's own evaluation.
IMAGE_METRIC_OPTIONS = {"samples", "batch_size", "seed"}

# Those a file of generated sequences is scored with ('genlab eval FILE.csv --ref DATA').
SAMPLE_FILE_OPTIONS = {"data", "data_flag", "seed", "max_examples", "repeats", "discriminative_iterations",
                       "predictive_iterations", "classifier_hidden", "plots"}

# What to pass instead of an empty path to `genlab eval` (an unset shell variable, which Path reads as ".").
EMPTY_EVAL_PATHS = {"data": "name the data to evaluate on, or leave the option out for the family's own held-out data",
                    "ref": "name the reference data, or leave the option out for its default",
                    "oracle": "name the oracle's .npz", "train_data": "name the training data",
                    "inception_weights": "name the weights file", "plots": "pass a folder for the figures"}


def flag_of(field: str) -> str:
    """The command-line flag of an EvalOptions field."""
    return FLAGS.get(field, f"--{field.replace('_', '-')}")


def eval_options(args: argparse.Namespace) -> EvalOptions:
    """The EvalOptions that ``genlab eval``'s arguments ask for, recording which were given."""
    given = {field: value for field in EVAL_FIELDS  # (0 is given: not `in (None, False)`, which holds 0)
             if (value := getattr(args, field)) is not None and value is not False}
    data = args.data if args.data is not None else args.ref
    if data is not None and not args.metrics:
        given["data"] = data
    return EvalOptions(**given, data_flag="--data" if args.ref is None else "--ref", given=frozenset(given))


def refuse_unused_eval_options(options: EvalOptions, model=None) -> None:
    """Refuse what the evaluation would silently ignore: for image --metrics (``model`` None) a
    family's own options, else another family's."""
    for field in sorted(options.given):
        if model is None:
            if field not in IMAGE_METRIC_OPTIONS:
                raise ConfigError(f"{flag_of(field)} is not used by image --metrics; drop it.")
            continue
        family = FAMILY_EVAL_OPTIONS.get(field)
        if family is None or model.family == family:
            continue
        uses, hint = f"{FAMILY_NOUNS[family]} (family {family})", ""
        if field in IMAGE_METRIC_OPTIONS:  # --n: also image --metrics, which an image model can be given
            uses = f"image --metrics and {uses}"
            if model.family in ("gan", "vae") and getattr(model, "is_image", True):
                hint = " (or add --metrics to score its images)"
        raise ConfigError(f"{flag_of(field)} is for {uses}; {model.family}/{model.name} does not use it, so drop "
                          f"it{hint}.")


def evaluation_memory_guard(options: EvalOptions, fields: list[str]):
    """An allocation that fails while evaluating is one sentence naming ``fields``, the options
    (EvalOptions fields) whose lower values shrink what the evaluation holds at once."""
    sizes, lower, unset = [], [], []
    for field in fields:
        flag, value = flag_of(field), getattr(options, field)
        if value is None:  # --max-examples not given
            sizes.append(f"every example (no {flag})")
            unset.append(flag)
        else:
            sizes.append(f"{flag} {value} samples" if field == "samples" else f"{flag} {value}")
            lower.append(flag)
    if not sizes:
        return out_of_memory_as("The evaluation does not fit in memory.")
    listed = sizes[0] if len(sizes) == 1 else f"{', '.join(sizes[:-1])} and {sizes[-1]}"
    remedies = [f"lower {'them' if len(lower) > 1 else 'it'}"] if lower else []
    remedies += [f"pass {flag} to use fewer" for flag in unset]
    return out_of_memory_as(f"The evaluation does not fit in memory with {listed}; {', or '.join(remedies)}.")


def cmd_eval(args: argparse.Namespace) -> int:
    from genlab.train.device import resolve_device
    from genlab.train.rundir import is_run_directory

    if args.seed is not None:
        check_seed(args.seed)
    device = resolve_device(args.device, "--device")
    reads = (args.data, args.ref, args.oracle, args.train_data)
    if args.json is not None:
        output_file(args.json, "--json", args.model, reads)
        if Path(args.json).suffix.lower() != ".json":  # a .png or a run's .lock would be replaced by JSON
            raise ConfigError(f"--json {args.json} does not end in .json; pass a .json file name.")
    if args.metrics is not None and not args.metrics.strip():  # an unset shell variable: not "all"
        raise ConfigError("--metrics is empty; pass metric names (e.g. --metrics fd,kid), or drop it for the "
                          "model's own evaluation.")
    for name, fix in EMPTY_EVAL_PATHS.items():  # an unset shell variable: not the current folder
        if getattr(args, name) is not None and not getattr(args, name).strip():
            raise ConfigError(f"--{name.replace('_', '-')} is empty; {fix}.")
    options = eval_options(args)
    if options.plots is not None:
        from genlab.models.rgan.evaluation import PLOT_FILES

        output_folder(options.plots, "--plots", PLOT_FILES, args.model, reads)
    result = evaluate_image_metrics(args, options, device) if args.metrics else evaluate_model(args, options, device)
    print(json.dumps(result, indent=2))
    if isinstance(result.get("summary"), str):  # the numbers that matter, in one line after a long printout
        print(f"genlab: {result['summary']}", file=sys.stderr)
    for warning in result_warnings(result):  # in the JSON too, but easily missed in a long printout
        print(f"genlab: warning: {warning}", file=sys.stderr)
    if is_run_directory(Path(args.model)):  # for report and compare
        write_run_evaluation(Path(args.model), result)
    if args.json is not None:
        atomic_write_json(args.json, result)
    return 0


def result_warnings(result: dict[str, Any]) -> list[str]:
    """The distinct warnings of an evaluation: its protocol's, or each image metric's (they share one)."""
    found: list[str] = []
    for part in (result.get("protocol"), *result.values()):
        warning = part.get("warning") if isinstance(part, dict) else None
        if isinstance(warning, str) and warning not in found:
            found.append(warning)
    return found


def evaluate_image_metrics(args: argparse.Namespace, options: EvalOptions, device: torch.device) -> dict[str, Any]:
    """``genlab eval --metrics``: the image metrics of a model's samples or an image file, against --ref."""
    from genlab.metrics.images import evaluate_images, parse_metrics

    if args.data is not None:
        raise ConfigError("--data is not used by image --metrics (their reference images are given with --ref); "
                          "drop it.")
    refuse_unused_eval_options(options)
    with evaluation_memory_guard(options, ["samples", "batch_size"]):
        return evaluate_images(args.model, args.ref or "mnist-test", metrics=parse_metrics(args.metrics),
                               n=options.samples, extractor=args.extractor, inception_weights=args.inception_weights,
                               seed=options.seed, batch_size=options.batch_size, device=device,
                               use_cache=not args.no_cache)


def evaluate_sample_file(path: Path, options: EvalOptions) -> dict[str, Any]:
    """``genlab eval FILE --ref DATA`` without --metrics: the TimeGAN scores of the generated sequences in FILE."""
    from genlab.models.rgan.evaluation import evaluate_sample_file as score_file

    for field in sorted(options.given):
        if field not in SAMPLE_FILE_OPTIONS:
            raise ConfigError(f"{flag_of(field)} is not used when scoring a file of sequences; drop it.")
    with evaluation_memory_guard(options, ["max_examples"]):
        return score_file(path, options)


def evaluate_model(args: argparse.Namespace, options: EvalOptions, device: torch.device) -> dict[str, Any]:
    """``genlab eval`` without --metrics: the model family's own evaluation (likelihoods, TimeGAN scores, ...)."""
    from genlab.sampling import find_model_folder, load_model

    for name in ("extractor", "inception_weights", "no_cache"):
        if getattr(args, name) not in (None, False):
            raise ConfigError(f"--{name.replace('_', '-')} is for image --metrics; add --metrics (e.g. "
                              "--metrics fd,kid) or drop it.")
    if args.data is not None and args.ref is not None:
        raise ConfigError("--data and --ref name the same thing here (the data to evaluate on); give one of them.")
    options.validate()
    if Path(args.model).is_file() and Path(args.model).suffix.lower() in (".csv", ".npz"):
        return evaluate_sample_file(Path(args.model), options)
    weights = find_model_folder(args.model)  # a run still training may write a newer checkpoint meanwhile
    model = load_model(weights, device=device)
    refuse_unused_eval_options(options, model)
    with evaluation_memory_guard(options, model.evaluation_memory_options(options)):
        result = model.evaluate(options)
    result["protocol"]["weights"] = str(weights)  # the run's model/ export, else its newest checkpoint
    return result


def write_run_evaluation(run: Path, result: dict[str, Any]) -> None:
    """Write ``result`` as the run's eval.json (which report and compare read): the figures of
    ``--plots`` inside the run as paths relative to it, so a moved or copied run shows its own; and
    say so when it replaces an evaluation of other values."""
    from genlab.fileio import is_inside
    from genlab.models.base import read_json
    from genlab.train.rundir import EVAL_FILE

    plots = result.get("plots")
    if isinstance(plots, dict):
        result = {**result, "plots": {name: os.path.relpath(Path(path).resolve(), run.resolve())
                                      if name != "protocol" and isinstance(path, str) and is_inside(path, run) else path
                                      for name, path in plots.items()}}
    path = run / EVAL_FILE
    try:
        previous = read_json(path) if path.is_file() else {}
    except CheckpointError:  # a damaged one: replaced without a word on what it held
        previous = {}
    lost = [name for name in previous if name != "protocol" and name not in result]
    if lost:
        print(f"genlab: note: replaced {path}, which also held {', '.join(lost[:4])}{', ...' if len(lost) > 4 else ''} "
              "(one evaluation per run: pass --json FILE to keep several).", file=sys.stderr)
    atomic_write_json(path, result)
