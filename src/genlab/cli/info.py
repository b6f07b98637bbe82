"""``genlab report | compare | list | data``: describe runs, families and their options, and data files.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from genlab.cli.parser import BUILT_IN_DATA
from genlab.cli.train import RECIPE_DATA
from genlab.errors import ConfigError


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
