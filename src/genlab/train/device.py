"""Which device training and the commands run on, and what it can do."""

from __future__ import annotations

import torch

from genlab.errors import ConfigError


def resolve_device(name: str, option: str = "--train.device") -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``; ``option`` names it in errors."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"{option} {name!r} is not a device; use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{option} {name} asks for CUDA, which this machine lacks; use cpu.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"{option} {name} asks for a GPU this machine lacks (it has {torch.cuda.device_count()}); "
                          f"use cuda:0 to cuda:{torch.cuda.device_count() - 1}.")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"{option} {name!r} is not supported; use auto, cpu, cuda or cuda:N.")
    return device


def cpu_has_bf16_units() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); without them bf16 is emulated."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
