"""The contract every generative model in genlab follows.

A family owns its networks, its losses and how one training step is taken; the trainer owns the
loop, devices, logging, checkpoints and seeding. The contract between them is small:

- ``configure_optimizers()``: the optimizers, by name (``{"generator": ..., "discriminator": ...}``).
- ``training_step(batch, optimizers)``: take one step (any number of optimizer updates) and
  return the losses to log as detached scalar tensors (no host sync: the trainer decides when
  to read them).
- ``write_preview(path, count, seed)``: write a progress artefact (a PNG grid, a text sample).
- ``sample(n, generator)``: draw samples.

Models whose samples come from a latent code also implement ``sample_latent`` and ``decode``,
which gives latent interpolation for free.

Export format (``save_pretrained`` / ``from_pretrained``): a plain folder with ``config.json``
(family, model name, config, versions) and ``model.safetensors``. Loading it never runs code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors, load_file, save_file
from torch import nn

# CONFIG_FILE and EvalOptions are also importable from here (genlab.sampling and the families import them).
from genlab import __version__
from genlab.config import CONFIG_FILE, EvalOptions, from_stored, to_dict, versions
from genlab.errors import BrokenWeightsError, CheckpointError, ConfigError, WeightsMismatchError
from genlab.fileio import atomic_write, atomic_write_json

WEIGHTS_FILE = "model.safetensors"


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


class GenerativeModel(nn.Module):
    family: ClassVar[str]
    name: ClassVar[str]
    config_class: ClassVar[type]
    # Submodules that train, each wrapped in its own DistributedDataParallel under torchrun;
    # training_step must call them as attributes (self.generator(...)). Empty: single process only.
    ddp_modules: ClassVar[tuple[str, ...]] = ()
    # Without ddp_modules, True lets the model train under torchrun all the same: each optimizer
    # step averages its gradients across processes first. Its control flow must then be the same
    # on every rank (see genlab.train.distributed.global_mean).
    averages_gradients: ClassVar[bool] = False
    # The files save_samples writes, by suffix; the first is 'genlab sample''s default.
    sample_suffixes: ClassVar[tuple[str, ...]] = (".png", ".npz")
    loaded_from: Path | None = None  # the folder from_pretrained read the model from; None: built in memory

    @property
    def compile_targets(self) -> tuple[str, ...]:
        """The submodules ``--train.compile`` compiles, called as attributes like ``ddp_modules``."""
        return self.ddp_modules

    # What --train.compile's refusal suggests when compile_targets is empty.
    nothing_to_compile: ClassVar[str] = "leave it off"

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    # --- training contract -------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def on_train_step(self, step: int, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """Called by the trainer before each training step with the number of steps already taken.

        Step-based schedules (learning-rate warmup and decay) set themselves here: a pure function
        of ``step`` resumes exactly without state of its own.
        """

    def training_step(self, batch: Any, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def write_preview(self, path: Path, count: int, seed: int) -> Path:
        """Write a progress artefact for ``count`` fixed samples; return the file written."""
        raise NotImplementedError

    def setup_notes(self) -> list[str]:
        """What a user should know about how the config was applied, printed when training starts."""
        return []

    def monitor(self, logged: dict[str, float]) -> list[str]:
        """Warnings about training health from one logged window of means (none by default)."""
        return []

    def evaluate(self, options: EvalOptions) -> dict[str, Any]:
        """Measure the model on held-out data; every number comes with its protocol."""
        raise ConfigError(f"'genlab eval' has no evaluation for {self.family}/{self.name} yet.")

    def evaluation_memory_options(self, options: EvalOptions) -> list[str]:
        """The options of :meth:`evaluate` (``EvalOptions`` names) that it reads and whose lower values
        shrink what it holds in memory at once: what an evaluation that does not fit names."""
        return []

    # --- sampling ----------------------------------------------------------------------------
    DECODE_BATCH: ClassVar[int] = 256  # latents decoded at once when many samples are drawn

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, label: int | None = None) -> torch.Tensor:
        """``n`` samples of a latent-variable model (all of class ``label`` if given), decoded a batch at a time."""
        return self.labelled_sample(n, generator, label)[0]

    @torch.no_grad()
    def labelled_sample(self, n: int, generator: torch.Generator | None = None,
                        label: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`sample`, with the labels it drew ((n,), or None if unconditional)."""
        latents = self.sample_latent(n, generator)
        labels = self.class_labels(n, label, generator)
        return torch.cat(list(self.decoded_batches(latents, labels))), labels

    @torch.no_grad()
    def decoded_batches(self, latents: torch.Tensor, labels: torch.Tensor | None,
                        batch_size: int = DECODE_BATCH) -> Iterator[torch.Tensor]:
        """:meth:`decode` of ``latents`` (N, ...) with their ``labels`` (N,) or None, ``batch_size`` at a
        time: memory stays bounded, and since the latents were drawn at once (torch draws normals in
        blocks, so split draws would differ), the samples are the same at any batch size."""
        for start in range(0, len(latents), batch_size):
            yield self.decode(latents[start:start + batch_size],
                              None if labels is None else labels[start:start + batch_size])

    def save_samples(self, samples: torch.Tensor, path: Path, columns: int | None = None,
                     labels: torch.Tensor | None = None) -> Path:
        """Write samples from :meth:`sample` or :meth:`decode` to a file (default: a PNG image grid
        of ``columns`` per row, or by suffix an .npz of the images, as ``genlab eval`` reads them).
        ``labels``: each sample's class, kept where the file format has a place for it."""
        from genlab.imaging import save_image_grid, save_images_npz

        if Path(path).suffix.lower() == ".npz":
            return save_images_npz(samples, path, labels, getattr(self.config, "class_names", None))
        return save_image_grid(samples, path, ncol=columns)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} has no latent space")

    def decode(self, latent: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} has no latent space")

    @property
    def has_latent(self) -> bool:
        return type(self).sample_latent is not GenerativeModel.sample_latent

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def num_classes(self) -> int | None:
        """Classes of a class-conditional model (``conditional`` and ``num_classes`` in its config), else None."""
        conditional = getattr(self.config, "conditional", False)
        return getattr(self.config, "num_classes", None) if conditional else None

    # How this family's data carries class labels, for the refusal of unlabelled data.
    labelled_data: ClassVar[str] = "labelled data (class subfolders, or y in the .npz)"

    def older_weights(self, key: str, saved: tuple[int, ...], needed: tuple[int, ...]) -> str | None:
        """Why weight ``key`` of a saved model has shape ``saved`` where this model's has ``needed``,
        when that is a layer an earlier genlab built otherwise (such a model cannot be loaded: it must be
        retrained); None for any other mismatch."""
        return None

    def batch_labels(self, batch: dict) -> torch.Tensor | None:
        """The class labels of a training ``batch`` for a conditional model; None for an unconditional one."""
        if not self.num_classes:
            return None
        if batch.get("labels") is None:
            raise ConfigError(f"This {self.name} is conditional but its data has no labels; use "
                              f"{self.labelled_data} or set --model.conditional false.")
        return batch["labels"]

    def class_index(self, given: str) -> int:
        """The class that ``--class`` names: one of the names the model's data gave its classes
        (``class_names``: an image folder's subfolders, CIFAR-10's classes), or else a class number.
        Where some names are numbers (subfolders ``1``, ``2``, ``3``), a number is only ever read
        as a name: ``3`` is the folder ``3``, and ``0`` is refused rather than taken as a position."""
        self._require_conditional()
        names = list(getattr(self.config, "class_names", None) or [])
        if given in names:
            return names.index(given)
        numbered = any(_is_integer(name) for name in names)
        if numbered or not _is_integer(given):
            known = (f"its classes are {', '.join(names)}" if names else
                     f"its classes have no names, only the numbers 0 to {self.num_classes - 1}")
            read_as_name = numbered and _is_integer(given)
            why = " (some are named by numbers, so a number is read as a name)" if read_as_name else ""
            shown = given if given and given.strip() == given else repr(given)  # '' and ' cat' as typed
            raise ConfigError(f"--class {shown}: this model has no class of that name; {known}{why}.")
        label = int(given)
        self._check_class(label)
        return label

    def class_labels(self, n: int, label: int | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Labels for n samples: all ``label``, or cycling through the classes; None if unconditional.
        (``generator``: for a model whose labels are drawn at random, which this one's are not.)"""
        if label is not None:
            self._require_conditional()
            self._check_class(label)
        if not self.num_classes:
            return None
        labels = torch.full((n,), label) if label is not None else torch.arange(n) % self.num_classes
        return labels.to(self.device)

    def _require_conditional(self) -> None:
        if not self.num_classes:
            raise ConfigError(f"--class needs a conditional model; this {self.name} is unconditional.")

    def _check_class(self, label: int) -> None:
        if not 0 <= label < self.num_classes:
            names = list(getattr(self.config, "class_names", None) or [])
            listed = f" ({', '.join(names)})" if names else ""
            raise ConfigError(f"--class {label} is out of range; this model has classes 0 to {self.num_classes - 1}"
                              f"{listed}.")

    # --- export ------------------------------------------------------------------------------
    def export_config(self) -> dict[str, Any]:
        """The config.json of an exported model: its family, name, options and the versions that saved it."""
        return {
            "family": self.family,
            "model": {"name": self.name, **to_dict(self.config)},
            "versions": versions(),
        }

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to ``directory`` (each atomically)."""
        directory = Path(directory)
        save_weights(self, directory / WEIGHTS_FILE)
        atomic_write_json(directory / CONFIG_FILE, self.export_config())
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu") -> GenerativeModel:
        """Rebuild a model from an exported folder; works on the base class or a subclass."""
        from genlab.models.registry import get_model_class

        directory = Path(directory)
        exported = read_json(directory / CONFIG_FILE)
        if not isinstance(exported.get("model"), dict):
            raise CheckpointError(f"{directory / CONFIG_FILE} has no 'model' section naming the model and its "
                                  "config; the file is corrupt or not a genlab model's — re-export it.")
        model_section = dict(exported["model"])
        family, name = exported.get("family"), model_section.pop("name", None)
        model_cls = get_model_class(family, name, source=directory / CONFIG_FILE)
        if cls is not GenerativeModel and not issubclass(model_cls, cls):
            raise CheckpointError(f"{directory} holds a {family}/{name} model, not a {cls.name}; "
                                  "point at a folder exported from that model.")
        try:  # the model's constructor checks options together, which this genlab may no longer accept
            config, ignored = from_stored(model_cls.config_class, model_section, "model")
            refuse_oversized(model_cls, config, directory / CONFIG_FILE)
            model = model_cls(config)
        except ConfigError as e:
            raise CheckpointError(f"{directory / CONFIG_FILE} does not describe a valid {family}/{name} model: "
                                  f"{e}") from None
        if ignored:
            print(f"genlab: note: {ignored_note(directory / CONFIG_FILE, ignored)}", file=sys.stderr)
        try:
            load_weights(model, directory / WEIGHTS_FILE)
        except CheckpointError as e:
            saved = (exported.get("versions") or {}).get("genlab")
            if saved is None or saved == __version__ or isinstance(e, BrokenWeightsError):  # not a layout change
                raise
            raise CheckpointError(f"{e} It was saved by genlab {saved} and this is {__version__}, whose layout of "
                                  f"{family}/{name} differs: retrain it, or load it with genlab {saved}.") from None
        model.loaded_from = directory
        return model.to(map_location)


def ignored_note(source: Path, ignored: dict[str, Any], section: str = "model",
                 config: str = "the rest of its config") -> str:
    """One sentence saying that the saved config ``source`` holds options that nothing reads under
    ``config`` (``ignored``, by name, with their saved values), which loading it leaves at their defaults."""
    options = ", ".join(f"--{section}.{name} {json.dumps(value)}" for name, value in ignored.items())
    return f"{source} sets {options}, which nothing reads under {config}; ignored."


MAX_PARAMETERS = 2_000_000_000


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode (no dropout, BatchNorm's running statistics) inside the block, and
    back in the mode it was in afterwards, also when the block raises."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def refuse_oversized(model_cls: type, config: Any, source: Path) -> None:
    """Build the model on the meta device (no memory) and refuse configs of absurd size.

    A hostile or corrupt config.json could otherwise ask for terabytes before any weight is read.
    """
    with torch.device("meta"):
        count = sum(p.numel() for p in model_cls(config).parameters())
    if count > MAX_PARAMETERS:
        raise CheckpointError(f"{source} describes a model of {count:,} parameters, more than genlab loads "
                              f"({MAX_PARAMETERS:,}); the file is corrupt or not meant for genlab.")


def save_weights(module: nn.Module, path: Path) -> None:
    """Write a module's state dict as safetensors (shared tensors are stored once)."""
    # safetensors refuses tensors that share memory (tied weights): store each storage once;
    # load_weights accepts a key that is missing because its tied twin is present.
    unique: dict[str, torch.Tensor] = {}
    seen: set[tuple] = set()
    for key, tensor in module.state_dict().items():
        ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if ident not in seen:
            seen.add(ident)
            unique[key] = tensor.detach().contiguous().cpu()
    atomic_write(path, lambda tmp: save_file(unique, str(tmp), metadata={"format": "pt"}))


def load_weights(module: nn.Module, path: Path) -> None:
    """Load safetensors weights into ``module``, strictly; a mismatch is a clear error."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist; the model folder is incomplete — re-export it "
                              "or point at a complete checkpoint.")
    try:
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:  # safetensors' own open refuses a path that is not valid UTF-8: read it here
            state = load_safetensors(path.read_bytes())
        else:  # memory-mapped, without a second copy of the file in memory
            state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e}); it is truncated or "
                              "corrupt — use an earlier checkpoint.") from e
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not _is_tied_duplicate(module, k, state)]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise WeightsMismatchError(f"{path} holds weights of another model (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}); load it with the config it was saved with.")
    for key, tensor in expected.items():
        if key in state and state[key].shape != tensor.shape:
            older = module.older_weights(key, tuple(state[key].shape), tuple(tensor.shape)) \
                if isinstance(module, GenerativeModel) else None
            if older is not None:
                raise WeightsMismatchError(f"{path} was saved by an earlier genlab: {older}; this genlab cannot load "
                                           "it, so train the model again.")
            raise WeightsMismatchError(f"{path} holds weights of another model ({key} has shape "
                                  f"{tuple(state[key].shape)}, the config needs {tuple(tensor.shape)}); "
                                  "load it with the config it was saved with.")
    # Another float precision is cast on loading; integers, booleans and complex numbers are not weights.
    for key, tensor in expected.items():
        saved = state.get(key)
        if saved is not None and saved.dtype != tensor.dtype and not (saved.is_floating_point()
                                                                      and tensor.is_floating_point()):
            raise WeightsMismatchError(f"{path} holds {key} as {str(saved.dtype).removeprefix('torch.')} where the "
                                       f"model has {str(tensor.dtype).removeprefix('torch.')}; the file was altered "
                                       "or written by another program — use a checkpoint genlab wrote.")
    for key, tensor in state.items():  # a NaN weight would make every sample and every later step NaN
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).sum())
            raise BrokenWeightsError(f"{path} holds {bad} NaN or infinite value{'s' * (bad > 1)} in {key}; these "
                                     "weights are broken — use an earlier checkpoint.")
    module.load_state_dict(state, strict=False)


def _is_tied_duplicate(module: nn.Module, key: str, state: dict[str, torch.Tensor]) -> bool:
    """Whether ``key`` shares storage with another key that *is* in ``state``."""
    params = module.state_dict()
    ptr = params[key].data_ptr()
    return any(k in state and k != key and v.data_ptr() == ptr for k, v in params.items())


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist; point at a run directory or an exported model folder.")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({e}); the file is truncated or corrupt — "
                              "restore it or use an earlier checkpoint.") from e
    except RecursionError:
        raise CheckpointError(f"{path} is nested too deeply to be a genlab config (the file is corrupt); restore "
                              "it or use an earlier checkpoint.") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} must hold a JSON object; the file is corrupt — restore it or use an earlier "
                              "checkpoint.")
    return value
