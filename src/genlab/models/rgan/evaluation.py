"""``genlab eval`` for the recurrent GANs: the TimeGAN scores against reference sequences.

Protocol:
- reference: ``--ref``/``--data`` (a CSV or .npz, windowed to the model's ``seq_len``) scaled with
  the *training* data's min and max stored in the model, or — without one — fresh 'sines' drawn
  with seed ``--seed + 1`` (the training default is seed 0); ``--max-examples`` keeps a random
  subset of that many reference sequences;
- synthetic: as many sequences as the reference has (as the TimeGAN code does), drawn with
  ``--seed``; a conditional model gets the reference's labels when it has them; a model trained on
  variable-length data draws its lengths from the training lengths' histogram;
- scores: :func:`genlab.metrics.timeseries.timeseries_scores`, repeated ``--repeats`` times.

TimeGAN's published numbers score the synthetic data against the training data itself; pass the
training data as ``--ref`` to compare with them.
"""

from __future__ import annotations

from typing import Any

import torch

from genlab.data.sequences import SequenceDataConfig, load_sequences
from genlab.errors import ConfigError, DataError
from genlab.metrics.timeseries import timeseries_scores
from genlab.models.base import EvalOptions


def evaluate_sequences(model, options: EvalOptions) -> dict[str, Any]:
    c = model.config
    if options.data is None and c.columns != [f"sine_{i}" for i in range(c.features)]:
        raise ConfigError(f"This {model.name} was trained on data other than the 'sines'; pass --ref with the data to "
                          "score it against (a CSV or .npz).")
    data = SequenceDataConfig(path=options.data, window=c.seq_len, sines_features=c.features, seed=options.seed + 1)
    dataset, _, _, _ = load_sequences(data, model.scaling)
    real, labels, real_lengths = dataset.sequences, dataset.labels, dataset.lengths
    generator = torch.Generator().manual_seed(options.seed)
    if options.max_examples is not None and options.max_examples < len(real):
        keep = torch.randperm(len(real), generator=generator)[:options.max_examples]
        real, labels = real[keep], labels[keep] if labels is not None else None
        real_lengths = real_lengths[keep] if real_lengths is not None else None
    real = real.contiguous()
    if model.num_classes and labels is not None:
        if int(labels.max()) >= model.num_classes:
            raise DataError(f"{options.data} has labels up to {int(labels.max())} but the model knows classes 0 to "
                            f"{model.num_classes - 1}; evaluate on data with the training classes.")
        labels = labels.to(model.device)
    else:
        labels = model.class_labels(len(real))
    lengths = model.draw_lengths(len(real), generator)
    synthetic = torch.cat([model.generate(len(part), generator, part_labels, part_lengths)
                           for part, part_labels, part_lengths in batches(real, labels, lengths,
                                                                          options.batch_size)]).cpu()
    result = timeseries_scores(real, synthetic, repeats=options.repeats,
                               discriminative_iterations=options.discriminative_iterations,
                               predictive_iterations=options.predictive_iterations, seed=options.seed,
                               real_lengths=real_lengths, synthetic_lengths=lengths.cpu() if lengths is not None
                               else None)
    result["protocol"]["reference_data"] = dataset.description
    result["protocol"]["model"] = f"{model.family}/{model.name}"
    return result


def batches(real: torch.Tensor, labels: torch.Tensor | None, lengths: torch.Tensor | None, size: int):
    """(rows, labels, lengths) chunks of at most ``size`` rows, to bound the memory of generation."""
    for start in range(0, len(real), size):
        part = slice(start, start + size)
        yield real[part], labels[part] if labels is not None else None, lengths[part] if lengths is not None else None
