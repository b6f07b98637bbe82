"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), mean and std over splits.

The standard protocol splits the samples into 10 parts and computes the score on each, with the
marginal p(y) of that part. The samples are shuffled first, as torch-fidelity does (numpy's
``RandomState(2020).permutation``, then parts ``[i·N // splits, (i+1)·N // splits)``): images read
class by class (a folder of class subfolders, a class-sorted .npz) would otherwise give each part
about one class, and a score near 1 however good the images.
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.errors import DataError
from genlab.metrics.checks import require_samples


SHUFFLE_SEED = 2020


def inception_score(probs: torch.Tensor, splits: int = 10) -> dict[str, float | int]:
    """IS of class probabilities ``probs`` (N, C) → ``{"value": mean, "std", "splits", "shuffle_seed"}``."""
    p = torch.as_tensor(probs).double()
    if p.dim() != 2 or (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype), atol=1e-4):
        raise DataError(f"Inception Score needs class probabilities of shape (N, C) whose rows sum to 1, got shape "
                        f"{tuple(p.shape)}; pass softmax outputs.")
    require_samples(len(p), splits, f"Inception Score with {splits} splits")
    p = p[torch.from_numpy(np.random.RandomState(SHUFFLE_SEED).permutation(len(p)))]
    scores = []
    for part in (p[i * len(p) // splits:(i + 1) * len(p) // splits] for i in range(splits)):
        marginal = part.mean(0, keepdim=True)  # (1, C)
        kl = torch.where(part > 0, part * (part.log() - marginal.log()), 0.0).sum(1)  # (n,)
        scores.append(kl.mean().exp())
    scores = torch.stack(scores)
    return {"value": float(scores.mean()), "std": float(scores.std(unbiased=False)), "splits": splits,
            "shuffle_seed": SHUFFLE_SEED}
