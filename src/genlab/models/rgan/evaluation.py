"""``genlab eval`` for the recurrent GANs: the TimeGAN scores against reference sequences.

Protocol:
- reference: ``--ref``/``--data`` (a CSV or .npz, windowed to the model's ``seq_len``) scaled with
  the *training* data's min and max stored in the model, or — without one — fresh 'sines' drawn
  with seed ``data_seed + 1 + --seed``, never the training sines' ``data_seed`` (for --seed ≥ 0);
  a model saved before ``data_seed`` was stored takes it from its run's config.json, and without
  one is refused rather than guessed (:func:`training_sines_seed`); ``--max-examples`` keeps a
  random subset of that many reference sequences;
- synthetic: as many sequences as the reference has (as the TimeGAN code does), drawn with
  ``--seed``; a conditional model gets the reference's labels when it has them; a model trained on
  variable-length data draws its lengths from the training lengths' histogram;
- scores: :func:`genlab.metrics.timeseries.timeseries_scores`, repeated ``--repeats`` times, on
  the axis the TimeGAN code scores each dataset on (:func:`scoring_axis`), with the predictive
  score of the real data itself beside them (the figure to come close to); their classifiers,
  predictors and resampling draw from a stream of their own derived from ``--seed``
  (:func:`genlab.metrics.timeseries.score_seed`), independent of the synthetic sequences'.

TimeGAN's published numbers score the synthetic data against the training data itself; pass the
training data as ``--ref`` to compare with them (``benchmarks/rgan_timeseries.py`` does so for the
sines too).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from genlab.config import CONFIG_FILE
from genlab.data.csv_table import CellFixError
from genlab.data.sample_files import read_sample_file
from genlab.data.sequences import Scaling, SequenceDataConfig, length_mask, load_sequences
from genlab.errors import ConfigError, DataError
from genlab.metrics.timeseries import step_change_report, timeseries_scores
from genlab.models.base import EvalOptions
from genlab.models.rgan.model import pad_with


def evaluate_sequences(model, options: EvalOptions) -> dict[str, Any]:
    c = model.config
    if options.data is None and not c.trained_on_sines:
        raise ConfigError(f"This {model.name} was trained on data other than the 'sines'; pass --ref with the data to "
                          "score it against (a CSV or .npz).")
    notes = {}
    if options.data is None:  # fresh sines: another seed than the training sines'
        data_seed, notes = training_sines_seed(model)
        data = SequenceDataConfig(window=c.seq_len, sines_features=c.features, seed=data_seed + 1 + options.seed)
    else:
        data = SequenceDataConfig(path=options.data, window=c.seq_len, categorical=tuple(c.categorical_columns or ()),
                                  time_column=c.data_time_column, fill=c.data_fill, reverse=c.data_reverse)
    try:
        dataset, _, names, _ = load_sequences(data, model.scaling, c.encoding, c.data_header, options.data_flag)
    except CellFixError as e:  # the fix a training run would take is another --data option, which eval has not
        raise DataError(f"{e.fact}; {e.held_out_fix}.") from None
    notes.update(column_note(options.data, names, c.data_header, "the model was trained on"))
    if options.data is not None and model.loaded_from is not None:
        from genlab.data.provenance import trained_on_data

        if trained_on_data(model.loaded_from, options.data):  # the TimeGAN paper's protocol, but say so
            notes["reference_is_training_data"] = ("the reference is the data the model was trained on, as in the "
                                                   "TimeGAN paper's protocol: these are in-sample scores; pass held-out "
                                                   "data (a later stretch of the series) to score generalisation")
    generator = torch.Generator().manual_seed(options.seed)
    real, labels, real_lengths = reference_subset(dataset, options, generator)
    if model.num_classes and labels is not None:
        if not 0 <= int(labels.min()) <= int(labels.max()) < model.num_classes:
            raise DataError(f"{options.data} has labels {int(labels.min())} to {int(labels.max())} but the model "
                            f"knows classes 0 to {model.num_classes - 1}; evaluate on data with the training classes.")
        labels = labels.to(model.device)
    else:
        labels = model.class_labels(len(real))
    lengths = model.draw_lengths(len(real), generator)
    # Every sequence's noise in one draw, generated chunk by chunk: the same sequences at any --batch-size.
    noise = model.draw_noise(len(real), c.seq_len, torch.device("cpu"), generator)
    synthetic = torch.cat([model.generate(len(part), labels=part_labels, lengths=part_lengths,
                                          noise=part.to(model.device))
                           for part, part_labels, part_lengths in batches(noise, labels, lengths,
                                                                          options.batch_size)]).cpu()
    lengths = lengths.cpu() if lengths is not None else None
    real, synthetic, axis = scoring_axis(model, real, synthetic, real_lengths, lengths)
    if c.static_features:  # the scores are about the time series: static attributes are left out
        real, synthetic = real[..., :-c.static_features].contiguous(), synthetic[..., :-c.static_features].contiguous()
        notes["static_features"] = (f"the {c.static_features} static features are not scored: the scores use the "
                                    "time-varying features only")
    columns = c.columns[:real.shape[-1]] if c.columns else None  # static features (last) are not scored
    protocol = {"reference_data": dataset.description, **notes, "scale": axis,
                "synthetic": f"{len(synthetic):,} sequences drawn with seed {options.seed}",
                "model": f"{model.family}/{model.name}"}
    return scored(real, real_lengths, synthetic, lengths, columns, options, protocol)


def evaluate_sample_file(path: Path, options: EvalOptions) -> dict[str, Any]:
    """``genlab eval FILE --ref DATA``: the TimeGAN scores of the generated sequences in FILE (a
    ``genlab sample`` .csv or .npz, in original units) against DATA windowed to their length, both
    min-max scaled with DATA's own minimum and maximum, as the TimeGAN code scales loaded data.

    DATA is read as the model read its training data where FILE records it (a genlab .npz: its
    time column, fill policy and ``--data.reverse``), else in file order with no fill. The scores
    take equal numbers of each, as the TimeGAN code does: the larger set is subsampled at random."""
    if options.data is None:
        raise ConfigError(f"Scoring the sequences in {path} needs real data to score them against; pass --ref with "
                          "the real series or sequences (a CSV or .npz).")
    samples = read_sample_file(path)
    reading = samples.reading or {}
    data = SequenceDataConfig(path=options.data, window=samples.x.shape[1], time_column=reading.get("time_column"),
                              fill=reading.get("fill", "none"), reverse=reading.get("reverse", False))
    try:
        dataset, scaling, names, _ = load_sequences(data, None, None, None, options.data_flag)
    except CellFixError as e:
        raise DataError(f"{e.fact}; correct the file (a reference is read here as the sample file records, else "
                        "with no fill and no category columns; a model with category columns is scored with 'genlab "
                        "eval RUN --ref DATA').") from None
    static = dataset.static_features
    if static:  # the scores are about the time series, as for a model's own evaluation
        names = names[:-static]
    if samples.columns and samples.columns[0] == "label" and "label" not in names:  # a conditional model's classes
        samples.x, samples.columns = samples.x[..., 1:], samples.columns[1:]
    features = samples.x.shape[-1]
    if static and features == len(names) + static:  # a CSV, written with the static columns last
        samples.x, features = samples.x[..., :len(names)], len(names)
        samples.columns = samples.columns[:len(names)] if samples.columns else None
    if len(names) != features:
        raise DataError(f"{path} has {features} features per step and {options.data} has {len(names)}"
                        f"{' beside its static ones' if static else ''}; score samples against data of the same "
                        "columns.")
    notes = column_note(options.data, names, reading.get("data_columns") or samples.columns, f"{path} has")
    if dataset.newest_first and samples.reading is None:  # a CSV: how the model read its data is not known
        backwards = (f"{options.data} runs newest first as read, and {path} does not record how the model read its "
                     "training data: if it was trained with --data.reverse true, its sequences run oldest first and are "
                     "scored here against time-reversed windows; score its .npz samples (genlab sample RUN --out "
                     "synth.npz records the reading) or the run itself (genlab eval RUN --ref DATA)")
        notes = {"warning": "; ".join(w for w in (notes.get("warning"), backwards) if w)}
    generator = torch.Generator().manual_seed(options.seed)
    real, _, real_lengths = reference_subset(dataset, options, generator)
    if static:
        real = real[..., :-static].contiguous()
    dynamic = Scaling(scaling.minimum[:len(names)], scaling.maximum[:len(names)])
    synthetic = torch.from_numpy(dynamic.scale(samples.x)).float()
    lengths = torch.from_numpy(samples.lengths) if samples.lengths is not None else None
    count = min(len(real), len(synthetic))  # a classifier tested on unequal sets scores their imbalance
    counts = (f"{count:,} of each" if len(real) == len(synthetic) else
              f"{count:,} of each: the {'reference' if len(real) > count else 'file'}'s {max(len(real), len(synthetic)):,} "
              f"subsampled at random (seed {options.seed}), as the TimeGAN code scores equal numbers")
    real, real_lengths = random_subset(count, generator, real, real_lengths)
    synthetic, lengths = random_subset(count, generator, synthetic, lengths)
    synthetic = pad_with(synthetic, lengths, 0.0)
    protocol = {"reference_data": dataset.description + (f", read as the model read its training data ({path} says "
                                                         "how)" if samples.reading else ""),
                **notes,
                "scale": f"min-max [0, 1] of the reference ({options.data}), applied to both, as the TimeGAN code "
                         "scales loaded data",
                "synthetic": f"{len(synthetic):,} sequences read from {samples.description}",
                "counts": counts}
    return scored(real, real_lengths, synthetic, lengths, names, options, protocol)


def column_note(data: str | None, names: list[str], expected: list[str] | None, whose: str) -> dict[str, str]:
    """A warning when the reference's column names are wholly other than ``expected`` (partly the same
    ones are refused when the data is read): perhaps renamed, perhaps other data."""
    if not expected or names == expected or names == [f"feature_{i}" for i in range(len(names))]:
        return {}
    return {"warning": f"{data} names its columns {', '.join(names)} and {whose} {', '.join(expected)}; they are "
                       "scored by position, so check that they are the same measurements in the same order"}


def reference_subset(dataset, options: EvalOptions, generator: torch.Generator):
    """The reference sequences, labels and lengths to score against: all, or ``--max-examples`` of them
    drawn at random with ``generator``."""
    real, labels, real_lengths = dataset.sequences, dataset.labels, dataset.lengths
    if options.max_examples is not None and options.max_examples < 2:  # each score holds out a part of the data
        raise ConfigError(f"--max-examples {options.max_examples} leaves too few sequences to score: the TimeGAN "
                          "scores train on some and test on others; pass 2 or more (hundreds for a stable score).")
    if options.max_examples is not None:
        real, labels, real_lengths = random_subset(options.max_examples, generator, real, labels, real_lengths)
    return real.contiguous(), labels, real_lengths


def random_subset(count: int, generator: torch.Generator, *tensors: torch.Tensor | None) -> tuple:
    """``count`` rows drawn at random (the same rows of each of ``tensors``; None stays None), or all of
    them when there are no more than that."""
    rows = len(tensors[0])
    if count >= rows:
        return tensors
    keep = torch.randperm(rows, generator=generator)[:count]
    return tuple(t[keep] if t is not None else None for t in tensors)


def scored(real: torch.Tensor, real_lengths: torch.Tensor | None, synthetic: torch.Tensor,
           lengths: torch.Tensor | None, columns: list[str] | None, options: EvalOptions,
           protocol: dict[str, str]) -> dict[str, Any]:
    """The TimeGAN scores of ``synthetic`` against ``real`` (both on the scoring axis), the step-change
    report, the figures of ``--plots``, and ``protocol`` added to the scores' own."""
    result = timeseries_scores(real, synthetic, repeats=options.repeats,
                               discriminative_iterations=options.discriminative_iterations,
                               predictive_iterations=options.predictive_iterations, seed=options.seed,
                               real_lengths=real_lengths, synthetic_lengths=lengths,
                               classifier_hidden=options.classifier_hidden)
    result["step_change"] = step_change_report(real, synthetic, columns, real_lengths, lengths)
    result["protocol"]["step_change"] = ("not a TimeGAN score: each feature's mean |x_t - x_(t-1)| over valid steps, "
                                         "real and synthetic, and synthetic / real (1: as rough in time as the data)")
    warnings = [w for w in (result["protocol"].get("warning"), protocol.get("warning")) if w]
    result["protocol"].update(protocol)
    if warnings:  # the scores' own (too few sequences) and the data's (column names), both said
        result["protocol"]["warning"] = "; ".join(warnings)
    if options.plots is not None:
        result["plots"] = write_plots(Path(options.plots), real, synthetic, real_lengths, lengths, options.seed, columns)
    return result


def training_sines_seed(model) -> tuple[int, dict[str, str]]:
    """The ``--data.seed`` of the sines ``model`` was trained on, and protocol notes on where it came from.

    A model saved before genlab stored it (``data_seed`` None) takes it from the config.json of the run
    it was loaded from (a checkpoint's own, or the one beside a ``model/`` export), which records the
    data section; without that it is refused: assuming seed 0 could score a model trained on other
    sines against its own training data."""
    if model.config.data_seed is not None:
        return model.config.data_seed, {}
    from genlab.data.provenance import training_data_section

    folder = model.loaded_from
    data = training_data_section(folder) if folder is not None else None
    seed = data.get("seed") if data is not None and data.get("path") is None else None
    if not isinstance(seed, int) or isinstance(seed, bool):
        where = folder / CONFIG_FILE if folder is not None else "its config.json"
        raise ConfigError(f"This {model.name} was saved before genlab stored the seed of its training sines, and no "
                          "run config beside it says, so eval cannot draw sines it was not trained on; pass --ref "
                          f"with held-out data, or add \"data_seed\": N (the --data.seed it was trained with) to the "
                          f"model section of {where}.")
    return seed, {"data_seed": f"{seed}, the training sines' --data.seed from the run's config.json (the model was "
                                "saved before genlab stored it)"}


def scoring_axis(model, real: torch.Tensor, synthetic: torch.Tensor, real_lengths: torch.Tensor | None = None,
                 synthetic_lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Scaled real and synthetic sequences → the axis the TimeGAN code scores them on, and its name.

    The reference min-max scales loaded data once before anything else and scores on that [0, 1]
    axis, but generates its 'sines' in their own units and scales them only inside its model: a
    model trained on the sines is scored on their own axis (about [0.5, 1]), any other on the
    training data's [0, 1] scale. Padded steps stay 0."""
    if not model.config.trained_on_sines:
        return real, synthetic, "min-max [0, 1] of the training data, as the TimeGAN code scores loaded data"
    unscale = model.scaling.unscale
    return (pad_with(unscale(real.double()).float(), real_lengths, 0.0),
            pad_with(unscale(synthetic.double()).float(), synthetic_lengths, 0.0),
            "the sines in their own units (not min-max scaled), as the TimeGAN code scores them")


PLOTTED_SEQUENCES = 1000  # of each kind, as in TimeGAN's visualisation
PLOT_FILES = ("sequences.png", "pca_tsne.png")  # what --plots DIR receives
TSNE_PERPLEXITY = 40  # TimeGAN's


def write_plots(folder: Path, real: torch.Tensor, synthetic: torch.Tensor, real_lengths: torch.Tensor | None,
                synthetic_lengths: torch.Tensor | None, seed: int, names: list[str] | None = None) -> dict[str, str]:
    """``sequences.png`` (real sequences above synthetic ones) and ``pca_tsne.png`` in ``folder``;
    returns their paths and the protocol of the projections."""
    from genlab.metrics.projection import pca_fit_transform, tsne, usable_perplexity
    from genlab.models.rgan.plots import save_projection_plot, save_sequence_plot

    folder.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)

    def subset(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """Up to PLOTTED_SEQUENCES random rows as (n, T) per-step feature means, 0 past each length."""
        keep = torch.randperm(len(x), generator=generator)[:PLOTTED_SEQUENCES]
        means = x[keep].double().mean(2)
        if lengths is not None:
            means = means.masked_fill(~length_mask(lengths.cpu()[keep], x.shape[1]), 0.0)
        return means

    real_means, synthetic_means = subset(real, real_lengths), subset(synthetic, synthetic_lengths)
    real_pca, synthetic_pca = pca_fit_transform(real_means, synthetic_means)
    points = torch.cat([real_means, synthetic_means])
    perplexity = usable_perplexity(TSNE_PERPLEXITY, len(points))
    embedded = tsne(points, perplexity=perplexity, seed=seed)
    projections = save_projection_plot([("PCA (fitted on the real sequences)", real_pca, synthetic_pca),
                                        (f"t-SNE (perplexity {perplexity:.3g})", embedded[:len(real_means)],
                                         embedded[len(real_means):])], folder / PLOT_FILES[1])
    # Random ones of each (a reference's first windows would be neighbours, nearly alike).
    nan_padded = [pad_with(x[pick], None if n is None else n.cpu()[pick], math.nan)
                  for x, n, count in ((real, real_lengths, 8), (synthetic, synthetic_lengths, 16))
                  for pick in [torch.randperm(len(x), generator=generator)[:count]]]
    sequences = save_sequence_plot(nan_padded[1], folder / PLOT_FILES[0], real=nan_padded[0], names=names)
    return {"sequences": str(sequences.resolve()), "pca_tsne": str(projections.resolve()),  # read from any folder
            "protocol": f"{len(real_means)} real and {len(synthetic_means)} synthetic sequences drawn at random "
                        f"(seed {seed}), each reduced to its per-step mean over the scaled features (as the "
                        "TimeGAN code does; 0 past a sequence's length); PCA: 2 components fitted on the real "
                        f"ones; t-SNE: exact, perplexity {perplexity:.3g}, 1,000 iterations, both sets embedded "
                        "together"}


def batches(noise: torch.Tensor, labels: torch.Tensor | None, lengths: torch.Tensor | None, size: int):
    """(noise, labels, lengths) of the sequences to generate, in chunks of at most ``size``, to bound
    the memory of generation."""
    for start in range(0, len(noise), size):
        part = slice(start, start + size)
        yield noise[part], labels[part] if labels is not None else None, lengths[part] if lengths is not None else None
