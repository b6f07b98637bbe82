"""Where a command may write: the checks that keep an output from replacing, or landing inside, what
the command reads, the data a model was trained on, or the record of a run.
"""

from __future__ import annotations

from pathlib import Path

from genlab.errors import CheckpointError, ConfigError
from genlab.fileio import blocking_file, is_inside


def output_file(path: str, option: str, model: str | None = None, inputs: tuple[str | None, ...] = ()) -> Path:
    """``path`` as the file an option names, refused up front if it is an existing folder or if
    writing it would replace or add to what the command reads (:func:`guard_output`)."""
    if not str(path).strip():
        raise ConfigError(f"{option} is empty; pass a file name.")
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"{option} {path} is a folder; pass a file name inside it.")
    blocked = blocking_file(out)
    if blocked is not None:
        raise ConfigError(f"{option} {path} lies under {blocked}, which is a file, not a folder; pass a path in a "
                          "folder.")
    guard_output(out, f"{option} {path}", "another file name", model, inputs)
    return out


def output_folder(path: str, option: str, names: tuple[str, ...], model: str | None = None,
                  inputs: tuple[str | None, ...] = ()) -> Path:
    """``path`` as the folder an option names for files ``names``, guarded as :func:`output_file`
    guards one file (a file there already, or under a file, is refused by the options' checks)."""
    folder = Path(path)
    for name in names:
        guard_output(folder / name, f"{option} {path}", "another folder", model, inputs)
    return folder


def guard_output(target: Path, said: str, fix: str, model: str | None, inputs: tuple[str | None, ...]) -> None:
    """Refuse to write ``target`` (``said``: how the message names it) where it would replace one of
    ``inputs``, the model folder or the data ``model`` was trained on, or add a file inside such a
    folder (a training-data folder would then hold a picture or table it was not trained on), or
    where it is part of the record of a run (its config, log, weights, checkpoints, previews).

    The training data's folder is known only where the run recorded the folder it trained in, or was
    given an absolute path: a relative path of an older run, taken from the current folder, may name
    another folder ('.' would name every one), so only writing over it exactly is refused."""
    from genlab.data.provenance import training_data_path
    from genlab.train.rundir import record_owner

    resolved = target.resolve()
    trained_on = training_data_path(model) if model is not None else None
    for source in (*inputs, model, trained_on):
        if not isinstance(source, (str, Path)):
            continue
        role = "this model was trained on" if source is trained_on else "this command reads"
        if resolved == Path(source).expanduser().resolve():
            raise ConfigError(f"{said} is {source}, which {role}; writing there would replace it, so pass {fix}.")
        known = source is not trained_on or Path(source).is_absolute()
        if known and source is not model and Path(source).expanduser().is_dir() and is_inside(resolved, source):
            raise ConfigError(f"{said} lies inside {source}, which {role}; writing there would change that data, so "
                              f"pass {fix} outside it.")
    if model is not None and resolved.exists() and Path(model).is_dir() and any(
            folder.resolve() in resolved.parents for folder in model_folders(Path(model))):
        raise ConfigError(f"{said} is a file of the model folder this command reads ({model}); pass {fix}.")
    # Any run's record, not only the one this command reads: training, resuming and reporting read it back.
    owner = record_owner(resolved)
    if owner is not None:
        raise ConfigError(f"{said} is part of the record of the run in {owner[0]}; pass {fix} outside its config, "
                          "log, model, checkpoints and previews.")


def model_folders(path: Path) -> list[Path]:
    """The folder holding the weights that ``path`` (a run or a model folder) loads, if it has one."""
    from genlab.sampling import find_model_folder

    try:
        return [find_model_folder(path)]
    except CheckpointError:
        return []
