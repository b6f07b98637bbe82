"""Adversarial text generation: one generator, trained by maximum likelihood and then, for
``seqgan`` and ``relgan``, against a discriminator.

``mle`` trains by maximum likelihood (teacher forcing, Adam at ``lr_pretrain``) throughout;
``seqgan`` and ``relgan`` start with it for ``pretrain_steps``. During the last
``discriminator_pretrain_steps`` of those the discriminator trains too, as in the adversarial
phase (SeqGAN pretrains its D). The
adversarial phase splits each batch into ``discriminator_steps + 1`` parts: one D update on each
of the first ``discriminator_steps`` parts, then one G update on the last.

Generated sequences are sampled step by step without gradient. For relgan's adversarial training
token t is y_t = argmax(o_t + g_t), o_t the logits and g_t Gumbel noise — an exact sample of
softmax(o_t) (the Gumbel-max trick) whose noise the relaxation below reuses; seqgan's sequences,
its rollouts and ``sample`` draw by inverse CDF (:func:`genlab.nn.discrete.sample_token`),
which needs no noise per category.

relgan (Gumbel-softmax; Nie et al. 2019): the generator's output at t is relaxed to
ŷ_t = softmax(β (o_t + g_t)) with the same noise, so argmax ŷ_t = y_t up to near-ties (the
sampling and the gradient pass compute o_t separately, and their last bits can differ, in bf16
more often than in fp32; the straight-through one-hot is therefore y_t's). The next input stays
the hard token y_t, as in RelGAN, so the logits of a whole sampled sequence come from one
teacher-forced pass over it — the gradient pass — instead of a differentiable sampling loop.
D sees ŷ (B, T, V) and the one-hot real data; the loss is RSGAN (or non-saturating); the inverse
temperature β rises as β_max^(n/N) over the first N = ``temperature_steps`` adversarial steps.
With ``straight_through`` D is shown the one-hot y_t itself and G gets the gradient of ŷ_t.

seqgan (policy gradient; Yu et al. 2017): the reward of prefix y_{1..t} is the mean of σ(D(·))
over ``rollouts`` completions of it sampled from the current generator (of the whole sequence at
t = T); the loss is −mean_t log p(y_t | y_<t)·(Q_t − b_t), with b_t the batch mean of Q_t as a
variance-reducing baseline (SeqGAN uses none, and a delayed copy of G for the rollouts).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from genlab.errors import ConfigError
from genlab.fileio import atomic_write_text
from genlab.models.base import EvalOptions, GenerativeModel, evaluating
from genlab.models.gan.losses import discriminator_loss, generator_loss
from genlab.models.textgan.config import MLEConfig, RelGANConfig, SeqGANConfig, TextGANConfig
from genlab.models.textgan.networks import build_discriminator, build_generator
from genlab.nn.discrete import gumbel_noise, gumbel_softmax, sample_token, tempered
from genlab.tokenizers import IdTokenizer, SentenceTokenizer, Tokenizer, unknown_prompt_warning
from genlab.train.distributed import plain

Picker = Callable[[torch.Tensor, int], torch.Tensor]  # (logits (B, V), position) → tokens (B,)


def sampling_picker(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                    generator: torch.Generator | None = None) -> Picker:
    """Draw each token from softmax(logits / temperature) restricted to the top-k / top-p tokens;
    temperature 0 is greedy."""
    def pick(logits: torch.Tensor, position: int) -> torch.Tensor:
        return sample_token(logits, temperature, top_k, top_p, generator)
    return pick


class TextGAN(GenerativeModel):
    """The maximum-likelihood baseline (``mle``); the adversarial models subclass it."""

    family = "textgan"
    name = "mle"
    config_class = MLEConfig
    adversarial: ClassVar[bool] = False  # trained against a discriminator after its pretraining (seqgan, relgan)
    sample_suffixes = (".txt",)
    ddp_modules = ("generator",)

    def __init__(self, config: TextGANConfig) -> None:
        super().__init__(config)
        c = config
        if c.split is None or c.seq_len is None or (c.vocab if c.split != "ids" else c.vocab_size) is None:
            raise ConfigError(f"A {self.name} model needs --model.split, --model.seq_len and --model.vocab (or "
                              "--model.vocab_size for token ids), or training data to take them from.")
        self.tokenizer: Tokenizer = IdTokenizer(c.vocab_size) if c.split == "ids" else SentenceTokenizer(c.vocab,
                                                                                                         c.split)
        self.generator = build_generator(c, self.vocab_size)
        self.step = 0  # set by the trainer: the phase and the temperature are pure functions of it

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def start(self) -> int:
        return self.vocab_size  # the start symbol's id: one past the vocabulary

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        return {"pretrain": torch.optim.Adam(self.generator.parameters(), lr=c.lr_pretrain, betas=c.betas)}

    def on_train_step(self, step: int, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        self.step = step

    @property
    def pretraining(self) -> bool:
        return not self.adversarial or self.step < self.config.pretrain_steps

    # --- maximum likelihood --------------------------------------------------------------------
    def inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """The generator's inputs for tokens (B, T): the start symbol, then tokens 0..T-2."""
        start = torch.full_like(tokens[:, :1], self.start)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    def token_nll(self, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """−log p(y_t | y_<t) of every token of tokens (B, T), teacher-forced → (B, T); with a
        ``temperature``, of the distribution that sampling at it draws from, softmax(logits / T)."""
        logits, _ = self.generator(self.inputs(tokens))
        return F.cross_entropy(tempered(logits, temperature).transpose(1, 2), tokens, reduction="none")

    def training_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        real = batch["tokens"]
        if self.pretraining:
            loss = self.token_nll(real).mean()
            self.update_generator(optimizers["pretrain"], loss)
            return {"loss_mle": loss.detach()}
        return self.adversarial_step(real, optimizers)

    def update_generator(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.generator.parameters(), self.config.grad_clip, foreach=True)
        optimizer.step()

    def adversarial_step(self, real: torch.Tensor, optimizers: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    # --- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def continue_tokens(self, prefix: torch.Tensor, pick: Picker, length: int | None = None) -> torch.Tensor:
        """Prefixes (B, P) continued to ``length`` (default seq_len) tokens, each new one chosen by
        ``pick`` from the generator's logits → (B, length)."""
        length = length or self.config.seq_len
        generator = plain(self.generator)
        batch, known = prefix.shape
        tokens = torch.empty(batch, length, dtype=torch.long, device=prefix.device)
        tokens[:, :known] = prefix
        first = torch.cat([torch.full_like(tokens[:, :1], self.start), prefix], dim=1)  # (B, P + 1)
        logits, state = generator(first, generator.new_state(batch))
        logits = logits[:, -1]
        for t in range(known, length):
            tokens[:, t] = pick(logits, t)
            if t + 1 < length:
                logits, state = generator(tokens[:, t:t + 1], state)
                logits = logits[:, -1]
        return tokens

    def sample_tokens(self, n: int, generator: torch.Generator | None = None,
                      temperature: float = 1.0) -> torch.Tensor:
        """n sequences (n, seq_len) of token ids drawn from softmax(logits / temperature)."""
        empty = torch.empty(n, 0, dtype=torch.long, device=self.device)
        with evaluating(self):
            return self.continue_tokens(empty, sampling_picker(temperature, generator=generator))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, label: int | None = None) -> list[str]:
        """n generated sentences (text, ended at the first <eos>); ``label`` must be None (unconditional)."""
        self.class_labels(n, label)  # the shared message for --class on an unconditional model
        return [self.tokenizer.decode(row) for row in self.sample_tokens(n, generator).tolist()]

    def save_samples(self, samples: list[str], path: Path, columns: int | None = None,
                     labels: torch.Tensor | None = None) -> Path:
        """Write sentences to a text file, one per line."""
        return atomic_write_text(Path(path), "".join(f"{s}\n" for s in samples))

    def write_preview(self, path: Path, count: int, seed: int) -> Path:
        """A text file of ``count`` (at most 16) sentences drawn with a fixed seed."""
        sentences = self.sample(min(count, 16), torch.Generator().manual_seed(seed))
        return self.save_samples(sentences, path.with_suffix(".txt"))

    def generate(self, prompt: str, n: int = 1, max_new_tokens: int = 256, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
                 use_cache: bool = True) -> Iterator[torch.Tensor]:
        """The tokens (n,) after ``prompt``, one step at a time, up to the model's ``seq_len`` tokens
        in all (its trained length) or ``max_new_tokens``; ``use_cache`` is accepted for the CLI."""
        prompt_ids = torch.as_tensor(self.tokenizer.encode(prompt, source="--prompt"), device=self.device)
        unknown = self.tokenizer.unknown_pieces(prompt)
        if unknown:
            tqdm.write(unknown_prompt_warning(unknown), file=sys.stderr)
        if len(prompt_ids) >= self.config.seq_len:
            raise ConfigError(f"--prompt has {len(prompt_ids)} tokens; this model generates sequences of "
                              f"{self.config.seq_len}, so give a shorter prompt.")
        length = min(self.config.seq_len, len(prompt_ids) + max_new_tokens)
        with evaluating(self):
            tokens = self.continue_tokens(prompt_ids.repeat(n, 1), sampling_picker(temperature, top_k, top_p,
                                                                                   generator), length)
        return iter(tokens[:, len(prompt_ids):].unbind(dim=1))

    def evaluate(self, options: EvalOptions) -> dict[str, Any]:
        """BLEU, self-BLEU, NLL_gen and NLL_oracle (see ``evaluation.py`` for the protocol)."""
        from genlab.models.textgan.evaluation import evaluate_textgan

        return evaluate_textgan(self, options)

    def evaluation_memory_options(self, options: EvalOptions) -> list[str]:
        # --n sequences are sampled at once; --batch-size chunks the references' NLL; sentence
        # references are held at once for BLEU. Token-id references are read whole whatever
        # --max-examples, and without --data there are none (both options are refused then).
        if self.config.split != "ids":
            return ["samples", "batch_size", "max_examples"]
        return ["samples", "batch_size"] if options.data is not None else ["samples"]


class AdversarialTextGAN(TextGAN):
    """The parts shared by seqgan and relgan: the discriminator and its update."""

    adversarial = True
    ddp_modules = ("generator", "discriminator")

    def __init__(self, config: TextGANConfig) -> None:
        super().__init__(config)
        self.discriminator = build_discriminator(config, self.vocab_size)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        return {
            **super().configure_optimizers(),
            "generator": torch.optim.Adam(self.generator.parameters(), lr=c.lr_generator, betas=c.betas),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=c.lr_discriminator, betas=c.betas),
        }

    def losses(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(L_D, L_G) of the configured loss."""
        kind = self.config.loss
        return discriminator_loss(kind, real_logits, fake_logits), generator_loss(kind, fake_logits, real_logits)

    def fake_batch(self, n: int, device: torch.device) -> torch.Tensor:
        """What D is shown as fake: token ids (n, T) or relaxed sequences (n, T, V); no gradient."""
        raise NotImplementedError

    def training_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        # Checked from the first step, not only once adversarial training starts.
        size, parts = batch["tokens"].shape[0], self.config.discriminator_steps + 1
        if size % parts:
            raise ConfigError(f"Each process's batch of {size} (--train.batch_size / processes) must split into "
                              f"--model.discriminator_steps + 1 = {parts} equal parts.")
        logged = super().training_step(batch, optimizers)
        c = self.config
        if self.pretraining and self.step >= c.pretrain_steps - c.discriminator_pretrain_steps:
            # The last steps of pretraining also train D against the pretrained G (SeqGAN does this
            # before its policy gradient: an untrained D's rewards are all about 0.5).
            logged.update(self.discriminator_updates(batch["tokens"].chunk(parts)[:-1], optimizers["discriminator"]))
        return logged

    def discriminator_updates(self, chunks: tuple[torch.Tensor, ...],
                              optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        """One D update per chunk of real sequences, each against a fresh generated batch."""
        for chunk in chunks:
            fake = self.fake_batch(chunk.shape[0], chunk.device)
            optimizer.zero_grad(set_to_none=True)
            real_logits, fake_logits = self.discriminator(chunk), self.discriminator(fake)
            d_loss = self.losses(real_logits, fake_logits)[0]
            d_loss.backward()
            optimizer.step()
        return {"loss_discriminator": d_loss.detach(), "d_real_logit": real_logits.detach().mean(),
                "d_fake_logit": fake_logits.detach().mean()}

    def adversarial_step(self, real: torch.Tensor, optimizers: dict) -> dict[str, torch.Tensor]:
        chunks = real.chunk(self.config.discriminator_steps + 1)
        logged = self.discriminator_updates(chunks[:-1], optimizers["discriminator"])
        return {**logged, **self.generator_step(chunks[-1], optimizers["generator"])}

    def generator_step(self, real: torch.Tensor, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class RelGAN(AdversarialTextGAN):
    name = "relgan"
    config_class = RelGANConfig

    @property
    def inverse_temperature(self) -> float:
        """β = β_max^(n/N) after n adversarial steps, N = temperature_steps; β_max from then on."""
        c = self.config
        progress = min(max(self.step - c.pretrain_steps, 0) / c.temperature_steps, 1.0)
        return c.max_inverse_temperature ** progress

    def gumbel_tokens(self, n: int, noise: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """n sequences (n, T) whose token t is argmax(logits_t + noise[:, t]), noise (n, T, V), and
        the logits (n, V) each token was drawn from (no gradient; a list, stacked only where used)."""
        empty = torch.empty(n, 0, dtype=torch.long, device=noise.device)
        steps = []

        def pick(logits: torch.Tensor, t: int) -> torch.Tensor:
            steps.append(logits)
            return (logits + noise[:, t]).argmax(dim=-1)

        return self.continue_tokens(empty, pick), steps

    def relax(self, logits: torch.Tensor, noise: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return gumbel_softmax(logits, 1 / self.inverse_temperature, noise, hard=self.config.straight_through,
                              tokens=tokens)

    def relaxed_sample(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """n sampled sequences (n, T) and their Gumbel-softmax relaxations (n, T, V), the latter
        differentiable in the generator's weights: the sampled tokens are fed back through the
        generator in one teacher-forced pass, whose logits are the sampling pass's."""
        noise = gumbel_noise((n, self.config.seq_len, self.vocab_size), device=device)
        tokens, _ = self.gumbel_tokens(n, noise)
        logits, _ = self.generator(self.inputs(tokens))
        return tokens, self.relax(logits, noise, tokens)

    def fake_batch(self, n: int, device: torch.device) -> torch.Tensor:
        # D's fakes need no gradient, so the sampling pass's own logits serve: no second pass.
        with torch.no_grad():
            noise = gumbel_noise((n, self.config.seq_len, self.vocab_size), device=device)
            tokens, steps = self.gumbel_tokens(n, noise)
            return self.relax(torch.stack(steps, dim=1), noise, tokens)

    def generator_step(self, real: torch.Tensor, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        fake = self.relaxed_sample(real.shape[0], real.device)[1]
        discriminator = plain(self.discriminator)  # D's weights need no gradient here
        discriminator.requires_grad_(False)
        try:
            loss = self.losses(discriminator(real), discriminator(fake))[1]
            self.update_generator(optimizer, loss)
        finally:
            discriminator.requires_grad_(True)
        return {"loss_generator": loss.detach(),
                "inverse_temperature": torch.tensor(self.inverse_temperature, device=real.device)}


class SeqGAN(AdversarialTextGAN):
    name = "seqgan"
    config_class = SeqGANConfig

    def fake_batch(self, n: int, device: torch.device) -> torch.Tensor:
        # Hard samples only: inverse-CDF draws, no (n, T, V) Gumbel noise to keep for a relaxation.
        return self.continue_tokens(torch.empty(n, 0, dtype=torch.long, device=device), sampling_picker())

    @torch.no_grad()
    def rewards(self, tokens: torch.Tensor) -> torch.Tensor:
        """Q (B, T): the mean probability D gives to ``rollouts`` completions of each prefix y_1..y_t
        (t < T), and to the whole sequence (t = T). D runs without dropout."""
        discriminator = plain(self.discriminator)
        batch, length = tokens.shape
        rollouts = self.config.rollouts
        q = torch.empty(batch, length, device=tokens.device)
        with evaluating(discriminator):
            for t in range(1, length):
                completed = self.continue_tokens(tokens[:, :t].repeat(rollouts, 1), sampling_picker())  # (R·B, T)
                q[:, t - 1] = discriminator(completed).sigmoid().view(rollouts, batch).mean(0)
            q[:, -1] = discriminator(tokens).sigmoid()
        return q

    def generator_step(self, real: torch.Tensor, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        tokens = self.fake_batch(real.shape[0], real.device)
        q = self.rewards(tokens)
        advantage = q - q.mean(dim=0)
        loss = (self.token_nll(tokens) * advantage).mean()  # −log p · advantage
        self.update_generator(optimizer, loss)
        return {"loss_generator": loss.detach(), "reward": q[:, -1].mean()}


MODELS = {"mle": TextGAN, "seqgan": SeqGAN, "relgan": RelGAN}
