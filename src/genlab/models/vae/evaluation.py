"""Held-out evaluation of a VAE: ELBO and its two terms, importance-sampled NLL, active units.

Protocol (Burda et al. 2016):
- data: ``--data`` (read at the model's resolution and channels) or the embedded MNIST test
  split; with a Bernoulli likelihood the pixels are binarised once, by threshold or by drawing
  Bernoulli(p / 255) from a generator seeded with ``--seed`` (a fixed dynamically binarised test set);
- NLL: -log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x) with k = ``--k`` draws z_i ~ q(z|x) per example,
  averaged over the examples, in nats; for the discrete likelihoods also in bits per dimension
  (C·H·W dimensions: binary pixels for bernoulli, 8-bit sub-pixels for logistic/categorical);
- ELBO: E_q[log p(x|z)], estimated with the same k draws (one draw without ``--nll``), minus the
  closed-form KL; reported with its two terms as positive nats per example: ``reconstruction``
  (−E_q[log p(x|z)]) and ``kl``, so that elbo = −(reconstruction + kl);
- active units: latent units u with Cov_x(E_q[z_u]) > 0.01 over the evaluated examples.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from genlab.errors import ConfigError, DataError
from genlab.models.base import EvalOptions
from genlab.models.vae.bounds import gaussian_kl

DECODE_BATCH = 2048  # (example, sample) pairs decoded per forward pass, at most
DECODE_VALUES = 1 << 24  # decoder output values per forward pass, at most (64 MB in fp32)
ACTIVE_UNIT_THRESHOLD = 0.01


def held_out_images(model, options: EvalOptions) -> tuple[torch.Tensor, torch.Tensor | None, str, bool]:
    """(uint8 images (N, C, H, W), labels (N,) or None, a description of the data, whether a --data
    file holds the embedded MNIST test split's digits) to evaluate on."""
    from genlab.data.images import holds_embedded_digits, load_images

    c = model.config
    if options.data is None and (c.channels, c.resolution) != (1, 28):  # the digits would be resized and recoloured
        raise ConfigError(f"This {model.name} models {c.resolution}×{c.resolution}×{c.channels} images, not the 28×28 "
                          "grey digits genlab eval uses without --data; pass held-out images like its training data "
                          "with --data.")
    found = load_images(options.data, resolution=c.resolution, channels=c.channels, option=options.data_flag)
    images = torch.from_numpy(found.images[:options.max_examples]).permute(0, 3, 1, 2)  # (N, C, H, W)
    if tuple(images.shape[1:]) != (c.channels, c.resolution, c.resolution):
        raise DataError(f"Images in {found.source} are {tuple(images.shape[1:])} (C, H, W) but the model needs "
                        f"{(c.channels, c.resolution, c.resolution)}; pass square images.")
    labels = None
    if model.num_classes:
        if found.labels is None:
            raise DataError(f"{found.source} has no labels, which this conditional VAE needs; use labelled data "
                            "(class subfolders, or y in the .npz).")
        labels = torch.from_numpy(by_name(found, c.class_names, model.num_classes)[:options.max_examples])
        if int(labels.max()) >= model.num_classes:
            raise DataError(f"{found.source} has labels up to {int(labels.max())} but the model knows classes 0 "
                            f"to {model.num_classes - 1}; evaluate on data with the training classes.")
    # Resized or recoloured to the model's shape (as --data.resolution / --data.channels may have done in
    # training): said, since the numbers then describe the converted images (bits/dim over its dimensions).
    converted = f" (converted {found.converted} (H×W×C) to the model's shape)" if found.converted else ""
    if options.max_examples is not None and found.labels is not None:  # a class-ordered folder's first images
        kept, present = len(np.unique(found.labels[:options.max_examples])), len(np.unique(found.labels))
        if kept < present:
            converted += (f"; its first {len(images):,} images, the --max-examples selection, hold {kept} of its "
                          f"{present} classes")
    copy = options.data is not None and holds_embedded_digits(found.images)
    return images, labels, found.source + converted, copy


def by_name(found, names: tuple[str, ...] | None, num_classes: int) -> np.ndarray:
    """The labels of ``found`` as the model numbers its classes: a folder numbers its subfolders in
    order, so a folder holding some of the training classes would give them other numbers. A model
    whose data named no classes (an .npz's y) knows them by number: subfolders must be named so."""
    if found.class_names is None or list(found.class_names) == list(names or ()):
        return found.labels
    if names is None:
        if not all(name.isdecimal() and int(name) < num_classes for name in found.class_names):
            raise DataError(f"{found.source} names its classes by its subfolders ({', '.join(found.class_names)}), "
                            f"but the model knows its classes by number (0 to {num_classes - 1}: its training data "
                            "named none); name the subfolders by class number, or evaluate on an .npz with y.")
        return np.array([int(name) for name in found.class_names], np.int64)[found.labels]
    index = {name: k for k, name in enumerate(names)}
    unknown = [name for name in found.class_names if name not in index]
    if unknown:
        raise DataError(f"{found.source} has class {unknown[0]!r}, which the model was not trained on (its classes: "
                        f"{', '.join(names)}); evaluate on images of the training classes.")
    return np.array([index[name] for name in found.class_names], np.int64)[found.labels]


@torch.no_grad()
def evaluate_vae(model, options: EvalOptions) -> dict[str, Any]:
    """The ELBO, its terms, active units and (with ``options.nll``) the importance-sampled NLL."""
    if options.is_given("k") and not options.nll:  # it would be ignored
        raise ConfigError("--k is the number of importance samples of --nll; add --nll or drop --k.")
    images, labels, source, embedded_copy = held_out_images(model, options)
    device, samples = model.device, options.k if options.nll else 1
    generator = torch.Generator().manual_seed(options.seed)
    # All at once, before any latent is drawn: the binarised set is then the same for every k and batch size.
    observations = model.likelihood.observe(images.float().div_(127.5).sub_(1.0), generator)
    reconstruction, kl, nll = [], [], []
    posterior_means = []
    pairs = decode_pairs(model)
    size = min(options.batch_size, pairs)  # a 256-way categorical decoder of colour images: a few at a time
    if options.nll:  # said up front: at the defaults this is the long part of an evaluation
        tqdm.write(f"genlab: the NLL decodes {samples:,} latents for each of {images.shape[0]:,} images "
                   f"({samples * images.shape[0]:,} decoder passes); --k and --max-examples make it smaller.",
                   file=sys.stderr)
    for start in tqdm(range(0, images.shape[0], size), desc=f"eval {model.name} (k={samples})", leave=False):
        x = observations[start:start + size].to(device)
        batch_labels = labels[start:start + size].to(device) if labels is not None else None
        mean, log_var = model.posterior(x, batch_labels)
        log_px_sum, bound = sample_in_chunks(model, x, batch_labels, mean, log_var, samples, generator, pairs)
        reconstruction.append(-log_px_sum / samples)
        kl.append(gaussian_kl(mean, log_var).sum(1))
        nll.append(-bound)
        posterior_means.append(mean.double())
    reconstruction, kl, nll = (torch.cat(v).double().cpu() for v in (reconstruction, kl, nll))
    means = torch.cat(posterior_means)
    result: dict[str, Any] = {
        "elbo": float(-(reconstruction + kl).mean()),
        "reconstruction": float(reconstruction.mean()),
        "kl": float(kl.mean()),
        "active_units": int((means.var(0) > ACTIVE_UNIT_THRESHOLD).sum()) if means.shape[0] > 1 else None,
        "latent_dim": model.config.latent_dim,
    }
    dims = math.prod(images.shape[1:])
    if options.nll:
        result["nll"] = float(nll.mean())
        result["nll_standard_error"] = float(nll.std() / math.sqrt(nll.numel())) if nll.numel() > 1 else None
    if model.likelihood.discrete:
        result["bits_per_dim"] = {"negative_elbo": -result["elbo"] / (dims * math.log(2))}
        if options.nll:
            result["bits_per_dim"]["nll"] = result["nll"] / (dims * math.log(2))
    result["protocol"] = protocol(model, options, source, images.shape[0], samples, dims, size)
    warning = training_data_warning(model, options.data, embedded_copy, images)
    if warning is not None:
        result["protocol"]["warning"] = warning
    return result


def training_data_warning(model, data: str | None, embedded_copy: bool, images: torch.Tensor) -> str | None:
    """What the numbers carry when the run that trained ``model`` (where it was loaded from) read the
    evaluation data itself (``data``; None: the embedded MNIST test split, which ``embedded_copy``
    says a file holds), or some of the evaluated ``images`` (uint8 (N, C, H, W)) pixel for pixel (a
    copy, a subset, a reordering), or when the default embedded digits are unlike its training data."""
    from genlab.data.images import embedded_training_warning
    from genlab.data.provenance import training_data_section
    from genlab.metrics.images import training_overlap_warning

    trained_on = training_data_section(model.loaded_from) if model.loaded_from is not None else None
    if trained_on is None:  # built in memory, or no run config beside it
        return None
    if (data is None or embedded_copy) and trained_on.get("path") is None:
        return embedded_training_warning("--data")
    if data is None:
        return (f"the model was trained on {trained_on['path']} and these numbers are measured on the embedded "
                "MNIST test digits; pass held-out images like its training data with --data")
    return training_overlap_warning(model.loaded_from, data, images.permute(0, 2, 3, 1).numpy(), option="--data")


def memory_options(model, options: EvalOptions) -> list[str]:
    """The options whose lower values shrink what :func:`evaluate_vae` holds at once: ``max_examples``
    (every evaluated example is held, observed, from the start), and ``batch_size`` and ``k`` where
    they size the (example, sample) pairs a decoder pass takes: min(k, pairs // batch) × batch, the
    batch capped at :func:`decode_pairs`' pairs. At that cap, lowering them changes nothing."""
    pairs = decode_pairs(model)

    def decoded(batch_size: int, k: int) -> int:
        batch = min(batch_size, pairs)
        return min(k if options.nll else 1, pairs // batch) * batch

    now = decoded(options.batch_size, options.k)
    levers = {"batch_size": decoded(1, options.k), "k": decoded(options.batch_size, 1)}
    return [name for name, lowest in levers.items() if lowest < now] + ["max_examples"]


def decode_pairs(model) -> int:
    """(example, sample) pairs decoded per forward pass: ``DECODE_BATCH``, fewer where the decoder's
    outputs would pass ``DECODE_VALUES`` (a 256-way categorical of 32×32×3 images: 21)."""
    c = model.config
    outputs = c.channels * model.likelihood.params_per_channel * c.resolution ** 2
    return max(1, min(DECODE_BATCH, DECODE_VALUES // outputs))


def sample_in_chunks(model, x, labels, mean, log_var, samples: int, generator: torch.Generator,
                     pairs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_i log p(x|z_i), L_k) per example (B,), decoding at most ``pairs`` pairs at a time.

    L_k is accumulated as a running log-sum-exp over chunks of samples, so k can be in the
    thousands without holding k decoder outputs at once.
    """
    chunk = max(1, pairs // x.shape[0])
    log_sum = torch.full((x.shape[0],), -math.inf, device=x.device, dtype=torch.float64)
    log_px_sum = torch.zeros(x.shape[0], device=x.device, dtype=torch.float64)
    for first in range(0, samples, chunk):
        size = min(chunk, samples - first)
        log_px, log_ratio = model.importance_terms(x, labels, mean, log_var, size, generator)  # (s, B) each
        log_weights = (log_px + log_ratio).double()
        log_sum = torch.logaddexp(log_sum, torch.logsumexp(log_weights, dim=0))
        log_px_sum += log_px.double().sum(0)
    return log_px_sum, log_sum - math.log(samples)


def protocol(model, options: EvalOptions, source: str, examples: int, samples: int, dims: int,
             batch: int) -> dict[str, Any]:
    c = model.config
    capped = (f" (fewer than --batch-size: a decoder pass takes at most {decode_pairs(model):,} (example, sample) pairs)"
              if batch < options.batch_size else "")
    if c.likelihood == "bernoulli":
        observed = ("pixels > 127 are 1" if c.binarize == "threshold" else
                    f"pixels drawn once as Bernoulli(p / 255) with seed {options.seed}")
    else:
        observed = "8-bit pixels" if model.likelihood.discrete else (
            "pixels / 255 under an untruncated Gaussian density on the reals, not dequantised: a log-density, not "
            "comparable with the NLL of a discrete likelihood")
    return {
        "data": source,
        "examples": examples,
        "selection": "all" if options.max_examples is None else "the first --max-examples of the data, in order",
        "likelihood": c.likelihood,
        "observations": observed,
        "units": "nats per example" + (f"; bits per dimension over {dims} dimensions"
                                       if model.likelihood.discrete else ""),
        "importance_samples": samples if options.nll else None,
        # -L_k (Burda et al. 2016): its expectation is an upper bound on -log p(x), tighter as k grows.
        "nll_estimator": (f"-L_k with k = {samples} importance samples from q(z|x): an upper bound on -log p(x) in "
                          "expectation; its standard error is the spread over examples, not that bias")
        if options.nll else None,
        "elbo_samples": samples,
        "active_unit_threshold": f"Cov_x(E_q[z_u]) > {ACTIVE_UNIT_THRESHOLD}",
        "seed": options.seed,
        "batch_size": batch,  # examples per batch, as evaluated
        "batch_size_note": f"batches of up to {batch} examples{capped}; z is drawn batch by batch from the seeded "
                           "stream, so the estimates' sampling noise (not their expectation) depends on the batch "
                           "size",
        # A conditional VAE is handed each image's label: its figures bound -log p(x | y), which
        # is lower than an unconditional model's -log p(x) by up to log(classes).
        "conditioning": None if not model.num_classes else (
            f"the data's labels ({model.num_classes} classes) go to the encoder and decoder: bounds on "
            "-log p(x | y), not comparable with an unconditional -log p(x)"),
    }
