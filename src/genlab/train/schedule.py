"""Pure functions of the step: which examples make up each batch, and the learning rate.

Each epoch is a fresh permutation drawn from its own generator seeded by (seed, epoch), and the
last incomplete batch of an epoch is dropped. Because nothing depends on history, a resumed run
needs only the step number to continue the data order exactly. Under data parallelism the global
batch is split into equal contiguous slices, one per rank, so the union over ranks is the same
batch a single process would see.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from genlab.errors import ConfigError


class BatchSchedule:
    def __init__(self, num_examples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if num_examples < batch_size:
            raise ConfigError(f"The data holds {num_examples} examples, fewer than --train.batch_size "
                              f"{batch_size}; lower the batch size or add data.")
        if batch_size % world_size:
            raise ConfigError(f"--train.batch_size {batch_size} must be divisible by the number of "
                              f"processes ({world_size}).")
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.steps_per_epoch = num_examples // batch_size
        self._epoch = -1
        self._permutation = torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        """Indices (batch_size // world_size,) of this rank's share of step ``step``'s batch."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            # torch's CPU generator keeps only 32 bits of a seed: mix (seed, epoch) into 32 well-spread bits.
            mixed = int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0])
            generator = torch.Generator().manual_seed(mixed)
            self._permutation = torch.randperm(self.num_examples, generator=generator)
            self._epoch = epoch
        batch = self._permutation[position * self.batch_size:(position + 1) * self.batch_size]
        share = self.batch_size // self.world_size
        return batch[self.rank * share:(self.rank + 1) * share]


def warmup_cosine(step: int, lr: float, min_lr: float, warmup_steps: int, decay_steps: int) -> float:
    """The learning rate at ``step``: linear warmup to ``lr`` over ``warmup_steps``, then cosine decay
    min_lr + ½(1 + cos(π·progress))·(lr - min_lr) until ``decay_steps``, ``min_lr`` after; with
    ``decay_steps`` 0, ``lr`` throughout (after any warmup)."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if not decay_steps:
        return lr
    if step >= decay_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, decay_steps - warmup_steps)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group of ``optimizer`` at ``lr``: what each family's ``on_train_step`` does
    with its schedule's value for the step."""
    for group in optimizer.param_groups:
        group["lr"] = lr
