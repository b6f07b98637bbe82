"""The ``genlab`` command line: train | sample | eval | generate | report | compare | list | data.

Errors a user can fix are printed as one sentence on stderr with exit status 2; ``--debug``
shows the traceback too (the status stays 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import itertools
import json
import os
import sys
import textwrap
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genlab.config import EvalOptions, check_seed
from genlab.errors import CheckpointError, ConfigError, GenlabError, out_of_memory_as
from genlab.fileio import atomic_write_json, blocking_file
from genlab.runtime import tune_allocator

if TYPE_CHECKING:  # for annotations only: torch and the models load when a command runs, not for --help
    import torch

    from genlab.models.base import GenerativeModel

INTERPOLATION_STEPS = 10  # images per row of 'genlab sample --interpolate'
DEVICE_HELP = "cpu (the default), cuda, cuda:N, or auto (CUDA when present, else the CPU)"  # sample, eval and generate's --device

# Shorthands of `genlab train` (--data, --steps, ...) and the dotted option each one sets.
TRAIN_SHORTCUTS = {
    "data": ("data", "path"),
    "steps": ("train", "steps"),
    "out": ("train", "out"),
    "seed": ("train", "seed"),
    "device": ("train", "device"),
    "batch_size": ("train", "batch_size"),
    "compile": ("train", "compile"),
}


BUILT_IN_DATA = (
    "gan, vae: the embedded MNIST test split (10,000 digits); toy:ring, toy:grid (2-D mixtures, gan backbone mlp)",
    "transformer: tiny Shakespeare (1,115,394 characters; last 10% held out)",
    "textgan: tiny Shakespeare's lines as sentences (first 90% of the lines train; the last 10% are eval's references)",
    "rgan: the TimeGAN 'sines' (synthetic: --data.sines N sequences drawn with --data.seed, 0 by default)",
)


class StoreOnce(argparse.Action):
    """argparse's plain store, refusing an option's second occurrence, where the last would silently
    win (as a dotted --SECTION.KEY given twice is refused)."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = vars(namespace).setdefault("_given", set())
        if option_string is not None and self.dest in given:
            raise ConfigError(f"Option {option_string} is given twice; pass it once.")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


class Parser(argparse.ArgumentParser):
    """argparse's own complaints (a value that is not a number, a missing argument) as genlab's one
    sentence and exit code 2, instead of a usage block; subcommands' parsers are of this class too."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, StoreOnce)  # the action of every option declared without one
        self.register("action", "store", StoreOnce)

    def error(self, message: str):
        raise ConfigError(f"{message[:1].upper()}{message[1:]}; see '{self.prog} --help'.")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="genlab", description="Train, sample and evaluate deep generative models.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_train_parser, _add_sample_parser, _add_eval_parser, _add_generate_parser, _add_other_parsers):
        add(commands)
    for command in _subparsers(parser).values():
        for each in (command, *_subparsers(command).values()):
            each.allow_abbrev = False  # --step must not pass for --steps
            # --debug after the command too; SUPPRESS: when absent it leaves genlab's own value alone
            each.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return parser


def _add_train_parser(commands: argparse._SubParsersAction) -> None:
    """genlab train: the family, a config file, shorthands of the common --train/--data options."""
    train = commands.add_parser("train", help="train a model",
                                description="Train a model. Any config option can be set as --SECTION.KEY VALUE, "
                                            "e.g. --model.latent_dim 128 --train.log_every 10; "
                                            "'genlab list FAMILY' prints them all with their defaults.")
    train.add_argument("family", nargs="?", help="model family (see 'genlab list'); optional with --config or --resume")
    train.add_argument("--config", help="YAML or JSON config file (a run's config.json works)")
    train.add_argument("--data", help="training data path (default: the family's embedded dataset)")
    train.add_argument("--steps", type=int, help="total training steps")
    train.add_argument("--batch-size", dest="batch_size", type=int, help="global batch size")
    train.add_argument("--out", help="run directory (default runs/MODEL)")
    train.add_argument("--resume", help="'auto' (newest complete checkpoint of --out, if any) or a run/checkpoint path")
    train.add_argument("--seed", type=int, help="random seed")
    train.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--compile", action="store_const", const=True,
                       help="torch.compile the networks (same as --train.compile true; see README: Speed)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_sample_parser(commands: argparse._SubParsersAction) -> None:
    """genlab sample: samples, interpolations, a class, long series."""
    sample = commands.add_parser("sample", help="draw samples from a trained model")
    sample.add_argument("model", help="run directory, checkpoint folder or exported model folder")
    sample.add_argument("--n", type=int, default=64, help="number of samples (rows with --interpolate; default 64)")
    sample.add_argument("--out", help="output file: .png (a grid) or .npz (to evaluate) for images; .png, .csv or "
                                      ".npz for time series; .txt for text and token ids (default samples.png, or "
                                      "samples.txt for a text model)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0: the same samples every "
                                                            "time; change it for others)")
    sample.add_argument("--interpolate", action="store_true", help="latent interpolation grid instead of samples")
    sample.add_argument("--interpolation-steps", type=int,
                        help=f"images per interpolation row (with --interpolate; default {INTERPOLATION_STEPS})")
    sample.add_argument("--class", dest="label", metavar="CLASS",
                        help="a conditional model's class: its name in the training data (a class subfolder, "
                             "CIFAR-10's 'cat') or its number (where some names are numbers, a number is a name)")
    sample.add_argument("--long", type=int, metavar="STEPS",
                        help="rgan: --n series of STEPS steps each, the recurrence running on past the training window")
    sample.add_argument("--device", default="cpu", help=DEVICE_HELP)


def _add_eval_parser(commands: argparse._SubParsersAction) -> None:
    """genlab eval: the family's own evaluation, or image --metrics against --ref."""
    evaluate = commands.add_parser("eval", help="evaluate a trained model on held-out data",
                                   description="Evaluate a model; what is measured depends on its family, and the "
                                               "protocol is printed beside every number. The result is also written "
                                               "to RUN/eval.json when MODEL is a run directory (report and compare "
                                               "read it).")
    evaluate.add_argument("model", help="run directory, checkpoint folder or exported model folder; with --metrics "
                                        "also a folder or .npz of generated images")
    evaluate.add_argument("--metrics", help="image metrics, comma-separated: fd,kid,pr,is,acc,modes ")
    evaluate.add_argument("--ref", help="reference data: for --metrics images (a folder, an .npz or 'mnist-test', the "
                                        "default: the embedded MNIST test split); for sequence models a CSV or .npz")
    evaluate.add_argument("--n", dest="samples", metavar="N", type=int,
                          help=f"generated samples for --metrics and textgan models (default {EvalOptions.samples})")
    evaluate.add_argument("--extractor", help="features for --metrics: mnist, fashion-mnist, cifar10 (genlab's own "
                                              "evaluators, FD-<name>) or inception (FID); default: the evaluator of "
                                              "--ref's dataset where genlab can tell it (mnist-test: mnist)")
    evaluate.add_argument("--inception-weights", help="path of pt_inception-2015-12-05-6726825d.pth for "
                                                      "--extractor inception")
    evaluate.add_argument("--no-cache", action="store_true", help="recompute the reference features")
    evaluate.add_argument("--data", help="evaluation data path (default: the family's embedded held-out data)")
    evaluate.add_argument("--nll", action="store_true", help="also estimate the test negative log-likelihood")
    evaluate.add_argument("--k", type=int, help=f"importance samples per example for --nll (default {EvalOptions.k})")
    evaluate.add_argument("--batch-size", type=int,
                          help=f"examples per forward pass (default {EvalOptions.batch_size})")
    evaluate.add_argument("--max-examples", type=int, help="evaluate on N examples only (the first N: images, the "
                                                           "text's windows or references; rgan: a random N, drawn "
                                                           "with --seed)")
    evaluate.add_argument("--repeats", type=int,
                          help=f"repetitions of each sequence score (mean ± std; default {EvalOptions.repeats})")
    evaluate.add_argument("--discriminative-iterations", type=int,
                          help="training iterations of the discriminative score's classifier (default "
                               f"{EvalOptions.discriminative_iterations})")
    evaluate.add_argument("--predictive-iterations", type=int,
                          help="training iterations of the predictive score's predictor (default "
                               f"{EvalOptions.predictive_iterations})")
    evaluate.add_argument("--classifier-hidden", type=int,
                          help="also report the discriminative score with a classifier of this many GRU units "
                               "(the TimeGAN protocol's has F/2, two for five features: it misses what a wider "
                               "one sees; not a TimeGAN score)")
    evaluate.add_argument("--oracle", help="textgan: the oracle LSTM's .npz (SeqGAN parameters), to score "
                                           "generated token ids by NLL_oracle")
    evaluate.add_argument("--temperature", type=float,
                          help="textgan: sample at this temperature (below 1: surer, less diverse text); NLL_gen "
                               f"is then of that tempered distribution (default {EvalOptions.temperature})")
    evaluate.add_argument("--train-data", help="textgan: the training data (text or .npz), to report the share of "
                                               "generated sequences that copy a training sequence verbatim")
    evaluate.add_argument("--plots", metavar="DIR", help="rgan: also write real-vs-synthetic figures (sequences, "
                          "PCA and t-SNE) to DIR")
    evaluate.add_argument("--seed", type=int, help="seed of what the evaluation draws (samples, subsets, post-hoc "
                                                   f"classifiers; default {EvalOptions.seed})")
    evaluate.add_argument("--device", default="cpu", help=DEVICE_HELP)
    evaluate.add_argument("--json", help="also write the result to this JSON file")


def _add_generate_parser(commands: argparse._SubParsersAction) -> None:
    """genlab generate: continue a prompt with a text model."""
    generate = commands.add_parser("generate", help="continue a prompt with a trained text model",
                                   description="Generate text with a trained text model; a single sample streams to "
                                               "stdout token by token.")
    generate.add_argument("model", help="run directory, checkpoint folder or exported model folder")
    generate.add_argument("--prompt", default="", help="text to continue (default: none; a transformer then starts "
                          "from a newline, or from its first token where its vocabulary has none, a textgan model "
                          "from its start symbol)")
    generate.add_argument("--max-new-tokens", type=int, default=500,
                          help="tokens to generate (default 500); a textgan model stops at its trained sentence length")
    generate.add_argument("--temperature", type=float, default=1.0, help="0: greedy decoding")
    generate.add_argument("--top-k", type=int, help="sample among the K most likely tokens only")
    generate.add_argument("--top-p", type=float, help="sample among the most likely tokens holding probability P")
    generate.add_argument("--num-samples", type=int, default=1, help="continuations, generated as one batch")
    generate.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0: the same text every "
                                                              "time; change it for another)")
    generate.add_argument("--no-cache", action="store_true",
                          help="re-run the whole window for every token (slow; transformer family only)")
    generate.add_argument("--device", default="cpu", help=DEVICE_HELP)


def _add_other_parsers(commands: argparse._SubParsersAction) -> None:
    """genlab report, compare, list and data."""
    report = commands.add_parser("report", help="write RUN/report.html: samples, curves, metrics, config")
    report.add_argument("run", help="run directory")
    compare = commands.add_parser("compare", help="one table row per run: last losses and evaluation values")
    compare.add_argument("runs", nargs="+", help="run directories")

    listing = commands.add_parser("list", help="list families, models and datasets; with a family, its options")
    listing.add_argument("family", nargs="?", help="print this family's options, their defaults and what they do, "
                                                   "or a packaged config's settings")
    listing.add_argument("--model", help="the model whose options to print (default: the family's default model)")

    data = commands.add_parser("data", help="inspect or download datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    info = data_commands.add_parser("info", help="what a data path holds: images (.npz, image folder, CIFAR-10, "
                                                 "IDX) or sequences (CSV, .npz)")
    info.add_argument("path", help="images (an .npz of uint8 x, an image folder, a CIFAR-10 batch folder or an IDX "
                                   "file) or sequences (a CSV, or an .npz of numbers of shape (rows, F) or (N, T, F))")
    download = data_commands.add_parser("download", help="fetch a dataset and verify its checksums")
    download.add_argument("name", help="mnist, fashion-mnist or cifar10")
    download.add_argument("dir")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's subcommands by name (empty when it has none)."""
    return next((action.choices for action in parser._actions if isinstance(action, argparse._SubParsersAction)), {})


def unknown_argument_error(parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str],
                           argv: list[str]) -> str:
    """One sentence for the first argument no option of the command takes, with the nearest option."""
    command = _subparsers(parser)[args.command]
    name = f"genlab {args.command}"
    if getattr(args, "data_command", None):
        command, name = _subparsers(command)[args.data_command], f"{name} {args.data_command}"
    first = unknown[0]
    after_separator = "--" in argv and first in argv[argv.index("--") + 1:]  # '--' makes options arguments
    if not first.startswith("-") or after_separator:
        return f"'{name}' takes no further argument {first!r}; see '{name} --help'."
    options = [o for action in command._actions for o in action.option_strings if o.startswith("--")]
    near = difflib.get_close_matches(first.split("=", 1)[0].replace("_", "-"), options, n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return f"'{name}' has no option {first.split('=', 1)[0]}{hint}; see '{name} --help'."


def split_dotted(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separate ``--section.key [value]`` options from the rest, before argparse sees them.

    argparse would otherwise hand a dotted option's value to an optional positional argument
    (``genlab train --config x --train.steps 5`` would read ``5`` as the family).
    """
    plain, dotted = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and "." in arg.split("=", 1)[0]:
            # A next token that is itself an option is not this one's value: parse_overrides then
            # reports the missing value instead of swallowing the option.
            takes_value = "=" not in arg and i + 1 < len(argv) and not argv[i + 1].startswith("--")
            dotted += argv[i:i + 2] if takes_value else [arg]
            i += 2 if takes_value else 1
        else:
            plain.append(arg)
            i += 1
    return plain, dotted


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    plain, dotted = split_dotted(list(sys.argv[1:] if argv is None else argv))
    try:
        args, unknown = parser.parse_known_args(plain)
    except ConfigError as e:
        return report_error(e, "--debug" in plain)
    tune_allocator()
    # A path given as bytes that are not UTF-8 reaches Python as surrogate escapes, which a stdout
    # with strict errors (the usual one under a UTF-8 locale) refuses to print: 'genlab: done ...'
    # would fail after the work. Print them as backslash escapes, as Python's stderr already does.
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        if unknown:
            raise ConfigError(unknown_argument_error(parser, args, unknown, plain))
        if dotted and args.command != "train":
            raise ConfigError(f"Unrecognised argument {dotted[0]!r}; see 'genlab {args.command} --help'.")
        args.overrides = dotted  # only train takes them (refused above for the others)
        return COMMANDS[args.command](args)
    except GenlabError as e:
        return report_error(e, args.debug)
    except BrokenPipeError:  # the reader of our output went away ('genlab compare ... | head')
        # Point stdout at /dev/null so that flushing it at exit does not fail again (the recipe of
        # Python's signal documentation).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # the file system refused: a missing folder, no permission, a full disk
        if args.debug:
            traceback.print_exc()
        where = e.filename2 or e.filename
        print(f"{speaker()}: error: {e.strerror or e}{f': {where}' if where else ''}; check that path (that it exists, "
              "its permissions, the space left).", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        after = " (continue from the newest complete checkpoint with --resume auto)" if args.command == "train" else ""
        print(f"genlab: interrupted; files written so far are intact{after}.", file=sys.stderr)
        return 130


def report_error(error: GenlabError, debug: bool) -> int:
    """Print ``error``'s sentence (after its traceback with ``--debug``); return its exit status, 2."""
    if debug:
        traceback.print_exc()
    print(f"{speaker()}: error: {error}", file=sys.stderr)
    return error.exit_code


def speaker() -> str:
    """How an error line starts: 'genlab', and under torchrun with several processes, on a rank other
    than 0, its rank (every rank prints its own error; one all ranks meet is then said once plainly and
    once per other rank)."""
    from genlab.train.distributed import ProcessContext

    try:
        process = ProcessContext.from_env()
    except ValueError:  # RANK or WORLD_SIZE not a number: not torchrun's
        return "genlab"
    return f"genlab (rank {process.rank})" if process.distributed and not process.is_main else "genlab"


# Packaged recipes made for a dataset genlab does not ship: without --data they would train on the
# family's built-in data (MNIST digits upscaled to colour, the synthetic sines), which they were not tuned for.
RECIPE_DATA = {
    "cifar10-sngan": "CIFAR-10 (its cifar-10-batches-py folder or an .npz)",
    "cifar10-sngan-conditional": "CIFAR-10 with its labels (its cifar-10-batches-py folder or an .npz with y)",
    "cifar10-sagan": "CIFAR-10 (its cifar-10-batches-py folder or an .npz)",
    "prices-crnngan": "a CSV of daily prices (the TimeGAN stocks: stock_data.csv, with --data.reverse true)",
    "sensors-crnngan": "a CSV of sensor readings (the TimeGAN energy data, with --data.reverse true)",
}


def sets(values: dict, option: str | None) -> bool:
    """Whether nested ``values`` (a config file's, or the overrides) hold the dotted ``option``."""
    if option is None:
        return False
    for key in option.split("."):
        if not isinstance(values, dict) or key not in values:
            return False
        values = values[key]
    return True


def cmd_train(args: argparse.Namespace) -> int:
    from genlab.config import load_config_file, merge, parse_overrides
    from genlab.train.distributed import ProcessContext
    from genlab.train.run import resolve_run, train

    for option, hint in (("resume", "auto or a run or checkpoint folder, or leave it out to start a new run"),
                         ("config", "a config file or a packaged config's name, or leave it out")):
        if getattr(args, option) is not None and not getattr(args, option).strip():  # an unset shell variable
            raise ConfigError(f"--{option} is empty; pass {hint}.")
    values = load_config_file(args.config) if args.config else {}
    if args.config and args.family is None and args.resume is None and values.get("family") is None:
        what = "is empty" if not values else "has no 'family:' line"
        raise ConfigError(f"Config file {args.config} {what}; add one such as 'family: gan', or name the family: "
                          f"genlab train gan --config {args.config}.")
    overrides = parse_overrides(args.overrides)  # the --section.key options
    for option, (section, key) in TRAIN_SHORTCUTS.items():
        value = getattr(args, option)
        if value is not None:
            dotted = overrides.get(section, {}).get(key, value)
            if dotted != value:
                raise ConfigError(f"--{option.replace('_', '-')} {value} and --{section}.{key} {dotted} set the same "
                                  "option; pass only one of them.")
            overrides = merge(overrides, {section: {key: value}})
    try:
        config, checkpoint, saved = resolve_run(args.family, values, overrides, args.resume)
    except ConfigError as e:
        if args.config and sets(values, e.option) and not sets(overrides, e.option):
            message = str(e)
            raise ConfigError(f"Config file {args.config}: {message[:1].lower()}{message[1:]}") from e
        raise
    recipe = str(args.config) if args.config and not Path(args.config).is_file() else None
    if recipe in RECIPE_DATA and checkpoint is None and getattr(config.data, "path", None) is None:
        raise ConfigError(f"--config {recipe} is a recipe for {RECIPE_DATA[recipe]}, and --data is not given, so it "
                          "would train on the built-in data instead; pass --data.")
    run_dir = train(config, resume_from=checkpoint, restart_ok=args.resume == "auto",
                    progress=False if args.quiet else None, saved=saved)
    if ProcessContext.from_env().is_main:  # under torchrun, one line for the run, not one per process
        print(f"genlab: done; samples in {run_dir / 'samples'}, model in {run_dir / 'model'}")
    return 0


def output_file(path: str, option: str, model: str | None = None, inputs: tuple[str | None, ...] = ()) -> Path:
    """``path`` as the file an option names, refused up front if it is an existing folder or if
    writing it would replace or add to what the command reads (:func:`guard_output`)."""
    if not str(path).strip():
        raise ConfigError(f"{option} is empty; pass a file name.")
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"{option} {path} is a folder; pass a file name inside it.")
    blocked = blocking_file(out)
    if blocked is not None:
        raise ConfigError(f"{option} {path} lies under {blocked}, which is a file, not a folder; pass a path in a "
                          "folder.")
    guard_output(out, f"{option} {path}", "another file name", model, inputs)
    return out


def output_folder(path: str, option: str, names: tuple[str, ...], model: str | None = None,
                  inputs: tuple[str | None, ...] = ()) -> Path:
    """``path`` as the folder an option names for files ``names``, guarded as :func:`output_file`
    guards one file (a file there already, or under a file, is refused by the options' checks)."""
    folder = Path(path)
    for name in names:
        guard_output(folder / name, f"{option} {path}", "another folder", model, inputs)
    return folder


def guard_output(target: Path, said: str, fix: str, model: str | None, inputs: tuple[str | None, ...]) -> None:
    """Refuse to write ``target`` (``said``: how the message names it) where it would replace one of
    ``inputs``, the model folder or the data ``model`` was trained on, or add a file inside such a
    folder (a training-data folder would then hold a picture or table it was not trained on), or
    where it is part of the record of a run (its config, log, weights, checkpoints, previews)."""
    from genlab.data.provenance import training_data_path
    from genlab.train.rundir import record_owner

    resolved = target.resolve()
    trained_on = training_data_path(model) if model is not None else None
    for source in (*inputs, model, trained_on):
        if not isinstance(source, (str, Path)):
            continue
        role = "this model was trained on" if source is trained_on else "this command reads"
        if resolved == Path(source).resolve():
            raise ConfigError(f"{said} is {source}, which {role}; writing there would replace it, so pass {fix}.")
        if source is not model and Path(source).is_dir() and Path(source).resolve() in resolved.parents:
            raise ConfigError(f"{said} lies inside {source}, which {role}; writing there would change that data, so "
                              f"pass {fix} outside it.")
    if model is not None and resolved.exists() and Path(model).is_dir() and any(
            folder.resolve() in resolved.parents for folder in model_folders(Path(model))):
        raise ConfigError(f"{said} is a file of the model folder this command reads ({model}); pass {fix}.")
    # Any run's record, not only the one this command reads: training, resuming and reporting read it back.
    owner = record_owner(resolved)
    if owner is not None:
        raise ConfigError(f"{said} is part of the record of the run in {owner[0]}; pass {fix} outside its config, "
                          "log, model, checkpoints and previews.")


def model_folders(path: Path) -> list[Path]:
    """The folder holding the weights that ``path`` (a run or a model folder) loads, if it has one."""
    from genlab.sampling import find_model_folder

    try:
        return [find_model_folder(path)]
    except CheckpointError:
        return []


def cmd_sample(args: argparse.Namespace) -> int:
    import torch

    from genlab.sampling import load_model
    from genlab.train.device import resolve_device

    if args.n < 1:
        raise ConfigError(f"--n must be at least 1 (got {args.n}).")
    if args.interpolation_steps is not None and not args.interpolate:
        raise ConfigError("--interpolation-steps sets the images per row of --interpolate; add --interpolate or drop "
                          "it.")
    steps = INTERPOLATION_STEPS if args.interpolation_steps is None else args.interpolation_steps
    check_seed(args.seed)
    out = output_file(args.out, "--out", args.model) if args.out is not None else None  # before the model loads
    model = load_model(args.model, device=resolve_device(args.device, "--device"))
    suffixes = model.sample_suffixes
    # The default file gets the same checks as a given one: a model trained on ./samples.txt must not replace it.
    out = out or output_file(f"samples{suffixes[0]}", "the default --out", args.model)
    if out.suffix.lower() not in suffixes:
        kinds = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        raise ConfigError(f"--out {out}: {model.family}/{model.name} samples are written as {kinds}; "
                          f"pass a file name ending in {suffixes[0]}, such as samples{suffixes[0]}.")
    generator = torch.Generator().manual_seed(args.seed)
    label = model.class_index(args.label) if args.label is not None else None
    if args.long is not None:
        if not getattr(model, "samples_long_series", False):
            raise ConfigError(f"--long needs a recurrent sequence model (family rgan); {model.name} is not one.")
        if args.long < 1:
            raise ConfigError(f"--long must be a positive number of steps (got {args.long}).")
        too_many = f"--n {args.n} series of --long {args.long} steps do not fit in memory; lower --long or --n."
    elif args.interpolate:
        too_many = (f"--n {args.n} rows of --interpolation-steps {steps} images do not fit in memory; lower --n or "
                    "--interpolation-steps.")
    else:
        too_many = (f"--n {args.n} samples do not fit in memory; draw fewer (several calls with different --seed "
                    "values give more).")
    replaced = out.exists()
    with out_of_memory_as(too_many):  # an allocation that fails while drawing is one sentence, not a traceback
        if args.interpolate:
            draw_interpolation(model, out, args.n, steps, generator, label)
        else:
            draw_samples(model, out, args.n, generator, label, args.long)
    names = getattr(model.config, "class_names", None)
    print(f"genlab: wrote {out}" + (f" (class {names[label]})" if label is not None and names else "")
          + checkpoint_note(Path(args.model), model.loaded_from) + (", replacing the file there" if replaced else ""))
    return 0


def checkpoint_note(given: Path, loaded: Path | None) -> str:
    """Said when a run directory without a model/ export gave its newest checkpoint's weights: the run
    is still training, or stopped before the end."""
    if loaded is None or loaded.parent.name != "checkpoints" or given.resolve() == loaded.resolve():
        return ""
    return (f", from its newest checkpoint, {loaded.name} (the run has no model/ export yet: it is still training or "
            "stopped before its last step)")


def draw_interpolation(model: GenerativeModel, out: Path, rows: int, steps: int, generator: torch.Generator,
                       label: int | None) -> None:
    """``rows`` latent walks of ``steps`` images each, as one grid."""
    from genlab.sampling import interpolation_images

    if not model.has_latent or not getattr(model, "is_image", True):
        raise ConfigError(f"--interpolate needs an image model with a latent space; {model.name} is not one.")
    if steps < 2:
        raise ConfigError(f"--interpolation-steps must be at least 2 (got {steps}).")
    model.save_samples(interpolation_images(model, rows, steps, generator, label), out, columns=steps)


def draw_samples(model: GenerativeModel, out: Path, n: int, generator: torch.Generator, label: int | None,
                 long_steps: int | None) -> None:
    """``n`` samples (of class ``label``; series of ``long_steps`` steps) written to ``out`` with their labels."""
    kwargs: dict[str, Any] = {"label": label} if model.num_classes is not None else {}  # only conditional models
    if long_steps is not None:
        kwargs["steps"] = long_steps
    model.save_samples(model.sample(n, generator, **kwargs), out, labels=model.class_labels(n, label))


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
    from genlab.models.base import read_json
    from genlab.train.rundir import EVAL_FILE, in_run

    plots = result.get("plots")
    if isinstance(plots, dict):
        result = {**result, "plots": {name: os.path.relpath(Path(path).resolve(), run.resolve())
                                      if name != "protocol" and isinstance(path, str) and in_run(path, run) else path
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


def generation_memory_guard(num_samples: int, max_new_tokens: int):
    """An allocation that fails while generating is one sentence naming the options that size it."""
    if num_samples == 1:
        return out_of_memory_as(f"A continuation of --max-new-tokens {max_new_tokens} tokens does not fit in memory; "
                                "lower it.")
    return out_of_memory_as(f"--num-samples {num_samples} continuations of --max-new-tokens {max_new_tokens} tokens "
                            "do not fit in memory; generate fewer or shorter ones (several calls with different "
                            "--seed values give more).")


def cmd_generate(args: argparse.Namespace) -> int:
    import torch

    from genlab.sampling import load_model
    from genlab.train.device import resolve_device

    check_decoding_options(args)
    model = load_model(args.model, device=resolve_device(args.device, "--device"))
    if not hasattr(model, "tokenizer"):
        raise ConfigError(f"'genlab generate' needs a text model; {args.model} holds a {model.family}/{model.name} "
                          "model — use 'genlab sample' for it.")
    if args.no_cache and model.family != "transformer":
        raise ConfigError(f"--no-cache is for the transformer family's key-value cache; {model.family}/{model.name} "
                          "has none, so drop it.")
    # A terminal or file whose encoding lacks a character (a byte model's U+FFFD for broken bytes, on
    # a Latin-1 or Windows console) gets a replacement mark, not a traceback halfway through the text.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    # A textgan model generates every token in model.generate, a transformer allocates the whole
    # sequence at its first step: both happen under the guard, before anything is written. A single
    # continuation streams; what it allocates later (a transformer's caches, rebuilt when its window
    # slides) is under the guard too.
    with generation_memory_guard(args.num_samples, args.max_new_tokens):
        steps = model.generate(args.prompt, args.num_samples, args.max_new_tokens, temperature=args.temperature,
                               top_k=args.top_k, top_p=args.top_p, generator=torch.Generator().manual_seed(args.seed),
                               use_cache=not args.no_cache)
        if args.num_samples == 1:
            stream_continuation(model.tokenizer, args.prompt, steps)
            return 0
        rows = torch.stack(list(steps), dim=1).tolist()  # (num_samples, tokens generated)
    for i, row in enumerate(rows):
        text = model.tokenizer.join(args.prompt, model.tokenizer.decode(row))
        sys.stdout.write(f"--- sample {i + 1} ---\n{text}\n")
    return 0


def check_decoding_options(args: argparse.Namespace) -> None:
    """Refuse decoding options out of range, and --top-k/--top-p where greedy decoding ignores them."""
    if not 0 <= args.temperature < float("inf"):  # NaN too
        raise ConfigError(f"--temperature must be a finite number of at least 0 (got {args.temperature}); 1 samples "
                          "the model's own distribution, 0 decodes greedily.")
    for option, value, low in (("--max-new-tokens", args.max_new_tokens, 1), ("--num-samples", args.num_samples, 1),
                               ("--top-k", args.top_k, 1)):
        if value is not None and not value >= low:
            raise ConfigError(f"{option} must be at least {low} (got {value}).")
    check_seed(args.seed)
    try:
        args.prompt.encode("utf-8")
    except UnicodeEncodeError:  # bytes the terminal's encoding could not decode arrive as lone surrogates
        raise ConfigError("--prompt is not valid UTF-8 text; pass the prompt as UTF-8.") from None
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise ConfigError(f"--top-p must lie in (0, 1] (got {args.top_p}).")
    for flag, value in (("--top-k", args.top_k), ("--top-p", args.top_p)):
        if args.temperature == 0 and value is not None:  # greedy decoding takes the top token whatever they keep
            raise ConfigError(f"{flag} has no effect at --temperature 0, which always takes the most likely token; "
                              "drop it, or sample at a temperature above 0.")


def stream_continuation(tokenizer: Any, prompt: str, steps: Iterator[torch.Tensor]) -> None:
    """Write ``prompt`` and then each generated token (``steps``: one (1,) tensor per token) as it comes."""
    first = next(steps, None)  # the first token is drawn before the prompt is written: a refusal leaves no output
    decode = tokenizer.stream_decoder(prompt)
    sys.stdout.write(prompt)
    for token in itertools.chain([] if first is None else [first], steps):
        sys.stdout.write(decode(int(token[0])))
        sys.stdout.flush()
    sys.stdout.write(decode(None) + "\n")  # what the decoder held back: a character cut off at the end


def cmd_report(args: argparse.Namespace) -> int:
    from genlab.report import write_report

    problems: list[str] = []
    print(f"genlab: wrote {write_report(Path(args.run), problems)}")
    for problem in problems:  # on the page too, at its top
        print(f"genlab: warning: {problem}", file=sys.stderr)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from genlab.report import compare

    print(compare([Path(run) for run in args.runs]))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from genlab.config import packaged_configs
    from genlab.data.download import DATASETS
    from genlab.models.registry import get_family, list_families

    if args.family in packaged_configs():  # a recipe: what it sets, and what was measured with it
        if args.model is not None:
            raise ConfigError(f"{args.family} is a packaged config, which names its own model; drop --model.")
        path = packaged_configs()[args.family]
        print(f"packaged config {args.family} ({path}; genlab train --config {args.family}"
              + (f" --data DATA, for {RECIPE_DATA[args.family]}" if args.family in RECIPE_DATA else "") + "):")
        print(path.read_text(encoding="utf-8").rstrip())
        return 0
    if args.family is not None:
        from genlab.options import family_options, format_options

        model, found = family_options(args.family, args.model)
        print(format_options(args.family, model, found))
        return 0
    if args.model is not None:
        raise ConfigError("genlab list --model needs a family: genlab list FAMILY --model NAME.")
    print("families (genlab train FAMILY [--model.name MODEL]):")
    for name in list_families():
        family = get_family(name)
        print(f"  {name:<12} models: {', '.join(family.models)}")
        print(textwrap.fill(family.description, width=100, initial_indent=" " * 15, subsequent_indent=" " * 15,
                            break_on_hyphens=False))
    print("packaged configs (genlab train --config NAME; * needs --data: a recipe for data genlab does not ship; "
          "genlab list NAME shows one):")
    print("  " + ", ".join(name + ("*" if name in RECIPE_DATA else "") for name in packaged_configs()))
    print("built-in data (what --data defaults to, or names it takes):")
    for line in BUILT_IN_DATA:
        print("  " + line)
    print("downloadable datasets (genlab data download NAME DIR):")
    print("  " + ", ".join(DATASETS))
    return 0


def describe_data(path: Path) -> dict[str, Any]:
    """'genlab data info': a CSV, or an .npz whose x holds numbers other than uint8, as sequences;
    anything else as images."""
    import numpy as np

    from genlab.data.images import describe_images
    from genlab.data.npz import array_header
    from genlab.data.sequences import describe_sequences, is_npz

    if path.suffix.lower() == ".csv":
        return describe_sequences(path)
    # x's header only: the data is read once, by whichever description applies (an unreadable file
    # is described, and refused, as images).
    header = array_header(path, "x") if path.is_file() and is_npz(path) else None
    if header is not None:
        shape, dtype = header
        if dtype != np.uint8 and np.issubdtype(dtype, np.number) and len(shape) in (2, 3):
            described = describe_sequences(path)
            if len(shape) == 3 and shape[1] == shape[2] and shape[1] in (28, 32, 64):
                described["note"] = (f"x of shape {shape} may be images of {shape[1]} x {shape[2]} pixels; genlab "
                                     "reads images as uint8 0..255, e.g. (x * 255).round().astype(numpy.uint8)")
            return described
    return describe_images(path)


def cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "info":
        from genlab.data.images import FORMATS

        if not args.path.strip():  # an unset shell variable: not the current folder
            raise ConfigError("'genlab data info': the path is empty; name a data file or folder.")
        path = Path(args.path)
        if path.suffix.lower() in (".txt", ".tsv", ".json"):
            raise ConfigError(f"'genlab data info' describes image data ({FORMATS}) and sequences (a CSV or an .npz "
                              f"of numbers); {path} is for the text families, which read it with 'genlab train "
                              f"FAMILY --data {path}'.")
        print(json.dumps(describe_data(path), indent=2, default=str))
    else:
        from genlab.data.download import download

        if not args.dir.strip():  # an unset shell variable: not the current folder
            raise ConfigError("'genlab data download': the folder to download into is empty; name a folder.")
        for path in download(args.name, Path(args.dir)):
            print(f"genlab: verified {path}")
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "generate": cmd_generate,
            "report": cmd_report, "compare": cmd_compare, "list": cmd_list, "data": cmd_data}


def entry_point() -> None:
    sys.exit(main())
