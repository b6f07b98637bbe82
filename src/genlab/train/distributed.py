"""Process-group facts the trainer needs: which rank this is and whether it does the IO.

Under ``torchrun`` the environment carries RANK / WORLD_SIZE / LOCAL_RANK; without it the run is
a single process of rank 0. Only rank 0 writes files and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> ProcessContext:
        return cls(
            rank=int(os.environ.get("RANK", 0)),
            world_size=int(os.environ.get("WORLD_SIZE", 1)),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        )
