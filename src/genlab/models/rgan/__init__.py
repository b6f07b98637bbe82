"""Recurrent GAN family: C-RNN-GAN, RCGAN and TimeGAN for time series (CSV, .npz or the 'sines')."""

from __future__ import annotations

import dataclasses

import torch

from genlab.config import MAX_CLASSES
from genlab.data.sample_files import sample_index_columns
from genlab.data.sequences import Scaling, SequenceDataConfig, SequenceDataset, load_sequences
from genlab.errors import ConfigError, DataError
from genlab.models.registry import Family
from genlab.models.rgan.config import CRNNGANConfig, LatentGANConfig, RCGANConfig, RGANConfig, TimeGANConfig
from genlab.models.rgan.latent import LatentGAN
from genlab.models.rgan.model import RCGAN, RecurrentGAN
from genlab.models.rgan.timegan import TimeGAN
from genlab.models.rgan.whitening import fit_whitening

__all__ = ["FAMILY", "RCGAN", "CRNNGANConfig", "LatentGAN", "LatentGANConfig", "RCGANConfig", "RGANConfig",
           "RecurrentGAN", "TimeGAN", "TimeGANConfig"]


def build_sequence_data(data: SequenceDataConfig, model: RGANConfig) -> tuple[SequenceDataset, RGANConfig]:
    """Scaled windows of the data; features, seq_len, columns, scale, classes and the histogram of
    lengths (variable-length data) default to the data's.

    A config that already holds a scale (a resumed run) keeps it, so the data is scaled as before;
    the same for the whitening of ``--model.whiten``.
    """
    if model.seq_len is not None and data.window is not None and model.seq_len != data.window:
        raise ConfigError(f"--data.window {data.window} differs from --model.seq_len {model.seq_len}; set one of "
                          "them, or both to the same value.")
    window = data.window or model.seq_len
    given = Scaling(model.feature_min, model.feature_max) if model.feature_min is not None else None
    encoding = model.encoding
    if encoding is not None and {name for name, _ in encoding} != set(data.categorical):
        raise ConfigError(f"--data.categorical {','.join(data.categorical) or '(none)'} differs from the columns "
                          f"this model encodes ({','.join(name for name, _ in encoding)}); name the same columns.")
    trained_columns = model.data_header if given is not None else None
    dataset, scaling, columns, window = load_sequences(dataclasses.replace(data, window=window), given, encoding,
                                                       trained_columns)
    features = dataset.sequences.shape[-1]
    if model.features is not None and model.features != features:
        raise ConfigError(f"--model.features {model.features} differs from the {features} features of the data; "
                          "drop --model.features.")
    if model.static_features and model.static_features != dataset.static_features:
        raise ConfigError(f"The model has {model.static_features} static features but the data has "
                          f"{dataset.static_features}; use data with the same static (N, S) array.")
    if model.columns is not None and len(model.columns) != features:
        raise ConfigError(f"--model.columns has {len(model.columns)} names for the {features} features of the data; "
                          "give one name per feature, or drop it to take the data's.")
    if dataset.categories and model.columns is not None and model.columns != columns:
        raise ConfigError("--model.columns cannot rename the features of data with --data.categorical columns (their "
                          "names say which category each one is); drop --model.columns.")
    index = [name for name in sample_index_columns(model.conditional) if name in (model.columns or columns)]
    if index and given is None:  # a sample CSV would hold two columns of that name (a resumed run has its names)
        where = "--model.columns names" if model.columns else f"{data.path or 'The data'} has"
        raise DataError(f"{where} a feature {index[0]!r}, which is the name of an index column of genlab's sample "
                        f"CSVs ({', '.join(sample_index_columns(model.conditional))}); rename it in the file or with "
                        "--model.columns.")
    lengths = dataset.lengths
    filled = {"features": features, "static_features": dataset.static_features, "seq_len": window,
              "feature_min": scaling.minimum, "feature_max": scaling.maximum, "columns": model.columns or columns,
              "whole_numbers": model.whole_numbers if given is not None else dataset.whole_numbers,
              "data_columns": columns if (model.columns or columns) != columns else None,
              "length_counts": None if lengths is None else torch.bincount(lengths, minlength=window + 1)[1:].tolist(),
              "data_time_column": data.time_column, "data_fill": data.fill, "data_reverse": data.reverse,
              "data_seed": data.seed if data.path is None else 0,
              "categorical_columns": [name for name, _ in dataset.categories] if dataset.categories else None,
              "categories": [values for _, values in dataset.categories] if dataset.categories else None}
    if model.whiten and model.whitening_basis is None:  # a resumed run keeps its own
        filled["whitening_mean"], filled["whitening_basis"] = fit_whitening(dataset.sequences, lengths)
    if model.conditional:
        if dataset.labels is None:
            raise ConfigError("A conditional model needs labelled data: an .npz with x (N, T, F) and y (one integer "
                              "label per sequence); or set --model.conditional false.")
        classes = int(dataset.labels.max()) + 1
        if classes > MAX_CLASSES:
            raise DataError(f"The data's labels go up to {classes - 1}: more than {MAX_CLASSES:,} classes is refused; "
                            "renumber the labels to 0..K-1, e.g. with np.unique(y, return_inverse=True).")
        if model.num_classes is not None and model.num_classes < classes:
            raise ConfigError(f"The data has labels up to {classes - 1} but --model.num_classes is "
                              f"{model.num_classes}; raise it or drop it.")
        filled["num_classes"] = model.num_classes or classes
    return dataset, dataclasses.replace(model, **filled)


FAMILY = Family(
    name="rgan",
    description="recurrent GANs for time series: crnngan (C-RNN-GAN), rcgan (label-conditional), timegan, and "
                "latentgan (a GAN on a sequence autoencoder's codes); "
                "TimeGAN scores with 'genlab eval RUN --ref DATA'",
    models={"crnngan": RecurrentGAN, "rcgan": RCGAN, "timegan": TimeGAN, "latentgan": LatentGAN},
    default_model="crnngan",
    data_config=SequenceDataConfig,
    build_data=build_sequence_data,
)
