"""From a family name, a config file and overrides to a finished run directory.

``train()`` is the Python entry point behind ``genlab train``::

    from genlab.train.run import build_run_config, train
    config = build_run_config("gan", overrides={"train": {"steps": 500}})
    run_dir = train(config)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from genlab.config import (CONFIG_FILE, WORKING_DIRECTORY, RunConfig, TrainConfig, as_text, from_dict, from_stored,
                           merge)
from genlab.errors import ConfigError, GenlabError, WeightsMismatchError, out_of_memory_as
from genlab.fileio import is_inside
from genlab.models.base import WEIGHTS_FILE, GenerativeModel, ignored_note, load_weights
from genlab.models.registry import get_family, get_model_class
from genlab.train.checkpoint import (checkpoints_dir, latest_checkpoint, read_checkpoint_config, remove_partial,
                                     remove_training_temporaries, resolve_checkpoint, saved_step)
from genlab.train.distributed import ProcessContext, end_process_group, init_process_group, main_work
from genlab.train.lock import hold_run_lock, release_run_lock
from genlab.train.rng import seed_everything
from genlab.train.rundir import EVAL_FILE, REPORT_FILE, RUN_RECORD, is_run_directory, record_owner
from genlab.train.trainer import Trainer

SECTIONS = ("family", "model", "data", "train", "versions", WORKING_DIRECTORY)  # the last two: records, not options
SECTION_EXAMPLES = {"model": "{name: dcgan, latent_dim: 64}", "data": "{path: data.npz}",
                    "train": "{steps: 1000, batch_size: 64}"}


def build_run_config(family: str | None = None, values: dict[str, Any] | None = None,
                     overrides: dict[str, Any] | None = None) -> RunConfig:
    """Resolve a :class:`RunConfig` from a family, file values and command-line overrides.

    Later sources win: family defaults < ``values`` (a config file) < ``overrides``.
    """
    return _build_run_config(family, {}, values or {}, overrides or {})[0]


def _build_run_config(family: str | None, saved: dict[str, Any], values: dict[str, Any],
                      overrides: dict[str, Any]) -> tuple[RunConfig, dict[str, dict[str, Any]]]:
    """:func:`build_run_config` from ``saved`` (a run's saved config; {} for none) < ``values`` <
    ``overrides``, and the saved model and data options it dropped, by section: those that nothing
    reads under the merged config, which neither ``values`` nor ``overrides`` gives again
    (:func:`genlab.config.from_stored`; one given again is refused)."""
    for section in ("model", "data", "train"):  # merged with a mapping of overrides, another value would vanish
        if values.get(section) is not None and not isinstance(values[section], dict):
            raise ConfigError(f"The config's '{section}' section must be a mapping of options (such as "
                              f"{SECTION_EXAMPLES[section]}), not {values[section]!r}.")
    merged = merge(merge(saved, values), overrides)
    unknown = sorted(set(merged) - set(SECTIONS), key=str)
    if unknown:
        raise ConfigError(f"Unknown config section {unknown[0]!r}; sections are family, model, data and train.",
                          option=str(unknown[0]))
    file_family = merged.get("family")
    if family and file_family and family != file_family:
        if saved.get("family") == file_family:
            raise ConfigError(f"The run to resume is of family {file_family!r}, but the command asks for {family!r}; "
                              "a resume goes on with the run's family, so drop it (or start a new run without "
                              "--resume).")
        raise ConfigError(f"The config is for family {file_family!r} but the command asks for {family!r}; "
                          "drop one of them.")
    fam = get_family(family or file_family)
    if not isinstance(merged.get("model") or {}, dict):
        raise ConfigError(f"The 'model' section must be a mapping such as {{name: {fam.default_model}}}, not "
                          f"{merged['model']!r}.")
    model_values = dict(merged.get("model") or {})
    name = model_values.pop("name", fam.default_model)
    if not isinstance(name, str):
        raise ConfigError(f"model.name must be a model name such as {fam.default_model!r} (got {name!r}).")
    model_cls = get_model_class(fam.name, name)
    filled = getattr(model_cls.config_class, "FROM_DATA", {})
    given = [key for key in (overrides.get("model") or {}) if key in filled]
    if given:
        raise ConfigError(f"--model.{given[0]} is recorded from the training data ({filled[given[0]]}), not an option; "
                          "drop it.")

    def build(cls: type, where: str, section: Any) -> tuple[Any, dict[str, Any]]:
        """The merged ``section`` as ``cls``, and the saved options it dropped."""
        if not isinstance(saved.get(where), dict):
            return from_dict(cls, section, where), {}
        given = {key for source in (values, overrides) if isinstance(source.get(where), dict) for key in source[where]}
        return from_stored(cls, section, where, given)

    model, dropped_model = build(model_cls.config_class, "model", model_values)
    data, dropped_data = build(fam.data_config, "data", merged.get("data") or {})
    config = RunConfig(family=fam.name, model_name=name, model=model, data=data,
                       train=from_dict(TrainConfig, merged.get("train") or {}, "train"))
    return config, {"model": dropped_model, "data": dropped_data}


def run_directory(config: RunConfig) -> Path:
    """Where the run writes (``--out``, default ``runs/<model>``); refused up front if it is a file."""
    if config.train.out == "":
        raise ConfigError("--train.out is empty; name a folder for the run, or leave the option out for "
                          f"runs/{config.model_name}.")
    path = Path(config.train.out or f"runs/{config.model_name}")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file, not a run directory; pass a folder name (new or a run's).")
    return path


class SavedConfig(NamedTuple):
    """The config saved in a run directory or checkpoint as a resume of it reads it."""

    values: dict[str, Any]  # less the options dropped as inapplicable (stored_run_config)
    notes: list[str]  # a sentence for each section that held any


def resolve_run(family: str | None, values: dict[str, Any], overrides: dict[str, Any],
                resume: str | None) -> tuple[RunConfig, Path | None, SavedConfig | None]:
    """The run config, the checkpoint to resume from and its saved config (None, None for a fresh run).

    ``resume`` is None, ``"auto"`` (the newest complete checkpoint of the run directory, if any)
    or a run directory / checkpoint folder. A resumed run starts from the config it was saved
    with; a config file's ``values`` and the command-line overrides (e.g. more ``--steps``) apply
    on top, in that order (``train()`` warns about those that change what is trained).
    """
    if resume is None:
        return build_run_config(family, values, overrides), None, None
    if resume == "auto":
        out = as_text((overrides.get("train") or {}).get("out"))
        saved_family = (read_checkpoint_config(Path(out)).get("family")
                        if out is not None and (Path(out) / CONFIG_FILE).is_file() else None)
        if saved_family is not None and (family or values.get("family", saved_family)) == saved_family:
            # The run's own config below a config file's values and the overrides. (A run of another
            # family is refused as such when the run directory is checked.)
            config = stored_run_config(Path(out), family, values, overrides)[0]
        else:
            config = build_run_config(family, values, overrides)
        checkpoint = latest_checkpoint(run_directory(config))
        if checkpoint is None:
            return config, None, None
    else:
        checkpoint = resolve_checkpoint(Path(resume)).resolve()  # '.' or '../step-N' name no folder
        # RUN/checkpoints/step-N continues in RUN; a copied-out checkpoints/ folder (no run config
        # beside it) is not a run whose later checkpoints a resume may discard.
        if checkpoint.parent.name == "checkpoints" and is_run_directory(checkpoint.parent.parent):
            overrides = merge({"train": {"out": str(checkpoint.parent.parent)}}, overrides)
        elif (overrides.get("train") or {}).get("out") is None:
            raise ConfigError(f"--resume {checkpoint} is not inside a run's checkpoints/ folder, so it has no run "
                              "directory to continue in; pass --out DIR for the resumed run.")
    config, saved = stored_run_config(checkpoint, family, values, overrides)
    return config, checkpoint, saved


def stored_run_config(folder: Path, family: str | None = None, values: dict[str, Any] | None = None,
                      overrides: dict[str, Any] | None = None) -> tuple[RunConfig, SavedConfig]:
    """The config of the run saved in ``folder`` (a run directory or a checkpoint) with a config
    file's ``values`` and the ``overrides`` on top, as :func:`build_run_config` merges them, and
    the saved config as that reads it.

    A run saved before genlab refused an option as inapplicable never read it, so the config goes
    on without the saved options that nothing reads under the merged config, each with a note: also
    one that the ``values`` or ``overrides`` leave unread (a saved ``min_lr`` once ``--model.decay_steps
    0`` turns the decay off). An option they give again is refused, as for any run.
    """
    folder = Path(folder)
    saved = read_checkpoint_config(folder)
    try:
        config, dropped = _build_run_config(family, saved, values or {}, overrides or {})
    except ConfigError:
        try:  # the saved config's own fault (an edited or damaged file), not the command's: name the file
            _build_run_config(None, saved, {}, {})
        except ConfigError as own:
            raise ConfigError(f"{folder / CONFIG_FILE}, the config the run was saved with, is not valid "
                              f"({str(own).rstrip('.')}); restore it as genlab wrote it, or resume an earlier "
                              "checkpoint.") from None
        raise
    dropped = {section: names for section, names in dropped.items() if names}
    kept = {**saved, **{section: {key: value for key, value in saved[section].items() if key not in names}
                        for section, names in dropped.items()}}
    notes = [ignored_note(folder / CONFIG_FILE, names, section, "the resumed run's config")
             for section, names in dropped.items()]
    return config, SavedConfig(kept, notes)


def refuse_run_inside_data(run_dir: Path, data: str | None) -> None:
    """Refuse a run directory inside the data folder it trains on: the next run on that folder would
    read the run's files as data (its preview grids as pictures, even as a class of their own; its
    sample text as training text)."""
    if data is not None and Path(data).expanduser().is_dir() and is_inside(run_dir, data):
        raise ConfigError(f"--out {run_dir} is inside the data folder {data}, where the next run would read its "
                          f"samples as data; put the run outside {data}.")


def train(config: RunConfig, resume_from: Path | None = None, restart_ok: bool = False,
          progress: bool | None = None, saved: SavedConfig | None = None) -> Path:
    """Train the run described by ``config`` (from ``resume_from`` if given); return the run directory.

    A run directory that already holds a run is refused unless resuming one of its own
    checkpoints, or ``restart_ok`` (``--resume auto`` on a run that died before its first checkpoint).
    ``saved`` is the checkpoint's config as :func:`resolve_run` or :func:`stored_run_config` read it:
    its notes are printed and ``config`` is compared with it; by default, its config.json as it is.
    """
    run_dir = run_directory(config)
    _check_run_directory(run_dir, config, resume_from, restart_ok)
    _check_data_path(run_dir, config)
    process = ProcessContext.from_env()
    trainer = Trainer(config.train, run_dir, process, progress)  # checks the device before the data is read
    dataset, model = _build_data_and_model(config, process)
    changed: list[str] = []
    if resume_from is not None:  # on every process, so that all of them stop at a refusal
        saved = saved or stored_run_config(resume_from)[1]
        changed = _check_resume(config, model, resume_from, saved)
    # Made here rather than in fit, so that the other ranks hear of a failure in rank 0's part below.
    created_group = init_process_group(process, trainer.device)
    try:
        with main_work(process, "locking and tidying the run folder"):
            if process.is_main:
                hold_run_lock(run_dir)  # before anything in it is removed; the trainer locks a new one once created
                remove_partial(run_dir)
                remove_training_temporaries(run_dir)
                _announce(config, model, dataset, run_dir, resume_from, saved, changed)
        trainer.fit(model, dataset, config, resume_from=resume_from)
    finally:
        release_run_lock(run_dir)
    if created_group:
        end_process_group()
    return run_dir


def _check_run_directory(run_dir: Path, config: RunConfig, resume_from: Path | None, restart_ok: bool) -> None:
    """Refuse a ``run_dir`` whose files training would wrongly replace: a run there (unless resuming
    one of its own checkpoints, or ``restart_ok``), a run ``--resume auto`` may not start over
    (:func:`refuse_restart_over`), or files of the names a run writes in a folder that holds no run."""
    own_checkpoint = (resume_from is not None
                      and Path(resume_from).parent.resolve() == checkpoints_dir(run_dir).resolve())
    refuse_nested_runs(run_dir)
    if not (restart_ok or own_checkpoint) and (run_dir / CONFIG_FILE).exists():
        if resume_from is None:
            raise ConfigError(f"{run_dir} already holds a run; pass --resume auto to continue it, or --out NEW_DIR "
                              "to start another.")
        raise ConfigError(f"{run_dir} already holds another run, which resuming {resume_from} there would "
                          "overwrite; pass --out NEW_DIR to continue it in a new run directory.")
    if restart_ok and resume_from is None and (run_dir / CONFIG_FILE).exists():
        refuse_restart_over(run_dir, config)
    if not own_checkpoint and not (run_dir / CONFIG_FILE).exists() and run_dir.is_dir():
        # Not a run (a run of genlab's has its config.json from its first step on) but holding files of the
        # names a run writes, which the trainer would overwrite, prune or delete; other files it leaves alone.
        found = sorted(name for name in {*RUN_RECORD, EVAL_FILE, REPORT_FILE} if (run_dir / name).exists())
        if found:
            listed = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
            raise ConfigError(f"--out {run_dir} already holds {listed} but no genlab run (no config.json), and "
                              "training would overwrite or delete them; pass --out NEW_DIR or an empty folder.")


def refuse_nested_runs(run_dir: Path) -> None:
    """Refuse a run directory inside one of another run's own folders (``samples/``, ``checkpoints/``,
    ...: the outer run prunes them) or one that is a folder of runs (the runs' own files would sit
    among this run's). Any other folder above may hold a config.json of its own."""
    owner = record_owner(run_dir)
    if owner is not None:
        outer, inner = owner
        raise ConfigError(f"--out {run_dir} lies inside {inner}/ of the run {outer}; pass --out a folder outside it.")
    if not (run_dir / CONFIG_FILE).exists() and run_dir.is_dir():
        runs = sorted(child.name for child in run_dir.iterdir() if child.is_dir() and is_run_directory(child))
        if runs:
            listed = ", ".join(runs[:3]) + (", ..." if len(runs) > 3 else "")
            raise ConfigError(f"--out {run_dir} holds other runs ({listed}), not one run; pass --out "
                              f"{run_dir / 'NEW_NAME'} to train a new one beside them.")


def _check_data_path(run_dir: Path, config: RunConfig) -> None:
    """Refuse an empty ``--data``, and a run directory inside the data folder."""
    if getattr(config.data, "path", None) == "":
        raise ConfigError("--data is empty; name a data file or folder, or leave the option out for the built-in "
                          "data.")
    refuse_run_inside_data(run_dir, getattr(config.data, "path", None))


def _build_data_and_model(config: RunConfig, process: ProcessContext) -> tuple[Any, GenerativeModel]:
    """The dataset and the freshly initialised model (seeded with ``--train.seed``); ``config.model``
    takes what the data fills in (resolution, classes, features)."""
    family = get_family(config.family)
    with out_of_memory_as("The data as configured does not fit in memory (its --data.* sizes, such as a "
                          "resolution or a count of generated sequences); lower them."):
        dataset, config.model = family.build_data(config.data, config.model)
    if hasattr(config.model, "validate"):
        config.model.validate()  # again, with what the data filled in (resolution, classes, features)
    seed_everything(config.train.seed)  # the initial weights are part of what the seed reproduces
    with out_of_memory_as(f"A {config.model_name} model of this size does not fit in memory; lower its size options "
                          f"(widths, layers, vocabulary: 'genlab list {config.family} --model {config.model_name}' "
                          "lists them)."):
        model = family.models[config.model_name](config.model)
    if process.distributed and not (model.ddp_modules or model.averages_gradients):  # replicas would drift apart
        raise ConfigError(f"{config.family}/{model.name} trains in a single process only; run it without torchrun.")
    return dataset, model


def _check_resume(config: RunConfig, model: GenerativeModel, resume_from: Path, saved: SavedConfig) -> list[str]:
    """The settings in which ``config`` differs from the checkpoint's ``saved`` config
    (:func:`changed_settings`); refused when the resume would take another model, when nothing
    would train with them, or when they change the model's layers."""
    saved_name = (saved.values.get("model") or {}).get("name")
    if saved_name is not None and saved_name != config.model_name:  # a preset's settings would not follow
        raise ConfigError(f"--model.name {config.model_name} is not the model {resume_from} holds ({saved_name}), "
                          "and a resume goes on with that model; drop the option, or train "
                          f"{config.model_name} as a new run (--out NEW_DIR).")
    held_out = (saved.values.get("data") or {}).get("validation_fraction")  # text models hold out the end
    asked = getattr(config.data, "validation_fraction", None)
    if isinstance(held_out, (int, float)) and asked is not None and asked > held_out:
        # The part it would add was trained on, and genlab eval would score it as held out.
        raise ConfigError(f"--data.validation_fraction {asked} would hold out text that {resume_from} has trained on "
                          f"(the run held out the last {held_out * 100:.4g}%); keep {held_out} or less, or start a new run "
                          "(another --out).")
    changed = changed_settings(saved.values, config)
    if changed and saved_step(resume_from) == config.train.steps:
        # Nothing would train under the new settings, yet config.json would record them.
        raise ConfigError(f"{resume_from} is at step {config.train.steps}, the run's last (--train.steps), so "
                          f"nothing would train with the changed settings ({'; '.join(changed)}); raise "
                          "--train.steps to train on with them, or drop them.")
    if changed:  # the trainer loads them again; a mismatch is refused here, before anything is written
        try:
            load_weights(model, resume_from / WEIGHTS_FILE)
        except WeightsMismatchError as e:
            raise ConfigError(f"The changed settings ({'; '.join(changed)}) change the model's layers, so "
                              f"{resume_from} cannot go on with them; drop them, or start a new run (another "
                              "--out).") from e
    return changed


def _announce(config: RunConfig, model: GenerativeModel, dataset: Any, run_dir: Path, resume_from: Path | None,
              saved: SavedConfig | None, changed: list[str]) -> None:
    """Print what trains on what, where; then the notes on the resumed config (``saved``'s), the
    warnings about the settings (``changed``: those that differ from the checkpoint's) and the
    model's setup notes."""
    resuming = f" (resuming from {resume_from.name})" if resume_from else ""
    print(f"genlab: {config.family}/{model.name} on {dataset.description} -> {run_dir}{resuming}")
    warnings = [decay_mismatch(config), warmup_mismatch(config), phases_unfinished(config),
                adversarial_unfinished(config)]
    if resume_from is not None:
        for note in saved.notes:
            print(f"genlab: note: {note}")
        if saved_step(resume_from) == config.train.steps:
            print(f"genlab: note: {resume_from.name} is the run's last step (--train.steps "
                  f"{config.train.steps}): nothing to train; pass a larger --steps to go on.")
        if changed:
            warnings.append(f"resuming with settings that differ from the checkpoint's ({'; '.join(changed)}): "
                            "the run goes on, but not as an uninterrupted run with the saved settings would, "
                            "and config.json will record only the new ones.")
    for warning in filter(None, warnings):
        print(f"genlab: warning: {warning}")
    for note in model.setup_notes():
        print(f"genlab: note: {note}")


# Settings a resumed run may change without changing what it trains: its length, where it writes,
# how often it logs and saves, how it runs (device, compilation, the finite-gradient guard), and the
# folder it was started from.
BOOKKEEPING = {f"train.{name}" for name in (
    "steps", "out", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "preview_count", "device",
    "compile", "check_finite", "skip_nonfinite")} | {WORKING_DIRECTORY}


def _leaves(values: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(values, dict):
        return {prefix: values}
    return {key: value for name, child in values.items()
            for key, value in _leaves(child, f"{prefix}.{name}" if prefix else name).items()}


def default_of(config: RunConfig, key: str) -> Any:
    """The class default of the option ``key`` ("section.name") of ``config``; a marker that equals
    nothing when the option has none (a nested key, or a field without a default)."""
    section, _, name = key.partition(".")
    field = getattr(getattr(config, section, None), "__dataclass_fields__", {}).get(name)
    return field.default if field is not None else _NO_DEFAULT


_NO_DEFAULT = object()


def changed_settings(saved: dict[str, Any], config: RunConfig) -> list[str]:
    """The settings (batch size, learning rate, data, ...) in which ``config`` differs from the
    checkpoint's ``saved`` config, each as "key old → new". Such a resume is allowed (a larger
    batch late in training is a real technique) but is no longer the saved run."""
    before, after = _leaves(saved), _leaves(config.to_dict())
    # An option an older genlab did not save yet stands at its default, and a value it did not record
    # from the data yet is recorded now: neither is a change.
    recorded = {f"model.{name}" for name in getattr(type(config.model), "FROM_DATA", {})}
    before.update({key: value for key, value in after.items()
                   if key not in before and (value == default_of(config, key) or key in recorded)})
    changed = [f"{key} {before.get(key, '(unset)')} → {after.get(key, '(unset)')}"
               for key in sorted(before.keys() | after.keys(), key=str)
               if before.get(key) != after.get(key) and key not in BOOKKEEPING and not key.startswith("versions.")]
    return changed


def refuse_restart_over(run_dir: Path, config: RunConfig) -> None:
    """``--resume auto`` found no checkpoint in ``run_dir``: starting afresh there is right for a run
    that died before its first one, but not over a finished run (it has a model export) or a run
    of another model, whose files the fresh run would replace."""
    try:
        saved = read_checkpoint_config(run_dir)
        other = (saved.get("family"), saved.get("model", {}).get("name")) != (config.family, config.model_name)
    except (GenlabError, AttributeError):
        other = True
    if other or (run_dir / "model").exists():
        raise ConfigError(f"{run_dir} holds a {'finished run' if not other else 'run of another model'} with no "
                          "checkpoint left to resume; pass --out NEW_DIR to start a new run.")


def warmup_mismatch(config: RunConfig) -> str | None:
    """A sentence when a warm-up of the model (β's for a VAE, the learning rate's for the transformer)
    is longer than the run, so the run never trains at the configured value, else None."""
    steps = config.train.steps
    for name, what in (("kl_warmup_steps", "β reaches"), ("warmup_steps", "the learning rate reaches")):
        warmup = getattr(config.model, name, 0)
        if warmup > steps:
            return (f"--model.{name} {warmup} is longer than --train.steps {steps}: {what} only {steps / warmup:.0%} "
                    f"of its value; set --model.{name} below {steps} or train longer.")
    return None


def phases_unfinished(config: RunConfig) -> str | None:
    """A sentence when a phased model's run (TimeGAN's, latentgan's) ends before the phase that trains
    its generator and discriminator — its config's ``unfinished_phases(steps)`` says so — else None.
    Not an error: such a run may be resumed with more steps."""
    check = getattr(config.model, "unfinished_phases", None)
    return check(config.train.steps) if check is not None else None


def adversarial_unfinished(config: RunConfig) -> str | None:
    """A sentence when a text GAN's run ends inside its maximum-likelihood pretraining, or before
    relgan's inverse temperature has risen to its top, else None."""
    model, steps = config.model, config.train.steps
    if not getattr(model, "discriminated", False):  # mle, and every other family
        return None
    if steps <= model.pretrain_steps:
        return (f"--train.steps {steps} ends within the maximum-likelihood pretraining (--model.pretrain_steps "
                f"{model.pretrain_steps}), so nothing trains adversarially; raise --train.steps above "
                f"{model.pretrain_steps} (or resume later with more).")
    adversarial = steps - model.pretrain_steps
    top, rise = model.max_inverse_temperature, model.temperature_steps
    if model.model == "relgan" and top > 1 and rise > adversarial:
        return (f"--model.temperature_steps {rise} is longer than the {adversarial} adversarial steps: the inverse "
                f"temperature stops at {top ** (adversarial / rise):.3g} of its {top:g}; set "
                f"--model.temperature_steps {adversarial} or train longer.")
    return None


def decay_mismatch(config: RunConfig) -> str | None:
    """A sentence when the model's learning-rate decay does not end with the run (a ``--train.steps``
    override leaves a config's ``decay_steps`` where it was), else None."""
    decay, steps = getattr(config.model, "decay_steps", 0), config.train.steps
    if not decay or decay == steps:
        return None
    final = getattr(config.model, "min_lr", 0.0)  # the GAN families decay to 0
    past = (f"the last {steps - decay} steps train at the final learning rate" if final else
            f"the last {steps - decay} steps train at learning rate 0, which leaves the weights as they are")
    effect = past if decay < steps else f"the run stops {100 * steps / decay:.0f}% of the way through the decay"
    return (f"--model.decay_steps {decay} differs from --train.steps {steps}: {effect}; set --model.decay_steps "
            f"{steps} to decay over the whole run.")
