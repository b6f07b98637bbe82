"""``genlab sample``: draw samples, a class, a long series or latent interpolations from a run or model.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genlab.cli.outputs import output_file
from genlab.cli.parser import INTERPOLATION_STEPS
from genlab.config import check_seed
from genlab.errors import ConfigError, out_of_memory_as

if TYPE_CHECKING:  # for annotations only: torch and the models load when a command runs, not for --help
    import torch

    from genlab.models.base import GenerativeModel


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
            raise ConfigError(f"--long needs a model whose recurrence runs on past its window (rgan's crnngan, rcgan "
                              f"or timegan); {model.family}/{model.name} is not one: drop --long.")
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
    if model.has_latent and long_steps is None:  # the labels the samples were drawn with (maybe at random)
        samples, labels = model.labelled_sample(n, generator, label)
    else:
        samples, labels = model.sample(n, generator, **kwargs), model.class_labels(n, label)
    model.save_samples(samples, out, labels=labels)
