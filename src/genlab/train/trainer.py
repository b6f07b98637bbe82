"""The one training loop every family shares.

The trainer owns the loop, the device, seeding, the data order, logging, progress grids and
checkpoints; the model owns its networks, optimizers and how one step is taken
(:class:`genlab.models.base.GenerativeModel`). Losses come back as device tensors and are summed
on the device; the host reads them once per ``log_every`` steps. The finite-gradient guard
(``check_finite``, on by default) adds one sync per optimizer step.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from genlab.config import CONFIG_FILE, RunConfig, TrainConfig
from genlab.errors import CheckpointError, ConfigError, GenlabError, SampleError, out_of_memory_as
from genlab.fileio import atomic_write_json, atomic_write_text
from genlab.models.base import GenerativeModel
from genlab.train.checkpoint import (checkpoint_marker, discard_after, latest_checkpoint, list_checkpoints,
                                     load_checkpoint, prune_checkpoints, save_checkpoint)
from genlab.train.device import cpu_has_bf16_units, resolve_device
from genlab.train.distributed import (ProcessContext, average_gradients_before_steps, compile_modules,
                                      end_process_group, gather_to_all, gather_to_main, init_process_group,
                                      main_work, mean_across_ranks, networks_to_compile, unwrap, unwrapped, wrap)
from genlab.train.guards import NonFiniteGradients, all_finite, install_finite_guards
from genlab.train.lock import hold_run_lock, release_run_lock
from genlab.train.rng import capture_rng, seed_everything, training_seed
from genlab.train.rundir import CURVES, EVAL_FILE, METRICS_FILE, REPORT_FILE, preview_files, read_metric_records
from genlab.train.schedule import BatchSchedule


def warning_kind(warning: str) -> str:
    """What a training warning is about, without its numbers: ``"generated samples barely differ
    from each other "`` of ``"... (spread 0.01 vs 0.3): mode collapse; ..."``."""
    return re.split(r"[\d(]", warning, maxsplit=1)[0]


@dataclass
class _LoopState:
    """What the training loop carries from step to step; a checkpoint saves the open window's part."""

    step: int  # the steps taken
    sums: dict[str, torch.Tensor]  # each logged value summed over the open log window, on the device
    # Steps that logged each value in the open window: a value absent from some steps (a phase
    # switch, a skipped step) is averaged over the steps that produced it.
    counts: dict[str, int]
    skipped: int  # steps skipped for non-finite gradients, over the whole run
    last: dict[str, float] = field(default_factory=dict)  # the values of the latest log line
    window_start: float = field(default_factory=time.perf_counter)  # when the open window's timing began
    timed_steps: int = 0  # steps taken since then

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        """Count a step taken, and its ``losses`` (device tensors) into the open window."""
        self.step += 1
        self.timed_steps += 1
        for name, value in losses.items():
            value = value.detach().float()  # summed in fp32, also when bf16 autocast computed it
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.counts[name] = self.counts.get(name, 0) + 1


class Trainer:
    def __init__(self, config: TrainConfig, run_dir: Path, process: ProcessContext | None = None,
                 progress: bool | None = None) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.process = process or ProcessContext.from_env()
        self.progress = progress
        self.device = resolve_device(config.device)
        if config.precision == "bf16" and self.device.type == "cpu" and not cpu_has_bf16_units():
            raise ConfigError("--train.precision bf16 needs a CUDA device or a CPU with bf16 units (AVX512-BF16 "
                              "or AMX); this CPU has neither and would emulate bf16 far slower than fp32: use "
                              "--train.precision fp32.")
        if config.precision == "bf16" and self.device.type == "cuda" and \
                torch.cuda.get_device_capability(self.device)[0] < 8:
            raise ConfigError(f"--train.precision bf16 needs a GPU with bf16 units (compute capability 8.0 or later: "
                              f"Ampere, Hopper); {torch.cuda.get_device_name(self.device)} would emulate it: use "
                              "--train.precision fp32.")
        if self.device.type == "cuda" and self.process.distributed:
            self.device = torch.device("cuda", self.process.local_rank)
            torch.cuda.set_device(self.device)
        # Set by fit() (and its resume) for the run it trains:
        self._model: GenerativeModel | None = None
        self._previous: dict[str, float] = {}  # each curve's last logged value, which the spike check compares with
        self._warned: set[str] = set()  # the kinds of lasting condition already printed (warning_kind)
        self._checkpoint_log_every = config.log_every  # the log interval the resumed checkpoint was written under
        self._writer = None
        self._tensorboard_from = None  # the first step whose earlier TensorBoard events are dropped
        self._export_stale = False  # a resumed run's export and eval.json, dropped at its first new checkpoint

    def fit(self, model: GenerativeModel, dataset: Any, run_config: RunConfig,
            resume_from: Path | None = None) -> dict[str, float]:
        """Train ``model`` on ``dataset`` until ``config.steps``; return the last logged values."""
        cfg = self.config
        # The randomness of training (noise, dropout, augmentation) differs between ranks and does not
        # replay the stream that drew the initial weights (seeded by the caller before the model was built).
        seed_everything(training_seed(cfg.seed, self.process.rank))
        self._model, self._previous, self._warned = model, {}, set()
        created_group = init_process_group(self.process, self.device)
        model.to(self.device).train()
        optimizers = model.configure_optimizers()
        schedule = BatchSchedule(len(dataset), cfg.batch_size, cfg.seed, self.process.rank, self.process.world_size)
        saved_config = run_config.to_dict()
        loop = self._resume(model, optimizers, resume_from)
        start = loop.step
        compiled, eager = networks_to_compile(model, self.device) if cfg.compile else ((), ())
        if eager and not self._quiet():
            tqdm.write("genlab: --train.compile: left eager on CUDA (transposed convolutions, "
                       f"pytorch/pytorch#171622): {', '.join(eager)}; compiled: {', '.join(compiled)}")
        bar = tqdm(total=cfg.steps, initial=start, disable=self._quiet(), desc=f"train {model.name}",
                   dynamic_ncols=True)
        try:
            with self._training_form(model, optimizers, compiled) as wrapped:
                # A skipped step's forward pass has already moved buffers (BatchNorm statistics), perhaps
                # to NaN; with skipping allowed, the ones it left non-finite are put back as they were.
                buffers = [b for b in model.buffers() if b.is_floating_point()] if cfg.skip_nonfinite else []
                while loop.step < cfg.steps:
                    batch = dataset.get_batch(schedule.indices(loop.step), self.device)
                    model.on_train_step(loop.step, optimizers)
                    losses = self._take_step(model, batch, optimizers, buffers, loop, bar)
                    if loop.step == start:  # the first step has run: only now does the run directory change
                        with main_work(self.process, "preparing the run folder"):
                            self._open_run(start, resume_from is not None, saved_config)
                    loop.add(losses)
                    bar.update(1)
                    self._after_step(model, optimizers, wrapped, saved_config, loop, bar)
                if loop.step == start:  # resumed at its last step: nothing to train, and its last log line stays
                    with main_work(self.process, "preparing the run folder"):
                        self._open_run(start, resume_from is not None, saved_config, trains=False)
                with main_work(self.process, "exporting the model"):
                    if self.process.is_main:
                        with unwrapped(model, wrapped):
                            model.save_pretrained(self.run_dir / "model")
        finally:
            bar.close()
            if self._writer:
                self._writer.close()
                self._writer = None
            release_run_lock(self.run_dir)
        if created_group:
            end_process_group()
        return loop.last

    def _resume(self, model: GenerativeModel, optimizers: dict[str, torch.optim.Optimizer],
                resume_from: Path | None) -> _LoopState:
        """The loop's state at the start: step 0, or the step of checkpoint ``resume_from``, whose
        weights, optimizer and RNG states this loads, with its open log window. Every rank must
        start from the same step (a collective: every rank takes part, and all refuse together)."""
        cfg, process = self.config, self.process
        step, saved = 0, {}
        # Each rank reads the checkpoint it finds (its own copy, on several machines): one that fails
        # stops the others too, instead of leaving them in the gather below.
        with main_work(process, "loading its checkpoint to resume from"):
            if resume_from is not None:
                step, saved = load_checkpoint(resume_from, model, optimizers, process.rank, process.world_size,
                                              cfg.seed, self.device)
                if step > cfg.steps:  # nothing written yet: the run directory stays as it was
                    raise ConfigError(f"--train.steps {cfg.steps} is below the step of checkpoint {resume_from} "
                                      f"({step}); pass --train.steps {step} or more, or resume an earlier "
                                      "checkpoint.")
        # The step, and the checkpoint's marker (its step and when it was written): copies of one checkpoint agree.
        marker = checkpoint_marker(resume_from) if resume_from is not None else None
        found = gather_to_all((step, marker), process)
        starts = [start for start, _ in found]
        if len(set(starts)) > 1:  # only rank 0 writes checkpoints: the others' --train.out lacks them
            raise CheckpointError(f"The processes would start from different steps ({', '.join(map(str, starts))} "
                                  "by rank): each reads its checkpoint from its own --train.out, and only rank 0 "
                                  "writes there; put the run folder on a disk every machine shares, or copy rank "
                                  "0's to every machine, and resume again.")
        if len({marker for _, marker in found}) > 1:  # DDP would broadcast rank 0's weights, not its Adam moments
            raise CheckpointError(f"The processes found different checkpoints of step {step} (written at different "
                                  "times, by their COMPLETE markers): each machine's --train.out holds its own run; "
                                  "copy rank 0's run folder to every machine, or share one, and resume again.")
        # The log_every the checkpoint was written under says whether its step closed a log window
        # (a resumed run may log at another interval).
        self._checkpoint_log_every = saved.get("log_every", cfg.log_every)
        self._warned = set(saved.get("warned", ()))  # conditions already printed are not printed again
        return _LoopState(step, {k: v.to(self.device) for k, v in saved.get("log_sums", {}).items()},
                          dict(saved.get("log_counts", {})), saved.get("skipped", 0))

    @contextmanager
    def _training_form(self, model: GenerativeModel, optimizers: dict[str, torch.optim.Optimizer],
                       compiled: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        """``model`` as it trains: the ``compiled`` networks compiled, the DDP ones wrapped (under
        torchrun) and hooks on the optimizers and parameters; yields the names of the networks that
        hold a wrapper. The caller's model is changed until then, so it is put back as it was on
        the way out, also when training stops with an error: a library caller gets its plain model back."""
        distributed = model.ddp_modules if self.process.distributed else ()
        wrapped = tuple(dict.fromkeys(compiled + distributed))
        handles: list = []
        try:
            compile_modules(model, compiled)
            if distributed:
                wrap(model, distributed, self.device)
            # Registered before the finite-gradient guards, so that every rank checks the same averaged
            # gradients and skips (or stops at) a poisoned step together instead of leaving the others
            # waiting in an all-reduce.
            if self.process.distributed and not distributed and model.averages_gradients:
                handles += average_gradients_before_steps(model, optimizers)
            if self.config.check_finite:
                handles += install_finite_guards(optimizers)
            yield wrapped
        finally:
            unwrap(model, wrapped)
            for handle in handles:
                handle.remove()

    def _take_step(self, model: GenerativeModel, batch: Any, optimizers: dict[str, torch.optim.Optimizer],
                   buffers: list[torch.Tensor], loop: _LoopState, bar: tqdm) -> dict[str, torch.Tensor]:
        """Step ``loop.step + 1``'s losses; {} for a step whose gradients were not finite, which is
        skipped from the update they would have made on (its non-finite ``buffers`` put back) up to
        ``--train.skip_nonfinite`` times in the run, and stops the run after that."""
        cfg, step = self.config, loop.step
        before = [b.clone() for b in buffers]
        try:
            with torch.autocast(self.device.type, torch.bfloat16, enabled=cfg.precision == "bf16"), \
                    out_of_memory_as(f"Step {step + 1} does not fit in memory at --train.batch_size "
                                     f"{cfg.batch_size}; lower it (checkpoints written so far are intact)."):
                return model.training_step(batch, optimizers)
        except NonFiniteGradients as e:
            loop.skipped += 1
            if loop.skipped > cfg.skip_nonfinite:
                raise self._nonfinite_error(step + 1, e.optimizer_name) from None
            # An update made earlier in the step (a GAN's discriminator's, before its generator's) stands.
            if self.process.is_main:  # every rank skips it: they check the same averaged gradients
                bar.write(f"genlab: step {step + 1}: non-finite {e.optimizer_name} gradients, that update and the "
                          f"rest of the step skipped ({loop.skipped} of at most {cfg.skip_nonfinite})")
            with torch.no_grad():
                for buffer, old in zip(buffers, before):
                    if not torch.isfinite(buffer).all():
                        buffer.copy_(old)
            return {}

    def _after_step(self, model: GenerativeModel, optimizers: dict[str, torch.optim.Optimizer],
                    wrapped: tuple[str, ...], saved_config: dict[str, Any], loop: _LoopState, bar: tqdm) -> None:
        """What is due once step ``loop.step`` has run, each at its interval and all at the last
        step: a log line, a checkpoint and a preview (rank 0)."""
        cfg, step = self.config, loop.step
        logs = step % cfg.log_every == 0 or step == cfg.steps
        previews = step % cfg.sample_every == 0 or step == cfg.steps
        checkpoints = step % cfg.checkpoint_every == 0 or step == cfg.steps
        if logs:
            self._log_window(loop, bar)
        if checkpoints:
            # A checkpoint must never hold NaNs (with check_finite off they can arise). Checked on every rank,
            # which agree on the answer in one collective (weights agree, BatchNorm statistics may not), so
            # all stop together instead of leaving the others waiting in a collective.
            if not all(gather_to_all(all_finite(model), self.process)):
                raise GenlabError(f"Step {step}: the weights are not finite; no checkpoint was written.")
            # A collective: every rank takes part.
            rng_states = gather_to_main(capture_rng(self.device), self.process)
            # The open window's sums as the mean over ranks (a collective too): every rank resumes
            # with them, so the next log's average over ranks is the uninterrupted run's.
            open_sums = self._rank_mean(loop.sums)
            with main_work(self.process, f"writing the checkpoint of step {step}"):
                if self.process.is_main:
                    with unwrapped(model, wrapped):
                        loop_state = {"log_sums": open_sums, "log_counts": loop.counts, "skipped": loop.skipped,
                                      "log_every": cfg.log_every, "warned": sorted(self._warned)}
                        self._checkpoint(step, model, optimizers, saved_config, loop_state, rng_states)
        # After the checkpoint: what it holds is then the training's alone (a GAN's preview recomputes its
        # EMA generator's normalisations), and a preview that fails cannot cost the step's checkpoint.
        if previews:
            with main_work(self.process, f"writing the preview of step {step}"):
                if self.process.is_main:
                    self._preview(step, model, wrapped)
        if logs or previews or checkpoints:  # throughput counts training steps only, not previews and checkpoints
            loop.window_start, loop.timed_steps = time.perf_counter(), 0

    def _preview(self, step: int, model: GenerativeModel, wrapped: tuple[str, ...]) -> None:
        count = self.config.preview_count
        with unwrapped(model, wrapped), out_of_memory_as(
                f"The preview of --train.preview_count {count} samples does not fit in memory; lower it."):
            try:
                model.write_preview(self.run_dir / "samples" / f"step-{step:06d}", count, self.config.seed)
            except SampleError as e:  # the loss curves tell more; the run goes on as configured
                tqdm.write(f"genlab: step {step}: warning: no preview written: {e}")

    def _log_window(self, loop: _LoopState, bar: tqdm) -> None:
        """Log the window that step ``loop.step`` ends (or, at the run's last step, the part of it
        run so far) and start the next."""
        log_every, step = self.config.log_every, loop.step
        # Windows are aligned to multiples of log_every, so the mean over a window is the same
        # whether or not the run was stopped and resumed inside it. The last step is logged too,
        # but its window stays open: a resumed run completes it.
        window = step - (step - 1) // log_every * log_every
        loop.last = self._log(step, loop.sums, loop.counts, window, loop.window_start, loop.timed_steps)
        bar.set_postfix({k: f"{v:.3g}" for k, v in loop.last.items() if k.startswith(CURVES)})
        if step % log_every == 0:
            loop.sums, loop.counts = {}, {}

    def _open_run(self, start: int, resumed: bool, saved_config: dict[str, Any], trains: bool = True) -> None:
        """Make the run directory this run's: drop what a resume from step ``start`` abandons (newer
        checkpoints, previews and log lines; the model export and its evaluation, at once if they
        describe abandoned weights, else at the first new checkpoint) and write the config. Called
        once the first step has run, so a run that fails before it (a bad option, a batch that
        does not fit) leaves the directory as it was."""
        if not self.process.is_main:
            return
        # Locked before anything is touched: a second run started into the same new directory is
        # refused here, before it could truncate the first one's log.
        self.run_dir.mkdir(parents=True, exist_ok=True)
        hold_run_lock(self.run_dir)
        # TensorBoard drops its events from the first step metrics.jsonl drops (below): after the
        # checkpoint, or at it when that step's open window is logged anew; all of a restarted run's.
        keeps_window = not trains or start % self._checkpoint_log_every == 0
        self._tensorboard_from = start + 1 if resumed and keeps_window else max(start, 1)
        # What the abandoned steps after ``start`` left behind (all of it when a run that died before
        # its first checkpoint starts afresh).
        for step, preview in preview_files(self.run_dir, extras=True):
            if step > start:
                preview.unlink()
        if resumed:
            newer = [folder.name for step, folder in list_checkpoints(self.run_dir) if step > start]
            abandoned = bool(newer)
            if newer:  # documented, but deleting is worth a line
                tqdm.write(f"genlab: resuming from step {start} abandons the newer checkpoint"
                           f"{'s' if len(newer) > 1 else ''} {', '.join(newer)}: deleted.")
            discard_after(self.run_dir, start)
            if abandoned:  # the export and its evaluation are of weights that are gone
                self._drop_export(evaluation=True)
            elif trains:  # still the newest checkpoint's weights: dropped when a newer checkpoint is written
                self._export_stale = True
            else:  # nothing to train: exported again at the end, and its evaluation still holds
                self._drop_export(evaluation=False)
        self._previous = self._truncate_metrics(start, keep_open_window=not trains)
        atomic_write_json(self.run_dir / CONFIG_FILE, saved_config)

    def _drop_export(self, evaluation: bool) -> None:
        """Remove the run's model export (written again at the end) and, with ``evaluation``, its eval.json
        and the report showing it."""
        shutil.rmtree(self.run_dir / "model", ignore_errors=True)
        if evaluation:
            (self.run_dir / EVAL_FILE).unlink(missing_ok=True)
            (self.run_dir / REPORT_FILE).unlink(missing_ok=True)

    def _checkpoint(self, step: int, model: GenerativeModel, optimizers: dict[str, torch.optim.Optimizer],
                    saved_config: dict[str, Any], loop_state: dict[str, Any], rng_states: list[dict[str, Any]]
                    ) -> None:
        if self._export_stale:  # a resumed run leaves the weights its export and evaluation describe
            self._drop_export(evaluation=True)
            self._export_stale = False
        save_checkpoint(self.run_dir, step, model, optimizers, saved_config, loop_state, rng_states)
        prune_checkpoints(self.run_dir, self.config.keep_checkpoints)

    def _nonfinite_error(self, step: int, optimizer_name: str) -> GenlabError:
        latest = latest_checkpoint(self.run_dir)
        kept = f"the newest checkpoint ({latest.name}) is intact; " if latest else "no checkpoint was written; "
        return GenlabError(f"Step {step}: the {optimizer_name} gradients are not finite (NaN or infinity), so the "
                           f"step was not applied; {kept}lower the learning rate, or pass "
                           "--train.skip_nonfinite K to skip up to K such steps.")

    def _quiet(self) -> bool | None:
        if not self.process.is_main or self.progress is False:
            return True
        return None if self.progress is None else False  # None: tqdm hides itself when not a terminal

    def _rank_mean(self, sums: dict[str, torch.Tensor], divisors: dict[str, float] | None = None
                   ) -> dict[str, torch.Tensor]:
        """Each of ``sums`` (divided by its divisor) as float32, averaged over the ranks in one
        all-reduce (a collective: every rank calls it with the same names); on the CPU."""
        names = sorted(sums)
        stacked = torch.zeros(0, device=self.device)
        if names:
            stacked = torch.stack([sums[n].detach().float() for n in names]).to(self.device)
            if divisors is not None:
                stacked = stacked / torch.tensor([divisors[n] for n in names], device=self.device)
        return dict(zip(names, mean_across_ranks(stacked, self.process.world_size).cpu()))

    def _log(self, step: int, sums: dict[str, torch.Tensor], counts: dict[str, int], window: int,
             window_start: float, timed_steps: int) -> dict[str, float]:
        """Append the window means of ``sums`` (each over the ``counts`` steps that produced it; a
        checkpoint written before counts were kept: over the ``window``) to metrics.jsonl, with the
        throughput of the ``timed_steps`` run since ``window_start``."""
        divisors = {n: float(counts.get(n, window)) for n in sums}
        values = {n: value.item() for n, value in self._rank_mean(sums, divisors).items()}
        # Read after .item(), which waits for the device: on CUDA the steps' kernels have then run.
        elapsed = time.perf_counter() - window_start
        throughput = self.config.batch_size * timed_steps / elapsed if elapsed > 0 else math.nan
        conditions, events = self._health(values)
        warnings = conditions + events
        record = {"step": step, **values, "examples_per_s": throughput, "time": time.time()}
        if warnings:
            record["warnings"] = warnings
        with main_work(self.process, f"logging step {step}"):
            if self.process.is_main:
                # A condition (collapse, saturation) is printed when it starts, not again while it lasts; an
                # event (a spike) every time. metrics.jsonl records every window's warnings.
                for warning in conditions:
                    if warning_kind(warning) not in self._warned:
                        tqdm.write(f"genlab: step {step}: warning: {warning}")
                for warning in events:
                    tqdm.write(f"genlab: step {step}: warning: {warning}")
                self._warned = {warning_kind(warning) for warning in conditions}
                with open(self.run_dir / METRICS_FILE, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
                self._tensorboard(step, values)
        return values

    def _health(self, values: dict[str, float]) -> tuple[list[str], list[str]]:
        """(the model's own warnings, conditions that may last; any loss or penalty that jumped
        tenfold since the last window, events)."""
        spikes = []
        for name, value in values.items():
            previous = self._previous.get(name)
            if name.startswith(CURVES) and previous is not None and abs(value) > 10 * max(abs(previous), 0.1):
                spikes.append(f"{name} spiked from {previous:.3g} to {value:.3g}")
        self._previous = {**self._previous, **values}  # a value not logged in every window (lazy R1) keeps its last
        return self._model.monitor(values), spikes

    def _tensorboard(self, step: int, values: dict[str, float]) -> None:
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                self._writer = False
                return
            self._writer = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=self._tensorboard_from)
        if self._writer:
            for name, value in values.items():
                self._writer.add_scalar(name, value, step)

    def _truncate_metrics(self, step: int, keep_open_window: bool = False) -> dict[str, float]:
        """Drop log lines of steps the resumed run will log again.

        Those are the lines after the checkpoint (a killed run's tail) and the line of an open
        window at the checkpoint's own step (a run that ended there), unless ``keep_open_window``
        (the run ends at that step again, so nothing would log it anew); damaged lines go too
        (:func:`read_metric_records`). Returns each loss's and penalty's last value over the lines
        kept, also of a curve the last line lacks (lazy R1 logs its penalty in some windows only).
        """
        path = self.run_dir / METRICS_FILE
        if not path.is_file():
            return {}
        keep_checkpoint_line = keep_open_window or step % self._checkpoint_log_every == 0
        kept = [record for record in read_metric_records(path)
                if record["step"] < step or (record["step"] == step and keep_checkpoint_line)]
        atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))
        # Each curve's last kept value is what the spike check compares its next one with.
        return {name: value for record in kept for name, value in record.items() if name.startswith(CURVES)}
