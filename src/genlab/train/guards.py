"""Stop a step whose gradients are not finite before its optimizer applies them.

Each optimizer gets a step pre-hook that checks the norms of its gradients (one host sync per
optimizer step); a NaN or infinity raises :class:`NonFiniteGradients` before that optimizer
moves any of its parameters, so weights — and therefore checkpoints — are never poisoned. An
optimizer that already stepped earlier in the same training step (a GAN's discriminator before
its generator) keeps its finite update. The trainer turns that into a clear error naming the
step, or skips the rest of the step when the user allowed it; the buffers that step's forward
pass left non-finite (BatchNorm statistics) are then put back as they were before it.
"""

from __future__ import annotations

import torch


class NonFiniteGradients(Exception):
    def __init__(self, optimizer_name: str) -> None:
        super().__init__(optimizer_name)
        self.optimizer_name = optimizer_name


def install_finite_guards(optimizers: dict[str, torch.optim.Optimizer]) -> list:
    """Add the check to every optimizer; returns the hook handles (``handle.remove()`` undoes it)."""
    return [optimizer.register_step_pre_hook(_guard(name)) for name, optimizer in optimizers.items()]


def _guard(name: str):
    def check(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads and not torch.isfinite(torch.stack(torch._foreach_norm(grads))).all():
            optimizer.zero_grad(set_to_none=True)
            raise NonFiniteGradients(name)

    return check


def all_finite(module: torch.nn.Module) -> bool:
    """Whether every parameter and floating-point buffer (e.g. BatchNorm statistics) is finite."""
    tensors = [*module.parameters(), *(b for b in module.buffers() if b.is_floating_point())]
    return all(torch.isfinite(t).all() for t in tensors)
