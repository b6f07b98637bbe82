"""`genlab list FAMILY`: every option of a family's configs, its default, choices and source comment."""

import dataclasses
from typing import Literal

import pytest

from genlab.models.registry import get_family, list_families
from genlab.options import family_options, options


@dataclasses.dataclass
class Base:
    plain: int = 3
    trailing: str = "a"  # said on the line itself
    # said above,
    # over two lines
    above: Literal["x", "y"] = "x"
    maybe: Literal["p", "q"] | None = None
    # --- a group header, nobody's help ---
    grouped: int = 0

    def method(self) -> None:  # not a field
        pass


@dataclasses.dataclass
class Derived(Base):
    trailing: str = "b"  # overridden, with help of its own
    plain: int = 4


@dataclasses.dataclass
class Preset(Base):
    above: Literal["x", "y"] = "y"


def test_options_take_the_comment_on_the_line_or_the_block_above_and_the_nearest_base_that_has_one():
    found = {option.name: option for option in options(Base, "model")}
    assert list(found) == ["--model.plain", "--model.trailing", "--model.above", "--model.maybe", "--model.grouped"]
    assert found["--model.grouped"].help == ""
    assert found["--model.plain"].help == "" and found["--model.plain"].default == "3"
    assert found["--model.trailing"].help == "said on the line itself"
    assert found["--model.above"].help == "said above, over two lines"
    assert found["--model.above"].choices == ("x", "y") and found["--model.maybe"].choices == ("p", "q")
    assert found["--model.maybe"].default == "null"
    derived = {option.name: option for option in options(Derived, "model")}
    assert derived["--model.trailing"].default == "b"
    assert derived["--model.trailing"].help == "overridden, with help of its own"
    assert derived["--model.plain"].default == "4" and derived["--model.plain"].help == ""
    preset = {option.name: option for option in options(Preset, "model")}
    assert preset["--model.above"].default == "y" and preset["--model.above"].help == "said above, over two lines"


@pytest.mark.parametrize("family", list_families())
def test_every_model_of_every_family_lists_its_options(family):
    for model in get_family(family).models:
        name, found = family_options(family, model)
        assert name == model
        sections = [option.name.split(".")[0] for option in found]
        assert sections == sorted(sections, key=["--model", "--data", "--train"].index)  # model, data, train
        assert {"--train.steps", "--train.batch_size", "--train.seed"} <= {option.name for option in found}
        assert len({option.name for option in found}) == len(found)
        # every option says what it does: a field added without a comment fails here
        assert [option.name for option in found if not option.help] == []


def test_list_family_prints_the_options_and_bad_names_are_one_sentence(run_cli):
    code, out, _ = run_cli("list", "rgan", "--model", "crnngan")
    assert code == 0
    assert "options of rgan/crnngan" in out
    assert "  --model.name crnngan  (crnngan | rcgan | timegan | latentgan)" in out
    assert "  --model.cell gru  (gru | lstm)" in out and "  --model.betas [0.9, 0.999]" in out
    assert "  --model.whiten false" in out and "PCA-whitened" in out
    assert "  --data.window null" in out and "  --train.steps 2000" in out
    code, out, _ = run_cli("list", "vae")  # the family's default model
    assert code == 0 and "options of vae/vae" in out and "--model.latent_dim" in out
    code, _, err = run_cli("list", "rgan", "--model", "dcgan")
    assert code == 2 and "--model dcgan is not a rgan model; choose one of: crnngan" in err and "Traceback" not in err
    code, _, err = run_cli("list", "images")
    assert code == 2 and "Unknown model family 'images'" in err
    code, _, err = run_cli("list", "--model", "crnngan")
    assert code == 2 and "needs a family" in err


def test_a_models_listing_leaves_out_the_options_it_never_reads():
    """mle has no discriminator and no adversarial phase, seqgan no relaxation, relgan no rollouts,
    timegan none of crnngan's and rcgan's own options; the family's other models list theirs."""
    def listed(family, model):
        return {option.name.removeprefix("--model.") for option in family_options(family, model)[1]
                if option.name.startswith("--model.")}

    mle, seqgan, relgan = (listed("textgan", name) for name in ("mle", "seqgan", "relgan"))
    assert not {"pretrain_steps", "rollouts", "discriminator", "d_widths", "loss", "lr_generator",
                "max_inverse_temperature"} & mle
    assert {"lr_pretrain", "generator", "hidden_dim", "grad_clip"} <= mle
    assert "rollouts" in seqgan and not {"max_inverse_temperature", "temperature_steps", "straight_through"} & seqgan
    assert "max_inverse_temperature" in relgan and "rollouts" not in relgan
    assert {"pretrain_steps", "d_widths", "loss"} <= seqgan & relgan
    timegan, crnngan = listed("rgan", "timegan"), listed("rgan", "crnngan")
    assert not {"feedback", "loss", "bidirectional", "ema_decay"} & timegan and "gamma" in timegan
    assert {"feedback", "loss", "bidirectional", "ema_decay"} <= crnngan
    assert "noise_dim" in timegan  # read with --model.noise sequence or both: only options never read are left out
