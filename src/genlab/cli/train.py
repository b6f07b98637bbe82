"""``genlab train``: a run from a family or recipe, a config file and dotted overrides.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from genlab.cli.parser import TRAIN_SHORTCUTS
from genlab.errors import ConfigError


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
