import pytest
import torch

from genlab.errors import ConfigError
from genlab.train.schedule import BatchSchedule, warmup_cosine


def test_each_epoch_is_a_permutation_and_depends_only_on_seed_and_step():
    schedule = BatchSchedule(10, 3, seed=1)
    epoch0 = torch.cat([schedule.indices(s) for s in range(3)])
    assert len(set(epoch0.tolist())) == 9  # 3 full batches, last example of the permutation dropped
    fresh = BatchSchedule(10, 3, seed=1)
    assert torch.equal(fresh.indices(4), schedule.indices(4))  # no history needed
    assert not torch.equal(BatchSchedule(10, 3, seed=2).indices(0), schedule.indices(0))
    assert not torch.equal(schedule.indices(0), schedule.indices(3))  # a new order each epoch


def test_ranks_split_the_global_batch():
    single = BatchSchedule(20, 4, seed=0).indices(2)
    shares = [BatchSchedule(20, 4, seed=0, rank=r, world_size=2).indices(2) for r in range(2)]
    assert torch.equal(torch.cat(shares), single)


def test_too_little_data_is_a_clear_error():
    with pytest.raises(ConfigError, match="fewer than --train.batch_size 64"):
        BatchSchedule(10, 64, seed=0)


def test_warmup_cosine_rises_then_decays_to_the_floor():
    lrs = [warmup_cosine(step, 1.0, 0.1, 10, 110) for step in range(120)]
    assert lrs[0] == 0.1 and lrs[9] == 1.0  # linear warmup, (step + 1) / warmup_steps
    assert lrs[10] == 1.0 and abs(lrs[60] - 0.55) < 1e-12  # halfway through the decay: the midpoint
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[110:] == [0.1] * 10
    assert warmup_cosine(500, 1.0, 0.1, 0, 0) == 1.0  # no decay_steps: constant


def test_a_decay_that_does_not_end_with_the_run_is_named():
    from genlab.config import load_config_file
    from genlab.train.run import build_run_config, decay_mismatch

    ring = load_config_file("toy-ring")  # decays over its own 18,000 steps
    assert decay_mismatch(build_run_config(None, ring, {})) is None
    short = decay_mismatch(build_run_config(None, ring, {"train": {"steps": 4500}}))
    assert "--model.decay_steps 18000 differs from --train.steps 4500" in short and "25% of the way" in short
    long = decay_mismatch(build_run_config(None, ring, {"train": {"steps": 23000}}))
    assert "the last 5000 steps train at learning rate 0, which leaves the weights as they are" in long
    vae = decay_mismatch(build_run_config("vae", {}, {"model": {"decay_steps": 5, "min_lr": 1e-5},
                                                      "train": {"steps": 7}}))
    assert "the last 2 steps train at the final learning rate" in vae
    assert decay_mismatch(build_run_config("gan", {}, {"train": {"steps": 7}})) is None  # no decay at all


def test_a_warmup_longer_than_the_run_is_named():
    from genlab.train.run import build_run_config, warmup_mismatch

    beta_vae = build_run_config("vae", {"model": {"name": "beta_vae"}}, {"train": {"steps": 400}})
    message = warmup_mismatch(beta_vae)  # the preset's β warm-up is 1,000 steps
    assert "--model.kl_warmup_steps 1000 is longer than --train.steps 400: β reaches only 40%" in message
    assert warmup_mismatch(build_run_config("vae", {"model": {"name": "beta_vae"}}, {"train": {"steps": 1000}})) is None
    assert "the learning rate reaches only 50%" in warmup_mismatch(
        build_run_config("transformer", {"model": {"warmup_steps": 200}}, {"train": {"steps": 100}}))
    assert warmup_mismatch(build_run_config("gan", {}, {"train": {"steps": 7}})) is None  # no warm-up option


def test_a_text_gan_run_ending_in_pretraining_or_before_its_temperature_tops_out_is_named():
    from genlab.train.run import adversarial_unfinished, build_run_config

    def relgan(steps, **model):
        return build_run_config("textgan", {"model": {"name": "relgan", **model}}, {"train": {"steps": steps}})

    assert ("--train.steps 3 ends within the maximum-likelihood pretraining (--model.pretrain_steps 1000), so "
            "nothing trains adversarially") in adversarial_unfinished(relgan(3))
    message = adversarial_unfinished(relgan(1100, max_inverse_temperature=100.0))  # 100 of the 1,000 steps
    assert "--model.temperature_steps 1000 is longer than the 100 adversarial steps" in message
    assert f"stops at {100 ** 0.1:.3g} of its 100" in message  # β_max^(n/N)
    assert adversarial_unfinished(relgan(2000, max_inverse_temperature=100.0)) is None
    assert adversarial_unfinished(build_run_config("textgan", {"model": {"name": "relgan"}})) is None  # its defaults
    assert adversarial_unfinished(relgan(1100, max_inverse_temperature=1.0)) is None  # β held at 1: nothing to rise
    assert adversarial_unfinished(build_run_config("textgan", {"model": {"name": "mle"}}, {"train": {"steps": 3}})) is None
