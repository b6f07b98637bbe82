"""C-RNN-GAN and RCGAN: recurrent generator and discriminator trained adversarially.

One training step is ``discriminator_steps`` discriminator updates followed by one generator
update, on the losses of :mod:`genlab.models.gan.losses` (non-saturating by default). The step's
batch is split evenly between the discriminator updates; the generator's last fakes are reused
for its own update. A conditional model (RCGAN) generates its fakes with the labels of the real
batch, so both players see the data's label distribution.

The model works on data min-max scaled to [0, 1]; ``sample`` returns sequences in the original
units through the scale stored in the config, ``generate`` the scaled ones. With ``whiten`` the
players work in the scaled data's whitened coordinates (:mod:`genlab.models.rgan.whitening`), and
``generate`` maps the generator's output back; with ``ema_decay`` it samples from the EMA generator.

Variable lengths (a batch with a ``mask``): fakes get the lengths of the real batch, the
discriminator packs both, and the losses average per-step logits over valid steps only. A model
trained on such data draws the lengths of new sequences from the training lengths' histogram
(``length_counts``); ``generate`` zeroes the padded steps, ``sample`` makes them NaN, and files
hold only the valid steps (CSV rows) or ``lengths`` beside a NaN-padded ``x`` (.npz).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.data.csv_table import encoded_names
from genlab.data.sample_files import sample_index_columns
from genlab.data.sequences import Scaling, length_mask
from genlab.errors import ConfigError
from genlab.fileio import atomic_write_npz, atomic_write_text
from genlab.imaging import refuse_non_finite
from genlab.models.adversarial import TwoPlayers
from genlab.models.base import EvalOptions, GenerativeModel, evaluating
from genlab.models.gan.ema import ema_update
from genlab.models.gan.losses import discriminator_loss, generator_loss, gradient_penalty
from genlab.models.rgan.config import CRNNGANConfig, RCGANConfig, RGANConfig
from genlab.models.rgan.networks import RecurrentDiscriminator, RecurrentGenerator, noise_like
from genlab.models.rgan.plots import save_sequence_plot
from genlab.models.rgan.sobolev import sobolev_dual_norms
from genlab.models.rgan.whitening import Whitening
from genlab.train.distributed import batch_option, plain

PREVIEW_REAL = 8  # real training sequences kept for the preview plot


class RecurrentGAN(TwoPlayers, GenerativeModel):
    family = "rgan"
    name = "crnngan"
    sample_suffixes = (".png", ".csv", ".npz")
    config_class = CRNNGANConfig
    ddp_modules = ("generator", "discriminator")
    samples_long_series = True  # sample(steps=...) runs the recurrence past the training window
    labelled_data = "an .npz with y (one label per sequence)"
    nothing_to_compile = ("its GRU/LSTM networks run eager (Dynamo leaves them to eager mode); with "
                          "--model.attention_layers N its attention blocks compile, else leave it off")

    @property
    def compile_targets(self) -> tuple[str, ...]:
        # Dynamo leaves GRU/LSTM modules to eager mode, so only the attention blocks compile; and
        # WGAN-GP differentiates D twice, which compiled graphs cannot do (torch 2.13).
        if not self.config.attention_layers:
            return ()
        return ("generator",) if self.config.loss == "wasserstein_gp" else self.ddp_modules

    def __init__(self, config: RGANConfig) -> None:
        super().__init__(config)
        if config.features is None or config.seq_len is None:
            raise ConfigError(f"A {self.name} model needs --model.features and --model.seq_len (or data to take "
                              "them from).")
        if config.conditional and config.num_classes is None:
            raise ConfigError(f"A conditional {self.name} needs --model.num_classes (or labelled data, y in an .npz, "
                              "to take it from).")
        if config.whiten and config.whitening_basis is None:
            raise ConfigError(f"This {self.name} has --model.whiten but no whitening; train it on data (which "
                              "fills --model.whitening_mean and --model.whitening_basis), or drop --model.whiten.")
        # the players' space: whitened features (--model.whiten), or the scaled ones themselves
        self.whitening = Whitening(config.whitening_mean, config.whitening_basis) if config.whiten else None
        self.generator_ema: RecurrentGenerator | None = None  # crnngan / rcgan with ema_decay: set below
        self.build_networks(config)
        self.preview_real: torch.Tensor | None = None

    def build_networks(self, config: RGANConfig) -> None:
        self.generator = RecurrentGenerator(config, self.num_classes or 0)
        self.discriminator = RecurrentDiscriminator(config, self.num_classes or 0)
        # The average of the generator's weights that samples come from (None: the generator itself).
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if config.ema_decay else None
        self._step = 0  # steps already taken, set by on_train_step; the EMA's update count

    @property
    def scaling(self) -> Scaling:
        """The training data's per-feature scale (identity when the config holds none)."""
        c = self.config
        if c.feature_min is None:
            return Scaling([0.0] * c.features, [1.0] * c.features)
        return Scaling(c.feature_min, c.feature_max)

    # --- training ------------------------------------------------------------------------------
    def training_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        c = self.config
        scaled, labels, lengths = batch["sequences"], self.batch_labels(batch), batch.get("lengths")
        real = self.whitening.whiten(scaled) if self.whitening is not None else scaled
        size = real.shape[0] // c.discriminator_steps
        if size * c.discriminator_steps != real.shape[0]:
            raise ConfigError(f"{batch_option(real.shape[0])} must split into --model.discriminator_steps "
                              f"{c.discriminator_steps} equal parts.")
        for i in range(c.discriminator_steps):
            part = slice(i * size, (i + 1) * size)
            real_part, part_labels = real[part], labels[part] if labels is not None else None
            part_lengths = lengths[part] if lengths is not None else None
            noise = self.draw_noise(size, c.seq_len, real.device)
            with torch.set_grad_enabled(i == c.discriminator_steps - 1):  # only the last fakes train G
                fake = pad_with(self.generator(noise, part_labels), part_lengths, 0.0)
            terms, real_logits, fake_logits = self._discriminator_update(real_part, fake.detach(), part_labels,
                                                                         part_lengths, optimizers["discriminator"])
        g_loss = self._generator_update(fake, part_labels, part_lengths, optimizers["generator"], real_part)
        self._step += 1  # on_train_step sets it exactly; this keeps a hand-written loop counting
        self.keep_preview(scaled, lengths)
        return {
            **{name: value.detach() for name, value in terms.items()},
            "loss_generator": g_loss.detach(),
            "d_real_logit": real_logits.detach().mean(),
            "d_fake_logit": fake_logits.detach().mean(),
            # Spread across the batch, averaged over steps and features: a collapsing G drives it to 0.
            "fake_spread": RecurrentDiscriminator.batch_spread(fake.detach(), part_lengths).mean(),
            "real_spread": RecurrentDiscriminator.batch_spread(real_part, part_lengths).mean(),
        }

    def counted_logits(self, discriminator, x, labels, lengths):
        """The discriminator's logits of ``x`` that count: per sequence (B, 1), or per valid step
        (a flat (valid steps,) tensor when ``lengths`` is given), so the losses' means skip padding.
        Under WGAN-GP with ``lengths``, each sequence's per-step logits averaged over its valid steps
        (B,) instead: the critic the penalty constrains (:meth:`sequence_scores`), each sequence
        weighted alike rather than by its length."""
        logits = discriminator(x, labels, lengths)
        if lengths is None or not plain(self.discriminator).per_step:
            return logits
        if self.config.loss == "wasserstein_gp":
            return valid_step_mean(logits, lengths)
        return logits[length_mask(lengths, x.shape[1])]

    def sequence_scores(self, x, labels, lengths):
        """The critic's value of each sequence (B,): its logit, or its per-step logits averaged over
        its valid steps — the function whose input gradient WGAN-GP holds at norm 1. (The gradient
        of the per-step logits' sum would be about T times larger, a penalty T times too strong.)"""
        logits = self.discriminator(x, labels, lengths)
        if not plain(self.discriminator).per_step:
            return logits[:, 0]
        return logits.mean(1) if lengths is None else valid_step_mean(logits, lengths)

    def _discriminator_update(self, real, fake, labels, lengths, optimizer):
        """One discriminator update; returns its unweighted terms by logged name (the adversarial loss,
        and WGAN-GP's penalty), and the counted real and fake logits. The update descends
        ``loss_discriminator + gradient_penalty · penalty_gradient``."""
        c = self.config
        optimizer.zero_grad(set_to_none=True)
        real_logits = self.counted_logits(self.discriminator, real, labels, lengths)
        fake_logits = self.counted_logits(self.discriminator, fake, labels, lengths)
        terms = {"loss_discriminator": discriminator_loss(c.loss, real_logits, fake_logits)}
        loss = terms["loss_discriminator"]
        if c.loss == "wasserstein_gp":
            # The penalty's double backward through an RNN needs the non-cuDNN path on CUDA.
            with torch.backends.cudnn.flags(enabled=False):
                dual_norm = None if not c.sobolev else partial(sobolev_dual_norms, weight=c.sobolev, lengths=lengths)
                terms["penalty_gradient"] = gradient_penalty(lambda x: self.sequence_scores(x, labels, lengths),
                                                             real, fake, dual_norm=dual_norm)
            loss = loss + c.gradient_penalty * terms["penalty_gradient"]
        loss.backward()
        optimizer.step()
        return terms, real_logits, fake_logits

    def _generator_update(self, fake, labels, lengths, optimizer, real):
        """One generator update; ``real``, the sequences the fakes were paired with (same labels and
        lengths), is judged again by the updated D for the rsgan loss."""
        optimizer.zero_grad(set_to_none=True)
        self.discriminator.requires_grad_(False)
        try:
            # The plain module: D's weights need no gradient here, and a DDP wrapper must not wait for one.
            discriminator = plain(self.discriminator)
            logits = self.counted_logits(discriminator, fake, labels, lengths)
            real_logits = None
            if self.config.loss == "rsgan":
                with torch.no_grad():
                    real_logits = self.counted_logits(discriminator, real, labels, lengths)
            loss = generator_loss(self.config.loss, logits, real_logits)
            loss.backward()
        finally:
            self.discriminator.requires_grad_(True)
        optimizer.step()
        if self.generator_ema is not None:
            ema_update(self.generator_ema, plain(self.generator), self.config.ema_decay, updates=self._step + 1)
        return loss

    def keep_preview(self, real: torch.Tensor, lengths: torch.Tensor | None) -> None:
        """Keep the batch's first sequences for the preview plot, NaN past their lengths (not drawn)."""
        self.preview_real = pad_with(real[:PREVIEW_REAL].detach(),
                                     lengths[:PREVIEW_REAL] if lengths is not None else None, math.nan)

    def monitor(self, logged: dict[str, float]) -> list[str]:
        real, fake = logged.get("real_spread"), logged.get("fake_spread")
        if real and fake is not None and fake < 0.1 * real:
            # An untrained generator's sequences differ little too: collapse is what lasts.
            return [f"generated sequences barely differ from each other (spread {fake:.3f} vs {real:.3f} in the "
                    "data): mode collapse if it lasts past the first few hundred steps; try --model.loss "
                    "wasserstein_gp with --model.discriminator_steps 5 (the packaged recipes' loss) or "
                    "--model.minibatch_std true"]
        return []

    # --- sampling ------------------------------------------------------------------------------
    def draw_lengths(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """n lengths (n,) int64 drawn from the training lengths' histogram; None for fixed-length data."""
        counts = self.config.length_counts
        if counts is None:
            return None
        weights = torch.tensor(counts, dtype=torch.double)
        return (torch.multinomial(weights, n, replacement=True, generator=generator) + 1).to(self.device)

    noise_distribution = staticmethod(torch.randn)  # of the generator's noise: N(0, 1)

    def draw_noise(self, n: int, steps: int, device: torch.device,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """The generator's noise (n, steps, sum of ``config.noise_widths``): the values drawn once per
        sequence (repeated at every step), then those drawn afresh at every step. With a generator each
        kind is drawn step by step (:func:`noise_like`), so a longer draw begins with a shorter one."""
        once, fresh = self.config.noise_widths
        parts = []
        if once:
            parts.append(noise_like(n, 1, once, device, generator, self.noise_distribution).expand(-1, steps, -1))
        if fresh:
            parts.append(noise_like(n, steps, fresh, device, generator, self.noise_distribution))
        return torch.cat(parts, dim=-1)

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                 lengths: torch.Tensor | None = None, steps: int | None = None,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
        """n sequences (n, T, F) on the scaled [0, 1] axis, from the generator (its EMA when there is
        one) in eval mode; the steps past ``lengths`` (n,) (None: all valid) are 0. ``steps``: T
        (default: the training window). ``noise``: the generator's noise (n, T, D), drawn beforehand
        with :meth:`draw_noise` (so that sequences drawn in chunks are those of one draw); None:
        drawn here with ``generator``."""
        if labels is None:
            labels = self.class_labels(n)
        elif self.num_classes and len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < self.num_classes:
            raise ConfigError(f"Class labels {int(labels.min())} to {int(labels.max())} are outside this model's "
                              f"classes 0 to {self.num_classes - 1}; pass labels of the training classes.")
        c = self.config
        net = self.generator_ema if self.generator_ema is not None else self.generator
        if noise is None:
            noise = self.draw_noise(n, steps or c.seq_len, self.device, generator)
        with evaluating(net):
            # NaN would pass for padding in the written samples and poison the scores: refused.
            generated = refuse_non_finite(net(noise, labels), "sequences with NaN or infinite values")
        if self.whitening is not None:
            generated = self.whitening.unwhiten(generated)
        return pad_with(generated, lengths, 0.0)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, label: int | None = None,
               steps: int | None = None) -> torch.Tensor:
        """n sequences (n, T, F) in the original units of the training data; for variable-length data,
        lengths drawn from the training ones and NaN at the steps past them. A feature the training data
        held only whole numbers in (a count, a volume) is rounded to whole numbers.

        ``steps`` (``genlab sample --long``): n series of that many steps each, from the recurrence
        running on past the training window — one continuous series, not windows stitched together
        (which would jump at every seam); it begins with the steps a window of the same seed has.
        The generator was trained on windows only: how far beyond them its series stay realistic is
        for the user to check (plot them)."""
        lengths = self.draw_lengths(n, generator)  # drawn even when unused, so the noise after it is the same
        if steps is not None:
            lengths = None
        scaled = self.generate(n, generator, self.class_labels(n, label), lengths, steps)
        values = self.scaling.unscale(scaled.double())  # float64: a column far from 0 keeps its digits
        if any(self.config.whole_numbers or ()):
            values = torch.where(torch.tensor(self.config.whole_numbers, device=values.device), values.round(), values)
        return pad_with(values, lengths, math.nan)

    def older_weights(self, key: str, saved: tuple[int, ...], needed: tuple[int, ...]) -> str | None:
        label = getattr(getattr(self.generator, "label", None), "dim", 0)  # 0: no label embedding (timegan, latentgan)
        if key == "generator.static.0.weight" and label and needed[1] - saved[1] == label:
            return ("until 5 December a conditional model drew its static features from noise alone; they now "
                    "read the label too")
        return None

    def save_samples(self, samples: torch.Tensor, path: Path, columns: int | None = None,
                     labels: torch.Tensor | None = None) -> Path:
        """Write samples (N, T, F) in original units by suffix: ``.csv`` (one row per valid step, with
        ``sequence`` and ``step`` columns, and ``label`` given ``labels``), ``.npz`` (x of shape (N, T,
        F), the features' names as ``columns`` (F,), with ``lengths`` (N,) when some steps are NaN
        padding, and ``y`` (N,) given ``labels``) or
        ``.png`` (a plot)."""
        path = Path(path)
        values = samples.detach().double().cpu().numpy()
        valid = ~np.isnan(values).all(-1)  # (N, T): padded steps are NaN in every feature
        suffix = path.suffix.lower()
        if suffix == ".csv":
            n, steps, _ = values.shape
            index = np.stack(np.meshgrid(np.arange(n), np.arange(steps), indexing="ij"), -1)[valid]
            names, columns = self.decoded_columns(values[valid])
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            keys = [index[:, 0].tolist(), index[:, 1].tolist()]
            if labels is not None:  # each step's row names its sequence's class
                keys.append(labels.cpu().numpy()[index[:, 0]].tolist())
            writer.writerow([*sample_index_columns(labels is not None), *names])
            writer.writerows(zip(*keys, *columns))
            return atomic_write_text(path, buffer.getvalue())
        if suffix == ".npz":  # the layout genlab reads: static features apart, as static (N, S)
            dynamic = values.shape[-1] - self.config.static_features
            arrays = {"x": values[..., :dynamic]}
            if self.config.columns:  # their names (a category column's features are its one-hot scores)
                arrays["columns"] = np.array(self.config.columns[:dynamic])
            arrays["reading"] = np.array(json.dumps(self.data_reading(dynamic)))  # for 'genlab eval FILE --ref DATA'
            if self.config.static_features:
                arrays["static"] = values[:, 0, dynamic:]
            if not valid.all():
                arrays["lengths"] = valid.sum(1).astype(np.int64)
            if labels is not None:
                arrays["y"] = labels.cpu().numpy().astype(np.int64)
            return atomic_write_npz(path, arrays)
        if suffix == ".png":
            return save_sequence_plot(self.scaling.scale(samples.double()).float(), path, columns=columns or 8,
                                      names=self.config.columns)
        raise ConfigError(f"--out {path} has an unknown suffix; sequences are written as .csv, .npz or .png.")

    def data_reading(self, dynamic: int) -> dict[str, Any]:
        """How the model read its training data — what held-out data must be read with to compare with
        its samples — as a sample .npz records it (``genlab.data.sample_files``)."""
        c = self.config
        return {"reverse": c.data_reverse, "time_column": c.data_time_column, "fill": c.data_fill,
                "data_columns": c.data_header[:dynamic] if c.data_header else None}

    def decoded_columns(self, rows: np.ndarray) -> tuple[list[str], list[list]]:
        """Generated steps (rows, F) in original units as CSV columns (names, values): a one-hot
        encoded text column becomes one column again, holding its most likely category; the others
        are numbers (10 significant digits)."""
        names = self.config.columns or [f"feature_{i}" for i in range(rows.shape[-1])]
        groups = iter(self.config.encoding or [])
        group = next(groups, None)
        header, columns, i = [], [], 0
        while i < len(names):
            if group is not None and names[i:i + len(group[1])] == encoded_names(*group):
                categories = np.array(group[1], dtype=object)
                header.append(group[0])
                columns.append(categories[rows[:, i:i + len(group[1])].argmax(1)].tolist())
                i += len(group[1])
                group = next(groups, None)
            else:
                header.append(names[i])
                columns.append([format(value, ".10g") for value in rows[:, i].tolist()])
                i += 1
        return header, columns

    def write_preview(self, path: Path, count: int, seed: int) -> Path:
        """A PNG of the last training batch's first sequences above ``count`` (at most 16) fixed samples."""
        generator = torch.Generator().manual_seed(seed)
        lengths = self.draw_lengths(min(count, 16), generator)
        synthetic = pad_with(self.generate(min(count, 16), generator, lengths=lengths), lengths, math.nan)
        return save_sequence_plot(synthetic, path.with_suffix(".png"), real=self.preview_real, names=self.config.columns)

    def evaluate(self, options: EvalOptions) -> dict[str, Any]:
        """The TimeGAN scores against held-out data (see ``evaluation.py`` for the protocol)."""
        from genlab.models.rgan.evaluation import evaluate_sequences

        return evaluate_sequences(self, options)

    def evaluation_memory_options(self, options: EvalOptions) -> list[str]:
        # The scores' classifiers take all reference sequences, and as many synthetic ones, at once;
        # --batch-size only chunks the drawing of the synthetic ones.
        return ["max_examples"]


def valid_step_mean(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per-step logits (B, T) averaged over each sequence's valid steps → (B,)."""
    return torch.where(length_mask(lengths, logits.shape[1]), logits, 0.0).sum(1) / lengths


def pad_with(x: torch.Tensor, lengths: torch.Tensor | None, value: float) -> torch.Tensor:
    """``x`` (B, T, F) with ``value`` at the steps past each sequence's length (B,); ``x`` itself when None."""
    if lengths is None:
        return x
    return x.masked_fill(~length_mask(lengths, x.shape[1])[..., None], value)


class RCGAN(RecurrentGAN):
    name = "rcgan"
    config_class = RCGANConfig

