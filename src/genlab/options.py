"""Every option of a family's configs, with its default and the comment beside it in the source.

``genlab list FAMILY [--model NAME]`` prints them, so the options a user can set with
``--SECTION.KEY VALUE`` (or in a ``--config`` file) are discoverable without reading the code;
a model's listing leaves out the options it never reads (another model's). The help text of a
field is the comment on its line, or else the block of comment lines right above it, taken from
the first class in the config's MRO that declares the field with one.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import json
import re
import textwrap
import tokenize
import types
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from genlab.config import TrainConfig, to_dict, unread_options
from genlab.errors import ConfigError


HEADER = re.compile(r"-{2,}.*-{2,}")  # a comment that heads a group of fields, not one field's help


@dataclasses.dataclass(frozen=True)
class Option:
    name: str  # --section.key
    default: str  # as it would be written in a config file (JSON)
    choices: tuple[str, ...]  # the values a Literal-typed option takes; () for any other type
    help: str  # the source's comment, "" when it has none


@cache
def field_comments(cls: type) -> dict[str, str]:
    """{field name: comment} for the fields declared in ``cls``'s own body (not its bases)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (a frozen or zipped install): options without help
        return {}
    lines = source.splitlines()
    comments = {token.start[0]: token.string.lstrip("#").strip()
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT}
    body = ast.parse(source).body[0]
    found = {}
    for node in getattr(body, "body", []):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if node.lineno in comments:  # the comment on the field's own line
            found[node.target.id] = comments[node.lineno]
            continue
        block, line = [], node.lineno - 1  # else the comment lines right above it, up to a "# --- x ---" header
        while line in comments and lines[line - 1].lstrip().startswith("#") and not HEADER.fullmatch(comments[line]):
            block.insert(0, comments[line])
            line -= 1
        if block:
            found[node.target.id] = " ".join(block)
    return found


def options(cls: type, section: str) -> list[Option]:
    """The options of dataclass ``cls`` as ``--section.key``, with the defaults of ``cls()``; not
    those its model never reads (another model's, :func:`genlab.config.unread_options`)."""
    values = to_dict(cls())
    hints = get_type_hints(cls)
    unread = set(unread_options(cls)) | set(getattr(cls, "FROM_DATA", {}))  # the latter are recorded, not set
    result = []
    for field in dataclasses.fields(cls):
        if field.name in unread:
            continue
        help_text = next((comments[field.name] for base in cls.__mro__ if dataclasses.is_dataclass(base)
                          and field.name in (comments := field_comments(base))), "")
        default = values[field.name]
        shown = default if isinstance(default, str) else json.dumps(default, ensure_ascii=False)
        result.append(Option(f"--{section}.{field.name}", shown, literal_choices(hints[field.name]), help_text))
    return result


def literal_choices(hint: Any) -> tuple[str, ...]:
    """The values of a ``Literal[...]`` type (or an optional one), as text; () for any other type."""
    if get_origin(hint) in (Union, types.UnionType):
        return tuple(choice for arg in get_args(hint) for choice in literal_choices(arg))
    return tuple(str(value) for value in get_args(hint)) if get_origin(hint) is Literal else ()


def family_options(family: str, model: str | None = None) -> tuple[str, list[Option]]:
    """(the model's name, its options: model, then data, then train) for ``genlab list FAMILY``."""
    from genlab.models.registry import get_model_class, get_family

    fam = get_family(family)
    name = model or fam.default_model
    if name not in fam.models:  # asked as 'genlab list FAMILY --model NAME', not as --model.name
        raise ConfigError(f"--model {name} is not a {family} model; choose one of: {', '.join(fam.models)}.")
    model_class = get_model_class(family, name)
    choice = Option("--model.name", name, tuple(fam.models),
                    f"the model; each sets its own defaults of the options below (genlab list {family} --model NAME)")
    return name, ([choice] + options(model_class.config_class, "model") + options(fam.data_config, "data")
                  + options(TrainConfig, "train"))


def format_options(family: str, model: str, found: list[Option], width: int = 100) -> str:
    lines = [f"options of {family}/{model} (genlab train {family} --model.name {model} --SECTION.KEY VALUE, "
             f"or the same keys in a --config file), each with its default:"]
    for option in found:
        choices = f"  ({' | '.join(option.choices)})" if option.choices else ""
        lines.append(f"  {option.name} {option.default}{choices}")
        if option.help:
            lines.append(textwrap.fill(option.help, width=width, initial_indent=" " * 6,
                                       subsequent_indent=" " * 6, break_on_hyphens=False))
    return "\n".join(lines)
