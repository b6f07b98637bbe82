"""Registry of model families and their models: ``list_families()``, ``get_family(name)``.

Each family package defines a module-level ``FAMILY`` (a :class:`Family`) and is listed in
``FAMILY_MODULES``; importing is lazy so ``genlab list`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.errors import CheckpointError, ConfigError

FAMILY_MODULES = {
    "gan": "genlab.models.gan",
    "rgan": "genlab.models.rgan",
    "textgan": "genlab.models.textgan",
    "transformer": "genlab.models.transformer",
    "vae": "genlab.models.vae",
}


@dataclass(frozen=True)
class Family:
    """A model family: its models, its data config and how to build training data."""

    name: str
    description: str
    models: dict[str, type]  # model name -> GenerativeModel subclass
    default_model: str
    data_config: type
    # (data config, model config) -> (training dataset, model config with data-derived fields filled)
    build_data: Callable[[Any, Any], tuple[Any, Any]]


def list_families() -> list[str]:
    return list(FAMILY_MODULES)


def get_family(name: str | None) -> Family:
    if name is None:
        raise ConfigError("Name a model family, e.g. 'genlab train gan' (see 'genlab list'), or pass --config FILE "
                          "with a 'family:' line (to resume, --resume auto also needs --out RUN).")
    if not isinstance(name, str):
        raise ConfigError(f"The family must be a name such as 'gan' (got {name!r}); choose one of: "
                          f"{', '.join(FAMILY_MODULES)}.")
    if name not in FAMILY_MODULES:
        owner = next((f for f in FAMILY_MODULES if name in importlib.import_module(FAMILY_MODULES[f]).FAMILY.models),
                     None)
        hint = f" ('{name}' is a model of the {owner} family: genlab train {owner} --model.name {name})" if owner else ""
        raise ConfigError(f"Unknown model family {name!r}; choose one of: {', '.join(FAMILY_MODULES)}{hint}.")
    return importlib.import_module(FAMILY_MODULES[name]).FAMILY


def get_model_class(family: str | None, name: str | None, source: Path | None = None) -> type:
    """The model class registered as ``family/name``; ``source`` names the file that asked."""
    try:
        fam = get_family(family)
    except ConfigError:
        if source is None:
            raise
        raise CheckpointError(f"{source} names an unknown model family {family!r}; it was not written "
                              f"by this genlab (families: {', '.join(FAMILY_MODULES)}).") from None
    if not isinstance(name, str) or name not in fam.models:
        where = f"{source} names" if source else "--model.name is"
        error = CheckpointError if source else ConfigError
        raise error(f"{where} an unknown {family} model {name!r}; choose one of: {', '.join(fam.models)}.")
    return fam.models[name]
