"""The TimeGAN scores of synthetic sequences, computed as the TimeGAN reference code computes them.

All take real and synthetic sequences (N, T, F) on the same min-max scaled [0, 1] axis.

- Discriminative score (``metrics/discriminative_metrics.py`` of jsyoon0823/TimeGAN): a post-hoc
  1-layer GRU classifier (hidden size ⌊F/2⌋, its last state → one logit) learns real (1) vs
  synthetic (0) on 80% of each, for 2,000 Adam iterations (lr 1e-3) of 128 real + 128 synthetic
  sequences drawn without replacement from the training parts; the score is |accuracy − 0.5| on
  the held-out 20% of each (threshold σ(logit) > 0.5). 0 is best.
- Predictive score (``metrics/predictive_metrics.py``): train on synthetic, test on real. A
  1-layer GRU (hidden ⌊F/2⌋, a sigmoid read-out per step) reads the first F−1 features of steps
  0..T−2 and predicts the last feature at steps 1..T−1; 5,000 Adam iterations on batches of 128
  synthetic sequences with the mean absolute error as loss; the score is the MAE on all the real
  sequences. Lower is better; the same network trained on real data is the reference point.
- Correlational score (``Utils/cross_correlation.py`` of Diffusion-TS, which the later papers
  report): each feature is standardised over all sequences and steps, the lag-0 cross-correlations
  E_t[x_i x_j] of the pairs i ≤ j are averaged over sequences, and the score is
  Σ_{i≤j} |C_synthetic − C_real| / 10, on N/5 sequences drawn with replacement from each.

Variable lengths: each score takes optional ``real_lengths`` / ``synthetic_lengths`` (N,), the
valid steps of each sequence (None: all T, and no mask work is done). As in the reference, which
feeds each sequence's length to its RNNs, only valid steps count: the classifier's verdict is its
state at the last valid step, the predictor reads steps 0..L−2 and is scored on steps 1..L−1 of
each sequence (the test MAE is each sequence's own MAE, averaged), and the correlations
standardise and average over valid steps. A GRU is causal, so the padding after step L−1 never
reaches a valid output; it is set to 0 first all the same, as NaN padding would reach the weight
gradients (0 · NaN).

Each score is repeated (10 times by default) with independent seeds and reported as mean ± std;
the correlational score's resampling is redrawn in each repeat, where Diffusion-TS averages five.
Those seeds come from a stream of their own (:func:`score_seed`), not from the seed the caller drew
the synthetic sequences with, so the classifier's randomness is independent of the samples'.
The weights start as TF1's ``GRUCell`` and ``fully_connected`` start them, which the reference's
classifier and predictor both use: one Glorot-uniform kernel over [x, h] for the reset and update
gates and one for the candidate (:func:`tf1_gru_init`), gate biases 1, candidate biases 0, a
Glorot-uniform read-out with a zero bias. One deviation is forced by the framework: PyTorch's GRU
applies the reset gate after the recurrent product (as Keras's GRU does), TF1's ``GRUCell`` before
it. Hidden sizes are at least 1, so one-feature data can still be classified.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from genlab.data.sequences import length_mask
from genlab.errors import DataError

TRAIN_FRACTION = 0.8
BATCH_SIZE = 128
DISCRIMINATIVE_ITERATIONS = 2000
PREDICTIVE_ITERATIONS = 5000
CORRELATION_SUBSETS = 5  # Diffusion-TS scores N / 5 sequences per repeat
SCORE_STREAM = 1  # the scores' key beside the seed in the SeedSequence of score_seed


def score_seed(seed: int) -> int:
    """The first seed of the scores' own random stream for an evaluation seeded ``seed``: repeat r of
    :func:`timeseries_scores` seeds its classifier, predictor and resampling with ``score_seed(seed) + r``.

    It is 63 bits of numpy's ``SeedSequence([seed, 1])``: the same for the same ``seed``, and unrelated
    to ``seed`` itself, with which callers draw the synthetic sequences (``genlab eval``: ``--seed``;
    ``benchmarks/rgan_timeseries.py``: ``--seed`` + chunk), so the two streams are independent.
    """
    entropy = seed % 2**64  # a negative seed as torch takes it
    state = np.random.SeedSequence([entropy, SCORE_STREAM]).generate_state(1, np.uint64)
    return int(state[0]) >> 1  # shifted as a Python int: numpy 1.x has no np.uint64 >> int


def tf1_gru_init(gru: nn.GRU) -> None:
    """Initialise a 1-layer ``nn.GRU`` as TF1's ``GRUCell`` is: its gate kernel, shape (inputs + H, 2H)
    over the concatenated [x, h], and its candidate kernel, (inputs + H, H), each Glorot-uniform (the
    default initialiser of ``tf.get_variable``); gate biases 1, candidate biases 0. PyTorch splits
    each kernel into an input and a recurrent part, so both parts get the joint kernel's bound."""
    hidden, inputs = gru.hidden_size, gru.input_size
    with torch.no_grad():
        for rows, fan_out in ((slice(0, 2 * hidden), 2 * hidden), (slice(2 * hidden, 3 * hidden), hidden)):
            bound = math.sqrt(6 / (inputs + hidden + fan_out))
            gru.weight_ih_l0[rows].uniform_(-bound, bound)
            gru.weight_hh_l0[rows].uniform_(-bound, bound)
        gru.bias_hh_l0.zero_()
        gru.bias_ih_l0.zero_()
        gru.bias_ih_l0[:2 * hidden] = 1.0  # PyTorch's gate order: reset, update, new


class PostHocGRU(nn.Module):
    """A 1-layer GRU and a linear read-out: (B, T, inputs) → per-step (B, T, 1) or last-state (B, 1) outputs."""

    def __init__(self, inputs: int, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)
        tf1_gru_init(self.rnn)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, per_step: bool, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Per-step outputs (B, T, 1), or (B, 1) from the state at each sequence's last valid step."""
        outputs, last = self.rnn(x)  # (B, T, H), (1, B, H)
        if per_step:
            return self.out(outputs)
        return self.out(last[0] if lengths is None else outputs[torch.arange(len(x)), lengths - 1])


Sequences = tuple[torch.Tensor, torch.Tensor | None]  # (N, T, F) and their lengths (N,) or None (all T)


def _batch(pool: Sequences, size: int, generator: torch.Generator) -> Sequences:
    """``size`` distinct sequences of ``pool``: the first of a fresh permutation, as the reference draws them."""
    chosen = torch.randperm(pool[0].shape[0], generator=generator)[:size]
    return _take(pool, chosen)


def _take(pool: Sequences, index: torch.Tensor) -> Sequences:
    x, lengths = pool
    return x[index], lengths[index] if lengths is not None else None


def _split(pool: Sequences, generator: torch.Generator) -> tuple[Sequences, Sequences]:
    order = torch.randperm(pool[0].shape[0], generator=generator)
    cut = int(pool[0].shape[0] * TRAIN_FRACTION)
    return _take(pool, order[:cut]), _take(pool, order[cut:])


def _checked(real: torch.Tensor, synthetic: torch.Tensor, real_lengths: torch.Tensor | None = None,
             synthetic_lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets after checking them, with the steps past each length set to 0. The padding must be
    finite: a GRU's outputs at valid steps never see it, but its weight gradients do (0 · NaN)."""
    if real.dim() != 3 or synthetic.dim() != 3 or real.shape[1:] != synthetic.shape[1:]:
        raise DataError(f"Real sequences {tuple(real.shape)} and synthetic ones {tuple(synthetic.shape)} must both be "
                        "(N, T, F) with the same T and F.")
    checked = []
    for name, x, lengths in (("real", real, real_lengths), ("synthetic", synthetic, synthetic_lengths)):
        if lengths is not None:
            if lengths.shape != (x.shape[0],) or lengths.min() < 2 or lengths.max() > x.shape[1]:
                raise DataError(f"The {name} lengths must hold one length between 2 and T = {x.shape[1]} per "
                                f"sequence (got shape {tuple(lengths.shape)}).")
            x = torch.where(length_mask(lengths.to(x.device), x.shape[1])[..., None], x, 0.0)
        if not torch.isfinite(x).all():
            raise DataError(f"The {name} sequences hold NaN or infinite values within their lengths; pass the "
                            "lengths of NaN-padded sequences, or drop the broken ones.")
        checked.append(x)
    return checked[0], checked[1]


def _both_lengths(real: torch.Tensor, synthetic: torch.Tensor, real_lengths: torch.Tensor | None,
                  synthetic_lengths: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Both sides' lengths as CPU int64, the missing side full (T); (None, None) when neither has any."""
    if real_lengths is None and synthetic_lengths is None:
        return None, None
    steps = real.shape[1]
    return tuple(torch.full((len(x),), steps) if lengths is None else lengths.long().cpu()
                 for x, lengths in ((real, real_lengths), (synthetic, synthetic_lengths)))


def protocol_hidden(features: int) -> int:
    """The state size of the reference's classifier and predictor: ⌊F/2⌋, at least 1."""
    return max(1, features // 2)


def wide_key(hidden: int) -> str:
    """The result key of the discriminative score with a classifier of ``hidden`` units (not the protocol's)."""
    return f"discriminative_h{hidden}"


def discriminative_score(real: torch.Tensor, synthetic: torch.Tensor, iterations: int = DISCRIMINATIVE_ITERATIONS,
                         batch_size: int = BATCH_SIZE, seed: int = 0, real_lengths: torch.Tensor | None = None,
                         synthetic_lengths: torch.Tensor | None = None, hidden: int | None = None) -> float:
    """|accuracy − 0.5| of a post-hoc GRU classifier on held-out real and synthetic sequences; ``hidden``
    its state size (None: the protocol's ⌊F/2⌋)."""
    real, synthetic = _checked(real, synthetic, real_lengths, synthetic_lengths)
    real_lengths, synthetic_lengths = _both_lengths(real, synthetic, real_lengths, synthetic_lengths)
    real, synthetic = (real.float().cpu(), real_lengths), (synthetic.float().cpu(), synthetic_lengths)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = PostHocGRU(real[0].shape[-1], protocol_hidden(real[0].shape[-1]) if hidden is None else hidden)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    real_train, real_test = _split(real, generator)
    fake_train, fake_test = _split(synthetic, generator)
    if min(len(part[0]) for part in (real_test, fake_test, real_train, fake_train)) == 0:
        raise DataError(f"The discriminative score needs at least 2 real and 2 synthetic sequences (got "
                        f"{len(real[0])} and {len(synthetic[0])}).")

    def logits(part: Sequences) -> torch.Tensor:
        return classifier(part[0], per_step=False, lengths=part[1])

    for _ in range(iterations):
        real_batch, fake_batch = _batch(real_train, batch_size, generator), _batch(fake_train, batch_size, generator)
        both = tuple(torch.cat([r, f]) if r is not None else None for r, f in zip(real_batch, fake_batch))
        # One pass over both batches; the loss keeps the reference's separate real and fake means.
        real_logits, fake_logits = logits(both).split([len(real_batch[0]), len(fake_batch[0])])
        loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        correct = (logits(real_test) > 0).sum() + (logits(fake_test) <= 0).sum()
    accuracy = correct.item() / (len(real_test[0]) + len(fake_test[0]))
    return abs(accuracy - 0.5)


def predictive_score(real: torch.Tensor, synthetic: torch.Tensor, iterations: int = PREDICTIVE_ITERATIONS,
                     batch_size: int = BATCH_SIZE, seed: int = 0, real_lengths: torch.Tensor | None = None,
                     synthetic_lengths: torch.Tensor | None = None) -> float:
    """MAE on real data of a GRU trained on synthetic data to predict the last feature one step ahead."""
    real, synthetic = _checked(real, synthetic, real_lengths, synthetic_lengths)
    real_lengths, synthetic_lengths = _both_lengths(real, synthetic, real_lengths, synthetic_lengths)
    features = real.shape[-1]
    if features < 2:
        raise DataError("The predictive score predicts the last feature from the others, so it needs at least 2 "
                        f"features (the data has {features}).")
    real, synthetic = real.float().cpu(), synthetic.float().cpu()
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        predictor = PostHocGRU(features - 1, protocol_hidden(features))
    optimizer = torch.optim.Adam(predictor.parameters(), lr=1e-3)

    def errors(part: Sequences) -> tuple[torch.Tensor, torch.Tensor | None]:
        """|σ(prediction) − target| (B, T-1, 1), the other features of steps 0..T-2 → the last of 1..T-1,
        and the (B, T-1) mask of the valid targets (None when all are)."""
        x, lengths = part
        error = (torch.sigmoid(predictor(x[:, :-1, :-1], per_step=True)) - x[:, 1:, -1:]).abs()
        return error, length_mask(lengths - 1, x.shape[1] - 1) if lengths is not None else None

    for _ in range(iterations):
        error, mask = errors(_batch((synthetic, synthetic_lengths), batch_size, generator))
        loss = error.mean() if mask is None else error[mask].mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        error, mask = errors((real, real_lengths))
    if mask is None:  # sequences of equal length: the mean of each sequence's MAE is the overall mean
        return error.mean().item()
    # The reference averages each sequence's MAE over its own L - 1 targets.
    return (torch.where(mask[..., None], error, 0.0).sum((1, 2)) / (real_lengths - 1)).mean().item()


def cross_correlations(x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Lag-0 cross-correlations of the feature pairs i ≤ j: (N, T, F) → (F(F+1)/2,), averaged over sequences.

    With ``lengths`` (N,), the standardisation and each sequence's mean over time use its valid steps only.
    """
    x = x.double()
    left, right = torch.tril_indices(x.shape[-1], x.shape[-1])
    if lengths is None:
        std = x.std(dim=(0, 1), keepdim=True)
        x = (x - x.mean(dim=(0, 1), keepdim=True)) / torch.where(std == 0, 1.0, std)  # constant features give 0
        return (x[..., left] * x[..., right]).mean(dim=1).mean(dim=0)
    mask = length_mask(lengths.to(x.device), x.shape[1])[..., None]  # (N, T, 1)
    valid = x.new_tensor(float(mask.sum()))
    mean = torch.where(mask, x, 0.0).sum((0, 1), keepdim=True) / valid
    std = (torch.where(mask, (x - mean) ** 2, 0.0).sum((0, 1), keepdim=True) / (valid - 1)).sqrt()  # as Tensor.std
    x = (x - mean) / torch.where(std == 0, 1.0, std)
    products = torch.where(mask, x[..., left] * x[..., right], 0.0)
    return (products.sum(1) / lengths.to(x)[:, None]).mean(dim=0)


def correlational_score(real: torch.Tensor, synthetic: torch.Tensor, seed: int = 0,
                        real_lengths: torch.Tensor | None = None,
                        synthetic_lengths: torch.Tensor | None = None) -> float:
    """Σ |C_synthetic − C_real| / 10 over the lag-0 cross-correlations, on N / 5 sequences of each
    drawn with replacement (N the number of real sequences)."""
    real, synthetic = _checked(real, synthetic, real_lengths, synthetic_lengths)
    generator = torch.Generator().manual_seed(seed)
    size = max(2, real.shape[0] // CORRELATION_SUBSETS)
    real_part = _take((real, real_lengths), torch.randint(0, real.shape[0], (size,), generator=generator))
    fake_part = _take((synthetic, synthetic_lengths),
                      torch.randint(0, synthetic.shape[0], (size,), generator=generator))
    return ((cross_correlations(*fake_part) - cross_correlations(*real_part)).abs().sum() / 10).item()


def mean_abs_step_change(x: torch.Tensor, lengths: torch.Tensor | None = None) -> list[float]:
    """Mean |x_t − x_(t−1)| of each feature of sequences (N, T, F) over the steps t ≥ 1 that are
    valid (t < length): how much a feature moves from one step to the next. Not a TimeGAN score; a
    generator whose fakes are rougher or smoother in time than the data shows here even when a small
    post-hoc classifier does not notice."""
    changes = x.double().diff(dim=1).abs()  # (N, T - 1, F)
    if lengths is None:
        return changes.mean((0, 1)).tolist()
    valid = length_mask(lengths.cpu(), x.shape[1])[:, 1:, None]  # step t counts when t < length
    return (torch.where(valid, changes, 0.0).sum((0, 1)) / valid.sum().clamp_min(1)).tolist()


def step_change_report(real: torch.Tensor, synthetic: torch.Tensor, columns: list[str] | None = None,
                       real_lengths: torch.Tensor | None = None,
                       synthetic_lengths: torch.Tensor | None = None) -> dict[str, Any]:
    """Each feature's :func:`mean_abs_step_change` in the real and the synthetic sequences, and their ratio."""
    names = columns or [f"feature {i}" for i in range(real.shape[-1])]
    real_changes = mean_abs_step_change(real, real_lengths)
    synthetic_changes = mean_abs_step_change(synthetic, synthetic_lengths)
    return {"columns": names, "real": [round(v, 5) for v in real_changes],
            "synthetic": [round(v, 5) for v in synthetic_changes],
            "ratio": [round(s / r, 2) if r > 0 else None for r, s in zip(real_changes, synthetic_changes)]}


def summary(values: list[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof 1; None for one value, which has no spread) of
    repeated scores."""
    mean = float(np.mean(values))
    if len(values) == 1:
        return {"mean": mean, "std": None, "values": values, "text": f"{mean:.4f} (one repeat: no spread)"}
    std = float(np.std(values, ddof=1))
    return {"mean": mean, "std": std, "values": values, "text": f"{mean:.4f} +/- {std:.4f}"}


def headline(result: dict[str, Any], chance: float) -> str:
    """The scores in one line, each with which way is better ('genlab eval' prints it after the JSON)."""
    def shown(score: dict[str, Any]) -> str:
        return f"{score['mean']:.4f}" + (f" ± {score['std']:.4f}" if score["std"] is not None else "")

    parts = [f"discriminative {shown(result['discriminative'])} (0 is best; a guessing classifier's: {chance:.4f})"]
    if result.get("predictive") is not None:
        real = result.get("predictive_real_data")
        parts.append(f"predictive {shown(result['predictive'])} (lower is better"
                     + (f"; the real data's {real['mean']:.4f})" if real else ")"))
    parts.append(f"correlational {shown(result['correlational'])} (0 is best)")
    return "; ".join(parts)


FEW_TESTED = 200  # held-out sequences of both kinds below which the discriminative score is mostly chance


def chance_discriminative(tested: int) -> float:
    """E|accuracy - 0.5| of a classifier guessing on ``tested`` held-out sequences, half of each kind:
    the accuracy is about normal with standard deviation sqrt(0.25 / tested), and |N(0, s²)| averages
    s·sqrt(2/π)."""
    return math.sqrt(0.25 / tested) * math.sqrt(2 / math.pi)


def lengths_protocol(real_lengths: torch.Tensor | None, synthetic_lengths: torch.Tensor | None) -> str:
    """How the scores treated sequence lengths, in words."""
    given = [name for name, lengths in (("real", real_lengths), ("synthetic", synthetic_lengths)) if lengths is not None]
    if not given:
        return "all sequences have T steps"
    rest = "" if len(given) == 2 else f"; the {'synthetic' if given == ['real'] else 'real'} sequences all have T steps"
    return f"variable: only each sequence's valid steps count ({' and '.join(given)} lengths given{rest})"


def timeseries_scores(real: torch.Tensor, synthetic: torch.Tensor, repeats: int = 10,
                      discriminative_iterations: int = DISCRIMINATIVE_ITERATIONS,
                      predictive_iterations: int = PREDICTIVE_ITERATIONS, batch_size: int = BATCH_SIZE,
                      seed: int = 0, real_lengths: torch.Tensor | None = None,
                      synthetic_lengths: torch.Tensor | None = None, real_baseline: bool = True,
                      classifier_hidden: int | None = None) -> dict[str, Any]:
    """The three scores, each repeated ``repeats`` times (repeat r uses seed ``score_seed(seed) + r``), with the
    protocol. ``seed`` may be the one the synthetic sequences were drawn with: the scores do not reuse its stream.

    With ``classifier_hidden`` H, the discriminative score is also computed with a classifier of H units in
    place of the protocol's ⌊F/2⌋ (``discriminative_hH``; not a TimeGAN score): with five features the
    protocol's classifier has two units, too few to notice what a wider one finds at once.

    With ``real_baseline`` the predictive score is also computed with the real sequences in place of
    the synthetic ones (``predictive_real_data``): the figure a perfect generator would reach, which
    the TimeGAN paper reports beside each model's."""
    real, synthetic = _checked(real, synthetic, real_lengths, synthetic_lengths)
    lengths = {"real_lengths": real_lengths, "synthetic_lengths": synthetic_lengths}
    wide = wide_key(classifier_hidden) if classifier_hidden is not None else None
    scores: dict[str, list[float]] = {"discriminative": [], **({wide: []} if wide else {}), "predictive": [],
                                      "predictive_real_data": [], "correlational": []}
    predictive = real.shape[-1] >= 2
    first = score_seed(seed)
    for r in tqdm(range(repeats), desc="TimeGAN scores", leave=False):
        scores["discriminative"].append(discriminative_score(real, synthetic, discriminative_iterations, batch_size,
                                                             first + r, **lengths))
        if wide:
            scores[wide].append(discriminative_score(real, synthetic, discriminative_iterations, batch_size, first + r,
                                                     **lengths, hidden=classifier_hidden))
        if predictive:
            scores["predictive"].append(predictive_score(real, synthetic, predictive_iterations, batch_size, first + r,
                                                         **lengths))
        if predictive and real_baseline:
            scores["predictive_real_data"].append(predictive_score(real, real, predictive_iterations, batch_size,
                                                                   first + r, real_lengths, real_lengths))
        scores["correlational"].append(correlational_score(real, synthetic, first + r, **lengths))
    result: dict[str, Any] = {name: summary(values) if values else None for name, values in scores.items()}
    steps, features = real.shape[1:]
    result["protocol"] = {
        "real_sequences": real.shape[0],
        "synthetic_sequences": synthetic.shape[0],
        "sequence_shape": [steps, features],
        "lengths": lengths_protocol(real_lengths, synthetic_lengths),
        "repeats": repeats,
        "spread": "mean ± sample standard deviation (ddof 1) over the repeats",
        "seed": seed,
        "score_seeds": (f"repeat r seeds its classifier, predictor and resampling with {first} + r: 63 bits of "
                        f"numpy's SeedSequence([{seed}, 1]), a stream unrelated to seed {seed} itself, from which "
                        "the synthetic sequences are drawn"),
        "discriminative": (f"|accuracy - 0.5| of a 1-layer GRU (hidden {protocol_hidden(features)}, last state) "
                           f"trained {discriminative_iterations} Adam iterations (lr 1e-3) on batches of {batch_size} "
                           f"real + {batch_size} synthetic from an {TRAIN_FRACTION:.0%} split of each, tested on the "
                           "rest"),
        "predictive": (f"MAE on all real sequences of a 1-layer GRU (hidden {protocol_hidden(features)}) trained on "
                       f"synthetic data for {predictive_iterations} Adam iterations (lr 1e-3, batch {batch_size}) to "
                       "predict the last feature one step ahead from the others" if predictive
                       else "not defined for one feature"),
        "predictive_real_data": ("the predictive score with the real sequences in place of the synthetic ones "
                                 "(trained and tested on the same real sequences, in-sample; the paper's 'original "
                                 "data' row)"
                                 if predictive and real_baseline else "not computed"),
        "correlational": (f"sum over feature pairs i <= j of |lag-0 cross-correlation difference| / 10, on "
                          f"{max(2, real.shape[0] // CORRELATION_SUBSETS)} sequences of each drawn with replacement"),
        "reference": "jsyoon0823/TimeGAN metrics (discriminative, predictive); Diffusion-TS (correlational)",
    }
    tested = sum(n - int(n * TRAIN_FRACTION) for n in (real.shape[0], synthetic.shape[0]))  # held out by the split
    chance = chance_discriminative(tested)
    result["protocol"]["discriminative_chance"] = (
        f"{chance:.4f}: the mean |accuracy - 0.5| of a classifier that sees no difference, tested on {tested:,} "
        "held-out sequences (0.5 * sqrt(2 / pi) / sqrt of that); a score near it finds nothing")
    result["summary"] = headline(result, chance)
    if tested < FEW_TESTED:
        result["protocol"]["warning"] = (f"the classifier is tested on only {tested} held-out sequences, so its score "
                                         f"moves in steps of {1 / tested:.3f} and by chance alone averages {chance:.3f}; "
                                         "score hundreds of sequences or more")
    if wide:
        result["protocol"][wide] = (f"not a TimeGAN score: the discriminative score's protocol with a GRU of "
                                    f"{classifier_hidden} units in place of {protocol_hidden(features)} (the same "
                                    "iterations, batches, split and seeds)")
    return result

