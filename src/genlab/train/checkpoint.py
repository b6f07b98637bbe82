"""Checkpoints: safetensors weights + a weights-only training state, written atomically.

Layout of one checkpoint::

    checkpoints/step-000500/
        model.safetensors     the model's state dict
        training_state.pt     optimizer states, step, RNG states (tensors and plain values only)
        config.json           the resolved run config
        COMPLETE              written last: a folder without it never counts

The folder is assembled under a hidden temporary name, every file fsynced, the marker written,
and only then renamed into place, so a process killed at any moment leaves either the previous
set of checkpoints or the previous set plus one complete new one.
"""

from __future__ import annotations

import pickle
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.config import CONFIG_FILE
from genlab.errors import CheckpointError, UnsafeCheckpointError
from genlab.fileio import atomic_write, atomic_write_json, atomic_write_text, fsync_dir
from genlab.models.base import WEIGHTS_FILE, load_weights, read_json, save_weights
from genlab.train.rng import capture_rng, restore_rng, seed_everything

MARKER = "COMPLETE"
STATE_FILE = "training_state.pt"
_NAME = re.compile(r"^step-(\d+)$")


def checkpoints_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(run_dir: Path, step: int, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    run_config: dict[str, Any], loop_state: dict[str, Any] | None = None,
                    rng_states: list[dict[str, Any]] | None = None) -> Path:
    """Write the checkpoint of ``step`` and return its folder.

    ``loop_state`` is the trainer's own state (tensors and plain values: the loss sums of the
    open logging window, the count of skipped steps), so a resumed loop behaves like an
    uninterrupted one. ``rng_states`` holds one RNG state per rank (default:
    this process's).
    """
    parent = checkpoints_dir(run_dir)
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / f"step-{step:06d}"
    staging = parent / f".step-{step:06d}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()

    save_weights(model, staging / WEIGHTS_FILE)
    state = {
        "step": step,
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "rng": rng_states if rng_states is not None else [capture_rng(_device_of(model))],
        "loop": loop_state or {},
    }
    atomic_write(staging / STATE_FILE, lambda tmp: torch.save(state, tmp))
    atomic_write_json(staging / CONFIG_FILE, run_config)
    atomic_write_text(staging / MARKER, f"step {step}\nwritten {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")

    if final.is_file() or final.is_symlink():  # a stray file of a checkpoint's name, not a checkpoint
        final.unlink()
    if final.exists():  # a library caller saving a step again ('genlab train' first discards newer checkpoints);
        # a kill between the two renames leaves the step in hidden folders only: remove_partial puts it back
        stale = parent / f".step-{step:06d}.stale"
        shutil.rmtree(stale, ignore_errors=True)
        final.rename(stale)
        staging.rename(final)
        shutil.rmtree(stale)
    else:
        staging.rename(final)
    fsync_dir(parent)
    return final


def _device_of(model: torch.nn.Module) -> torch.device | None:
    """The device of ``model``'s first parameter (whose GPU stream a checkpoint keeps), None without any."""
    return next((parameter.device for parameter in model.parameters()), None)


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run as (step, folder), oldest first."""
    parent = checkpoints_dir(run_dir)
    if not parent.is_dir():
        return []
    # Never a link: pruning one would delete through it, in a folder (perhaps another run's) outside this run.
    found = [(checkpoint_step(child), child) for child in parent.iterdir() if not child.is_symlink()]
    return sorted((step, child) for step, child in found if step is not None and (child / MARKER).is_file())


def checkpoint_step(folder: Path) -> int | None:
    """The step a checkpoint folder (``step-000100``) was written at, or None for another name."""
    match = _NAME.match(Path(folder).name)
    return int(match.group(1)) if match else None


def saved_step(folder: Path) -> int | None:
    """The step a complete checkpoint holds, as its marker records it (so a renamed or copied folder
    still tells), else as its name does; None if neither says."""
    try:
        match = re.match(r"step (\d+)\n", (Path(folder) / MARKER).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        match = None
    return int(match.group(1)) if match else checkpoint_step(folder)


def checkpoint_marker(folder: Path) -> str | None:
    """A complete checkpoint's marker text (its step and when it was written), or None if unreadable."""
    try:
        return (Path(folder) / MARKER).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` complete checkpoints, and any leftover partial folders."""
    for _, folder in list_checkpoints(run_dir)[:-keep]:
        (folder / MARKER).unlink()  # first, so a kill mid-deletion leaves an incomplete folder, not a broken one
        shutil.rmtree(folder, ignore_errors=True)
    remove_partial(run_dir)


def discard_after(run_dir: Path, step: int) -> None:
    """Delete complete checkpoints newer than ``step``: resuming from an older one abandons them."""
    for later, folder in list_checkpoints(run_dir):
        if later > step:
            (folder / MARKER).unlink()
            shutil.rmtree(folder, ignore_errors=True)


def remove_partial(run_dir: Path) -> None:
    """Delete what a killed save or prune left: hidden folders and unmarked ``step-*`` ones. A step
    saved again and killed between its two renames (its old copy set aside as ``.stale``, the new
    one not yet in place) is put back instead: the new copy if it is complete, else the old one. A
    first save killed before its rename is not: the run goes on from the checkpoint before it."""
    parent = checkpoints_dir(run_dir)
    if parent.is_dir():
        for child in sorted(parent.glob(".step-*"), key=lambda child: child.suffix != ".partial"):
            name = child.name[1:].rsplit(".", 1)[0]  # .step-000500.partial → step-000500
            resaved = (parent / f".{name}.stale").is_dir()
            if resaved and (child / MARKER).is_file() and not (parent / name).exists():
                child.rename(parent / name)
                fsync_dir(parent)
            else:
                _remove(child)
        for child in parent.glob("step-*"):  # left by a kill while pruning (or a stray file of that name)
            if not (child / MARKER).is_file():
                _remove(child)


def _remove(path: Path) -> None:
    """Delete a folder with what it holds, or a file."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# The hidden temporary files of the atomic writes a killed training run may leave (relative globs);
# not those of 'genlab eval' and 'genlab report' (.eval.json.*, .report.html.*), which may be writing
# into a run that trains.
TRAINING_TEMPORARIES = (".config.json.*.tmp", ".metrics.jsonl.*.tmp", "samples/.*.tmp", "model/.*.tmp")


def remove_training_temporaries(run_dir: Path) -> None:
    """Drop what a killed run's interrupted atomic writes left in ``run_dir``; called as a run starts
    there, under its lock, before it writes anything."""
    for pattern in TRAINING_TEMPORARIES:
        for leftover in run_dir.glob(pattern):
            leftover.unlink(missing_ok=True)


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint folder from itself or from a run directory (its newest complete checkpoint)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"--resume {path} does not exist; pass a run directory, a checkpoint folder "
                              "or 'auto'.")
    if (path / MARKER).is_file():
        return path
    if _NAME.match(path.name):
        raise CheckpointError(f"Checkpoint {path} is incomplete (no {MARKER} marker: its write was "
                              "interrupted); resume from the run directory to use the newest complete one.")
    if path.name in ("checkpoints", "model") and latest_checkpoint(path.parent) is not None:
        path = path.parent  # RUN/checkpoints or RUN/model: the run is meant
    latest = latest_checkpoint(path)
    if latest is None:
        raise CheckpointError(f"{path} holds no complete checkpoint; start a new run without --resume.")
    return latest


def read_checkpoint_config(folder: Path) -> dict[str, Any]:
    return read_json(Path(folder) / CONFIG_FILE)


def load_checkpoint(folder: Path, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    rank: int = 0, world_size: int = 1, seed: int = 0, device: torch.device | None = None
                    ) -> tuple[int, dict[str, Any]]:
    """Restore weights, optimizer states and this rank's RNG from ``folder`` (its GPU stream onto the
    CUDA ``device`` training runs on); return (step, loop state).

    A checkpoint written by a different number of processes restores weights and optimizers
    exactly but cannot restore each rank's random stream: ranks are then reseeded from
    (``seed``, step, rank) and the run continues, no longer bit-exact.
    """
    folder = Path(folder)
    load_weights(model, folder / WEIGHTS_FILE)
    state = load_training_state(folder / STATE_FILE)
    try:
        if set(state["optimizers"]) != set(optimizers):
            raise KeyError("optimizers")
        for name, optimizer in optimizers.items():
            # The checkpoint brings the optimizer's state (moments, step counts); its hyperparameters
            # (betas, weight decay, ...) stay those of this run's config, which a resume may change
            # and config.json records: load_state_dict alone would put the saved ones back (it
            # refuses a different number of groups itself). No torch scheduler is used, whose
            # initial_lr this would also reset: genlab sets the learning rates before each step.
            configured = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
            optimizer.load_state_dict(state["optimizers"][name])
            for group, settings in zip(optimizer.param_groups, configured):
                group.update(settings)
                if group.get("fused"):  # saved unfused (genlab before 6 December 2026): torch left step on the CPU
                    for param in group["params"]:
                        state_of = optimizer.state.get(param, {})
                        if torch.is_tensor(state_of.get("step")):
                            state_of["step"] = state_of["step"].to(param.device, torch.float32)
            check_optimizer_state(name, optimizer, folder / STATE_FILE)
        step = state["step"]
        if type(step) is not int or step < 0:
            raise CheckpointError(f"{folder / STATE_FILE} holds the step {step!r}, not a count: the file was altered "
                                  "or damaged; use an earlier checkpoint.")
        named, marked = checkpoint_step(folder), saved_step(folder)  # a folder of another name may be a copy
        if marked != step:
            raise CheckpointError(f"{folder} holds the training state of step {step}, but its {MARKER} marker says "
                                  f"{marked}: the checkpoint was altered; delete it and resume an earlier one.")
        if named not in (None, step):
            raise CheckpointError(f"{folder} holds the training state of step {step}, but its name says {named}: it "
                                  f"was renamed; rename it step-{step:06d} or delete it, then resume again.")
        if len(state["rng"]) == world_size:
            try:
                restore_rng(state["rng"][rank], device)
            except (RuntimeError, IndexError) as e:  # torch's or numpy's refusal of a state of the wrong size or type
                raise ValueError(f"its random-number state cannot be restored: {e}") from e
        else:
            if rank == 0:  # one warning per run, not per process
                print(f"genlab: {folder.name} was written by {len(state['rng'])} process(es), this run has "
                      f"{world_size}: random streams are reseeded, so the run is not bit-exact from here.")
            seed_everything(int(np.random.SeedSequence([seed, step, rank]).generate_state(1)[0]))
        return step, checked_loop_state(state["loop"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{folder / STATE_FILE} does not match this model's training state ({e}); "
                              "resume it with the config it was saved with.") from e


def check_optimizer_state(name: str, optimizer: torch.optim.Optimizer, path: Path) -> None:
    """Refuse per-parameter state (Adam's moments) whose shape is not its parameter's: the first
    step would fail on it, or broadcast it silently. The weights loaded, so the file was altered."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            for key, value in optimizer.state.get(parameter, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != parameter.shape:
                    raise CheckpointError(f"{path}: its {name} optimizer's {key} has shape {tuple(value.shape)} for a "
                                          f"parameter of shape {tuple(parameter.shape)}: the file was altered or "
                                          "damaged; use an earlier checkpoint.")


def checked_loop_state(loop: Any) -> dict[str, Any]:
    """The trainer's loop state as saved (the open log window's sums and counts, skipped steps, the
    log interval, the kinds of warning printed), checked entry by entry: a state that unpickles but
    holds other types raises TypeError here rather than failing in the middle of the trainer."""
    if not isinstance(loop, dict):
        raise TypeError("its loop state is not a dict")
    sums, counts = loop.get("log_sums", {}), loop.get("log_counts", {})
    if not (isinstance(sums, dict) and all(isinstance(v, torch.Tensor) and v.numel() == 1 for v in sums.values())):
        raise TypeError("its log_sums are not scalar tensors")
    if not (isinstance(counts, dict) and all(isinstance(v, int) and v >= 0 for v in counts.values())):
        raise TypeError("its log_counts are not counts")
    for key in ("skipped", "log_every"):
        if key in loop and not (isinstance(loop[key], int) and loop[key] >= (key == "log_every")):
            raise TypeError(f"its {key} is not a count")
    if not (isinstance(loop.get("warned", []), list) and all(isinstance(w, str) for w in loop.get("warned", []))):
        raise TypeError("its printed warnings are not a list of text")
    return dict(loop)


def load_error_detail(error: Exception) -> str:
    """The telling line of a failed ``torch.load`` (its "Unsupported ..." one when it has one, not
    the generic note on weights_only first), or the error's type when it has no text (an empty file)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Unsupported")), lines[0] if lines else
                type(error).__name__)


def load_training_state(path: Path) -> dict[str, Any]:
    """``torch.load`` with ``weights_only=True`` only: a file that needs more is refused, never run."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist; the checkpoint is incomplete — use an earlier one.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch words every refusal with a note on weights_only. A global it will not import (a
        # function or class the file asks to run) makes the file unsafe; any other refusal (an
        # opcode it does not take: garbage, or a pickle of another protocol, whatever it holds)
        # leaves it unread, which the message says without guessing at its intent.
        if "unsupported global" in str(e).lower():
            raise UnsafeCheckpointError(f"{path} asks to run code when loaded (it is not a genlab training "
                                        "state); it was refused — delete it and use a checkpoint you trust.") from e
        raise CheckpointError(f"{path} is truncated or corrupt, or not a genlab training state "
                              f"({load_error_detail(e)}); it was not loaded — use an earlier checkpoint.") from e
    except Exception as e:  # any other failure of the reader on bytes it cannot parse (KeyError, IndexError, ...)
        raise CheckpointError(f"{path} is truncated or corrupt, or not a genlab training state "
                              f"({load_error_detail(e)}); it was not loaded — use an earlier checkpoint.") from e
    if not isinstance(state, dict) or "step" not in state:
        raise CheckpointError(f"{path} is not a genlab training state; use an earlier checkpoint.")
    return state
