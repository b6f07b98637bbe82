"""The Sobolev norm in which WGAN-GP can hold a sequence critic 1-Lipschitz (``--model.sobolev``).

The plain penalty holds the critic's input gradient at Euclidean norm 1, so moving a sequence by
δ changes its score by at most ‖δ‖. That distance is nearly blind to shape: a sequence that should
come back down by 0.1 over its last steps, and levels off instead, is a small δ beside a level
that is off by a little everywhere. ``--model.sobolev s`` measures a change δ of a sequence
(T steps × F features) instead by a discrete H¹ norm over its valid steps,

    ‖δ‖²_H = Σ_f Σ_t δ_tf² + s² Σ_f Σ_(t≥1) (δ_tf − δ_(t−1)f)²,

in which a change of shape costs more than it did: a change spread over about k steps about
√(1 + (sπ/k)²) times more (up to √(1 + 4s²) for one that alternates from step to step), and a
shift of the whole level nothing more. (s is a weight measured in steps, not the order of a
Sobolev space.) A critic is 1-Lipschitz in that norm when its gradient g has dual norm at most 1,

    ‖g‖²_* = Σ_f g_fᵀ (I + s² K)⁻¹ g_f,  K the Laplacian of the path through the valid steps,

which is the norm the penalty then holds at 1 (Adler & Lunz 2018, "Banach Wasserstein GAN", with
an H¹ norm on time). ``s = 0`` is the Euclidean norm. Since ‖g‖_* ≤ ‖g‖, the critic's Euclidean
slope may reach about 2s, so its logged penalty and loss are not on a Euclidean run's scale. With
``whiten`` the norm is taken in the whitened coordinates the players work in.
"""

from __future__ import annotations

import torch


def h1_matrix(steps: int, weight: float, dtype: torch.dtype = torch.float32,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """I + s² K (steps × steps): ‖δ‖²_H = Σ_f δ_fᵀ (I + s² K) δ_f for a sequence of ``steps`` steps,
    K = DᵀD with D the (steps − 1) × steps first-difference matrix (the path's Laplacian)."""
    identity = torch.eye(steps, dtype=dtype, device=device)
    difference = torch.diff(identity, dim=0)  # row t: e_(t+1) − e_t; no rows for one step
    return identity + weight ** 2 * difference.T @ difference


def sobolev_dual_norms(grad: torch.Tensor, weight: float, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """The dual H¹ norm ‖g‖_* of each sequence's gradient (B, T, F) → (B,), over its first ``lengths``
    steps (all T without): the norm WGAN-GP holds at 1 under ``--model.sobolev weight``. Computed in
    float32 at least; differentiable, so a penalty on it trains the critic."""
    wide = grad if grad.dtype in (torch.float32, torch.float64) else grad.float()
    steps = grad.shape[1]
    if lengths is None:
        lengths = torch.full((grad.shape[0],), steps, device=grad.device)
    squares = []
    order = []
    for length in torch.unique(lengths).tolist():
        rows = (lengths == length).nonzero().squeeze(1)
        g = wide[rows, :length]  # (n, L, F): padded steps are not in the norm
        solved = torch.linalg.solve(h1_matrix(length, weight, g.dtype, g.device), g)
        squares.append((g * solved).sum(dim=(1, 2)))
        order.append(rows)
    square = torch.cat(squares)[torch.argsort(torch.cat(order))]
    # At a zero gradient the square root's derivative is infinite; the clamp makes it 0 there, as
    # the Euclidean norm's is.
    return square.clamp_min(1e-30).sqrt()
