"""Configs: dataclasses, YAML/JSON files and dotted command-line overrides.

A run is described by one :class:`RunConfig` with four parts::

    family: gan                      # which model family
    model:  {name: dcgan, ...}       # the family's model config (architecture + objective)
    data:   {path: ..., ...}         # the family's data config
    train:  {steps: ..., ...}        # the trainer's config, the same for every family

Every part is a dataclass, so the constructor signature *is* the schema: unknown keys are
errors that list the valid ones, and values are checked against the annotated types.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Literal

import yaml

from genlab import __version__
from genlab.errors import ConfigError
from genlab.fileio import blocking_file

# The file that holds the config of a run directory and of each of its checkpoints (RunConfig.to_dict),
# and that of a model export (GenerativeModel.export_config).
CONFIG_FILE = "config.json"
WORKING_DIRECTORY = "working_directory"  # config.json's record of the folder a run trained in


class ConfigLoader(yaml.SafeLoader):
    """YAML's safe loader with YAML 1.2 floats: PyYAML follows YAML 1.1, where ``1e-4`` and
    ``1.0e4`` (no dot, or no exponent sign) are strings, which a learning rate in a config file
    would trip over. A key given twice in one mapping is an error (YAML 1.2 forbids it; PyYAML
    would keep the last silently, so an edit to the first copy would do nothing)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *anchor' may be overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, typing.Hashable):  # '? [a, b]' makes a list a key
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} on line {key_node.start_mark.line + 1} is not a name; "
                    "keys are plain words such as 'model'", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping, the second time on line "
                    f"{key_node.start_mark.line + 1}; keep one", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


# YAML 1.2's booleans (true / false), not YAML 1.1's yes / no / on / off, which would turn a column
# named 'No' into false; and no timestamps, which would turn --train.out 2024-01-01 into a date.
# genlab has no date options, and a flag takes true or false.
ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in ConfigLoader.yaml_implicit_resolvers.items()}
ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))


MAX_SEED = 2**63 - 1  # torch takes signed 64-bit seeds (each process's stream is derived from it: train/rng.py)


def check_seed(seed: int, option: str = "--seed") -> None:
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{option} must be an integer from 0 to 2**63 - 1 (got {seed}).")


MAX_PREVIEW = 1024  # samples in a progress grid
MAX_CLASSES = 100_000  # the most classes a conditional model takes: more in data are almost surely unnumbered ids


def check_adam_betas(betas: tuple[float, float], option: str = "--model.betas") -> None:
    """Adam's (β1, β2) must lie in [0, 1); say so in one sentence instead of Adam's own traceback."""
    if not all(0 <= beta < 1 for beta in betas):
        raise ConfigError(f"{option} must be two numbers in [0, 1), e.g. [0.9, 0.999] (got {list(betas)}).")


def check_classes(config: Any) -> None:
    """``num_classes`` of a model config with a ``conditional`` switch is in range; one set in an
    unconditional model is :func:`unconditional_classes`' to refuse."""
    if config.num_classes is not None and not 1 <= config.num_classes <= MAX_CLASSES:
        raise ConfigError(f"--model.num_classes must be between 1 and {MAX_CLASSES} (got {config.num_classes}).")
    names = getattr(config, "class_names", None)  # in an unconditional config: unconditional_classes' to refuse
    if names is not None and config.conditional and (len(set(names)) != len(names) or len(names) != config.num_classes):
        raise ConfigError(f"model.class_names must name each of the model.num_classes classes once (got {names} for "
                          f"num_classes {config.num_classes}); remove it from the config to take the data's.")


def unconditional_classes(config: Any) -> dict[str, str]:
    """``num_classes`` set in an unconditional model config, which nothing reads, as an entry of
    its ``inapplicable()``."""
    found = {}
    for name in ("num_classes", "class_names"):
        if getattr(config, name, None) is not None and not config.conditional:
            found[name] = (f"--model.{name} is for a class-conditional model; add --model.conditional true or drop "
                           "it.")
    return found


def check_learning_rates(config: Any, *names: str) -> None:
    """Each named option of ``config`` must be a learning rate in (0, 1): at 0 nothing trains, and
    a rate of 1 or more sends Adam's steps (about the rate itself per weight) far off at once."""
    for name in names:
        value = getattr(config, name)
        if not 0 < value < 1:
            raise ConfigError(f"--model.{name} must be a learning rate between 0 and 1 (got {value}).")


def check_non_negative(config: Any, *names: str) -> None:
    """Each named option of ``config`` must be a finite number ≥ 0 (NaN and infinity are refused too)."""
    for name in names:
        value = getattr(config, name)
        if not 0 <= value < math.inf:
            raise ConfigError(f"--model.{name} must be a non-negative number (got {value}).")


def is_set(config: Any, name: str) -> bool:
    """Whether the dataclass ``config`` holds a value of ``name`` other than its class's default:
    an option the user (or a preset) chose, which validation can refuse where nothing reads it.
    Both are compared as saved (JSON: a list given for a tuple default is the same value)."""
    return as_saved(getattr(config, name)) != as_saved(default_value(type(config), name))


def as_saved(value: Any) -> Any:
    """``value`` as a config.json holds it, as :func:`to_dict` writes it (tuples become lists)."""
    return json.loads(json.dumps(value))


# Inapplicable options. A config class may define ``inapplicable()``: the options set to a value
# that nothing reads under the rest of the config (a gradient penalty's λ without the loss that
# has one), each with the sentence refusing it. Its ``validate()`` refuses them: given for training,
# such an option is a mistake. A saved model may hold one all the same, written before genlab
# refused it and never read in training; :func:`from_stored` loads it with the option at its default.
# A config class may also define ``unread_options()``: those its model reads under no config at all
# (another model's options), which ``genlab list`` leaves out.

def inapplicable(config: Any) -> dict[str, str]:
    """The options of ``config`` set where nothing reads them, each with the sentence refusing it."""
    find = getattr(config, "inapplicable", None)
    return find() if find is not None else {}


def refuse_inapplicable(config: Any) -> None:
    """Raise the first of ``config``'s inapplicable options, for ``validate()``."""
    for message in inapplicable(config).values():
        raise ConfigError(message)


def unread_options(cls: type) -> tuple[str, ...]:
    """The options of config class ``cls`` that its model never reads, whatever the rest of the
    config (``genlab list`` leaves them out): its ``unread_options()``, if it defines one."""
    find = getattr(cls, "unread_options", None)
    return tuple(find()) if find is not None else ()


@dataclass
class TrainConfig:
    """How a run is driven; the same for every family."""

    steps: int = 2000  # optimisation steps of the whole run (a resumed run continues to this)
    batch_size: int = 64  # examples per step, all processes together
    seed: int = 0  # weights, data order and noise all follow from it
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    out: str | None = None  # run directory; default runs/<model name>
    log_every: int = 50  # steps between lines of metrics.jsonl and the progress bar's figures
    sample_every: int = 500  # steps between previews in RUN/samples
    checkpoint_every: int = 500  # steps between checkpoints (and one at the end)
    keep_checkpoints: int = 3  # the newest this many are kept
    # Samples in each progress preview; some models bound it: the transformer writes at most 4, the text
    # GANs and the recurrent GANs at most 16, and a GAN on 2-D points plots at least 2500.
    preview_count: int = 64
    # bf16 autocast: CUDA, or CPUs with bf16 units (AVX512-BF16/AMX; without them bf16 is emulated,
    # far slower). fp32 is the default everywhere: bf16 keeps 8 bits of mantissa, and on the CPU
    # it made some families slower (README: Speed).
    precision: Literal["fp32", "bf16"] = "fp32"
    # torch.compile (Inductor) of the networks that train. Off by default: on the 2-core CPU it made
    # only the transformer faster (1.12x, near the noise), the others 0.94-0.96x, and compiling took
    # 15-36 s (README: Speed).
    compile: bool = False
    check_finite: bool = True  # stop a step whose gradients hold NaN/inf before it is applied
    skip_nonfinite: int = 0  # how many such steps may be skipped before the run stops

    def validate(self) -> None:
        for name in ("steps", "batch_size", "log_every", "sample_every", "checkpoint_every",
                     "keep_checkpoints", "preview_count"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--train.{name} must be at least 1 (got {getattr(self, name)}).")
        if self.preview_count > MAX_PREVIEW:
            raise ConfigError(f"--train.preview_count must be at most {MAX_PREVIEW:,} (got {self.preview_count:,}); "
                              "a preview is a grid to look at — draw more samples with 'genlab sample'.")
        if self.skip_nonfinite < 0:
            raise ConfigError(f"--train.skip_nonfinite must be non-negative (got {self.skip_nonfinite}).")
        if self.skip_nonfinite and not self.check_finite:
            raise ConfigError("--train.skip_nonfinite counts the steps --train.check_finite stops, which is off; turn "
                              "it on or drop --train.skip_nonfinite.")
        check_seed(self.seed, "--train.seed")


@dataclass
class RunConfig:
    family: str
    model_name: str
    model: Any
    data: Any
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form saved as a run's ``config.json``; ``genlab.train.run.stored_run_config``
        reads it back."""
        return {
            "family": self.family,
            "model": {"name": self.model_name, **to_dict(self.model)},
            "data": to_dict(self.data),
            "train": to_dict(self.train),
            "versions": versions(),
            # Where training ran: a relative data path is read from there (genlab.data.provenance).
            WORKING_DIRECTORY: os.getcwd(),
        }


def versions() -> dict[str, str]:
    """The versions a saved config records: genlab's and torch's."""
    import torch  # not at the top: 'genlab --help' reads this module and must stay fast

    return {"genlab": __version__, "torch": torch.__version__}


MIN_EVAL_TEMPERATURE = 0.01  # textgan eval: NLL_gen of samples drawn at --temperature


@dataclass
class EvalOptions:
    """What ``genlab eval`` asks of a model; each family reads the options that apply to it. The
    defaults here are the command line's too (``genlab.cli`` reads them)."""

    data: str | None = None  # held-out data path; None: the family's embedded held-out data
    data_flag: str = "--data"  # the flag that gave ``data`` ('genlab eval' also takes --ref), for messages
    nll: bool = False  # estimate the negative log-likelihood (latent-variable models)
    k: int = 5000  # importance samples per example for the NLL estimate
    batch_size: int = 256
    max_examples: int | None = None
    seed: int = 0
    repeats: int = 10  # independent repetitions of each sequence score (mean ± std)
    discriminative_iterations: int = 2000  # training iterations of the post-hoc classifier (TimeGAN: 2,000)
    predictive_iterations: int = 5000  # training iterations of the post-hoc predictor (TimeGAN: 5,000)
    # also score with a post-hoc classifier of this many units (sequence models; not a TimeGAN score)
    classifier_hidden: int | None = None
    samples: int = 10000  # generated samples scored (text models: BLEU, self-BLEU, NLL_oracle)
    oracle: str | None = None  # the oracle LSTM's .npz: score generated token ids by NLL_oracle
    temperature: float = 1.0  # text models: sample at this temperature; NLL_gen of that distribution
    train_data: str | None = None  # text models: the training data, to count generated sequences that copy it
    plots: str | None = None  # a folder for figures of real vs generated data (sequence models)
    # The options the user gave ('genlab eval' records them); None: each one set to other than its
    # default counts as given. A family refuses a given option it would ignore.
    given: frozenset[str] | None = None

    def is_given(self, name: str) -> bool:
        """Whether option ``name`` was asked for (see ``given``)."""
        if self.given is not None:
            return name in self.given
        return getattr(self, name) != getattr(EvalOptions, name)

    def validate(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"--n must be at least 1 (got {self.samples}).")
        for name in ("k", "batch_size", "repeats", "discriminative_iterations", "predictive_iterations"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(self, name)}).")
        if not MIN_EVAL_TEMPERATURE <= self.temperature < float("inf"):
            # Below it, logits / temperature overflow float32 and NLL_gen is infinite, which JSON cannot hold.
            raise ConfigError(f"--temperature must be a finite number of at least {MIN_EVAL_TEMPERATURE} (got "
                              f"{self.temperature}); 1 samples the model's own distribution.")
        if self.classifier_hidden is not None and self.classifier_hidden < 1:
            raise ConfigError(f"--classifier-hidden must be at least 1 (got {self.classifier_hidden}).")
        if self.max_examples is not None and self.max_examples < 1:
            raise ConfigError(f"--max-examples must be at least 1 (got {self.max_examples}).")
        if self.plots is not None and Path(self.plots).exists() and not Path(self.plots).is_dir():
            raise ConfigError(f"--plots {self.plots} is a file; pass a folder for the figures.")
        if self.plots is not None and (blocked := blocking_file(self.plots)) is not None:
            raise ConfigError(f"--plots {self.plots} lies under {blocked}, which is a file, not a folder; pass a "
                              "folder path.")


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as plain JSON-ready values (tuples become lists)."""
    return as_saved(dataclasses.asdict(config))


def from_dict(cls: type, values: dict[str, Any], where: str, validate: bool = True) -> Any:
    """Build dataclass ``cls`` from ``values``, refusing unknown keys and wrong types.

    ``where`` names the section for error messages, e.g. ``"model"`` gives ``--model.foo``;
    ``validate`` False leaves the config's own ``validate()`` to the caller.
    """
    if not isinstance(values, dict):
        raise ConfigError(f"The '{where}' section must be a mapping of keys to values, "
                          f"not {type(values).__name__}.")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - set(fields), key=str)
    if unknown:
        settable = [name for name in fields if name not in getattr(cls, "FROM_DATA", {})]  # the rest is recorded
        close = difflib.get_close_matches(str(unknown[0]), settable, n=1)
        guess = f" (did you mean --{where}.{close[0]}?)" if close else ""
        raise ConfigError(f"Unknown option --{where}.{unknown[0]}{guess}; valid options of '{where}' are: "
                          f"{', '.join(sorted(settable))} ('genlab list FAMILY' says what each does).",
                          option=f"{where}.{unknown[0]}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        try:
            kwargs[name] = coerce(value, hints[name], f"--{where}.{name}")
        except ConfigError as e:
            e.option = e.option or f"{where}.{name}"  # a nested section's own error names its inner option
            raise
    config = cls(**kwargs)
    if validate and hasattr(config, "validate"):
        try:
            config.validate()
        except ConfigError as e:  # the option it names, for a caller to say which file set it
            e.option = e.option or next((f"{where}.{name}" for name in values
                                         if re.search(rf"--{re.escape(where)}\.{re.escape(str(name))}(?!\w)", str(e))),
                                        None)
            raise
    return config


def from_stored(cls: type, values: dict[str, Any], where: str,
                given: Collection[str] = ()) -> tuple[Any, dict[str, Any]]:
    """Build dataclass ``cls`` from a section of a config genlab saved (a model's or a run's
    ``config.json``, with any values given on top of it), and return it with the inapplicable
    options it held, by name, with their saved values.

    As :func:`from_dict`, except that those options are set to their defaults instead of refused:
    the saved run never read them. The options named in ``given`` (given again, by the user) are
    kept, so that validation refuses them. An option missing from ``values``, saved before it
    existed, takes the class's ``UNRECORDED`` value if it names one, else its default.
    """
    if isinstance(values, dict):
        values = {**getattr(cls, "UNRECORDED", {}), **values}
    config, dropped = drop_inapplicable(from_dict(cls, values, where, validate=False), keep=given)
    if hasattr(config, "validate"):
        config.validate()
    return config, dropped


def drop_inapplicable(config: Any, keep: Collection[str] = ()) -> tuple[Any, dict[str, Any]]:
    """``config`` with its inapplicable options (but those in ``keep``) at their defaults, and those
    options by name with the values they held. Resetting one can leave another without its use (a
    timegan saved with ``conditional`` leaves ``num_classes``), so this repeats until a round finds
    none to drop; one still flagged at its default is left to ``validate()`` to refuse."""
    dropped: dict[str, Any] = {}
    while found := [name for name in inapplicable(config) if name not in keep and name not in dropped]:
        dropped.update({name: getattr(config, name) for name in found})
        config = dataclasses.replace(config, **{name: default_value(type(config), name) for name in found})
    return config, dropped


def default_value(cls: type, name: str) -> Any:
    """The default of the dataclass field ``name`` of ``cls``."""
    field_ = cls.__dataclass_fields__[name]
    return field_.default_factory() if field_.default is dataclasses.MISSING else field_.default


class _Number:
    """A number read from a command-line token that keeps the token: an option typed as text (a
    path, a column name) then gets ``2024`` or ``010`` back verbatim, as the user typed it."""

    text: str


class _Int(int, _Number):
    pass


class _Float(float, _Number):
    pass


def as_text(value: Any) -> Any:
    """A command-line number as the token the user typed (``2024``, ``010``); anything else as it is."""
    return value.text if isinstance(value, _Number) else value


def coerce(value: Any, annotation: Any, option: str) -> Any:
    """Check ``value`` against a type annotation, converting where it is lossless."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(value, _Number) and origin not in (typing.Union, types.UnionType):  # a union tries each type
        if annotation is str or (origin in (tuple, list) and args and args[0] is str):
            value = value.text
        else:  # the plain number from here on
            value = int(value) if isinstance(value, int) else float(value)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, option)
            except ConfigError as e:
                errors.append(e)
        raise errors[0]
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{option} must be one of {', '.join(map(str, args))} (got {value!r}).")
        return value
    if origin in (tuple, list):
        if isinstance(value, str) and args and args[-1] is Ellipsis and args[0] is str:
            value = [v.strip() for v in value.split(",") if v.strip()]  # "color,cutout" → ["color", "cutout"]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{option} must be a list in brackets, e.g. [0.5, 0.999] (got {value!r}).")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{option} needs {len(args)} values (got {len(value)}).")
            return tuple(coerce(v, a, option) for v, a in zip(value, args))
        item = args[0] if args else Any
        return origin(coerce(v, item, option) for v in value)
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{option} must be true or false (got {value!r}).")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{option} must be an integer (got {value!r}).")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{option} must be a number (got {value!r}).")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{option} must be a string (got {value!r}).")
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value, option.lstrip("-"))
    raise ConfigError(f"{option} has an unsupported type {annotation!r}.")


def packaged_configs() -> dict[str, Path]:
    """The configs shipped with genlab, by name (``mnist-dcgan`` → .../configs/mnist-dcgan.yaml)."""
    folder = Path(__file__).parent / "configs"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON config file into a dict (YAML is a superset of JSON).

    A name without a file of that name, such as ``mnist-dcgan``, selects a packaged config.
    """
    path = Path(path)
    if not path.is_file() and str(path) in packaged_configs():
        path = packaged_configs()[str(path)]
    if path.is_dir():
        raise ConfigError(f"Config file {path} is a folder; pass the YAML or JSON file inside it (a run's is "
                          f"{path / CONFIG_FILE}).")
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist; check the --config path or use a packaged "
                          f"config ({', '.join(packaged_configs())}).")
    try:
        values = yaml.load(path.read_text(encoding="utf-8"), Loader=ConfigLoader)
    except yaml.MarkedYAMLError as e:  # what went wrong and where: 'found character '\t' ...', line and column
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark and "line" not in str(e.problem) else ""
        raise ConfigError(f"Config file {path} is not valid YAML or JSON ({e.problem or e.context}{where}); "
                          "fix the syntax.") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"Config file {path} is not valid YAML or JSON ({str(e).splitlines()[0]}); "
                          "fix the syntax.") from e
    except RecursionError:
        raise ConfigError(f"Config file {path} is nested too deeply to read; a genlab config has sections such as "
                          "'model', 'data' and 'train' of plain options.") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"Config file {path} must hold a mapping with sections such as "
                          "'model', 'data' and 'train'.")
    return values


OPTION_SECTIONS = ("model", "data", "train")


def parse_overrides(args: list[str]) -> dict[str, dict[str, Any]]:
    """Parse ``--section.key value`` (or ``--section.key=value``) pairs into nested dicts.

    Values are read as YAML scalars, so ``128`` is an int, ``2e-4`` a float, ``true`` a bool and
    ``[0.5, 0.999]`` a list.
    """
    overrides: dict[str, dict[str, Any]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg.split("=", 1)[0]:
            raise ConfigError(f"Unrecognised argument {arg!r}; options look like --train.steps 100 "
                              "or --model.latent_dim 128.")
        if "=" in arg:
            key, raw = arg[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise ConfigError(f"Option {arg} needs a value: {arg} VALUE, where VALUE is a number, true or false, "
                                  f"a name or a list such as [0.5, 0.9] ('genlab list FAMILY' shows each option's "
                                  f"default; a value that starts with '--' is given as {arg}=VALUE).")
            key, raw = arg[2:], args[i + 1]
            i += 2
        section, name = key.split(".", 1)
        if section not in OPTION_SECTIONS:
            raise ConfigError(f"--{key} is not an option: options are --model.KEY, --data.KEY or --train.KEY (the "
                              "family is the first argument, e.g. 'genlab train gan').")
        if name in overrides.get(section, {}):
            raise ConfigError(f"Option --{key} is given twice; pass it once.")
        overrides.setdefault(section, {})[name] = parse_value(raw)
    return overrides


def parse_value(raw: str) -> Any:
    # Plain numbers first: YAML 1.1 would read 010 as octal 8 and nan or inf as strings.
    for number in (_Int, _Float):
        try:
            value = number(raw)
        except ValueError:
            continue
        value.text = raw
        return value
    try:
        value = yaml.load(raw, Loader=ConfigLoader)
    except yaml.YAMLError:
        return raw
    # ' #' starts a YAML comment, which would cut 'runs/run #2' short: such a token is text as typed.
    quoted = raw.strip()[:1] in ("'", '"')  # the user's own YAML quoting, which already keeps a '#'
    return raw if (value is None or isinstance(value, str)) and re.search(r"(^|\s)#", raw) and not quoted else value


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base``."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
