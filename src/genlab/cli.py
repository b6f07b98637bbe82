"""The ``genlab`` command line: train | sample | list | data.

Errors a user can fix are printed as one sentence on stderr with exit status 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genlab.errors import ConfigError, GenlabError

# Short options of `genlab train` and the dotted option each one sets.
TRAIN_SHORTCUTS = {
    "data": ("data", "path"),
    "steps": ("train", "steps"),
    "out": ("train", "out"),
    "seed": ("train", "seed"),
    "device": ("train", "device"),
    "batch_size": ("train", "batch_size"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genlab", description="Train, sample and evaluate deep generative models.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model",
                                description="Train a model. Any config option can be set as --SECTION.KEY VALUE, "
                                            "e.g. --model.latent_dim 128 --train.log_every 10.")
    train.add_argument("family", nargs="?", help="model family (see 'genlab list'); optional with --config or --resume")
    train.add_argument("--config", help="YAML or JSON config file (a run's config.json works)")
    train.add_argument("--data", help="training data path (default: the family's embedded dataset)")
    train.add_argument("--steps", type=int, help="total training steps")
    train.add_argument("--batch-size", dest="batch_size", type=int, help="global batch size")
    train.add_argument("--out", help="run directory (default runs/MODEL)")
    train.add_argument("--resume", help="'auto' (newest complete checkpoint of --out, if any) or a run/checkpoint path")
    train.add_argument("--seed", type=int, help="random seed")
    train.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    sample = commands.add_parser("sample", help="draw samples from a trained model")
    sample.add_argument("model", help="run directory, checkpoint folder or exported model folder")
    sample.add_argument("--n", type=int, default=64, help="number of samples (rows with --interpolate)")
    sample.add_argument("--out", default="samples.png", help="output PNG")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--interpolate", action="store_true", help="latent interpolation grid instead of samples")
    sample.add_argument("--interpolation-steps", type=int, default=10, help="images per interpolation row")
    sample.add_argument("--class", dest="label", type=int, help="class index for a conditional model")
    sample.add_argument("--device", default="cpu")

    evaluate = commands.add_parser("eval", help="evaluate a trained model on held-out data",
                                   description="Evaluate a model; what is measured depends on its family, and the "
                                               "protocol is printed beside every number.")
    evaluate.add_argument("model", help="run directory, checkpoint folder or exported model folder")
    evaluate.add_argument("--data", help="evaluation data path (default: the family's embedded held-out data)")
    evaluate.add_argument("--nll", action="store_true", help="also estimate the test negative log-likelihood")
    evaluate.add_argument("--k", type=int, default=5000, help="importance samples per example for --nll")
    evaluate.add_argument("--batch-size", type=int, default=256)
    evaluate.add_argument("--max-examples", type=int, help="evaluate on the first N examples only")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--device", default="cpu")
    evaluate.add_argument("--json", help="also write the result to this JSON file")

    commands.add_parser("list", help="list families, models and datasets")

    data = commands.add_parser("data", help="inspect or download datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    info = data_commands.add_parser("info", help="what a data path holds")
    info.add_argument("path")
    download = data_commands.add_parser("download", help="fetch a dataset and verify its checksums")
    download.add_argument("name", help="mnist, fashion-mnist or cifar10")
    download.add_argument("dir")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if rest and args.command != "train":
            raise ConfigError(f"Unrecognised argument {rest[0]!r}; see 'genlab {args.command} --help'.")
        return COMMANDS[args.command](args, rest)
    except GenlabError as e:
        if args.debug:
            raise
        print(f"genlab: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("genlab: interrupted; the newest complete checkpoint is intact (--resume auto).", file=sys.stderr)
        return 130


def cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    from genlab.config import load_config_file, merge, parse_overrides
    from genlab.train.run import resolve_run, train

    values = load_config_file(args.config) if args.config else {}
    overrides = parse_overrides(rest)
    for option, (section, key) in TRAIN_SHORTCUTS.items():
        value = getattr(args, option)
        if value is not None:
            overrides = merge(overrides, {section: {key: value}})
    if args.family is None and "family" not in values and args.resume in (None, "auto"):
        raise ConfigError("Name a model family, e.g. 'genlab train gan' (see 'genlab list'), or pass --config FILE.")
    config, checkpoint = resolve_run(args.family, values, overrides, args.resume)
    run_dir = train(config, resume_from=checkpoint, restart_ok=args.resume == "auto",
                    progress=False if args.quiet else None)
    print(f"genlab: done; samples in {run_dir / 'samples'}, model in {run_dir / 'model'}")
    return 0


def cmd_sample(args: argparse.Namespace, rest: list[str]) -> int:
    import torch

    from genlab.imaging import save_image_grid
    from genlab.sampling import interpolation_latents, load_model

    if args.n < 1:
        raise ConfigError(f"--n must be at least 1 (got {args.n}).")
    model = load_model(args.model, device=args.device)
    generator = torch.Generator().manual_seed(args.seed)
    conditional = hasattr(model, "class_labels")
    if args.label is not None and not conditional:
        raise ConfigError(f"--class needs a class-conditional model; {model.name} takes no classes.")
    if args.interpolate:
        if not model.has_latent:
            raise ConfigError(f"--interpolate needs a model with a latent space; {model.name} has none.")
        if args.interpolation_steps < 2:
            raise ConfigError(f"--interpolation-steps must be at least 2 (got {args.interpolation_steps}).")
        latents = interpolation_latents(model, args.n, args.interpolation_steps, generator)
        if conditional:  # one class per row: the given one, or cycling through the classes
            rows = model.class_labels(args.n, args.label)
            labels = None if rows is None else rows.repeat_interleave(args.interpolation_steps)
            images = model.decode(latents, labels)
        else:
            images = model.decode(latents)
        save_image_grid(images, args.out, ncol=args.interpolation_steps)
    else:
        kwargs = {"label": args.label} if conditional else {}
        save_image_grid(model.sample(args.n, generator, **kwargs), args.out)
    print(f"genlab: wrote {args.out}")
    return 0


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    from genlab.fileio import atomic_write_json
    from genlab.models.base import EvalOptions
    from genlab.sampling import load_model

    options = EvalOptions(data=args.data, nll=args.nll, k=args.k, batch_size=args.batch_size,
                          max_examples=args.max_examples, seed=args.seed)
    options.validate()
    result = load_model(args.model, device=args.device).evaluate(options)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        atomic_write_json(args.json, result)
    return 0


def cmd_list(args: argparse.Namespace, rest: list[str]) -> int:
    from genlab.data.download import DATASETS
    from genlab.models.registry import get_family, list_families

    print("families and models:")
    for name in list_families():
        family = get_family(name)
        print(f"  {name:<12} {', '.join(family.models):<24} {family.description}")
    from genlab.config import packaged_configs

    print("packaged configs (genlab train --config NAME):")
    print("  " + ", ".join(packaged_configs()))
    print("downloadable datasets (genlab data download NAME DIR):")
    print("  " + ", ".join(DATASETS))
    return 0


def cmd_data(args: argparse.Namespace, rest: list[str]) -> int:
    if args.data_command == "info":
        from genlab.data.images import describe_images

        print(json.dumps(describe_images(Path(args.path)), indent=2, default=str))
    else:
        from genlab.data.download import download

        for path in download(args.name, Path(args.dir)):
            print(f"genlab: verified {path}")
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "list": cmd_list, "data": cmd_data}


def entry_point() -> None:
    sys.exit(main())
