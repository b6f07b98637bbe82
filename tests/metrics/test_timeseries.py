"""The TimeGAN scores: sanity on data whose answer is known, and the repeat/protocol wrapper."""

import math

import numpy as np
import pytest
import torch

from genlab.data.sequences import sines
from genlab.errors import DataError
from genlab.metrics.timeseries import (correlational_score, cross_correlations, discriminative_score,
                                       lengths_protocol, mean_abs_step_change, predictive_score, step_change_report,
                                       score_seed, tf1_gru_init, timeseries_scores)


@pytest.fixture(autouse=True, scope="module")
def tiny_networks_one_thread(one_thread):
    """The post-hoc GRUs are tiny: a second thread only adds overhead."""


def sine_set(count, features=10, seed=0):
    return torch.from_numpy(sines(count, 24, features, seed)).float()


def shuffled_in_time(x, seed=0):
    """Each sequence's steps in a random order: the same values, no temporal structure."""
    order = torch.argsort(torch.rand(x.shape[:2], generator=torch.Generator().manual_seed(seed)), dim=1)
    return torch.gather(x, 1, order[..., None].expand_as(x))


def test_discriminative_score_is_near_zero_for_real_data_and_large_for_shuffled_data():
    real, other_real = sine_set(600, seed=1), sine_set(600, seed=2)
    # Ten features give the classifier 5 hidden units; 300 iterations (the protocol runs 2,000)
    # suffice to see that shuffled steps are not sines, while two draws of sines stay indistinguishable.
    same = [discriminative_score(real, other_real, iterations=300, seed=s) for s in range(2)]
    shuffled = [discriminative_score(real, shuffled_in_time(other_real), iterations=300, seed=s) for s in range(2)]
    assert max(same) < 0.1
    assert min(shuffled) > 0.2
    assert all(0 <= v <= 0.5 for v in same + shuffled)


def plateaued_sines(count, seed):
    """The sines, except that each stays at 1 once it reaches its peak instead of coming back down."""
    rng = np.random.default_rng(seed)
    frequency, phase = rng.uniform(0, 0.1, (2, count, 1, 5))
    angle = np.minimum(frequency * np.arange(24)[None, :, None] + phase, np.pi / 2)
    return torch.from_numpy((np.sin(angle) + 1) / 2).float()


@pytest.mark.slow
def test_a_wider_classifier_sees_the_missing_decline_that_the_protocols_two_units_miss():
    """Five features give the protocol's classifier two units: it does not notice that no sequence
    comes back down from its peak (a third of the sines' features do); sixteen units do."""
    real, other_real, plateaued = sine_set(1000, 5, seed=1), sine_set(1000, 5, seed=3), plateaued_sines(1000, 2)
    assert discriminative_score(real, plateaued, iterations=1000) < 0.06
    assert discriminative_score(real, plateaued, iterations=1000, hidden=16) > 0.15
    assert discriminative_score(real, other_real, iterations=1000, hidden=16) < 0.06  # not a classifier that overfits


def test_predictive_score_is_better_when_trained_on_real_than_on_shuffled_data():
    real, other_real = sine_set(400, features=4, seed=1), sine_set(400, features=4, seed=2)
    trained_on_real = predictive_score(real, other_real, iterations=300)
    trained_on_shuffled = predictive_score(real, shuffled_in_time(other_real), iterations=300)
    assert 0 <= trained_on_real < trained_on_shuffled
    with pytest.raises(DataError, match="at least 2 features"):
        predictive_score(real[..., :1], other_real[..., :1], iterations=1)


def test_cross_correlations_match_a_direct_computation():
    x = torch.randn(50, 24, 3, generator=torch.Generator().manual_seed(0)).double()
    x[..., 2] = 2 * x[..., 0] + 1  # perfectly correlated with feature 0
    flat = x.reshape(-1, 3)
    z = (flat - flat.mean(0)) / flat.std(0)
    expected = torch.stack([(z[:, i] * z[:, j]).mean() for i in range(3) for j in range(i + 1)])
    assert torch.allclose(cross_correlations(x), expected.to(torch.float64))
    assert cross_correlations(x)[3] == pytest.approx(1.0, abs=0.05)  # the pair (2, 0) in tril order
    # Features 0 and 2 move together in the real data; the synthetic data has the same values with
    # that pairing broken. Two subsets of the real data itself differ far less.
    real = sine_set(500, features=3)
    real[..., 2] = real[..., 0]
    unpaired = real.clone()
    unpaired[..., 2] = real[torch.randperm(500, generator=torch.Generator().manual_seed(0)), :, 0]
    same = correlational_score(real, real, seed=0)
    assert same < 0.02 and correlational_score(real, unpaired, seed=0) > 4 * same


def test_timeseries_scores_repeat_and_state_their_protocol():
    real, synthetic = sine_set(60, features=3), sine_set(60, features=3, seed=5)
    result = timeseries_scores(real, synthetic, repeats=3, discriminative_iterations=2, predictive_iterations=2,
                               seed=7)
    for name in ("discriminative", "predictive", "correlational"):
        values = result[name]["values"]
        assert len(values) == 3
        assert result[name]["mean"] == pytest.approx(sum(values) / 3)
        assert result[name]["std"] == pytest.approx(torch.tensor(values).std().item())
    assert result["protocol"]["repeats"] == 3 and result["protocol"]["real_sequences"] == 60
    # 12 + 12 held out: a guessing classifier's |accuracy - 0.5| averages sqrt(0.25 / 24) · sqrt(2 / π).
    chance = math.sqrt(0.25 / 24) * math.sqrt(2 / math.pi)
    assert result["protocol"]["discriminative_chance"].startswith(f"{chance:.4f}: the mean |accuracy - 0.5|")
    assert result["protocol"]["warning"].startswith("the classifier is tested on only 24 held-out sequences")
    assert "2 Adam iterations" in result["protocol"]["discriminative"]
    assert "hidden 1" in result["protocol"]["predictive"]  # ⌊3 / 2⌋
    again = timeseries_scores(real, synthetic, repeats=3, discriminative_iterations=2, predictive_iterations=2,
                              seed=7)
    assert again["discriminative"]["values"] == result["discriminative"]["values"]  # seeded: reproducible
    # the real-data reference point: the same predictor trained on the real sequences themselves
    assert result["predictive_real_data"]["values"] == [predictive_score(real, real, 2, seed=score_seed(7) + r)
                                                        for r in range(3)]
    assert "predictive_real_data" not in [k for k, v in timeseries_scores(real, synthetic, repeats=1,
                                          discriminative_iterations=2, predictive_iterations=2,
                                          real_baseline=False).items() if v is not None]
    wide = timeseries_scores(real, synthetic, repeats=2, discriminative_iterations=2, predictive_iterations=2, seed=7,
                             classifier_hidden=4)
    assert wide["discriminative"]["values"] == result["discriminative"]["values"][:2]  # the protocol's, unchanged
    assert wide["discriminative_h4"]["values"] == [discriminative_score(real, synthetic, 2, seed=score_seed(7) + r,
                                                                        hidden=4) for r in range(2)]
    assert "not a TimeGAN score" in wide["protocol"]["discriminative_h4"] and "4 units in place of 1" in \
        wide["protocol"]["discriminative_h4"]
    assert "discriminative_h4" not in result
    with pytest.raises(DataError, match="same T and F"):
        timeseries_scores(real, synthetic[:, :10], repeats=1)


def test_the_scores_draw_from_a_stream_of_their_own_not_the_samples_seed():
    """The caller draws the synthetic sequences with ``seed``: the classifier, the predictor and the
    resampling must not replay that stream (repeat 0 used to reuse it), yet stay fixed by ``seed``."""
    real, synthetic = sine_set(40, features=3), sine_set(40, features=3, seed=5)
    result = timeseries_scores(real, synthetic, repeats=2, discriminative_iterations=2, predictive_iterations=2,
                               seed=7)
    first = score_seed(7)
    assert first == score_seed(7) and first != score_seed(8) and 0 <= first < 2**63
    assert all(abs(score_seed(seed) - seed) > 10**6 for seed in range(100))  # far from seed + chunk or + repeat
    for name, score in (("discriminative", discriminative_score), ("predictive", predictive_score)):
        assert result[name]["values"] == [score(real, synthetic, 2, seed=first + r) for r in range(2)]
    assert result["predictive"]["values"][0] != predictive_score(real, synthetic, 2, seed=7)  # not the samples' seed
    assert result["correlational"]["values"] == [correlational_score(real, synthetic, seed=first + r)
                                                 for r in range(2)]
    assert f"with {first} + r" in result["protocol"]["score_seeds"]


def ragged(x, lengths, padding):
    """x with ``padding`` at every step past each sequence's length."""
    return x.masked_fill(~(torch.arange(x.shape[1]) < lengths[:, None])[..., None], padding)


def test_padded_steps_change_no_score_and_equal_lengths_score_like_truncated_data():
    real, synthetic = sine_set(60, features=4, seed=1), sine_set(50, features=4, seed=2)
    real_lengths = torch.randint(2, 25, (60,), generator=torch.Generator().manual_seed(0))
    synthetic_lengths = torch.randint(2, 25, (50,), generator=torch.Generator().manual_seed(1))
    lengths = {"real_lengths": real_lengths, "synthetic_lengths": synthetic_lengths}
    for score, kwargs in ((discriminative_score, {"iterations": 5}), (predictive_score, {"iterations": 5}),
                          (correlational_score, {})):
        zeros = score(ragged(real, real_lengths, 0.0), ragged(synthetic, synthetic_lengths, 0.0), **kwargs, **lengths)
        # NaN as genlab's sample files pad: it must not reach the classifiers' weight gradients either.
        junk = score(ragged(real, real_lengths, 9.0), ragged(synthetic, synthetic_lengths, float("nan")), **kwargs,
                     **lengths)
        assert zeros == pytest.approx(junk, abs=1e-6), score.__name__
    # Every sequence 10 steps long, padded to 24: the scores of the first 10 steps alone.
    ten, ten_fake = torch.full((60,), 10), torch.full((50,), 10)
    padded = {"real_lengths": ten, "synthetic_lengths": ten_fake}
    for score, kwargs in ((discriminative_score, {"iterations": 5}), (predictive_score, {"iterations": 5}),
                          (correlational_score, {})):
        assert score(real, synthetic, **kwargs, **padded) == pytest.approx(
            score(real[:, :10], synthetic[:, :10], **kwargs), abs=1e-5), score.__name__
    assert torch.allclose(cross_correlations(real, ten), cross_correlations(real[:, :10]))
    with pytest.raises(DataError, match="real lengths must hold one length between 2 and T = 24"):
        correlational_score(real, synthetic, real_lengths=torch.ones(60, dtype=torch.long))
    broken = synthetic.clone()
    broken[3, 0, 1] = float("nan")
    with pytest.raises(DataError, match="synthetic sequences hold NaN or infinite values within their lengths"):
        discriminative_score(real, broken, iterations=5)


def test_discriminative_score_needs_two_sequences_of_each_kind():
    two = sine_set(2, features=2)
    # An 80/20 split of 2 holds out 1 real and 1 synthetic sequence: accuracy 0, 0.5 or 1, so the score is 0 or 0.5.
    assert discriminative_score(two, two, iterations=1) in (0.0, 0.5)
    with pytest.raises(DataError, match="at least 2 real and 2 synthetic sequences"):
        discriminative_score(two[:1], two, iterations=1)


def test_step_change_counts_valid_steps_only_and_reports_the_ratio():
    x = torch.zeros(2, 4, 2)
    x[0, :, 0] = torch.tensor([0.0, 1.0, 3.0, 6.0])  # changes 1, 2, 3
    x[1, :, 0] = torch.tensor([1.0, 1.0, 100.0, -100.0])  # changes 0, 99, 200
    assert mean_abs_step_change(x) == pytest.approx([(1 + 2 + 3 + 0 + 99 + 200) / 6, 0.0])
    # lengths 3 and 2: steps 1, 2 of the first sequence and step 1 of the second; the padding never counts
    assert mean_abs_step_change(x, torch.tensor([3, 2])) == pytest.approx([(1 + 2 + 0) / 3, 0.0])
    rougher = x * 2
    report = step_change_report(x, rougher, ["a", "b"])
    assert report["columns"] == ["a", "b"] and report["ratio"] == [2.0, None]  # no change in the data: no ratio
    assert step_change_report(x, x)["columns"] == ["feature 0", "feature 1"]


def test_post_hoc_grus_start_as_tf1_grucells_do():
    """TF1's GRUCell draws one Glorot-uniform kernel over [x, h] for the two gates, shape (I + H, 2H),
    and one for the candidate, (I + H, H); gate biases 1, candidate biases 0."""
    torch.manual_seed(0)
    inputs, hidden = 300, 100
    gru = torch.nn.GRU(inputs, hidden, batch_first=True)
    tf1_gru_init(gru)
    for rows, fan_out in ((slice(0, 2 * hidden), 2 * hidden), (slice(2 * hidden, None), hidden)):
        bound = (6 / (inputs + hidden + fan_out)) ** 0.5
        joint = torch.cat([gru.weight_ih_l0[rows], gru.weight_hh_l0[rows]], dim=1)  # the kernel, transposed
        assert joint.abs().max() <= bound and joint.abs().max() > 0.99 * bound
        assert joint.std().item() == pytest.approx(bound / 3 ** 0.5, rel=0.02)  # uniform, not orthogonal or N(0, ·)
        recurrent = gru.weight_hh_l0[rows]  # drawn with the joint bound, not one of its own
        assert recurrent.std().item() == pytest.approx(bound / 3 ** 0.5, rel=0.03)
    assert gru.bias_ih_l0[:2 * hidden].eq(1).all() and gru.bias_ih_l0[2 * hidden:].eq(0).all()
    assert gru.bias_hh_l0.eq(0).all()


def test_the_protocol_says_which_side_had_lengths():
    lengths = torch.full((4,), 5)
    assert lengths_protocol(None, None) == "all sequences have T steps"
    assert "(real and synthetic lengths given)" in lengths_protocol(lengths, lengths)
    assert "(real lengths given; the synthetic sequences all have T steps)" in lengths_protocol(lengths, None)
    assert "(synthetic lengths given; the real sequences all have T steps)" in lengths_protocol(None, lengths)
