"""The transformer text generator: next-token prediction with AdamW, warmup + cosine decay,
gradient clipping and gradient accumulation; text samples as previews."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from genlab.errors import ConfigError, DataError
from genlab.fileio import atomic_write_text
from genlab.models.base import EvalOptions, GenerativeModel, evaluating
from genlab.models.transformer.config import TransformerConfig
from genlab.models.transformer.evaluation import evaluate_text
from genlab.models.transformer.generation import generate
from genlab.models.transformer.network import TransformerNet
from genlab.tokenizers import Tokenizer, load_tokenizer, unknown_prompt_warning
from genlab.train.distributed import batch_option
from genlab.train.schedule import set_learning_rate, warmup_cosine


def learning_rate(c: TransformerConfig, step: int) -> float:
    """Linear warmup to ``lr`` over ``warmup_steps``, then cosine decay to ``min_lr`` at ``decay_steps``
    (with ``decay_steps`` 0, ``lr`` from the end of the warmup on)."""
    return warmup_cosine(step, c.lr, c.min_lr, c.warmup_steps, c.decay_steps)


class Transformer(GenerativeModel):
    family = "transformer"
    name = "transformer"
    sample_suffixes = (".txt",)
    config_class = TransformerConfig
    ddp_modules = ("net",)

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        if config.tokenizer != "byte" and config.vocab is None:
            raise ConfigError(f"A {config.tokenizer}-level transformer needs --model.vocab (or training text to "
                              "build it from).")
        self.tokenizer: Tokenizer = load_tokenizer(config.tokenizer, config.vocab or [])
        self.net = TransformerNet(config, self.tokenizer.vocab_size)

    # --- training ------------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        # Decay only the weight matrices of linear layers: decaying norms, biases and embeddings
        # pulls them toward 0 for no regularising benefit.
        embeddings = {id(m.weight) for m in self.net.modules() if isinstance(m, torch.nn.Embedding)}
        params = list(self.net.parameters())
        decay = [p for p in params if p.dim() == 2 and id(p) not in embeddings]
        rest = [p for p in params if p.dim() != 2 or id(p) in embeddings]
        groups = [{"params": decay, "weight_decay": c.weight_decay}, {"params": rest, "weight_decay": 0.0}]
        return {"adamw": torch.optim.AdamW(groups, lr=learning_rate(c, 0), betas=c.betas, fused=True)}

    def on_train_step(self, step: int, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        set_learning_rate(optimizers["adamw"], learning_rate(self.config, step))

    def training_step(self, batch: dict, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        c = self.config
        tokens = batch["tokens"]  # (B, context + 1)
        if tokens.shape[0] % c.grad_accumulation:
            raise ConfigError(f"{batch_option(tokens.shape[0])}: each process's batch must be divisible by "
                              f"--model.grad_accumulation {c.grad_accumulation}.")
        optimizer = optimizers["adamw"]
        optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), device=tokens.device)
        parts = tokens.chunk(c.grad_accumulation)
        for i, part in enumerate(parts):
            # Under DDP the processes average gradients once, in the last part's backward pass.
            last = i == len(parts) - 1
            with self.net.no_sync() if isinstance(self.net, DistributedDataParallel) and not last else nullcontext():
                logits = self.net(part[:, :-1])  # (b, T, V)
                loss = F.cross_entropy(logits.flatten(0, 1), part[:, 1:].flatten())
                (loss / c.grad_accumulation).backward()
            total += loss.detach()
        if c.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), c.grad_clip, foreach=True)
        optimizer.step()
        return {"loss": total / c.grad_accumulation}

    # --- generation ----------------------------------------------------------------------------
    def encode_prompt(self, prompt: str, batch: int = 1) -> torch.Tensor:
        """Prompt text → ids (batch, P); an empty prompt starts from a newline, or from token 0 (a word
        vocabulary's ``<unk>``) where the vocabulary has none."""
        ids = self.tokenizer.encode(prompt, source="--prompt")
        unknown = self.tokenizer.unknown_pieces(prompt)
        if unknown:
            tqdm.write(unknown_prompt_warning(unknown), file=sys.stderr)
        if len(ids) == 0:
            try:  # a word vocabulary without a newline would encode it as <unk> silently
                ids = [0] if self.tokenizer.unknown_pieces("\n") else self.tokenizer.encode("\n")[:1]
            except DataError:  # a char vocabulary without a newline refuses it
                ids = [0]
        return torch.as_tensor(ids, device=self.device).repeat(batch, 1)

    def generate(self, prompt: str, n: int = 1, max_new_tokens: int = 256, **decoding: Any) -> Iterator[torch.Tensor]:
        """An iterator over the next token of each of ``n`` continuations of ``prompt``, (n,) per
        step; takes the options of :func:`genlab.models.transformer.generation.generate`.

        The prompt is encoded now, not at the first step, so a prompt the tokenizer cannot encode
        fails before a caller streams anything (such as the prompt itself) to its output.
        """
        ids = self.encode_prompt(prompt, n)

        def steps() -> Iterator[torch.Tensor]:
            with evaluating(self):
                yield from generate(self.net, ids, max_new_tokens, **decoding)

        return steps()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, prompt: str = "",
               max_new_tokens: int | None = None, **decoding: Any) -> list[str]:
        """``n`` texts of ``max_new_tokens`` (default ``preview_tokens``) tokens continuing ``prompt``."""
        length = self.config.preview_tokens if max_new_tokens is None else max_new_tokens
        steps = list(self.generate(prompt, n, length, generator=generator, **decoding))
        if not steps:  # max_new_tokens 0
            return [prompt] * n
        ids = torch.stack(steps, dim=1).tolist()  # (n, max_new_tokens)
        return [prompt + self.tokenizer.decode(row) for row in ids]

    def save_samples(self, samples: list[str], path: Path, columns: int | None = None,
                     labels: torch.Tensor | None = None) -> Path:
        """Write texts to a text file, each under a ``--- sample i ---`` line (a text may span lines)."""
        return atomic_write_text(Path(path), "".join(f"--- sample {i + 1} ---\n{text}\n\n"
                                                     for i, text in enumerate(samples)))

    def write_preview(self, path: Path, count: int, seed: int) -> Path:
        return self.save_samples(self.sample(min(count, 4), torch.Generator().manual_seed(seed)),
                                 path.with_suffix(".txt"))

    def evaluate(self, options: EvalOptions) -> dict[str, Any]:
        """Validation loss, perplexity and bits per character (see ``evaluation.py`` for the protocol)."""
        return evaluate_text(self, options)

    def evaluation_memory_options(self, options: EvalOptions) -> list[str]:
        return ["batch_size"]  # windows per forward pass; the held-out text is read whole whatever --max-examples
