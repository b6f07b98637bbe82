"""Score generated images against a reference set: ``evaluate_images``.

Generated images come from a trained model (a run directory, checkpoint or exported folder:
``n`` samples drawn with a fixed seed and rounded to uint8 like saved PNGs) or from any folder or
``.npz`` of images, so samples of other libraries can be scored the same way. Reference
features are cached per (reference pixels, split, extractor and its weights, resolution) (see ``cache.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab import __version__
from genlab.config import CONFIG_FILE
from genlab.data.images import (CIFAR10_CLASSES, DIGIT_CLASSES, FORMATS, embedded_training_warning, image_digests,
                                load_images, own_training_data_warning, trained_on_embedded_digits)
from genlab.data.provenance import trained_on_data, training_data_section
from genlab.errors import ConfigError, DataError, GenlabError
from genlab.metrics.cache import data_fingerprint, images_digest, load_reference, reference_key, save_reference
from genlab.metrics.checks import require_samples
from genlab.metrics.evaluators import mode_count
from genlab.metrics.extractors import Extractor, get_extractor
from genlab.metrics.frechet import frechet_distance_features
from genlab.metrics.inception_score import SHUFFLE_SEED, inception_score
from genlab.metrics.kid import kernel_distance
from genlab.metrics.precision_recall import knn_radii_for, manifold_metrics

K = 3  # neighbours of the precision/recall manifolds (Kynkäänniemi et al.) ...
DENSITY_K = 5  # ... and of density/coverage (Naeem et al.)
# Each metric and the fewest generated samples it is defined for (checked before any feature is computed).
MIN_SAMPLES = {"fd": 2, "kid": 2, "pr": DENSITY_K + 1, "is": 10, "acc": 1, "modes": 1}
METRICS = tuple(MIN_SAMPLES)
USES_REFERENCE = ("fd", "kid", "pr")  # metrics whose reference features need the same minimum
CLASS_METRICS = {"acc", "modes"}  # metrics that need a genlab evaluator, whose classes are the dataset's
RADII = {k: f"radii_k{k}" for k in (K, DENSITY_K)}  # cached with the reference features
# Reference names genlab can resolve without a path: name -> (dataset, split, default extractor).
NAMED_REFERENCES = {"mnist-test": ("mnist", "test", "mnist")}


def parse_metrics(text: str) -> list[str]:
    """``"fd,kid"`` → ``["fd", "kid"]`` (checked by ``evaluate_images``)."""
    return [m.strip().lower() for m in text.split(",") if m.strip()]


def training_overlap_warning(generated: str | Path, reference: str | Path, ref_images: np.ndarray,
                             use_cache: bool = True, option: str = "--ref") -> str | None:
    """What the protocol says when the reference images (those of ``option``: --ref, or a VAE's --data)
    are images the model trained on: all of them (the training file itself, or the embedded digits
    for a model trained without --data), or some."""
    kind = {"--ref": "reference", "--data": "evaluation"}[option]
    if trained_on_data(generated, reference):  # the very file it trained on, whatever its pixels became
        return own_training_data_warning(reference, option)
    shared = shared_with_training(generated, ref_images, use_cache) if Path(generated).is_dir() else None
    if not shared:  # none, or its training data unknown or unreadable now
        return None
    if shared == len(ref_images) and trained_on_embedded_digits(generated):
        return embedded_training_warning(option)
    share = f"all {shared:,}" if shared == len(ref_images) else f"{shared:,} of the {len(ref_images):,}"
    return (f"{share} {kind} images ({reference}) are images the model was trained on: these numbers "
            f"{'' if shared == len(ref_images) else 'partly '}show fit to the training data, not generalisation; "
            f"pass held-out images with {option}")


def shared_with_training(model: str | Path, images: np.ndarray, use_cache: bool = True) -> int | None:
    """How many of the uint8 ``images`` (N, H, W, C) are, pixel for pixel, images the run behind
    ``model`` trained on (its data read again at their size and channels); None where no run config
    names that data or it can no longer be read. Catches a subset, a reordering or a copy under
    another name, which a comparison of paths cannot. The training images' digests are cached
    (``use_cache``) under the data's :func:`data_fingerprint`, so a run's data is read once, not at
    every evaluation."""
    data = training_data_section(model)
    if data is None:
        return None
    found = training_digests(data.get("path"), images.shape[1:], use_cache)
    if found is None:
        return None
    shape, trained = found
    if shape != images.shape[1:]:  # a non-square size: no image can match
        return 0
    seen = {row.tobytes() for row in trained}
    return sum(row.tobytes() in seen for row in image_digests(images))


def training_digests(path: str | None, size: tuple[int, ...], use_cache: bool = True
                     ) -> tuple[tuple[int, ...], np.ndarray] | None:
    """(image shape, digests (N, 16)) of the training data at ``path`` read at ``size`` (H, W, C), from
    the cache when its fingerprint is unchanged; None where the data cannot be read (moved, changed
    into something else, too large to hold again)."""
    fingerprint = data_fingerprint(path) if use_cache else None
    # A cache entry as reference features are (cache.py names its file after the "extractor" entry).
    key = {"training_data": fingerprint, "size": list(size), "extractor": "training-digests", "genlab": __version__}
    cached = load_reference(key) if fingerprint is not None else None
    if cached is not None and set(cached) == {"shape", "digests"}:
        return tuple(cached["shape"].tolist()), cached["digests"].numpy()
    try:
        trained = load_images(path, resolution=size[0], channels=size[2]).images
    except (GenlabError, OSError, MemoryError):  # moved, changed, or too large to hold again: nothing to tell
        return None
    digests = image_digests(trained)
    if fingerprint is not None:
        save_reference(key, {"shape": torch.tensor(trained.shape[1:]), "digests": torch.from_numpy(digests)},
                       what="the digests of the training images")
    return trained.shape[1:], digests


def load_reference_images(reference: str | Path) -> tuple[np.ndarray, str, str, str | None]:
    """uint8 reference images (N, H, W, C), dataset name, split, and the extractor it implies (or None)."""
    if str(reference) in NAMED_REFERENCES:
        dataset, split, extractor = NAMED_REFERENCES[str(reference)]
        return load_images(None).images, dataset, split, extractor
    path = Path(reference).expanduser()
    if not path.exists():
        raise ConfigError(f"--ref {reference}: no such file or folder, and not one of {', '.join(NAMED_REFERENCES)}; "
                          "pass a folder or .npz of reference images.")
    split = next((s for s in ("train", "test", "val") if re.search(rf"(^|[^a-z]){s}", path.name.lower())), "as given")
    # (the cache keys the pixels themselves)
    return load_images(path, option="--ref").images, str(path.resolve()), split, None


def split_label(reference: str | Path, split: str) -> str:
    """How the protocol names a reference's split: a path's is only guessed from its file name."""
    if str(reference) in NAMED_REFERENCES or split == "as given":
        return split
    return f"{split} (guessed from the file name)"


def generated_images(source: str | Path, n: int, seed: int, device: str, batch_size: int
                     ) -> tuple[np.ndarray, np.ndarray | None, str, list[str] | None]:
    """Up to ``n`` uint8 images (N, H, W, C), their class labels if known, where they came from, and
    the names of the classes (label k's at k) where they have names (a conditional model trained on
    named classes, a folder of class subfolders)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path} does not exist; pass a run directory, an exported model folder or image data "
                        f"({FORMATS}).")
    if path.is_dir() and any((path / marker).exists() for marker in (CONFIG_FILE, "model", "checkpoints")):
        return _model_samples(path, n, seed, device, batch_size)
    found = load_images(path, option="'genlab eval'")
    total = len(found.images)
    names = found.class_names if found.labels is not None else None
    if n >= total:
        return found.images, found.labels, f"all {total} images of {found.source}", names
    # A random subset, not the first n: a folder of class subfolders loads class by class.
    keep = np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))
    labels = None if found.labels is None else found.labels[keep]
    return (found.images[keep], labels, f"{n} of the {total} images of {found.source}, drawn at random (seed {seed})",
            names)


@torch.no_grad()
def _model_samples(path: Path, n: int, seed: int, device: str, batch_size: int
                   ) -> tuple[np.ndarray, np.ndarray | None, str, list[str] | None]:
    from genlab.imaging import to_uint8
    from genlab.sampling import load_model

    model = load_model(path, device=device)
    if not model.has_latent:  # image models decode latents; the others (text, sequences) draw no images
        raise ConfigError(f"{path} holds a {model.family}/{model.name} model, which does not draw images; image "
                          "metrics (--metrics) need an image model.")
    generator = torch.Generator().manual_seed(seed)  # latents are drawn on the CPU: the same samples on any device
    # A conditional model's labels as 'genlab sample' draws them: cycling through the classes over all n
    # samples, or a self-conditioned GAN's clusters at their training frequencies.
    latents, labels = model.sample_latent(n, generator), model.class_labels(n, generator=generator)
    images = []
    for batch in model.decoded_batches(latents, labels, batch_size):
        if batch.dim() != 4:  # a 2-D toy model's points
            raise ConfigError(f"{path} holds a {model.family}/{model.name} model, which draws 2-D points, not "
                              "images; image metrics (--metrics) need an image model.")
        images.append(to_uint8(batch))  # (count, H, W, C), rounded as a saved PNG would be
    if getattr(model.config, "clusters", 0):  # a self-conditioned GAN's labels are clusters, not classes
        labels = None
    names = getattr(model.config, "class_names", None) if labels is not None else None
    return (np.concatenate(images), labels.cpu().numpy() if labels is not None else None,
            f"{n} samples of {model.family}/{model.name} from {path} (seed {seed})", list(names) if names else None)


def _reference_outputs(images: np.ndarray, dataset: str, split: str, extractor: Extractor, use_cache: bool,
                       need_radii: bool) -> dict[str, torch.Tensor]:
    """Reference features (M, D), class probabilities (M, C) and, if needed, k-NN radii (M,); cached."""
    key = reference_key(dataset, images_digest(images), split, extractor.name, extractor.weights,
                        int(images.shape[1]))
    outputs = load_reference(key) if use_cache else None
    changed = outputs is None or len(outputs["features"]) != len(images)
    if changed:
        features, probs = extractor.outputs(images)
        outputs = {"features": features, "probs": probs}
    if need_radii and not all(name in outputs for name in RADII.values()):
        radii = knn_radii_for(outputs["features"], tuple(RADII))
        outputs.update({RADII[k]: radii[k] for k in RADII})
        changed = True
    if use_cache and changed:
        save_reference(key, outputs)
    return outputs


def evaluate_images(generated: str | Path, reference: str | Path = "mnist-test", *,
                    metrics: tuple[str, ...] | list[str] = ("fd", "kid", "pr", "is"), n: int = 10000,
                    extractor: str | None = None, inception_weights: str | Path | None = None, seed: int = 0,
                    batch_size: int = 250, device: str = "cpu", use_cache: bool = True,
                    progress: bool | None = None) -> dict[str, dict[str, Any]]:
    """Score ``generated`` (a model/run, a folder or an .npz) against ``reference`` (a path or a name).

    Returns ``{metric name: {"value", ["std"], protocol fields}}``: FD/FID, KID, IS, precision,
    recall, density, coverage, class accuracy, mode count, as asked by ``metrics``.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if "fid" in unknown:  # FID is the Fréchet distance of Inception features, not a metric of its own here
        raise ConfigError("--metrics fid: FID is --metrics fd with --extractor inception (and the Inception weights, "
                          "--inception-weights); pass those.")
    if unknown or not metrics:
        named = f"names unknown metrics {unknown}" if unknown else "names no metric"
        raise ConfigError(f"--metrics {named}; choose from {','.join(METRICS)}.")
    for option, value in (("--n", n), ("--batch-size", batch_size)):
        if value < 1:
            raise ConfigError(f"{option} must be at least 1 (got {value}).")
    ref_images, dataset, split, implied = load_reference_images(reference)
    name = extractor or implied
    if name is None:
        raise ConfigError(f"--ref {reference} does not say which feature extractor fits it; pass --extractor "
                          "(mnist, fashion-mnist, cifar10 or inception).")
    # The extractor is loaded (and Inception's weights checked) before anything is sampled.
    chosen = get_extractor(name, inception_weights=inception_weights, device=device, batch_size=batch_size,
                           progress=progress)
    for metric in sorted(set(metrics) & CLASS_METRICS):  # refused before anything is sampled or extracted
        if not chosen.dataset_classes:
            raise ConfigError(f"--metrics {metric} needs a genlab evaluator (--extractor mnist, fashion-mnist or "
                              "cifar10), whose classes are the dataset's.")
    images, labels, source, names = generated_images(generated, n, seed, device, batch_size)
    if "acc" in metrics and labels is not None:  # before the features, the costly part
        labels = evaluator_labels(labels, names, chosen.name)
    if "acc" in metrics and labels is None:
        raise ConfigError("--metrics acc needs class labels with the generated images: a class-conditional model "
                          "(not a self-conditioned one, whose labels are clusters) or an .npz with a 'y' array.")
    for metric in metrics:
        require_samples(len(images), MIN_SAMPLES[metric], f"--metrics {metric}")
        if metric in USES_REFERENCE and len(ref_images) < MIN_SAMPLES[metric]:
            raise DataError(f"--metrics {metric} needs at least {MIN_SAMPLES[metric]} reference images but --ref "
                            f"{reference} holds {len(ref_images)}; pass a larger reference set.")
    if images.shape[1:] != ref_images.shape[1:]:
        default = " (the default: the embedded MNIST test digits)" if str(reference) == "mnist-test" else ""
        raise DataError(f"The generated images are {'x'.join(map(str, images.shape[1:]))} (HxWxC) but the reference "
                        f"images, --ref {reference}{default}, are {'x'.join(map(str, ref_images.shape[1:]))}; pass --ref "
                        "with reference images of the generated ones' resolution and channels.")
    fake, fake_probs = chosen.outputs(images)
    reference_outputs = _reference_outputs(ref_images, dataset, split, chosen, use_cache, need_radii="pr" in metrics)
    real, real_probs = reference_outputs["features"], reference_outputs["probs"]
    shown_split = split_label(reference, split)
    protocol = {"extractor": chosen.description, "generated": len(images), "generated_source": source,
                "reference": len(ref_images), "reference_data": str(reference), "reference_split": shown_split,
                "genlab": __version__}
    warning = training_overlap_warning(generated, reference, ref_images, use_cache)
    if warning:
        protocol["warning"] = warning
    results: dict[str, dict[str, Any]] = {}

    def add(metric: str, values: dict[str, Any], how: str) -> None:
        warning = "; ".join(filter(None, (protocol.get("warning"), values.pop("warning", None))))  # shared, own
        results[metric] = {**values, **protocol, **({"warning": warning} if warning else {}),
                           "protocol": f"{how}; {chosen.description}; {len(images)} generated vs "
                                       f"{len(ref_images)} reference ({reference}, {shown_split})"}

    for metric in metrics:
        if metric == "fd":
            fd = {"value": frechet_distance_features(fake, real)}
            if len(fake) < fake.shape[1]:  # a covariance of fewer samples than dimensions is singular
                fd["warning"] = (f"{len(fake)} generated samples for {fake.shape[1]}-dimensional features: the "
                                 "Fréchet distance is biased upward at small counts and comparable only at equal ones "
                                 "(published FIDs use 50,000); raise --n")
            add(("FID" if not chosen.label else f"FD{chosen.label}"), fd, "Fréchet distance of fitted Gaussians")
        elif metric == "kid":
            kid = kernel_distance(fake, real, seed=seed)
            add(f"KID{chosen.label}", kid, f"unbiased MMD², cubic kernel, {kid['subsets']} subsets of "
                                           f"{kid['subset_size']} (seed {seed}), ± std over subsets")
        elif metric == "pr":
            pr = manifold_metrics(fake, real, k=K, density_k=DENSITY_K,
                                  reference_radii={k: reference_outputs[name] for k, name in RADII.items()})
            for key, value in pr.items():
                k = K if key in ("precision", "recall") else DENSITY_K
                add(f"{key}{chosen.label}", {"value": value, "k": k}, f"k-NN manifolds, k = {k} ({key})")
        elif metric == "is":
            add(f"IS{chosen.label}", inception_score(fake_probs, splits=10),
                f"Inception Score, 10 splits of the samples shuffled with seed {SHUFFLE_SEED}")
        else:
            add(*_class_metric(metric, fake_probs, labels, real_probs))
    return results


# The classes of genlab's evaluators by name, label k's at k; Fashion-MNIST's are numbered only.
EVALUATOR_CLASSES = {"mnist": DIGIT_CLASSES, "cifar10": CIFAR10_CLASSES}


def evaluator_labels(labels: np.ndarray, names: list[str] | None, evaluator: str) -> np.ndarray:
    """Generated images' class labels as the ``evaluator``'s class numbers, for ``--metrics acc``:
    matched by name where the classes have names (a conditional model trained on the folders ``3``,
    ``5`` and ``7`` draws label 0 for the digit 3), else taken as its numbers."""
    if names is None:
        return labels
    known = EVALUATOR_CLASSES.get(evaluator)
    if known is None or any(name not in known for name in names):
        theirs = f"named {', '.join(known)}" if known else "numbered, not named"
        raise ConfigError(f"--metrics acc checks each sample's class against the {evaluator} evaluator's reading, "
                          f"but the generated images' classes ({', '.join(names)}) are not among its classes "
                          f"({theirs}); score a model of those classes, or drop acc.")
    return np.array([known.index(name) for name in names])[labels]


def _class_metric(metric: str, probs: torch.Tensor, labels: np.ndarray | None,
                  real_probs: torch.Tensor) -> tuple[str, dict[str, Any], str]:
    """Class-aware metrics of genlab's evaluators (``evaluate_images`` has checked that they apply):
    accuracy on conditional samples, mode count."""
    if metric == "modes":
        return ("modes", {"value": mode_count(probs), "of": mode_count(real_probs)},
                "classes predicted for at least one sample")
    correct = probs.argmax(-1).numpy() == labels
    return ("class_accuracy", {"value": float(correct.mean())},
            "fraction of samples the evaluator assigns to the class they were drawn for")
