"""``genlab eval`` for textgan models: BLEU, self-BLEU, NLL_gen and NLL_oracle.

Protocol:
- generated: ``--n`` sequences sampled at ``--temperature`` (1 by default: the model's own
  distribution) with seed ``--seed``; a sentence ends at its first ``<eos>``. Below 1 the samples
  score better on BLEU and NLL_oracle and worse on self-BLEU and NLL_gen: a sweep of it traces the
  quality–diversity curve of one model (Caccia et al. 2020), the fair frame for comparing a GAN
  with maximum likelihood.
- references: the lines of ``--data`` (a text file; the first ``--max-examples`` when given), or,
  without it, the last 10% of the lines of the embedded tiny Shakespeare (the embedded training
  data is the first 90%); a model trained on a file of its own is then refused, not scored on
  Shakespeare. Generated and reference sentences are split into pieces by the model's
  tokenizer (words and punctuation marks, or characters); generated ``<unk>`` stays a piece that no
  reference holds.
- BLEU-n (n = 2..5): each generated sentence scored against the whole reference set, averaged
  (Texygen; see :mod:`genlab.metrics.bleu` for the smoothing). self-BLEU-n: each of the first 500
  generated sentences against the other 499 (Texygen's default).
- NLL_gen: the teacher-forced negative log-likelihood of the references under the distribution the
  samples were drawn from, softmax(logits / temperature), in nats per token over each sentence's
  pieces and its ``<eos>`` (sentences cut to ``seq_len``; pieces outside the vocabulary count as
  ``<unk>``). ``nll_gen_padded`` averages over all ``seq_len`` positions, padding included, as
  RelGAN's and Texygen's code do; it is the one comparable with their tables.
- token-id models (``.npz`` data): ``--data`` is an .npz of held-out sequences; NLL_gen is per token
  over all positions; no BLEU.
- NLL_oracle (``--oracle`` the oracle's .npz, token-id models): the oracle LSTM's mean per-token
  negative log-likelihood of the generated sequences (SeqGAN's protocol).
- copied (``--train-data`` the training data): the share of generated sequences identical to a
  training sequence — sentences compared up to their ``<eos>`` as the model's tokenizer encodes
  them, token-id rows whole. A generator that regurgitates its training data scores well on
  NLL_oracle and BLEU without having learned the distribution; this share shows it.
"""

from __future__ import annotations

from typing import Any

import torch

from genlab.data.sentences import encode_sentences, is_token_file, read_lines, read_token_ids
from genlab.data.text import refuse_embedded_text_for_other_training
from genlab.errors import ConfigError, DataError
from genlab.metrics.bleu import TEXYGEN_SELF_BLEU_SAMPLE, corpus_scores, self_bleu
from genlab.models.base import EvalOptions, evaluating
from genlab.tokenizers import SENTENCE_EOS_ID, SENTENCE_UNKNOWN_ID


@torch.no_grad()
def reference_nll(model, tokens: torch.Tensor, batch_size: int, temperature: float = 1.0) -> tuple[float, float]:
    """Teacher-forced NLL of references (N, T) → (nats per sentence token, nats per position) under
    softmax(logits / temperature); a sentence's tokens run up to and including its first ``<eos>``."""
    sentence_total = position_total = counted = 0.0
    for batch in tokens.split(batch_size):
        batch = batch.to(model.device)
        nll = model.token_nll(batch, temperature)  # (b, T)
        ends = (batch == SENTENCE_EOS_ID).long()
        in_sentence = ends.cumsum(dim=1) - ends == 0  # no <eos> before this position
        sentence_total += float(nll[in_sentence].sum())
        position_total += float(nll.sum())
        counted += float(in_sentence.sum())
    return sentence_total / counted, position_total / tokens.numel()


def piece_lists(model, tokens: torch.Tensor) -> list[list[str]]:
    """Generated ids (n, T) → each sentence's pieces, up to its first <eos>."""
    vocab = model.tokenizer.vocab
    sentences = []
    for row in tokens.tolist():
        end = row.index(SENTENCE_EOS_ID) if SENTENCE_EOS_ID in row else len(row)
        sentences.append([vocab[i] for i in row[:end]])
    return sentences


def evaluate_textgan(model, options: EvalOptions) -> dict[str, Any]:
    c = model.config
    # Options are checked before anything is sampled or scored.
    if options.oracle is not None and c.split != "ids":
        raise ConfigError(f"--oracle scores token-id models; this model generates {c.split}-level text — drop "
                          "--oracle.")
    if c.split == "ids" and options.data is None and options.oracle is None and options.train_data is None:
        raise ConfigError("Nothing to score: pass --data HELD_OUT.npz (NLL_gen), --oracle ORACLE.npz (NLL_oracle) "
                          "and/or --train-data TRAIN.npz (copies).")
    if c.split == "ids" and options.data is None:
        for name in ("max_examples", "batch_size"):  # they apply to the held-out sequences only
            if options.is_given(name):
                raise ConfigError(f"--{name.replace('_', '-')} applies to the held-out sequences of --data, and "
                                  "none are given; add --data HELD_OUT.npz or drop it.")
    if c.split != "ids" and options.samples < 2:
        raise ConfigError(f"--n must be at least 2 for self-BLEU (got {options.samples}).")
    # Every file is read and checked before sampling, so that a bad one costs no sampling time.
    training = training_keys(model, options.train_data) if options.train_data is not None else None
    oracle = load_oracle(model, options.oracle) if options.oracle is not None else None
    held_out = lines = None
    if c.split == "ids":
        if options.data is not None:
            held_out = token_ids(model, options.data, options.data_flag, "held-out")[:options.max_examples]
    else:
        if options.data is None:
            refuse_embedded_text_for_other_training(model, "pass held-out sentences like its training data, one per "
                                                           "line, with --data")
        lines, source = sentence_lines(model, options.data, options.data_flag, held_out=True)
        lines = lines[:options.max_examples]
    with evaluating(model):
        temperature = options.temperature
        generated = model.sample_tokens(options.samples, torch.Generator().manual_seed(options.seed), temperature)
        result: dict[str, Any] = {}
        protocol: dict[str, Any] = {"generated": f"{options.samples:,} sequences of {c.seq_len} tokens, temperature "
                                                 f"{temperature:g}, seed {options.seed}"}
        if held_out is not None:
            # Per position: in token-id data, id 0 is a token like any other, not an end.
            result["nll_gen"] = reference_nll(model, held_out, options.batch_size, temperature)[1]
            protocol["nll_gen"] = (f"{options.data}: {len(held_out):,} sequences{first_ones(options)}, nats per "
                                   f"token under softmax(logits / {temperature:g})")
        if lines is not None:
            references = [model.tokenizer.pieces(line) for line in lines]
            hypotheses = piece_lists(model, generated)
            result.update(corpus_scores(hypotheses, references))
            result.update(self_bleu(hypotheses))
            encoded, cut = encode_sentences(model.tokenizer, lines, c.seq_len)
            result["nll_gen"], result["nll_gen_padded"] = reference_nll(model, encoded, options.batch_size,
                                                                        temperature)
            protocol.update({
                "references": f"{source}: {len(lines):,} sentences{first_ones(options)}, {c.split}-level pieces",
                "bleu": "each generated sentence against all references, averaged (Texygen protocol: NLTK's "
                        "sentence_bleu, uniform n-gram weights, SmoothingFunction().method1)",
                "self_bleu": f"each of the first {min(TEXYGEN_SELF_BLEU_SAMPLE, len(hypotheses)):,} generated "
                             "sentences against the others of them (Texygen's get_score)",
                "nll_gen": f"nats per token over each reference's pieces and its <eos>, under softmax(logits / "
                           f"{temperature:g}); {cut:,} references cut to {c.seq_len} tokens (or left without <eos>); "
                           f"nll_gen_padded: per position over all {c.seq_len}, as RelGAN",
                # Pieces outside the vocabulary are scored as <unk>, a token a model may predict easily.
                "unknown_tokens": int((encoded == SENTENCE_UNKNOWN_ID).sum()),
            })
        if oracle is not None:
            result["nll_oracle"] = float(oracle.nll(generated.cpu()).mean())
            protocol["nll_oracle"] = f"the oracle LSTM of {options.oracle}: nats per generated token"
        if training is not None:
            seen, read = training
            keys = sequence_keys(generated.cpu(), sentences=c.split != "ids")
            result["copied"] = sum(key in seen for key in keys) / len(keys)
            protocol["copied"] = f"share of the {len(keys):,} generated sequences identical to one of the {read}"
    result["protocol"] = protocol
    return result


def first_ones(options: EvalOptions) -> str:
    """How a protocol says that --max-examples kept the first references of the file."""
    return f" (the file's first, --max-examples {options.max_examples})" if options.max_examples is not None else ""


def token_ids(model, path: str, option: str, kind: str) -> torch.Tensor:
    """The (N, seq_len) token ids of an .npz that ``option`` names, checked against the model."""
    c = model.config
    if not is_token_file(path):
        raise ConfigError(f"This model generates token ids; {option} {path} must be an .npz of {kind} token ids "
                          "(tokens of shape (N, T)).")
    tokens = torch.from_numpy(read_token_ids(path))
    if tokens.shape[1] != c.seq_len or tokens.max() >= model.vocab_size:
        raise DataError(f"{path} must hold sequences of {c.seq_len} ids below {model.vocab_size}, as this model was "
                        "trained on.")
    return tokens


def sentence_lines(model, path: str | None, option: str, held_out: bool) -> tuple[list[str], str]:
    """The lines of the text file that ``option`` names (see :func:`read_lines`), refusing token ids."""
    if is_token_file(path):
        raise ConfigError(f"This model generates {model.config.split}-level text; {option} {path} must be a text "
                          "file of sentences, one per line.")
    return read_lines(path, held_out=held_out, option=option)


def sequence_keys(tokens: torch.Tensor, sentences: bool) -> list[tuple[int, ...]]:
    """Rows (N, T) → hashable keys: a sentence's ids up to and including its first ``<eos>`` (what
    follows is padding), or a token-id row whole (id 0 is a token like any other there)."""
    keys = []
    for row in tokens.tolist():
        if sentences and SENTENCE_EOS_ID in row:
            row = row[:row.index(SENTENCE_EOS_ID) + 1]
        keys.append(tuple(row))
    return keys


def training_keys(model, path: str) -> tuple[set[tuple[int, ...]], str]:
    """The keys (:func:`sequence_keys`) of the training sequences in ``path``, and a protocol
    phrase naming what was read."""
    c = model.config
    if c.split == "ids":
        training = token_ids(model, path, "--train-data", "training")
        return set(sequence_keys(training, sentences=False)), f"{len(training):,} training sequences of {path}"
    lines, source = sentence_lines(model, path, "--train-data", held_out=False)
    training = encode_sentences(model.tokenizer, lines, c.seq_len)[0]
    return set(sequence_keys(training, sentences=True)), (
        f"{len(lines):,} training sentences of {source}, as the model's tokenizer encodes them (out-of-vocabulary "
        f"pieces as <unk>, cut to {c.seq_len} tokens), compared up to their <eos>")


def load_oracle(model, path: str):
    """The oracle LSTM of ``path`` (``--oracle``), checked against the model's vocabulary."""
    from genlab.models.textgan.oracle import OracleLSTM

    oracle = OracleLSTM.from_npz(path)
    if model.vocab_size > oracle.vocab_size:
        raise ConfigError(f"--oracle {path} has {oracle.vocab_size} ids but this model generates "
                          f"{model.vocab_size}; score it with the oracle whose samples it was trained on.")
    return oracle
