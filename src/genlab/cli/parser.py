"""The argument parser of ``genlab``: its commands, options and help, and the dotted --SECTION.KEY
options that only ``train`` takes.
"""

from __future__ import annotations

import argparse
import difflib

from genlab.config import EvalOptions
from genlab.errors import ConfigError


INTERPOLATION_STEPS = 10  # images per row of 'genlab sample --interpolate'
# sample, eval and generate's --device
DEVICE_HELP = "cpu (the default), cuda, cuda:N, or auto (CUDA when present, else the CPU)"

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
    sample.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0): the same --seed and --n "
                                                            "give the same samples (a smaller --n is not a prefix of a "
                                                            "larger one); change it for others")
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
