"""Multi-process training with PyTorch's own engine: torchrun + DistributedDataParallel.

Under ``torchrun`` the environment carries RANK / WORLD_SIZE / LOCAL_RANK; without it the run is
a single process of rank 0. Only rank 0 writes files and logs. A family names the submodules
that take part in training (``GenerativeModel.ddp_modules``); each is wrapped in its own
DistributedDataParallel, so a GAN's two players synchronise their gradients independently.
``--train.compile``'s networks are compiled here too (:func:`networks_to_compile`), since the
same wrapping and unwrapping handles both wrappers.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genlab.errors import ConfigError, GenlabError

if TYPE_CHECKING:
    from genlab.models.base import GenerativeModel


@dataclass(frozen=True)
class ProcessContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls) -> ProcessContext:
        return cls(
            rank=int(os.environ.get("RANK", 0)),
            world_size=int(os.environ.get("WORLD_SIZE", 1)),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        )


def init_process_group(process: ProcessContext, device: torch.device) -> bool:
    """Join the process group torchrun set up (gloo on CPU, NCCL on CUDA); True if this call made it."""
    if not process.distributed or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def end_process_group() -> None:
    """Tear down the group :func:`init_process_group` made, once every rank has got here."""
    # A rank's last send (its RNG state, gathered for the final checkpoint) may still be in flight;
    # tearing gloo down under it aborts the process ("terminate called..."), seen once in CI. A
    # barrier lets every rank's pending work finish first. The unwrapped DistributedDataParallel
    # modules (their reducers hold the group and gloo's finished work, tensors included) sit in
    # reference cycles: collected here, while the interpreter is whole, rather than at its exit,
    # where freeing them from gloo's threads is the likely cause of the same abort, seen at exit in
    # about one two-process run in 20 here (none in the 36 runs since this collection).
    gc.collect()
    dist.barrier()
    dist.destroy_process_group()
    gc.collect()


def wrap(model: nn.Module, names: tuple[str, ...], device: torch.device) -> None:
    """Replace each named submodule of ``model`` by a DistributedDataParallel around it."""
    ids = [device.index] if device.type == "cuda" else None
    for name in names:
        setattr(model, name, DistributedDataParallel(getattr(model, name), device_ids=ids))


def compile_modules(model: nn.Module, names: tuple[str, ...]) -> None:
    """Replace each named submodule of ``model`` by ``torch.compile`` of it (before :func:`wrap`,
    so that DistributedDataParallel wraps the compiled module and :func:`plain` keeps it compiled)."""
    for name in names:
        setattr(model, name, torch.compile(getattr(model, name)))


# On CUDA, Inductor's compiled backward of a transposed convolution fails a stride check at the
# first step: the strides it predicts for the gradient disagree with those cuDNN returns
# (pytorch/pytorch#171622, open; seen with torch 2.11 on an H200, with --model.channels_last true
# and false, benchmarks/results/gan_step_profile_h200.json). CPU graphs are not affected.
UNCOMPILABLE_ON_CUDA = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def split_compilable(model: nn.Module, names: tuple[str, ...], device: torch.device
                     ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(networks to compile, networks left eager) of ``names`` on ``device``: on CUDA, a network
    holding a transposed convolution stays eager (see ``UNCOMPILABLE_ON_CUDA``)."""
    if device.type != "cuda":
        return names, ()
    eager = tuple(n for n in names if any(isinstance(m, UNCOMPILABLE_ON_CUDA) for m in getattr(model, n).modules()))
    return tuple(n for n in names if n not in eager), eager


def networks_to_compile(model: GenerativeModel, device: torch.device) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(networks --train.compile compiles, networks it leaves eager) of ``model`` on ``device``; a
    ConfigError when there is nothing to compile."""
    targets = model.compile_targets
    if not targets:
        raise ConfigError(f"--train.compile: the {model.name} model has no networks that can be compiled: "
                          f"{model.nothing_to_compile}.")
    compiled, eager = split_compilable(model, targets, device)
    if not compiled:
        raise ConfigError(f"--train.compile: every network of the {model.name} model that could be compiled "
                          f"({', '.join(eager)}) holds transposed convolutions, which torch.compile cannot yet "
                          "train on CUDA (pytorch/pytorch#171622); leave it off.")
    return compiled, eager


def unwrap(model: nn.Module, names: tuple[str, ...]) -> None:
    """Undo :func:`wrap` and :func:`compile_modules` for good (end of training)."""
    for name in names:
        setattr(model, name, bare(getattr(model, name)))


def plain(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper, or the module itself (still compiled
    if it was: models call it to run a network without synchronising its gradients)."""
    return module.module if isinstance(module, DistributedDataParallel) else module


def bare(module: nn.Module) -> nn.Module:
    """The module itself, without DistributedDataParallel or ``torch.compile`` around it."""
    module = plain(module)
    if "_orig_mod" not in module._modules:  # not compiled (checked without importing Dynamo: 1 s)
        return module
    from torch._dynamo.eval_frame import OptimizedModule

    return module._orig_mod if isinstance(module, OptimizedModule) else module


@contextmanager
def unwrapped(model: nn.Module, names: tuple[str, ...]) -> Iterator[nn.Module]:
    """Temporarily put the bare submodules back (for saving and previews: rank-0 work without
    collectives, in eager mode, with the parameter names of the model itself)."""
    wrappers = {name: getattr(model, name) for name in names}
    unwrap(model, names)
    try:
        yield model
    finally:
        for name, wrapper in wrappers.items():
            setattr(model, name, wrapper)


def batch_option(local: int) -> str:
    """``--train.batch_size`` as a message names it, for a batch of ``local`` examples in this
    process: under torchrun each process takes batch_size / processes of it."""
    world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    return f"--train.batch_size {local}" if world == 1 else (
        f"--train.batch_size {local * world} ({local} in each of {world} processes)")


def mean_across_ranks(values: torch.Tensor, world_size: int) -> torch.Tensor:
    """``values`` averaged over the ``world_size`` processes of the group (a collective: every rank
    calls it); ``values`` themselves in a single process."""
    if world_size > 1:
        values = values.clone()
        dist.all_reduce(values)
        values /= world_size
    return values


def global_mean(value: torch.Tensor) -> torch.Tensor:
    """``value`` averaged over the processes of the running group (itself in a single process): for
    decisions inside a training step that every rank must take the same way."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    return mean_across_ranks(value.detach(), dist.get_world_size())


def average_gradients_before_steps(model: nn.Module, optimizers: dict[str, torch.optim.Optimizer]) -> list:
    """Synchronise ``model`` without DistributedDataParallel: rank 0's weights and buffers are broadcast
    once, and each optimizer step first replaces its gradients by their mean over the processes.

    For models whose updates do not fit DDP's contract (every forward of a wrapped module is followed
    by one backward reaching all its parameters): TimeGAN freezes and reuses networks across five
    optimizers. The same arithmetic as DDP (the mean of the per-rank gradients), one all-reduce per
    optimizer step instead of buckets overlapped with the backward. Returns the hook handles.
    """
    for tensor in (*model.parameters(), *model.buffers()):
        dist.broadcast(tensor.data, src=0)
    return [optimizer.register_step_pre_hook(_average_gradients) for optimizer in optimizers.values()]


def _average_gradients(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
    # Every rank runs the same updates, so the same parameters hold gradients everywhere.
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = mean_across_ranks(torch.cat([g.reshape(-1) for g in grads]), dist.get_world_size())
    torch._foreach_copy_(grads, [part.view_as(g) for part, g in zip(flat.split([g.numel() for g in grads]), grads)])


@contextmanager
def main_work(process: ProcessContext, what: str) -> Iterator[None]:
    """Wrap work that only rank 0 does (writing the log, a preview, a checkpoint, the model export),
    or that each rank does on its own (reading its checkpoint); ``what`` names it for a message:
    afterwards every rank learns, in one collective, whether it succeeded everywhere. When a rank
    fails, the others stop with a sentence pointing at its error instead of waiting in the next
    collective until torchrun or the process group's timeout ends them. Every rank must enter it at
    the same points."""
    error = None
    try:
        yield
    except Exception as e:  # any error: re-raised below, once the other ranks have been told
        error = e
    if process.distributed:
        succeeded = gather_to_all(error is None, process)
        if error is None and not all(succeeded):
            failed = succeeded.index(False)
            raise GenlabError(f"Rank {failed} failed while {what} (its error is printed above or in its log); "
                              f"rank {process.rank} stops with it.")
    if error is not None:
        raise error


def gather_to_all(obj, process: ProcessContext) -> list:
    """Every rank's ``obj`` as a list on every rank (``[obj]`` in a single process)."""
    if not process.distributed:
        return [obj]
    gathered = [None] * process.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def gather_to_main(obj, process: ProcessContext) -> list:
    """Every rank's ``obj`` as a list on rank 0 (``[obj]`` in a single process; None on other ranks)."""
    if not process.distributed:
        return [obj]
    gathered = [None] * process.world_size if process.is_main else None
    dist.gather_object(obj, gathered, dst=0)
    return gathered
