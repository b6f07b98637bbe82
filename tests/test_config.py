import json
import re
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import pytest

from genlab.config import (TrainConfig, drop_inapplicable, from_dict, from_stored, is_set, load_config_file,
                           parse_overrides)
from genlab.errors import ConfigError
from genlab.train.run import build_run_config


@dataclass
class Example:
    width: int = 4
    rate: float = 0.1
    kind: Literal["a", "b"] = "a"
    betas: tuple[float, float] = (0.5, 0.9)
    path: str | None = None
    flag: bool = False


def test_from_dict_converts_and_checks_types():
    config = from_dict(Example, {"width": 8, "rate": 1, "betas": [0.1, 0.2], "flag": True}, "model")
    assert config == Example(width=8, rate=1.0, betas=(0.1, 0.2), flag=True)
    assert isinstance(config.rate, float)


@pytest.mark.parametrize("values, fragment", [
    ({"widht": 8}, "Unknown option --model.widht (did you mean --model.width?); valid options of 'model' are: "
                   "betas, flag, kind, path, rate, width ('genlab list FAMILY' says what each does)"),
    ({1: 2, "widht": 8}, "Unknown option --model.1;"),  # a YAML file's number key beside text ones
    ({"width": "big"}, "--model.width must be an integer"),
    ({"width": 2.5}, "--model.width must be an integer"),
    ({"kind": "c"}, "--model.kind must be one of a, b"),
    ({"betas": [0.1]}, "--model.betas needs 2 values"),
    ({"flag": "yes"}, "--model.flag must be true or false"),
])
def test_from_dict_rejects_bad_values(values, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        from_dict(Example, values, "model")


def test_parse_overrides_reads_yaml_scalars():
    overrides = parse_overrides(["--model.latent_dim", "128", "--train.lr=2e-4", "--data.hflip", "true",
                                 "--model.betas", "[0.0, 0.99]", "--data.path", "x.npz"])
    assert overrides == {"model": {"latent_dim": 128, "betas": [0.0, 0.99]}, "train": {"lr": 2e-4},
                         "data": {"hflip": True, "path": "x.npz"}}


@pytest.mark.parametrize("args, fragment", [
    (["steps"], "Unrecognised argument 'steps'"),
    (["--steps"], "Unrecognised argument '--steps'"),
    (["--train.steps"], "needs a value: --train.steps VALUE, where VALUE is a number, true or false"),
    (["--train.out", "--model.latent_dim", "8"], "Option --train.out needs a value"),  # not '--model.latent_dim'
    (["--model.latent_dim", "8", "--model.latent_dim=16"], "Option --model.latent_dim is given twice"),
    (["--family.x", "1"], "--family.x is not an option: options are --model.KEY, --data.KEY or --train.KEY"),
    (["--versions.torch", "9"], "--versions.torch is not an option"),
])
def test_parse_overrides_rejects_malformed(args, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_overrides(args)


def test_option_values_keep_what_yaml_1_1_would_turn_into_other_things():
    overrides = parse_overrides(["--train.out", "runs/run #2", "--data.time_column", "No", "--data.path", "2024-01-01",
                                 "--model.conditional", "yes"])
    assert overrides == {"train": {"out": "runs/run #2"}, "data": {"time_column": "No", "path": "2024-01-01"},
                         "model": {"conditional": "yes"}}  # a string: refused where a flag needs true or false
    with pytest.raises(ConfigError, match="--model.conditional must be true or false"):
        build_run_config("gan", overrides={"model": {"conditional": "yes"}})


def test_train_config_validation_names_the_option():
    with pytest.raises(ConfigError, match="--train.batch_size must be at least 1"):
        from_dict(TrainConfig, {"batch_size": 0}, "train")
    with pytest.raises(ConfigError, match="--train.skip_nonfinite counts the steps --train.check_finite stops, which "
                                          "is off"):  # it would be read by nothing
        from_dict(TrainConfig, {"check_finite": False, "skip_nonfinite": 2}, "train")


def test_run_config_round_trips_through_its_json_form():
    config = build_run_config("gan", overrides={"model": {"latent_dim": 7}, "train": {"steps": 3}})
    rebuilt = build_run_config(None, config.to_dict())
    assert rebuilt == config
    assert config.to_dict()["model"]["name"] == "dcgan"


def test_run_config_refuses_unknown_family_and_section():
    with pytest.raises(ConfigError, match="Unknown model family 'gam'"):
        build_run_config("gam")
    with pytest.raises(ConfigError, match="Unknown config section 'trian'"):
        build_run_config("gan", {"trian": {}})


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"is a folder; pass the YAML or JSON file inside it \(a run's is "):
        load_config_file(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML or JSON"):
        load_config_file(bad)
    bad.write_text("model:\n\tname: dcgan\n")
    with pytest.raises(ConfigError, match=r"found character '\\t' that cannot start any token at line 2, column 1"):
        load_config_file(bad)
    for section in ("model: dcgan\n", "train: [1, 2]\n"):  # merged with options, the value would vanish
        bad.write_text(section)
        with pytest.raises(ConfigError, match=f"The config's '{section.split(':')[0]}' section must be a mapping"):
            build_run_config("gan", load_config_file(bad), {"model": {"latent_dim": 8}, "train": {"steps": 1}})
    good = tmp_path / "good.yaml"
    good.write_text("family: gan\ntrain:\n  steps: 5\n")
    assert build_run_config(None, load_config_file(good)).train.steps == 5


def test_every_packaged_config_resolves():
    from genlab.config import packaged_configs

    names = packaged_configs()
    assert {"mnist-dcgan", "mnist-conditional", "cifar10-sngan", "cifar10-sagan", "toy-ring", "toy-grid"} <= set(names)
    for name in names:
        config = build_run_config(None, load_config_file(name))
        assert config.family and config.train.steps > 0


def test_string_lists_and_model_names_given_as_families():
    config = build_run_config("gan", overrides={"model": {"diffaugment": "color, cutout"}})
    assert config.model.diffaugment == ("color", "cutout")
    with pytest.raises(ConfigError, match="genlab train gan --model.name sngan"):
        build_run_config("sngan")


def test_config_files_read_scientific_notation_as_numbers(tmp_path):
    # YAML 1.1 (PyYAML's default) reads 1e-4 and 1.0e4 as strings; a learning rate must not.
    path = tmp_path / "run.yaml"
    path.write_text("family: gan\nmodel:\n  lr_generator: 1e-4\n  lr_discriminator: 4.0e4\n"
                    "  betas: [0.0, 9E-1]\ntrain:\n  steps: 1e3\n", encoding="utf-8")
    values = load_config_file(path)
    assert values["model"] == {"lr_generator": 1e-4, "lr_discriminator": 4e4, "betas": [0.0, 0.9]}
    assert values["train"]["steps"] == 1000.0
    assert parse_overrides(["--model.betas", "[1e-1, 2]"]) == {"model": {"betas": [0.1, 2]}}
    assert parse_overrides(["--data.path", "e5", "--train.device", "cuda:0"]) == {
        "data": {"path": "e5"}, "train": {"device": "cuda:0"}}
    assert parse_overrides(["--train.seed", "010"]) == {"train": {"seed": 10}}  # decimal, not YAML 1.1's octal


def test_text_options_take_number_like_values_verbatim():
    # A run directory or file called 2024, or a CSV column named 010, cannot be quoted past the shell.
    overrides = parse_overrides(["--train.out", "010", "--data.path", "2024", "--train.steps", "12",
                                 "--model.lr_generator", "1e-3"])
    config = build_run_config("gan", overrides=overrides)
    assert (config.train.out, config.data.path) == ("010", "2024")
    assert type(config.train.steps) is int and type(config.model.lr_generator) is float
    assert config.to_dict()["train"]["steps"] == 12

    @dataclass
    class Columns:
        names: tuple[str, ...] = ()

    assert from_dict(Columns, parse_overrides(["--data.names", "1e3"])["data"], "data").names == ("1e3",)


def test_a_key_given_twice_in_a_config_file_is_refused(tmp_path):
    # PyYAML keeps the last copy silently, so an edit to the first one would do nothing.
    path = tmp_path / "run.yaml"
    path.write_text("model:\n  lr: 1e-4\n  width: 8\n  lr: 2e-4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'lr' appears twice in one mapping, the second time on line 4"):
        load_config_file(path)
    # The same key in two sections, and a merged anchor overridden on purpose, are fine.
    path.write_text("base: &b\n  lr: 1e-4\n  steps: 3\nmodel:\n  <<: *b\n  lr: 2e-4\ntrain:\n  steps: 5\n",
                    encoding="utf-8")
    values = load_config_file(path)
    assert values["model"] == {"lr": 2e-4, "steps": 3} and values["train"] == {"steps": 5}


@dataclass
class Guarded:
    """``extra`` applies only with ``switch``; ``items`` has a factory default."""

    switch: bool = False
    extra: int = 0
    items: list[int] = field(default_factory=lambda: [1, 2])
    calls: ClassVar[list[int]] = []

    def inapplicable(self) -> dict[str, str]:
        self.calls.append(1)
        if len(self.calls) > 10:  # a loop that never ends fails here instead of hanging
            raise RuntimeError("inapplicable() called again and again")
        found = {"extra": "--model.extra needs --model.switch."} if is_set(self, "extra") and not self.switch else {}
        return found | {"items": "--model.items is never read."}  # stays flagged even at its default


def test_dropping_stops_once_a_round_drops_nothing_new():
    Guarded.calls.clear()
    config, dropped = drop_inapplicable(Guarded(extra=3, items=[5]))
    assert dropped == {"extra": 3, "items": [5]} and (config.extra, config.items) == (0, [1, 2])
    assert len(Guarded.calls) == 2


def test_an_option_at_its_default_is_not_set_whatever_its_container():
    """A list given for a tuple default, or a field with a factory default, compares as config.json holds it."""
    from genlab.models.textgan.config import MLEConfig

    assert not is_set(MLEConfig(d_widths=[2, 3, 4, 5]), "d_widths") and is_set(MLEConfig(d_widths=[2, 3]), "d_widths")
    MLEConfig(d_widths=[2, 3, 4, 5]).validate()  # the Python API's list: mle reads no d_widths, and none is set
    assert not is_set(Guarded(), "items") and not is_set(Guarded(items=[1, 2]), "items")
    assert is_set(Guarded(items=[2]), "items")


def test_a_stored_config_drops_the_options_left_unread_but_those_given_again(tmp_path):
    """R1 saved on (γ 0.1, every 16 steps) and given off: the saved r1_every goes, unless given again."""
    from genlab.models.gan.config import GANConfig
    from genlab.train.run import stored_run_config

    config, dropped = from_stored(GANConfig, {"r1_gamma": 0.0, "r1_every": 16}, "model")
    assert dropped == {"r1_every": 16} and config.r1_every == 1
    with pytest.raises(ConfigError, match="--model.r1_every paces the R1 and R2 penalties, which are off"):
        from_stored(GANConfig, {"r1_gamma": 0.0, "r1_every": 16}, "model", given={"r1_every"})
    saved = build_run_config("gan", overrides={"model": {"r1_gamma": 0.1, "r1_every": 16}}).to_dict()
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config, stored = stored_run_config(tmp_path, overrides={"model": {"r1_gamma": 0}})
    assert (config.model.r1_gamma, config.model.r1_every) == (0.0, 1)
    assert stored.values["model"]["r1_gamma"] == 0.1 and "r1_every" not in stored.values["model"]
    assert stored.notes == [f"{tmp_path / 'config.json'} sets --model.r1_every 16, which nothing reads under the "
                            "resumed run's config; ignored."]
    with pytest.raises(ConfigError, match="--model.r1_every paces the R1 and R2 penalties, which are off"):
        stored_run_config(tmp_path, overrides={"model": {"r1_gamma": 0, "r1_every": 16}})
    assert stored_run_config(tmp_path)[1].notes == []  # read as saved: R1 on, r1_every read


def test_eval_options_know_what_was_asked_for():
    from genlab.config import EvalOptions

    assert not EvalOptions().is_given("k") and EvalOptions(k=50).is_given("k")  # built in code: set off its default
    assert EvalOptions(k=5000, given=frozenset({"k"})).is_given("k")  # given on the command line, at the default
    assert not EvalOptions(k=50, given=frozenset()).is_given("k")
