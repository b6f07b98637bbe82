"""Multi-process training with PyTorch's own engine: torchrun + DistributedDataParallel.

Under ``torchrun`` the environment carries RANK / WORLD_SIZE / LOCAL_RANK; without it the run is
a single process of rank 0. Only rank 0 writes files and logs. A family names the submodules
that take part in training (``GenerativeModel.ddp_modules``); each is wrapped in its own
DistributedDataParallel, so a GAN's two players synchronise their gradients independently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genlab.errors import ConfigError


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


def wrap(model: nn.Module, names: tuple[str, ...], device: torch.device) -> None:
    """Replace each named submodule of ``model`` by a DistributedDataParallel around it."""
    if not names:
        raise ConfigError(f"The {model.name} model does not support multi-process training yet; run it as "
                          "one process.")
    ids = [device.index] if device.type == "cuda" else None
    for name in names:
        setattr(model, name, DistributedDataParallel(getattr(model, name), device_ids=ids))


def unwrap(model: nn.Module, names: tuple[str, ...]) -> None:
    """Undo :func:`wrap` for good (end of training)."""
    for name in names:
        setattr(model, name, plain(getattr(model, name)))


def plain(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper, or the module itself."""
    return module.module if isinstance(module, DistributedDataParallel) else module


@contextmanager
def unwrapped(model: nn.Module, names: tuple[str, ...]) -> Iterator[nn.Module]:
    """Temporarily put the plain submodules back (for saving, previews: rank-0 work without collectives)."""
    wrappers = {name: getattr(model, name) for name in names}
    unwrap(model, names)
    try:
        yield model
    finally:
        for name, wrapper in wrappers.items():
            setattr(model, name, wrapper)


def mean_across_ranks(values: torch.Tensor, process: ProcessContext) -> torch.Tensor:
    if process.distributed:
        values = values.clone()
        dist.all_reduce(values)
        values /= process.world_size
    return values


def gather_to_main(obj, process: ProcessContext) -> list:
    """Every rank's ``obj`` as a list on rank 0 (``[obj]`` in a single process; None on other ranks)."""
    if not process.distributed:
        return [obj]
    gathered = [None] * process.world_size if process.is_main else None
    dist.gather_object(obj, gathered, dst=0)
    return gathered
